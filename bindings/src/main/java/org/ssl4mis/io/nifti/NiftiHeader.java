package org.ssl4mis.io.nifti;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A parsed NIfTI-1 header, with the corrections nibabel applies when it loads one and the affines nibabel
 * derives from it.
 *
 * <p><b>Corrections on load</b> (nibabel's {@code check_fix}, so that values match {@code nib.load}):
 * {@code pixdim[0]} (qfac) other than 1 or -1 becomes 1; {@code pixdim[1..3]} of 0 become 1 and negative ones
 * their absolute value; qform/sform codes outside 0..5 become 0; {@code bitpix} is ignored (the datatype decides
 * the voxel size); a single-file {@code vox_offset} below 352 is taken as 352.
 *
 * <p><b>Refused</b> ({@link NiftiFormatException}): sizeof_hdr not 348 in either byte order (540, NIfTI-2, is
 * named as such), a magic other than {@code "n+1\0"} / {@code "ni1\0"}, {@code dim[0]} outside 1..7, a size
 * {@code dim[i] < 1}, an unsupported datatype, a negative, non-finite or fractional {@code vox_offset}, a valid
 * {@code scl_slope} with a non-finite {@code scl_inter}, and a qform quaternion with
 * {@code b^2+c^2+d^2 > 1} (beyond float32 rounding) when the qform is the affine in use.
 */
public final class NiftiHeader {
  /** {@code sizeof_hdr} of every NIfTI-1 header. */
  public static final int SIZEOF_HDR = 348;
  /** The smallest voxel offset of a single-file ({@code n+1}) image: header plus the 4 extension bytes. */
  public static final int SINGLE_FILE_VOX_OFFSET = 352;

  /** The xyzt_units code for millimetres and seconds. */
  public static final int UNITS_MM_SEC = 2 | 8;

  private static final LongDoubleArithmetic LONG_DOUBLE = LongDoubleArithmetic.platformLongDouble();
  /** nibabel's threshold below which a negative w^2 is an error: three float32 epsilons. */
  private static final double W2_THRESHOLD = -3.0 * Math.ulp(1.0f);

  private final Path file;
  private final ByteOrder byteOrder;
  private final boolean singleFile;
  private final short[] dim;
  private final int[] shape;
  private final NiftiDataType datatype;
  private final int bitpix;
  private final float[] pixdim;
  private final float voxOffset;
  private final long dataOffset;
  private final float sclSlope;
  private final float sclInter;
  private final int qformCode;
  private final int sformCode;
  private final float[] quatern;
  private final float[] qoffset;
  private final float[][] srow;
  private final int xyztUnits;
  private final int intentCode;
  private final String description;
  private final double[][] qform;
  private final String qformProblem;

  private NiftiHeader(Path file, ByteBuffer b, boolean singleFile) throws NiftiFormatException {
    this.file = file;
    this.byteOrder = b.order();
    this.singleFile = singleFile;
    dim = new short[8];
    for (int i = 0; i < 8; i++) {
      dim[i] = b.getShort(40 + 2 * i);
    }
    int ndim = dim[0];
    if (ndim < 1 || ndim > 7) {
      throw new NiftiFormatException(file, "dim[0] is " + ndim + "; a NIfTI-1 image has 1 to 7 dimensions"
          + (Short.reverseBytes(dim[0]) >= 1 && Short.reverseBytes(dim[0]) <= 7 ? " (byte order mix-up?)" : ""));
    }
    for (int i = 1; i <= ndim; i++) {
      if (dim[i] < 1) {
        throw new NiftiFormatException(file, "dim[" + i + "] is " + dim[i] + "; every size of the " + ndim
            + " dimensions must be at least 1 (dim = " + Arrays.toString(Arrays.copyOfRange(dim, 0, ndim + 1)) + ")");
      }
    }
    shape = squeezedShape(dim);
    int code = b.getShort(70);
    datatype = NiftiDataType.fromCode(code)
        .orElseThrow(() -> new NiftiFormatException(file, NiftiDataType.describeUnsupported(code)));
    bitpix = b.getShort(72);
    pixdim = new float[8];
    for (int i = 0; i < 8; i++) {
      pixdim[i] = b.getFloat(76 + 4 * i);
    }
    if (pixdim[0] != 1f && pixdim[0] != -1f) {
      pixdim[0] = 1f;
    }
    for (int i = 1; i <= 3; i++) {
      if (pixdim[i] == 0f) {
        pixdim[i] = 1f;
      } else if (pixdim[i] < 0f) {
        pixdim[i] = -pixdim[i];
      }
    }
    voxOffset = b.getFloat(108);
    if (!Float.isFinite(voxOffset) || voxOffset < 0) {
      throw new NiftiFormatException(file, "vox_offset is " + voxOffset + "; it must be a byte offset >= 0");
    }
    if (voxOffset != Math.rint(voxOffset)) {
      throw new NiftiFormatException(file, "vox_offset " + voxOffset + " is not a whole number of bytes");
    }
    long off = (long) voxOffset;
    dataOffset = singleFile ? Math.max(off, SINGLE_FILE_VOX_OFFSET) : off;
    sclSlope = b.getFloat(112);
    sclInter = b.getFloat(116);
    if (sclSlope != 0f && Float.isFinite(sclSlope) && !Float.isFinite(sclInter)) {
      throw new NiftiFormatException(file, "scl_slope is " + sclSlope + " but scl_inter is " + sclInter
          + "; a valid slope needs a finite intercept");
    }
    xyztUnits = b.get(123) & 0xFF;
    intentCode = b.getShort(68);
    byte[] descrip = new byte[80];
    b.get(148, descrip);
    description = cString(descrip);
    qformCode = validXformCode(b.getShort(252));
    sformCode = validXformCode(b.getShort(254));
    quatern = new float[] {b.getFloat(256), b.getFloat(260), b.getFloat(264)};
    qoffset = new float[] {b.getFloat(268), b.getFloat(272), b.getFloat(276)};
    srow = new float[3][4];
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 4; c++) {
        srow[r][c] = b.getFloat(280 + 16 * r + 4 * c);
      }
    }
    double[][] q = null;
    String problem = null;
    try {
      q = qformAffine(quatern, qoffset, pixdim);
    } catch (ArithmeticException e) {
      problem = e.getMessage();
    }
    qform = q;
    qformProblem = problem;
    if (sformCode == 0 && qformCode != 0 && qform == null) {
      throw new NiftiFormatException(file, "the qform (qform_code " + qformCode + ") is invalid: " + qformProblem);
    }
  }

  /**
   * Parses the first 348 bytes of a file.
   *
   * @param singleFile whether the file is a single {@code .nii} (magic {@code n+1}) rather than a {@code .hdr}
   *     of a pair (magic {@code ni1})
   */
  static NiftiHeader parse(Path file, byte[] header, boolean singleFile) throws NiftiFormatException {
    if (header.length < SIZEOF_HDR) {
      throw new NiftiFormatException(file, "truncated header: " + header.length + " bytes, a NIfTI-1 header has "
          + SIZEOF_HDR);
    }
    ByteBuffer b = ByteBuffer.wrap(header);
    int le = b.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    int be = b.order(ByteOrder.BIG_ENDIAN).getInt(0);
    if (le == SIZEOF_HDR) {
      b.order(ByteOrder.LITTLE_ENDIAN);
    } else if (be == SIZEOF_HDR) {
      b.order(ByteOrder.BIG_ENDIAN);
    } else if (le == 540 || be == 540) {
      throw new NiftiFormatException(file, "NIfTI-2 header (sizeof_hdr 540); only NIfTI-1 is supported");
    } else {
      throw new NiftiFormatException(file, "not a NIfTI-1 file: sizeof_hdr is " + le + " read little-endian and " + be
          + " big-endian, expected 348");
    }
    String magic = magicText(header);
    boolean isSingleMagic = header[344] == 'n' && header[345] == '+' && header[346] == '1' && header[347] == 0;
    boolean isPairMagic = header[344] == 'n' && header[345] == 'i' && header[346] == '1' && header[347] == 0;
    if (!isSingleMagic && !isPairMagic) {
      throw new NiftiFormatException(file, "bad magic " + magic + "; a NIfTI-1 file has \"n+1\" (single file) or"
          + " \"ni1\" (.hdr/.img pair)" + (header[344] == 0 ? " (an Analyze 7.5 header? not supported)" : ""));
    }
    if (singleFile && isPairMagic) {
      throw new NiftiFormatException(file, "magic \"ni1\" marks the header of a .hdr/.img pair, but this is a"
          + " single file; name it .hdr next to its .img");
    }
    if (!singleFile && isSingleMagic) {
      throw new NiftiFormatException(file, "magic \"n+1\" marks a single-file image, but this is read as the header"
          + " of a .hdr/.img pair; name it .nii");
    }
    return new NiftiHeader(file, b, singleFile);
  }

  private static String magicText(byte[] h) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 344; i < 348; i++) {
      int c = h[i] & 0xFF;
      sb.append(c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\x%02x", c));
    }
    return sb.append('"').toString();
  }

  private static int validXformCode(int code) {
    return code >= 0 && code <= 5 ? code : 0;
  }

  private static String cString(byte[] bytes) {
    int n = 0;
    while (n < bytes.length && bytes[n] != 0) {
      n++;
    }
    return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
  }

  /** dim[1..dim[0]], without trailing sizes of 1 beyond the third dimension. */
  static int[] squeezedShape(short[] dim) {
    int n = dim[0];
    while (n > 3 && dim[n] == 1) {
      n--;
    }
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = dim[i + 1];
    }
    return s;
  }

  // ---------------------------------------------------------------- affines

  /**
   * The qform affine exactly as nibabel's {@code get_qform()}: the quaternion completed with
   * {@code w = sqrt(1 - b^2 - c^2 - d^2)} and turned into a rotation in {@code np.longdouble}, times
   * {@code diag(pixdim[1], pixdim[2], qfac * pixdim[3])}, rounded to double, with the qoffsets as translation.
   *
   * @throws ArithmeticException when {@code 1 - b^2 - c^2 - d^2} is below -3 float32 epsilons
   */
  static double[][] qformAffine(float[] bcd, float[] offsets, float[] pixdim) {
    float[] vox = {pixdim[1], pixdim[2], pixdim[3] * (pixdim[0] == -1f ? -1f : 1f)};
    double[][] out = identity();
    boolean finite = Float.isFinite(bcd[0]) && Float.isFinite(bcd[1]) && Float.isFinite(bcd[2])
        && Float.isFinite(vox[0]) && Float.isFinite(vox[1]) && Float.isFinite(vox[2]);
    if (finite) {
      LongDoubleArithmetic L = LONG_DOUBLE;
      BigDecimal x = L.of(bcd[0]);
      BigDecimal y = L.of(bcd[1]);
      BigDecimal z = L.of(bcd[2]);
      BigDecimal dot = L.add(L.add(L.mul(x, x), L.mul(y, y)), L.mul(z, z));
      BigDecimal w2 = L.sub(BigDecimal.ONE, dot);
      BigDecimal w;
      if (w2.signum() < 0) {
        if (w2.compareTo(new BigDecimal(W2_THRESHOLD)) < 0) {
          throw new ArithmeticException("quatern_b/c/d = " + bcd[0] + ", " + bcd[1] + ", " + bcd[2]
              + " have b^2+c^2+d^2 > 1, so they are not a unit quaternion");
        }
        w = BigDecimal.ZERO;
      } else {
        w = L.sqrt(w2);
      }
      BigDecimal nq = L.add(L.add(L.add(L.mul(w, w), L.mul(x, x)), L.mul(y, y)), L.mul(z, z));
      BigDecimal[][] r = new BigDecimal[3][3];
      if (nq.compareTo(new BigDecimal(Math.ulp(1.0))) < 0) {
        for (int i = 0; i < 3; i++) {
          for (int j = 0; j < 3; j++) {
            r[i][j] = i == j ? BigDecimal.ONE : BigDecimal.ZERO;
          }
        }
      } else {
        BigDecimal s = L.div(BigDecimal.valueOf(2), nq);
        BigDecimal sx = L.mul(x, s);
        BigDecimal sy = L.mul(y, s);
        BigDecimal sz = L.mul(z, s);
        BigDecimal wx = L.mul(w, sx);
        BigDecimal wy = L.mul(w, sy);
        BigDecimal wz = L.mul(w, sz);
        BigDecimal xx = L.mul(x, sx);
        BigDecimal xy = L.mul(x, sy);
        BigDecimal xz = L.mul(x, sz);
        BigDecimal yy = L.mul(y, sy);
        BigDecimal yz = L.mul(y, sz);
        BigDecimal zz = L.mul(z, sz);
        r[0][0] = L.sub(BigDecimal.ONE, L.add(yy, zz));
        r[0][1] = L.sub(xy, wz);
        r[0][2] = L.add(xz, wy);
        r[1][0] = L.add(xy, wz);
        r[1][1] = L.sub(BigDecimal.ONE, L.add(xx, zz));
        r[1][2] = L.sub(yz, wx);
        r[2][0] = L.sub(xz, wy);
        r[2][1] = L.add(yz, wx);
        r[2][2] = L.sub(BigDecimal.ONE, L.add(xx, yy));
      }
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          // R @ diag(vox): the one non-zero product per entry; zeros come out as +0.0 as in numpy's dot.
          double v = LongDoubleArithmetic.toDouble(L.mul(r[i][j], L.of(vox[j])));
          out[i][j] = v == 0 ? 0.0 : v;
        }
      }
    } else {
      // NaN or infinite header values: plain double arithmetic, NaN in, NaN out.
      double x = bcd[0];
      double y = bcd[1];
      double z = bcd[2];
      double w = Math.sqrt(Math.max(0, 1 - (x * x + y * y + z * z)));
      double nq = w * w + x * x + y * y + z * z;
      double s = 2 / nq;
      double[][] r = {
          {1 - (y * y * s + z * z * s), x * y * s - w * z * s, x * z * s + w * y * s},
          {x * y * s + w * z * s, 1 - (x * x * s + z * z * s), y * z * s - w * x * s},
          {x * z * s - w * y * s, y * z * s + w * x * s, 1 - (x * x * s + y * y * s)}};
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          out[i][j] = r[i][j] * vox[j];
        }
      }
    }
    out[0][3] = offsets[0];
    out[1][3] = offsets[1];
    out[2][3] = offsets[2];
    return out;
  }

  /** nibabel's {@code get_base_affine()}: pixdim scaling, x flipped, origin at the centre of the volume. */
  static double[][] baseAffine(short[] dim, float[] pixdim) {
    int n = dim[0];
    double[][] a = identity();
    for (int k = 0; k < 3; k++) {
      double size = k < n ? dim[k + 1] : 1;
      double zoom = k < n ? pixdim[k + 1] : 1;
      if (k == 0) {
        zoom = -zoom;
      }
      double origin = (size - 1) / 2.0;
      a[k][k] = zoom;
      a[k][3] = -origin * zoom;
    }
    return a;
  }

  static double[][] identity() {
    double[][] a = new double[4][4];
    for (int i = 0; i < 4; i++) {
      a[i][i] = 1;
    }
    return a;
  }

  static double[][] copy(double[][] a) {
    double[][] c = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }

  // ---------------------------------------------------------------- accessors

  /** The file this header was read from. */
  public Path file() {
    return file;
  }

  /** The byte order the file was written in. */
  public ByteOrder byteOrder() {
    return byteOrder;
  }

  /** True for a single {@code .nii} file (magic {@code n+1}), false for a {@code .hdr/.img} pair. */
  public boolean isSingleFile() {
    return singleFile;
  }

  /** The raw {@code dim} field, all 8 entries. */
  public short[] dim() {
    return dim.clone();
  }

  /**
   * The image shape {@code dim[1..dim[0]]} (x, y, z, t, ...) without trailing sizes of 1 beyond the third, so
   * a 4D file with one time point is 3D. nibabel's {@code img.shape} keeps those 1s.
   */
  public int[] shape() {
    return shape.clone();
  }

  /** The number of voxels (product of the shape), or {@link Long#MAX_VALUE} when that does not fit a long. */
  public long voxelCount() {
    long n = 1;
    for (int s : shape) {
      try {
        n = Math.multiplyExact(n, s);
      } catch (ArithmeticException e) {
        return Long.MAX_VALUE;
      }
    }
    return n;
  }

  public NiftiDataType datatype() {
    return datatype;
  }

  /** The {@code bitpix} field as stored (ignored for reading, as nibabel does). */
  public int bitpix() {
    return bitpix;
  }

  /** The {@code pixdim} field after nibabel's corrections, all 8 entries; {@code pixdim[0]} is qfac. */
  public float[] pixdim() {
    return pixdim.clone();
  }

  /** The voxel sizes of the shape's dimensions: {@code pixdim[1..rank]} (nibabel's {@code get_zooms()}). */
  public double[] zooms() {
    double[] z = new double[shape.length];
    for (int i = 0; i < z.length; i++) {
      z[i] = pixdim[i + 1];
    }
    return z;
  }

  /** The voxel spacing of the spatial dimensions: {@code pixdim[1..min(rank, 3)]}. */
  public double[] spacing() {
    double[] z = new double[Math.min(3, shape.length)];
    for (int i = 0; i < z.length; i++) {
      z[i] = pixdim[i + 1];
    }
    return z;
  }

  /** The {@code vox_offset} field as stored. */
  public float voxOffset() {
    return voxOffset;
  }

  /** Where the voxel data starts in the (image) file. */
  public long dataOffset() {
    return dataOffset;
  }

  /** The number of voxel data bytes the header declares. */
  public long dataBytes() {
    long n = voxelCount();
    return n > Long.MAX_VALUE / 8 ? Long.MAX_VALUE : n * datatype.byteSize();
  }

  public float sclSlope() {
    return sclSlope;
  }

  public float sclInter() {
    return sclInter;
  }

  /** Whether scaling applies: {@code scl_slope} is finite and not 0 (nibabel's {@code get_slope_inter}). */
  public boolean hasScaling() {
    return sclSlope != 0f && Float.isFinite(sclSlope);
  }

  public int qformCode() {
    return qformCode;
  }

  public int sformCode() {
    return sformCode;
  }

  /** {@code quatern_b, quatern_c, quatern_d}. */
  public float[] quaternion() {
    return quatern.clone();
  }

  /** {@code qoffset_x, qoffset_y, qoffset_z}. */
  public float[] qoffset() {
    return qoffset.clone();
  }

  /** {@code xyzt_units}: spatial units in bits 0-2 (2 = mm), temporal in bits 3-5 (8 = s). */
  public int xyztUnits() {
    return xyztUnits;
  }

  public int intentCode() {
    return intentCode;
  }

  /** The {@code descrip} text up to its first NUL. */
  public String description() {
    return description;
  }

  /**
   * nibabel's {@code header.get_qform()}, whatever the qform code.
   *
   * @throws IllegalStateException when the quaternion is invalid
   */
  public double[][] qform() {
    if (qform == null) {
      throw new IllegalStateException(file + ": " + qformProblem);
    }
    return copy(qform);
  }

  /** nibabel's {@code header.get_sform()}: the srow_x/y/z rows, whatever the sform code. */
  public double[][] sform() {
    double[][] a = identity();
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 4; c++) {
        a[r][c] = srow[r][c];
      }
    }
    return a;
  }

  /** nibabel's {@code header.get_base_affine()}: from pixdim alone, x flipped, centred. */
  public double[][] baseAffine() {
    return baseAffine(dim, pixdim);
  }

  /**
   * nibabel's {@code img.affine} ({@code get_best_affine()}): the sform when {@code sform_code != 0}, else the
   * qform when {@code qform_code != 0}, else the base affine.
   */
  public double[][] bestAffine() {
    if (sformCode != 0) {
      return sform();
    }
    if (qformCode != 0) {
      return qform();
    }
    return baseAffine();
  }

  @Override
  public String toString() {
    return "NiftiHeader[" + file + ", " + (singleFile ? "n+1" : "ni1") + ", " + byteOrder + ", shape "
        + Arrays.toString(shape) + ", " + datatype.numpyName() + ", pixdim " + Arrays.toString(pixdim)
        + ", qform_code " + qformCode + ", sform_code " + sformCode + ", offset " + dataOffset + "]";
  }
}
