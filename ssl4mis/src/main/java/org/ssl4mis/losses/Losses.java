package org.ssl4mis.losses;

import java.util.Arrays;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * The loss functions of SSL4MIS's {@code code/utils/losses.py}, plus {@code nn.CrossEntropyLoss()} as the
 * training scripts use it, on libtorch tensors. Method names are the Python names, so a script reads the same
 * in Java; the class-based losses are {@link DiceLoss} and {@link FocalLoss}.
 *
 * <p>Everything is built from differentiable libtorch ops in the reference's own order (the same float32
 * operations, the same reductions), so the results can be back-propagated and match the reference to the last
 * few bits. Every quirk of the reference is reproduced by default and described on the method; where a quirk
 * is a real bug, an overload offers the fix and says so.
 *
 * <p>Shared quirks:
 *
 * <ul>
 *   <li>The consistency losses ({@link #softmax_mse_loss}, {@link #softmax_kl_loss}, {@link #softmax_dice_loss})
 *       say in their Python docstrings that they send no gradient to the target, but none of them detaches it:
 *       gradients do reach the target's graph. The scripts compute the target under {@code no_grad} (EMA
 *       teacher), so it rarely matters; call {@code detach()} on the target yourself where it does.
 *   <li>The same docstrings say "returns the sum over all examples"; the functions return means (or, for
 *       {@link #softmax_mse_loss}, the unreduced map).
 * </ul>
 *
 * <p>Every tensor returned, and every temporary, belongs to the current {@link org.ssl4mis.memory.MemoryScope}.
 * Inputs may live on any device.
 */
public final class Losses {

  static {
    NativeRuntime.init();
  }

  /** The {@code smooth} term of the Dice losses. */
  public static final double SMOOTH = 1e-5;
  /** The {@code 1e-6} added inside the logarithm of the entropy losses. */
  public static final double LOG_EPSILON = 1e-6;
  /** libtorch's {@code at::Reduction::None} and {@code at::Reduction::Mean}. */
  private static final long REDUCTION_NONE = 0;
  private static final long REDUCTION_MEAN = 1;
  /** The class axis of (N, C, ...) tensors: pass it to {@link #compute_kl_loss(Tensor, Tensor, long)} for the fix. */
  public static final long CLASS_DIM = 1;

  private Losses() {}

  // ---- Dice ----------------------------------------------------------------------------------------

  /**
   * {@code dice_loss(score, target)}: {@code 1 - (2*sum(score*target) + 1e-5) / (sum(score^2) + sum(target^2) +
   * 1e-5)}, summed over every element (the whole batch at once, not per sample). The 3D scripts call it as
   * {@code dice_loss(outputs_soft[:, 1], label == 1)}.
   *
   * @param score probabilities of one class, any shape
   * @param target the same shape; a boolean or integer mask is cast to float first ({@code target.float()})
   */
  public static Tensor dice_loss(Tensor score, Tensor target) {
    Tensor t = asFloat(target);
    Tensor intersect = score.mul(t).sum();
    Tensor ySum = t.mul(t).sum();
    Tensor zSum = score.mul(score).sum();
    return oneMinusDiceRatio(intersect, ySum, zSum);
  }

  /**
   * {@code dice_loss1(score, target)}: like {@link #dice_loss} with plain sums in the denominator,
   * {@code 1 - (2*sum(score*target) + 1e-5) / (sum(score) + sum(target) + 1e-5)}.
   */
  public static Tensor dice_loss1(Tensor score, Tensor target) {
    Tensor t = asFloat(target);
    Tensor intersect = score.mul(t).sum();
    Tensor ySum = t.sum();
    Tensor zSum = score.sum();
    return oneMinusDiceRatio(intersect, ySum, zSum);
  }

  /** {@code 1 - (2*intersect + smooth) / (z_sum + y_sum + smooth)} in the reference's operation order. */
  static Tensor oneMinusDiceRatio(Tensor intersect, Tensor ySum, Tensor zSum) {
    Tensor numerator = intersect.mul(new Scalar(2.0)).add(new Scalar(SMOOTH));
    Tensor denominator = zSum.add(ySum).add(new Scalar(SMOOTH));
    return torch.rsub(numerator.div(denominator), new Scalar(1.0));
  }

  /**
   * {@code softmax_dice_loss(input_logits, target_logits)}: softmax over the class axis on both sides, then the
   * mean over classes of {@link #dice_loss1} between the two probability maps. (Its Python docstring is copied
   * from the MSE loss and describes neither the Dice nor the gradient flow: the target is not detached.)
   */
  public static Tensor softmax_dice_loss(Tensor inputLogits, Tensor targetLogits) {
    requireSameShape(inputLogits, targetLogits, "softmax_dice_loss");
    Tensor inputSoftmax = inputLogits.softmax(1);
    Tensor targetSoftmax = targetLogits.softmax(1);
    long n = inputLogits.size(1);
    Tensor dice = null;
    for (long i = 0; i < n; i++) {
      Tensor d = dice_loss1(inputSoftmax.select(1, i), targetSoftmax.select(1, i));
      dice = dice == null ? d : dice.add(d);
    }
    return dice.div(new Scalar((double) n));
  }

  // ---- entropy -------------------------------------------------------------------------------------

  /** {@link #entropy_loss(Tensor, long)} with the reference's default {@code C=2}. */
  public static Tensor entropy_loss(Tensor p) {
    return entropy_loss(p, 2);
  }

  /**
   * {@code entropy_loss(p, C)}: the mean over all positions of the per-position entropy over the class axis,
   * normalised by {@code log(C)}: {@code mean(-sum_c p*log(p + 1e-6)) / log(C)}.
   *
   * <p>Quirks: the divisor is {@code torch.tensor(np.log(C))}, a float64 0-dim tensor; it does not promote the
   * float32 result, so the division is a float32 one by {@code (float) log(C)}, reproduced here the same way.
   * {@code C} is taken as given, not from {@code p}: the default {@code C=2} with a 4-class {@code p} (as in
   * {@code entropy_loss(prob)}) scales the entropy by {@code 1/log 2} instead of {@code 1/log 4}. The 2D
   * entropy-minimisation script passes {@code C=4}, the 3D one {@code C=2}.
   *
   * @param p probabilities (N, C, ...)
   */
  public static Tensor entropy_loss(Tensor p, long C) {
    Tensor y1 = negativeEntropySum(p, false).div(logC(C));
    return y1.mean();
  }

  /** {@link #entropy_loss_map(Tensor, long)} with the default {@code C=2}. */
  public static Tensor entropy_loss_map(Tensor p) {
    return entropy_loss_map(p, 2);
  }

  /**
   * {@code entropy_loss_map(p, C)}: the per-position entropy {@code -sum_c p*log(p + 1e-6) / log(C)} with the
   * class axis kept (N, 1, ...). Same float64 divisor quirk as {@link #entropy_loss(Tensor, long)}.
   */
  public static Tensor entropy_loss_map(Tensor p, long C) {
    return negativeEntropySum(p, true).div(logC(C));
  }

  /**
   * {@code entropy_minmization(p)} (sic, the reference's spelling): the mean over positions of
   * {@code -sum_c p*log(p + 1e-6)}, not normalised.
   */
  public static Tensor entropy_minmization(Tensor p) {
    return negativeEntropySum(p, false).mean();
  }

  /** {@code entropy_map(p)}: the unnormalised per-position entropy, class axis kept (N, 1, ...). */
  public static Tensor entropy_map(Tensor p) {
    return negativeEntropySum(p, true);
  }

  /** {@code -1 * torch.sum(p * torch.log(p + 1e-6), dim=1, keepdim=keepdim)}. */
  private static Tensor negativeEntropySum(Tensor p, boolean keepdim) {
    Tensor plogp = p.mul(p.add(new Scalar(LOG_EPSILON)).log());
    return plogp.sum(new long[] {1}, keepdim, new ScalarTypeOptional()).mul(new Scalar(-1.0));
  }

  /** {@code torch.tensor(np.log(C))}: a float64 0-dim CPU tensor (usable with tensors on any device). */
  private static Tensor logC(long C) {
    if (C < 1) {
      throw new IllegalArgumentException("C must be a class count >= 1, got " + C);
    }
    return Tensors.scalar(StrictMath.log((double) C), DType.FLOAT64);
  }

  // ---- consistency ---------------------------------------------------------------------------------

  /** {@link #softmax_mse_loss(Tensor, Tensor, boolean)} with {@code sigmoid=false}. */
  public static Tensor softmax_mse_loss(Tensor inputLogits, Tensor targetLogits) {
    return softmax_mse_loss(inputLogits, targetLogits, false);
  }

  /**
   * {@code softmax_mse_loss(input_logits, target_logits, sigmoid)}: {@code (softmax(a) - softmax(b))^2}
   * elementwise (softmax over the class axis, or elementwise sigmoids when {@code sigmoid}).
   *
   * <p>Quirk: the result is the UNREDUCED map of the inputs' shape, although the docstring promises a sum; the
   * scripts reduce it themselves ({@code torch.mean(...)}, or a masked sum in the uncertainty-aware mean
   * teacher). The target is not detached.
   */
  public static Tensor softmax_mse_loss(Tensor inputLogits, Tensor targetLogits, boolean sigmoid) {
    requireSameShape(inputLogits, targetLogits, "softmax_mse_loss");
    Tensor a = sigmoid ? inputLogits.sigmoid() : inputLogits.softmax(1);
    Tensor b = sigmoid ? targetLogits.sigmoid() : targetLogits.softmax(1);
    return a.sub(b).pow(new Scalar(2.0));
  }

  /** {@link #softmax_kl_loss(Tensor, Tensor, boolean)} with {@code sigmoid=false}. */
  public static Tensor softmax_kl_loss(Tensor inputLogits, Tensor targetLogits) {
    return softmax_kl_loss(inputLogits, targetLogits, false);
  }

  /**
   * {@code softmax_kl_loss(input_logits, target_logits, sigmoid)}:
   * {@code F.kl_div(log_softmax(a), softmax(b), reduction='mean')} over the class axis (or
   * {@code log(sigmoid(a))} against {@code sigmoid(b)} when {@code sigmoid}).
   *
   * <p>Quirk: {@code reduction='mean'} averages over ALL elements (N*C*H*W...), not per sample
   * ({@code 'batchmean'}, the mathematical KL divergence); the value is the batch-mean KL divided by
   * {@code C*H*W...}. Kept as the reference computes it. The sigmoid branch takes {@code log(sigmoid(x))}
   * rather than {@code logsigmoid(x)}, which underflows to {@code -inf} for logits below about -88 (float32).
   */
  public static Tensor softmax_kl_loss(Tensor inputLogits, Tensor targetLogits, boolean sigmoid) {
    requireSameShape(inputLogits, targetLogits, "softmax_kl_loss");
    Tensor inputLog = sigmoid ? inputLogits.sigmoid().log() : inputLogits.log_softmax(1);
    Tensor target = sigmoid ? targetLogits.sigmoid() : targetLogits.softmax(1);
    return torch.kl_div(inputLog, target, REDUCTION_MEAN, false);
  }

  /**
   * {@code symmetric_mse_loss(input1, input2)}: {@code mean((input1 - input2)^2)}, gradients to both inputs
   * (the docstring's "sum over all examples" is wrong: it is the mean).
   */
  public static Tensor symmetric_mse_loss(Tensor input1, Tensor input2) {
    requireSameShape(input1, input2, "symmetric_mse_loss");
    return input1.sub(input2).pow(new Scalar(2.0)).mean();
  }

  /**
   * {@code compute_kl_loss(p, q)}, the symmetric KL term of R-Drop ({@code train_regularized_dropout_*.py}):
   * {@code (mean(kl_div(log_softmax(p), softmax(q), 'none')) + mean(kl_div(log_softmax(q), softmax(p), 'none'))) / 2}.
   *
   * <p>Quirk (a real bug, reproduced by default): the softmaxes are taken over {@code dim=-1}, the LAST SPATIAL
   * axis (W in 2D, D in 3D), as in R-Drop's NLP code where the last axis is the vocabulary, instead of over the
   * class axis of segmentation logits. Each row along the last axis is then treated as a distribution. The fix
   * is {@link #compute_kl_loss(Tensor, Tensor, long) compute_kl_loss(p, q, CLASS_DIM)}. The mean over all
   * elements (rather than R-Drop's sum) is what the reference does and is kept in both forms.
   */
  public static Tensor compute_kl_loss(Tensor p, Tensor q) {
    return compute_kl_loss(p, q, -1);
  }

  /**
   * {@link #compute_kl_loss(Tensor, Tensor)} with the softmaxes over {@code dim}: {@code -1} reproduces the
   * reference, {@link #CLASS_DIM} is the fix (a KL divergence between class distributions per position).
   */
  public static Tensor compute_kl_loss(Tensor p, Tensor q, long dim) {
    requireSameShape(p, q, "compute_kl_loss");
    Tensor pLoss = torch.kl_div(p.log_softmax(dim), q.softmax(dim), REDUCTION_NONE, false);
    Tensor qLoss = torch.kl_div(q.log_softmax(dim), p.softmax(dim), REDUCTION_NONE, false);
    return pLoss.mean().add(qLoss.mean()).div(new Scalar(2.0));
  }

  // ---- supervised --------------------------------------------------------------------------------

  /**
   * {@code nn.CrossEntropyLoss()(logits, target)} as the scripts call it: log-softmax over the class axis,
   * negative log-likelihood of the target class, mean over all positions (no weights, no ignored index, no
   * label smoothing).
   *
   * @param logits (N, C, ...) raw scores
   * @param target (N, ...) class indices; integer dtypes other than int64 (e.g. the uint8 labels of the data
   *     loaders) are converted with {@code .long()}, as the scripts do before calling the loss. A floating-point
   *     target of the logits' shape is taken as class probabilities, as PyTorch does.
   */
  public static Tensor cross_entropy(Tensor logits, Tensor target) {
    DType d = Tensors.dtype(target);
    Tensor t = d == DType.INT64 || d.isFloatingPoint() ? target : target.to(torch.ScalarType.Long);
    return torch.cross_entropy_loss(logits, t);
  }

  // ---- helpers -----------------------------------------------------------------------------------

  /** {@code target.float()}: float32 whatever the input dtype (a float32 tensor is returned as is). */
  static Tensor asFloat(Tensor target) {
    return target.scalar_type().intern() == torch.ScalarType.Float ? target : target.to(torch.ScalarType.Float);
  }

  static void requireSameShape(Tensor a, Tensor b, String what) {
    long[] sa = Tensors.shape(a);
    long[] sb = Tensors.shape(b);
    if (!Arrays.equals(sa, sb)) {
      throw new IllegalArgumentException(what + ": the two inputs must have the same shape, got "
          + Arrays.toString(sa) + " and " + Arrays.toString(sb));
    }
  }
}
