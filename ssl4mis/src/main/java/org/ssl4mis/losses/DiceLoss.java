package org.ssl4mis.losses;

import java.util.Arrays;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.tensor.Tensors;

/**
 * SSL4MIS's {@code losses.DiceLoss(n_classes)}, the Dice term of every 2D training script:
 * {@code dice_loss(outputs_soft, label.unsqueeze(1))}.
 *
 * <p>For each class {@code i} the target is one-hot encoded by comparison ({@code label == i}) and
 * {@code dice_i = 1 - (2*sum(p_i*t_i) + 1e-5) / (sum(p_i^2) + sum(t_i^2) + 1e-5)}, summed over the whole batch
 * (one Dice per class, not per sample). The loss is {@code sum_i weight[i] * dice_i / n_classes}.
 *
 * <p>Quirks, reproduced:
 *
 * <ul>
 *   <li>Weights are NOT normalised: the weighted loss divides by {@code n_classes}, not by {@code sum(weight)},
 *       so weights summing to 1 shrink the loss by a factor {@code n_classes} compared with the unweighted one.
 *   <li>Labels outside {@code 0..n_classes-1} (an ignore label such as 255) simply match no class; the
 *       positions still count in {@code sum(p^2)}.
 *   <li>The reference also computes {@code 1 - dice.item()} per class into a list it never returns (one device
 *       synchronisation per class on a GPU); that dead code is left out.
 * </ul>
 *
 * <p>An instance holds only the class count and can be shared between threads. Results belong to the current
 * {@link org.ssl4mis.memory.MemoryScope}.
 */
public final class DiceLoss {
  private final int nClasses;

  public DiceLoss(int nClasses) {
    if (nClasses < 1) {
      throw new IllegalArgumentException("n_classes must be >= 1, got " + nClasses);
    }
    this.nClasses = nClasses;
  }

  public int nClasses() {
    return nClasses;
  }

  /** {@code forward(inputs, target)}: probabilities in, unweighted. */
  public Tensor forward(Tensor inputs, Tensor target) {
    return forward(inputs, target, null, false);
  }

  /** {@code forward(inputs, target, softmax=softmax)}, unweighted. */
  public Tensor forward(Tensor inputs, Tensor target, boolean softmax) {
    return forward(inputs, target, null, softmax);
  }

  /**
   * {@code forward(inputs, target, weight, softmax)}.
   *
   * @param inputs (N, n_classes, ...) probabilities, or logits when {@code softmax}
   * @param target (N, 1, ...) class indices of any dtype ({@code label.unsqueeze(1)})
   * @param weight one weight per class, or null for all ones
   * @param softmax whether to apply {@code softmax(inputs, dim=1)} first
   * @throws IllegalArgumentException when the one-hot target does not have the inputs' shape ("predict &amp;
   *     target shape do not match" in the reference) or the weights are not one per class
   */
  public Tensor forward(Tensor inputs, Tensor target, double[] weight, boolean softmax) {
    if (weight != null && weight.length < nClasses) {
      throw new IllegalArgumentException("weight needs one value per class (" + nClasses + "), got "
          + Arrays.toString(weight));
    }
    Tensor probs = softmax ? inputs.softmax(1) : inputs;
    Tensor oneHot = one_hot_encoder(target);
    long[] ps = Tensors.shape(probs);
    long[] ts = Tensors.shape(oneHot);
    if (!Arrays.equals(ps, ts)) {
      throw new IllegalArgumentException("predict & target shape do not match: inputs " + Arrays.toString(ps)
          + ", one-hot target " + Arrays.toString(ts) + " (the target should be label.unsqueeze(1))");
    }
    Tensor loss = null;
    for (int i = 0; i < nClasses; i++) {
      Tensor dice = dice_loss(probs.select(1, i), oneHot.select(1, i));
      Tensor term = dice.mul(new Scalar(weight == null ? 1.0 : weight[i]));
      loss = loss == null ? term : loss.add(term);
    }
    return loss.div(new Scalar((double) nClasses));
  }

  /**
   * {@code _one_hot_encoder(target)}: {@code cat([target == i for i in range(n_classes)], dim=1).float()}, so a
   * (N, 1, ...) label map becomes (N, n_classes, ...) float32.
   */
  public Tensor one_hot_encoder(Tensor target) {
    TensorVector parts = new TensorVector();
    for (int i = 0; i < nClasses; i++) {
      parts.push_back(target.eq(new Scalar((long) i)));
    }
    return torch.cat(parts, 1).to(torch.ScalarType.Float);
  }

  /** {@code _dice_loss(score, target)}: the Dice loss of one class, identical to {@link Losses#dice_loss}. */
  public Tensor dice_loss(Tensor score, Tensor target) {
    return Losses.dice_loss(score, target);
  }
}
