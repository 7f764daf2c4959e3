package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.Dropout3dImpl;
import org.bytedeco.pytorch.TanhImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.UpsampleImpl;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.networks.VNet.ConvBlock;
import org.ssl4mis.networks.VNet.DownsamplingConvBlock;
import org.ssl4mis.networks.VNet.Normalization;
import org.ssl4mis.networks.VNet.UpsamplingDeconvBlock;

/**
 * CANet's segmentation network for semi-supervised 3D left-atrium segmentation: SSL4MIS's {@link VNet} with a
 * transformer bottleneck and SASSNet's two heads.
 *
 * <ul>
 *   <li>Encoder: the VNet blocks {@code block_one .. block_five} ({@code n_filters} x 1, 2, 4, 8, 16 channels,
 *       strided 2x2x2 convolutions between them, the chosen normalisation and ReLU after every convolution).
 *   <li>Bottleneck: the block_five features (16 n_filters channels at 1/16 resolution; after the shared
 *       {@code Dropout3d(0.5)} when {@code has_dropout}) pass the {@link CANetTransformer} {@code transformer}
 *       (patch embedding with kernel = stride = {@code patch_size}, position embeddings, {@code num_layers}
 *       pre-norm layers), are folded back into a 3D map, mapped back to 16 n_filters channels by a 1x1x1
 *       convolution {@code restore_conv} when {@code hidden_size} differs from that width (absent otherwise),
 *       and, when {@code patch_size > 1}, upsampled back to the bottleneck grid by {@code upsample}
 *       (trilinear, {@code align_corners=False}, parameter-free).
 *   <li>Decoder: the VNet blocks {@code block_five_up .. block_nine}, each upsampled level added to the encoder
 *       features ({@code x1 .. x4}); the transformer output replaces {@code x5}.
 *   <li>Heads, as SASSNet's {@code vnet_sdf.VNet} (Li et al., "Shape-aware Semi-supervised 3D Semantic
 *       Segmentation for Medical Images", MICCAI 2020): after {@code block_nine} (and the dropout when
 *       {@code has_dropout}), {@code out_conv} followed by {@code tanh} gives the signed-distance map and
 *       {@code out_conv2} the segmentation logits, both 1x1x1 convolutions to {@code n_classes} channels.
 * </ul>
 *
 * <p>{@link #forward(Tensor)} returns {@code [sdf, seg]}: index 0 ({@link #SDF}) the tanh signed-distance map
 * (N, n_classes, D, H, W) in [-1, 1], index 1 ({@link #SEG}) the segmentation logits (N, n_classes, D, H, W),
 * SASSNet's {@code (out_tanh, out_seg)} order.
 *
 * <p>Input (N, n_channels, D, H, W) with (D, H, W) = {@code img_size}: the position embeddings fix the number of
 * tokens, (img_size / 16 / patch_size) per axis; for the LA patch 112x112x80 and patch size 1 that is 7x7x5 =
 * 245 tokens. The module tree (and so every state-dict key) is that of {@code canet_reference.py}'s
 * {@code CANet}; PyTorch's default initialisation, zero position embeddings.
 */
public final class CANet extends JModule {

  /** Index of the tanh signed-distance map in {@link #forward}'s result. */
  public static final int SDF = 0;
  /** Index of the segmentation logits in {@link #forward}'s result. */
  public static final int SEG = 1;
  /** Total stride of the VNet encoder: the bottleneck grid is img_size / 16. */
  public static final long ENCODER_STRIDE = 16;

