package org.ssl4mis.metrics;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;

/**
 * The binary segmentation metrics of medpy's {@code medpy.metric.binary} that SSL4MIS evaluates with:
 * {@link #dc}, {@link #jc}, {@link #ravd}, {@link #hd}, {@link #hd95}, {@link #asd}, {@link #assd}, with the
 * same definitions, voxel spacing, connectivity and empty-mask conventions.
 *
 * <p>Masks are flat, row-major (C order) arrays with an explicit shape, of any rank (SSL4MIS uses 2-D slices
 * and 3-D volumes): {@code boolean[]}, or {@code byte[]} where every non-zero byte is {@code true} (medpy's
 * {@code astype(bool)}). {@code result} is the prediction, {@code reference} the ground truth, in medpy's
 * argument order. {@code spacing} is medpy's {@code voxelspacing}, one value per axis in array axis order;
 * {@code null} is medpy's default {@code None} (1 along every axis).
 *
 * <h2>Definitions (medpy 0.4)</h2>
 * <ul>
 *   <li>{@code dc = 2 |A ∩ B| / (|A| + |B|)}; 0 when both masks are empty.</li>
 *   <li>{@code jc = |A ∩ B| / |A ∪ B|}; both empty is a division by zero in medpy: {@link EmptyMaskException}.</li>
 *   <li>{@code ravd = (|A| - |B|) / |B|} (signed); empty reference: {@link EmptyMaskException}.</li>
 *   <li>Surface of a mask: the mask XOR its binary erosion by {@code generate_binary_structure(ndim,
 *       connectivity)} (one iteration, voxels outside the array count as background, so mask voxels on the
 *       array border are surface).</li>
 *   <li>Directed surface distances from A to B ({@link #directedSurfaceDistances}): for every surface voxel of A,
 *       in C order, the Euclidean distance (with spacing) to the nearest surface voxel of B, i.e.
 *       {@code distance_transform_edt(~surface(B), sampling=spacing)[surface(A)]}.</li>
 *   <li>{@code hd}: the largest distance in either direction; {@code hd95}: {@code numpy.percentile} (linear
 *       interpolation) at 95 of both directions together; {@code asd}: the mean of the distances from the
 *       result to the reference; {@code assd}: the mean of {@code asd(A, B)} and {@code asd(B, A)}.</li>
 *   <li>These four raise in medpy when a mask is empty (the result is checked first):
 *       {@link EmptyMaskException} with {@link EmptyMaskException.Operand#RESULT} or {@code REFERENCE}.</li>
 * </ul>
 *
 * <p>Accuracy: dc, jc and ravd are computed exactly as medpy's Python does (the same double divisions). The
 * distance transform is exact ({@link DistanceTransform}); sums use NumPy's pairwise summation and the
 * percentile NumPy's interpolation formula, so distances agree with SciPy/NumPy to the last bits.
 *
 * <p>Cost: the surfaces are computed on the whole array; the distance transform only on the bounding box of the
 * two surfaces (the distances between voxels of the two surfaces do not depend on the rest), on
 * {@link DistanceTransform#defaultPool()} unless a pool is given. Results do not depend on the pool.
 */
public final class Binary {

  private Binary() {}

  // ---------------------------------------------------------------- overlap metrics

  /** Dice coefficient, medpy {@code dc(result, reference)}: 0 when both masks are empty. */
  public static double dc(boolean[] result, boolean[] reference) {
    checkSameLength(result, reference);
    long inter = 0;
    long a = 0;
    long b = 0;
    for (int i = 0; i < result.length; i++) {
      boolean r = result[i];
      boolean g = reference[i];
      if (r) {
        a++;
      }
      if (g) {
        b++;
      }
      if (r && g) {
        inter++;
      }
    }
    if (a + b == 0) {
      return 0.0; // medpy catches the ZeroDivisionError
    }
    return (2.0 * inter) / (double) (a + b);
  }

