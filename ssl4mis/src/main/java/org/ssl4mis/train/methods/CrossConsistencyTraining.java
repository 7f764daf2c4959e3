package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_cross_consistency_training_2D.py} (Ouali, Hudelot and Tami, "Semi-Supervised Semantic
 * Segmentation with Cross-Consistency Training", CVPR 2020) with the script's network {@code unet_cct}: one
 * encoder, a main decoder and three auxiliary decoders fed with perturbed encoder features (feature noise,
 * dropout, feature dropout; see {@link org.ssl4mis.networks.UNetCCT}).
 *
 * <p>One iteration, with {@code lb = labeled_bs}, {@code o_0} the main output, {@code o_1..o_3} the auxiliary
 * ones and {@code p_s = softmax(o_s, 1)}:
 * <ol>
 *   <li>supervised: {@code (CE(o_0) + CE(o_1) + CE(o_2) + CE(o_3) + Dice(p_0) + Dice(p_1) + Dice(p_2) +
 *       Dice(p_3)) / 8} on the labelled head;
 *   <li>consistency on the unlabelled tail: {@code (mean((p_0 - p_1)^2) + mean((p_0 - p_2)^2) + mean((p_0 -
 *       p_3)^2)) / 3};
 *   <li>{@code loss = supervised + w * consistency}, {@code w = consistency * sigmoid_rampup(iter_num // 150,
 *       consistency_rampup)}.
 * </ol>
 * Logged as the script does: {@code info/loss_ce} and {@code info/loss_dice} of the MAIN output only,
 * {@code info/consistency_loss}, {@code info/consistency_weight}, with the usual {@code info/lr},
 * {@code info/total_loss} and log line. No teacher; the learning rate is set before {@code iter_num += 1}
 * (the common schedule). Validation is {@code test_single_volume_ds} on the main output (the engine's
 * {@code logits}, the first output), zooming to the function's default 256x256.
 *
 * <p><b>Reference quirks (kept; none is a plain bug).</b>
 * <ul>
 *   <li>The main prediction {@code p_0} is not detached in the consistency: the unlabelled loss trains the
 *       main decoder towards the perturbed ones as much as the other way round (the paper detaches it).
 *   <li>The perturbations ignore the training flag, so validation also runs the three perturbed auxiliary
 *       decoders (their outputs are discarded).
 *   <li>The script builds {@code nn.KLDivLoss} and never uses it, and has no {@code --ema_decay} /
 *       {@code --consistency_type} options; its default model is {@code unet_cct} (see {@link #defaults}).
 * </ul>
 */
public final class CrossConsistencyTraining implements Method {
  /** The outputs the script unpacks from {@code unet_cct}: main and three auxiliary decoders. */
  public static final int OUTPUTS = 4;

  private DiceLoss dice;

  @Override
  public String name() {
    return "cct";
  }

  @Override
  public String referenceScript(int dim) {
    return "train_cross_consistency_training_2D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim != 2) {
      throw new IllegalArgumentException("cct: the reference has only a 2D script "
          + "(train_cross_consistency_training_2D.py); use --dim 2");
    }
    return Map.of("exp", "ACDC/Cross_Consistency_Training", "labeled_num", "7", "model", "unet_cct");
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    List<Tensor> outputs = ctx.model().outputs(volumeBatch);
    if (outputs.size() != OUTPUTS) {
      throw new IllegalArgumentException("cct needs a network with a main and three auxiliary decoders (unet_cct); '"
          + ctx.model().name() + "' gives " + outputs.size() + " output(s)");
    }
    // (ce + ce1 + ce2 + ce3 + dice + dice1 + dice2 + dice3) / 8, added left to right as the script does
    Supervised.Outputs sup = Supervised.Outputs.of(dice, outputs, labelBatch, lb);
    Tensor[] soft = sup.soft();
    Tensor[] ce = sup.ce();
    Tensor[] diceTerms = sup.dice();
    Tensor supervised = sup.supervised();

    Tensor mainU = Slicing.tail(soft[0], lb);
    Tensor consistency = null;
    for (int s = 1; s < OUTPUTS; s++) {
      Tensor term = mainU.sub(Slicing.tail(soft[s], lb)).pow(new Scalar(2.0)).mean();
      consistency = consistency == null ? term : consistency.add(term);
    }
    consistency = consistency.div(new Scalar(3.0));

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
