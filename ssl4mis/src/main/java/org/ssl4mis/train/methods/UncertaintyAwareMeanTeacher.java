package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_uncertainty_aware_mean_teacher_2D.py} and {@code train_uncertainty_aware_mean_teacher_3D.py} (Yu et al., "Uncertainty-aware Self-ensembling Model
 * for Semi-supervised 3D Left Atrium Segmentation", MICCAI 2019): the mean teacher, with the consistency
 * restricted to pixels where the teacher is certain. Uncertainty: T = 8 teacher passes over the unlabelled
 * part with noise {@code clamp(0.1 * N(0,1), -0.2, 0.2)}, done as T/2 passes over the part repeated twice;
 * the entropy of the mean softmax. Mask: {@code uncertainty < (0.75 + 0.25 * sigmoid_rampup(iter_num,
 * max_iterations)) * ln 2}. Consistency: {@code sum(mask * softmax_mse_loss(student, teacher)) / (2 *
 * sum(mask) + 1e-16)}, weighted by {@code consistency * sigmoid_rampup(iter_num // 150, consistency_rampup)}.
 *
 * <p>Reference quirks kept: the threshold uses {@code ln 2} whatever the number of classes; the mask has one
 * channel and broadcasts over the class channels of the MSE map, and the denominator's factor 2 does not
 * follow the class count; the default {@code --labeled_num 136} is not in the ACDC table (pass
 * {@code --labeled_num 7} or {@code --labeled_slices 136}).
 *
 * <p>3D: the same step on {@code (B, 1, D, H, W)} volumes: the unlabelled part repeated as
 * {@code repeat(2, 1, 1, 1, 1)}, T = 8 teacher passes in 4 calls, their softmax reshaped to
 * {@code (T, stride, 2, D, H, W)} and averaged, the entropy with {@code 1e-6}, the same threshold
 * {@code (0.75 + 0.25 * sigmoid_rampup(iter_num, max_iterations)) * ln 2} and the same
 * {@code sum(mask * softmax_mse_loss) / (2 * sum(mask) + 1e-16)}. The 3D script hard-codes 2 classes in its
 * {@code preds} buffer; this step uses {@code num_classes}, which is 2 by the 3D defaults. Defaults
 * ({@link #defaults}(3)) as {@code train_mean_teacher_3D.py}'s, including its {@code --exp
 * BraTs2019_Mean_Teacher}: a reference quirk kept, so a UA-MT run and a mean-teacher run with default names
 * share a snapshot folder; pass {@code --exp} to keep them apart.
 */
public final class UncertaintyAwareMeanTeacher implements Method {
  private static final int T = 8;
  private final TeacherInputNoise noise;
  private DiceLoss dice;

  public UncertaintyAwareMeanTeacher() {
    this(TeacherInputNoise.LIBTORCH);
  }

  /**
   * With the teacher's standard normal draws from {@code noise}, asked for in the script's order: the
   * unlabelled part, then the T/2 repeated parts (trace tests: the draws given to Python too).
   */
  UncertaintyAwareMeanTeacher(TeacherInputNoise noise) {
    this.noise = noise;
  }

  @Override
  public String name() {
    return "uamt";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_uncertainty_aware_mean_teacher_2D.py" : "train_uncertainty_aware_mean_teacher_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return true;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim == 3) {
      return MeanTeacher.meanTeacher3dDefaults("BraTs2019_Mean_Teacher"); // the 3D script's --exp default, as is
    }
    return Map.of("exp", "ACDC/Uncertainty_Aware_Mean_Teacher", "labeled_num", "136");
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    int classes = ctx.numClasses();
    Tensor unlabeled = Slicing.tail(volumeBatch, lb);
    Tensor emaInputs = unlabeled.add(noise.noiseLike(unlabeled));

    Tensor outputs = ctx.model().logits(volumeBatch);
    Tensor uncertainty;
    Tensor emaOutput;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      emaOutput = ctx.emaModel().logits(emaInputs);
      long[] shape = org.ssl4mis.tensor.Tensors.shape(unlabeled);
      long[] repeat = new long[shape.length];
      java.util.Arrays.fill(repeat, 1);
      repeat[0] = 2;
      Tensor repeated = unlabeled.repeat(repeat);
      long stride = repeated.size(0) / 2;
      TensorVector passes = new TensorVector();
      for (int i = 0; i < T / 2; i++) {
        passes.push_back(ctx.emaModel().logits(repeated.add(noise.noiseLike(repeated))));
      }
      Tensor preds = torch.softmax(torch.cat(passes, 0), 1);
      long[] spatial = java.util.Arrays.copyOfRange(org.ssl4mis.tensor.Tensors.shape(preds), 2, shape.length);
      long[] grouped = new long[3 + spatial.length];
      grouped[0] = T;
      grouped[1] = stride;
      grouped[2] = classes;
      System.arraycopy(spatial, 0, grouped, 3, spatial.length);
      Tensor mean = preds.reshape(grouped).mean(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
      uncertainty = mean.mul(mean.add(new Scalar(1e-6)).log()).sum(new long[] {1}, true,
          new org.bytedeco.pytorch.ScalarTypeOptional()).mul(new Scalar(-1.0));
    }
    Supervised sup = Supervised.of(dice, outputs, labelBatch, lb);
    Tensor lossCe = sup.lossCe();
    Tensor lossDice = sup.lossDice();
    Tensor supervised = sup.loss();
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(), ctx.iterNum() / 150);
    Tensor dist = Losses.softmax_mse_loss(Slicing.tail(outputs, lb), emaOutput);
    double threshold = (0.75 + 0.25 * Ramps.sigmoid_rampup(ctx.iterNum(), ctx.maxIterations())) * Math.log(2);
    Tensor mask = uncertainty.lt(new Scalar(threshold)).to(torch.ScalarType.Float);
    Tensor consistency = mask.mul(dist).sum().div(mask.sum().mul(new Scalar(2.0)).add(new Scalar(1e-16)));
    Tensor loss = supervised.add(consistency.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", lossCe.item_double());
    scalars.put("info/loss_dice", lossDice.item_double());
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }
}
