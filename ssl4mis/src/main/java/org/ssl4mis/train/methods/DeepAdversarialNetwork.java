package org.ssl4mis.train.methods;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.networks.FC3DDiscriminator;
import org.ssl4mis.networks.FCDiscriminator;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_adversarial_network_2D.py} and {@code train_adversarial_network_3D.py} (Zhang et al., "Deep
 * Adversarial Networks for Biomedical Image Segmentation Utilizing Unannotated Images", MICCAI 2017): the
 * segmentation network is trained so that an evaluation network ({@code DAN}: {@link FCDiscriminator} in 2D,
 * {@link FC3DDiscriminator} in 3D, judging a softmax map together with its image) takes its predictions on the
 * unlabelled images for predictions on labelled ones; the DAN is trained to tell the two apart.
 *
 * <p>One iteration, with {@code lb = labeled_bs} and {@code DAN_target = [1] * lb + [0] * (batch - lb)}
 * (labelled = 1):
 * <ol>
 *   <li>{@code model.train(); DAN.eval()}; {@code outputs = model(volume)}, {@code soft = softmax(outputs)};
 *       {@code supervised = 0.5 * (CE + Dice)} on the labelled head;
 *       {@code consistency_loss = CE(DAN(soft[lb:], volume[lb:]), 1)} (the unlabelled predictions should pass
 *       for labelled ones); {@code loss = supervised + w * consistency_loss} with {@code w = consistency *
 *       sigmoid_rampup(iter_num // 150, consistency_rampup)}; zero_grad, backward and the SGD step (the
 *       engine's {@link #step}).
 *   <li>{@code model.eval(); DAN.train()}; under {@code no_grad} {@code outputs = model(volume)} again (eval
 *       mode: BatchNorm running statistics, no dropout), then {@code DAN_loss = CE(DAN(softmax(outputs), volume),
 *       DAN_target)}, {@code DAN_optimizer.zero_grad()}, backward, {@code DAN_optimizer.step()}
 *       ({@link #afterStep}; the model is put back in training mode after it, as the next iteration's
 *       {@code model.train()} does).
 *   <li>The poly rate for the SGD only: the DAN's Adam ({@code lr = DAN_lr}, {@code betas = (0.9, 0.99)},
 *       {@code eps = 1e-8}) keeps its rate for the whole run.
 * </ol>
 * Scalars as the scripts write them: {@code info/lr}, {@code info/total_loss}, {@code info/loss_ce},
 * {@code info/loss_dice}, {@code info/consistency_loss}, {@code info/consistency_weight} (the DAN's loss is not
 * logged); the log line {@code iteration N : loss : L, loss_ce: C, loss_dice: D}.
 *
 * <p>Options ({@code --extra}): {@code DAN_lr} (the scripts' {@code --DAN_lr}, default 0.0001) and, a Java
 * addition for small runs, {@code dan_ndf} (the DAN's base width, the scripts' fixed 64). {@code --resume}
 * restores the DAN's weights and its Adam state ({@code exp_avg}, {@code exp_avg_sq}, step) with the rest
 * ({@link #state}: entries {@code DAN} and {@code DAN_optimizer} of {@code method_state}).
 *
 * <p>Input sizes: the 2D DAN's {@code Linear(ndf*32, 2)} needs a 2x2 pooled grid, so square patches of 224 to 335
 * (the default 256 fits); the 3D DAN pools with a fixed 6x6x6 window, so every side must be 96 to 191 (the
 * default 96^3 fits, the LA patch 112x112x80 does not: pass {@code --patch_size 96,96,96} on LA). Other patch
 * sizes are refused before training starts, naming {@code --patch_size}.
 *
 * <p>Reference notes and quirks:
 * <ul>
 *   <li>The consistency target is {@code DAN_target[:labeled_bs]} (ones) against {@code batch - labeled_bs}
 *       DAN outputs: the scripts only run when the two are equal (their defaults, 24/12 and 4/2). Here the
 *       target is {@code batch - labeled_bs} ones, which is the same wherever the scripts run.
 *   <li>The 3D script hard-codes {@code DAN_target = [1, 1, 0, 0]} and {@code num_classes = 2}: the same as the
 *       general form for its batch of 4 with 2 labelled. It also defines an unused {@code update_ema_variables}.
 *   <li>{@code --ema_decay} and {@code --consistency_type} are parsed but unused. The 2D default
 *       {@code --labeled_num} is 3 (68 slices), the 3D snapshot folder {@code {exp}_{labeled_num}/{model}}.
 *   <li>The scripts' training images (every 20 iterations) show the eval-mode re-computation of the DAN step;
 *       the engine shows the training-mode logits of the segmentation step.
 * </ul>
 */
public final class DeepAdversarialNetwork implements Method {
  /** The {@code extra} key of the DAN's learning rate (the scripts' {@code --DAN_lr}). */
  public static final String LR_KEY = "DAN_lr";
  /** The {@code extra} key of the DAN's base width (Java addition; the scripts' fixed 64). */
  public static final String NDF_KEY = "dan_ndf";
  public static final double DEFAULT_LR = 0.0001;
  static final double BETA1 = 0.9;
  static final double BETA2 = 0.99;
  /** The {@link #state} entry of the DAN's weights ({@code DAN_optimizer} holds its Adam state). */
  static final String STATE_NAME = "DAN";

  private DiceLoss dice;
  private Discriminator dan;

  @Override
  public String name() {
    return "dan";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_adversarial_network_2D.py" : "train_adversarial_network_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim == 3) {
      return Map.of("exp", "BraTs2019_Adversarial_Network", LR_KEY, Double.toString(DEFAULT_LR));
    }
    return Map.of("exp", "ACDC/Adversarial_Network", "labeled_num", "3", LR_KEY, Double.toString(DEFAULT_LR));
  }

  @Override
  public void setUp(TrainingContext ctx, Device device) {
    int dim = ctx.config().dim();
    int[] patch = ctx.config().patchSize();
    requireDiscriminatorPatch(dim, patch);
    long ndf = Discriminator.positiveInt(ctx.config().extra(), NDF_KEY, 64);
    double lr = Discriminator.positive(ctx.config().extra(), LR_KEY, DEFAULT_LR);
    long classes = ctx.numClasses();
    if (dim == 2) {
      FCDiscriminator d = new FCDiscriminator(classes, ndf, 1);
      dan = new Discriminator(d, d::forward, device, lr, BETA1, BETA2);
    } else {
      FC3DDiscriminator d = new FC3DDiscriminator(classes, ndf, 1);
      dan = new Discriminator(d, d::forward, device, lr, BETA1, BETA2);
    }
  }

  /** Refuses a patch the DAN cannot take, before any training. */
  static void requireDiscriminatorPatch(int dim, int[] patch) {
    if (dim == 2) {
      long cells = 1;
      for (int s : patch) {
        cells *= (s / 16) / 7;
      }
      if (cells != 4) {
        throw new IllegalArgumentException("--patch_size " + Arrays.toString(patch) + " does not fit the 2D DAN"
            + " (FCDiscriminator: its Linear takes a 2x2 grid after four stride-2 convolutions and AvgPool2d(7)):"
            + " use square patches of 224 to 335, e.g. 256,256");
      }
    } else {
      for (int s : patch) {
        if (s < 96 || s > 191) {
          throw new IllegalArgumentException("--patch_size " + Arrays.toString(patch) + " does not fit the 3D DAN"
              + " (FC3DDiscriminator pools with a fixed 6x6x6 window): every side must be 96 to 191, e.g. 96,96,96");
        }
      }
    }
  }

  /** The discriminator built by {@link #setUp} (tests). */
  Discriminator discriminator() {
    if (dan == null) {
      throw new IllegalStateException("dan: setUp has not built the discriminator yet");
    }
    return dan;
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    Discriminator d = discriminator();
    int lb = ctx.labeledBs();
    long batch = volumeBatch.size(0);
    d.module().eval();
    Tensor outputs = ctx.model().logits(volumeBatch);
    Tensor outputsSoft = torch.softmax(outputs, 1);
    Supervised sup = Supervised.of(dice, outputs, labelBatch, lb);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor danOutputs = d.forward(Slicing.tail(outputsSoft, lb), Slicing.tail(volumeBatch, lb));
    Tensor consistency = Losses.cross_entropy(danOutputs, target(batch - lb, batch - lb, volumeBatch));
    Tensor loss = sup.loss().add(consistency.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", sup.lossCe().item_double());
    scalars.put("info/loss_dice", sup.lossDice().item_double());
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }

  @Override
  public Map<String, Double> afterStep(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch, StepLoss step) {
    Discriminator d = discriminator();
    int lb = ctx.labeledBs();
    ctx.model().module().eval();
    d.module().train(true);
    try {
      Tensor outputsSoft;
      try (NoGradGuard noGrad = new NoGradGuard()) {
        outputsSoft = torch.softmax(ctx.model().logits(volumeBatch), 1);
      }
      Tensor danOutputs = d.forward(outputsSoft, volumeBatch);
      d.update(Losses.cross_entropy(danOutputs, target(volumeBatch.size(0), lb, volumeBatch)));
    } finally {
      ctx.model().module().train(true);
    }
    return Map.of();
  }

  /**
   * {@code n} class indices on {@code like}'s device, 1 (labelled) for the first {@code labelled} and 0 after:
   * the scripts' {@code DAN_target} with {@code labelled = labeled_bs}, their all-ones consistency target with
   * {@code labelled = n}.
   */
  static Tensor target(long n, long labelled, Tensor like) {
    long[] t = new long[Math.toIntExact(n)];
    Arrays.fill(t, 0, Math.toIntExact(Math.min(labelled, n)), 1L);
    return Tensors.fromLongs(t, n).to(like.device(), torch.ScalarType.Long);
  }

  @Override
  public Map<String, Object> state() {
    return dan == null ? Map.of() : dan.state(STATE_NAME);
  }

  @Override
  public void restoreState(Map<String, Object> state) {
    discriminator().restore(STATE_NAME, state);
  }
}
