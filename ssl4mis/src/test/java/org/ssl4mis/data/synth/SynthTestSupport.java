package org.ssl4mis.data.synth;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.ssl4mis.io.hdf5.Hdf5File;

/** Helpers of the phantom tests: threshold Dice, content hashes, preview images. */
final class SynthTestSupport {
  private SynthTestSupport() {}

  /**
   * The best Dice any single global threshold reaches for {@code target}: over 1,000 thresholds between the
   * image's minimum and maximum, predicting the target above the threshold, or below it.
   */
  static double bestThresholdDice(float[] image, byte[] label, int target) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (float v : image) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    int bins = 1000;
    long[] all = new long[bins];
    long[] hit = new long[bins];
    long positives = 0;
    for (int i = 0; i < image.length; i++) {
      int b = Math.min(bins - 1, (int) ((image[i] - lo) / (hi - lo) * bins));
      all[b]++;
      if (label[i] == target) {
        hit[b]++;
        positives++;
      }
    }
    if (positives == 0) {
      return Double.NaN;
    }
    long total = image.length;
    double best = 0;
    long allBelow = 0;
    long hitBelow = 0;
    for (int b = 0; b < bins; b++) {
      allBelow += all[b];
      hitBelow += hit[b];
      double above = 2.0 * (positives - hitBelow) / ((total - allBelow) + positives);
      double below = 2.0 * hitBelow / (allBelow + positives);
      best = Math.max(best, Math.max(above, below));
    }
    return best;
  }

  /** SHA-256 over every file under {@code root}: its path, and for .h5 files each dataset's bytes, else the file. */
  static String hashTree(Path root) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(root)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path p : files) {
      md.update(root.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
      if (p.toString().endsWith(".h5")) {
        try (Hdf5File f = Hdf5File.openRead(p)) {
          for (String name : f.datasetNames()) {
            md.update(name.getBytes(StandardCharsets.UTF_8));
            md.update((java.util.Arrays.toString(f.info(name).shape()) + f.info(name).dtype())
                .getBytes(StandardCharsets.UTF_8));
            float[] v = f.readFloats(name);
            ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bb.asFloatBuffer().put(v);
            md.update(bb);
          }
        }
      } else {
        md.update(Files.readAllBytes(p));
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Colours of the label overlay: none, red, green, blue, yellow. */
  private static final int[][] COLOURS = {{0, 0, 0}, {230, 60, 60}, {60, 200, 60}, {70, 110, 255}, {240, 220, 40}};

  /**
   * A montage canvas of {@code rows} x {@code cols} tiles of {@code tile} x {@code tile} pixels, with a 2-pixel
   * dark gap between tiles.
   */
  static BufferedImage canvas(int rows, int cols, int tileH, int tileW) {
    BufferedImage img = new BufferedImage(cols * (tileW + 2), rows * (tileH + 2), BufferedImage.TYPE_INT_RGB);
    return img;
  }

  /**
   * Draws a 2D plane of {@code image} (values mapped from [lo, hi] to grey) into tile (row, col), scaled by
   * nearest neighbour to the tile; with {@code label} non-null, label colours are blended in at 45%.
   *
   * @param get index of pixel (r, c) of the plane in the flat arrays
   */
  static void drawTile(BufferedImage canvas, int row, int col, int tileH, int tileW, int h, int w,
      java.util.function.IntBinaryOperator get, float[] image, byte[] label, float lo, float hi) {
    double scale = Math.min(tileH / (double) h, tileW / (double) w);
    int oy = row * (tileH + 2);
    int ox = col * (tileW + 2);
    for (int y = 0; y < tileH; y++) {
      for (int x = 0; x < tileW; x++) {
        int r = (int) (y / scale);
        int c = (int) (x / scale);
        int rgb = 0x202020;
        if (r < h && c < w) {
          int i = get.applyAsInt(r, c);
          double g = Math.clamp((image[i] - lo) / (hi - lo), 0.0, 1.0) * 255;
          double red = g;
          double green = g;
          double blue = g;
          if (label != null && label[i] != 0) {
            int[] k = COLOURS[Math.min(label[i], COLOURS.length - 1)];
            red = 0.55 * g + 0.45 * k[0];
            green = 0.55 * g + 0.45 * k[1];
            blue = 0.55 * g + 0.45 * k[2];
          }
          rgb = ((int) red << 16) | ((int) green << 8) | (int) blue;
        }
        canvas.setRGB(ox + x, oy + y, rgb);
      }
    }
  }

  static Path save(BufferedImage img, String name) throws IOException {
    Path dir = Path.of("target", "synth-preview");
    Files.createDirectories(dir);
    Path file = dir.resolve(name);
    ImageIO.write(img, "png", file.toFile());
    return file.toAbsolutePath();
  }

  /** A montage of ACDC phantoms: per case a row of slices from base to apex and a row with the labels overlaid. */
  static BufferedImage acdcMontage(AcdcPhantoms.Spec spec, int cases, int cols, int tile) {
    BufferedImage canvas = canvas(2 * cases, cols, tile, tile);
    for (int c = 0; c < cases; c++) {
      AcdcPhantoms.Volume v = AcdcPhantoms.generate(spec, c);
      int w = v.width();
      int plane = v.height() * w;
      for (int j = 0; j < cols; j++) {
        int s = (int) Math.round(j * (v.slices() - 1) / (double) (cols - 1));
        int off = s * plane;
        drawTile(canvas, 2 * c, j, tile, tile, v.height(), w, (r, cc) -> off + r * w + cc, v.image(), null, 0f, 1f);
        drawTile(canvas, 2 * c + 1, j, tile, tile, v.height(), w, (r, cc) -> off + r * w + cc, v.image(), v.label(),
            0f, 1f);
      }
    }
    return canvas;
  }

  /**
   * A montage of LA phantoms: per case a row of axial planes (fixed z) through the atrium, the same planes with
   * the label overlaid, and a coronal and a sagittal plane through the centre of the atrium, each with and
   * without the label. Grey values show z-scores from -2 to 4.
   */
  static BufferedImage laMontage(LaPhantoms.Spec spec, int cases, int axial, int tile) {
    int cols = axial + 2;
    BufferedImage canvas = canvas(2 * cases, cols, tile, tile);
    for (int c = 0; c < cases; c++) {
      LaPhantoms.Volume v = LaPhantoms.generate(spec, c);
      int nx = v.sizeX();
      int ny = v.sizeY();
      int nz = v.sizeZ();
      long sx = 0;
      long sy = 0;
      long sz = 0;
      long count = 0;
      int zLo = nz;
      int zHi = -1;
      for (int x = 0; x < nx; x++) {
        for (int y = 0; y < ny; y++) {
          for (int z = 0; z < nz; z++) {
            if (v.label()[(x * ny + y) * nz + z] != 0) {
              sx += x;
              sy += y;
              sz += z;
              count++;
              zLo = Math.min(zLo, z);
              zHi = Math.max(zHi, z);
            }
          }
        }
      }
      int cx = (int) (sx / Math.max(1, count));
      int cy = (int) (sy / Math.max(1, count));
      for (int j = 0; j < axial; j++) {
        int z = zLo + (int) Math.round((j + 0.5) * (zHi - zLo) / axial);
        for (int overlay = 0; overlay < 2; overlay++) {
          drawTile(canvas, 2 * c + overlay, j, tile, tile, nx, ny, (r, cc) -> (r * ny + cc) * nz + z, v.image(),
              overlay == 1 ? v.label() : null, -2f, 4f);
        }
      }
      for (int overlay = 0; overlay < 2; overlay++) {
        byte[] lab = overlay == 1 ? v.label() : null;
        // Coronal: x across, z up; sagittal: y across, z up.
        drawTile(canvas, 2 * c + overlay, axial, tile, tile, nz, nx, (r, cc) -> (cc * ny + cy) * nz + (nz - 1 - r),
            v.image(), lab, -2f, 4f);
        drawTile(canvas, 2 * c + overlay, axial + 1, tile, tile, nz, ny,
            (r, cc) -> (cx * ny + cc) * nz + (nz - 1 - r), v.image(), lab, -2f, 4f);
      }
    }
    return canvas;
  }
}
