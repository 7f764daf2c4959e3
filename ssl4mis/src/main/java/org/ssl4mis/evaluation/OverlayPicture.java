package org.ssl4mis.evaluation;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.ssl4mis.data.Volume;

/**
 * A PNG of a few slices of a test case: each slice twice, with the ground truth's and the prediction's class
 * contours in colour over the grey image. The slices are spread over the range that has foreground in either
 * map (the whole volume when neither has any).
 */
public final class OverlayPicture {
  /** Class colours 1.. (red, green, blue, yellow, magenta, cyan, then repeating). */
  static final Color[] CLASS_COLORS = {new Color(240, 60, 60), new Color(60, 210, 90), new Color(70, 140, 255),
      new Color(250, 210, 40), new Color(230, 80, 230), new Color(40, 220, 220)};

  private static final int MIN_TILE = 256;
  private static final int MARGIN = 8;
  private static final int HEADER = 44;

  private OverlayPicture() {}

  /**
   * Writes the picture.
   *
   * @param sliceAxis the axis cut across: 0 for a 2D model's {@code (slices, h, w)} stack, 2 for LA/BraTS volumes
   * @param maxSlices how many slices to show (at most the axis length)
   */
  public static void write(Path png, Volume volume, long[] prediction, List<String> classNames, int sliceAxis, int maxSlices)
      throws IOException {
    // pictures are drawn on servers without a display
    System.setProperty("java.awt.headless", "true");
    int[] shape = volume.shape();
    if (shape.length != 3 || sliceAxis < 0 || sliceAxis > 2) {
      throw new IllegalArgumentException("pictures take a 3D volume and a slice axis 0..2; " + volume.name() + " has shape "
          + java.util.Arrays.toString(shape) + ", axis " + sliceAxis);
    }
    if (prediction.length != volume.voxels()) {
      throw new IllegalArgumentException(volume.name() + ": prediction and volume sizes differ");
    }
    List<Integer> slices = pickSlices(volume, prediction, sliceAxis, Math.max(1, maxSlices));
    int[] plane = planeAxes(sliceAxis);
    int rows = shape[plane[0]];
    int cols = shape[plane[1]];
    int scale = Math.max(1, Math.ceilDiv(MIN_TILE, Math.min(rows, cols)));
    int tileH = rows * scale;
    int tileW = cols * scale;
    int width = MARGIN + 2 * (tileW + MARGIN);
    int height = HEADER + slices.size() * (tileH + MARGIN + 16);
    BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(new Color(24, 24, 24));
      g.fillRect(0, 0, width, height);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
      g.setColor(Color.WHITE);
      g.drawString(volume.name() + ": ground truth (left), prediction (right)", MARGIN, 17);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      int x = MARGIN;
      for (int c = 0; c < classNames.size(); c++) {
        g.setColor(classColor(c + 1));
        g.fillRect(x, 26, 10, 10);
        g.setColor(Color.LIGHT_GRAY);
        g.drawString(classNames.get(c), x + 14, 36);
        x += 22 + g.getFontMetrics().stringWidth(classNames.get(c));
      }
      float[] range = intensityRange(volume.image());
      int y = HEADER;
      for (int s : slices) {
        g.setColor(Color.LIGHT_GRAY);
        g.drawString(String.format(Locale.ROOT, "slice index %d (of 0..%d along axis %d)", s, shape[sliceAxis] - 1, sliceAxis), MARGIN, y + 12);
        y += 16;
        float[] image = new float[rows * cols];
        long[] truth = new long[rows * cols];
        long[] predicted = new long[rows * cols];
        for (int r = 0; r < rows; r++) {
          for (int q = 0; q < cols; q++) {
            int[] idx = new int[3];
            idx[sliceAxis] = s;
            idx[plane[0]] = r;
            idx[plane[1]] = q;
            int flat = (idx[0] * shape[1] + idx[1]) * shape[2] + idx[2];
            image[r * cols + q] = volume.image()[flat];
            truth[r * cols + q] = volume.labelAt(flat);
            predicted[r * cols + q] = prediction[flat];
          }
        }
        BufferedImage left = tile(image, truth, rows, cols, scale, range);
        BufferedImage right = tile(image, predicted, rows, cols, scale, range);
        g.drawImage(left, MARGIN, y, null);
        g.drawImage(right, MARGIN + tileW + MARGIN, y, null);
        g.setColor(new Color(90, 90, 90));
        g.setStroke(new BasicStroke(1));
        g.drawRect(MARGIN - 1, y - 1, tileW + 1, tileH + 1);
        g.drawRect(MARGIN + tileW + MARGIN - 1, y - 1, tileW + 1, tileH + 1);
        y += tileH + MARGIN;
      }
    } finally {
      g.dispose();
    }
    if (!ImageIO.write(out, "png", png.toFile())) {
      throw new IOException("no PNG writer in this JDK for " + png);
    }
  }

  /** The other two axes, in order: rows, then columns. */
  private static int[] planeAxes(int sliceAxis) {
    return switch (sliceAxis) {
      case 0 -> new int[] {1, 2};
      case 1 -> new int[] {0, 2};
      default -> new int[] {0, 1};
    };
  }

  /** Up to {@code n} slices evenly spread over those with foreground in the label or the prediction. */
  static List<Integer> pickSlices(Volume volume, long[] prediction, int axis, int n) {
    int[] shape = volume.shape();
    boolean[] hasForeground = new boolean[shape[axis]];
    for (int i = 0; i < prediction.length; i++) {
      if (prediction[i] != 0 || volume.labelAt(i) != 0) {
        int index = switch (axis) {
          case 0 -> i / (shape[1] * shape[2]);
          case 1 -> (i / shape[2]) % shape[1];
          default -> i % shape[2];
        };
        hasForeground[index] = true;
      }
    }
    List<Integer> candidates = new ArrayList<>();
    for (int s = 0; s < hasForeground.length; s++) {
      if (hasForeground[s]) {
        candidates.add(s);
      }
    }
    if (candidates.isEmpty()) {
      for (int s = 0; s < shape[axis]; s++) {
        candidates.add(s);
      }
    }
    int k = Math.min(n, candidates.size());
    List<Integer> picked = new ArrayList<>();
    for (int j = 0; j < k; j++) {
      // centres of k equal parts of the candidate list
      int at = (int) Math.floor((j + 0.5) * candidates.size() / k);
      picked.add(candidates.get(Math.min(at, candidates.size() - 1)));
    }
    return picked;
  }

  /** The 0.5th and 99.5th percentiles of the image (robust to a few bright voxels). */
  private static float[] intensityRange(float[] image) {
    int step = Math.max(1, image.length / 200_000);
    float[] sample = new float[(image.length + step - 1) / step];
    for (int i = 0, k = 0; i < image.length; i += step) {
      sample[k++] = image[i];
    }
    java.util.Arrays.sort(sample);
    float lo = sample[(int) (0.005 * (sample.length - 1))];
    float hi = sample[(int) Math.ceil(0.995 * (sample.length - 1))];
    return new float[] {lo, hi > lo ? hi : lo + 1};
  }

  /** The slice in grey, scaled up by {@code scale} (nearest), with the label map's class borders in colour. */
  private static BufferedImage tile(float[] image, long[] labels, int rows, int cols, int scale, float[] range) {
    int h = rows * scale;
    int w = cols * scale;
    BufferedImage tile = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        float v = image[(y / scale) * cols + x / scale];
        int grey = Math.round(255 * Math.clamp((v - range[0]) / (range[1] - range[0]), 0f, 1f));
        tile.setRGB(x, y, grey << 16 | grey << 8 | grey);
      }
    }
    // Borders are found on the scaled map, so that each is a line one or two output pixels wide.
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        long c = labels[(y / scale) * cols + x / scale];
        if (c == 0) {
          continue;
        }
        boolean border = y == 0 || x == 0 || y == h - 1 || x == w - 1
            || labels[((y - 1) / scale) * cols + x / scale] != c || labels[((y + 1) / scale) * cols + x / scale] != c
            || labels[(y / scale) * cols + (x - 1) / scale] != c || labels[(y / scale) * cols + (x + 1) / scale] != c;
        if (border) {
          int rgb = classColor(c).getRGB();
          tile.setRGB(x, y, rgb);
          // thicken inwards so the line shows at a glance and the other map's region is not covered
          paintInside(tile, labels, cols, scale, x, y, c, rgb);
        }
      }
    }
    return tile;
  }

  private static void paintInside(BufferedImage tile, long[] labels, int cols, int scale, int x, int y, long c, int rgb) {
    int[][] steps = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
    for (int[] d : steps) {
      int nx = x + d[0];
      int ny = y + d[1];
      if (nx >= 0 && ny >= 0 && nx < tile.getWidth() && ny < tile.getHeight() && labels[(ny / scale) * cols + nx / scale] == c) {
        tile.setRGB(nx, ny, rgb);
      }
    }
  }

  static Color classColor(long c) {
    return CLASS_COLORS[(int) ((c - 1) % CLASS_COLORS.length)];
  }
}
