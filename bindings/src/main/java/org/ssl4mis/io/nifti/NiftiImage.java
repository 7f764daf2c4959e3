package org.ssl4mis.io.nifti;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A NIfTI-1 image in memory: shape, voxel type, voxel data, voxel sizes, affine, qform/sform codes, scaling,
 * units and description. Read one with {@link Nifti#read}, make one with the {@code of...} factories, change
 * its metadata with the {@code with...} methods (each returns a new image sharing the voxel array), write it
 * with {@link Nifti#write}.
 *
 * <h2>Array layout</h2>
 *
 * The shape is nibabel's: {@code (x, y, z[, t, ...])}, {@code shape()[0]} is nibabel's first numpy axis. The
 * voxel array ({@link #data()} and the typed getters) is in the file's order, <b>x fastest</b>: voxel
 * {@code (i, j, k)} is at {@code i + X * (j + Y * k)} ({@link #index}). That is numpy's Fortran order for
 * {@code img.get_fdata()}, i.e. {@code img.get_fdata().ravel(order='F')}, and at the same time the C-order
 * ravel of the array with the reversed shape {@code (z, y, x)}, which is what SimpleITK's
 * {@code GetArrayFromImage} returns and what SSL4MIS's ACDC files store. For numpy's default C order of
 * {@code (x, y, z)}, {@code img.get_fdata().ravel()}, use {@link #fdataCOrder()} or {@link NiftiArrays}.
 *
 * <h2>Values</h2>
 *
 * The typed array holds the stored (unscaled) values; unsigned types hold their bit patterns (see
 * {@link NiftiDataType}). {@link #value(long)} and {@link #fdata()} return what nibabel's {@code get_fdata()}
 * returns: float64 values with {@code scl_slope}/{@code scl_inter} applied when the slope is finite and not 0,
 * computed as nibabel does ({@code raw * slope} unless the slope is 1, then {@code + inter} unless it is 0,
 * each rounded to double).
 *
 * <h2>Geometry</h2>
 *
 * {@link #affine()} is nibabel's {@code img.affine}. {@link #zooms()} are {@code pixdim[1..rank]} and
 * {@link #spacing()} the first three. The two are kept consistent: {@link #withAffine} sets the spatial zooms to
 * the affine's column lengths (as nibabel's {@code set_qform} does), {@link #withSpacing} rescales the affine's
 * columns. An image read from a file keeps the file's pixdim, affine and qform parameters as they are, so that
 * writing it back reproduces them.
 *
 * <p>Images are immutable except for the voxel array, which is shared, not copied (volumes are large); do not
 * change it while an image wraps it.
 */
public final class NiftiImage {
  /** The sform code {@link #withAffine} images get unless told otherwise: 2, "aligned", as nibabel sets. */
  public static final int DEFAULT_SFORM_CODE = 2;
  /** The qform code new images get: 0, "unknown", as nibabel sets for an image made from an array. */
  public static final int DEFAULT_QFORM_CODE = 0;

  private final int[] shape;
  private final NiftiDataType datatype;
  private final Object data;
  private final double[] zooms;
  private final double[][] affine;
  private final int qformCode;
  private final int sformCode;
  /** quatern_b/c/d, qoffset_x/y/z, qfac as read from a file, or null to derive them from the affine. */
  private final float[] qformParams;
  private final double sclSlope;
  private final double sclInter;
  private final int xyztUnits;
  private final String description;
  private final NiftiHeader header;

  private NiftiImage(int[] shape, NiftiDataType datatype, Object data, double[] zooms, double[][] affine,
      int qformCode, int sformCode, float[] qformParams, double sclSlope, double sclInter, int xyztUnits,
      String description, NiftiHeader header) {
    this.shape = shape;
    this.datatype = datatype;
    this.data = data;
    this.zooms = zooms;
    this.affine = affine;
    this.qformCode = qformCode;
    this.sformCode = sformCode;
    this.qformParams = qformParams;
    this.sclSlope = sclSlope;
    this.sclInter = sclInter;
    this.xyztUnits = xyztUnits;
    this.description = description;
    this.header = header;
  }

  /** The image of a header and its voxels, as read. */
  static NiftiImage fromHeader(NiftiHeader h, Object data) {
    float[] p = h.pixdim();
    float[] q = h.quaternion();
    float[] o = h.qoffset();
    float[] qformParams = {q[0], q[1], q[2], o[0], o[1], o[2], p[0]};
    return new NiftiImage(h.shape(), h.datatype(), data, h.zooms(), h.bestAffine(), h.qformCode(), h.sformCode(),
        qformParams, h.sclSlope(), h.sclInter(), h.xyztUnits(), h.description(), h);
  }

  // ---------------------------------------------------------------- factories

  /**
   * An image of {@code type} over {@code array} (x fastest, of the class {@link NiftiDataType#arrayClass()}),
   * with voxel sizes 1, the identity affine (sform code {@value #DEFAULT_SFORM_CODE}, qform code
   * {@value #DEFAULT_QFORM_CODE}), no scaling, units mm and s.
   *
   * @param shape 1 to 7 sizes, each 1..32767 (NIfTI-1 stores them as int16)
   */
  public static NiftiImage of(NiftiDataType type, Object array, int... shape) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(array, "array");
    int[] s = checkShape(shape);
    if (array.getClass() != type.arrayClass()) {
      throw new IllegalArgumentException(type + " voxels go in a " + type.arrayClass().getSimpleName() + ", got a "
          + array.getClass().getSimpleName());
    }
    long n = count(s);
    int length = java.lang.reflect.Array.getLength(array);
    if (length != n) {
      throw new IllegalArgumentException("shape " + Arrays.toString(s) + " has " + n + " voxels but the array has "
          + length);
    }
    double[] z = new double[s.length];
    Arrays.fill(z, 1.0);
    return new NiftiImage(s, type, array, z, NiftiHeader.identity(), DEFAULT_QFORM_CODE, DEFAULT_SFORM_CODE, null,
        Double.NaN, Double.NaN, NiftiHeader.UNITS_MM_SEC, "", null);
  }

  public static NiftiImage ofFloats(float[] data, int... shape) {
    return of(NiftiDataType.FLOAT32, data, shape);
  }

  public static NiftiImage ofDoubles(double[] data, int... shape) {
    return of(NiftiDataType.FLOAT64, data, shape);
  }

  /** uint8 voxels (bit patterns in the bytes). */
  public static NiftiImage ofUint8(byte[] data, int... shape) {
    return of(NiftiDataType.UINT8, data, shape);
  }

  public static NiftiImage ofInt16(short[] data, int... shape) {
    return of(NiftiDataType.INT16, data, shape);
  }

  public static NiftiImage ofInt32(int[] data, int... shape) {
    return of(NiftiDataType.INT32, data, shape);
  }

  public static NiftiImage ofInt64(long[] data, int... shape) {
    return of(NiftiDataType.INT64, data, shape);
  }

  private static int[] checkShape(int[] shape) {
    Objects.requireNonNull(shape, "shape");
    if (shape.length < 1 || shape.length > 7) {
      throw new IllegalArgumentException("a NIfTI-1 image has 1 to 7 dimensions, got shape " + Arrays.toString(shape));
    }
    for (int d : shape) {
      if (d < 1 || d > Short.MAX_VALUE) {
        throw new IllegalArgumentException("NIfTI-1 sizes are 1..32767, got shape " + Arrays.toString(shape));
      }
    }
    return shape.clone();
  }

  private static long count(int[] shape) {
    long n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  // ---------------------------------------------------------------- changed copies

  /**
   * This image with another affine: the sform becomes it, the qform is derived from it on writing, and the
   * spatial zooms become its column lengths (nibabel's {@code set_qform} does the same to pixdim). Codes stay.
   */
  public NiftiImage withAffine(double[][] newAffine) {
    double[][] a = checkAffine(newAffine);
    double[] z = zooms.clone();
    for (int j = 0; j < Math.min(3, z.length); j++) {
      z[j] = Math.sqrt(a[0][j] * a[0][j] + a[1][j] * a[1][j] + a[2][j] * a[2][j]);
    }
    return new NiftiImage(shape, datatype, data, z, a, qformCode, sformCode, null, sclSlope, sclInter, xyztUnits,
        description, null);
  }

  /** This image with another affine and the codes that say which transforms hold it (0 = not set). */
  public NiftiImage withAffine(double[][] newAffine, int newQformCode, int newSformCode) {
    return withAffine(newAffine).withCodes(newQformCode, newSformCode);
  }

  /**
   * This image with other voxel sizes: {@code spacing[j]} for dimension {@code j} (up to the rank). The affine's
   * first three columns are rescaled to the new spatial sizes, keeping directions and origin (a zero column
   * becomes the axis direction times the size).
   */
  public NiftiImage withSpacing(double... spacing) {
    if (spacing.length < 1 || spacing.length > shape.length) {
      throw new IllegalArgumentException("give 1 to " + shape.length + " voxel sizes, got " + spacing.length);
    }
    double[] z = zooms.clone();
    double[][] a = NiftiHeader.copy(affine);
    for (int j = 0; j < spacing.length; j++) {
      double s = spacing[j];
      if (!(s > 0) || !Double.isFinite(s)) {
        throw new IllegalArgumentException("voxel sizes must be positive and finite, got " + Arrays.toString(spacing));
      }
      z[j] = s;
      if (j < 3) {
        double norm = Math.sqrt(a[0][j] * a[0][j] + a[1][j] * a[1][j] + a[2][j] * a[2][j]);
        for (int r = 0; r < 3; r++) {
          a[r][j] = norm == 0 ? (r == j ? s : 0) : a[r][j] / norm * s;
        }
      }
    }
    return new NiftiImage(shape, datatype, data, z, a, qformCode, sformCode, null, sclSlope, sclInter, xyztUnits,
        description, null);
  }

  /** This image with other qform and sform codes (0..5; 0 = the transform is not set). */
  public NiftiImage withCodes(int newQformCode, int newSformCode) {
    for (int c : new int[] {newQformCode, newSformCode}) {
      if (c < 0 || c > 5) {
        throw new IllegalArgumentException("qform/sform codes are 0..5, got " + c);
      }
    }
    return new NiftiImage(shape, datatype, data, zooms, affine, newQformCode, newSformCode, qformParams, sclSlope,
        sclInter, xyztUnits, description, header);
  }

  /**
   * This image with {@code scl_slope}/{@code scl_inter}: values are {@code stored * slope + inter}. A slope of 0 or
   * NaN means no scaling.
   */
  public NiftiImage withScaling(double slope, double inter) {
    if (slope != 0 && Double.isFinite(slope) && !Double.isFinite(inter)) {
      throw new IllegalArgumentException("a valid slope needs a finite intercept, got " + inter);
    }
    return new NiftiImage(shape, datatype, data, zooms, affine, qformCode, sformCode, qformParams, (float) slope,
        (float) inter, xyztUnits, description, header);
  }

  /** This image with another {@code xyzt_units} code (2 = mm, 8 = s; {@link NiftiHeader#UNITS_MM_SEC}). */
  public NiftiImage withXyztUnits(int units) {
    if (units < 0 || units > 255) {
      throw new IllegalArgumentException("xyzt_units is one byte, got " + units);
    }
    return new NiftiImage(shape, datatype, data, zooms, affine, qformCode, sformCode, qformParams, sclSlope, sclInter,
        units, description, header);
  }

  /** This image with another {@code descrip} (at most 79 bytes are written). */
  public NiftiImage withDescription(String text) {
    return new NiftiImage(shape, datatype, data, zooms, affine, qformCode, sformCode, qformParams, sclSlope, sclInter,
        xyztUnits, Objects.requireNonNull(text, "text"), header);
  }

  /**
   * This image's geometry and metadata over other voxels of the same shape (a segmentation of the image, say),
   * without scaling.
   */
  public NiftiImage withData(NiftiDataType type, Object array) {
    NiftiImage fresh = of(type, array, shape);
    return new NiftiImage(shape, type, fresh.data, zooms, affine, qformCode, sformCode, qformParams, Double.NaN,
        Double.NaN, xyztUnits, description, null);
  }

  private static double[][] checkAffine(double[][] a) {
    Objects.requireNonNull(a, "affine");
    if (a.length != 4 && a.length != 3) {
      throw new IllegalArgumentException("an affine is 4x4 (or its top 3x4), got " + a.length + " rows");
    }
    double[][] out = NiftiHeader.identity();
    for (int r = 0; r < a.length; r++) {
      if (a[r].length != 4) {
        throw new IllegalArgumentException("affine row " + r + " has " + a[r].length + " entries, expected 4");
      }
      for (int c = 0; c < 4; c++) {
        if (!Double.isFinite(a[r][c])) {
          throw new IllegalArgumentException("affine entry [" + r + "][" + c + "] is " + a[r][c]);
        }
        out[r][c] = a[r][c];
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- accessors

  /** The shape, nibabel's {@code img.shape} order (x, y, z, ...), without trailing 1s beyond the third. */
  public int[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  public long voxelCount() {
    return count(shape);
  }

  public NiftiDataType datatype() {
    return datatype;
  }

  /** The voxel array itself (not a copy), x fastest; its class is {@code datatype().arrayClass()}. */
  public Object data() {
    return data;
  }

  /** The voxels of a UINT8 or INT8 image. */
  public byte[] bytes() {
    return typed(byte[].class);
  }

  /** The voxels of an INT16 or UINT16 image. */
  public short[] shorts() {
    return typed(short[].class);
  }

  /** The voxels of an INT32 or UINT32 image. */
  public int[] ints() {
    return typed(int[].class);
  }

  /** The voxels of an INT64 image. */
  public long[] longs() {
    return typed(long[].class);
  }

  /** The voxels of a FLOAT32 image. */
  public float[] floats() {
    return typed(float[].class);
  }

  /** The voxels of a FLOAT64 image. */
  public double[] doubles() {
    return typed(double[].class);
  }

  private <T> T typed(Class<T> type) {
    if (data.getClass() != type) {
      throw new IllegalStateException("the image holds " + datatype.numpyName() + " voxels in a "
          + data.getClass().getSimpleName() + ", not a " + type.getSimpleName());
    }
    return type.cast(data);
  }

  /** Voxel sizes of every dimension, {@code pixdim[1..rank]}. */
  public double[] zooms() {
    return zooms.clone();
  }

  /** Voxel spacing of the spatial dimensions, {@code pixdim[1..min(rank, 3)]}. */
  public double[] spacing() {
    return Arrays.copyOf(zooms, Math.min(3, zooms.length));
  }

  /** nibabel's {@code img.affine}, 4x4 (a copy). */
  public double[][] affine() {
    return NiftiHeader.copy(affine);
  }

  public int qformCode() {
    return qformCode;
  }

  public int sformCode() {
    return sformCode;
  }

  /** The stored {@code scl_slope}: NaN (or 0) when the image has no scaling. */
  public double sclSlope() {
    return sclSlope;
  }

  /** The stored {@code scl_inter}. */
  public double sclInter() {
    return sclInter;
  }

  /** Whether stored values are scaled: the slope is finite and not 0. */
  public boolean hasScaling() {
    return sclSlope != 0 && Double.isFinite(sclSlope);
  }

  public int xyztUnits() {
    return xyztUnits;
  }

  public String description() {
    return description;
  }

  /** The header this image was read with, or null for an image made or changed in memory. */
  public NiftiHeader header() {
    return header;
  }

  /** The byte order of the file the image was read from, or null. */
  public ByteOrder sourceByteOrder() {
    return header == null ? null : header.byteOrder();
  }

  /** quatern_b/c/d, qoffset_x/y/z and qfac as read, or null when they are to be derived from the affine. */
  float[] qformParams() {
    return qformParams == null ? null : qformParams.clone();
  }

  /** The position in the voxel array of voxel {@code (i, j, k, ...)}: x fastest. */
  public long index(int... ijk) {
    if (ijk.length != shape.length) {
      throw new IllegalArgumentException("give " + shape.length + " indices, got " + ijk.length);
    }
    long idx = 0;
    for (int d = shape.length - 1; d >= 0; d--) {
      if (ijk[d] < 0 || ijk[d] >= shape[d]) {
        throw new IndexOutOfBoundsException("index " + Arrays.toString(ijk) + " outside shape " + Arrays.toString(shape));
      }
      idx = idx * shape[d] + ijk[d];
    }
    return idx;
  }

  // ---------------------------------------------------------------- values

  /** The stored value at a position of the voxel array, as a double (unsigned types read unsigned). */
  public double rawValue(long position) {
    int i = Math.toIntExact(position);
    return switch (datatype) {
      case UINT8 -> ((byte[]) data)[i] & 0xFF;
      case INT8 -> ((byte[]) data)[i];
      case INT16 -> ((short[]) data)[i];
      case UINT16 -> ((short[]) data)[i] & 0xFFFF;
      case INT32 -> ((int[]) data)[i];
      case UINT32 -> ((int[]) data)[i] & 0xFFFFFFFFL;
      case INT64 -> (double) ((long[]) data)[i];
      case FLOAT32 -> ((float[]) data)[i];
      case FLOAT64 -> ((double[]) data)[i];
    };
  }

  /** The value at a position of the voxel array as nibabel's {@code get_fdata()} gives it (scaled, float64). */
  public double value(long position) {
    double v = rawValue(position);
    if (!hasScaling()) {
      return v;
    }
    if (sclSlope != 1.0) {
      v = v * sclSlope;
    }
    if (sclInter != 0.0) {
      v = v + sclInter;
    }
    return v;
  }

  /** All values as {@code get_fdata()} gives them, x fastest ({@code img.get_fdata().ravel(order='F')}). */
  public double[] fdata() {
    int n = Math.toIntExact(voxelCount());
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = value(i);
    }
    return out;
  }

  /**
   * All values as {@code get_fdata()} gives them, in numpy's C order of the shape
   * ({@code img.get_fdata().ravel()}): the last dimension fastest.
   */
  public double[] fdataCOrder() {
    return NiftiArrays.toCOrder(fdata(), shape);
  }

  /** {@link #fdata()} rounded to float32, x fastest ({@code img.get_fdata().astype(np.float32)}). */
  public float[] fdataFloat() {
    int n = Math.toIntExact(voxelCount());
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) value(i);
    }
    return out;
  }

  @Override
  public String toString() {
    return "NiftiImage[shape " + Arrays.toString(shape) + ", " + datatype.numpyName() + ", zooms "
        + Arrays.toString(zooms) + ", qform_code " + qformCode + ", sform_code " + sformCode
        + (hasScaling() ? ", scl " + sclSlope + "/" + sclInter : "") + "]";
  }
}