  /**
   * The constructor arguments, by their Python names ({@code CANet(n_channels, n_classes, n_filters, normalization,
   * has_dropout, img_size, patch_size, hidden_size, num_heads, mlp_dim, num_layers, dropout_rate,
   * attention_dropout_rate)}).
   */
  public record Config(long nChannels, long nClasses, long nFilters, Normalization normalization, boolean hasDropout,
      long[] imgSize, long patchSize, long hiddenSize, long numHeads, long mlpDim, int numLayers, double dropoutRate,
      double attentionDropoutRate) {

    /** The LA training patch, (D, H, W) = (112, 112, 80) as SSL4MIS's LA scripts crop it. */
    public static final long[] LA_PATCH = {112, 112, 80};

    public Config {
      Objects.requireNonNull(normalization, "normalization");
      if (nChannels < 1 || nClasses < 1 || nFilters < 1) {
        throw new IllegalArgumentException("n_channels, n_classes and n_filters must be >= 1, got " + nChannels + ", "
            + nClasses + ", " + nFilters);
      }
      if (normalization == Normalization.GROUPNORM && nFilters % VNet.GROUPS != 0) {
        throw new IllegalArgumentException("groupnorm (16 groups, as in VNet) needs n_filters to be a multiple of 16,"
            + " got " + nFilters);
      }
      if (imgSize == null || imgSize.length != 3) {
        throw new IllegalArgumentException("img_size must be (D, H, W), got " + Arrays.toString(imgSize));
      }
      imgSize = imgSize.clone();
      if (patchSize < 1) {
        throw new IllegalArgumentException("patch_size must be >= 1, got " + patchSize);
      }
      for (long s : imgSize) {
        if (s < ENCODER_STRIDE * patchSize || s % (ENCODER_STRIDE * patchSize) != 0) {
          throw new IllegalArgumentException("img_size " + Arrays.toString(imgSize) + " must be multiples of 16 x"
              + " patch_size = " + ENCODER_STRIDE * patchSize + " (four stride-2 convolutions, then patches of "
              + patchSize + ")");
        }
      }
      if (hiddenSize < 1 || numHeads < 1 || hiddenSize % numHeads != 0) {
        throw new IllegalArgumentException("hidden_size " + hiddenSize + " must be a positive multiple of num_heads "
            + numHeads);
      }
      if (mlpDim < 1 || numLayers < 1) {
        throw new IllegalArgumentException("mlp_dim and num_layers must be >= 1, got " + mlpDim + ", " + numLayers);
      }
      if (!(dropoutRate >= 0 && dropoutRate <= 1) || !(attentionDropoutRate >= 0 && attentionDropoutRate <= 1)) {
        throw new IllegalArgumentException("dropout rates must be in [0, 1], got " + dropoutRate + ", "
            + attentionDropoutRate);
      }
    }

    /**
     * The defaults of the reference constructor for the LA task: 16 filters, batch norm, dropout on, 112x112x80,
     * patch 1, hidden 256 (= 16 n_filters, so no restore convolution), 8 heads, MLP 1024, 12 layers, dropout 0.1,
     * attention dropout 0.
     */
    public static Config of(long nChannels, long nClasses) {
      return new Config(nChannels, nClasses, 16, Normalization.BATCHNORM, true, LA_PATCH, 1, 256, 8, 1024, 12, 0.1,
          0.0);
    }

    /** Another {@code n_filters}; the transformer width stays as it is (see {@link #withTransformer}). */
    public Config withFilters(long filters) {
      return new Config(nChannels, nClasses, filters, normalization, hasDropout, imgSize, patchSize, hiddenSize,
          numHeads, mlpDim, numLayers, dropoutRate, attentionDropoutRate);
    }

    public Config withNormalization(Normalization norm) {
      return new Config(nChannels, nClasses, nFilters, norm, hasDropout, imgSize, patchSize, hiddenSize, numHeads,
          mlpDim, numLayers, dropoutRate, attentionDropoutRate);
    }

    public Config withHasDropout(boolean on) {
      return new Config(nChannels, nClasses, nFilters, normalization, on, imgSize, patchSize, hiddenSize, numHeads,
          mlpDim, numLayers, dropoutRate, attentionDropoutRate);
    }

    /** Another input size (D, H, W) and patch size. */
    public Config withImgSize(long patch, long... dhw) {
      return new Config(nChannels, nClasses, nFilters, normalization, hasDropout, dhw, patch, hiddenSize, numHeads,
          mlpDim, numLayers, dropoutRate, attentionDropoutRate);
    }

    /** The transformer's hidden size, heads, MLP width and depth. */
    public Config withTransformer(long hidden, long heads, long mlp, int layers) {
      return new Config(nChannels, nClasses, nFilters, normalization, hasDropout, imgSize, patchSize, hidden, heads,
          mlp, layers, dropoutRate, attentionDropoutRate);
    }

    /** The transformer's dropout rates (embeddings, projections and MLP; attention weights). */
    public Config withDropoutRates(double dropout, double attentionDropout) {
      return new Config(nChannels, nClasses, nFilters, normalization, hasDropout, imgSize, patchSize, hiddenSize,
          numHeads, mlpDim, numLayers, dropout, attentionDropout);
    }

    @Override
    public long[] imgSize() {
      return imgSize.clone();
    }

    /** The (D, H, W) of the block_five features: img_size / 16. */
    public long[] bottleneckGrid() {
      return Arrays.stream(imgSize).map(s -> s / ENCODER_STRIDE).toArray();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Config c && c.nChannels == nChannels && c.nClasses == nClasses && c.nFilters == nFilters
          && c.normalization == normalization && c.hasDropout == hasDropout && Arrays.equals(c.imgSize, imgSize)
          && c.patchSize == patchSize && c.hiddenSize == hiddenSize && c.numHeads == numHeads && c.mlpDim == mlpDim
          && c.numLayers == numLayers && Double.compare(c.dropoutRate, dropoutRate) == 0
          && Double.compare(c.attentionDropoutRate, attentionDropoutRate) == 0;
    }

    @Override
    public int hashCode() {
      return Objects.hash(nChannels, nClasses, nFilters, normalization, hasDropout, Arrays.hashCode(imgSize),
          patchSize, hiddenSize, numHeads, mlpDim, numLayers, dropoutRate, attentionDropoutRate);
    }

    @Override
    public String toString() {
      return "CANet.Config[n_channels=" + nChannels + ", n_classes=" + nClasses + ", n_filters=" + nFilters
          + ", normalization=" + normalization.pythonName() + ", has_dropout=" + hasDropout + ", img_size="
          + Arrays.toString(imgSize) + ", patch_size=" + patchSize + ", hidden_size=" + hiddenSize + ", num_heads="
          + numHeads + ", mlp_dim=" + mlpDim + ", num_layers=" + numLayers + ", dropout_rate=" + dropoutRate
          + ", attention_dropout_rate=" + attentionDropoutRate + "]";
    }
  }

