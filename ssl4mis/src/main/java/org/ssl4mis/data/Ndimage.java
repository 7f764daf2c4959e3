package org.ssl4mis.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * {@code scipy.ndimage.zoom} and {@code scipy.ndimage.rotate} in pure Java, reproducing SciPy 1.10 (the
 * {@code python3-scipy} of Debian bookworm that the SSL4MIS reference runs on) bit for bit.
 *
 * <p>Arrays are flat, row-major (C order) with an explicit shape, like a contiguous NumPy array. The element
 * type of the output is the element type of the input, as in SciPy: {@code float[]} is {@code float32},
 * {@code double[]} is {@code float64}, {@code byte[]} is <b>{@code uint8}</b> (values 0..255, read as
 * {@code b & 0xFF}), {@code short[]} is {@code int16}, {@code int[]} is {@code int32} and {@code long[]} is
 * {@code int64}. Interpolated values are computed in double precision exactly as SciPy's C code does (same
 * operations in the same order) and then stored the way SciPy stores them: a plain cast for floating types,
 * and for integer types rounding half away from zero with clamping to the type's range ({@code uint8}
 * clamps negative values to 0).
 *
 * <h2>What SSL4MIS uses</h2>
 * <ul>
 *   <li>{@code zoom(image, (256 / h, 256 / w), order=0)} on {@code float32} slices and {@code uint8} labels,
 *       and back to {@code (h, w)} on {@code int64} predictions: {@link #zoom(float[], int[], double[], int)},
 *       {@link #zoom(byte[], int[], double[], int)}, {@link #zoom(long[], int[], double[], int)}.</li>
 *   <li>{@code ndimage.rotate(x, angle, order=0, reshape=False)} with integer angles in [-20, 20):
 *       {@link #rotate(float[], int, int, double, int, boolean)} and its {@code byte[]} twin.</li>
 * </ul>
 *
 * <h2>Semantics (SciPy 1.10, {@code grid_mode=False}, {@code mode='constant'}, {@code cval=0})</h2>
 * <ul>
 *   <li>Zoom output shape: {@code round(shape[i] * factor[i])} with round-half-to-even (Python's
 *       {@code round}); only this shape matters afterwards. Output index {@code k} along an axis reads input
 *       coordinate {@code k * ((in - 1) / (out - 1))} (double arithmetic; the ratio is 1 when {@code out == 1}).
 *       With mode {@code 'constant'} a coordinate below 0 or above {@code in - 1} (including one pushed just
 *       past the last sample by rounding error, as SciPy 1.10 does) yields {@code cval}.</li>
 *   <li>Order 0 picks {@code floor(c + 0.5)}: ties round up, evaluated in double like SciPy.</li>
 *   <li>Rotate builds {@code [[cos, sin], [-sin, cos]]} from Cephes' {@code cosdg}/{@code sindg} (degrees,
 *       exact at multiples of 90), maps output point {@code o} to input {@code M o + offset} with
 *       {@code offset = (in - 1) / 2 - M (out - 1) / 2}; {@code reshape=True} enlarges the output to hold the
 *       whole rotated input. The centre product {@code M (out - 1) / 2} is formed the way NumPy's
 *       {@code matmul} does on an FMA-capable x86-64 with OpenBLAS ({@code fma(m0, x0, m1 * x1)}).</li>
 *   <li>Orders 1..5 use SciPy's B-spline weights; with {@code prefilter} (the default) orders above 1 first
 *       run SciPy's recursive spline prefilter along each axis in double precision (with SciPy's 12-sample
 *       pre-padding for modes {@code 'nearest'} and {@code 'grid-constant'}).</li>
 * </ul>
 *
 * <p>All seven SciPy boundary modes ({@link Mode}) and {@code grid_mode=True} for zoom are implemented. Inputs
 * of any rank are supported by zoom; rotate works on 2-D arrays. All methods are thread-safe and allocate only
 * per call (index tables, the output), never per element.
 */
public final class Ndimage {

  private Ndimage() {}

  /** The boundary modes of {@code scipy.ndimage} (their SciPy spelling is {@link #scipyName()}). */
  public enum Mode {
    /** {@code 'constant'}: outside {@code [0, n-1]} the result is {@code cval} (SciPy's default). */
    CONSTANT("constant"),
    /** {@code 'nearest'}: the edge sample is repeated. */
    NEAREST("nearest"),
    /** {@code 'mirror'}: reflection about the centre of the edge sample (d c b | a b c d | c b a). */
    MIRROR("mirror"),
    /** {@code 'reflect'} (alias {@code 'grid-mirror'}): reflection about the edge (d c b a | a b c d | d c b a). */
    REFLECT("reflect"),
    /** {@code 'wrap'}: SciPy's legacy periodic extension with period {@code n - 1}. */
    WRAP("wrap"),
    /** {@code 'grid-wrap'}: periodic extension with period {@code n}. */
    GRID_WRAP("grid-wrap"),
    /** {@code 'grid-constant'}: samples outside the grid are {@code cval}, interpolated like any other. */
    GRID_CONSTANT("grid-constant");

    private final String scipyName;

    Mode(String scipyName) {
      this.scipyName = scipyName;
    }

    /** The name SciPy uses for this mode. */
    public String scipyName() {
      return scipyName;
    }

    /** Parses a SciPy mode name ({@code 'grid-mirror'} is {@link #REFLECT}, as in SciPy). */
    public static Mode of(String name) {
      Objects.requireNonNull(name, "mode");
      String n = name.trim().toLowerCase(Locale.ROOT);
      if (n.equals("grid-mirror")) {
        return REFLECT;
      }
      for (Mode m : values()) {
        if (m.scipyName.equals(n)) {
          return m;
        }
      }
      throw new IllegalArgumentException("unknown boundary mode '" + name
          + "'; expected one of constant, nearest, mirror, reflect, grid-mirror, wrap, grid-wrap, grid-constant");
    }
  }

  /** A {@code float32} array and its shape. */
  public record Volume(float[] data, int[] shape) {
    public Volume {
      checkVolume(data == null ? -1 : data.length, shape);
    }
  }

  /** A {@code float64} array and its shape. */
  public record DoubleVolume(double[] data, int[] shape) {
    public DoubleVolume {
      checkVolume(data == null ? -1 : data.length, shape);
    }
  }

  /** A {@code uint8} array (bytes read as {@code b & 0xFF}) and its shape. */
  public record ByteVolume(byte[] data, int[] shape) {
    public ByteVolume {
      checkVolume(data == null ? -1 : data.length, shape);
    }
  }

  /** An {@code int16} array and its shape. */
  public record ShortVolume(short[] data, int[] shape) {
    public ShortVolume {
      checkVolume(data == null ? -1 : data.length, shape);
    }
  }

  /** An {@code int32} array and its shape. */
  public record IntVolume(int[] data, int[] shape) {
    public IntVolume {
      checkVolume(data == null ? -1 : data.length, shape);
    }
  }

  /** An {@code int64} array and its shape. */
  public record LongVolume(long[] data, int[] shape) {
    public LongVolume {
      checkVolume(data == null ? -1 : data.length, shape);
    }
  }

  private static void checkVolume(int length, int[] shape) {
    if (length < 0) {
      throw new IllegalArgumentException("data is null");
    }
    if (shape == null) {
      throw new IllegalArgumentException("shape is null");
    }
    long size = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      size *= d;
    }
    if (size != length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + size
          + " elements but the data has " + length);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // zoom: public API
  // ---------------------------------------------------------------------------------------------------------

  /**
   * The shape {@code scipy.ndimage.zoom} produces: {@code round(shape[i] * factors[i])}, halves to even.
   *
   * @throws IllegalArgumentException if a dimension is not positive, a factor is not a positive finite
   *     number, or the lengths differ
   */
  public static int[] zoomShape(int[] shape, double[] factors) {
    checkShape(shape);
    Objects.requireNonNull(factors, "factors");
    if (factors.length != shape.length) {
      throw new IllegalArgumentException("got " + factors.length + " zoom factors for a " + shape.length
          + "-D input of shape " + Arrays.toString(shape));
    }
    int[] out = new int[shape.length];
    for (int i = 0; i < shape.length; i++) {
      double f = factors[i];
      if (!(f > 0) || Double.isInfinite(f)) {
        throw new IllegalArgumentException("zoom factor " + i + " must be a positive finite number, got " + f);
      }
      double r = Math.rint(shape[i] * f);
      if (r > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("zoomed dimension " + i + " is too large: " + r);
      }
      out[i] = (int) r;
    }
    checkSize(out);
    return out;
  }

  /** {@code scipy.ndimage.zoom(in, factors, order=order)} for {@code float32}; mode 'constant', cval 0. */
  public static Volume zoom(float[] in, int[] shape, double[] factors, int order) {
    return zoom(in, shape, factors, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@code scipy.ndimage.zoom(in, factors, order=order, mode=mode, cval=cval, prefilter=prefilter, grid_mode=gridMode)}. */
  public static Volume zoom(float[] in, int[] shape, double[] factors, int order, Mode mode, double cval,
      boolean prefilter, boolean gridMode) {
    int[] outShape = zoomShape(shape, factors);
    return new Volume((float[]) zoomImpl(in, Kind.F32, shape, outShape, order, mode, cval, prefilter, gridMode),
        outShape);
  }

  /** {@code scipy.ndimage.zoom} for {@code float64}; mode 'constant', cval 0. */
  public static DoubleVolume zoom(double[] in, int[] shape, double[] factors, int order) {
    return zoom(in, shape, factors, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@code scipy.ndimage.zoom} for {@code float64} with every option. */
  public static DoubleVolume zoom(double[] in, int[] shape, double[] factors, int order, Mode mode, double cval,
      boolean prefilter, boolean gridMode) {
    int[] outShape = zoomShape(shape, factors);
    return new DoubleVolume(
        (double[]) zoomImpl(in, Kind.F64, shape, outShape, order, mode, cval, prefilter, gridMode), outShape);
  }

  /** {@code scipy.ndimage.zoom} for {@code uint8} (for example label maps with {@code order=0}); mode 'constant', cval 0. */
  public static ByteVolume zoom(byte[] in, int[] shape, double[] factors, int order) {
    return zoom(in, shape, factors, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@code scipy.ndimage.zoom} for {@code uint8} with every option. */
  public static ByteVolume zoom(byte[] in, int[] shape, double[] factors, int order, Mode mode, double cval,
      boolean prefilter, boolean gridMode) {
    int[] outShape = zoomShape(shape, factors);
    return new ByteVolume(
        (byte[]) zoomImpl(in, Kind.U8, shape, outShape, order, mode, cval, prefilter, gridMode), outShape);
  }

  /** {@code scipy.ndimage.zoom} for {@code int16}; mode 'constant', cval 0. */
  public static ShortVolume zoom(short[] in, int[] shape, double[] factors, int order) {
    return zoom(in, shape, factors, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@code scipy.ndimage.zoom} for {@code int16} with every option. */
  public static ShortVolume zoom(short[] in, int[] shape, double[] factors, int order, Mode mode, double cval,
      boolean prefilter, boolean gridMode) {
    int[] outShape = zoomShape(shape, factors);
    return new ShortVolume(
        (short[]) zoomImpl(in, Kind.I16, shape, outShape, order, mode, cval, prefilter, gridMode), outShape);
  }

  /** {@code scipy.ndimage.zoom} for {@code int32}; mode 'constant', cval 0. */
  public static IntVolume zoom(int[] in, int[] shape, double[] factors, int order) {
    return zoom(in, shape, factors, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@code scipy.ndimage.zoom} for {@code int32} with every option. */
  public static IntVolume zoom(int[] in, int[] shape, double[] factors, int order, Mode mode, double cval,
      boolean prefilter, boolean gridMode) {
    int[] outShape = zoomShape(shape, factors);
    return new IntVolume(
        (int[]) zoomImpl(in, Kind.I32, shape, outShape, order, mode, cval, prefilter, gridMode), outShape);
  }

  /** {@code scipy.ndimage.zoom} for {@code int64} (for example argmax predictions); mode 'constant', cval 0. */
  public static LongVolume zoom(long[] in, int[] shape, double[] factors, int order) {
    return zoom(in, shape, factors, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@code scipy.ndimage.zoom} for {@code int64} with every option. */
  public static LongVolume zoom(long[] in, int[] shape, double[] factors, int order, Mode mode, double cval,
      boolean prefilter, boolean gridMode) {
    int[] outShape = zoomShape(shape, factors);
    return new LongVolume(
        (long[]) zoomImpl(in, Kind.I64, shape, outShape, order, mode, cval, prefilter, gridMode), outShape);
  }

  /**
   * Zoom to an explicit output shape: the result of {@code scipy.ndimage.zoom} for any factors that round to
   * {@code outShape} (SciPy derives the sampling from the two shapes only). Mode 'constant', cval 0.
   */
  public static float[] zoomTo(float[] in, int[] shape, int[] outShape, int order) {
    return (float[]) zoomImpl(in, Kind.F32, shape, outShape, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@link #zoomTo(float[], int[], int[], int)} for {@code float64}. */
  public static double[] zoomTo(double[] in, int[] shape, int[] outShape, int order) {
    return (double[]) zoomImpl(in, Kind.F64, shape, outShape, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@link #zoomTo(float[], int[], int[], int)} for {@code uint8}. */
  public static byte[] zoomTo(byte[] in, int[] shape, int[] outShape, int order) {
    return (byte[]) zoomImpl(in, Kind.U8, shape, outShape, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@link #zoomTo(float[], int[], int[], int)} for {@code int16}. */
  public static short[] zoomTo(short[] in, int[] shape, int[] outShape, int order) {
    return (short[]) zoomImpl(in, Kind.I16, shape, outShape, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@link #zoomTo(float[], int[], int[], int)} for {@code int32}. */
  public static int[] zoomTo(int[] in, int[] shape, int[] outShape, int order) {
    return (int[]) zoomImpl(in, Kind.I32, shape, outShape, order, Mode.CONSTANT, 0.0, true, false);
  }

  /** {@link #zoomTo(float[], int[], int[], int)} for {@code int64}. */
  public static long[] zoomTo(long[] in, int[] shape, int[] outShape, int order) {
    return (long[]) zoomImpl(in, Kind.I64, shape, outShape, order, Mode.CONSTANT, 0.0, true, false);
  }

  // ---------------------------------------------------------------------------------------------------------
  // rotate: public API
  // ---------------------------------------------------------------------------------------------------------

  /**
   * The output shape {@code {h, w}} of {@code scipy.ndimage.rotate} on an {@code h x w} array: the input
   * shape unless {@code reshape}, else the bounding box of the rotated input.
   */
  public static int[] rotateShape(int h, int w, double angleDegrees, boolean reshape) {
    checkShape(new int[] {h, w});
    if (!Double.isFinite(angleDegrees)) {
      throw new IllegalArgumentException("angle must be finite, got " + angleDegrees);
    }
    if (!reshape) {
      return new int[] {h, w};
    }
    double c = cosdg(angleDegrees);
    double s = sindg(angleDegrees);
    // rot_matrix @ [[0, 0, iy, iy], [0, ix, 0, ix]], then ptp + 0.5 truncated.
    int[] out = new int[2];
    double[][] m = {{c, s}, {-s, c}};
    for (int r = 0; r < 2; r++) {
      double b0 = 0.0;
      double b1 = matmul2(m[r][0], m[r][1], 0.0, w);
      double b2 = matmul2(m[r][0], m[r][1], h, 0.0);
      double b3 = matmul2(m[r][0], m[r][1], h, w);
      double ptp = Math.max(Math.max(b0, b1), Math.max(b2, b3)) - Math.min(Math.min(b0, b1), Math.min(b2, b3));
      double v = ptp + 0.5;
      if (v >= Integer.MAX_VALUE) {
        throw new IllegalArgumentException("rotated shape too large");
      }
      out[r] = (int) v;
    }
    checkSize(out);
    return out;
  }

  /** {@code scipy.ndimage.rotate(in, angle, order=order, reshape=reshape)} on a {@code float32} {@code h x w} image. */
  public static Volume rotate(float[] in, int h, int w, double angleDegrees, int order, boolean reshape) {
    return rotate(in, h, w, angleDegrees, order, reshape, Mode.CONSTANT, 0.0, true);
  }

  /** {@code scipy.ndimage.rotate} on {@code float32} with every option (axes (1, 0), a 2-D input). */
  public static Volume rotate(float[] in, int h, int w, double angleDegrees, int order, boolean reshape, Mode mode,
      double cval, boolean prefilter) {
    int[] os = rotateShape(h, w, angleDegrees, reshape);
    return new Volume((float[]) rotateImpl(in, Kind.F32, h, w, angleDegrees, os, order, mode, cval, prefilter), os);
  }

  /** {@code scipy.ndimage.rotate} on {@code float64}. */
  public static DoubleVolume rotate(double[] in, int h, int w, double angleDegrees, int order, boolean reshape) {
    return rotate(in, h, w, angleDegrees, order, reshape, Mode.CONSTANT, 0.0, true);
  }

  /** {@code scipy.ndimage.rotate} on {@code float64} with every option. */
  public static DoubleVolume rotate(double[] in, int h, int w, double angleDegrees, int order, boolean reshape,
      Mode mode, double cval, boolean prefilter) {
    int[] os = rotateShape(h, w, angleDegrees, reshape);
    return new DoubleVolume(
        (double[]) rotateImpl(in, Kind.F64, h, w, angleDegrees, os, order, mode, cval, prefilter), os);
  }

  /** {@code scipy.ndimage.rotate} on {@code uint8} (label maps with {@code order=0}). */
  public static ByteVolume rotate(byte[] in, int h, int w, double angleDegrees, int order, boolean reshape) {
    return rotate(in, h, w, angleDegrees, order, reshape, Mode.CONSTANT, 0.0, true);
  }

  /** {@code scipy.ndimage.rotate} on {@code uint8} with every option. */
  public static ByteVolume rotate(byte[] in, int h, int w, double angleDegrees, int order, boolean reshape,
      Mode mode, double cval, boolean prefilter) {
    int[] os = rotateShape(h, w, angleDegrees, reshape);
    return new ByteVolume(
        (byte[]) rotateImpl(in, Kind.U8, h, w, angleDegrees, os, order, mode, cval, prefilter), os);
  }

  /** {@code scipy.ndimage.rotate} on {@code int16}. */
  public static ShortVolume rotate(short[] in, int h, int w, double angleDegrees, int order, boolean reshape) {
    return rotate(in, h, w, angleDegrees, order, reshape, Mode.CONSTANT, 0.0, true);
  }

  /** {@code scipy.ndimage.rotate} on {@code int16} with every option. */
  public static ShortVolume rotate(short[] in, int h, int w, double angleDegrees, int order, boolean reshape,
      Mode mode, double cval, boolean prefilter) {
    int[] os = rotateShape(h, w, angleDegrees, reshape);
    return new ShortVolume(
        (short[]) rotateImpl(in, Kind.I16, h, w, angleDegrees, os, order, mode, cval, prefilter), os);
  }

  /** {@code scipy.ndimage.rotate} on {@code int32}. */
  public static IntVolume rotate(int[] in, int h, int w, double angleDegrees, int order, boolean reshape) {
    return rotate(in, h, w, angleDegrees, order, reshape, Mode.CONSTANT, 0.0, true);
  }

  /** {@code scipy.ndimage.rotate} on {@code int32} with every option. */
  public static IntVolume rotate(int[] in, int h, int w, double angleDegrees, int order, boolean reshape,
      Mode mode, double cval, boolean prefilter) {
    int[] os = rotateShape(h, w, angleDegrees, reshape);
    return new IntVolume((int[]) rotateImpl(in, Kind.I32, h, w, angleDegrees, os, order, mode, cval, prefilter), os);
  }

  /** {@code scipy.ndimage.rotate} on {@code int64}. */
  public static LongVolume rotate(long[] in, int h, int w, double angleDegrees, int order, boolean reshape) {
    return rotate(in, h, w, angleDegrees, order, reshape, Mode.CONSTANT, 0.0, true);
  }

  /** {@code scipy.ndimage.rotate} on {@code int64} with every option. */
  public static LongVolume rotate(long[] in, int h, int w, double angleDegrees, int order, boolean reshape,
      Mode mode, double cval, boolean prefilter) {
    int[] os = rotateShape(h, w, angleDegrees, reshape);
    return new LongVolume(
        (long[]) rotateImpl(in, Kind.I64, h, w, angleDegrees, os, order, mode, cval, prefilter), os);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cephes sindg / cosdg (scipy.special), which rotate uses for its matrix
  // ---------------------------------------------------------------------------------------------------------

  private static final double[] SIN_COEF = {
      1.58962301572218447952E-10, -2.50507477628503540135E-8, 2.75573136213856773549E-6,
      -1.98412698295895384658E-4, 8.33333333332211858862E-3, -1.66666666666666307295E-1};
  private static final double[] COS_COEF = {
      1.13678171382044553091E-11, -2.08758833757683644217E-9, 2.75573155429816611547E-7,
      -2.48015872936186303776E-5, 1.38888888888806666760E-3, -4.16666666666666348141E-2,
      4.99999999999999999798E-1};
  private static final double PI180 = 1.74532925199432957692E-2;
  private static final double LOSS_THRESHOLD = 1.0e14;

  /** Sine of an angle in degrees, as {@code scipy.special.sindg} (Cephes) computes it; 0 beyond 1e14. */
  public static double sindg(double x) {
    int sign = 1;
    if (x < 0) {
      x = -x;
      sign = -1;
    }
    if (x > LOSS_THRESHOLD) {
      return 0.0;
    }
    double y = Math.floor(x / 45.0);
    int j = octant(y);
    if ((j & 1) != 0) {
      j += 1;
      y += 1.0;
    }
    j &= 7;
    if (j > 3) {
      sign = -sign;
      j -= 4;
    }
    double z = (x - y * 45.0) * PI180;
    double zz = z * z;
    double r = (j == 1 || j == 2) ? 1.0 - zz * polevl(zz, COS_COEF) : z + z * (zz * polevl(zz, SIN_COEF));
    return sign < 0 ? -r : r;
  }

  /** Cosine of an angle in degrees, as {@code scipy.special.cosdg} (Cephes) computes it; 0 beyond 1e14. */
  public static double cosdg(double x) {
    int sign = 1;
    if (x < 0) {
      x = -x;
    }
    if (x > LOSS_THRESHOLD) {
      return 0.0;
    }
    double y = Math.floor(x / 45.0);
    int j = octant(y);
    if ((j & 1) != 0) {
      j += 1;
      y += 1.0;
    }
    j &= 7;
    if (j > 3) {
      j -= 4;
      sign = -sign;
    }
    if (j > 1) {
      sign = -sign;
    }
    double z = (x - y * 45.0) * PI180;
    double zz = z * z;
    double r = (j == 1 || j == 2) ? z + z * (zz * polevl(zz, SIN_COEF)) : 1.0 - zz * polevl(zz, COS_COEF);
    return sign < 0 ? -r : r;
  }

  /** {@code y - 16 * floor(y / 16)} as an int: the octant count modulo 16 (y is a non-negative integer). */
  private static int octant(double y) {
    double z = Math.floor(Math.scalb(y, -4));
    return (int) (y - Math.scalb(z, 4));
  }

  private static double polevl(double x, double[] coef) {
    double ans = coef[0];
    for (int i = 1; i < coef.length; i++) {
      ans = ans * x + coef[i];
    }
    return ans;
  }

  /** One entry of a 2x2 matrix times a vector, rounded as NumPy/OpenBLAS's FMA kernels round it. */
  private static double matmul2(double a0, double a1, double x0, double x1) {
    return Math.fma(a0, x0, a1 * x1);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Element types
  // ---------------------------------------------------------------------------------------------------------

  private enum Kind {
    F32, F64, U8, I16, I32, I64;

    Object allocate(int n) {
      return switch (this) {
        case F32 -> new float[n];
        case F64 -> new double[n];
        case U8 -> new byte[n];
        case I16 -> new short[n];
        case I32 -> new int[n];
        case I64 -> new long[n];
      };
    }

    int length(Object a) {
      return switch (this) {
        case F32 -> ((float[]) a).length;
        case F64 -> ((double[]) a).length;
        case U8 -> ((byte[]) a).length;
        case I16 -> ((short[]) a).length;
        case I32 -> ((int[]) a).length;
        case I64 -> ((long[]) a).length;
      };
    }

    double get(Object a, int i) {
      return switch (this) {
        case F32 -> ((float[]) a)[i];
        case F64 -> ((double[]) a)[i];
        case U8 -> ((byte[]) a)[i] & 0xFF;
        case I16 -> ((short[]) a)[i];
        case I32 -> ((int[]) a)[i];
        case I64 -> (double) ((long[]) a)[i];
      };
    }

    /** The value NumPy stores when a Python float is assigned into an array of this type (np.pad's fill). */
    double assignCast(double v) {
      return switch (this) {
        case F32 -> (float) v;
        case F64 -> v;
        case U8 -> (double) (((long) v) & 0xFF);
        case I16 -> (double) (short) (long) v;
        case I32 -> (double) (int) (long) v;
        case I64 -> (double) (long) v;
      };
    }
  }

  // SciPy's CASE_INTERP_OUT_* conversions of the interpolated double.
  private static byte toU8(double t) {
    t = t > 0 ? t + 0.5 : 0;
    t = t > 255 ? 255 : t;
    t = t < 0 ? 0 : t;
    return (byte) (int) t;
  }

  private static short toI16(double t) {
    t = t > 0 ? t + 0.5 : t - 0.5;
    t = t > Short.MAX_VALUE ? Short.MAX_VALUE : t;
    t = t < Short.MIN_VALUE ? Short.MIN_VALUE : t;
    return (short) (int) t;
  }

  private static int toI32(double t) {
    t = t > 0 ? t + 0.5 : t - 0.5;
    t = t > Integer.MAX_VALUE ? Integer.MAX_VALUE : t;
    t = t < Integer.MIN_VALUE ? Integer.MIN_VALUE : t;
    return (int) t;
  }

  private static long toI64(double t) {
    t = t > 0 ? t + 0.5 : t - 0.5;
    return (long) t;
  }

  /** Stores {@code n} interpolated doubles from {@code src} into {@code out[pos..]} with SciPy's conversion. */
  private static void storeRow(double[] src, Object out, int pos, int n, Kind kind) {
    switch (kind) {
      case F32 -> {
        float[] o = (float[]) out;
        for (int i = 0; i < n; i++) {
          o[pos + i] = (float) src[i];
        }
      }
      case F64 -> System.arraycopy(src, 0, out, pos, n);
      case U8 -> {
        byte[] o = (byte[]) out;
        for (int i = 0; i < n; i++) {
          o[pos + i] = toU8(src[i]);
        }
      }
      case I16 -> {
        short[] o = (short[]) out;
        for (int i = 0; i < n; i++) {
          o[pos + i] = toI16(src[i]);
        }
      }
      case I32 -> {
        int[] o = (int[]) out;
        for (int i = 0; i < n; i++) {
          o[pos + i] = toI32(src[i]);
        }
      }
      case I64 -> {
        long[] o = (long[]) out;
        for (int i = 0; i < n; i++) {
          o[pos + i] = toI64(src[i]);
        }
      }
    }
  }

  /**
   * The order-0 copy: {@code out[pos + j] = in[base + idx[j]]}, or the converted {@code cval} where
   * {@code base < 0} or {@code idx[j] < 0}. Values of every type survive SciPy's double round trip unchanged
   * (int64 beyond 2^53 aside, which is converted like SciPy converts it).
   */
  private static void gatherRow(Object in, Object out, int pos, int base, int[] idx, int n, double cval,
      Kind kind) {
    switch (kind) {
      case F32 -> {
        float[] a = (float[]) in;
        float[] o = (float[]) out;
        float cv = (float) cval;
        if (base < 0) {
          Arrays.fill(o, pos, pos + n, cv);
          return;
        }
        for (int j = 0; j < n; j++) {
          int k = idx[j];
          o[pos + j] = k < 0 ? cv : a[base + k];
        }
      }
      case F64 -> {
        double[] a = (double[]) in;
        double[] o = (double[]) out;
        if (base < 0) {
          Arrays.fill(o, pos, pos + n, cval);
          return;
        }
        for (int j = 0; j < n; j++) {
          int k = idx[j];
          o[pos + j] = k < 0 ? cval : a[base + k];
        }
      }
      case U8 -> {
        byte[] a = (byte[]) in;
        byte[] o = (byte[]) out;
        byte cv = toU8(cval);
        if (base < 0) {
          Arrays.fill(o, pos, pos + n, cv);
          return;
        }
        for (int j = 0; j < n; j++) {
          int k = idx[j];
          o[pos + j] = k < 0 ? cv : a[base + k];
        }
      }
      case I16 -> {
        short[] a = (short[]) in;
        short[] o = (short[]) out;
        short cv = toI16(cval);
        if (base < 0) {
          Arrays.fill(o, pos, pos + n, cv);
          return;
        }
        for (int j = 0; j < n; j++) {
          int k = idx[j];
          o[pos + j] = k < 0 ? cv : a[base + k];
        }
      }
      case I32 -> {
        int[] a = (int[]) in;
        int[] o = (int[]) out;
        int cv = toI32(cval);
        if (base < 0) {
          Arrays.fill(o, pos, pos + n, cv);
          return;
        }
        for (int j = 0; j < n; j++) {
          int k = idx[j];
          o[pos + j] = k < 0 ? cv : a[base + k];
        }
      }
      case I64 -> {
        long[] a = (long[]) in;
        long[] o = (long[]) out;
        long cv = toI64(cval);
        if (base < 0) {
          Arrays.fill(o, pos, pos + n, cv);
          return;
        }
        for (int j = 0; j < n; j++) {
          int k = idx[j];
          o[pos + j] = k < 0 ? cv : toI64((double) a[base + k]);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Validation
  // ---------------------------------------------------------------------------------------------------------

  private static void checkShape(int[] shape) {
    if (shape == null) {
      throw new IllegalArgumentException("shape is null");
    }
    if (shape.length == 0) {
      throw new IllegalArgumentException("input rank must be at least 1 (got a 0-D shape)");
    }
    for (int d : shape) {
      if (d <= 0) {
        throw new IllegalArgumentException("every dimension must be positive, got shape " + Arrays.toString(shape));
      }
    }
    checkSize(shape);
  }

  private static long checkSize(int[] shape) {
    long size = 1;
    for (int d : shape) {
      size *= d;
      if (size > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has too many elements for a Java array");
      }
    }
    return size;
  }

  private static void checkInput(Object in, Kind kind, int[] shape) {
    if (in == null) {
      throw new IllegalArgumentException("input array is null");
    }
    checkShape(shape);
    long size = checkSize(shape);
    int len = kind.length(in);
    if (len != size) {
      throw new IllegalArgumentException("input has " + len + " elements but shape " + Arrays.toString(shape)
          + " needs " + size);
    }
  }

  private static void checkOptions(int order, Mode mode) {
    if (order < 0 || order > 5) {
      throw new IllegalArgumentException("spline order must be in 0..5 (as in SciPy), got " + order);
    }
    if (mode == null) {
      throw new IllegalArgumentException("mode is null");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // zoom: implementation (SciPy's NI_ZoomShift)
  // ---------------------------------------------------------------------------------------------------------

  private static Object zoomImpl(Object in, Kind kind, int[] shape, int[] outShape, int order, Mode mode,
      double cval, boolean prefilter, boolean gridMode) {
    checkInput(in, kind, shape);
    checkOptions(order, mode);
    if (outShape == null || outShape.length != shape.length) {
      throw new IllegalArgumentException("output shape " + Arrays.toString(outShape) + " must have rank "
          + shape.length);
    }
    for (int d : outShape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative output dimension in " + Arrays.toString(outShape));
      }
    }
    int rank = shape.length;
    int outSize = (int) checkSize(outShape);
    Object out = kind.allocate(outSize);
    if (outSize == 0) {
      return out;
    }

    Prepared p = prepare(in, kind, shape, order, mode, cval, prefilter);
    int fp = order + 1;
    int[] strides = strides(p.dims);

    // Per-axis tables of the filter footprint (flat offsets, -1 for a cval sample) and weights, plus which
    // output coordinates fall outside (mode 'constant': the whole point is cval).
    int[][] idxT = new int[rank][];
    double[][] wT = new double[rank][];
    boolean[][] zeroT = new boolean[rank][];
    for (int a = 0; a < rank; a++) {
      int n = outShape[a];
      idxT[a] = new int[n * fp];
      wT[a] = new double[n * fp];
      zeroT[a] = new boolean[n];
      double zoom;
      if (gridMode) {
        zoom = (double) shape[a] / n;
      } else {
        zoom = n - 1 != 0 ? (double) (shape[a] - 1) / (n - 1) : 1.0;
      }
      for (int k = 0; k < n; k++) {
        double cc = k;
        if (gridMode) {
          cc += 0.5;
          cc *= zoom;
          cc -= 0.5;
        } else {
          cc *= zoom;
        }
        cc += p.npad;
        zeroT[a][k] = !footprint(cc, p.dims[a], order, mode, strides[a], idxT[a], wT[a], k * fp);
      }
    }

    if (order == 0) {
      // Fast path: one source index per output coordinate and axis.
      int last = rank - 1;
      int n = outShape[last];
      int[] lastMap = new int[n];
      for (int k = 0; k < n; k++) {
        lastMap[k] = zeroT[last][k] ? -1 : idxT[last][k];
      }
      int[] c = new int[rank];
      int rows = outSize / n;
      for (int r = 0, pos = 0; r < rows; r++, pos += n) {
        int base = 0;
        for (int a = 0; a < last; a++) {
          int v = zeroT[a][c[a]] ? -1 : idxT[a][c[a]];
          if (v < 0) {
            base = -1;
            break;
          }
          base += v;
        }
        gatherRow(in, out, pos, base, lastMap, n, cval, kind);
        for (int a = last - 1; a >= 0; a--) {
          if (++c[a] < outShape[a]) {
            break;
          }
          c[a] = 0;
        }
      }
      return out;
    }

    double[] data = p.data;
    int last = rank - 1;
    int n = outShape[last];
    double[] row = new double[n];
    int[] c = new int[rank];
    int[] pos = new int[rank];
    int[] ff = new int[rank];
    int rows = outSize / n;
    for (int r = 0, o = 0; r < rows; r++, o += n) {
      boolean zeroRow = false;
      for (int a = 0; a < last; a++) {
        zeroRow |= zeroT[a][c[a]];
        pos[a] = c[a] * fp;
      }
      for (int j = 0; j < n; j++) {
        if (zeroRow || zeroT[last][j]) {
          row[j] = cval;
        } else {
          pos[last] = j * fp;
          row[j] = accumulate(data, rank, fp, idxT, wT, pos, ff, cval);
        }
      }
      storeRow(row, out, o, n, kind);
      for (int a = last - 1; a >= 0; a--) {
        if (++c[a] < outShape[a]) {
          break;
        }
        c[a] = 0;
      }
    }
    return out;
  }

  /**
   * The footprint sum of SciPy's interpolation loop: over the {@code fp^rank} samples (last axis fastest),
   * {@code t += value * w_0 * w_1 * ...}, multiplying in axis order; a sample flagged -1 on any axis reads
   * {@code cval}.
   */
  private static double accumulate(double[] data, int rank, int fp, int[][] idxT, double[][] wT, int[] pos,
      int[] ff, double cval) {
    if (rank == 2) {
      int[] i0 = idxT[0];
      int[] i1 = idxT[1];
      double[] w0 = wT[0];
      double[] w1 = wT[1];
      int p0 = pos[0];
      int p1 = pos[1];
      double t = 0.0;
      for (int a = 0; a < fp; a++) {
        int ia = i0[p0 + a];
        double wa = w0[p0 + a];
        for (int b = 0; b < fp; b++) {
          int ib = i1[p1 + b];
          double coeff = (ia < 0 || ib < 0) ? cval : data[ia + ib];
          coeff *= wa;
          coeff *= w1[p1 + b];
          t += coeff;
        }
      }
      return t;
    }
    if (rank == 3) {
      int[] i0 = idxT[0];
      int[] i1 = idxT[1];
      int[] i2 = idxT[2];
      double[] w0 = wT[0];
      double[] w1 = wT[1];
      double[] w2 = wT[2];
      int p0 = pos[0];
      int p1 = pos[1];
      int p2 = pos[2];
      double t = 0.0;
      for (int a = 0; a < fp; a++) {
        int ia = i0[p0 + a];
        double wa = w0[p0 + a];
        for (int b = 0; b < fp; b++) {
          int ib = i1[p1 + b];
          double wb = w1[p1 + b];
          boolean outAb = ia < 0 || ib < 0;
          int iab = ia + ib;
          for (int c = 0; c < fp; c++) {
            int ic = i2[p2 + c];
            double coeff = (outAb || ic < 0) ? cval : data[iab + ic];
            coeff *= wa;
            coeff *= wb;
            coeff *= w2[p2 + c];
            t += coeff;
          }
        }
      }
      return t;
    }
    Arrays.fill(ff, 0);
    int fsize = 1;
    for (int a = 0; a < rank; a++) {
      fsize *= fp;
    }
    double t = 0.0;
    for (int h = 0; h < fsize; h++) {
      boolean isCval = false;
      int idx = 0;
      for (int a = 0; a < rank; a++) {
        int v = idxT[a][pos[a] + ff[a]];
        if (v < 0) {
          isCval = true;
        } else {
          idx += v;
        }
      }
      double coeff = isCval ? cval : data[idx];
      for (int a = 0; a < rank; a++) {
        coeff *= wT[a][pos[a] + ff[a]];
      }
      t += coeff;
      for (int a = rank - 1; a >= 0; a--) {
        if (++ff[a] < fp) {
          break;
        }
        ff[a] = 0;
      }
    }
    return t;
  }

  /**
   * For input coordinate {@code cc} along an axis of {@code len} samples: the {@code order + 1} footprint
   * offsets ({@code stride * index}, or -1 for a {@code cval} sample in mode grid-constant) and spline
   * weights, written at {@code off}. Returns false when the point lies outside in mode 'constant' (the
   * output is then {@code cval} outright). Follows SciPy's NI_ZoomShift / NI_GeometricTransform per axis.
   */
  private static boolean footprint(double cc, int len, int order, Mode mode, int stride, int[] idx, double[] w,
      int off) {
    if (mode != Mode.GRID_CONSTANT && mode != Mode.NEAREST) {
      cc = mapCoordinate(cc, len, mode);
    }
    if (!(cc > -1.0 || mode == Mode.GRID_CONSTANT || mode == Mode.NEAREST)) {
      return false;
    }
    long start = (order & 1) != 0 ? (long) Math.floor(cc) - order / 2 : (long) Math.floor(cc + 0.5) - order / 2;
    boolean edge = start < 0 || start + order >= len;
    if (!edge) {
      int s = (int) start;
      for (int l = 0; l <= order; l++) {
        idx[off + l] = stride * (s + l);
      }
    } else if (mode == Mode.GRID_CONSTANT) {
      for (int l = 0; l <= order; l++) {
        long i = start + l;
        idx[off + l] = (i < 0 || i >= len) ? -1 : stride * (int) i;
      }
    } else {
      Mode splineMode = (mode == Mode.CONSTANT || mode == Mode.WRAP) ? Mode.MIRROR : mode;
      for (int l = 0; l <= order; l++) {
        long i = (long) mapCoordinate((double) (start + l), len, splineMode);
        idx[off + l] = stride * (int) i;
      }
    }
    if (order > 0) {
      splineWeights(cc, order, w, off);
    }
    return true;
  }

  /**
   * {@link #footprint} for order 0 as a single index: the input sample nearest to {@code cc}, or -1 for
   * {@code cval} (outside in mode 'constant', off the grid in mode 'grid-constant').
   */
  private static int nearestIndex(double cc, int len, Mode mode) {
    if (mode == Mode.CONSTANT) {
      // map_coordinate sends cc < 0 and cc > len - 1 to -1, which (like NaN) fails cc > -1.
      if (!(cc >= 0 && cc <= len - 1)) {
        return -1;
      }
      return (int) Math.floor(cc + 0.5); // in [0, len - 1]: no edge handling needed
    }
    if (mode != Mode.GRID_CONSTANT && mode != Mode.NEAREST) {
      cc = mapCoordinate(cc, len, mode);
      if (!(cc > -1.0)) {
        return -1;
      }
    }
    long start = (long) Math.floor(cc + 0.5);
    if (start >= 0 && start < len) {
      return (int) start;
    }
    if (mode == Mode.GRID_CONSTANT) {
      return -1;
    }
    return (int) (long) mapCoordinate((double) start, len, mode == Mode.WRAP ? Mode.MIRROR : mode);
  }

  /** SciPy's map_coordinate: folds a coordinate outside {@code [0, len-1]} back according to the mode. */
  private static double mapCoordinate(double in, long len, Mode mode) {
    if (in < 0) {
      switch (mode) {
        case MIRROR -> {
          if (len <= 1) {
            in = 0;
          } else {
            long sz2 = 2 * len - 2;
            in = sz2 * (long) (-in / sz2) + in;
            in = in <= 1 - len ? in + sz2 : -in;
          }
        }
        case REFLECT -> {
          if (len <= 1) {
            in = 0;
          } else {
            long sz2 = 2 * len;
            if (in < -sz2) {
              in = sz2 * (long) (-in / sz2) + in;
            }
            in = in < -len ? in + sz2 : (in > -1e-15 ? 1e-15 : -in) - 1;
          }
        }
        case WRAP -> {
          if (len <= 1) {
            in = 0;
          } else {
            long sz = len - 1;
            in += sz * ((long) (-in / sz) + 1);
          }
        }
        case GRID_WRAP -> {
          if (len <= 1) {
            in = 0;
          } else {
            in += len * ((long) ((-1 - in) / len) + 1);
          }
        }
        case NEAREST -> in = 0;
        case CONSTANT -> in = -1;
        case GRID_CONSTANT -> { }
      }
    } else if (in > len - 1) {
      switch (mode) {
        case MIRROR -> {
          if (len <= 1) {
            in = 0;
          } else {
            long sz2 = 2 * len - 2;
            in -= sz2 * (long) (in / sz2);
            if (in >= len) {
              in = sz2 - in;
            }
          }
        }
        case REFLECT -> {
          if (len <= 1) {
            in = 0;
          } else {
            long sz2 = 2 * len;
            in -= sz2 * (long) (in / sz2);
            if (in >= len) {
              in = sz2 - in - 1;
            }
          }
        }
        case WRAP -> {
          if (len <= 1) {
            in = 0;
          } else {
            long sz = len - 1;
            in -= sz * (long) (in / sz);
          }
        }
        case GRID_WRAP -> {
          if (len <= 1) {
            in = 0;
          } else {
            in -= len * (long) (in / len);
          }
        }
        case NEAREST -> in = len - 1;
        case CONSTANT -> in = -1;
        case GRID_CONSTANT -> { }
      }
    }
    return in;
  }

  /** SciPy's get_spline_interpolation_weights, same operations in the same order. */
  private static void splineWeights(double x, int order, double[] w, int off) {
    x -= Math.floor((order & 1) != 0 ? x : x + 0.5);
    double y = x;
    double z = 1.0 - x;
    double t;
    switch (order) {
      case 1 -> w[off] = 1.0 - x;
      case 2 -> {
        w[off + 1] = 0.75 - x * x;
        y = 0.5 - x;
        w[off] = 0.5 * y * y;
      }
      case 3 -> {
        w[off + 1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
        w[off + 2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
        w[off] = z * z * z / 6.0;
      }
      case 4 -> {
        t = x * x;
        w[off + 2] = t * (t * 0.25 - 0.625) + 115.0 / 192.0;
        y = 1.0 + x;
        w[off + 1] = y * (y * (y * (5.0 - y) / 6.0 - 1.25) + 5.0 / 24.0) + 55.0 / 96.0;
        w[off + 3] = z * (z * (z * (5.0 - z) / 6.0 - 1.25) + 5.0 / 24.0) + 55.0 / 96.0;
        y = 0.5 - x;
        t = y * y;
        w[off] = t * t / 24.0;
      }
      case 5 -> {
        t = y * y;
        w[off + 2] = t * (t * (0.25 - y / 12.0) - 0.5) + 0.55;
        t = z * z;
        w[off + 3] = t * (t * (0.25 - z / 12.0) - 0.5) + 0.55;
        y += 1.0;
        w[off + 1] = y * (y * (y * (y * (y / 24.0 - 0.375) + 1.25) - 1.75) + 0.625) + 0.425;
        z += 1.0;
        w[off + 4] = z * (z * (z * (z * (z / 24.0 - 0.375) + 1.25) - 1.75) + 0.625) + 0.425;
        y = 1.0 - x;
        t = y * y;
        w[off] = y * t * t / 120.0;
      }
      default -> throw new IllegalStateException("order " + order);
    }
    double lastW = 1.0;
    for (int i = 0; i < order; i++) {
      lastW -= w[off + i];
    }
    w[off + order] = lastW;
  }

  // ---------------------------------------------------------------------------------------------------------
  // rotate: implementation (SciPy's affine_transform -> NI_GeometricTransform)
  // ---------------------------------------------------------------------------------------------------------

  private static Object rotateImpl(Object in, Kind kind, int h, int w, double angle, int[] outShape, int order,
      Mode mode, double cval, boolean prefilter) {
    int[] shape = {h, w};
    checkInput(in, kind, shape);
    checkOptions(order, mode);
    double c = cosdg(angle);
    double s = sindg(angle);
    double[] m = {c, s, -s, c};
    double oc0 = (outShape[0] - 1) / 2.0;
    double oc1 = (outShape[1] - 1) / 2.0;
    double[] offset = {
        (h - 1) / 2.0 - matmul2(m[0], m[1], oc0, oc1),
        (w - 1) / 2.0 - matmul2(m[2], m[3], oc0, oc1)};
    return affine2d(in, kind, shape, m, offset, outShape, order, mode, cval, prefilter);
  }

  /** {@code affine_transform} with a 2x2 matrix {@code m} (row-major) and offset, on a 2-D input. */
  private static Object affine2d(Object in, Kind kind, int[] shape, double[] m, double[] offset, int[] outShape,
      int order, Mode mode, double cval, boolean prefilter) {
    int oh = outShape[0];
    int ow = outShape[1];
    Object out = kind.allocate(oh * ow);
    Prepared p = prepare(in, kind, shape, order, mode, cval, prefilter);
    int fp = order + 1;
    int len0 = p.dims[0];
    int len1 = p.dims[1];
    int stride0 = len1;
    int[][] idxT = {new int[fp], new int[fp]};
    double[][] wT = {new double[fp], new double[fp]};
    int[] pos = new int[2];
    int[] ff = new int[2];
    int[] rowIdx = order == 0 ? new int[ow] : null;
    double[] row = order == 0 ? null : new double[ow];
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        // icoor[hh] = 0.0; icoor[hh] += coord[0] * m[hh][0]; icoor[hh] += coord[1] * m[hh][1]; += shift[hh]
        double cc0 = 0.0;
        cc0 += i * m[0];
        cc0 += j * m[1];
        cc0 += offset[0];
        double cc1 = 0.0;
        cc1 += i * m[2];
        cc1 += j * m[3];
        cc1 += offset[1];
        if (order == 0) {
          int i0 = nearestIndex(cc0, len0, mode);
          int i1 = i0 < 0 ? -1 : nearestIndex(cc1, len1, mode);
          rowIdx[j] = i1 < 0 ? -1 : i0 * stride0 + i1;
        } else {
          boolean inside = footprint(cc0 + p.npad, len0, order, mode, stride0, idxT[0], wT[0], 0)
              && footprint(cc1 + p.npad, len1, order, mode, 1, idxT[1], wT[1], 0);
          row[j] = inside ? accumulate(p.data, 2, fp, idxT, wT, pos, ff, cval) : cval;
        }
      }
      if (order == 0) {
        gatherRow(in, out, i * ow, 0, rowIdx, ow, cval, kind);
      } else {
        storeRow(row, out, i * ow, ow, kind);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Spline prefilter (SciPy's spline_filter / NI_SplineFilter1D) and pre-padding
  // ---------------------------------------------------------------------------------------------------------

  /** The array the interpolation reads: the input (order <= 1) or its spline coefficients, and any padding. */
  private record Prepared(double[] data, int[] dims, int npad) {}

  private static final int SPLINE_PAD = 12;

  private static Prepared prepare(Object in, Kind kind, int[] shape, int order, Mode mode, double cval,
      boolean prefilter) {
    if (order == 0) {
      return new Prepared(null, shape, 0); // order 0 reads the typed input directly
    }
    if (order == 1 || !prefilter) {
      return new Prepared(toDouble(in, kind), shape, 0);
    }
    double[] data;
    int[] dims;
    int npad = 0;
    if (mode == Mode.NEAREST || mode == Mode.GRID_CONSTANT) {
      npad = SPLINE_PAD;
      dims = new int[shape.length];
      for (int a = 0; a < shape.length; a++) {
        dims[a] = shape[a] + 2 * npad;
      }
      checkSize(dims);
      data = pad(in, kind, shape, dims, npad, mode == Mode.NEAREST, kind.assignCast(cval));
    } else {
      dims = shape;
      data = toDouble(in, kind);
    }
    splineFilter(data, dims, order, mode);
    return new Prepared(data, dims, npad);
  }

  private static double[] toDouble(Object in, Kind kind) {
    int n = kind.length(in);
    double[] d = new double[n];
    switch (kind) {
      case F32 -> {
        float[] a = (float[]) in;
        for (int i = 0; i < n; i++) {
          d[i] = a[i];
        }
      }
      case F64 -> System.arraycopy(in, 0, d, 0, n);
      default -> {
        for (int i = 0; i < n; i++) {
          d[i] = kind.get(in, i);
        }
      }
    }
    return d;
  }

  /** numpy.pad(in, npad, mode='edge') ({@code edge}) or mode='constant' with {@code fill}, as doubles. */
  private static double[] pad(Object in, Kind kind, int[] shape, int[] dims, int npad, boolean edge, double fill) {
    int rank = shape.length;
    int size = (int) checkSize(dims);
    double[] out = new double[size];
    int[] inStrides = strides(shape);
    int[] c = new int[rank];
    for (int o = 0; o < size; o++) {
      int src = 0;
      boolean outside = false;
      for (int a = 0; a < rank; a++) {
        int i = c[a] - npad;
        if (i < 0 || i >= shape[a]) {
          outside = true;
          i = i < 0 ? 0 : shape[a] - 1;
        }
        src += i * inStrides[a];
      }
      out[o] = (outside && !edge) ? fill : kind.get(in, src);
      for (int a = rank - 1; a >= 0; a--) {
        if (++c[a] < dims[a]) {
          break;
        }
        c[a] = 0;
      }
    }
    return out;
  }

  private static int[] strides(int[] dims) {
    int[] s = new int[dims.length];
    int st = 1;
    for (int a = dims.length - 1; a >= 0; a--) {
      s[a] = st;
      st *= dims[a];
    }
    return s;
  }

  /** In-place B-spline prefilter of {@code order} along every axis in turn, as SciPy's spline_filter. */
  private static void splineFilter(double[] data, int[] dims, int order, Mode mode) {
    double[] poles = switch (order) {
      case 2 -> new double[] {-0.171572875253809902396622551580603843};
      case 3 -> new double[] {-0.267949192431122706472553658494127633};
      case 4 -> new double[] {-0.361341225900220177092212841325675255, -0.013725429297339121360331226939128204};
      case 5 -> new double[] {-0.430575347099973791851434783493520110, -0.043096288203264653822712376822550182};
      default -> throw new IllegalStateException("order " + order);
    };
    int[] strides = strides(dims);
    int size = data.length;
    for (int a = 0; a < dims.length; a++) {
      int len = dims[a];
      if (len <= 1) {
        continue;
      }
      int inner = strides[a];
      int outer = size / (len * inner);
      double[] line = new double[len];
      for (int o = 0; o < outer; o++) {
        for (int i = 0; i < inner; i++) {
          int base = o * len * inner + i;
          for (int k = 0; k < len; k++) {
            line[k] = data[base + k * inner];
          }
          applyFilter(line, len, poles, mode);
          for (int k = 0; k < len; k++) {
            data[base + k * inner] = line[k];
          }
        }
      }
    }
  }

  private static void applyFilter(double[] c, int n, double[] poles, Mode mode) {
    double gain = 1.0;
    for (double z : poles) {
      gain *= (1.0 - z) * (1.0 - 1.0 / z);
    }
    for (int i = 0; i < n; i++) {
      c[i] *= gain;
    }
    for (double z : poles) {
      switch (mode) {
        case GRID_WRAP -> initCausalWrap(c, n, z);
        case NEAREST, REFLECT -> initCausalReflect(c, n, z);
        default -> initCausalMirror(c, n, z);
      }
      for (int i = 1; i < n; i++) {
        c[i] += z * c[i - 1];
      }
      switch (mode) {
        case GRID_WRAP -> initAnticausalWrap(c, n, z);
        case NEAREST, REFLECT -> c[n - 1] *= z / (z - 1);
        default -> c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1);
      }
      for (int i = n - 2; i >= 0; i--) {
        c[i] = z * (c[i + 1] - c[i]);
      }
    }
  }

  private static void initCausalMirror(double[] c, int n, double z) {
    double zi = z;
    double zn1 = powInt(z, n - 1);
    c[0] = c[0] + zn1 * c[n - 1];
    for (int i = 1; i < n - 1; i++) {
      c[0] += zi * (c[i] + zn1 * c[n - 1 - i]);
      zi *= z;
    }
    c[0] /= 1 - zn1 * zn1;
  }

  private static void initCausalWrap(double[] c, int n, double z) {
    double zi = z;
    for (int i = 1; i < n; i++) {
      c[0] += zi * c[n - i];
      zi *= z;
    }
    c[0] /= 1 - zi;
  }

  private static void initAnticausalWrap(double[] c, int n, double z) {
    double zi = z;
    for (int i = 0; i < n - 1; i++) {
      c[n - 1] += zi * c[i];
      zi *= z;
    }
    c[n - 1] *= z / (zi - 1);
  }

  private static void initCausalReflect(double[] c, int n, double z) {
    double zi = z;
    double zn = powInt(z, n);
    double c0 = c[0];
    c[0] = c[0] + zn * c[n - 1];
    for (int i = 1; i < n; i++) {
      c[0] += zi * (c[i] + zn * c[n - 1 - i]);
      zi *= z;
    }
    c[0] *= z / (1 - zn * zn);
    c[0] += c0;
  }

  /**
   * {@code z^e} correctly rounded (double-double exponentiation by squaring), which is what glibc's
   * {@code pow} returns for these arguments; falls back to {@link Math#pow} near underflow.
   */
  static double powInt(double z, int e) {
    if (e == 0) {
      return 1.0;
    }
    double approx = Math.pow(z, e);
    if (!(Math.abs(approx) > 1e-280) || Double.isInfinite(approx)) {
      return approx;
    }
    double rh = 1.0;
    double rl = 0.0;
    double bh = z;
    double bl = 0.0;
    int k = e;
    while (k > 0) {
      if ((k & 1) != 0) {
        double ph = rh * bh;
        double pl = Math.fma(rh, bh, -ph) + (rh * bl + rl * bh);
        rh = ph + pl;
        rl = pl - (rh - ph);
      }
      k >>= 1;
      if (k > 0) {
        double ph = bh * bh;
        double pl = Math.fma(bh, bh, -ph) + 2.0 * bh * bl;
        bh = ph + pl;
        bl = pl - (bh - ph);
      }
    }
    return rh + rl;
  }
}
