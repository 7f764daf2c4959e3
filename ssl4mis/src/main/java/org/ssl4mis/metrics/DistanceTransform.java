package org.ssl4mis.metrics;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Exact Euclidean distance transform, {@code scipy.ndimage.distance_transform_edt(input, sampling)} for
 * boolean masks of any rank (SSL4MIS uses 2-D and 3-D), with anisotropic voxel spacing.
 *
 * <p>Arrays are flat, row-major (C order) with an explicit shape, like a contiguous NumPy array. For every
 * {@code true} ("non-zero") voxel the result is the Euclidean distance, in the units of {@code spacing}, to the
 * nearest {@code false} voxel; {@code false} voxels get 0. {@link #squared} returns the squared distances,
 * {@link #distances} their square roots (what SciPy returns). {@link #squaredToFeatures} is the same transform
 * phrased the other way round: the distance of every voxel to the nearest {@code true} ("feature") voxel.
 *
 * <p>Algorithm: the separable exact transform of Meijster et al. / Felzenszwalb and Huttenlocher. A first pass
 * along the last (contiguous) axis computes one-dimensional distances to the nearest background voxel of each
 * row; every further pass, along the remaining axes from the last to the first, replaces each line by the lower
 * envelope of the parabolas {@code f(q) + (spacing * (p - q))^2}. Each pass costs O(n); lines along a
 * non-contiguous axis are processed in small batches of neighbouring columns so that memory is read in
 * contiguous runs. The lines of a pass are independent and are spread over a {@link ForkJoinPool}; every
 * line is computed by the same sequential code whatever the split, so results are identical (bit for bit)
 * with any pool, with {@code null} (sequential) and from run to run.
 *
 * <p>Accuracy: the transform is exact; the only differences with SciPy (which derives the distance from the
 * index of the nearest background voxel, {@code sqrt(sum_i (d_i * sampling_i)^2)}) are in the rounding of the
 * last bits of that sum (relative differences of the order of 1e-16).
 *
 * <p>Degenerate input: when the mask has no {@code false} voxel at all, SciPy's feature transform reports the
 * index {@code (-1, 0, ..., 0)} for every voxel, so SciPy returns the distance to that point outside the array;
 * this class reproduces that. An array with no voxel (a zero in the shape) gives an empty result.
 *
 * <p>Memory: one {@code double} per voxel (the result) plus small per-task line buffers. Arrays are limited to
 * {@code Integer.MAX_VALUE - 8} voxels. All methods are thread-safe.
 */
public final class DistanceTransform {

  /** Columns processed together along a non-contiguous axis (contiguous runs of 512 bytes). */
  private static final int BATCH = 64;
  /** Voxels below which a pass runs without forking. */
  private static final long SEQUENTIAL_VOXELS = 1 << 15;
  private static final long MAX_VOXELS = Integer.MAX_VALUE - 8;

  private DistanceTransform() {}

  /**
   * Distances of the {@code true} voxels of {@code mask} to the nearest {@code false} voxel (0 for {@code false}
   * voxels), as {@code scipy.ndimage.distance_transform_edt(mask, sampling=spacing)}, on {@link #defaultPool()}.
   *
   * @param mask C-order mask, {@code mask.length == product(shape)}
   * @param shape sizes of the axes, at least one axis
   * @param spacing voxel size along each axis (positive, finite), or {@code null} for 1 along every axis
   */
  public static double[] distances(boolean[] mask, int[] shape, double[] spacing) {
    return distances(mask, shape, spacing, defaultPool());
  }

  /** Like {@link #distances(boolean[], int[], double[])} on {@code pool} ({@code null}: in the calling thread). */
  public static double[] distances(boolean[] mask, int[] shape, double[] spacing, ForkJoinPool pool) {
    double[] d = squared(mask, shape, spacing, pool);
    sqrtInPlace(d, pool);
    return d;
  }

  /** Squared distances of {@link #distances(boolean[], int[], double[])}, on {@link #defaultPool()}. */
  public static double[] squared(boolean[] mask, int[] shape, double[] spacing) {
    return squared(mask, shape, spacing, defaultPool());
  }

  /** Squared distances of {@link #distances(boolean[], int[], double[], ForkJoinPool)}. */
  public static double[] squared(boolean[] mask, int[] shape, double[] spacing, ForkJoinPool pool) {
    return transform(mask, false, shape, spacing, pool);
  }

  /**
   * Squared distance of every voxel to the nearest {@code true} voxel of {@code features} (0 on the features):
   * the squared {@code distance_transform_edt(~features, sampling=spacing)}.
   */
  public static double[] squaredToFeatures(boolean[] features, int[] shape, double[] spacing, ForkJoinPool pool) {
    return transform(features, true, shape, spacing, pool);
  }

  /**
   * The pool used when none is given: the common pool when it has a worker per available processor, otherwise
   * (the common pool keeps one processor for the caller, so on 2 cores it has a single worker) one shared pool
   * of daemon workers, one per available processor, created on first use.
   */
  public static ForkJoinPool defaultPool() {
    return DefaultPool.POOL;
  }

  private static final class DefaultPool {
    static final ForkJoinPool POOL = create();

    private static ForkJoinPool create() {
      int cpus = Runtime.getRuntime().availableProcessors();
      ForkJoinPool common = ForkJoinPool.commonPool();
      return common.getParallelism() >= cpus ? common : new ForkJoinPool(cpus);
    }
  }

  /** Replaces every element by its square root, in parallel on {@code pool} ({@code null}: sequentially). */
  static void sqrtInPlace(double[] d, ForkJoinPool pool) {
    int chunk = 1 << 14;
    int units = (int) ((d.length + (long) chunk - 1) / chunk);
    forEachRange(pool, units, d.length, (u0, u1) -> {
      int end = (int) Math.min(d.length, (long) u1 * chunk);
      for (int i = u0 * chunk; i < end; i++) {
        d[i] = Math.sqrt(d[i]);
      }
    });
  }

  /** Number of voxels of {@code shape}, validated against the array length. */
  static int checkShape(int length, int[] shape) {
    Objects.requireNonNull(shape, "shape");
    if (shape.length == 0) {
      throw new IllegalArgumentException("shape has no axis");
    }
    long n = 1;
    for (int s : shape) {
      if (s < 0) {
        throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
      }
      n *= s;
      if (n > MAX_VOXELS) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than " + MAX_VOXELS
            + " voxels");
      }
    }
    if (n != length) {
      throw new IllegalArgumentException("array of length " + length + " does not have shape "
          + Arrays.toString(shape) + " (" + n + " voxels)");
    }
    return (int) n;
  }

  /** {@code spacing}, or ones when it is {@code null}; validated. */
  static double[] checkSpacing(double[] spacing, int ndim) {
    if (spacing == null) {
      double[] ones = new double[ndim];
      Arrays.fill(ones, 1.0);
      return ones;
    }
    if (spacing.length != ndim) {
      throw new IllegalArgumentException("spacing has " + spacing.length + " values for " + ndim + " axes");
    }
    for (double s : spacing) {
      if (!(s > 0) || Double.isInfinite(s)) {
        throw new IllegalArgumentException("spacing must be positive and finite: " + Arrays.toString(spacing));
      }
    }
    return spacing.clone();
  }

  /**
   * Squared distance of every voxel to the nearest voxel {@code v} with {@code mask[v] == feature}.
   */
  private static double[] transform(boolean[] mask, boolean feature, int[] shape, double[] spacing,
      ForkJoinPool pool) {
    Objects.requireNonNull(mask, "mask");
    int n = checkShape(mask.length, shape);
    int ndim = shape.length;
    double[] sp = checkSpacing(spacing, ndim);
    double[] out = new double[n];
    if (n == 0) {
      return out;
    }
    boolean any = false;
    for (boolean b : mask) {
      if (b == feature) {
        any = true;
        break;
      }
    }
    if (!any) {
      noFeature(out, shape, sp);
      return out;
    }
    rowPass(mask, feature, out, shape[ndim - 1], sp[ndim - 1], pool);
    int stride = shape[ndim - 1];
    for (int axis = ndim - 2; axis >= 0; axis--) {
      envelopePass(out, shape, axis, stride, sp[axis], pool);
      stride *= shape[axis];
    }
    return out;
  }

  /** SciPy's output when there is no background: squared distance to the point (-1, 0, ..., 0). */
  private static void noFeature(double[] out, int[] shape, double[] sp) {
    int ndim = shape.length;
    int[] idx = new int[ndim];
    for (int i = 0; i < out.length; i++) {
      double s = 0;
      for (int a = 0; a < ndim; a++) {
        double d = (a == 0 ? idx[a] + 1 : idx[a]) * sp[a];
        s += d * d;
      }
      out[i] = s;
      for (int a = ndim - 1; a >= 0; a--) {
        if (++idx[a] < shape[a]) {
          break;
        }
        idx[a] = 0;
      }
    }
  }

  /** First pass: squared one-dimensional distance along each contiguous row (infinite if the row has none). */
  private static void rowPass(boolean[] mask, boolean feature, double[] out, int len, double s, ForkJoinPool pool) {
    int rows = out.length / len;
    forEachRange(pool, rows, out.length, (r0, r1) -> {
      for (int r = r0; r < r1; r++) {
        int base = r * len;
        int last = -1;
        for (int k = 0; k < len; k++) {
          if (mask[base + k] == feature) {
            last = k;
            out[base + k] = 0;
          } else if (last >= 0) {
            double d = (k - last) * s;
            out[base + k] = d * d;
          } else {
            out[base + k] = Double.POSITIVE_INFINITY;
          }
        }
        if (last < 0) {
          continue; // the whole row is infinite
        }
        int next = -1;
        for (int k = len - 1; k >= 0; k--) {
          if (mask[base + k] == feature) {
            next = k;
          } else if (next >= 0) {
            double d = (next - k) * s;
            double dd = d * d;
            if (dd < out[base + k]) {
              out[base + k] = dd;
            }
          }
        }
      }
    });
  }

  /**
   * One envelope pass along {@code axis} (stride {@code stride} between its elements), in place. Work units are
   * (outer index, batch of up to {@link #BATCH} neighbouring columns); a batch is copied row by row (contiguous
   * runs) into an interleaved buffer, transformed column by column, and copied back.
   */
  private static void envelopePass(double[] data, int[] shape, int axis, int stride, double s, ForkJoinPool pool) {
    int len = shape[axis];
    if (len <= 1) {
      return; // nothing to propagate
    }
    int outer = data.length / (len * stride);
    int batch = Math.min(BATCH, stride);
    int batches = (stride + batch - 1) / batch;
    long units = (long) outer * batches;
    if (units > Integer.MAX_VALUE) {
      throw new IllegalStateException("too many lines");
    }
    forEachRange(pool, (int) units, data.length, (u0, u1) -> {
      double[] in = new double[len * batch];
      double[] res = new double[len * batch];
      int[] v = new int[len];
      double[] h = new double[len];
      double[] z = new double[len + 1];
      for (int u = u0; u < u1; u++) {
        int o = u / batches;
        int i0 = (u % batches) * batch;
        int width = Math.min(batch, stride - i0);
        int base = o * len * stride + i0;
        for (int k = 0; k < len; k++) {
          System.arraycopy(data, base + k * stride, in, k * width, width);
        }
        for (int j = 0; j < width; j++) {
          envelope(in, res, j, width, len, s, v, h, z);
        }
        for (int k = 0; k < len; k++) {
          System.arraycopy(res, k * width, data, base + k * stride, width);
        }
      }
    });
  }

  /**
   * Lower envelope of the parabolas {@code f[q] + (s (p - q))^2} over the finite {@code f[q]} of one line
   * ({@code f[q] = in[off + q * step]}, {@code q < len}), evaluated at every {@code p} into
   * {@code res[off + p * step]}. {@code v} holds the sites of the envelope, {@code h} their
   * {@code f[v] + s^2 v^2}, {@code z} the boundaries between them.
   */
  private static void envelope(double[] in, double[] res, int off, int step, int len, double s, int[] v,
      double[] h, double[] z) {
    double s2 = s * s;
    int k = -1;
    for (int q = 0, iq = off; q < len; q++, iq += step) {
      double fq = in[iq];
      if (fq == Double.POSITIVE_INFINITY) {
        continue;
      }
      double hq = fq + s2 * ((double) q * q);
      if (k < 0) {
        k = 0;
        v[0] = q;
        h[0] = hq;
        z[0] = Double.NEGATIVE_INFINITY;
        z[1] = Double.POSITIVE_INFINITY;
        continue;
      }
      double x = (hq - h[k]) / (2 * s2 * (q - v[k]));
      while (x <= z[k]) { // z[0] is -infinity, so this stops at k == 0 at the latest
        k--;
        x = (hq - h[k]) / (2 * s2 * (q - v[k]));
      }
      k++;
      v[k] = q;
      h[k] = hq;
      z[k] = x;
      z[k + 1] = Double.POSITIVE_INFINITY;
    }
    if (k < 0) {
      for (int p = 0, ip = off; p < len; p++, ip += step) {
        res[ip] = Double.POSITIVE_INFINITY;
      }
      return;
    }
    int j = 0;
    for (int p = 0, ip = off; p < len; p++, ip += step) {
      while (z[j + 1] < p) {
        j++;
      }
      int q = v[j];
      double d = (p - q) * s;
      res[ip] = in[off + q * step] + d * d;
    }
  }

  /** A piece of work over the units {@code [from, to)}. */
  @FunctionalInterface
  interface RangeBody {
    void run(int from, int to);
  }

  /**
   * Runs {@code body} over {@code [0, units)} split into contiguous ranges on {@code pool}, or in the calling
   * thread when {@code pool} is {@code null} or the work ({@code voxels}) is small.
   */
  static void forEachRange(ForkJoinPool pool, int units, long voxels, RangeBody body) {
    if (units <= 0) {
      return;
    }
    int parallelism = pool == null ? 1 : pool.getParallelism();
    if (parallelism <= 1 || units == 1 || voxels < SEQUENTIAL_VOXELS) {
      body.run(0, units);
      return;
    }
    int grain = Math.max(1, units / (parallelism * 8));
    pool.invoke(new Split(body, 0, units, grain));
  }

  private static final class Split extends RecursiveAction {
    private final RangeBody body;
    private final int from;
    private final int to;
    private final int grain;

    Split(RangeBody body, int from, int to, int grain) {
      this.body = body;
      this.from = from;
      this.to = to;
      this.grain = grain;
    }

    @Override
    protected void compute() {
      if (to - from <= grain) {
        body.run(from, to);
        return;
      }
      int mid = (from + to) >>> 1;
      invokeAll(new Split(body, from, mid, grain), new Split(body, mid, to, grain));
    }
  }
}
