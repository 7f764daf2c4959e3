package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.networks.ScriptInits;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_regularized_dropout_2D.py} (after Liang et al., "R-Drop: Regularized Dropout for Neural
 * Networks", NeurIPS 2021): two networks see the same batch, each trained on the labelled part, and a
 * symmetric KL divergence pulls their outputs on the unlabelled part together.
 *
 * <p>One iteration, with {@code lb = labeled_bs}: {@code o1 = model1(volume)}, {@code o2 = model2(volume)},
 * {@code model1_loss = 0.5 * (CE + Dice)(o1[:lb])}, {@code model2_loss} likewise,
 * {@code r_drop_loss = compute_kl_loss(o1[lb:], o2[lb:])}, {@code loss = model1_loss + model2_loss + w *
 * r_drop_loss} with {@code w = consistency * sigmoid_rampup(iter_num // 150, consistency_rampup)} and the
 * script's {@code --consistency 4.0}. Logged under the script's tags: {@code consistency_weight/consistency_weight},
 * {@code loss/model1_loss}, {@code loss/model2_loss}, {@code loss/r_drop_loss}. No randomness of its own: the
 * two outputs differ through the networks' dropout (libtorch's generator) and, in the script's form, the two
 * networks' different initial weights.
 *
 * <p><b>Two networks.</b> The script builds {@code model1} and {@code model2} from the same factory (two
 * independent initialisations) with one SGD optimizer each, rather than R-Drop's two dropout passes through ONE
 * network. That is reproduced by default: the engine trains both ({@link #students}), validates and saves each
 * under the script's names ({@code model1_iter_*}, {@code {model}_best_model1.pth}, {@code info/model1_val_*})
 * and restores both with {@code --resume}. {@code extra rdrop_models=one} gives R-Drop as published: two
 * stochastic passes through one network.
 *
 * <p><b>Reference quirks.</b>
 * <ul>
 *   <li>{@code compute_kl_loss} takes its softmaxes over {@code dim=-1}, the image WIDTH, as in R-Drop's NLP
 *       code where the last axis is the vocabulary, not over the class axis: each image row is treated as a
 *       distribution. A real bug; reproduced by default, fixed with {@code extra rdrop_kl_dim=class}
 *       ({@code Losses.compute_kl_loss(p, q, Losses.CLASS_DIM)}). Both forms take the mean (not R-Drop's sum).
 *   <li>The script updates the learning rate after {@code iter_num += 1}, so its schedule runs one iteration
 *       ahead of the other scripts' ({@code base_lr * (1 - (k + 1) / max)^0.9} after step {@code k});
 *       reproduced ({@link #learningRateOneAhead}), with the scalar {@code lr} (not {@code info/lr}) and no
 *       total loss scalar.
 *   <li>The snapshot folder is {@code ../model/{exp}_{labeled_num}/{model}} (no {@code _labeled}) and the log
 *       line shows {@code model1 loss / model2 loss / r_drop_loss}, as here; the script writes its images
 *       every 50 iterations (here every 20, with the engine's tags).
 *   <li>{@code --ema_decay} and {@code --consistency_type} are parsed but unused; the default
 *       {@code --labeled_num 136} is not in the ACDC table (pass {@code --labeled_num 7} or
 *       {@code --labeled_slices 136}).
 * </ul>
 *
 * <p><b>3D</b> ({@code train_regularized_dropout_3D.py}): the same step on {@code (B, 1, D, H, W)} volumes (the KL
 * softmax over {@code dim=-1} is then over the volume's last axis), with these differences the script makes:
 * <ul>
 *   <li>the two networks are re-initialised after creation, {@code model1} with {@code kaiming_normal_init_weight}
 *       and {@code model2} with {@code xavier_normal_init_weight} ({@link ScriptInits}: every Conv3d weight, BatchNorm3d
 *       weight 1 and bias 0; the 2D script defines the two functions but never calls them);
 *   <li>{@code --total_num 50}: the unlabelled volumes are {@code range(labeled_num, 50)} ({@link #unlabeledEnd};
 *       the engine stops at the list's end where it is shorter);
 *   <li>defaults ({@link #defaults}(3)): BraTS2019, {@code --exp Regularized_Dropout}, {@code unet_3D}, batch 4 with 2
 *       labelled, patch 64x128x128, 25 labelled volumes, {@code --consistency 4.0}, 2 classes, snapshot
 *       {@code ../model/{exp}_{labeled_num}/{model}}; validation as the 3D scripts' (per network:
 *       {@code info/model1_val_dice_score}, {@code model1_dice_score : D model1_hd95 : H}); no {@code loss/loss};
 *   <li>its images are written every 50 iterations as {@code train/Image}, {@code train/Model1_Predicted_label},
 *       {@code train/Model2_Predicted_label} (softmax channel 0) and {@code train/Groundtruth_label}; the engine
 *       writes the 3D scripts' common images of {@code model1} every 20 instead, as in 2D.
 * </ul>
 */
public final class RegularizedDropout implements Method {
  /** The {@code extra} key of the KL softmax axis: {@code last} (the script) or {@code class} (the fix). */
  public static final String KL_DIM_KEY = "rdrop_kl_dim";
  /** The {@code extra} key of the network count: {@code two} (the script) or {@code one} (R-Drop as published). */
  public static final String MODELS_KEY = "rdrop_models";

  /** The {@code extra} key of the 3D script's {@code --total_num} (the end of the unlabelled range). */
  public static final String TOTAL_NUM_KEY = "total_num";

  private DiceLoss dice;

  public RegularizedDropout() {}

  @Override
  public String name() {
    return "rdrop";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_regularized_dropout_2D.py" : "train_regularized_dropout_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim == 3) {
      Map<String, String> d = new java.util.HashMap<>(MeanTeacher.meanTeacher3dDefaults("Regularized_Dropout"));
      d.put("patch_size", "64,128,128");
      d.put(TOTAL_NUM_KEY, "50");
      d.put("consistency", "4.0");
      return Map.copyOf(d);
    }
    return Map.of("exp", "ACDC/Regularized_Dropout", "labeled_num", "136", "consistency", "4.0", "snapshot_name",
        "{exp}_{labeled_num}");
  }

  @Override
  public List<Student> students(TrainConfig config) {
    boolean threeD = config.dim() == 3;
    return twoModels(config.extra())
        ? List.of(new Student("model1", config.model(), threeD ? m -> ScriptInits.kaimingNormalInitWeight(m, 3) : null),
            new Student("model2", config.model(), threeD ? m -> ScriptInits.xavierNormalInitWeight(m, 3) : null))
        : List.of(new Student("model", config.model(), threeD ? m -> ScriptInits.kaimingNormalInitWeight(m, 3) : null));
  }

  @Override
  public List<String> scriptArguments(int dim) {
    return dim == 3 ? TrainConfig.arguments3dWith(TOTAL_NUM_KEY) : Method.super.scriptArguments(dim);
  }

  @Override
  public int unlabeledEnd(TrainConfig config) {
    return MethodOptions.unlabeledEnd3d(config, TOTAL_NUM_KEY);
  }

  @Override
  public String iterationLossTag(int dim) {
    return null;
  }

  @Override
  public boolean learningRateOneAhead() {
    return true;
  }

  @Override
  public String learningRateTag() {
    return "lr";
  }

  @Override
  public String totalLossTag() {
    return null;
  }

  @Override
  public String logLine(int iterNum, double loss, Map<String, Double> scalars) {
    return String.format(Locale.ROOT, "iteration %d : model1 loss : %f model2 loss : %f r_drop_loss: %f", iterNum,
        scalars.get("loss/model1_loss"), scalars.get("loss/model2_loss"), scalars.get("loss/r_drop_loss"));
  }

  static long klDim(Map<String, String> extra) {
    String v = extra.getOrDefault(KL_DIM_KEY, "last").strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "last", "-1", "reference" -> -1;
      case "class", "1", "fixed" -> Losses.CLASS_DIM;
      default -> throw new IllegalArgumentException(KL_DIM_KEY + " must be last (the script) or class (the fix), got '"
          + v + "'");
    };
  }

  static boolean twoModels(Map<String, String> extra) {
    String v = extra.getOrDefault(MODELS_KEY, "two").strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "two", "2", "reference" -> true;
      case "one", "1", "shared" -> false;
      default -> throw new IllegalArgumentException(MODELS_KEY + " must be two (the script) or one (R-Drop's single"
          + " network), got '" + v + "'");
    };
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    long dim = klDim(ctx.config().extra());
    // One network (rdrop_models=one): the second output is a second stochastic pass through it.
    Networks.Network model2 = ctx.students().size() > 1 ? ctx.student(1) : ctx.model();
    int lb = ctx.labeledBs();
    Tensor outputs1 = ctx.model().logits(volumeBatch);
    Tensor outputs2 = model2.logits(volumeBatch);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor model1Loss = Supervised.of(dice, outputs1, labelBatch, lb).loss();
    Tensor model2Loss = Supervised.of(dice, outputs2, labelBatch, lb).loss();
    Tensor rDrop = Losses.compute_kl_loss(Slicing.tail(outputs1, lb), Slicing.tail(outputs2, lb), dim);
    Tensor loss = model1Loss.add(model2Loss).add(rDrop.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("consistency_weight/consistency_weight", weight);
    scalars.put("loss/model1_loss", model1Loss.item_double());
    scalars.put("loss/model2_loss", model2Loss.item_double());
    scalars.put("loss/r_drop_loss", rDrop.item_double());
    return new StepLoss(loss, scalars, outputs1);
  }
}
