package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_uncertainty_rectified_pyramid_consistency_2D.py} (Luo et al., "Efficient Semi-supervised Gross
 * Target Volume of Nasopharyngeal Carcinoma Segmentation via Uncertainty Rectified Pyramid Consistency",
 * MICCAI 2021) with the script's network {@code unet_urpc}, whose forward pass gives four predictions at full
 * resolution: the main output and three side heads from coarser decoder stages, the side heads seeing dropout,
 * FeatureDropout and FeatureNoise in training mode.
 *
 * <p>One iteration, with {@code lb = labeled_bs}, {@code s = 0..3} over the four outputs and {@code p_s =
 * softmax(o_s, 1)}:
 * <ol>
 *   <li>supervised: {@code (sum_s CE(o_s[:lb]) + sum_s Dice(p_s[:lb])) / 8};
 *   <li>average prediction {@code P = (p_0 + p_1 + p_2 + p_3) / 4};
 *   <li>on the unlabelled part, per scale: {@code v_s = sum_c KLDiv(log(p_s), P)} over the class axis (kept), i.e.
 *       {@code sum_c P * (log P - log p_s)}, the divergence of the scale from the average; its weight
 *       {@code e_s = exp(-v_s)};
 *   <li>{@code L_s = mean((P - p_s)^2 * e_s) / (mean(e_s) + 1e-8) + mean(v_s)}, {@code consistency = (L_0 + L_1 +
 *       L_2 + L_3) / 4};
 *   <li>{@code loss = supervised + w * consistency}, {@code w = consistency * sigmoid_rampup(iter_num // 150,
 *       consistency_rampup)}.
 * </ol>
 * Logged as the script does: {@code info/loss_ce} and {@code info/loss_dice} of the MAIN output only,
 * {@code info/consistency_loss}, {@code info/consistency_weight}. No teacher; the only randomness is the
 * network's (encoder dropout and the side-head perturbations), all from libtorch's generator.
 *
 * <p><b>Reference quirks (kept; none is a plain bug).</b>
 * <ul>
 *   <li>The average {@code P} is not detached: the consistency back-propagates through the target too, into
 *       every head.
 *   <li>{@code mean((P - p_s)^2 * e_s)} averages over the C class channels while {@code mean(e_s)} does not, so
 *       the rectified term is a weighted mean of the squared error divided by C (a constant factor).
 *   <li>{@code log(softmax(o))} rather than {@code log_softmax}: a probability that underflows to 0 gives
 *       {@code -inf} and an infinite variance (only for logit gaps beyond about 100 in float32).
 *   <li>The script has no {@code --ema_decay} / {@code --consistency_type} options, and its default model is
 *       {@code unet_urpc} (see {@link #defaults}).
 * </ul>
 *
 * <p><b>3D</b> ({@code train_uncertainty_rectified_pyramid_consistency_3D.py}) with the script's network
 * {@code unet_3D_dv_semi} (outputs {@code dsv1..dsv4}, the script's {@code outputs_aux1..4}, all at full
 * resolution; Dropout3d on the decoder levels): the same step on {@code (B, 1, D, H, W)} volumes, with these
 * differences the script makes:
 * <ul>
 *   <li>scalars {@code info/lr}, {@code info/total_loss}, {@code info/supervised_loss} (the /8 sum, not CE and Dice
 *       of the main output), {@code info/consistency_loss}, {@code info/consistency_weight}; the log line
 *       {@code iteration N : loss : L, supervised_loss: S} ({@link #logLine}); no {@code loss/loss};
 *   <li>validation ({@code val_urpc_util.test_all_case}, the first output {@code dsv1}, stride 64) reported per
 *       class and as means: {@code info/val_cls_{c}_dice_score}, {@code info/val_cls_{c}_hd95},
 *       {@code info/val_mean_dice_score}, {@code info/val_mean_hd95}, the log line with the means
 *       ({@link #perClassValidation3d});
 *   <li>defaults ({@link #defaults}(3)) for its GTV dataset (read with the BraTS2019 loader, so the BraTS layout):
 *       {@code ../data/GTV}, {@code --exp GTV/uncertainty_rectified_pyramid_consistency}, 60000 iterations,
 *       {@code --base_lr 0.1}, batch 4 with 2 labelled, patch 96x96x96, {@code --labeled_num 18},
 *       {@code --consistency_rampup 400}, 3 classes (hard-coded), snapshot {@code ../model/{exp}_{labeled_num}/{model}};
 *   <li>{@code --total_labeled_num 180}: the unlabelled volumes are {@code range(labeled_num, 180)}
 *       ({@link #unlabeledEnd}; the engine stops at the list's end where it is shorter);
 *   <li>its {@code train/Predicted_label} image is {@code argmax(softmax(aux1)) * 100} and the ground truth
 *       {@code label * 100} (both saturate to white in tensorboardX); the engine writes the other 3D scripts'
 *       images instead (the class-1 probability and the 0/1 label), the one difference kept from the script.
 * </ul>
 */
public final class UncertaintyRectifiedPyramidConsistency implements Method {
  /** The number of pyramid outputs the script unpacks. */
  public static final int SCALES = 4;
  private static final long REDUCTION_NONE = 0;
  private static final String SUPERVISED_TAG = "info/supervised_loss";

  /** The {@code extra} key of the 3D script's {@code --total_labeled_num} (the end of the unlabelled range). */
  public static final String TOTAL_LABELED_NUM_KEY = "total_labeled_num";

  private DiceLoss dice;

  @Override
  public String name() {
    return "urpc";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_uncertainty_rectified_pyramid_consistency_2D.py"
        : "train_uncertainty_rectified_pyramid_consistency_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim == 3) {
      return Map.ofEntries(Map.entry("root_path", "../data/GTV"),
          Map.entry("exp", "GTV/uncertainty_rectified_pyramid_consistency"), Map.entry("model", "unet_3D_dv_semi"),
          Map.entry("max_iterations", "60000"), Map.entry("batch_size", "4"), Map.entry("base_lr", "0.1"),
          Map.entry("patch_size", "96,96,96"), Map.entry("labeled_bs", "2"), Map.entry("labeled_num", "18"),
          Map.entry(TOTAL_LABELED_NUM_KEY, "180"), Map.entry("num_classes", "3"), Map.entry("ema_decay", "0.99"),
          Map.entry("consistency", "0.1"), Map.entry("consistency_rampup", "400.0"),
          Map.entry("snapshot_name", "{exp}_{labeled_num}"));
    }
    return Map.of("exp", "ACDC/Uncertainty_Rectified_Pyramid_Consistency", "labeled_num", "7", "model", "unet_urpc");
  }

  @Override
  public List<String> scriptArguments(int dim) {
    return dim == 3 ? TrainConfig.arguments3dWith(TOTAL_LABELED_NUM_KEY) : Method.super.scriptArguments(dim);
  }

  @Override
  public int unlabeledEnd(TrainConfig config) {
    return MethodOptions.unlabeledEnd3d(config, TOTAL_LABELED_NUM_KEY);
  }

  @Override
  public String iterationLossTag(int dim) {
    return null;
  }

  @Override
  public boolean perClassValidation3d() {
    return true;
  }

  @Override
  public String logLine(int iterNum, double loss, Map<String, Double> scalars) {
    if (!scalars.containsKey(SUPERVISED_TAG)) {
      return Method.super.logLine(iterNum, loss, scalars);
    }
    return String.format(Locale.ROOT, "iteration %d : loss : %f, supervised_loss: %f", iterNum, loss,
        scalars.get(SUPERVISED_TAG));
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    List<Tensor> outputs = ctx.model().outputs(volumeBatch);
    if (outputs.size() != SCALES) {
      throw new IllegalArgumentException("urpc needs a network with " + SCALES + " pyramid outputs (unet_urpc, 3D"
          + " unet_3D_dv_semi); '"
          + ctx.model().name() + "' gives " + outputs.size());
    }
    // (ce + ce1 + ce2 + ce3 + dice + dice1 + dice2 + dice3) / 8, added left to right as the script does
    Supervised.Outputs sup = Supervised.Outputs.of(dice, outputs, labelBatch, lb);
    Tensor[] soft = sup.soft();
    Tensor[] ce = sup.ce();
    Tensor[] diceTerms = sup.dice();
    Tensor supervised = sup.supervised();

    Tensor preds = soft[0].add(soft[1]).add(soft[2]).add(soft[3]).div(new Scalar(4.0));
    Tensor predsU = Slicing.tail(preds, lb);
    Tensor consistency = null;
    for (int s = 0; s < SCALES; s++) {
      Tensor softU = Slicing.tail(soft[s], lb);
      Tensor variance = torch.kl_div(softU.log(), predsU, REDUCTION_NONE, false)
          .sum(new long[] {1}, true, new ScalarTypeOptional());
      Tensor expVariance = variance.mul(new Scalar(-1.0)).exp();
      Tensor dist = predsU.sub(softU).pow(new Scalar(2.0));
      Tensor term = dist.mul(expVariance).mean().div(expVariance.mean().add(new Scalar(1e-8))).add(variance.mean());
      consistency = consistency == null ? term : consistency.add(term);
    }
    consistency = consistency.div(new Scalar((double) SCALES));

    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor loss = supervised.add(consistency.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    if (volumeBatch.dim() == 5) {
      scalars.put(SUPERVISED_TAG, supervised.item_double());
    } else {
      scalars.put("info/loss_ce", ce[0].item_double());
      scalars.put("info/loss_dice", diceTerms[0].item_double());
    }
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs.get(0));
  }
}