  final ConvBlock blockOne;
  final DownsamplingConvBlock blockOneDw;
  final ConvBlock blockTwo;
  final DownsamplingConvBlock blockTwoDw;
  final ConvBlock blockThree;
  final DownsamplingConvBlock blockThreeDw;
  final ConvBlock blockFour;
  final DownsamplingConvBlock blockFourDw;
  final ConvBlock blockFive;
  final CANetTransformer transformer;
  final Conv3dImpl restoreConv; // null when hidden_size == 16 n_filters
  final UpsampleImpl upsample; // null when patch_size == 1
  final UpsamplingDeconvBlock blockFiveUp;
  final ConvBlock blockSix;
  final UpsamplingDeconvBlock blockSixUp;
  final ConvBlock blockSeven;
  final UpsamplingDeconvBlock blockSevenUp;
  final ConvBlock blockEight;
  final UpsamplingDeconvBlock blockEightUp;
  final ConvBlock blockNine;
  final Conv3dImpl outConv;
  final Conv3dImpl outConv2;
  final TanhImpl tanh;
  final Dropout3dImpl dropout;

  private final Config config;
  private boolean hasDropout;

  public CANet(Config config) {
    this.config = Objects.requireNonNull(config, "config");
    this.hasDropout = config.hasDropout();
    Normalization norm = config.normalization();
    long n = config.nFilters();
    blockOne = register("block_one", new ConvBlock(1, config.nChannels(), n, norm));
    blockOneDw = register("block_one_dw", new DownsamplingConvBlock(n, 2 * n, norm));
    blockTwo = register("block_two", new ConvBlock(2, 2 * n, 2 * n, norm));
    blockTwoDw = register("block_two_dw", new DownsamplingConvBlock(2 * n, 4 * n, norm));
    blockThree = register("block_three", new ConvBlock(3, 4 * n, 4 * n, norm));
    blockThreeDw = register("block_three_dw", new DownsamplingConvBlock(4 * n, 8 * n, norm));
    blockFour = register("block_four", new ConvBlock(3, 8 * n, 8 * n, norm));
    blockFourDw = register("block_four_dw", new DownsamplingConvBlock(8 * n, 16 * n, norm));
    blockFive = register("block_five", new ConvBlock(3, 16 * n, 16 * n, norm));
    transformer = register("transformer", new CANetTransformer(16 * n, config.bottleneckGrid(), config.patchSize(),
        config.hiddenSize(), config.numHeads(), config.mlpDim(), config.numLayers(), config.dropoutRate(),
        config.attentionDropoutRate()));
    restoreConv = config.hiddenSize() != 16 * n
        ? register("restore_conv", Nn.conv3d(config.hiddenSize(), 16 * n, 1).build())
        : null;
    upsample = config.patchSize() > 1
        ? register("upsample", Nn.upsample3d(config.patchSize(), "trilinear", false))
        : null;
    blockFiveUp = register("block_five_up", new UpsamplingDeconvBlock(16 * n, 8 * n, norm));
    blockSix = register("block_six", new ConvBlock(3, 8 * n, 8 * n, norm));
    blockSixUp = register("block_six_up", new UpsamplingDeconvBlock(8 * n, 4 * n, norm));
    blockSeven = register("block_seven", new ConvBlock(3, 4 * n, 4 * n, norm));
    blockSevenUp = register("block_seven_up", new UpsamplingDeconvBlock(4 * n, 2 * n, norm));
    blockEight = register("block_eight", new ConvBlock(2, 2 * n, 2 * n, norm));
    blockEightUp = register("block_eight_up", new UpsamplingDeconvBlock(2 * n, n, norm));
    blockNine = register("block_nine", new ConvBlock(1, n, n, norm));
    outConv = register("out_conv", Nn.conv3d(n, config.nClasses(), 1).padding(0).build());
    outConv2 = register("out_conv2", Nn.conv3d(n, config.nClasses(), 1).padding(0).build());
    tanh = register("tanh", Nn.tanh());
    dropout = register("dropout", Nn.dropout3d(0.5));
  }

