package org.ssl4mis.io.nifti;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * Reads and writes NIfTI-1 images: single files ({@code .nii}, {@code .nii.gz}) and, for reading, header/image
 * pairs ({@code .hdr} + {@code .img}, either gzipped). The values, shape, zooms and affine a read returns are
 * those of nibabel's {@code nib.load(path)} ({@code get_fdata()}, {@code shape} less trailing 1s beyond the
 * third dimension, {@code header.get_zooms()}, {@code affine}); see {@link NiftiImage} for the array layout.
 *
 * <pre>{@code
 * NiftiImage img = Nifti.read(Path.of("patient001_frame01.nii.gz"));
 * int[] xyz = img.shape();                 // (x, y, z), as nibabel's img.shape
 * double[] values = img.fdata();           // get_fdata(), x fastest (= C order of (z, y, x))
 * double[][] affine = img.affine();        // img.affine
 * Nifti.write(Path.of("out.nii.gz"), img.withData(NiftiDataType.UINT8, prediction));
 * }</pre>
 *
 * <p><b>Reading.</b> gzip is recognised by its magic bytes, whatever the name; the byte order by
 * {@code sizeof_hdr} (348). Voxel types: see {@link NiftiDataType}. Every size in the header is checked against
 * what the file holds before anything large is allocated: a header declaring more voxel data than the file
 * (or the gzip stream) has, a voxel offset beyond its end, or more bytes than the read limit
 * ({@link #DEFAULT_MAX_READ_BYTES} or the system property {@value #MAX_READ_BYTES_PROPERTY}) gives a
 * {@link NiftiFormatException} naming the file and the problem. Compressed data is read in pieces as it
 * arrives, so a small file claiming a huge image cannot make the reader allocate what it claims. Extensions
 * are skipped; intent, slice timing and calibration fields are not kept.
 *
 * <p><b>Writing</b> (single files only) is atomic: the image goes to a temporary file in the target folder,
 * which is synced and then renamed over the target. A name ending in {@code .gz} is gzipped (level 1, as
 * nibabel writes). The
 * header holds what nibabel writes for an image: sizeof_hdr 348, dim (unused entries 1), datatype, bitpix,
 * pixdim (qfac in pixdim[0], unused entries 1), vox_offset 352, scl_slope/scl_inter (1 and 0 when unscaled),
 * xyzt_units, descrip, qform_code with the quaternion and offsets, sform_code with srow_x/y/z (the affine in
 * float32), magic {@code n+1}, and four zero extension bytes. The qform parameters are those read from the file
 * when the image's affine has not been changed since, otherwise derived from the affine (nearest rotation of
 * its normalised columns, qfac -1 for a left-handed affine).
 */
public final class Nifti {
  /** System property with the read limit in bytes (suffixes k, m, g allowed, e.g. {@code 8g}). */
  public static final String MAX_READ_BYTES_PROPERTY = "ssl4mis.nifti.maxReadBytes";
  /** The default limit on the voxel bytes one read may take: 4 GiB. */
  public static final long DEFAULT_MAX_READ_BYTES = 4L << 30;
  /** The most voxels an image may have: the largest Java array. */
  public static final long MAX_VOXELS = Integer.MAX_VALUE - 8;

  private static final int CHUNK = 8 << 20;
  private static final int GZIP_LEVEL = 1;
  private static final int GZIP_TAIL = 1 << 20;

  private Nifti() {}

  // ---------------------------------------------------------------- reading

  /** Reads an image with the default read limit. */
  public static NiftiImage read(Path file) throws IOException {
    return read(file, defaultMaxReadBytes());
  }

  /**
   * Reads an image.
   *
   * @param maxBytes the most voxel data bytes the image may have
   * @throws NiftiFormatException when the file is missing, not a readable NIfTI-1 image, or too large
   * @throws IOException when reading fails otherwise
   */
  public static NiftiImage read(Path file, long maxBytes) throws IOException {
    Objects.requireNonNull(file, "file");
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
    }
    Location files = Location.of(file);
    NiftiHeader header;
    Object data;
    try (InputStream in = open(files.header)) {
      header = readHeader(files.header, in, files.single);
      long bytes = checkSize(files.header, header, maxBytes);
      if (files.single) {
        data = readData(files.header, in, header, bytes, header.dataOffset() - NiftiHeader.SIZEOF_HDR);
      } else {
        try (InputStream img = open(files.image)) {
          data = readData(files.image, img, header, bytes, header.dataOffset());
        }
      }
    }
    return NiftiImage.fromHeader(header, data);
  }

  /** Reads only the header (of a {@code .nii}, {@code .nii.gz}, or the {@code .hdr} of a pair). */
  public static NiftiHeader readHeader(Path file) throws IOException {
    Location files = Location.of(file);
    try (InputStream in = open(files.header)) {
      return readHeader(files.header, in, files.single);
    }
  }

  /** The read limit: the system property {@value #MAX_READ_BYTES_PROPERTY}, or 4 GiB. */
  public static long defaultMaxReadBytes() {
    return org.ssl4mis.io.AtomicFile.byteSizeProperty(MAX_READ_BYTES_PROPERTY, DEFAULT_MAX_READ_BYTES);
  }

  /** Where the header and the voxels of an image live. */
  private record Location(Path header, Path image, boolean single) {
    static Location of(Path file) throws NiftiFormatException {
      String name = file.getFileName() == null ? "" : file.getFileName().toString();
      String lower = name.toLowerCase(Locale.ROOT);
      String stem = null;
      boolean fromImage = false;
      for (String ext : new String[] {".hdr.gz", ".hdr", ".img.gz", ".img"}) {
        if (lower.endsWith(ext)) {
          stem = name.substring(0, name.length() - ext.length());
          fromImage = ext.startsWith(".img");
          break;
        }
      }
      if (stem == null) {
        requireFile(file);
        return new Location(file, file, true);
      }
      Path hdr = fromImage ? partner(file, stem, ".hdr") : file;
      Path img = fromImage ? file : partner(file, stem, ".img");
      requireFile(hdr);
      requireFile(img);
      return new Location(hdr, img, false);
    }

    private static Path partner(Path file, String stem, String ext) throws NiftiFormatException {
      Path dir = file.toAbsolutePath().getParent();
      for (String e : new String[] {ext, ext + ".gz", ext.toUpperCase(Locale.ROOT), ext.toUpperCase(Locale.ROOT) + ".gz"}) {
        Path p = dir.resolve(stem + e);
        if (Files.isRegularFile(p)) {
          return p;
        }
      }
      throw new NiftiFormatException(file, "the other half of the .hdr/.img pair, " + stem + ext + "[.gz], is missing");
    }

    private static void requireFile(Path p) throws NiftiFormatException {
      if (!Files.exists(p)) {
        throw new NiftiFormatException(p, "no such file");
      }
      if (!Files.isRegularFile(p)) {
        throw new NiftiFormatException(p, "not a regular file");
      }
      if (!Files.isReadable(p)) {
        throw new NiftiFormatException(p, "not readable (permission denied)");
      }
    }
  }

  /** True when the file starts with the gzip magic bytes 1f 8b. */
  static boolean isGzip(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return in.read() == 0x1f && in.read() == 0x8b;
    }
  }

  private static InputStream open(Path file) throws IOException {
    InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    raw.mark(2);
    int b0 = raw.read();
    int b1 = raw.read();
    raw.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      try {
        return new GZIPInputStream(raw, 1 << 16);
      } catch (ZipException | EOFException e) {
        raw.close();
        throw new NiftiFormatException(file, "corrupt gzip data: " + e.getMessage(), e);
      }
    }
    return new Plain(file, raw);
  }

  /** An uncompressed file: knows its size. */
  private static final class Plain extends java.io.FilterInputStream {
    final long size;

    Plain(Path file, InputStream in) throws IOException {
      super(in);
      this.size = Files.size(file);
    }
  }

  private static NiftiHeader readHeader(Path file, InputStream in, boolean single) throws IOException {
    byte[] h;
    try {
      h = in.readNBytes(NiftiHeader.SIZEOF_HDR);
    } catch (ZipException | EOFException e) {
      throw new NiftiFormatException(file, "corrupt or truncated gzip data in the header: " + e.getMessage(), e);
    }
    if (h.length < NiftiHeader.SIZEOF_HDR) {
      throw new NiftiFormatException(file, "truncated header: the file has " + h.length + " bytes"
          + (in instanceof GZIPInputStream ? " (decompressed)" : "") + ", a NIfTI-1 header has 348");
    }
    return NiftiHeader.parse(file, h, single);
  }

  private static long checkSize(Path file, NiftiHeader header, long maxBytes) throws NiftiFormatException {
    long voxels = header.voxelCount();
    if (voxels > MAX_VOXELS) {
      throw new NiftiFormatException(file, "shape " + java.util.Arrays.toString(header.shape()) + " has " + voxels
          + " voxels, more than a Java array holds (" + MAX_VOXELS + ")");
    }
    long bytes = voxels * header.datatype().byteSize();
    if (bytes > maxBytes) {
      throw new NiftiFormatException(file, "the header declares " + bytes + " bytes of voxel data (shape "
          + java.util.Arrays.toString(header.shape()) + ", " + header.datatype().numpyName() + "), more than the read"
          + " limit of " + maxBytes + " bytes (system property " + MAX_READ_BYTES_PROPERTY + ")");
    }
    return bytes;
  }

  /**
   * Skips to the voxels ({@code skip} bytes from the stream's position) and reads {@code bytes} of them.
   */
  private static Object readData(Path file, InputStream in, NiftiHeader header, long bytes, long skip)
      throws IOException {
    NiftiDataType type = header.datatype();
    int count = Math.toIntExact(bytes / type.byteSize());
    ByteOrder order = header.byteOrder();
    try {
      if (in instanceof Plain plain) {
        long offset = header.dataOffset();
        if (offset > plain.size) {
          throw new NiftiFormatException(file, "vox_offset " + offset + " lies beyond the end of the file ("
              + plain.size + " bytes)");
        }
        if (offset + bytes > plain.size) {
          throw new NiftiFormatException(file, "truncated: the header declares " + bytes + " bytes of voxel data at"
              + " offset " + offset + " (shape " + java.util.Arrays.toString(header.shape()) + ", "
              + type.numpyName() + ") but the file has " + plain.size + " bytes, " + (plain.size - offset)
              + " of them data");
        }
        in.skipNBytes(skip);
        Object array = java.lang.reflect.Array.newInstance(type.arrayClass().getComponentType(), count);
        long done = 0;
        while (done < bytes) {
          int n = (int) Math.min(CHUNK, bytes - done);
          byte[] chunk = in.readNBytes(n);
          if (chunk.length < n) {
            throw new NiftiFormatException(file, "truncated: the voxel data ends after " + (done + chunk.length)
                + " of " + bytes + " bytes (the file changed while being read?)");
          }
          decode(chunk, order, type, array, (int) (done / type.byteSize()));
          done += n;
        }
        return array;
      }
      // gzip: the true length is unknown until the stream ends, so collect what arrives before allocating.
      try {
        in.skipNBytes(skip);
      } catch (EOFException e) {
        throw new NiftiFormatException(file, "vox_offset " + header.dataOffset() + " lies beyond the end of the"
            + " decompressed data", e);
      }
      List<byte[]> chunks = new ArrayList<>();
      long done = 0;
      while (done < bytes) {
        int n = (int) Math.min(CHUNK, bytes - done);
        byte[] chunk = in.readNBytes(n);
        done += chunk.length;
        if (chunk.length < n) {
          throw new NiftiFormatException(file, "truncated: the header declares " + bytes + " bytes of voxel data"
              + " (shape " + java.util.Arrays.toString(header.shape()) + ", " + type.numpyName() + ") but the"
              + " decompressed data ends after " + done + " of them");
        }
        chunks.add(chunk);
      }
      checkGzipEnd(in);
      Object array = java.lang.reflect.Array.newInstance(type.arrayClass().getComponentType(), count);
      int position = 0;
      for (int i = 0; i < chunks.size(); i++) {
        byte[] chunk = chunks.get(i);
        chunks.set(i, null);
        decode(chunk, order, type, array, position);
        position += chunk.length / type.byteSize();
      }
      return array;
    } catch (ZipException e) {
      throw new NiftiFormatException(file, "corrupt gzip data: " + e.getMessage(), e);
    } catch (EOFException e) {
      throw new NiftiFormatException(file, "truncated gzip data: " + e.getMessage(), e);
    }
  }

  /**
   * Reads on to the end of a gzip stream (at most {@link #GZIP_TAIL} more bytes), so that a truncated or
   * corrupt end of the stream and a wrong CRC are noticed; longer trailing data is left unread.
   */
  private static void checkGzipEnd(InputStream in) throws IOException {
    byte[] scratch = new byte[8192];
    long left = GZIP_TAIL;
    while (left > 0) {
      int n = in.read(scratch, 0, (int) Math.min(scratch.length, left));
      if (n < 0) {
        return;
      }
      left -= n;
    }
  }

  private static void decode(byte[] chunk, ByteOrder order, NiftiDataType type, Object array, int position) {
    ByteBuffer b = ByteBuffer.wrap(chunk).order(order);
    int n = chunk.length / type.byteSize();
    switch (type) {
      case UINT8, INT8 -> System.arraycopy(chunk, 0, array, position, n);
      case INT16, UINT16 -> b.asShortBuffer().get((short[]) array, position, n);
      case INT32, UINT32 -> b.asIntBuffer().get((int[]) array, position, n);
      case INT64 -> b.asLongBuffer().get((long[]) array, position, n);
      case FLOAT32 -> b.asFloatBuffer().get((float[]) array, position, n);
      case FLOAT64 -> b.asDoubleBuffer().get((double[]) array, position, n);
    }
  }

  // ---------------------------------------------------------------- writing

  /** Writes a single-file image, little-endian; gzipped when the name ends in {@code .gz}. */
  public static void write(Path file, NiftiImage image) throws IOException {
    write(file, image, ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Writes a single-file image in the given byte order; gzipped when the name ends in {@code .gz}. The file
   * appears complete or not at all.
   *
   * @throws IllegalArgumentException for a {@code .hdr} or {@code .img} name (pairs are read, not written)
   */
  public static void write(Path file, NiftiImage image, ByteOrder order) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(order, "order");
    String name = file.getFileName() == null ? "" : file.getFileName().toString();
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".hdr") || lower.endsWith(".img") || lower.endsWith(".hdr.gz") || lower.endsWith(".img.gz")) {
      throw new IllegalArgumentException(file + ": only single-file images (.nii, .nii.gz) are written");
    }
    boolean gzip = lower.endsWith(".gz");
    org.ssl4mis.io.AtomicFile.write(file, channel -> {
      OutputStream raw = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
      OutputStream out = gzip ? new LevelGzip(raw, GZIP_LEVEL) : raw;
      out.write(headerBytes(image, order));
      writeData(out, image, order);
      if (out instanceof GZIPOutputStream g) {
        g.finish();
      }
      out.flush();
    });
  }

  private static final class LevelGzip extends GZIPOutputStream {
    LevelGzip(OutputStream out, int level) throws IOException {
      super(out, 1 << 16);
      def.setLevel(level);
    }
  }

  /** The 352 bytes before the voxels: the header and an empty extension flag. */
  static byte[] headerBytes(NiftiImage image, ByteOrder order) {
    ByteBuffer b = ByteBuffer.allocate(NiftiHeader.SINGLE_FILE_VOX_OFFSET).order(order);
    int[] shape = image.shape();
    NiftiDataType type = image.datatype();
    double[][] a = image.affine();
    double[] zooms = image.zooms();
    float[] q = image.qformParams();
    if (q == null) {
      q = qformParameters(a);
    }
    b.putInt(0, NiftiHeader.SIZEOF_HDR);
    b.putShort(40, (short) shape.length);
    for (int i = 1; i <= 7; i++) {
      b.putShort(40 + 2 * i, (short) (i <= shape.length ? shape[i - 1] : 1));
    }
    b.putShort(70, (short) type.code());
    b.putShort(72, (short) type.bitpix());
    b.putFloat(76, q[6]);
    for (int i = 1; i <= 7; i++) {
      double z;
      if (i <= zooms.length) {
        z = zooms[i - 1];
      } else if (i <= 3) {
        z = Math.sqrt(a[0][i - 1] * a[0][i - 1] + a[1][i - 1] * a[1][i - 1] + a[2][i - 1] * a[2][i - 1]);
      } else {
        z = 1;
      }
      b.putFloat(76 + 4 * i, (float) z);
    }
    b.putFloat(108, NiftiHeader.SINGLE_FILE_VOX_OFFSET);
    boolean scaled = image.hasScaling();
    b.putFloat(112, scaled ? (float) image.sclSlope() : 1f);
    b.putFloat(116, scaled ? (float) image.sclInter() : 0f);
    b.put(123, (byte) image.xyztUnits());
    byte[] descrip = image.description().getBytes(StandardCharsets.UTF_8);
    b.put(148, descrip, 0, Math.min(79, descrip.length));
    b.putShort(252, (short) image.qformCode());
    b.putShort(254, (short) image.sformCode());
    for (int i = 0; i < 6; i++) {
      b.putFloat(256 + 4 * i, q[i]);
    }
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 4; c++) {
        b.putFloat(280 + 16 * r + 4 * c, (float) a[r][c]);
      }
    }
    b.put(344, (byte) 'n').put(345, (byte) '+').put(346, (byte) '1').put(347, (byte) 0);
    return b.array();
  }

  /**
   * quatern_b/c/d, qoffset_x/y/z and qfac for an affine: the columns of its 3x3 part normalised, the third
   * flipped when the determinant is negative (qfac -1), the nearest rotation (polar decomposition), its
   * quaternion with {@code w >= 0}. A degenerate affine (a zero column) gets the identity rotation.
   */
  static float[] qformParameters(double[][] a) {
    float[] out = {0, 0, 0, (float) a[0][3], (float) a[1][3], (float) a[2][3], 1};
    double[][] r = new double[3][3];
    for (int j = 0; j < 3; j++) {
      double norm = Math.sqrt(a[0][j] * a[0][j] + a[1][j] * a[1][j] + a[2][j] * a[2][j]);
      if (!(norm > 0) || !Double.isFinite(norm)) {
        return out;
      }
      for (int i = 0; i < 3; i++) {
        r[i][j] = a[i][j] / norm;
      }
    }
    double det = det(r);
    if (Math.abs(det) < 1e-12) {
      return out;
    }
    if (det < 0) {
      out[6] = -1;
      for (int i = 0; i < 3; i++) {
        r[i][2] = -r[i][2];
      }
    }
    // Polar decomposition by Newton's iteration X <- (X + X^-T) / 2: the nearest orthogonal matrix.
    for (int iter = 0; iter < 100; iter++) {
      double[][] invT = inverseTranspose(r);
      double change = 0;
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          double v = 0.5 * (r[i][j] + invT[i][j]);
          change = Math.max(change, Math.abs(v - r[i][j]));
          r[i][j] = v;
        }
      }
      if (change < 1e-15) {
        break;
      }
    }
    double w;
    double x;
    double y;
    double z;
    double trace = r[0][0] + r[1][1] + r[2][2];
    if (trace > 0) {
      double s = 0.5 / Math.sqrt(trace + 1);
      w = 0.25 / s;
      x = (r[2][1] - r[1][2]) * s;
      y = (r[0][2] - r[2][0]) * s;
      z = (r[1][0] - r[0][1]) * s;
    } else if (r[0][0] > r[1][1] && r[0][0] > r[2][2]) {
      double s = 2 * Math.sqrt(1 + r[0][0] - r[1][1] - r[2][2]);
      w = (r[2][1] - r[1][2]) / s;
      x = 0.25 * s;
      y = (r[0][1] + r[1][0]) / s;
      z = (r[0][2] + r[2][0]) / s;
    } else if (r[1][1] > r[2][2]) {
      double s = 2 * Math.sqrt(1 + r[1][1] - r[0][0] - r[2][2]);
      w = (r[0][2] - r[2][0]) / s;
      x = (r[0][1] + r[1][0]) / s;
      y = 0.25 * s;
      z = (r[1][2] + r[2][1]) / s;
    } else {
      double s = 2 * Math.sqrt(1 + r[2][2] - r[0][0] - r[1][1]);
      w = (r[1][0] - r[0][1]) / s;
      x = (r[0][2] + r[2][0]) / s;
      y = (r[1][2] + r[2][1]) / s;
      z = 0.25 * s;
    }
    double norm = Math.sqrt(w * w + x * x + y * y + z * z);
    if (w < 0) {
      norm = -norm;
    }
    out[0] = (float) (x / norm);
    out[1] = (float) (y / norm);
    out[2] = (float) (z / norm);
    return out;
  }

  private static double det(double[][] m) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  }

  /** (M^-1)^T: the cofactor matrix over the determinant. */
  private static double[][] inverseTranspose(double[][] m) {
    double d = det(m);
    double[][] c = new double[3][3];
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        int i1 = (i + 1) % 3;
        int i2 = (i + 2) % 3;
        int j1 = (j + 1) % 3;
        int j2 = (j + 2) % 3;
        c[i][j] = (m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]) / d;
      }
    }
    return c;
  }

  private static void writeData(OutputStream out, NiftiImage image, ByteOrder order) throws IOException {
    NiftiDataType type = image.datatype();
    Object data = image.data();
    int count = Math.toIntExact(image.voxelCount());
    if (type == NiftiDataType.UINT8 || type == NiftiDataType.INT8) {
      out.write((byte[]) data, 0, count);
      return;
    }
    int per = CHUNK / 8;
    ByteBuffer buf = ByteBuffer.allocate(per * type.byteSize()).order(order);
    for (int start = 0; start < count; start += per) {
      int n = Math.min(per, count - start);
      buf.clear();
      switch (type) {
        case INT16, UINT16 -> buf.asShortBuffer().put((short[]) data, start, n);
        case INT32, UINT32 -> buf.asIntBuffer().put((int[]) data, start, n);
        case INT64 -> buf.asLongBuffer().put((long[]) data, start, n);
        case FLOAT32 -> buf.asFloatBuffer().put((float[]) data, start, n);
        case FLOAT64 -> buf.asDoubleBuffer().put((double[]) data, start, n);
        default -> throw new AssertionError(type);
      }
      out.write(buf.array(), 0, n * type.byteSize());
    }
  }
}