  /** {@link #dc(boolean[], boolean[])} of non-zero bytes. */
  public static double dc(byte[] result, byte[] reference) {
    return dc(mask(result), mask(reference));
  }

  /**
   * Jaccard coefficient, medpy {@code jc(result, reference)} = |A ∩ B| / |A ∪ B|.
   *
   * @throws EmptyMaskException ({@code BOTH}) when both masks are empty (medpy: ZeroDivisionError)
   */
  public static double jc(boolean[] result, boolean[] reference) {
    checkSameLength(result, reference);
    long inter = 0;
    long union = 0;
    for (int i = 0; i < result.length; i++) {
      boolean r = result[i];
      boolean g = reference[i];
      if (r || g) {
        union++;
      }
      if (r && g) {
        inter++;
      }
    }
    if (union == 0) {
      throw EmptyMaskException.both();
    }
    return (double) inter / (double) union;
  }

  /** {@link #jc(boolean[], boolean[])} of non-zero bytes. */
  public static double jc(byte[] result, byte[] reference) {
    return jc(mask(result), mask(reference));
  }

  /**
   * Relative absolute volume difference as medpy defines it, {@code ravd(result, reference) = (|A| - |B|) / |B|}
   * (signed; SSL4MIS takes its absolute value).
   *
   * @throws EmptyMaskException ({@code REFERENCE}) when the reference is empty
   */
  public static double ravd(boolean[] result, boolean[] reference) {
    checkSameLength(result, reference);
    long a = count(result);
    long b = count(reference);
    if (b == 0) {
      throw EmptyMaskException.second();
    }
    return (double) (a - b) / (double) b;
  }

  /** {@link #ravd(boolean[], boolean[])} of non-zero bytes. */
  public static double ravd(byte[] result, byte[] reference) {
    return ravd(mask(result), mask(reference));
  }

  // ---------------------------------------------------------------- surface-distance metrics

  /** Hausdorff distance, medpy {@code hd(result, reference, voxelspacing, connectivity=1)}. */
  public static double hd(boolean[] result, boolean[] reference, int[] shape, double[] spacing) {
    return hd(result, reference, shape, spacing, 1);
  }

  /** Hausdorff distance, medpy {@code hd(result, reference, voxelspacing, connectivity)}. */
  public static double hd(boolean[] result, boolean[] reference, int[] shape, double[] spacing, int connectivity) {
    return surfaceDistances(result, reference, shape, spacing, connectivity).hd();
  }

  /** {@link #hd(boolean[], boolean[], int[], double[])} of non-zero bytes. */
  public static double hd(byte[] result, byte[] reference, int[] shape, double[] spacing) {
    return hd(mask(result), mask(reference), shape, spacing, 1);
  }

  /** 95th-percentile Hausdorff distance, medpy {@code hd95(result, reference, voxelspacing, connectivity=1)}. */
  public static double hd95(boolean[] result, boolean[] reference, int[] shape, double[] spacing) {
    return hd95(result, reference, shape, spacing, 1);
  }

  /** 95th-percentile Hausdorff distance, medpy {@code hd95(result, reference, voxelspacing, connectivity)}. */
  public static double hd95(boolean[] result, boolean[] reference, int[] shape, double[] spacing,
      int connectivity) {
    return surfaceDistances(result, reference, shape, spacing, connectivity).hd95();
  }

  /** {@link #hd95(boolean[], boolean[], int[], double[])} of non-zero bytes. */
  public static double hd95(byte[] result, byte[] reference, int[] shape, double[] spacing) {
    return hd95(mask(result), mask(reference), shape, spacing, 1);
  }

  /** Average surface distance, medpy {@code asd(result, reference, voxelspacing, connectivity=1)} (directed). */
  public static double asd(boolean[] result, boolean[] reference, int[] shape, double[] spacing) {
    return asd(result, reference, shape, spacing, 1);
  }