  /** {@link Config#of}: the LA defaults with {@code n_channels} inputs and {@code n_classes} classes. */
  public CANet(long nChannels, long nClasses) {
    this(Config.of(nChannels, nClasses));
  }

  public Config config() {
    return config;
  }

  /** The transformer bottleneck. */
  public CANetTransformer transformer() {
    return transformer;
  }

  /** The reference's {@code has_dropout} attribute (the shared {@code Dropout3d(0.5)}; not the transformer's). */
  public boolean hasDropout() {
    return hasDropout;
  }

  /** Sets {@code has_dropout}, as training scripts assign the Python attribute. */
  public void setHasDropout(boolean on) {
    hasDropout = on;
  }

  /**
   * {@code [x1, x2, x3, x4, t]}: the first four VNet encoder features and the transformed bottleneck {@code t}
   * (16 n_filters channels at img_size / 16), what {@link #decoder} takes.
   */
  public List<Tensor> encoder(Tensor input) {
    long[] shape = NetworkInputs.requireShape("CANet", "input", input, 3, config.nChannels());
    if (!Arrays.equals(NetworkInputs.spatial(shape), config.imgSize)) {
      throw new IllegalArgumentException("CANet was built for inputs of size " + Arrays.toString(config.imgSize)
          + " (img_size: the transformer's position embeddings fix the number of bottleneck tokens), got input shape "
          + Arrays.toString(shape));
    }
    Tensor x1 = blockOne.forward(input);
    Tensor x2 = blockTwo.forward(blockOneDw.forward(x1));
    Tensor x3 = blockThree.forward(blockTwoDw.forward(x2));
    Tensor x4 = blockFour.forward(blockThreeDw.forward(x3));
    Tensor x5 = blockFive.forward(blockFourDw.forward(x4));
    if (hasDropout) {
      x5 = dropout.forward(x5);
    }
    return List.of(x1, x2, x3, x4, bottleneck(x5));
  }

  /** The block_five features through the transformer, back to a (N, 16 n_filters, img_size / 16) map. */
  public Tensor bottleneck(Tensor x5) {
    Tensor t = transformer.forward(x5);
    if (restoreConv != null) {
      t = restoreConv.forward(t);
    }
    if (upsample != null) {
      t = upsample.forward(t);
    }
    return t;
  }

  /** {@code [sdf, seg]} from the {@link #encoder} features (see {@link #forward(Tensor)}). */
  public List<Tensor> decoder(List<Tensor> features) {
    if (features.size() != 5) {
      throw new IllegalArgumentException("CANet.decoder takes the 5 encoder features, got " + features.size());
    }
    Tensor x5Up = blockFiveUp.forward(features.get(4)).add(features.get(3));
    Tensor x6Up = blockSixUp.forward(blockSix.forward(x5Up)).add(features.get(2));
    Tensor x7Up = blockSevenUp.forward(blockSeven.forward(x6Up)).add(features.get(1));
    Tensor x8Up = blockEightUp.forward(blockEight.forward(x7Up)).add(features.get(0));
    Tensor x9 = blockNine.forward(x8Up);
    if (hasDropout) {
      x9 = dropout.forward(x9);
    }
    Tensor sdf = tanh.forward(outConv.forward(x9));
    Tensor seg = outConv2.forward(x9);
    return List.of(sdf, seg);
  }

  /** {@code forward(input, turnoff_drop)}: with {@code turnoffDrop} the shared Dropout3d is skipped for this call. */
  public List<Tensor> forward(Tensor input, boolean turnoffDrop) {
    if (!turnoffDrop) {
      return decoder(encoder(input));
    }
    boolean saved = hasDropout;
    hasDropout = false;
    try {
      return decoder(encoder(input));
    } finally {
      hasDropout = saved;
    }
  }

  /**
   * {@code [sdf, seg]}: {@code get(SDF)} is the tanh signed-distance map and {@code get(SEG)} the segmentation
   * logits, both (N, n_classes, D, H, W).
   */
  public List<Tensor> forward(Tensor input) {
    return forward(input, false);
  }
}
