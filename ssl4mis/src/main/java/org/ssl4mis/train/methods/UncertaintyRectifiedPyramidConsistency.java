package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
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
 * This class implements the 2D script; the 3D one ({@code unet_3D_dv_semi}) is not covered.
 */
public final class UncertaintyRectifiedPyramidConsistency implements Method {
  /** The number of pyramid outputs the script unpacks. */
  public static final int SCALES = 4;
  private static final long REDUCTION_NONE = 0;

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
    if (dim != 2) {
      throw new IllegalArgumentException("urpc: only the 2D script is implemented (--dim 2), not "
          + "train_uncertainty_rectified_pyramid_consistency_3D.py");
    }
    return Map.of("exp", "ACDC/Uncertainty_Rectified_Pyramid_Consistency", "labeled_num", "7", "model", "unet_urpc");
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    List<Tensor> outputs = ctx.model().outputs(volumeBatch);
    if (outputs.size() != SCALES) {
      throw new IllegalArgumentException("urpc needs a network with " + SCALES + " pyramid outputs (unet_urpc); '"
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
    scalars.put("info/loss_ce", ce[0].item_double());
    scalars.put("info/loss_dice", diceTerms[0].item_double());
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs.get(0));
  }
}
