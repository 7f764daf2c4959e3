package org.ssl4mis.data.synth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The numeric building blocks the phantom generators share: smooth random fields (textures, organs, bias
 * fields, deformations), Gaussian blur, Rician noise, intensity normalisation and list files.
 *
 * <p>Arrays are flat and row-major with an explicit shape, as everywhere in the project. Every random draw
 * comes from the {@link SplittableRandom} passed in, in a fixed order, so results depend only on its seed.
 */
final class SynthFields {
  private SynthFields() {}

  /**
   * A smooth random field: Gaussian values on a coarse lattice, interpolated with cubic B-splines, then shifted
   * and scaled to zero mean and unit standard deviation. Features are about {@code cell[a]} samples wide along
   * axis {@code a}; a cell of 0 (or an axis of length 1) makes the field constant along that axis.
   */
  static float[] smooth(SplittableRandom rnd, int[] shape, double... cell) {
    if (cell.length != shape.length) {
      throw new IllegalArgumentException(
          "one cell size per axis: " + shape.length + " axes, " + cell.length + " cells");
    }
    int rank = shape.length;
    int[] lattice = new int[rank];
    double[] phase = new double[rank];
    int count = 1;
    for (int a = 0; a < rank; a++) {
      boolean flat = cell[a] <= 0 || shape[a] == 1;
      lattice[a] = flat ? 1 : (int) Math.ceil((shape[a] - 1) / cell[a]) + 4;
      phase[a] = flat ? 0 : rnd.nextDouble();
      count *= lattice[a];
    }
    float[] data = new float[count];
    for (int i = 0; i < count; i++) {
      data[i] = (float) rnd.nextGaussian();
    }
    int[] current = lattice.clone();
    // Last axis first: the final, largest pass then runs along the first axis over long contiguous rows.
    for (int a = rank - 1; a >= 0; a--) {
      if (lattice[a] == 1 && shape[a] != 1) {
        data = repeat(data, current, a, shape[a]);
      } else if (lattice[a] != 1) {
        data = splineAlong(data, current, a, shape[a], cell[a], phase[a]);
      }
      current[a] = shape[a];
    }
    standardise(data);
    return data;
  }

  /**
   * A sum of {@code octaves} smooth fields, each with cells half as wide and half the weight of the one before
   * (more natural, less blobby outlines when thresholded), standardised like {@link #smooth}.
   */
  static float[] fractal(SplittableRandom rnd, int[] shape, int octaves, double... cell) {
    float[] sum = smooth(rnd, shape, cell);
    double[] c = cell.clone();
    double weight = 1;
    for (int o = 1; o < octaves; o++) {
      weight *= 0.5;
      for (int a = 0; a < c.length; a++) {
        c[a] /= 2;
      }
      float[] detail = smooth(rnd, shape, c);
      for (int i = 0; i < sum.length; i++) {
        sum[i] += (float) (weight * detail[i]);
      }
    }
    standardise(sum);
    return sum;
  }

  /** Resamples axis {@code axis} of {@code src} (shape {@code dims}) from lattice points to {@code n} samples. */
  private static float[] splineAlong(float[] src, int[] dims, int axis, int n, double cell, double phase) {
    int outer = 1;
    int inner = 1;
    for (int a = 0; a < axis; a++) {
      outer *= dims[a];
    }
    for (int a = axis + 1; a < dims.length; a++) {
      inner *= dims[a];
    }
    int m = dims[axis];
    int[] base = new int[n];
    float[] w = new float[4 * n];
    for (int k = 0; k < n; k++) {
      double p = k / cell + phase + 1;
      int j = (int) Math.floor(p);
      double t = p - j;
      double s = 1 - t;
      base[k] = j - 1;
      w[4 * k] = (float) (s * s * s / 6);
      w[4 * k + 1] = (float) ((3 * t * t * t - 6 * t * t + 4) / 6);
      w[4 * k + 2] = (float) ((-3 * t * t * t + 3 * t * t + 3 * t + 1) / 6);
      w[4 * k + 3] = (float) (t * t * t / 6);
    }
    float[] out = new float[outer * n * inner];
    if (inner == 1) {
      for (int o = 0; o < outer; o++) {
        int srcBase = o * m;
        int dstBase = o * n;
        for (int k = 0; k < n; k++) {
          int b = srcBase + base[k];
          out[dstBase + k] = w[4 * k] * src[b] + w[4 * k + 1] * src[b + 1] + w[4 * k + 2] * src[b + 2]
              + w[4 * k + 3] * src[b + 3];
        }
      }
      return out;
    }
    for (int o = 0; o < outer; o++) {
      int srcBase = o * m * inner;
      int dstBase = o * n * inner;
      for (int k = 0; k < n; k++) {
        int dst = dstBase + k * inner;
        for (int q = 0; q < 4; q++) {
          float wq = w[4 * k + q];
          int src0 = srcBase + (base[k] + q) * inner;
          for (int i = 0; i < inner; i++) {
            out[dst + i] += wq * src[src0 + i];
          }
        }
      }
    }
    return out;
  }

