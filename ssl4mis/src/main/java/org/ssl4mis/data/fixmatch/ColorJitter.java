package org.ssl4mis.data.fixmatch;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * torchvision 0.14's {@code transforms.ColorJitter(brightness, contrast, saturation, hue)} on a one-channel
 * {@code float32} image tensor {@code (1, H, W)}, as the reference's {@code color_jitter} applies it
 * ({@code ColorJitter(0.8, 0.8, 0.8, 0.2)}, {@link #fixMatch()}) to the weakly augmented slice.
 *
 * <ul>
 *   <li>Ranges: brightness, contrast and saturation {@code b} give factors in {@code [max(0, 1 - b), 1 + b]}
 *       (so {@code [0.2, 1.8]} here), hue {@code h} gives {@code [-h, h]} ({@code h <= 0.5}); a zero strength
 *       disables that transform.</li>
 *   <li>Per call ({@code get_params}): a random order of the four transforms ({@code torch.randperm(4)}), then one
 *       factor each for brightness, contrast, saturation and hue in that order ({@code torch.empty(1).uniform_}:
 *       a 24-bit uniform scaled into the range, a {@code float32} value). Here the draws come from a
 *       {@link SplittableRandom}, in the same order, instead of PyTorch's generator.</li>
 *   <li>Brightness: {@code clamp(f * x + (1 - f) * 0, 0, 1)}; contrast: {@code clamp(f * x + (1 - f) * mean, 0,
 *       1)} with the image mean; each product in {@code float32} with the factor rounded to {@code float32}, as
 *       PyTorch multiplies a {@code float32} tensor by a Python scalar.</li>
 *   <li>Saturation and hue on a one-channel tensor return the image unchanged: torchvision (since 0.11) checks
 *       {@code get_dimensions(img)[0] == 1} and returns early "to match PIL", after validating the factor (hue
 *       must lie in {@code [-0.5, 0.5]}). Their factors are still drawn, as torchvision draws them.</li>
 * </ul>
 *
 * <p>Given the factors, bit-equal to torchvision 0.14 on PyTorch 1.13, including the contrast mean: PyTorch's
 * single-threaded {@code float32} sum is reproduced ({@link #torchSum}: its 8-lane vectorised cascade, as the
 * AVX2 and non-SIMD builds run it). A PyTorch build that dispatches to AVX-512 sums in 16 lanes, and a sum split
 * over several threads (tensors above 32768 values with more than one intra-op thread) adds partial sums in
 * another order; then the mean, and through it the contrast output, can differ in the last bit.
 * {@link #adjustContrast(float[], double, float)} takes the mean from outside.
 */
public final class ColorJitter {
  private final float[] brightness;
  private final float[] contrast;
  private final float[] saturation;
  private final float[] hue;

  /** The factors and order of one call ({@code get_params}); a {@code null} factor is a disabled transform. */
  public record Params(int[] order, Double brightness, Double contrast, Double saturation, Double hue) {
    public Params {
      order = order.clone();
    }

    @Override
    public int[] order() {
      return order.clone();
    }
  }

  /** {@code ColorJitter(brightness, contrast, saturation, hue)}. */
  public ColorJitter(double brightness, double contrast, double saturation, double hue) {
    this.brightness = range(brightness, "brightness");
    this.contrast = range(contrast, "contrast");
    this.saturation = range(saturation, "saturation");
    if (hue < 0 || hue > 0.5) {
      throw new IllegalArgumentException("hue values should be between (-0.5, 0.5), got " + hue);
    }
    this.hue = hue == 0 ? null : new float[] {(float) -hue, (float) hue};
  }

  /** {@code ColorJitter(0.8, 0.8, 0.8, 0.2)}, the reference's {@code color_jitter} (strength {@code s = 1}). */
  public static ColorJitter fixMatch() {
    return new ColorJitter(0.8, 0.8, 0.8, 0.2);
  }

  private static float[] range(double v, String name) {
    if (v < 0) {
      throw new IllegalArgumentException("If " + name + " is a single number, it must be non negative, got " + v);
    }
    if (v == 0) {
      return null;
    }
    return new float[] {(float) Math.max(1 - v, 0.0), (float) (1 + v)};
  }

  /** {@code get_params}: the order of the four transforms and their factors. */
  public Params sampleParams(SplittableRandom random) {
    int[] order = {0, 1, 2, 3};
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return new Params(order, uniform(brightness, random), uniform(contrast, random), uniform(saturation, random),
        uniform(hue, random));
  }

  private static Double uniform(float[] range, SplittableRandom random) {
    if (range == null) {
      return null;
    }
    double x = random.nextInt(1 << 24) * 0x1p-24;
    return (double) (float) (x * ((double) range[1] - range[0]) + range[0]);
  }

  /** {@code ColorJitter(...)(img)} on a {@code (1, H, W)} tensor: {@link #sampleParams}, then the transforms. */
  public float[] apply(float[] image, SplittableRandom random) {
    return apply(image, sampleParams(random));
  }

  /** Applies the transforms of {@code params} in their order to a {@code (1, H, W)} tensor (a new array). */
  public static float[] apply(float[] image, Params params) {
    float[] img = image.clone();
    for (int fn : params.order()) {
      switch (fn) {
        case 0 -> {
          if (params.brightness() != null) {
            img = adjustBrightness(img, params.brightness());
          }
        }
        case 1 -> {
          if (params.contrast() != null) {
            img = adjustContrast(img, params.contrast());
          }
        }
        case 2 -> {
          if (params.saturation() != null) {
            img = adjustSaturation(img, params.saturation());
          }
        }
        case 3 -> {
          if (params.hue() != null) {
            img = adjustHue(img, params.hue());
          }
        }
        default -> throw new IllegalArgumentException("transform index " + fn + " is not 0..3");
      }
    }
    return img;
  }

  /** {@code F.adjust_brightness} on a one-channel {@code float32} tensor. */
  public static float[] adjustBrightness(float[] img, double factor) {
    if (factor < 0) {
      throw new IllegalArgumentException("brightness_factor (" + factor + ") is not non-negative.");
    }
    return blend(img, 0f, factor);
  }

  /** {@code F.adjust_contrast} on a one-channel {@code float32} tensor ({@code torch.mean} as {@link #mean}). */
  public static float[] adjustContrast(float[] img, double factor) {
    if (factor < 0) {
      throw new IllegalArgumentException("contrast_factor (" + factor + ") is not non-negative.");
    }
    return blend(img, mean(img), factor);
  }

  /** {@code F.adjust_contrast} given the image mean PyTorch computed: bit-equal to torchvision. */
  public static float[] adjustContrast(float[] img, double factor, float mean) {
    if (factor < 0) {
      throw new IllegalArgumentException("contrast_factor (" + factor + ") is not non-negative.");
    }
    return blend(img, mean, factor);
  }

  /** {@code F.adjust_saturation} on a one-channel tensor: the image itself (torchvision returns it early). */
  public static float[] adjustSaturation(float[] img, double factor) {
    if (factor < 0) {
      throw new IllegalArgumentException("saturation_factor (" + factor + ") is not non-negative.");
    }
    return img;
  }

  /** {@code F.adjust_hue} on a one-channel tensor: validates the factor, returns the image itself. */
  public static float[] adjustHue(float[] img, double factor) {
    if (!(-0.5 <= factor && factor <= 0.5)) {
      throw new IllegalArgumentException("hue_factor (" + factor + ") is not in [-0.5, 0.5].");
    }
    return img;
  }

  /**
   * {@code torch.mean} of a contiguous {@code float32} tensor on the CPU with one thread: PyTorch's
   * {@code float32} sum ({@link #torchSum}) divided by the count in {@code float32}.
   */
  static float mean(float[] img) {
    return torchSum(img) / (float) img.length;
  }

  /** The lanes of PyTorch's {@code Vectorized<float>} on AVX2 (and its non-SIMD build): 8. */
  private static final int LANES = 8;

  /**
   * PyTorch 1.13's CPU {@code sum} of a contiguous {@code float32} vector ({@code cascade_sum}): with at least 8
   * values, 8 lanes, each summing its strided elements with {@code row_sum} (4 interleaved accumulators over a
   * 4-level cascade); then, starting from 0, the leftover tail in order and the 8 lane sums in order. Fewer than 8
   * values take {@code row_sum} directly.
   */
  static float torchSum(float[] a) {
    int n = a.length;
    if (n < LANES) {
      return rowSum(a, 0, 1, n);
    }
    int vecSize = n / LANES;
    float total = 0f;
    for (int k = vecSize * LANES; k < n; k++) {
      total += a[k];
    }
    for (int lane = 0; lane < LANES; lane++) {
      total += rowSum(a, lane, LANES, vecSize);
    }
    return total;
  }

  /** PyTorch's {@code row_sum} of {@code size} values {@code a[start + i * stride]}. */
  private static float rowSum(float[] a, int start, int stride, int size) {
    int ilp = 4;
    int rows = size / ilp;
    float[] partial = multiRowSum(a, start, stride, rows);
    for (int i = rows * ilp; i < size; i++) {
      partial[0] += a[start + i * stride];
    }
    for (int k = 1; k < ilp; k++) {
      partial[0] += partial[k];
    }
    return partial[0];
  }

  /** PyTorch's {@code multi_row_sum}: 4 columns of {@code rows} rows, accumulated in a 4-level cascade. */
  private static float[] multiRowSum(float[] a, int start, int stride, int rows) {
    final int levels = 4;
    final int cols = 4;
    int levelPower = Math.max(4, ceilLog2(rows) / levels);
    long levelStep = 1L << levelPower;
    long levelMask = levelStep - 1;
    float[][] acc = new float[levels][cols];
    long i = 0;
    while (i + levelStep <= rows) {
      for (long j = 0; j < levelStep; j++, i++) {
        for (int k = 0; k < cols; k++) {
          acc[0][k] += a[(int) (start + (i * cols + k) * stride)];
        }
      }
      for (int j = 1; j < levels; j++) {
        for (int k = 0; k < cols; k++) {
          acc[j][k] += acc[j - 1][k];
          acc[j - 1][k] = 0f;
        }
        if ((i & (levelMask << (j * levelPower))) != 0) {
          break;
        }
      }
    }
    for (; i < rows; i++) {
      for (int k = 0; k < cols; k++) {
        acc[0][k] += a[(int) (start + (i * cols + k) * stride)];
      }
    }
    for (int j = 1; j < levels; j++) {
      for (int k = 0; k < cols; k++) {
        acc[0][k] += acc[j][k];
      }
    }
    return acc[0];
  }

  /** c10's {@code CeilLog2}: 1 for values up to 2. */
  private static int ceilLog2(long x) {
    return x <= 2 ? 1 : 64 - Long.numberOfLeadingZeros(x - 1);
  }

  /** torchvision's {@code _blend(img, other, ratio)} with a constant {@code other}, bound 1 for float tensors. */
  private static float[] blend(float[] img, float other, double ratio) {
    float r = (float) ratio;
    float rest = (float) (1.0 - ratio) * other;
    float[] out = new float[img.length];
    for (int i = 0; i < img.length; i++) {
      float v = r * img[i] + rest;
      out[i] = Math.min(Math.max(v, 0f), 1f);
    }
    return out;
  }

  @Override
  public String toString() {
    return "ColorJitter(brightness=" + Arrays.toString(brightness) + ", contrast=" + Arrays.toString(contrast)
        + ", saturation=" + Arrays.toString(saturation) + ", hue=" + Arrays.toString(hue) + ")";
  }
}
