package org.ssl4mis.networks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One EfficientNet variant as efficientnet_pytorch 0.7.1 builds it ({@code get_model_params}), plus the
 * feature taps SSL4MIS's encoder wrapper takes from it ({@code efficient_encoder.py}).
 *
 * <p>The compound-scaling coefficients of Tan and Le (ICML 2019), b0..b7:
 *
 * <pre>
 *        width depth resolution dropout   stage_idxs (SSL4MIS)
 *   b0   1.0   1.0   224        0.2       3, 5, 9
 *   b1   1.0   1.1   240        0.2       5, 8, 16
 *   b2   1.1   1.2   260        0.3       5, 8, 16
 *   b3   1.2   1.4   300        0.3       5, 8, 18
 *   b4   1.4   1.8   380        0.4       6, 10, 22
 *   b5   1.6   2.2   456        0.4       8, 13, 27
 *   b6   1.8   2.6   528        0.5       9, 15, 31
 *   b7   2.0   3.1   600        0.5       11, 18, 38
 * </pre>
 *
 * Every variant shares the b0 stages ({@link #BASE_STAGES}), batch-norm momentum 0.99 in TensorFlow's
 * convention (PyTorch momentum {@code 1 - 0.99}), epsilon 1e-3, channel divisor 8 and drop-connect rate 0.2.
 *
 * <p>{@code stageIdxs} are block counts: the encoder returns the output of block {@code stageIdxs[i] - 1}
 * (and of the last block). Kept verbatim from SSL4MIS; for b0 the third tap, 9, is the first block of the
 * 112-channel stage rather than its last (block 11), a quirk of the reference table.
 *
 * @param name e.g. {@code efficientnet-b3}
 * @param widthCoefficient channel multiplier
 * @param depthCoefficient repeat multiplier
 * @param imageSize the resolution the static "same" padding is computed for (not a limit on inputs)
 * @param dropoutRate the classifier head's dropout (the encoder has no head; kept for completeness)
 * @param dropConnectRate the largest drop-connect rate; block {@code i} of {@code n} uses {@code rate * i / n}
 * @param stageIdxs the three intermediate taps of SSL4MIS's encoder, ascending
 */
public record EfficientNetConfig(String name, double widthCoefficient, double depthCoefficient, int imageSize,
    double dropoutRate, double dropConnectRate, List<Integer> stageIdxs) {

  /** TensorFlow-convention batch-norm momentum of every EfficientNet; PyTorch's is {@code 1 - this}. */
  public static final double BATCH_NORM_MOMENTUM_TF = 0.99;
  public static final double BATCH_NORM_EPSILON = 1e-3;
  public static final int CHANNEL_DIVISOR = 8;
  public static final double DEFAULT_DROP_CONNECT_RATE = 0.2;
  /** Stem output channels before width scaling. */
  public static final int STEM_CHANNELS = 32;
  /** Head ({@code _conv_head}) output channels before width scaling. */
  public static final int HEAD_CHANNELS = 1280;

  /**
   * One stage of MBConv blocks: {@code numRepeat} blocks, the first with {@code stride} and
   * {@code inputFilters -> outputFilters}, the others stride 1 and {@code outputFilters -> outputFilters}.
   */
  public record StageArgs(int numRepeat, int kernelSize, int stride, int expandRatio, int inputFilters,
      int outputFilters, double seRatio, boolean idSkip) {
    public StageArgs {
      if (numRepeat < 1 || kernelSize < 1 || stride < 1 || expandRatio < 1 || inputFilters < 1 || outputFilters < 1) {
        throw new IllegalArgumentException("invalid stage " + numRepeat + "x k" + kernelSize + " s" + stride + " e"
            + expandRatio + " i" + inputFilters + " o" + outputFilters);
      }
    }

    /** Whether the block has squeeze-excitation ({@code 0 < se_ratio <= 1}). */
    public boolean hasSe() {
      return seRatio > 0 && seRatio <= 1;
    }
  }

  /** The b0 stages ({@code r1_k3_s11_e1_i32_o16_se0.25}, ...), which every variant scales. */
  public static final List<StageArgs> BASE_STAGES = List.of(
      new StageArgs(1, 3, 1, 1, 32, 16, 0.25, true),
      new StageArgs(2, 3, 2, 6, 16, 24, 0.25, true),
      new StageArgs(2, 5, 2, 6, 24, 40, 0.25, true),
      new StageArgs(3, 3, 2, 6, 40, 80, 0.25, true),
      new StageArgs(3, 5, 1, 6, 80, 112, 0.25, true),
      new StageArgs(4, 5, 2, 6, 112, 192, 0.25, true),
      new StageArgs(1, 3, 1, 6, 192, 320, 0.25, true));

  public EfficientNetConfig {
    if (!(widthCoefficient > 0) || !(depthCoefficient > 0)) {
      throw new IllegalArgumentException("width and depth coefficients must be > 0");
    }
    if (imageSize < 1) {
      throw new IllegalArgumentException("image_size must be >= 1, got " + imageSize);
    }
    if (!(dropConnectRate >= 0 && dropConnectRate <= 1)) {
      throw new IllegalArgumentException("drop_connect_rate must be in [0, 1], got " + dropConnectRate);
    }
    stageIdxs = List.copyOf(stageIdxs);
    if (stageIdxs.size() != 3) {
      throw new IllegalArgumentException("stage_idxs takes 3 block counts, got " + stageIdxs);
    }
    for (int i = 0; i < 3; i++) {
      if (stageIdxs.get(i) < 1 || (i > 0 && stageIdxs.get(i) <= stageIdxs.get(i - 1))) {
        throw new IllegalArgumentException("stage_idxs must be ascending and >= 1, got " + stageIdxs);
      }
    }
  }

  private static EfficientNetConfig variant(int b, double w, double d, int res, double p, int... idxs) {
    return new EfficientNetConfig("efficientnet-b" + b, w, d, res, p, DEFAULT_DROP_CONNECT_RATE,
        List.of(idxs[0], idxs[1], idxs[2]));
  }

  public static EfficientNetConfig b0() {
    return variant(0, 1.0, 1.0, 224, 0.2, 3, 5, 9);
  }

  public static EfficientNetConfig b1() {
    return variant(1, 1.0, 1.1, 240, 0.2, 5, 8, 16);
  }

  public static EfficientNetConfig b2() {
    return variant(2, 1.1, 1.2, 260, 0.3, 5, 8, 16);
  }

  /** SSL4MIS's {@code efficient_unet} encoder. */
  public static EfficientNetConfig b3() {
    return variant(3, 1.2, 1.4, 300, 0.3, 5, 8, 18);
  }

  public static EfficientNetConfig b4() {
    return variant(4, 1.4, 1.8, 380, 0.4, 6, 10, 22);
  }

  public static EfficientNetConfig b5() {
    return variant(5, 1.6, 2.2, 456, 0.4, 8, 13, 27);
  }

  public static EfficientNetConfig b6() {
    return variant(6, 1.8, 2.6, 528, 0.5, 9, 15, 31);
  }

  public static EfficientNetConfig b7() {
    return variant(7, 2.0, 3.1, 600, 0.5, 11, 18, 38);
  }

  /** The names {@link #of} accepts. */
  public static final List<String> NAMES = List.of("efficientnet-b0", "efficientnet-b1", "efficientnet-b2",
      "efficientnet-b3", "efficientnet-b4", "efficientnet-b5", "efficientnet-b6", "efficientnet-b7");

  /** A variant by its efficientnet_pytorch name ({@code efficientnet-b3}) or short name ({@code b3}). */
  public static EfficientNetConfig of(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT);
    if (!n.startsWith("efficientnet-")) {
      n = "efficientnet-" + n;
    }
    return switch (n) {
      case "efficientnet-b0" -> b0();
      case "efficientnet-b1" -> b1();
      case "efficientnet-b2" -> b2();
      case "efficientnet-b3" -> b3();
      case "efficientnet-b4" -> b4();
      case "efficientnet-b5" -> b5();
      case "efficientnet-b6" -> b6();
      case "efficientnet-b7" -> b7();
      default -> throw new IllegalArgumentException("unknown EfficientNet '" + name + "'; valid names: " + NAMES);
    };
  }

  /** The same variant with another drop-connect rate (efficientnet_pytorch's {@code override_params}). */
  public EfficientNetConfig withDropConnectRate(double rate) {
    return new EfficientNetConfig(name, widthCoefficient, depthCoefficient, imageSize, dropoutRate, rate, stageIdxs);
  }

  /** The same variant with its static padding computed for another resolution. */
  public EfficientNetConfig withImageSize(int size) {
    return new EfficientNetConfig(name, widthCoefficient, depthCoefficient, size, dropoutRate, dropConnectRate,
        stageIdxs);
  }

  /** PyTorch's batch-norm momentum, {@code 1 - 0.99}. */
  public double torchBatchNormMomentum() {
    return 1 - BATCH_NORM_MOMENTUM_TF;
  }

  /**
   * {@code round_filters}: {@code filters * width} rounded to the nearest multiple of 8 (at least 8), bumped
   * by 8 when rounding lost more than 10%.
   */
  public int roundFilters(int filters) {
    double scaled = filters * widthCoefficient;
    int rounded = Math.max(CHANNEL_DIVISOR,
        (int) (scaled + CHANNEL_DIVISOR / 2.0) / CHANNEL_DIVISOR * CHANNEL_DIVISOR);
    if (rounded < 0.9 * scaled) {
      rounded += CHANNEL_DIVISOR;
    }
    return rounded;
  }

  /** {@code round_repeats}: {@code ceil(depth * repeats)}. */
  public int roundRepeats(int repeats) {
    return (int) Math.ceil(depthCoefficient * repeats);
  }

  /** {@link #BASE_STAGES} with channels and repeats scaled for this variant. */
  public List<StageArgs> stages() {
    List<StageArgs> out = new ArrayList<>();
    for (StageArgs s : BASE_STAGES) {
      out.add(new StageArgs(roundRepeats(s.numRepeat()), s.kernelSize(), s.stride(), s.expandRatio(),
          roundFilters(s.inputFilters()), roundFilters(s.outputFilters()), s.seRatio(), s.idSkip()));
    }
    return out;
  }

  /** Total number of MBConv blocks ({@code len(_blocks)}): 16 for b0, 26 for b3. */
  public int blockCount() {
    return stages().stream().mapToInt(StageArgs::numRepeat).sum();
  }

  public int stemChannels() {
    return roundFilters(STEM_CHANNELS);
  }

  public int headChannels() {
    return roundFilters(HEAD_CHANNELS);
  }
}
