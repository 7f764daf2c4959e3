package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.networks.ScriptInits;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_cross_pseudo_supervision_2D.py} and {@code _3D.py} (after Chen et al., "Semi-Supervised Semantic
 * Segmentation with Cross Pseudo Supervision", CVPR 2021): two networks of the same architecture, each trained on
 * the labelled part and on the other's hard pseudo labels of the unlabelled part.
 *
 * <p>One iteration, with {@code lb = labeled_bs}: {@code o1 = model1(volume)}, {@code o2 = model2(volume)},
 * {@code loss1 = 0.5 * (CE + Dice)(o1[:lb])}, {@code loss2} likewise, {@code p1 = argmax(softmax(o1)[lb:])} and
 * {@code p2} (detached), {@code ps1 = CE(o1[lb:], p2)}, {@code ps2 = CE(o2[lb:], p1)},
 * {@code model1_loss = loss1 + w * ps1}, {@code model2_loss = loss2 + w * ps2}, {@code loss = model1_loss +
 * model2_loss} back-propagated once and stepped by each network's own SGD, with {@code w = consistency *
 * sigmoid_rampup(iter_num // 150, consistency_rampup)}. Scalars: {@code consistency_weight/consistency_weight},
 * {@code loss/model1_loss}, {@code loss/model2_loss}; log line {@code model1 loss : %f model2 loss : %f}. No
 * randomness of its own.
 *
 * <p>The engine creates, validates and saves both networks under the scripts' names: {@code model1_iter_{n}_dice_{d}.pth},
 * {@code {model}_best_model1.pth}, {@code model1_iter_{n}.pth} (and {@code model2_}), scalars
 * {@code info/model1_val_mean_dice} (2D) or {@code info/model1_val_dice_score} (3D), and {@code --resume}
 * restores both with their momentum.
 *
 * <p><b>Reference quirks.</b>
 * <ul>
 *   <li>2D: model2's improvement checkpoint is named with {@code round(best_performance2)} (no digits: Python's
 *       half-even integer, so {@code model2_iter_200_dice_1.pth} or {@code _dice_0.pth}) while model1's has
 *       {@code round(best, 4)}. Reproduced by default; {@code extra cps_model2_round=4} names it like model1's
 *       (the 3D script already does).
 *   <li>2D: the script defines {@code kaiming_normal_init_weight} and {@code xavier_normal_init_weight} but never
 *       calls them: both networks keep the factory's initialisation. 3D: {@code model1} gets
 *       {@link ScriptInits#kaimingNormalInitWeight} and {@code model2} {@link ScriptInits#xavierNormalInitWeight} (on top of
 *       {@code unet_3D}'s own kaiming init), as here.
 *   <li>The learning rate is set after {@code iter_num += 1} (one iteration ahead of the single-network
 *       scripts), with the scalar {@code lr} and no total loss scalar (in 3D not {@code loss/loss} either).
 *   <li>The snapshot folder is {@code ../model/{exp}_{labeled_num}/{model}}; images are written every 50
 *       iterations by the script (here every 20, with the engine's tags); {@code --ema_decay} and
 *       {@code --consistency_type} are parsed and unused; the 2D default {@code --labeled_num 136} is not in the
 *       ACDC table (pass {@code --labeled_num 7} or {@code --labeled_slices 136}); 3D: the unlabelled indices are
 *       {@code range(labeled_num, 250)} (BraTS's 250 training cases) where the engine takes every remaining case.
 * </ul>
 */
public final class CrossPseudoSupervision implements Method {
  /** The {@code extra} key of model2's improvement-checkpoint rounding: {@code int} (the 2D script) or {@code 4}. */
  public static final String MODEL2_ROUND_KEY = "cps_model2_round";

  private DiceLoss dice;
  private boolean model2RoundsToInteger;

  public CrossPseudoSupervision() {}

  @Override
  public String name() {
    return "cps";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_cross_pseudo_supervision_2D.py" : "train_cross_pseudo_supervision_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    return dim == 2
        ? Map.of("exp", "ACDC/Cross_Pseudo_Supervision", "labeled_num", "136", "snapshot_name", "{exp}_{labeled_num}",
            MODEL2_ROUND_KEY, "int")
        : Map.of("exp", "BraTs2019_Cross_Pseudo_Supervision", "snapshot_name", "{exp}_{labeled_num}",
            MODEL2_ROUND_KEY, "4");
  }

  @Override
  public List<Student> students(TrainConfig config) {
    model2RoundsToInteger = roundsToInteger(config.extra(), config.dim());
    if (config.dim() == 3) {
      return List.of(new Student("model1", config.model(), m -> ScriptInits.kaimingNormalInitWeight(m, 3)),
          new Student("model2", config.model(), m -> ScriptInits.xavierNormalInitWeight(m, 3)));
    }
    return List.of(Student.of("model1", config.model()), Student.of("model2", config.model()));
  }

  static boolean roundsToInteger(Map<String, String> extra, int dim) {
    String v = extra.getOrDefault(MODEL2_ROUND_KEY, dim == 2 ? "int" : "4").strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "int", "0", "reference" -> true;
      case "4", "fixed" -> false;
      default -> throw new IllegalArgumentException(MODEL2_ROUND_KEY + " must be int (the 2D script's round(best)) or"
          + " 4 (round(best, 4), as model1's), got '" + v + "'");
    };
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
    return twoNetworkLogLine(iterNum, scalars);
  }

  static String twoNetworkLogLine(int iterNum, Map<String, Double> scalars) {
    return String.format(Locale.ROOT, "iteration %d : model1 loss : %f model2 loss : %f", iterNum,
        scalars.get("loss/model1_loss"), scalars.get("loss/model2_loss"));
  }

  @Override
  public String improvementCheckpointName(String prefix, int iterNum, double best) {
    if (prefix.equals("model2_") && model2RoundsToInteger) {
      return prefix + "iter_" + iterNum + "_dice_" + (long) Math.rint(best) + ".pth"; // round(x): half-even int
    }
    return Method.super.improvementCheckpointName(prefix, iterNum, best);
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    return crossSupervisedStep(ctx, dice, volumeBatch, labelBatch,
        (logits, soft, pseudo) -> Losses.cross_entropy(logits, pseudo));
  }

  /** How a network learns from the other's hard labels: {@code (its unlabelled logits, their softmax, labels)}. */
  interface PseudoLoss {
    Tensor apply(Tensor unlabeledLogits, Tensor unlabeledSoft, Tensor pseudoLabels);
  }

  /**
   * The iteration CPS and cross teaching share: both networks' supervised losses on the labelled head, each
   * network's {@code pseudoLoss} against the other's detached argmax on the unlabelled part, weighted by the
   * ramp, and the scripts' scalars.
   */
  static StepLoss crossSupervisedStep(TrainingContext ctx, DiceLoss dice, Tensor volumeBatch, Tensor labelBatch,
      PseudoLoss pseudoLoss) {
    int lb = ctx.labeledBs();
    Tensor outputs1 = ctx.student(0).logits(volumeBatch);
    Tensor soft1 = torch.softmax(outputs1, 1);
    Tensor outputs2 = ctx.student(1).logits(volumeBatch);
    Tensor soft2 = torch.softmax(outputs2, 1);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor loss1 = Supervised.of(dice, outputs1, labelBatch, lb).loss();
    Tensor loss2 = Supervised.of(dice, outputs2, labelBatch, lb).loss();
    Tensor unlabeledSoft1 = Slicing.tail(soft1, lb);
    Tensor unlabeledSoft2 = Slicing.tail(soft2, lb);
    org.bytedeco.pytorch.LongOptional classAxis = new org.bytedeco.pytorch.LongOptional(1);
    Tensor pseudo1 = torch.argmax(unlabeledSoft1.detach(), classAxis, false);
    Tensor pseudo2 = torch.argmax(unlabeledSoft2.detach(), classAxis, false);
    Tensor supervision1 = pseudoLoss.apply(Slicing.tail(outputs1, lb), unlabeledSoft1, pseudo2);
    Tensor supervision2 = pseudoLoss.apply(Slicing.tail(outputs2, lb), unlabeledSoft2, pseudo1);
    Tensor model1Loss = loss1.add(supervision1.mul(new Scalar(weight)));
    Tensor model2Loss = loss2.add(supervision2.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("consistency_weight/consistency_weight", weight);
    scalars.put("loss/model1_loss", model1Loss.item_double());
    scalars.put("loss/model2_loss", model2Loss.item_double());
    return new StepLoss(model1Loss.add(model2Loss), scalars, outputs1);
  }
}
