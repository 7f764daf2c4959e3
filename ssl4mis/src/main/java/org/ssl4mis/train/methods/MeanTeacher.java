package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_mean_teacher_2D.py} (Tarvainen and Valpola, "Mean teachers are better role models", NeurIPS
 * 2017): supervised {@code 0.5 * (CE + Dice)} on the labelled part, plus
 * {@code consistency_weight * mean(softmax_mse_loss(student(unlabelled), teacher(unlabelled + noise)))} with
 * noise {@code clamp(0.1 * N(0,1), -0.2, 0.2)} and {@code consistency_weight = consistency *
 * sigmoid_rampup(iter_num // 150, consistency_rampup)}; the teacher is the EMA of the student.
 *
 * <p>Reference notes: {@code softmax_mse_loss} returns an unreduced map and the script takes its mean;
 * the default {@code --labeled_num 136} is not in the ACDC table (pass {@code --labeled_num 7} or
 * {@code --labeled_slices 136}).
 */
public final class MeanTeacher implements Method {
  private DiceLoss dice;

  @Override
  public String name() {
    return "mt";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_mean_teacher_2D.py" : "train_mean_teacher_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return true;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    return Map.of("exp", "ACDC/Mean_Teacher", "labeled_num", "136");
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    Tensor unlabeled = Slicing.tail(volumeBatch, lb);
    Tensor noise = torch.clamp(torch.randn_like(unlabeled).mul(new Scalar(0.1)), new org.bytedeco.pytorch.ScalarOptional(
        new Scalar(-0.2)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(0.2)));
    Tensor emaInputs = unlabeled.add(noise);

    Tensor outputs = ctx.model().logits(volumeBatch);
    Tensor emaOutput;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      emaOutput = ctx.emaModel().logits(emaInputs);
    }
    Supervised sup = Supervised.of(dice, outputs, labelBatch, lb);
    Tensor lossCe = sup.lossCe();
    Tensor lossDice = sup.lossDice();
    Tensor supervised = sup.loss();
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(), ctx.iterNum() / 150);
    Tensor consistency = Losses.softmax_mse_loss(Slicing.tail(outputs, lb), emaOutput).mean();
    Tensor loss = supervised.add(consistency.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", lossCe.item_double());
    scalars.put("info/loss_dice", lossDice.item_double());
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }
}
