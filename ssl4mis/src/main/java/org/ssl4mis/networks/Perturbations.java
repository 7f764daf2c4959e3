package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;

/**
 * The feature-level perturbations of SSL4MIS's {@code networks/unet.py}, used by {@link UNetCCT} (on every
 * encoder stage, for the auxiliary decoders of cross-consistency training, Ouali et al., CVPR 2020) and by
 * {@link UNetURPC} (on the deep-supervision heads during training):
 *
 * <ul>
 *   <li>{@link #featureNoise}: the reference's {@code FeatureNoise}, {@code x + x * noise} with noise drawn
 *       uniformly from {@code [-r, r)}, one map of shape (C, H, W) shared by the whole batch;
 *   <li>{@link #dropout}: the reference's function {@code Dropout(x, p)}, i.e. {@code F.dropout(x, p)}
 *       whose {@code training} argument defaults to {@code True}: it drops whatever mode the module is in;
 *   <li>{@link #featureDropout}: the reference's {@code FeatureDropout}, which zeroes the spatial positions
 *       whose channel-mean activation reaches a random fraction in {@code [0.7, 0.9)} of its sample's maximum.
 * </ul>
 *
 * <p>Every random number comes from libtorch's generator of the tensor's device, so
 * {@code NativeRuntime.seed(s)} makes a run repeatable. Where the reference draws the FeatureDropout
 * fraction with {@code np.random.uniform(0.7, 0.9)} (NumPy's global generator), this port draws it with
 * {@code torch.rand}: same distribution, one draw per call shared by the batch, but not the same numbers
 * as a Python run with the same seed.
 *
 * <p>None of these look at the training flag; the networks decide when to call them.
 */
public final class Perturbations {
  private Perturbations() {}

  /** The reference's {@code FeatureNoise(uniform_range=0.3)} default. */
  public static final double FEATURE_NOISE_RANGE = 0.3;
  /** The reference's {@code Dropout(x, p=0.3)} default, the rate UNet_CCT's second auxiliary decoder sees. */
  public static final double DROPOUT_P = 0.3;
  /** FeatureDropout's threshold is a fraction of the per-sample maximum drawn from [LOW, HIGH). */
  public static final double FEATURE_DROPOUT_LOW = 0.7;
  public static final double FEATURE_DROPOUT_HIGH = 0.9;

  /**
   * {@code x * noise + x} with {@code noise = -r + U[0, 1) * 2r}, sampled once per call with shape
   * {@code x.shape[1:]} and broadcast over the batch, as the reference's {@code Uniform(-r, r).sample}
   * then {@code unsqueeze(0)} does. The noise has the dtype and device of {@code x}.
   */
  public static Tensor featureNoise(Tensor x, double uniformRange) {
    checkRange(uniformRange);
    long[] perSample = new long[(int) x.dim() - 1];
    for (int d = 1; d < x.dim(); d++) {
      perSample[d - 1] = x.size(d);
    }
    // low + U * (high - low), the order torch.distributions.Uniform uses
    Tensor noise = torch.rand(perSample, x.options())
        .mul(new Scalar(2 * uniformRange))
        .add(new Scalar(-uniformRange))
        .unsqueeze(0);
    return x.mul(noise).add(x);
  }

  /**
   * Element dropout with rate {@code p}, always active (the reference calls {@code F.dropout} without
   * {@code training=self.training}); survivors are scaled by {@code 1 / (1 - p)}.
   */
  public static Tensor dropout(Tensor x, double p) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
    }
    return torch.dropout(x, p, true);
  }

  /**
   * Zeroes, per sample, the spatial positions where the channel mean of {@code x} is at least
   * {@code u * max}, {@code max} being that sample's largest channel mean and {@code u} one draw from
   * {@code U[0.7, 0.9)} for the whole batch (as the reference's single {@code np.random.uniform} scalar).
   * The mask is not differentiated through: gradients flow only to the kept positions.
   */
  public static Tensor featureDropout(Tensor x) {
    if (x.dim() < 2) {
      throw new IllegalArgumentException("FeatureDropout needs (N, C, ...) features, got " + x.dim() + " dims");
    }
    long batch = x.size(0);
    Tensor attention = x.mean(new long[] {1}, true, new ScalarTypeOptional());
    Tensor maxPerSample = attention.reshape(batch, -1).amax(new long[] {1}, true);
    Tensor fraction = torch.rand(new long[] {1}, maxPerSample.options())
        .mul(new Scalar(FEATURE_DROPOUT_HIGH - FEATURE_DROPOUT_LOW))
        .add(new Scalar(FEATURE_DROPOUT_LOW));
    long[] broadcastShape = new long[(int) attention.dim()];
    Arrays.fill(broadcastShape, 1);
    broadcastShape[0] = batch;
    Tensor threshold = maxPerSample.mul(fraction).reshape(broadcastShape).expand_as(attention);
    Tensor keep = attention.lt(threshold).to(x.scalar_type());
    return x.mul(keep);
  }

  private static void checkRange(double uniformRange) {
    if (!(uniformRange > 0)) {
      throw new IllegalArgumentException("uniform_range must be > 0 (Uniform(-r, r) needs low < high), got "
          + uniformRange);
    }
  }

  /**
   * The reference's {@code FeatureNoise} module ({@link Perturbations#featureNoise} as a parameter-free
   * layer). Like the reference it perturbs in eval mode too: callers such as {@link UNetURPC} only invoke
   * it while training.
   */
  public static final class FeatureNoise extends JModule implements Layer {
    private final double uniformRange;

    public FeatureNoise() {
      this(FEATURE_NOISE_RANGE);
    }

    public FeatureNoise(double uniformRange) {
      checkRange(uniformRange);
      this.uniformRange = uniformRange;
    }

    public double uniformRange() {
      return uniformRange;
    }

    @Override
    public Tensor forward(Tensor x) {
      return featureNoise(x, uniformRange);
    }
  }
}
