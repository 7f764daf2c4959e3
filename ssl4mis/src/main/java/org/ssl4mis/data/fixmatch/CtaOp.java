package org.ssl4mis.data.fixmatch;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The {@code OPS} table of {@code ctaugment.py}, in its registration order (which is the order the reference's
 * {@code policy} splits on: the first {@value CTAugment#NUM_STRONG_OPS} are the strong ops, the rest the weak
 * ops). Each op has its argument bins (one count per argument, e.g. {@code rescale} has a 17-bin scale and a
 * 6-bin method; {@code identity} has none) and maps its arguments in {@code [0, 1]} to a Pillow call exactly as
 * the reference does:
 *
 * <table>
 *   <caption>Ops and their arguments</caption>
 *   <tr><th>op</th><th>bins</th><th>Pillow call</th></tr>
 *   <tr><td>autocontrast, equalize, invert</td><td>17</td>
 *       <td>{@code Image.blend(x, ImageOps.op(x), level)}</td></tr>
 *   <tr><td>brightness, color, contrast, sharpness</td><td>17</td>
 *       <td>{@code ImageEnhance.Op(x).enhance(0.1 + 1.9 * level)}</td></tr>
 *   <tr><td>posterize</td><td>8</td><td>{@code ImageOps.posterize(x, 1 + int(level * 7.999))}</td></tr>
 *   <tr><td>solarize</td><td>17</td><td>{@code ImageOps.solarize(x, int(th * 255.999))}</td></tr>
 *   <tr><td>smooth, blur</td><td>17</td><td>{@code Image.blend(x, x.filter(SMOOTH / BLUR), level)}</td></tr>
 *   <tr><td>cutout</td><td>17</td><td>zeroes a square of side {@code 2 * (size // 2)},
 *       {@code size = 1 + int(level * min(w, h) * 0.499)}, centred at {@code randint(w // 2, w)},
 *       {@code randint(w // 2, h)} (the reference uses {@code w // 2} as the lower bound of both)</td></tr>
 *   <tr><td>identity</td><td>-</td><td>{@code x}</td></tr>
 *   <tr><td>rescale</td><td>17, 6</td><td>{@code x.crop((s w, s h, w (1 - s), h (1 - s))).resize((w, h), m)} with
 *       {@code s = 0.25 scale} and {@code m = (LANCZOS, BICUBIC, BILINEAR, BOX, HAMMING, NEAREST)[int(method *
 *       5.99)]}</td></tr>
 *   <tr><td>rotate</td><td>17</td><td>{@code x.rotate(int(np.round((2 angle - 1) 45)))}</td></tr>
 *   <tr><td>shear_x, shear_y</td><td>17</td><td>{@code x.transform(size, AFFINE, (1, s, 0, 0, 1, 0))} /
 *       {@code (1, 0, 0, s, 1, 0)}, {@code s = (2 shear - 1) 0.3}</td></tr>
 *   <tr><td>translate_x, translate_y</td><td>17</td><td>{@code x.transform(size, AFFINE, (1, 0, d, 0, 1, 0))} /
 *       {@code (1, 0, 0, 0, 1, d)}, {@code d = (2 delta - 1) 0.3} pixels: the reference's shift is at most 0.3
 *       of a pixel, which nearest-neighbour sampling turns into the identity</td></tr>
 * </table>
 *
 * <p>Only {@code cutout} draws random numbers (two {@code randint}s, here from the {@link SplittableRandom} given to
 * {@link #apply}); every other op is a pure function of its image and arguments, bit-equal to Pillow 9.4.
 */
public enum CtaOp {
  AUTOCONTRAST(17),
  BRIGHTNESS(17),
  COLOR(17),
  CONTRAST(17),
  EQUALIZE(17),
  INVERT(17),
  POSTERIZE(8),
  SOLARIZE(17),
  SMOOTH(17),
  BLUR(17),
  SHARPNESS(17),
  // weak after here
  CUTOUT(17),
  IDENTITY(),
  RESCALE(17, 6),
  ROTATE(17),
  SHEAR_X(17),
  SHEAR_Y(17),
  TRANSLATE_X(17),
  TRANSLATE_Y(17);

  /** {@code rescale}'s methods, indexed by {@code int(method * 5.99)} (ANTIALIAS is LANCZOS in Pillow 9). */
  static final List<Pil.Resample> RESCALE_METHODS = List.of(Pil.Resample.LANCZOS, Pil.Resample.BICUBIC,
      Pil.Resample.BILINEAR, Pil.Resample.BOX, Pil.Resample.HAMMING, Pil.Resample.NEAREST);

  private final int[] bins;

  CtaOp(int... bins) {
    this.bins = bins;
  }

  /** The reference's name of the op ({@code OPS} key), e.g. {@code "shear_x"}. */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The number of bins of each argument ({@code OPS[k].bins}); empty for {@code identity}. */
  public int[] bins() {
    return bins.clone();
  }

  /** How many arguments the op takes. */
  public int arity() {
    return bins.length;
  }

  /** Whether the reference's {@code policy(weak=True)} draws this op (the ops after the strong ones). */
  public boolean isWeak() {
    return ordinal() >= CTAugment.NUM_STRONG_OPS;
  }

  /** The op whose reference name is {@code key}. */
  public static CtaOp fromKey(String key) {
    for (CtaOp op : values()) {
      if (op.key().equals(key)) {
        return op;
      }
    }
    throw new IllegalArgumentException("no CTAugment op named '" + key + "'");
  }

  /**
   * {@code OPS[key].f(x, *args)}. {@code random} is used by {@code cutout} only (and may be null for the other
   * ops). The input is never modified (the reference's {@code cutout} paints into its argument; that is not
   * observable in how the reference uses it, and here it works on a copy).
   */
  public GrayImage apply(GrayImage x, double[] args, SplittableRandom random) {
    if (args.length != bins.length) {
      throw new IllegalArgumentException(key() + " takes " + bins.length + " argument(s), got "
          + Arrays.toString(args));
    }
    return switch (this) {
      case AUTOCONTRAST -> Pil.blend(x, Pil.autocontrast(x), args[0]);
      case BRIGHTNESS -> Pil.brightness(x, enhanceFactor(args[0]));
      case COLOR -> Pil.color(x, enhanceFactor(args[0]));
      case CONTRAST -> Pil.contrast(x, enhanceFactor(args[0]));
      case EQUALIZE -> Pil.blend(x, Pil.equalize(x), args[0]);
      case INVERT -> Pil.blend(x, Pil.invert(x), args[0]);
      case POSTERIZE -> Pil.posterize(x, 1 + (int) (args[0] * 7.999));
      case SOLARIZE -> Pil.solarize(x, (int) (args[0] * 255.999));
      case SMOOTH -> Pil.blend(x, Pil.smooth(x), args[0]);
      case BLUR -> Pil.blend(x, Pil.blur(x), args[0]);
      case SHARPNESS -> Pil.sharpness(x, enhanceFactor(args[0]));
      case CUTOUT -> {
        int w = x.width();
        int h = x.height();
        if (random == null) {
          throw new IllegalArgumentException("cutout draws its position and needs a random generator");
        }
        // np.random.randint(low=w // 2, high=w), then randint(low=w // 2, high=h)
        int xLoc = randint(random, w / 2, w);
        int yLoc = randint(random, w / 2, h);
        yield cutout(x, args[0], xLoc, yLoc);
      }
      case IDENTITY -> x;
      case RESCALE -> rescale(x, args[0], args[1]);
      case ROTATE -> Pil.rotate(x, (int) Math.rint((2 * args[0] - 1) * 45));
      case SHEAR_X -> Pil.transformAffine(x, x.width(), x.height(),
          new double[] {1, (2 * args[0] - 1) * 0.3, 0, 0, 1, 0}, Pil.Resample.NEAREST);
      case SHEAR_Y -> Pil.transformAffine(x, x.width(), x.height(),
          new double[] {1, 0, 0, (2 * args[0] - 1) * 0.3, 1, 0}, Pil.Resample.NEAREST);
      case TRANSLATE_X -> Pil.transformAffine(x, x.width(), x.height(),
          new double[] {1, 0, (2 * args[0] - 1) * 0.3, 0, 1, 0}, Pil.Resample.NEAREST);
      case TRANSLATE_Y -> Pil.transformAffine(x, x.width(), x.height(),
          new double[] {1, 0, 0, 0, 1, (2 * args[0] - 1) * 0.3}, Pil.Resample.NEAREST);
    };
  }

  private static double enhanceFactor(double level) {
    return 0.1 + 1.9 * level;
  }

  private static int randint(SplittableRandom random, int low, int high) {
    if (low >= high) {
      throw new IllegalArgumentException("cutout: randint(low=" + low + ", high=" + high + ") has low >= high (the"
          + " reference draws the row position from [width // 2, height), which is empty for this image)");
    }
    return random.nextInt(low, high);
  }

  /**
   * The reference's {@code cutout} with its two random positions given: zero the pixels with column in
   * {@code [max(0, xLoc - size // 2), min(w, xLoc + size // 2))} and row in
   * {@code [max(0, yLoc - size // 2), min(h, yLoc + size // 2))}.
   */
  public static GrayImage cutout(GrayImage x, double level, int xLoc, int yLoc) {
    int w = x.width();
    int h = x.height();
    int size = 1 + (int) (level * Math.min(w, h) * 0.499);
    int half = size / 2;
    int x0 = Math.max(0, xLoc - half);
    int y0 = Math.max(0, yLoc - half);
    int x1 = Math.min(w, xLoc + half);
    int y1 = Math.min(h, yLoc + half);
    byte[] p = x.pixels().clone();
    for (int i = x0; i < x1; i++) {
      for (int j = y0; j < y1; j++) {
        p[j * w + i] = 0;
      }
    }
    return new GrayImage(w, h, p);
  }

  private static GrayImage rescale(GrayImage x, double scale, double method) {
    int w = x.width();
    int h = x.height();
    scale *= 0.25;
    GrayImage cropped = Pil.crop(x, scale * w, scale * h, w * (1 - scale), h * (1 - scale));
    return Pil.resize(cropped, w, h, RESCALE_METHODS.get((int) (method * 5.99)));
  }
}
