package org.ssl4mis.losses;

import java.util.Arrays;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.tensor.Tensors;

/**
 * SSL4MIS's {@code losses.FocalLoss(gamma=2, alpha=None, size_average=True)}:
 * {@code -(1 - p_t)^gamma * alpha_t * log(p_t)} per position, where {@code p_t} is the softmax probability of
 * the target class; the mean over positions ({@code size_average}) or the sum.
 *
 * <p>Inputs of more than two dimensions (N, C, H, W, ...) are flattened to (N*H*W..., C) rows, class last,
 * as the reference does; the target is flattened to match.
 *
 * <p>Quirks, reproduced by default:
 *
 * <ul>
 *   <li>The modulating factor {@code (1 - p_t)^gamma} is computed from {@code logpt.data.exp()}, i.e. DETACHED:
 *       the gradient is {@code -(1-p_t)^gamma * d log(p_t)} only, without the term from differentiating the
 *       factor that the focal loss paper's gradient has. The value is unaffected. {@link #withFactorGradient}
 *       gives the paper's gradient.
 *   <li>{@code alpha} is stored as a float32 tensor ({@code torch.Tensor(alpha)}) and then converted to the
 *       input's dtype, so with float64 inputs the class weights are float32-rounded values.
 *   <li>A scalar {@code alpha} means the two-class weights {@code [alpha, 1 - alpha]} ({@link #binary}).
 * </ul>
 *
 * <p>An instance is immutable and can be shared between threads. Results belong to the current
 * {@link org.ssl4mis.memory.MemoryScope}.
 */
public final class FocalLoss {
  private final double gamma;
  private final double[] alpha;
  private final boolean sizeAverage;
  private final boolean factorGradient;

  /** {@code FocalLoss()}: gamma 2, no class weights, mean. */
  public FocalLoss() {
    this(2, null, true);
  }

  /** {@code FocalLoss(gamma=gamma)}. */
  public FocalLoss(double gamma) {
    this(gamma, null, true);
  }

  /**
   * {@code FocalLoss(gamma, alpha=[...], size_average)}.
   *
   * @param alpha one weight per class (indexed by the target class), or null for none
   * @param sizeAverage mean over positions when true, sum when false
   */
  public FocalLoss(double gamma, double[] alpha, boolean sizeAverage) {
    this(gamma, alpha == null ? null : alpha.clone(), sizeAverage, false);
  }

  private FocalLoss(double gamma, double[] alpha, boolean sizeAverage, boolean factorGradient) {
    if (!Double.isFinite(gamma)) {
      throw new IllegalArgumentException("gamma must be finite, got " + gamma);
    }
    this.gamma = gamma;
    this.alpha = alpha;
    this.sizeAverage = sizeAverage;
    this.factorGradient = factorGradient;
  }

  /** {@code FocalLoss(gamma, alpha=a, size_average)} with a number {@code a}: class weights {@code [a, 1 - a]}. */
  public static FocalLoss binary(double gamma, double alpha, boolean sizeAverage) {
    return new FocalLoss(gamma, new double[] {alpha, 1 - alpha}, sizeAverage);
  }

  /**
   * This loss with the fix for the detached modulating factor: when {@code on}, gradients also flow through
   * {@code (1 - p_t)^gamma} (the focal loss paper's gradient). Values are unchanged.
   */
  public FocalLoss withFactorGradient(boolean on) {
    return new FocalLoss(gamma, alpha, sizeAverage, on);
  }

  public double gamma() {
    return gamma;
  }

  /** The class weights, or null. */
  public double[] alpha() {
    return alpha == null ? null : alpha.clone();
  }

  public boolean sizeAverage() {
    return sizeAverage;
  }

  /**
   * {@code forward(input, target)}.
   *
   * @param input (N, C) or (N, C, ...) logits
   * @param target class indices, N or (N, ...) elements (any integer dtype; converted to int64 for
   *     {@code gather})
   */
  public Tensor forward(Tensor input, Tensor target) {
    Tensor x = input;
    if (x.dim() > 2) {
      long n = x.size(0);
      long c = x.size(1);
      x = x.reshape(n, c, -1).transpose(1, 2).contiguous().reshape(-1, c);
    }
    Tensor t = target.scalar_type().intern() == torch.ScalarType.Long ? target : target.to(torch.ScalarType.Long);
    t = t.reshape(-1, 1);
    if (t.size(0) != x.size(0)) {
      throw new IllegalArgumentException("FocalLoss: " + t.size(0) + " target values for " + x.size(0)
          + " rows of input " + Arrays.toString(Tensors.shape(input)));
    }
    Tensor logpt = x.log_softmax(1).gather(1, t).reshape(-1);
    Tensor pt = factorGradient ? logpt.exp() : logpt.detach().exp();
    if (alpha != null) {
      Tensor at = alphaTensor(x).gather(0, t.reshape(-1));
      logpt = logpt.mul(at);
    }
    Tensor loss = torch.rsub(pt, new Scalar(1.0)).pow(new Scalar(gamma)).mul(new Scalar(-1.0)).mul(logpt);
    return sizeAverage ? loss.mean() : loss.sum();
  }

  /** {@code torch.Tensor(alpha).type_as(input)}: float32 values, then the input's dtype and device. */
  private Tensor alphaTensor(Tensor like) {
    float[] values = new float[alpha.length];
    for (int i = 0; i < alpha.length; i++) {
      values[i] = (float) alpha[i];
    }
    Tensor a = Tensors.fromFloats(values, values.length);
    return a.to(like.device(), like.scalar_type());
  }
}
