package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_mean_teacher_2D.py} and {@code train_mean_teacher_3D.py} (Tarvainen and Valpola, "Mean teachers are better role models", NeurIPS
 * 2017): supervised {@code 0.5 * (CE + Dice)} on the labelled part, plus
 * {@code consistency_weight * mean(softmax_mse_loss(student(unlabelled), teacher(unlabelled + noise)))} with
 * noise {@code clamp(0.1 * N(0,1), -0.2, 0.2)} and {@code consistency_weight = consistency *
 * sigmoid_rampup(iter_num // 150, consistency_rampup)}; the teacher is the EMA of the student.
 *
 * <p>Reference notes: {@code softmax_mse_loss} returns an unreduced map and the script takes its mean;
 * the 2D script sets {@code consistency_loss = 0.0} while {@code iter_num < 1000} (the teacher still runs and
 * the weight is still logged), reproduced; the 3D script has no such start;
 * the default {@code --labeled_num 136} is not in the ACDC table (pass {@code --labeled_num 7} or
 * {@code --labeled_slices 136}).
 *
 * <p>3D: the same step on {@code (B, 1, D, H, W)} volumes. The 3D script writes the consistency as
 * {@code mean((softmax(outputs)[lb:] - softmax(ema_output))^2)}, which is {@code mean(softmax_mse_loss(outputs[lb:],
 * ema_output))} (the softmax is per sample); its defaults ({@link #defaults}(3)): BraTS2019, {@code unet_3D}, batch
 * 4 with 2 labelled, patch 96x96x96, 25 labelled volumes, 2 classes, snapshot {@code ../model/{exp}_{labeled_num}/{model}}.
 */
public final class MeanTeacher implements Method {
  /** Below this {@code iter_num} the 2D script sets {@code consistency_loss = 0.0}. */
  public static final int CONSISTENCY_START_2D = 1000;

  private final TeacherInputNoise noise;
  private DiceLoss dice;

  public MeanTeacher() {
    this(TeacherInputNoise.LIBTORCH);
  }

  /** With the teacher's standard normal draws from {@code noise} (trace tests: the draws given to Python too). */
  MeanTeacher(TeacherInputNoise noise) {
    this.noise = noise;
  }

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
    if (dim == 3) {
      return meanTeacher3dDefaults("BraTs2019_Mean_Teacher");
    }
    return Map.of("exp", "ACDC/Mean_Teacher", "labeled_num", "136");
  }

  /** The argparse defaults of {@code train_mean_teacher_3D.py} (num_classes is hard-coded to 2 there). */
  static Map<String, String> meanTeacher3dDefaults(String exp) {
    return Map.ofEntries(Map.entry("root_path", "../data/BraTS2019"), Map.entry("exp", exp), Map.entry("model", "unet_3D"),
        Map.entry("max_iterations", "30000"), Map.entry("batch_size", "4"), Map.entry("base_lr", "0.01"),
        Map.entry("patch_size", "96,96,96"), Map.entry("labeled_bs", "2"), Map.entry("labeled_num", "25"),
        Map.entry("num_classes", "2"), Map.entry("ema_decay", "0.99"), Map.entry("consistency", "0.1"),
        Map.entry("consistency_rampup", "200.0"), Map.entry("snapshot_name", "{exp}_{labeled_num}"));
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    Tensor unlabeled = Slicing.tail(volumeBatch, lb);
    Tensor emaInputs = unlabeled.add(noise.noiseLike(unlabeled));

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
    Tensor loss;
    double consistencyValue;
    if (ctx.config().dim() == 2 && ctx.iterNum() < CONSISTENCY_START_2D) {
      loss = supervised; // supervised_loss + consistency_weight * 0.0
      consistencyValue = 0.0;
    } else {
      Tensor consistency = Losses.softmax_mse_loss(Slicing.tail(outputs, lb), emaOutput).mean();
      loss = supervised.add(consistency.mul(new Scalar(weight)));
      consistencyValue = consistency.item_double();
    }
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", lossCe.item_double());
    scalars.put("info/loss_dice", lossDice.item_double());
    scalars.put("info/consistency_loss", consistencyValue);
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }
}
