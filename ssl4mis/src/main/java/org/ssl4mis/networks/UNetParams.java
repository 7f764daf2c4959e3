package org.ssl4mis.networks;

import java.util.Arrays;

/**
 * The {@code params} dictionary of SSL4MIS's 2D UNets: input channels, the five feature widths, the five
 * encoder dropout rates and the class count.
 *
 * @param upBlocksBilinear what the up blocks actually use: {@code true} reproduces the reference, whose
 *     decoders ignore {@code params['bilinear']} (see {@link UNet2dBlocks.UpBlock})
 */
public record UNetParams(long inChannels, long[] featureChannels, double[] dropout, long classNum,
    boolean upBlocksBilinear) {

  /** The reference's {@code feature_chns}: {@code [16, 32, 64, 128, 256]}. */
  public static final long[] DEFAULT_FEATURES = {16, 32, 64, 128, 256};
  /** The reference's {@code dropout}: {@code [0.05, 0.1, 0.2, 0.3, 0.5]}. */
  public static final double[] DEFAULT_DROPOUT = {0.05, 0.1, 0.2, 0.3, 0.5};

  public UNetParams {
    if (inChannels < 1 || classNum < 1) {
      throw new IllegalArgumentException("in_chns and class_num must be >= 1, got " + inChannels + " and " + classNum);
    }
    if (featureChannels.length != 5 || Arrays.stream(featureChannels).anyMatch(c -> c < 1)) {
      throw new IllegalArgumentException("feature_chns must be 5 positive widths, got " + Arrays.toString(featureChannels));
    }
    if (dropout.length != 5 || Arrays.stream(dropout).anyMatch(d -> !(d >= 0 && d <= 1))) {
      throw new IllegalArgumentException("dropout must be 5 rates in [0, 1], got " + Arrays.toString(dropout));
    }
    featureChannels = featureChannels.clone();
    dropout = dropout.clone();
  }

  /** The reference {@code UNet(in_chns, class_num)} configuration. */
  public static UNetParams reference(long inChannels, long classNum) {
    return new UNetParams(inChannels, DEFAULT_FEATURES, DEFAULT_DROPOUT, classNum, true);
  }

  public UNetParams withFeatureChannels(long... widths) {
    return new UNetParams(inChannels, widths, dropout, classNum, upBlocksBilinear);
  }

  public UNetParams withDropout(double... rates) {
    return new UNetParams(inChannels, featureChannels, rates, classNum, upBlocksBilinear);
  }

  @Override
  public long[] featureChannels() {
    return featureChannels.clone();
  }

  @Override
  public double[] dropout() {
    return dropout.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof UNetParams p && p.inChannels == inChannels && p.classNum == classNum
        && p.upBlocksBilinear == upBlocksBilinear && Arrays.equals(p.featureChannels, featureChannels)
        && Arrays.equals(p.dropout, dropout);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(inChannels) * 31 + Arrays.hashCode(featureChannels) * 17 + Arrays.hashCode(dropout)
        + Long.hashCode(classNum) + (upBlocksBilinear ? 1 : 0);
  }

  @Override
  public String toString() {
    return "UNetParams[in_chns=" + inChannels + ", feature_chns=" + Arrays.toString(featureChannels) + ", dropout="
        + Arrays.toString(dropout) + ", class_num=" + classNum + ", up_bilinear=" + upBlocksBilinear + "]";
  }
}