  /** Average surface distance, medpy {@code asd(result, reference, voxelspacing, connectivity)} (directed). */
  public static double asd(boolean[] result, boolean[] reference, int[] shape, double[] spacing, int connectivity) {
    return mean(directedSurfaceDistances(result, reference, shape, spacing, connectivity));
  }

  /** {@link #asd(boolean[], boolean[], int[], double[])} of non-zero bytes. */
  public static double asd(byte[] result, byte[] reference, int[] shape, double[] spacing) {
    return asd(mask(result), mask(reference), shape, spacing, 1);
  }

  /** Average symmetric surface distance, medpy {@code assd(result, reference, voxelspacing, connectivity=1)}. */
  public static double assd(boolean[] result, boolean[] reference, int[] shape, double[] spacing) {
    return assd(result, reference, shape, spacing, 1);
  }

  /** Average symmetric surface distance, medpy {@code assd(result, reference, voxelspacing, connectivity)}. */
  public static double assd(boolean[] result, boolean[] reference, int[] shape, double[] spacing,
      int connectivity) {
    return surfaceDistances(result, reference, shape, spacing, connectivity).assd();
  }

  /** {@link #assd(boolean[], boolean[], int[], double[])} of non-zero bytes. */
  public static double assd(byte[] result, byte[] reference, int[] shape, double[] spacing) {
    return assd(mask(result), mask(reference), shape, spacing, 1);
  }

  /**
   * The surface distances in both directions, computed once, from which {@link SurfaceDistances#hd()},
   * {@link SurfaceDistances#hd95()}, {@link SurfaceDistances#asd()} and {@link SurfaceDistances#assd()} follow
   * (use it to get several of them for the price of one), on {@link DistanceTransform#defaultPool()}.
   *
   * @throws EmptyMaskException when the result (checked first) or the reference is empty
   */
  public static SurfaceDistances surfaceDistances(boolean[] result, boolean[] reference, int[] shape,
      double[] spacing, int connectivity) {
    return surfaceDistances(result, reference, shape, spacing, connectivity, DistanceTransform.defaultPool());
  }

  /** Like {@link #surfaceDistances(boolean[], boolean[], int[], double[], int)} on {@code pool} ({@code null}: sequential). */
  public static SurfaceDistances surfaceDistances(boolean[] result, boolean[] reference, int[] shape,
      double[] spacing, int connectivity, ForkJoinPool pool) {
    Pair p = Pair.of(result, reference, shape, spacing, connectivity, pool);
    return new SurfaceDistances(p.distances(p.resultSurface, p.referenceSurface),
        p.distances(p.referenceSurface, p.resultSurface));
  }

  /**
   * medpy's {@code __surface_distances(result, reference, voxelspacing, connectivity)}: for every surface voxel
   * of {@code result}, in C order, the distance to the nearest surface voxel of {@code reference}.
   *
   * @throws EmptyMaskException when the result (checked first) or the reference is empty
   */
  public static double[] directedSurfaceDistances(boolean[] result, boolean[] reference, int[] shape,
      double[] spacing, int connectivity) {
    Pair p = Pair.of(result, reference, shape, spacing, connectivity, DistanceTransform.defaultPool());
    return p.distances(p.resultSurface, p.referenceSurface);
  }

  /** The surface distances of a pair of masks in both directions, medpy's two {@code __surface_distances}. */
  public record SurfaceDistances(double[] resultToReference, double[] referenceToResult) {

    public SurfaceDistances {
      Objects.requireNonNull(resultToReference, "resultToReference");
      Objects.requireNonNull(referenceToResult, "referenceToResult");
    }

    /** medpy {@code hd}: the larger of the two directed maxima. */
    public double hd() {
      return Math.max(max(resultToReference), max(referenceToResult));
    }

    /** medpy {@code hd95}: {@code numpy.percentile(numpy.hstack((a_to_b, b_to_a)), 95)}. */
    public double hd95() {
      return percentile(both(), 95);
    }

    /** medpy {@code asd(result, reference)}: mean distance from the result's surface to the reference's. */
    public double asd() {
      return mean(resultToReference);
    }

