package org.ssl4mis.train.methods;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.losses.SignedDistanceMaps;
import org.ssl4mis.networks.CANet;
import org.ssl4mis.networks.SEDiscriminator3D;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * CANet training, from the documents this project grew from (SSL4MIS has no script for it): the {@link CANet}
 * segmentation network (VNet with a transformer bottleneck, a tanh signed-distance head and a segmentation head)
 * trained with dice plus {@code beta} times an SDF regression on the labelled volumes, and an adversarial
 * consistency term from an {@link SEDiscriminator3D} (squeeze-and-excitation attention) that judges a signed
 * distance map together with its image. The loop is SASSNet's ({@code train_gan_sdfloss.py} of Li et al.,
 * "Shape-aware Semi-supervised 3D Semantic Segmentation for Medical Images", MICCAI 2020) in this engine.
 *
 * <p>One iteration, {@code lb = labeled_bs} (batches of two labelled and two unlabelled volumes by default):
 * <ol>
 *   <li>{@code model.train(); D.eval()}; {@code seg, sdf = model(volume)} (logits and tanh SDF, n_classes
 *       channels each); {@code gt_sdf = compute_sdf(label[:lb])} ({@link SignedDistanceMaps#compute_sdf}: channel
 *       {@code c} is SASSNet's normalised SDF of {@code label == c}, no gradient);
 *       {@code loss_sdf = MSE(sdf[:lb], gt_sdf)}; {@code loss_dice = DiceLoss(n_classes)(softmax(seg)[:lb],
 *       label[:lb])} (SSL4MIS's multi-class dice; SASSNet has one sigmoid channel and a binary dice);
 *       {@code loss_adv = BCEWithLogits(D(sdf[lb:], volume[lb:]), 1)} (the unlabelled SDFs should pass for
 *       labelled ones); {@code loss = loss_dice + beta * loss_sdf + w * loss_adv} with {@code w = consistency *
 *       sigmoid_rampup(iter_num // 150, consistency_rampup)}; zero_grad, backward, the SGD step ({@link #step}).
 *       The cross entropy {@code loss_seg} is logged, not trained on, as in SASSNet.
 *   <li>{@code model.eval(); D.train()}; under {@code no_grad} {@code sdf = model(volume)} again, then
 *       {@code D_loss = BCEWithLogits(D(sdf, volume), [1] * lb + [0] * (batch - lb))}, the discriminator's own
 *       {@code zero_grad}, backward and Adam step ({@link #afterStep}; the model goes back to training mode).
 * </ol>
 *
 * <p>Choices where the documents leave it open, and why:
 * <ul>
 *   <li>The discriminator has one logit (SEDiscriminator3D's default) and binary cross-entropy with logits,
 *       where SASSNet's two-way FC3DDiscriminator uses a 2-class cross entropy: the same objective.
 *   <li>Every class channel of the SDF head is supervised (the background channel with the SDF of the
 *       background), so that the map the discriminator sees has no unsupervised channel.
 *   <li>SASSNet's values: {@code beta = 0.3}, {@code D_lr = 1e-4} with {@code betas = (0.9, 0.99)},
 *       {@code consistency = 0.01}, {@code consistency_rampup = 40}, 6000 iterations, 16 labelled of the 80 LA
 *       volumes, patch 112x112x80 (CANet's default {@code img_size}); SSL4MIS's engine for the rest: the poly
 *       rate (SASSNet divides by 10 every 2500 iterations), validation every 200 iterations by sliding window,
 *       checkpoints, the snapshot folder {@code {exp}_{labeled_num}/{model}}.
 *   <li>Scalars under SASSNet's tags: {@code lr}, {@code loss/loss} (the engine's 3D total), {@code loss/loss_seg},
 *       {@code loss/loss_dice}, {@code loss/loss_hausdorff} (the SDF loss), {@code train/consistency_weight},
 *       {@code loss/loss_adv} (weighted), {@code GAN/loss_adv}, {@code GAN/D_loss}; its log line
 *       {@code iteration N : loss : L, loss_weight: W, loss_haus: S, loss_seg: C, loss_dice: D}.
 * </ul>
 *
 * <p>Options ({@code --extra}): {@code beta} (0.3), {@code D_lr} (1e-4), and for small runs {@code d_ndf} (64)
 * and {@code d_reduction} (16), the discriminator's width and SE reduction. The network's {@code img_size}
 * ({@code --model_options img_size=D,H,W}) must equal {@code --patch_size}; this is checked before training.
 * {@code --resume} restores the discriminator and its Adam state ({@code method_state} entries {@code D},
 * {@code D_optimizer}). 3D only.
 */
public final class ContextAwareNetwork implements Method {
  public static final String BETA_KEY = "beta";
  public static final String LR_KEY = "D_lr";
  public static final String NDF_KEY = "d_ndf";
  public static final String REDUCTION_KEY = "d_reduction";
  public static final double DEFAULT_BETA = 0.3;
  public static final double DEFAULT_LR = 1e-4;
  static final String STATE_NAME = "D";

  private DiceLoss dice;
  private Discriminator discriminator;

  @Override
  public String name() {
    return "canet";
  }

  @Override
  public String referenceScript(int dim) {
    return "none in SSL4MIS: SASSNet's train_gan_sdfloss.py loop with CANet and SEDiscriminator3D";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim != 3) {
      throw new IllegalArgumentException("canet is a 3D method (--dim 3)");
    }
    return Map.ofEntries(Map.entry("root_path", "../data/LA"), Map.entry("exp", "LA/CANet"),
        Map.entry("model", "canet"), Map.entry("max_iterations", "6000"), Map.entry("batch_size", "4"),
        Map.entry("labeled_bs", "2"), Map.entry("labeled_num", "16"), Map.entry("patch_size", "112,112,80"),
        Map.entry("num_classes", "2"), Map.entry("consistency", "0.01"), Map.entry("consistency_rampup", "40.0"),
        Map.entry(BETA_KEY, Double.toString(DEFAULT_BETA)), Map.entry(LR_KEY, Double.toString(DEFAULT_LR)));
  }

  @Override
  public List<Student> students(org.ssl4mis.train.TrainConfig config) {
    if (!"canet".equals(config.model())) {
      throw new IllegalArgumentException("canet trains the canet network (--model canet), not '" + config.model()
          + "': it needs the signed-distance head");
    }
    return Method.super.students(config);
  }

  @Override
  public void setUp(TrainingContext ctx, Device device) {
    if (!(ctx.model().module() instanceof CANet net)) {
      throw new IllegalArgumentException("canet trains the canet network, got " + ctx.model().name());
    }
    long[] imgSize = net.config().imgSize();
    long[] patch = Arrays.stream(ctx.config().patchSize()).asLongStream().toArray();
    if (!Arrays.equals(imgSize, patch)) {
      throw new IllegalArgumentException("--patch_size " + Arrays.toString(patch) + " must equal the network's img_size "
          + Arrays.toString(imgSize) + " (its position embeddings fix the input size): pass --model_options img_size="
          + String.join(",", Arrays.stream(patch).mapToObj(Long::toString).toList()));
    }
    Map<String, String> extra = ctx.config().extra();
    SEDiscriminator3D d = new SEDiscriminator3D(ctx.numClasses(), Discriminator.positiveInt(extra, NDF_KEY, 64), 1,
        Discriminator.positiveInt(extra, REDUCTION_KEY, 16), 1);
    discriminator = new Discriminator(d, d::forward, device, Discriminator.positive(extra, LR_KEY, DEFAULT_LR),
        DeepAdversarialNetwork.BETA1, DeepAdversarialNetwork.BETA2);
  }

  Discriminator discriminator() {
    if (discriminator == null) {
      throw new IllegalStateException("canet: setUp has not built the discriminator yet");
    }
    return discriminator;
  }

  @Override
  public String learningRateTag() {
    return "lr";
  }

  @Override
  public String totalLossTag() {
    return null; // the engine writes loss/loss in 3D, SASSNet's tag
  }

  @Override
  public String logLine(int iterNum, double loss, Map<String, Double> scalars) {
    return String.format(Locale.ROOT, "iteration %d : loss : %f, loss_weight: %f, loss_haus: %f, loss_seg: %f,"
        + " loss_dice: %f", iterNum, loss, scalars.get("train/consistency_weight"),
        scalars.get("loss/loss_hausdorff"), scalars.get("loss/loss_seg"), scalars.get("loss/loss_dice"));
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    Discriminator d = discriminator();
    double beta = Discriminator.positive(ctx.config().extra(), BETA_KEY, DEFAULT_BETA);
    int lb = ctx.labeledBs();
    d.module().eval();
    List<Tensor> out = ctx.model().outputs(volumeBatch); // [seg, sdf]
    Tensor seg = out.get(0);
    Tensor sdf = out.get(1);
    Tensor labels = Slicing.head(labelBatch, lb);
    Tensor gtSdf = SignedDistanceMaps.compute_sdf(labels, ctx.numClasses());
    Tensor lossSdf = torch.mse_loss(Slicing.head(sdf, lb), gtSdf);
    Tensor lossSeg = Losses.cross_entropy(Slicing.head(seg, lb), labels);
    Tensor lossDice = dice.forward(Slicing.head(torch.softmax(seg, 1), lb), labels.unsqueeze(1));
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor dOutputs = d.forward(Slicing.tail(sdf, lb), Slicing.tail(volumeBatch, lb));
    Tensor lossAdv = torch.binary_cross_entropy_with_logits(dOutputs, targets(dOutputs, dOutputs.size(0)));
    Tensor loss = lossDice.add(lossSdf.mul(new Scalar(beta))).add(lossAdv.mul(new Scalar(weight)));
    double adv = lossAdv.item_double();
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("loss/loss_seg", lossSeg.item_double());
    scalars.put("loss/loss_dice", lossDice.item_double());
    scalars.put("loss/loss_hausdorff", lossSdf.item_double());
    scalars.put("train/consistency_weight", weight);
    scalars.put("loss/loss_adv", weight * adv);
    scalars.put("GAN/loss_adv", adv);
    return new StepLoss(loss, scalars, seg);
  }

  @Override
  public Map<String, Double> afterStep(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch, StepLoss step) {
    Discriminator d = discriminator();
    ctx.model().module().eval();
    d.module().train(true);
    try {
      Tensor sdf;
      try (NoGradGuard noGrad = new NoGradGuard()) {
        sdf = ctx.model().outputs(volumeBatch).get(1);
      }
      Tensor dOutputs = d.forward(sdf, volumeBatch);
      Tensor dLoss = torch.binary_cross_entropy_with_logits(dOutputs, targets(dOutputs, ctx.labeledBs()));
      double value = dLoss.item_double();
      d.update(dLoss);
      return Map.of("GAN/D_loss", value);
    } finally {
      ctx.model().module().train(true);
    }
  }

  /** Float targets shaped like the (N, 1) logits: 1 (labelled) for the first {@code labelled}, then 0. */
  private static Tensor targets(Tensor logits, long labelled) {
    long n = logits.size(0);
    float[] t = new float[Math.toIntExact(n)];
    Arrays.fill(t, 0, Math.toIntExact(Math.min(labelled, n)), 1f);
    return Tensors.fromFloats(t, n, 1).to(logits.device(), logits.scalar_type());
  }

  @Override
  public Map<String, Object> state() {
    return discriminator == null ? Map.of() : discriminator.state(STATE_NAME);
  }

  @Override
  public void restoreState(Map<String, Object> state) {
    discriminator().restore(STATE_NAME, state);
  }
}
