package org.ssl4mis.data.fixmatch;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * The Pillow 9.4 operations that CTAugment ({@code ctaugment.py}) applies, on mode {@code 'L'} images
 * ({@link GrayImage}), reproducing Pillow's results bit for bit: the same arithmetic in the same types
 * ({@code float} where Pillow's C code uses {@code float}, {@code double} where it uses {@code double}, its
 * 16.16 and 22-bit fixed point), in the same order, with the same rounding, clipping and borders.
 *
 * <ul>
 *   <li>{@link #blend} = {@code Image.blend} (alpha becomes a C {@code float}; inside {@code [0, 1]} the result
 *       is truncated, outside it is clipped to {@code 0..255} first).</li>
 *   <li>{@code ImageEnhance}: {@link #brightness} (blend with black), {@link #color} (a grayscale image's
 *       degenerate is itself, so always a copy), {@link #contrast} (blend with the mean gray,
 *       {@code int(mean + 0.5)}), {@link #sharpness} (blend with {@link #smooth}).</li>
 *   <li>{@code ImageOps}: {@link #autocontrast} (no cutoff), {@link #equalize}, {@link #invert},
 *       {@link #posterize}, {@link #solarize}, through {@link #point} (a look-up table clipped to 0..255).</li>
 *   <li>{@code ImageFilter}: {@link #filter} with Pillow's 3x3 / 5x5 float kernels (kernel/scale in
 *       {@code float}, +0.5 rounding offset, the border rows and columns copied unfiltered, images smaller than
 *       the kernel copied); {@link #smooth} = {@code SMOOTH}, {@link #blur} = {@code BLUR}.</li>
 *   <li>{@link #transformAffine} = {@code Image.transform(size, AFFINE, data, resample)} with
 *       {@link Resample#NEAREST} (Pillow's scale-only table path, its 16.16 fixed-point path, or its double path
 *       for huge images) or {@link Resample#BILINEAR}; outside the source the fill is 0.</li>
 *   <li>{@link #rotate} = {@code Image.rotate(angle)} (nearest, no expand, centre {@code (w/2, h/2)}, the
 *       matrix entries rounded to 15 decimals like Python's {@code round(x, 15)}, the 0/90/180/270 fast
 *       paths).</li>
 *   <li>{@link #crop} = {@code Image.crop} with Python's {@code round} (half to even) on the box, zero outside
 *       the image; {@link #resize} = {@code Image.resize} with every {@link Resample} filter (Pillow's two-pass
 *       convolution with 22-bit fixed-point coefficients, or the nearest-neighbour affine path).</li>
 * </ul>
 *
 * <p>Trigonometry ({@link #rotate}'s matrix, the Lanczos and Hamming kernels) uses {@link StrictMath}, where
 * Pillow calls the C library; both are accurate to within an ulp, and the 15-decimal rounding and the
 * fixed-point conversion hide that in every case the tests exercise. All methods return new images and never
 * modify their inputs.
 */
public final class Pil {
  private Pil() {}

  /** Pillow's resampling filters, with their integer values ({@code Image.Resampling}). */
  public enum Resample {
    NEAREST(0, 0.0),
    /** Also {@code Image.ANTIALIAS} in Pillow 9. */
    LANCZOS(1, 3.0),
    BILINEAR(2, 1.0),
    BICUBIC(3, 2.0),
    BOX(4, 0.5),
    HAMMING(5, 1.0);

    private final int pilValue;
    private final double support;

    Resample(int pilValue, double support) {
      this.pilValue = pilValue;
      this.support = support;
    }

    /** The value of {@code Image.Resampling.X} in Pillow. */
    public int pilValue() {
      return pilValue;
    }

    double filter(double x) {
      return switch (this) {
        case BOX -> x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
        case BILINEAR -> {
          double a = x < 0.0 ? -x : x;
          yield a < 1.0 ? 1.0 - a : 0.0;
        }
        case HAMMING -> {
          double a = x < 0.0 ? -x : x;
          if (a == 0.0) {
            yield 1.0;
          }
          if (a >= 1.0) {
            yield 0.0;
          }
          a = a * Math.PI;
          // Pillow writes the two constants as C floats
          yield StrictMath.sin(a) / a * (0.54f + 0.46f * StrictMath.cos(a));
        }
        case BICUBIC -> {
          double a = x < 0.0 ? -x : x;
          if (a < 1.0) {
            yield ((-0.5 + 2.0) * a - (-0.5 + 3.0)) * a * a + 1;
          }
          if (a < 2.0) {
            yield (((a - 5) * a + 8) * a - 4) * -0.5;
          }
          yield 0.0;
        }
        case LANCZOS -> -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
        case NEAREST -> throw new IllegalStateException("nearest has no convolution kernel");
      };
    }

    private static double sinc(double x) {
      if (x == 0.0) {
        return 1.0;
      }
      x = x * Math.PI;
      return StrictMath.sin(x) / x;
    }
  }

  // ---- ImageEnhance / Image.blend ---------------------------------------------------------------------

  /** {@code Image.blend(im1, im2, alpha)}: {@code im1 + alpha (im2 - im1)} in C {@code float}. */
  public static GrayImage blend(GrayImage im1, GrayImage im2, double alpha) {
    requireSameSize(im1, im2);
    float a = (float) alpha;
    if (a == 0f) {
      return im1.copy();
    }
    if (a == 1f) {
      return im2.copy();
    }
    byte[] p1 = im1.pixels();
    byte[] p2 = im2.pixels();
    byte[] out = new byte[p1.length];
    if (a >= 0 && a <= 1.0) {
      for (int i = 0; i < out.length; i++) {
        int v1 = p1[i] & 0xFF;
        int v2 = p2[i] & 0xFF;
        out[i] = (byte) (int) (v1 + a * (v2 - v1));
      }
    } else {
      for (int i = 0; i < out.length; i++) {
        int v1 = p1[i] & 0xFF;
        int v2 = p2[i] & 0xFF;
        float t = v1 + a * (v2 - v1);
        out[i] = (byte) (t <= 0f ? 0 : t >= 255f ? 255 : (int) t);
      }
    }
    return new GrayImage(im1.width(), im1.height(), out);
  }

  /** {@code ImageEnhance.Brightness(img).enhance(factor)}. */
  public static GrayImage brightness(GrayImage img, double factor) {
    return blend(GrayImage.filled(img.width(), img.height(), 0), img, factor);
  }

  /** {@code ImageEnhance.Color(img).enhance(factor)}: for mode 'L' the degenerate is the image itself. */
  public static GrayImage color(GrayImage img, double factor) {
    return blend(img.copy(), img, factor);
  }

  /** {@code ImageEnhance.Contrast(img).enhance(factor)}: blend with {@code int(mean + 0.5)} gray. */
  public static GrayImage contrast(GrayImage img, double factor) {
    return blend(GrayImage.filled(img.width(), img.height(), statMeanRounded(img)), img, factor);
  }

  /** {@code ImageEnhance.Sharpness(img).enhance(factor)}: blend with the {@code SMOOTH}-filtered image. */
  public static GrayImage sharpness(GrayImage img, double factor) {
    return blend(smooth(img), img, factor);
  }

  /** {@code int(ImageStat.Stat(img).mean[0] + 0.5)}: the histogram-weighted sum in double over the count. */
  static int statMeanRounded(GrayImage img) {
    int[] h = histogram(img);
    double sum = 0.0;
    long count = 0;
    for (int j = 0; j < 256; j++) {
      sum += (double) ((long) j * h[j]);
      count += h[j];
    }
    return (int) (sum / count + 0.5);
  }

  // ---- ImageOps ------------------------------------------------------------------------------------------

  /** {@code img.histogram()}: the count of each value 0..255. */
  public static int[] histogram(GrayImage img) {
    int[] h = new int[256];
    for (byte b : img.pixels()) {
      h[b & 0xFF]++;
    }
    return h;
  }

  /** {@code img.point(lut)} with a 256-entry table; entries are clipped to 0..255 as Pillow does. */
  public static GrayImage point(GrayImage img, int[] lut) {
    if (lut.length != 256) {
      throw new IllegalArgumentException("wrong number of lut entries: " + lut.length);
    }
    byte[] table = new byte[256];
    for (int i = 0; i < 256; i++) {
      table[i] = (byte) Math.max(0, Math.min(255, lut[i]));
    }
    byte[] in = img.pixels();
    byte[] out = new byte[in.length];
    for (int i = 0; i < in.length; i++) {
      out[i] = table[in[i] & 0xFF];
    }
    return new GrayImage(img.width(), img.height(), out);
  }

  /** {@code ImageOps.autocontrast(img)} (cutoff 0, no ignore, no mask). */
  public static GrayImage autocontrast(GrayImage img) {
    int[] h = histogram(img);
    int lo = 0;
    while (lo < 255 && h[lo] == 0) {
      lo++;
    }
    int hi = 255;
    while (hi > 0 && h[hi] == 0) {
      hi--;
    }
    int[] lut = new int[256];
    if (hi <= lo) {
      for (int i = 0; i < 256; i++) {
        lut[i] = i;
      }
    } else {
      double scale = 255.0 / (hi - lo);
      double offset = -lo * scale;
      for (int i = 0; i < 256; i++) {
        int v = (int) (i * scale + offset);
        lut[i] = Math.max(0, Math.min(255, v));
      }
    }
    return point(img, lut);
  }

  /** {@code ImageOps.equalize(img)} (no mask). */
  public static GrayImage equalize(GrayImage img) {
    int[] h = histogram(img);
    int[] lut = new int[256];
    long total = 0;
    int nonZero = 0;
    int last = 0;
    for (int i = 0; i < 256; i++) {
      if (h[i] != 0) {
        nonZero++;
        total += h[i];
        last = h[i];
      }
    }
    long step = nonZero <= 1 ? 0 : (total - last) / 255;
    if (step == 0) {
      for (int i = 0; i < 256; i++) {
        lut[i] = i;
      }
    } else {
      long n = step / 2;
      for (int i = 0; i < 256; i++) {
        lut[i] = (int) Math.min(Integer.MAX_VALUE, n / step);
        n += h[i];
      }
    }
    return point(img, lut);
  }

  /** {@code ImageOps.invert(img)}: {@code 255 - v}. */
  public static GrayImage invert(GrayImage img) {
    int[] lut = new int[256];
    for (int i = 0; i < 256; i++) {
      lut[i] = 255 - i;
    }
    return point(img, lut);
  }

  /** {@code ImageOps.posterize(img, bits)}: keeps the top {@code bits} bits (1..8). */
  public static GrayImage posterize(GrayImage img, int bits) {
    if (bits < 1 || bits > 8) {
      throw new IllegalArgumentException("posterize keeps 1..8 bits, got " + bits);
    }
    int mask = ~((1 << (8 - bits)) - 1);
    int[] lut = new int[256];
    for (int i = 0; i < 256; i++) {
      lut[i] = i & mask;
    }
    return point(img, lut);
  }

  /** {@code ImageOps.solarize(img, threshold)}: values at or above the threshold are inverted. */
  public static GrayImage solarize(GrayImage img, int threshold) {
    int[] lut = new int[256];
    for (int i = 0; i < 256; i++) {
      lut[i] = i < threshold ? i : 255 - i;
    }
    return point(img, lut);
  }

  // ---- ImageFilter ---------------------------------------------------------------------------------------

  private static final int[] SMOOTH_KERNEL = {1, 1, 1, 1, 5, 1, 1, 1, 1};
  private static final int[] BLUR_KERNEL = {
      1, 1, 1, 1, 1,
      1, 0, 0, 0, 1,
      1, 0, 0, 0, 1,
      1, 0, 0, 0, 1,
      1, 1, 1, 1, 1};

  /** {@code img.filter(ImageFilter.SMOOTH)}: 3x3 kernel {@code [1 1 1; 1 5 1; 1 1 1] / 13}. */
  public static GrayImage smooth(GrayImage img) {
    return filter(img, 3, SMOOTH_KERNEL, 13, 0);
  }

  /** {@code img.filter(ImageFilter.BLUR)}: the 5x5 ring of ones, {@code / 16}. */
  public static GrayImage blur(GrayImage img) {
    return filter(img, 5, BLUR_KERNEL, 16, 0);
  }

  /**
   * {@code img.filter(ImageFilter.Kernel((size, size), kernel, scale, offset))} for a 3x3 or 5x5 kernel, as
   * Pillow computes it: each weight {@code (float) k / scale}, per pixel a {@code float} sum started at
   * {@code offset + 0.5} and accumulated row by row (the kernel's first row against the image row below, as
   * Pillow's loops are laid out), clipped and truncated; the outer 1 (3x3) or 2 (5x5) rows and columns are
   * copied unfiltered, and an image smaller than the kernel is returned unchanged.
   */
  public static GrayImage filter(GrayImage img, int size, int[] kernel, float scale, float offset) {
    if ((size != 3 && size != 5) || kernel.length != size * size) {
      throw new IllegalArgumentException("bad kernel size");
    }
    int w = img.width();
    int h = img.height();
    if (w < size || h < size) {
      return img.copy();
    }
    float[] k = new float[kernel.length];
    for (int i = 0; i < k.length; i++) {
      k[i] = (float) kernel[i] / scale;
    }
    float off = (float) (offset + 0.5);
    byte[] in = img.pixels();
    byte[] out = in.clone(); // the borders stay as they are
    int r = size / 2;
    for (int y = r; y < h - r; y++) {
      for (int x = r; x < w - r; x++) {
        float ss = off;
        for (int row = 0; row < size; row++) {
          int base = (y + r - row) * w + x; // the kernel's first row meets the lowest image row
          float rowSum;
          if (size == 3) {
            rowSum = (in[base - 1] & 0xFF) * k[row * 3] + (in[base] & 0xFF) * k[row * 3 + 1]
                + (in[base + 1] & 0xFF) * k[row * 3 + 2];
          } else {
            rowSum = (in[base - 2] & 0xFF) * k[row * 5] + (in[base - 1] & 0xFF) * k[row * 5 + 1]
                + (in[base] & 0xFF) * k[row * 5 + 2] + (in[base + 1] & 0xFF) * k[row * 5 + 3]
                + (in[base + 2] & 0xFF) * k[row * 5 + 4];
          }
          ss += rowSum;
        }
        out[y * w + x] = (byte) (ss <= 0f ? 0 : ss >= 255f ? 255 : (int) ss);
      }
    }
    return new GrayImage(w, h, out);
  }

  // ---- geometry ------------------------------------------------------------------------------------------

  /**
   * {@code img.transform((outWidth, outHeight), Image.AFFINE, a, resample)}: output pixel centre
   * {@code (x + 0.5, y + 0.5)} reads the source at {@code (a0 x + a1 y + a2, a3 x + a4 y + a5)}; pixels that
   * fall outside the source are 0. Only {@link Resample#NEAREST} and {@link Resample#BILINEAR} are implemented.
   */
  public static GrayImage transformAffine(GrayImage img, int outWidth, int outHeight, double[] a, Resample resample) {
    Objects.requireNonNull(resample, "resample");
    if (a.length < 6) {
      throw new IllegalArgumentException("an affine transform has 6 coefficients, got " + a.length);
    }
    if (outWidth < 1 || outHeight < 1) {
      throw new IllegalArgumentException("output size must be positive, got " + outWidth + "x" + outHeight);
    }
    return switch (resample) {
      case NEAREST -> {
        if (a[1] == 0 && a[3] == 0) {
          yield scaleAffine(img, outWidth, outHeight, a);
        }
        if (checkFixed(a, 0, 0) && checkFixed(a, outWidth, outHeight) && checkFixed(a, 0, outHeight)
            && checkFixed(a, outWidth, 0)) {
          yield affineFixed(img, outWidth, outHeight, a);
        }
        yield affineDouble(img, outWidth, outHeight, a);
      }
      case BILINEAR -> bilinearAffine(img, outWidth, outHeight, a);
      default -> throw new IllegalArgumentException("affine transforms here support NEAREST and BILINEAR, not "
          + resample);
    };
  }

  private static int coord(double v) {
    return v < 0.0 ? -1 : (int) v;
  }

  private static int floorInt(double v) {
    return v < 0.0 ? (int) Math.floor(v) : (int) v;
  }

  /** Pillow's scale/translate-only nearest path: a column table, then rows. */
  private static GrayImage scaleAffine(GrayImage img, int outW, int outH, double[] a) {
    int inW = img.width();
    int inH = img.height();
    byte[] in = img.pixels();
    byte[] out = new byte[outW * outH];
    int[] xintab = new int[outW];
    double xo = a[2] + a[0] * 0.5;
    double yo = a[5] + a[4] * 0.5;
    int xmin = outW;
    int xmax = 0;
    for (int x = 0; x < outW; x++) {
      int xin = coord(xo);
      if (xin >= 0 && xin < inW) {
        xmax = x + 1;
        if (x < xmin) {
          xmin = x;
        }
        xintab[x] = xin;
      }
      xo += a[0];
    }
    for (int y = 0; y < outH; y++) {
      int yi = coord(yo);
      if (yi >= 0 && yi < inH) {
        int src = yi * inW;
        int dst = y * outW;
        for (int x = xmin; x < xmax; x++) {
          out[dst + x] = in[src + xintab[x]];
        }
      }
      yo += a[4];
    }
    return new GrayImage(outW, outH, out);
  }

  private static boolean checkFixed(double[] a, int x, int y) {
    return Math.abs(x * a[0] + y * a[1] + a[2]) < 32768.0 && Math.abs(x * a[3] + y * a[4] + a[5]) < 32768.0;
  }

  private static int fix16(double v) {
    return floorInt(v * 65536.0 + 0.5);
  }

  /** Pillow's 16.16 fixed-point nearest-neighbour affine path. */
  private static GrayImage affineFixed(GrayImage img, int outW, int outH, double[] a) {
    int inW = img.width();
    int inH = img.height();
    byte[] in = img.pixels();
    byte[] out = new byte[outW * outH];
    int a0 = fix16(a[0]);
    int a1 = fix16(a[1]);
    int a3 = fix16(a[3]);
    int a4 = fix16(a[4]);
    int a2 = fix16(a[2] + a[0] * 0.5 + a[1] * 0.5);
    int a5 = fix16(a[5] + a[3] * 0.5 + a[4] * 0.5);
    for (int y = 0; y < outH; y++) {
      int xx = a2;
      int yy = a5;
      int dst = y * outW;
      for (int x = 0; x < outW; x++) {
        int xin = xx >> 16;
        if (xin >= 0 && xin < inW) {
          int yin = yy >> 16;
          if (yin >= 0 && yin < inH) {
            out[dst + x] = in[yin * inW + xin];
          }
        }
        xx += a0;
        yy += a3;
      }
      a2 += a1;
      a5 += a4;
    }
    return new GrayImage(outW, outH, out);
  }

  /** Pillow's double-precision nearest path, used when coordinates leave the 16.16 range. */
  private static GrayImage affineDouble(GrayImage img, int outW, int outH, double[] a) {
    int inW = img.width();
    int inH = img.height();
    byte[] in = img.pixels();
    byte[] out = new byte[outW * outH];
    double xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
    double yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
    for (int y = 0; y < outH; y++) {
      double xx = xo;
      double yy = yo;
      int dst = y * outW;
      for (int x = 0; x < outW; x++) {
        int xin = coord(xx);
        if (xin >= 0 && xin < inW) {
          int yin = coord(yy);
          if (yin >= 0 && yin < inH) {
            out[dst + x] = in[yin * inW + xin];
          }
        }
        xx += a[0];
        yy += a[3];
      }
      xo += a[1];
      yo += a[4];
    }
    return new GrayImage(outW, outH, out);
  }

  /** Pillow's generic transform with its 8-bit bilinear filter (edge-clamped neighbours, truncated result). */
  private static GrayImage bilinearAffine(GrayImage img, int outW, int outH, double[] a) {
    int inW = img.width();
    int inH = img.height();
    byte[] in = img.pixels();
    byte[] out = new byte[outW * outH];
    for (int y = 0; y < outH; y++) {
      for (int x = 0; x < outW; x++) {
        double px = x + 0.5;
        double py = y + 0.5;
        double xin = a[0] * px + a[1] * py + a[2];
        double yin = a[3] * px + a[4] * py + a[5];
        if (xin < 0.0 || xin >= inW || yin < 0.0 || yin >= inH) {
          continue;
        }
        xin -= 0.5;
        yin -= 0.5;
        int xi = floorInt(xin);
        int yi = floorInt(yin);
        double dx = xin - xi;
        double dy = yin - yi;
        int x0 = clampIndex(xi, inW);
        int x1 = clampIndex(xi + 1, inW);
        int row = clampIndex(yi, inH) * inW;
        int p0 = in[row + x0] & 0xFF;
        int p1 = in[row + x1] & 0xFF;
        double v1 = p0 + (p1 - p0) * dx;
        double v2;
        if (yi + 1 >= 0 && yi + 1 < inH) {
          int row2 = (yi + 1) * inW;
          int q0 = in[row2 + x0] & 0xFF;
          int q1 = in[row2 + x1] & 0xFF;
          v2 = q0 + (q1 - q0) * dx;
        } else {
          v2 = v1;
        }
        v1 = v1 + (v2 - v1) * dy;
        out[y * outW + x] = (byte) (int) v1;
      }
    }
    return new GrayImage(outW, outH, out);
  }

  private static int clampIndex(int i, int n) {
    return i < 0 ? 0 : i < n ? i : n - 1;
  }

  /**
   * {@code img.rotate(angle)}: counter-clockwise by {@code angle} degrees about {@code (w / 2, h / 2)}, nearest
   * neighbour, same size, 0 outside.
   */
  public static GrayImage rotate(GrayImage img, double angle) {
    double a = pyMod(angle, 360.0);
    int w = img.width();
    int h = img.height();
    if (a == 0) {
      return img.copy();
    }
    if (a == 180) {
      return rotate180(img);
    }
    if ((a == 90 || a == 270) && w == h) {
      return a == 90 ? rotate90(img) : rotate270(img);
    }
    return transformAffine(img, w, h, rotateMatrix(w, h, a), Resample.NEAREST);
  }

  /**
   * The inverse affine matrix {@code Image.rotate} builds for a {@code w x h} image and an angle already reduced
   * modulo 360 (no centre, no translation, no expand).
   */
  public static double[] rotateMatrix(int w, int h, double angleMod360) {
    double cx = w / 2.0;
    double cy = h / 2.0;
    double rad = -(angleMod360 * (Math.PI / 180.0));
    double cos = StrictMath.cos(rad);
    double sin = StrictMath.sin(rad);
    double[] m = {round15(cos), round15(sin), 0.0, round15(-sin), round15(cos), 0.0};
    double m2 = m[0] * -cx + m[1] * -cy + 0.0;
    double m5 = m[3] * -cx + m[4] * -cy + 0.0;
    m[2] = m2 + cx;
    m[5] = m5 + cy;
    return m;
  }

  /** Python's {@code round(x, 15)}: the exact binary value rounded half-even to 15 decimals, back to double. */
  static double round15(double x) {
    if (!Double.isFinite(x) || x == 0.0) {
      return x;
    }
    double r = Double.parseDouble(new BigDecimal(x).setScale(15, RoundingMode.HALF_EVEN).toString());
    return r == 0.0 ? Math.copySign(0.0, x) : r;
  }

  /** Python's float {@code %}: the result takes the divisor's sign. */
  static double pyMod(double x, double m) {
    double r = x % m;
    if (r != 0) {
      if ((m < 0) != (r < 0)) {
        r += m;
      }
    } else {
      r = Math.copySign(0.0, m);
    }
    return r;
  }

  static GrayImage rotate180(GrayImage img) {
    byte[] in = img.pixels();
    byte[] out = new byte[in.length];
    for (int i = 0; i < in.length; i++) {
      out[in.length - 1 - i] = in[i];
    }
    return new GrayImage(img.width(), img.height(), out);
  }

  /** {@code Transpose.ROTATE_90}: counter-clockwise; the output is {@code h x w}. */
  static GrayImage rotate90(GrayImage img) {
    int w = img.width();
    int h = img.height();
    byte[] in = img.pixels();
    byte[] out = new byte[in.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        out[(w - 1 - x) * h + y] = in[y * w + x];
      }
    }
    return new GrayImage(h, w, out);
  }

  /** {@code Transpose.ROTATE_270}: clockwise; the output is {@code h x w}. */
  static GrayImage rotate270(GrayImage img) {
    int w = img.width();
    int h = img.height();
    byte[] in = img.pixels();
    byte[] out = new byte[in.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        out[x * h + (h - 1 - y)] = in[y * w + x];
      }
    }
    return new GrayImage(h, w, out);
  }

  /**
   * {@code img.crop((left, upper, right, lower))}: the box corners rounded with Python's {@code round} (half to
   * even); the parts of the box outside the image are 0.
   */
  public static GrayImage crop(GrayImage img, double left, double upper, double right, double lower) {
    if (right < left) {
      throw new IllegalArgumentException("Coordinate 'right' is less than 'left'");
    }
    if (lower < upper) {
      throw new IllegalArgumentException("Coordinate 'lower' is less than 'upper'");
    }
    int x0 = (int) Math.rint(left);
    int y0 = (int) Math.rint(upper);
    int x1 = (int) Math.rint(right);
    int y1 = (int) Math.rint(lower);
    int cw = Math.max(0, x1 - x0);
    int ch = Math.max(0, y1 - y0);
    if (cw == 0 || ch == 0) {
      throw new IllegalArgumentException("an empty crop box (" + x0 + ", " + y0 + ", " + x1 + ", " + y1
          + ") has no pixels to hold");
    }
    byte[] in = img.pixels();
    byte[] out = new byte[cw * ch];
    for (int y = 0; y < ch; y++) {
      int sy = y + y0;
      if (sy < 0 || sy >= img.height()) {
        continue;
      }
      for (int x = 0; x < cw; x++) {
        int sx = x + x0;
        if (sx >= 0 && sx < img.width()) {
          out[y * cw + x] = in[sy * img.width() + sx];
        }
      }
    }
    return new GrayImage(cw, ch, out);
  }

  /** {@code img.resize((width, height), resample)} over the whole image. */
  public static GrayImage resize(GrayImage img, int width, int height, Resample resample) {
    Objects.requireNonNull(resample, "resample");
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("height and width must be > 0");
    }
    int inW = img.width();
    int inH = img.height();
    if (width == inW && height == inH) {
      return img.copy();
    }
    if (resample == Resample.NEAREST) {
      double[] a = {(double) (float) inW / width, 0, 0, 0, (double) (float) inH / height, 0};
      return transformAffine(img, width, height, a, Resample.NEAREST);
    }
    return resampleConvolve(img, width, height, resample);
  }

  private record Coeffs(int ksize, int[] bounds, int[] kk) {}

  /** Pillow's {@code precompute_coeffs} then {@code normalize_coeffs_8bpc} for one axis ({@code in0 = 0}). */
  private static Coeffs coefficients(int inSize, float in1, int outSize, Resample filter) {
    float in0 = 0f;
    double scale = (double) (in1 - in0) / outSize;
    double filterscale = Math.max(scale, 1.0);
    double support = filter.support * filterscale;
    int ksize = (int) Math.ceil(support) * 2 + 1;
    double[] kk = new double[outSize * ksize];
    int[] bounds = new int[outSize * 2];
    for (int xx = 0; xx < outSize; xx++) {
      double center = in0 + (xx + 0.5) * scale;
      double ww = 0.0;
      double ss = 1.0 / filterscale;
      int xmin = (int) (center - support + 0.5);
      if (xmin < 0) {
        xmin = 0;
      }
      int xmax = (int) (center + support + 0.5);
      if (xmax > inSize) {
        xmax = inSize;
      }
      xmax -= xmin;
      int k = xx * ksize;
      for (int x = 0; x < xmax; x++) {
        double w = filter.filter((x + xmin - center + 0.5) * ss);
        kk[k + x] = w;
        ww += w;
      }
      for (int x = 0; x < xmax; x++) {
        if (ww != 0.0) {
          kk[k + x] /= ww;
        }
      }
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = xmax;
    }
    int[] fixed = new int[kk.length];
    for (int i = 0; i < kk.length; i++) {
      fixed[i] = kk[i] < 0 ? (int) (-0.5 + kk[i] * (1 << PRECISION_BITS))
          : (int) (0.5 + kk[i] * (1 << PRECISION_BITS));
    }
    return new Coeffs(ksize, bounds, fixed);
  }

  private static final int PRECISION_BITS = 32 - 8 - 2;

  private static byte clip8(int ss) {
    int v = ss >> PRECISION_BITS;
    return (byte) (v < 0 ? 0 : v > 255 ? 255 : v);
  }

  /** Pillow's {@code ImagingResampleInner}: horizontal pass on the rows the vertical pass needs, then vertical. */
  private static GrayImage resampleConvolve(GrayImage img, int outW, int outH, Resample filter) {
    int inW = img.width();
    int inH = img.height();
    boolean needHorizontal = outW != inW;
    boolean needVertical = outH != inH;
    Coeffs horiz = coefficients(inW, inW, outW, filter);
    Coeffs vert = coefficients(inH, inH, outH, filter);
    int[] vBounds = vert.bounds().clone();
    int yFirst = vBounds[0];
    int yLast = vBounds[outH * 2 - 2] + vBounds[outH * 2 - 1];

    byte[] src = img.pixels();
    int srcW = inW;
    int srcH = inH;
    if (needHorizontal) {
      for (int i = 0; i < outH; i++) {
        vBounds[i * 2] -= yFirst;
      }
      int tempH = yLast - yFirst;
      byte[] temp = new byte[outW * tempH];
      int ksize = horiz.ksize();
      int[] hb = horiz.bounds();
      int[] hk = horiz.kk();
      for (int yy = 0; yy < tempH; yy++) {
        int row = (yy + yFirst) * inW;
        for (int xx = 0; xx < outW; xx++) {
          int xmin = hb[xx * 2];
          int xmax = hb[xx * 2 + 1];
          int k = xx * ksize;
          int ss = 1 << (PRECISION_BITS - 1);
          for (int x = 0; x < xmax; x++) {
            ss += (src[row + x + xmin] & 0xFF) * hk[k + x];
          }
          temp[yy * outW + xx] = clip8(ss);
        }
      }
      src = temp;
      srcW = outW;
      srcH = tempH;
    }
    if (needVertical) {
      byte[] out = new byte[srcW * outH];
      int ksize = vert.ksize();
      int[] vk = vert.kk();
      for (int yy = 0; yy < outH; yy++) {
        int k = yy * ksize;
        int ymin = vBounds[yy * 2];
        int ymax = vBounds[yy * 2 + 1];
        for (int xx = 0; xx < srcW; xx++) {
          int ss = 1 << (PRECISION_BITS - 1);
          for (int y = 0; y < ymax; y++) {
            ss += (src[(y + ymin) * srcW + xx] & 0xFF) * vk[k + y];
          }
          out[yy * srcW + xx] = clip8(ss);
        }
      }
      return new GrayImage(srcW, outH, out);
    }
    return new GrayImage(srcW, srcH, src == img.pixels() ? src.clone() : src);
  }

  private static void requireSameSize(GrayImage a, GrayImage b) {
    if (a.width() != b.width() || a.height() != b.height()) {
      throw new IllegalArgumentException("images do not match: " + a.width() + "x" + a.height() + " and "
          + b.width() + "x" + b.height());
    }
  }
}
