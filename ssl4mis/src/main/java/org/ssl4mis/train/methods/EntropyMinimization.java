package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_entropy_minimization_2D.py} (entropy minimisation as in Vu et al., "ADVENT: Adversarial Entropy
 * Minimization for Domain Adaptation in Semantic Segmentation", CVPR 2019): the supervised loss plus the mean
 * normalised entropy of the predictions, which pushes the network towards confident outputs.
 *
 * <p>One iteration, with {@code lb = labeled_bs}: {@code outputs = model(volume)}, {@code soft = softmax(outputs,
 * 1)}, {@code loss = 0.5 * (CE + Dice)(outputs[:lb]) + w * entropy_loss(soft, C=4)} where {@code entropy_loss(p,
 * C) = mean(-sum_c p * log(p + 1e-6)) / log(C)} and {@code w = consistency * sigmoid_rampup(iter_num // 150,
 * consistency_rampup)}. One network, no teacher, no randomness of its own (only the network's dropout, from
 * libtorch's generator). Logged as the script does: {@code info/loss_ce}, {@code info/loss_dice},
 * {@code info/consistency_loss} (the entropy term), {@code info/consistency_weight}.
 *
 * <p><b>Reference quirks.</b>
 * <ul>
 *   <li>The entropy is taken over the WHOLE batch, labelled images included, not only the unlabelled part.
 *       This is how the script does it and is kept (it is a design choice rather than a bug: the labelled
 *       images are also pushed towards confidence, which their supervised loss does anyway).
 *   <li>{@code C=4} is written into the call, whatever {@code --num_classes}: for the 4-class ACDC task the
 *       entropy is normalised to [0, 1], for any other class count it is scaled by {@code 1 / ln 4} instead of
 *       {@code 1 / ln C}, which changes the effective consistency weight. A real bug for other datasets; kept by
 *       default, fixed by {@code extra em_entropy_c=num_classes} (or any whole number for {@code C}).
 *   <li>{@code --ema_decay} and {@code --consistency_type} are parsed by the script but unused.
 * </ul>
 *
 * <p><b>3D</b> ({@code train_entropy_minimization_3D.py}): the same step on {@code (B, 1, D, H, W)} volumes with
 * {@code entropy_loss(soft, C=2)} (so {@code em_entropy_c} defaults to 2 in 3D; the 3D script hard-codes
 * {@code num_classes = 2}, so its C matches) and {@code DiceLoss(num_classes)}. Defaults ({@link #defaults}(3)):
 * those of {@code train_mean_teacher_3D.py} with {@code --exp BraTs2019_Entropy_Minimization} (BraTS2019,
 * {@code unet_3D}, batch 4 with 2 labelled, patch 96x96x96, 25 labelled volumes, snapshot
 * {@code ../model/{exp}_{labeled_num}/{model}}). Unlike the other 3D scripts it writes no {@code loss/loss}
 * scalar ({@link #iterationLossTag}); the images are the 3D scripts' ({@code train/Image},
 * {@code train/Predicted_label}, {@code train/Groundtruth_label} every 20 iterations).
 */
public final class EntropyMinimization implements Method {
  /** The {@code C} the 2D script passes to {@code entropy_loss}. */
  public static final int REFERENCE_ENTROPY_C = 4;
  /** The {@code C} the 3D script passes to {@code entropy_loss}. */
  public static final int REFERENCE_ENTROPY_C_3D = 2;
  /** The {@code extra} key overriding {@code C}: a whole number, or {@code num_classes}. */
  public static final String ENTROPY_C_KEY = "em_entropy_c";

  private DiceLoss dice;

  @Override
  public String name() {
    return "em";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_entropy_minimization_2D.py" : "train_entropy_minimization_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim == 3) {
      return MeanTeacher.meanTeacher3dDefaults("BraTs2019_Entropy_Minimization");
    }
    return Map.of("exp", "ACDC/Entropy_Minimization", "labeled_num", "3");
  }

  @Override
  public String iterationLossTag(int dim) {
    return null; // the 3D script, unlike the mean teacher's, writes no loss/loss
  }

  /** The {@code C} of {@code entropy_loss} for this configuration ({@code dim}: the script's default C). */
  static int entropyC(Map<String, String> extra, int numClasses, int dim) {
    String v = extra.get(ENTROPY_C_KEY);
    if (v == null) {
      return dim == 3 ? REFERENCE_ENTROPY_C_3D : REFERENCE_ENTROPY_C;
    }
    String s = v.strip().toLowerCase(Locale.ROOT);
    if (s.equals("num_classes")) {
      return numClasses;
    }
    int c;
    try {
      c = Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(ENTROPY_C_KEY + " must be a whole number or num_classes, got '" + v + "'");
    }
    if (c < 2) {
      throw new IllegalArgumentException(ENTROPY_C_KEY + " must be at least 2 (log C divides), got " + c);
    }
    return c;
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int c = entropyC(ctx.config().extra(), ctx.numClasses(), ctx.config().dim());
    int lb = ctx.labeledBs();
    Tensor outputs = ctx.model().logits(volumeBatch);
    Tensor outputsSoft = torch.softmax(outputs, 1);
    Supervised sup = Supervised.of(dice, outputs, labelBatch, lb);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor entropy = Losses.entropy_loss(outputsSoft, c);
    Tensor loss = sup.loss().add(entropy.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", sup.lossCe().item_double());
    scalars.put("info/loss_dice", sup.lossDice().item_double());
    scalars.put("info/consistency_loss", entropy.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }
}