    /** medpy {@code assd}: {@code numpy.mean((asd(result, reference), asd(reference, result)))}. */
    public double assd() {
      return (mean(resultToReference) + mean(referenceToResult)) / 2.0;
    }

    /** Both directions, result-to-reference first (medpy's {@code hstack}). */
    public double[] both() {
      double[] all = Arrays.copyOf(resultToReference, resultToReference.length + referenceToResult.length);
      System.arraycopy(referenceToResult, 0, all, resultToReference.length, referenceToResult.length);
      return all;
    }
  }

  // ---------------------------------------------------------------- building blocks

  /**
   * The surface of a mask: {@code mask ^ binary_erosion(mask, generate_binary_structure(ndim, connectivity))}
   * with SciPy's defaults (one iteration, border value 0). {@code connectivity} is clamped to {@code [1, ndim]}
   * as {@code generate_binary_structure} does.
   */
  public static boolean[] surface(boolean[] mask, int[] shape, int connectivity) {
    return surface(mask, shape, connectivity, DistanceTransform.defaultPool());
  }

  static boolean[] surface(boolean[] mask, int[] shape, int connectivity, ForkJoinPool pool) {
    Objects.requireNonNull(mask, "mask");
    int n = DistanceTransform.checkShape(mask.length, shape);
    int ndim = shape.length;
    int conn = Math.max(1, Math.min(connectivity, ndim));
    boolean[] out = new boolean[n];
    if (n == 0) {
      return out;
    }
    int[] strides = strides(shape);
    // neighbour offsets of the structuring element (the centre excluded)
    int total = 1;
    for (int a = 0; a < ndim; a++) {
      total *= 3;
    }
    int[][] deltas = new int[total][];
    int count = 0;
    for (int code = 0; code < total; code++) {
      int[] d = new int[ndim];
      int c = code;
      int nonZero = 0;
      for (int a = ndim - 1; a >= 0; a--) {
        d[a] = c % 3 - 1;
        c /= 3;
        if (d[a] != 0) {
          nonZero++;
        }
      }
      if (nonZero > 0 && nonZero <= conn) {
        deltas[count++] = d;
      }
    }
    int[][] offs = Arrays.copyOf(deltas, count);
    int len = shape[ndim - 1];
    int rows = n / len;
    DistanceTransform.forEachRange(pool, rows, n, (r0, r1) -> {
      int[] rowCoord = new int[ndim - 1];
      boolean[] rowInside = new boolean[offs.length];
      int[] rowShift = new int[offs.length];
      for (int r = r0; r < r1; r++) {
        // coordinates of this row along the leading axes
        int rem = r;
        for (int a = ndim - 2; a >= 0; a--) {
          rowCoord[a] = rem % shape[a];
          rem /= shape[a];
        }
        boolean anyOutside = false;
        for (int o = 0; o < offs.length; o++) {
          int[] d = offs[o];
          boolean inside = true;
          int shift = 0;
          for (int a = 0; a < ndim - 1; a++) {
            int c = rowCoord[a] + d[a];
            if (c < 0 || c >= shape[a]) {
              inside = false;
              break;
            }
            shift += d[a] * strides[a];
          }
          rowInside[o] = inside;
          rowShift[o] = shift;
          anyOutside |= !inside;
        }
        int base = r * len;
        for (int k = 0; k < len; k++) {
          int i = base + k;
          if (!mask[i]) {
            continue;
          }
          boolean border = anyOutside;
          for (int o = 0; o < offs.length && !border; o++) {
            int dk = offs[o][ndim - 1];
            int kk = k + dk;
            if (kk < 0 || kk >= len || !mask[i + rowShift[o] + dk]) {
              border = true;
            }
          }
          out[i] = border;
        }
      }
    });
    return out;
  }

