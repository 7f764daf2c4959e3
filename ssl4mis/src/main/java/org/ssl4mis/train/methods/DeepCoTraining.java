package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_deep_co_training_2D.py}. Despite its name the script trains ONE network (no second view, no
 * adversarial examples, {@code FCDiscriminator} imported and unused): a rotation-consistency method, where the
 * network's prediction on a rotated copy of the unlabelled images should be the rotated prediction.
 *
 * <p>One iteration, with {@code lb = labeled_bs} and {@code u = volume[lb:]}: {@code outputs = model(volume)},
 * {@code s = softmax(outputs)}, {@code k = random.randrange(0, 4)}, {@code r = softmax(model(rot90(u, k, [2, 3])))},
 * {@code supervised_loss = 0.5 * (Dice + CE)(outputs[:lb])}, {@code consistency_loss = 0.5 * (mean((r.detach() -
 * rot90(s[lb:], k))^2) + mean((r - rot90(s[lb:].detach(), k))^2))} (the same value twice, each term sending the
 * gradient through one side), {@code loss = supervised_loss + w * consistency_loss} with {@code w = consistency *
 * sigmoid_rampup(iter_num // 150, consistency_rampup)}. The network runs twice per iteration in training mode, so
 * batch-norm statistics are updated by both passes, as in the script. Scalars as the script's: {@code info/lr},
 * {@code info/total_loss}, {@code info/loss_ce}, {@code info/loss_dice}, {@code info/consistency_loss},
 * {@code info/consistency_weight}; the usual log line and {@code ../model/{exp}_{labeled_num}_labeled/{model}}.
 *
 * <p><b>Randomness.</b> The rotation count is Python's {@code random.randrange(0, 4)} in the script; here it is
 * {@link #rotations(int)}: one draw from {@code NativeRuntime.random("dct/" + iter_num)}, so a run is repeatable
 * and a resumed run rotates as an uninterrupted one (not Python's numbers).
 *
 * <p><b>Reference quirks.</b> The learning rate is set before {@code iter_num += 1} (the single-network
 * schedule); {@code --ema_decay} and {@code --consistency_type} are parsed and unused; the training loader has 16
 * workers (here {@code --workers}). 2D only: there is no 3D script.
 */
public final class DeepCoTraining implements Method {
  /** The name of the rotation draws' Java streams ({@code NativeRuntime.random("dct/<iter_num>")}). */
  public static final String RANDOM_PURPOSE = "dct";

  private DiceLoss dice;

  public DeepCoTraining() {}

  @Override
  public String name() {
    return "dct";
  }

  @Override
  public String referenceScript(int dim) {
    return "train_deep_co_training_2D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim != 2) {
      throw new IllegalArgumentException("dct: there is only a 2D script (train_deep_co_training_2D.py); use --dim 2");
    }
    return Map.of("exp", "ACDC/Deep_Co_Training", "labeled_num", "3");
  }

  /** {@code random.randrange(0, 4)} of iteration {@code iterNum}: quarter turns in the (H, W) plane. */
  public static int rotations(int iterNum) {
    return NativeRuntime.random(RANDOM_PURPOSE + "/" + iterNum).nextInt(4);
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    return step(ctx, volumeBatch, labelBatch, rotations(ctx.iterNum()));
  }

  /** One iteration with the rotation count given (tests compare it with the Python loop). */
  StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch, int rotTimes) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    int lb = ctx.labeledBs();
    Tensor unlabeled = Slicing.tail(volumeBatch, lb);
    Tensor outputs = ctx.model().logits(volumeBatch);
    Tensor outputsSoft = torch.softmax(outputs, 1);
    Tensor rotatedSoft = torch.softmax(ctx.model().logits(torch.rot90(unlabeled, rotTimes, 2, 3)), 1);
    Supervised sup = Supervised.of(dice, outputs, labelBatch, lb);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor unlabeledSoft = Slicing.tail(outputsSoft, lb);
    Tensor towardsRotated = rotatedSoft.detach().sub(torch.rot90(unlabeledSoft, rotTimes, 2, 3)).pow(new Scalar(2))
        .mean();
    Tensor towardsPlain = rotatedSoft.sub(torch.rot90(unlabeledSoft.detach(), rotTimes, 2, 3)).pow(new Scalar(2))
        .mean();
    Tensor consistency = towardsRotated.add(towardsPlain).mul(new Scalar(0.5));
    Tensor loss = sup.loss().add(consistency.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("info/loss_ce", sup.lossCe().item_double());
    scalars.put("info/loss_dice", sup.lossDice().item_double());
    scalars.put("info/consistency_loss", consistency.item_double());
    scalars.put("info/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputs);
  }
}