  /** Repeats a length-1 axis {@code n} times. */
  private static float[] repeat(float[] src, int[] dims, int axis, int n) {
    int outer = 1;
    int inner = 1;
    for (int a = 0; a < axis; a++) {
      outer *= dims[a];
    }
    for (int a = axis + 1; a < dims.length; a++) {
      inner *= dims[a];
    }
    float[] out = new float[outer * n * inner];
    for (int o = 0; o < outer; o++) {
      for (int k = 0; k < n; k++) {
        System.arraycopy(src, o * inner, out, (o * n + k) * inner, inner);
      }
    }
    return out;
  }

  /** Shifts and scales {@code a} in place to zero mean and unit standard deviation (a constant becomes 0). */
  static void standardise(float[] a) {
    // Four independent accumulators: the loop is bound by the latency of the additions otherwise.
    double[] sum = new double[4];
    double[] sq = new double[4];
    int n4 = a.length & ~3;
    for (int i = 0; i < n4; i += 4) {
      for (int k = 0; k < 4; k++) {
        double v = a[i + k];
        sum[k] += v;
        sq[k] += v * v;
      }
    }
    for (int i = n4; i < a.length; i++) {
      sum[0] += a[i];
      sq[0] += (double) a[i] * a[i];
    }
    double mean = (sum[0] + sum[1] + sum[2] + sum[3]) / a.length;
    double meanSquare = (sq[0] + sq[1] + sq[2] + sq[3]) / a.length;
    double var = Math.max(0, meanSquare - mean * mean);
    double scale = var > 1e-20 ? 1 / Math.sqrt(var) : 0;
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) ((a[i] - mean) * scale);
    }
  }

  /** Maps {@code a} in place linearly onto [0, 1] (its minimum to 0, its maximum to 1), as the ACDC preprocessing. */
  static void minMax(float[] a) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (float v : a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    float range = hi - lo;
    for (int i = 0; i < a.length; i++) {
      a[i] = range > 0 ? (a[i] - lo) / range : 0f;
    }
  }

  /**
   * Gaussian blur along every axis with {@code sigma[a] > 0}, in place, with mirrored borders (the edge sample
   * repeated, as SciPy's {@code 'reflect'}); the kernel reaches three sigmas.
   */
  static void blur(float[] data, int[] shape, double... sigma) {
    float[] tmp = null;
    for (int axis = 0; axis < shape.length; axis++) {
      if (sigma[axis] <= 0 || shape[axis] == 1) {
        continue;
      }
      int radius = Math.max(1, (int) Math.ceil(3 * sigma[axis]));
      float[] kernel = new float[2 * radius + 1];
      double total = 0;
      for (int i = -radius; i <= radius; i++) {
        total += kernel[i + radius] = (float) StrictMath.exp(-0.5 * i * i / (sigma[axis] * sigma[axis]));
      }
      for (int i = 0; i < kernel.length; i++) {
        kernel[i] /= (float) total;
      }
      int outer = 1;
      int inner = 1;
      for (int a = 0; a < axis; a++) {
        outer *= shape[a];
      }
      for (int a = axis + 1; a < shape.length; a++) {
        inner *= shape[a];
      }
      int n = shape[axis];
      if (tmp == null) {
        tmp = new float[data.length];
      }
      java.util.Arrays.fill(tmp, 0f);
      if (inner == 1) {
        for (int o = 0; o < outer; o++) {
          int base = o * n;
          for (int k = 0; k < n; k++) {
            float sum = 0;
            if (k >= radius && k + radius < n) {
              for (int q = -radius; q <= radius; q++) {
                sum += kernel[q + radius] * data[base + k + q];
              }
            } else {
              for (int q = -radius; q <= radius; q++) {
                sum += kernel[q + radius] * data[base + reflect(k + q, n)];
              }
            }
            tmp[base + k] = sum;
          }
        }
        System.arraycopy(tmp, 0, data, 0, data.length);
        continue;
      }
      for (int o = 0; o < outer; o++) {
        int base = o * n * inner;
        for (int k = 0; k < n; k++) {
          int dst = base + k * inner;
          for (int q = -radius; q <= radius; q++) {
            int j = reflect(k + q, n);
            float wq = kernel[q + radius];
            int src = base + j * inner;
            for (int i = 0; i < inner; i++) {
              tmp[dst + i] += wq * data[src + i];
            }
          }
        }
      }
      System.arraycopy(tmp, 0, data, 0, data.length);
    }
  }

  private static int reflect(int i, int n) {
    if (n == 1) {
      return 0;
    }
    int period = 2 * n;
    i = Math.floorMod(i, period);
    return i < n ? i : period - 1 - i;
  }

  /** Multiplies {@code data} in place by the bias field {@code exp(amplitude * field)}. */
  static void bias(float[] data, float[] field, double amplitude) {
    for (int i = 0; i < data.length; i++) {
      data[i] *= (float) StrictMath.exp(amplitude * field[i]);
    }
  }

  /**
   * Rician noise, the magnitude of a complex signal with Gaussian noise on both channels:
   * {@code sqrt((v + sigma g1)^2 + (sigma g2)^2)}, in place.
   */
  static void rician(float[] data, double sigma, SplittableRandom rnd) {
    for (int i = 0; i < data.length; i++) {
      double re = data[i] + sigma * rnd.nextGaussian();
      double im = sigma * rnd.nextGaussian();
      data[i] = (float) Math.sqrt(re * re + im * im);
    }
  }

  /** Hermite smooth step: 0 below {@code edge0}, 1 above {@code edge1}, smooth in between. */
  static double smoothstep(double edge0, double edge1, double x) {
    double t = Math.clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
    return t * t * (3 - 2 * t);
  }

  /** A uniform draw from [lo, hi). */
  static double uniform(SplittableRandom rnd, double lo, double hi) {
    return lo + (hi - lo) * rnd.nextDouble();
  }

  /** Writes one name per line, each ending in a newline (the format of the reference's {@code .list} files). */
  static void writeList(Path file, List<String> names) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (String n : names) {
      sb.append(n).append('\n');
    }
    Files.writeString(file, sb, StandardCharsets.UTF_8);
  }

  /** {@code n} split into parts with the given fractions, rounded, each part at least one; needs {@code n >= parts}. */
  static int[] split(int n, double... fractions) {
    int[] parts = new int[fractions.length];
    int rest = n;
    for (int i = 1; i < fractions.length; i++) {
      parts[i] = Math.max(1, (int) Math.round(n * fractions[i]));
      rest -= parts[i];
    }
    // The first part (train) takes the remainder, but keeps at least one by shrinking the largest other part.
    while (rest < 1) {
      int largest = 1;
      // (never below one: callers guarantee n >= parts, so some other part is above one here)
      for (int i = 2; i < parts.length; i++) {
        if (parts[i] > parts[largest]) {
          largest = i;
        }
      }
      parts[largest]--;
      rest++;
    }
    parts[0] = rest;
    return parts;
  }
}
