package org.ssl4mis.train.methods;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.data.Volume;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.tensor.DType;
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
 * <p>Those checkpoints are what the scripts' {@code util.save_checkpoint(epoch_num, model, optimizer, loss, path)}
 * writes ({@link #saveCheckpoint}): {@code {'epoch': epoch_num, 'state_dict': model.state_dict(),
 * 'optimizer_state_dict': optimizer.state_dict(), 'loss': loss}}, the optimizer's in PyTorch 1.13's SGD layout
 * and {@code loss} the last step's total loss as a 0-d float tensor with {@code requires_grad} (the script saves
 * the live loss tensor); {@code util.load_checkpoint} reads them back, and {@code ssl4mis test} and
 * {@code Checkpoints.loadInto} find the {@code state_dict} in them.
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

  /** {@code util.save_checkpoint}: the whole dictionary rather than the bare state dict. */
  @Override
  public void saveCheckpoint(Path file, SavedStudent student) throws IOException {
    Map<String, Object> checkpoint = new LinkedHashMap<>();
    checkpoint.put("epoch", student.epoch());
    checkpoint.put("state_dict", Checkpoints.stateDictObject(student.model()));
    checkpoint.put("optimizer_state_dict", student.optimizer().torchStateDict());
    byte[] loss = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putFloat((float) student.loss()).array();
    checkpoint.put("loss", RawTensor.of(DType.FLOAT32, new long[0], loss).withFlags(true, false)); // 0-d float32
    Checkpoints.saveTree(file, checkpoint);
  }

  /** The {@code (H, W)} sample of {@code image_weak} and {@code label_aug}, checked to be a 2D slice. */
  static void requireSlice(Volume v, String method) {
    if (v.rank() != 2) {
      throw new IllegalArgumentException(method + " trains on 2D slices; " + v.name() + " has shape "
          + java.util.Arrays.toString(v.shape()));
    }
  }
}
