package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_interpolation_consistency_training_2D.py} (Verma et al., "Interpolation Consistency Training
 * for Semi-Supervised Learning", IJCAI 2019): the student sees the labelled images and mixtures of pairs of
 * unlabelled ones, and its prediction on a mixture is pulled towards the same mixture of the EMA teacher's
 * predictions on the two originals.
 *
 * <p>One iteration, with {@code lb = labeled_bs} and {@code h = lb // 2}:
 * <ol>
 *   <li>{@code lam ~ Beta(ict_alpha, ict_alpha)}, {@code h} values of shape (h, 1, 1, 1);
 *   <li>{@code u0 = volume[lb:][0:h]}, {@code u1 = volume[lb:][h:]},
 *       {@code mixed = u0 * (1 - lam) + u1 * lam};
 *   <li>student: {@code outputs = model(cat(volume[:lb], mixed))}, {@code soft = softmax(outputs, 1)};
 *   <li>teacher, without gradients: {@code target = softmax(ema(u0)) * (1 - lam) + softmax(ema(u1)) * lam},
 *       two separate forward passes in training mode (the script never calls {@code ema_model.eval()}, so
 *       BatchNorm uses each half's own statistics and the teacher's dropout is active);
 *   <li>{@code loss = 0.5 * (CE + Dice)(outputs[:lb]) + w * mean((soft[lb:] - target)^2)} with
 *       {@code w = consistency * sigmoid_rampup(iter_num // 150, consistency_rampup)}.
 * </ol>
 * Logged as the script does: {@code info/loss_ce}, {@code info/loss_dice}, {@code info/consistency_loss},
 * {@code info/consistency_weight}. The script's extra image {@code train/Mixed_Unlabeled} is not produced
 * (the engine writes the common image summaries only).
 *
 * <p><b>Randomness.</b> The mixing coefficients are a NumPy-style draw ({@code np.random.beta} in the script):
 * here they come from a Java stream, {@code NativeRuntime.random("ict/" + iter_num)}, one per iteration derived
 * from the run's seed, so a run is repeatable and a resumed run draws what an uninterrupted one would (not the
 * same numbers as NumPy's, though). They are sampled by Jöhnk's method when both shape parameters are at most 1
 * (the default 0.2) and from two gamma variates otherwise. Dropout in the networks draws from libtorch's
 * generator. Tests inject the coefficients through the package-private constructor.
 *
 * <p><b>Reference quirks.</b>
 * <ul>
 *   <li>The unlabelled part is split at {@code labeled_bs // 2}, not at half of the unlabelled count. With the
 *       defaults (24 images, 12 labelled) both halves have 6 images and the mixture is what ICT means. With
 *       {@code batch_size != 2 * labeled_bs} the halves differ in size: PyTorch then either broadcasts (one
 *       image in {@code u0}: it is mixed with every image of {@code u1}, each with the same coefficient) or
 *       fails. This is a real bug in the script; it is reproduced by default, and a shape that cannot
 *       broadcast is reported clearly. The fix is {@code extra ict_split=unlabeled}: {@code h = (batch_size -
 *       labeled_bs) // 2} coefficients, {@code u0 = volume[lb:][0:h]}, {@code u1 = volume[lb:][h:2h]} (an odd
 *       last unlabelled image is left out).
 *   <li>{@code --ict_alpha} is declared {@code type=int} with the float default 0.2: the script can only be
 *       given whole numbers on its command line. Here {@code extra ict_alpha} takes any positive number.
 *   <li>The default {@code --labeled_num 300} is not in the ACDC patients-to-slices table (a KeyError in the
 *       script): pass {@code --labeled_num 7} or {@code --labeled_slices N}.
 *   <li>There is no input noise for the teacher (unlike the mean teacher), and the consistency is the mean
 *       over classes and positions of the squared difference of probabilities.
 * </ul>
 *
 * <p><b>3D</b> ({@code train_interpolation_consistency_training_3D.py}): the same step on {@code (B, 1, D, H, W)}
 * volumes with {@code h = labeled_bs // 2} coefficients of shape (h, 1, 1, 1, 1), but the script mixes the FIRST TWO
 * unlabelled volumes only: {@code u0 = volume[lb:][0:1]}, {@code u1 = volume[lb:][1:2]} (with the defaults, batch 4
 * and 2 labelled, that is all of them and one mixture; with {@code labeled_bs > 3} the same pair is mixed {@code h}
 * times with different coefficients, and any further unlabelled volume is ignored). Reproduced; {@code extra
 * ict_split=unlabeled} gives the 2D fix's pairing instead. Defaults ({@link #defaults}(3)): {@code --exp
 * BraTS2019_Interpolation_Consistency_Training}, BraTS2019, {@code unet_3D}, batch 4 with 2 labelled, patch
 * 96x96x96, {@code --labeled_num 14}, 2 classes, {@code ict_alpha} 0.2, snapshot
 * {@code ../model/{exp}_{labeled_num}_labeled/{model}} (with {@code _labeled}, unlike the other 3D scripts), and
 * 3D quirks:
 * <ul>
 *   <li>{@code --total_labeled_num 140}: the unlabelled volumes are {@code range(labeled_num, 140)}, not the rest
 *       of the list ({@link #unlabeledEnd}; the engine stops at the list's end where it is shorter, where the
 *       script would fail on a missing index);
 *   <li>validation with {@code stride_xy=32, stride_z=32} (the other 3D scripts: 64), a {@code stride_*} default
 *       of {@link #defaults}(3);
 *   <li>{@code loss/loss} is written after the log line, and the images are the 3D scripts'.
 * </ul>
 */
public final class InterpolationConsistency implements Method {
  /** The script's {@code --ict_alpha} default. */
  public static final double DEFAULT_ICT_ALPHA = 0.2;
  /** The {@code extra} key of the Beta parameter. */
  public static final String ALPHA_KEY = "ict_alpha";
  /** The {@code extra} key of the unlabelled split: {@code labeled_bs} (the script) or {@code unlabeled} (the fix). */
  public static final String SPLIT_KEY = "ict_split";

  /** The {@code extra} key of the 3D script's {@code --total_labeled_num} (the end of the unlabelled range). */
  public static final String TOTAL_LABELED_NUM_KEY = "total_labeled_num";

  /** The name of the coefficients' Java streams ({@code NativeRuntime.random("ict/<iter_num>")}). */
  static final String RANDOM_PURPOSE = "ict";

  /** Where the mixing coefficients come from: {@code n} draws of {@code Beta(alpha, alpha)}. */
  @FunctionalInterface
  interface MixFactorSampler {
    double[] sample(double alpha, int n);
  }

  private final MixFactorSampler injected;
  private DiceLoss dice;
  private double[] lastFactors = new double[0];

  public InterpolationConsistency() {
    this(null);
  }

  /** With {@code sampler} in place of the seeded Java stream (tests: fixed coefficients on both sides). */
  InterpolationConsistency(MixFactorSampler sampler) {
    this.injected = sampler;
  }

  @Override
  public String name() {
    return "ict";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_interpolation_consistency_training_2D.py"
        : "train_interpolation_consistency_training_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return true;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim == 3) {
      Map<String, String> d = new java.util.HashMap<>(MeanTeacher.meanTeacher3dDefaults(
          "BraTS2019_Interpolation_Consistency_Training"));
      d.put("labeled_num", "14");
      d.put(TOTAL_LABELED_NUM_KEY, "140");
      d.put(ALPHA_KEY, Double.toString(DEFAULT_ICT_ALPHA));
      d.put("snapshot_name", "{exp}_{labeled_num}_labeled");
      d.put("stride_xy", "32");
      d.put("stride_z", "32");
      return Map.copyOf(d);
    }
    return Map.of("exp", "ACDC/Interpolation_Consistency_Training", "labeled_num", "300", ALPHA_KEY,
        Double.toString(DEFAULT_ICT_ALPHA));
  }

  @Override
  public java.util.List<String> scriptArguments(int dim) {
    return dim == 3 ? TrainConfig.arguments3dWith(TOTAL_LABELED_NUM_KEY, ALPHA_KEY) : Method.super.scriptArguments(dim);
  }

  @Override
  public int unlabeledEnd(TrainConfig config) {
    return MethodOptions.unlabeledEnd3d(config, TOTAL_LABELED_NUM_KEY);
  }

  /** The coefficients of the last step, as drawn (before their float32 conversion). */
  double[] lastFactors() {
    return lastFactors.clone();
  }

  @Override
  @SuppressWarnings("try") // the NoGradGuard acts while open
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    Map<String, String> extra = ctx.config().extra();
    double alpha = alpha(extra);
    boolean fixedSplit = splitUnlabeled(extra);
    int lb = ctx.labeledBs();
    long unlabeledCount = volumeBatch.size(0) - lb;
    // the 3D script mixes volume[lb:][0:1] with volume[lb:][1:2] whatever the batch
    boolean firstPair = !fixedSplit && volumeBatch.dim() == 5;
    int half = fixedSplit ? (int) (unlabeledCount / 2) : lb / 2;
    if (half < 1 || unlabeledCount < (firstPair ? 2 : 1)) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "ict: %d labelled and %d unlabelled images per batch leave no pair of unlabelled images to mix", lb,
          unlabeledCount));
    }
    double[] factors = drawFactors(alpha, half, ctx.iterNum());
    lastFactors = factors.clone();

    Tensor labeled = Slicing.head(volumeBatch, lb);
    Tensor unlabeled = Slicing.tail(volumeBatch, lb);
    Tensor u0 = firstPair ? Slicing.head(unlabeled, 1) : Slicing.head(unlabeled, Math.min(half, unlabeledCount));
    Tensor u1 = firstPair ? Slicing.head(Slicing.tail(unlabeled, 1), 1)
        : fixedSplit ? Slicing.head(Slicing.tail(unlabeled, half), half) : Slicing.tail(unlabeled, half);
    checkBroadcast(u0, u1, half, lb, unlabeledCount);

    float[] asFloats = new float[factors.length];
    for (int i = 0; i < factors.length; i++) {
      asFloats[i] = (float) factors[i]; // torch.tensor(..., dtype=torch.float)
    }
    long[] factorShape = new long[(int) volumeBatch.dim()];
    java.util.Arrays.fill(factorShape, 1);
    factorShape[0] = half;
    Tensor lam = Tensors.fromFloats(asFloats, factorShape).to(volumeBatch.device(), volumeBatch.scalar_type());
    Tensor oneMinusLam = torch.rsub(lam, new Scalar(1.0));

    Tensor mixed = u0.mul(oneMinusLam).add(u1.mul(lam));
    Tensor outputs = ctx.model().logits(torch.cat(new TensorVector(labeled, mixed), 0));
    Tensor outputsSoft = torch.softmax(outputs, 1);
    Tensor target;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      Tensor teacher0 = torch.softmax(ctx.emaModel().logits(u0), 1);
      Tensor teacher1 = torch.softmax(ctx.emaModel().logits(u1), 1);
      target = teacher0.mul(oneMinusLam).add(teacher1.mul(lam));
    }

    Supervised sup = Supervised.of(dice, outputs, labelBatch, lb);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor consistency = Slicing.tail(outputsSoft, lb).sub(target).pow(new Scalar(2.0)).mean();
    Tensor loss = sup.loss().add(consistency.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", sup.lossCe().item_double());
    scalars.put("info/loss_dice", sup.lossDice().item_double());
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }

  private double[] drawFactors(double alpha, int n, int iterNum) {
    if (injected != null) {
      double[] f = injected.sample(alpha, n);
      if (f.length != n) {
        throw new IllegalStateException("the injected sampler gave " + f.length + " coefficients, expected " + n);
      }
      return f.clone();
    }
    RandomGenerator random = NativeRuntime.random(RANDOM_PURPOSE + "/" + iterNum);
    double[] f = new double[n];
    for (int i = 0; i < n; i++) {
      f[i] = sampleBeta(random, alpha, alpha);
    }
    return f;
  }

  /** Fails with the shapes involved where the script's split cannot be mixed (PyTorch would fail too). */
  private static void checkBroadcast(Tensor u0, Tensor u1, int half, int lb, long unlabeledCount) {
    long n0 = u0.size(0);
    long n1 = u1.size(0);
    long mixed = broadcast(broadcast(n0, half), broadcast(n1, half));
    if (mixed < 1) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "ict: the script splits the %d unlabelled images at labeled_bs // 2 = %d into parts of %d and %d, which"
              + " cannot be mixed with %d coefficients; use batch_size = 2 * labeled_bs, or the fix"
              + " --extra ict_split=unlabeled", unlabeledCount, lb / 2, n0, n1, half));
    }
  }

  /** The broadcast size of two batch sizes, or -1 where they do not broadcast. */
  private static long broadcast(long a, long b) {
    if (a < 0 || b < 0) {
      return -1;
    }
    return a == b ? a : a == 1 ? b : b == 1 ? a : -1;
  }

  private static double alpha(Map<String, String> extra) {
    String v = extra.get(ALPHA_KEY);
    if (v == null) {
      return DEFAULT_ICT_ALPHA;
    }
    double a;
    try {
      a = Double.parseDouble(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(ALPHA_KEY + " '" + v + "' is not a number");
    }
    if (!(a > 0) || Double.isInfinite(a)) {
      throw new IllegalArgumentException(ALPHA_KEY + " must be a positive number (a Beta parameter), got " + v);
    }
    return a;
  }

  private static boolean splitUnlabeled(Map<String, String> extra) {
    String v = extra.getOrDefault(SPLIT_KEY, "labeled_bs").strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "labeled_bs", "reference" -> false;
      case "unlabeled", "fixed" -> true;
      default -> throw new IllegalArgumentException(SPLIT_KEY + " must be labeled_bs (the script) or unlabeled (the"
          + " fix), got '" + v + "'");
    };
  }

  // ---- Beta(a, b) from a Java stream ------------------------------------------------------------------

  /**
   * One {@code Beta(a, b)} variate. For {@code a, b <= 1}: Jöhnk's rejection method ({@code X = U^(1/a)},
   * {@code Y = V^(1/b)}, accept when {@code X + Y <= 1}, return {@code X / (X + Y)}), with the ratio taken in
   * log space when both powers underflow (small shape parameters). Otherwise {@code G_a / (G_a + G_b)} from two
   * gamma variates.
   */
  static double sampleBeta(RandomGenerator r, double a, double b) {
    if (!(a > 0) || !(b > 0)) {
      throw new IllegalArgumentException("Beta parameters must be positive, got " + a + ", " + b);
    }
    if (a <= 1 && b <= 1) {
      while (true) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        if (u == 0 || v == 0) {
          continue;
        }
        double x = Math.pow(u, 1 / a);
        double y = Math.pow(v, 1 / b);
        double s = x + y;
        if (s <= 1) {
          if (s > 0) {
            return x / s;
          }
          double logX = Math.log(u) / a;
          double logY = Math.log(v) / b;
          double m = Math.max(logX, logY);
          logX -= m;
          logY -= m;
          return Math.exp(logX - Math.log(Math.exp(logX) + Math.exp(logY)));
        }
      }
    }
    double ga = sampleGamma(r, a);
    double gb = sampleGamma(r, b);
    return ga / (ga + gb);
  }

  /**
   * One {@code Gamma(shape, 1)} variate: Marsaglia and Tsang's squeeze method for {@code shape >= 1}, and
   * {@code Gamma(shape + 1) * U^(1/shape)} below 1.
   */
  static double sampleGamma(RandomGenerator r, double shape) {
    if (shape < 1) {
      double u;
      do {
        u = r.nextDouble();
      } while (u == 0);
      return sampleGamma(r, shape + 1) * Math.pow(u, 1 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x;
      double v;
      do {
        x = r.nextGaussian();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      double u = r.nextDouble();
      if (u < 1 - 0.0331 * x * x * x * x) {
        return d * v;
      }
      if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
        return d * v;
      }
    }
  }
}