  /** {@code values != 0}. */
  public static boolean[] mask(byte[] values) {
    Objects.requireNonNull(values, "values");
    boolean[] m = new boolean[values.length];
    for (int i = 0; i < values.length; i++) {
      m[i] = values[i] != 0;
    }
    return m;
  }

  /**
   * {@code numpy.percentile(values, q)} with NumPy's default linear interpolation (NumPy 1.22+ formulas:
   * virtual index {@code (n - 1) * (q / 100)}, interpolation {@code a + (b - a) t}, or {@code b - (b - a)(1 - t)}
   * when {@code t >= 0.5}).
   *
   * @throws IllegalArgumentException when {@code values} is empty or {@code q} is outside [0, 100]
   */
  public static double percentile(double[] values, double q) {
    if (values.length == 0) {
      throw new IllegalArgumentException("percentile of an empty array");
    }
    if (!(q >= 0 && q <= 100)) {
      throw new IllegalArgumentException("percentile must be in [0, 100]: " + q);
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    double virtual = (n - 1) * (q / 100.0);
    double below = Math.floor(virtual);
    int lo;
    int hi;
    double t;
    if (virtual >= n - 1) {
      lo = n - 1;
      hi = n - 1;
      t = virtual - (-1.0); // NumPy clips both indices to -1 (the last) and keeps the gamma of that index
    } else {
      lo = (int) below;
      hi = lo + 1;
      t = virtual - below;
    }
    double a = sorted[lo];
    double b = sorted[hi];
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  /** {@code numpy.mean} of float64 values: NumPy's pairwise sum divided by the count (NaN when empty). */
  public static double mean(double[] values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    return pairwiseSum(values, 0, values.length) / values.length;
  }

  /** NumPy's pairwise summation (blocks of 128 summed with 8 partial sums, halves split at multiples of 8). */
  public static double pairwiseSum(double[] a, int from, int n) {
    if (n < 8) {
      double res = 0.0;
      for (int i = 0; i < n; i++) {
        res += a[from + i];
      }
      return res;
    } else if (n <= 128) {
      double r0 = a[from];
      double r1 = a[from + 1];
      double r2 = a[from + 2];
      double r3 = a[from + 3];
      double r4 = a[from + 4];
      double r5 = a[from + 5];
      double r6 = a[from + 6];
      double r7 = a[from + 7];
      int i;
      for (i = 8; i < n - (n % 8); i += 8) {
        int j = from + i;
        r0 += a[j];
        r1 += a[j + 1];
        r2 += a[j + 2];
        r3 += a[j + 3];
        r4 += a[j + 4];
        r5 += a[j + 5];
        r6 += a[j + 6];
        r7 += a[j + 7];
      }
      double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
      for (; i < n; i++) {
        res += a[from + i];
      }
      return res;
    } else {
      int n2 = n / 2;
      n2 -= n2 % 8;
      return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
    }
  }

  // ---------------------------------------------------------------- internals

  private static double max(double[] v) {
    double m = Double.NEGATIVE_INFINITY;
    for (double x : v) {
      m = Math.max(m, x);
    }
    return m;
  }

  private static long count(boolean[] m) {
    long c = 0;
    for (boolean b : m) {
      if (b) {
        c++;
      }
    }
    return c;
  }

  private static void checkSameLength(boolean[] result, boolean[] reference) {
    Objects.requireNonNull(result, "result");
    Objects.requireNonNull(reference, "reference");
    if (result.length != reference.length) {
      throw new IllegalArgumentException("result has " + result.length + " voxels, reference "
          + reference.length);
    }
  }

  static int[] strides(int[] shape) {
    int[] strides = new int[shape.length];
    int s = 1;
    for (int a = shape.length - 1; a >= 0; a--) {
      strides[a] = s;
      s *= shape[a];
    }
    return strides;
  }

  /** The two surfaces of a result/reference pair, cropped to the bounding box of both. */
  private static final class Pair {
    final boolean[] resultSurface;
    final boolean[] referenceSurface;
    final int[] cropShape;
    final double[] spacing;
    final ForkJoinPool pool;

    private Pair(boolean[] resultSurface, boolean[] referenceSurface, int[] cropShape, double[] spacing,
        ForkJoinPool pool) {
      this.resultSurface = resultSurface;
      this.referenceSurface = referenceSurface;
      this.cropShape = cropShape;
      this.spacing = spacing;
      this.pool = pool;
    }

    static Pair of(boolean[] result, boolean[] reference, int[] shape, double[] spacing, int connectivity,
        ForkJoinPool pool) {
      checkSameLength(result, reference);
      DistanceTransform.checkShape(result.length, shape);
      double[] sp = DistanceTransform.checkSpacing(spacing, shape.length);
      if (count(result) == 0) {
        throw EmptyMaskException.first();
      }
      if (count(reference) == 0) {
        throw EmptyMaskException.second();
      }
      boolean[] rs = surface(result, shape, connectivity, pool);
      boolean[] gs = surface(reference, shape, connectivity, pool);
      int ndim = shape.length;
      int[] lo = new int[ndim];
      int[] hi = new int[ndim];
      Arrays.fill(lo, Integer.MAX_VALUE);
      Arrays.fill(hi, -1);
      extendBox(rs, shape, lo, hi);
      extendBox(gs, shape, lo, hi);
      int[] crop = new int[ndim];
      boolean whole = true;
      for (int a = 0; a < ndim; a++) {
        crop[a] = hi[a] - lo[a] + 1;
        whole &= crop[a] == shape[a];
      }
      if (whole) {
        return new Pair(rs, gs, shape.clone(), sp, pool);
      }
      return new Pair(cropTo(rs, shape, lo, crop), cropTo(gs, shape, lo, crop), crop, sp, pool);
    }

    /** Distances of the {@code from} voxels (C order) to the nearest {@code to} voxel. */
    double[] distances(boolean[] from, boolean[] to) {
      double[] sq = DistanceTransform.squaredToFeatures(to, cropShape, spacing, pool);
      int m = (int) count(from);
      double[] d = new double[m];
      int j = 0;
      for (int i = 0; i < from.length; i++) {
        if (from[i]) {
          d[j++] = Math.sqrt(sq[i]);
        }
      }
      return d;
    }

    private static void extendBox(boolean[] m, int[] shape, int[] lo, int[] hi) {
      int ndim = shape.length;
      int len = shape[ndim - 1];
      int rows = m.length / len;
      int[] coord = new int[ndim - 1];
      for (int r = 0; r < rows; r++) {
        int base = r * len;
        int first = -1;
        int last = -1;
        for (int k = 0; k < len; k++) {
          if (m[base + k]) {
            if (first < 0) {
              first = k;
            }
            last = k;
          }
        }
        if (first >= 0) {
          int rem = r;
          for (int a = ndim - 2; a >= 0; a--) {
            coord[a] = rem % shape[a];
            rem /= shape[a];
          }
          for (int a = 0; a < ndim - 1; a++) {
            lo[a] = Math.min(lo[a], coord[a]);
            hi[a] = Math.max(hi[a], coord[a]);
          }
          lo[ndim - 1] = Math.min(lo[ndim - 1], first);
          hi[ndim - 1] = Math.max(hi[ndim - 1], last);
        }
      }
    }

    private static boolean[] cropTo(boolean[] m, int[] shape, int[] lo, int[] crop) {
      int ndim = shape.length;
      int[] strides = strides(shape);
      int n = 1;
      for (int c : crop) {
        n *= c;
      }
      boolean[] out = new boolean[n];
      int len = crop[ndim - 1];
      int rows = n / len;
      for (int r = 0; r < rows; r++) {
        int rem = r;
        int src = lo[ndim - 1];
        for (int a = ndim - 2; a >= 0; a--) {
          src += (lo[a] + rem % crop[a]) * strides[a];
          rem /= crop[a];
        }
        System.arraycopy(m, src, out, r * len, len);
      }
      return out;
    }
  }
}
