package org.ssl4mis.train.methods;

import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.data.Volume;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.TrainingContext;

/**
 * What the two FixMatch scripts ({@code train_fixmatch_standard_augs.py}, {@code train_fixmatch_cta.py}) share:
 * the snapshot folder {@code ../model/{exp}_{labeled_num}/{model}}, the scalars {@code lr},
 * {@code consistency_weight/consistency_weight} and {@code loss/model_loss}, the log line
 * {@code iteration %d : model loss : %f}, validation under {@code info/model_val_*} with the line
 * {@code iteration %d : model_mean_dice : %f model_mean_hd95 : %f}, checkpoints {@code model_iter_{n}_dice_{d}.pth},
 * {@code {model}_best_model.pth} and {@code model_iter_{n}.pth}, and a batch of {@code image_weak} (the engine's
 * image), {@code label_aug} (its label) and {@code image_strong} (an extra image).
 *
 * <p>Deviation: the scripts write those checkpoints with {@code util.save_checkpoint} as
 * {@code {'epoch', 'state_dict', 'optimizer_state_dict', 'loss'}}; here they hold the model's state dict alone
 * (what {@code load_state_dict} takes, and what the other scripts save).
 */
abstract class FixMatchScript implements Method {
  /** The extra batch image of the strongly augmented views. */
  static final String IMAGE_STRONG = "image_strong";

  private DiceLoss dice;

  abstract String exp();

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim != 2) {
      throw new IllegalArgumentException(name() + ": the reference has only a 2D script (" + referenceScript(2)
          + "); use --dim 2");
    }
    return Map.of("exp", exp(), "labeled_num", "7", "snapshot_name", "{exp}_{labeled_num}", "conf_thresh", "0.8");
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    throw new IllegalArgumentException(name() + " trains on weakly and strongly augmented views; its batches come from"
        + " its own training data (Method.trainingData) with the extra image '" + IMAGE_STRONG + "'");
  }

  static Tensor strongBatch(Map<String, Tensor> extras, String method) {
    Tensor strong = extras.get(IMAGE_STRONG);
    if (strong == null) {
      throw new IllegalArgumentException(method + " needs the batch's '" + IMAGE_STRONG + "' images, got " + extras
          .keySet());
    }
    return strong;
  }

  /** {@code ce_loss(logits, target.long()) + dice_loss(softmax, target.unsqueeze(1))}. */
  Tensor ceDice(TrainingContext ctx, Tensor logits, Tensor soft, Tensor target) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    return Losses.cross_entropy(logits, target).add(dice.forward(soft, target.unsqueeze(1)));
  }

  @Override
  public String learningRateTag() {
    return "lr";
  }

  @Override
  public String totalLossTag() {
    return "loss/model_loss";
  }

  @Override
  public String logLine(int iterNum, double loss, Map<String, Double> scalars) {
    return String.format(Locale.ROOT, "iteration %d : model loss : %f", iterNum, loss);
  }

  @Override
  public String studentPrefix(String name, int students) {
    return "model_";
  }

  /** The {@code (H, W)} sample of {@code image_weak} and {@code label_aug}, checked to be a 2D slice. */
  static void requireSlice(Volume v, String method) {
    if (v.rank() != 2) {
      throw new IllegalArgumentException(method + " trains on 2D slices; " + v.name() + " has shape "
          + java.util.Arrays.toString(v.shape()));
    }
  }
}
