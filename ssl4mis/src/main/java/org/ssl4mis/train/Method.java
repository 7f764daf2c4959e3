package org.ssl4mis.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A semi-supervised training method: what one iteration of its reference script computes from a batch.
 * The {@link Trainer} does everything the scripts share (models, EMA creation and update, sampler, SGD,
 * the poly learning rate, validation, checkpoints, logs), so a method is one class.
 */
public interface Method {

  /** The name used by {@code --method} (e.g. {@code uamt}). */
  String name();

  /** The reference script this method reproduces for {@code dim} (2 or 3), e.g. {@code train_mean_teacher_2D.py}. */
  String referenceScript(int dim);

  /** Whether the method keeps an EMA teacher, updated after every optimizer step. */
  boolean usesEmaModel();

  /** The script's argparse defaults that differ from the common ones ({@code exp}, {@code labeled_num}, ...). */
  Map<String, String> defaults(int dim);

  /** One iteration's loss, with the terms the script logs, from a batch already on the device. */
  StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch);

  /**
   * The loss of an iteration and its parts.
   *
   * @param total the loss to back-propagate
   * @param scalars TensorBoard scalars under their reference tags ({@code info/loss_ce}, ...), in log order
   * @param outputs the student's logits on the batch (for the image summaries), or null
   */
  record StepLoss(Tensor total, LinkedHashMap<String, Double> scalars, Tensor outputs) {
    public StepLoss {
      scalars = new LinkedHashMap<>(scalars);
    }

    public Map<String, Double> scalarView() {
      return java.util.Collections.unmodifiableMap(scalars);
    }
  }
}
