package org.ssl4mis.networks;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.Dropout3dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * SSL4MIS's {@code VNet} ({@code networks/vnet.py}, {@code net_factory_3d(net_type="vnet")}), after Milletari
 * et al., "V-Net: Fully Convolutional Neural Networks for Volumetric Medical Image Segmentation" (3DV 2016), in
 * the form used by UA-MT and its successors (plain, non-residual convolution stages).
 *
 * <p>Encoder: {@link ConvBlock}s of 1, 2, 3, 3, 3 stages ({@code n_filters} x 1, 2, 4, 8, 16 channels) with
 * strided 2x2x2 convolutions ({@link DownsamplingConvBlock}) between them; decoder: 2x2x2 transposed
 * convolutions ({@link UpsamplingDeconvBlock}) whose outputs are <em>added</em> to the encoder features, blocks
 * of 3, 3, 2, 1 stages, and a 1x1x1 output convolution {@code out_conv}. Every convolution is followed by the
 * chosen normalisation (none by default; {@code net_factory_3d} uses batch norm) and ReLU.
 *
 * <p>Dropout switch, as in the reference: when {@code has_dropout} is set, one shared {@code nn.Dropout3d(p=0.5)}
 * acts on the bottleneck features (end of {@link #encoder}) and on the last decoder features (before
 * {@code out_conv}), in training mode only; {@link #forward(Tensor, boolean) forward(input, true)} turns it off for
 * that call ({@code turnoff_drop}) and restores the flag afterwards.
 *
 * <p>Input (N, n_channels, D, H, W) with D, H, W multiples of 16; output logits (N, n_classes, D, H, W).
 * PyTorch's default initialisation (the reference's kaiming init is commented out).
 */
public final class VNet extends JModule implements Layer {

  /** The reference's {@code normalization} values. */
  public enum Normalization {
    BATCHNORM("batchnorm"),
    GROUPNORM("groupnorm"),
    INSTANCENORM("instancenorm"),
    NONE("none");

    private final String pythonName;

    Normalization(String pythonName) {
      this.pythonName = pythonName;
    }

    public String pythonName() {
      return pythonName;
    }

    /** The normalisation named as in Python ({@code 'batchnorm'}, ...). */
    public static Normalization parse(String name) {
      String n = name.toLowerCase(Locale.ROOT);
      for (Normalization v : values()) {
        if (v.pythonName.equals(n)) {
          return v;
        }
      }
      throw new IllegalArgumentException("normalization '" + name + "' is not one of batchnorm, groupnorm,"
          + " instancenorm, none");
    }

    /** The layer after a convolution with {@code channels} outputs; null for {@link #NONE}. */
    Module layer(long channels) {
      return switch (this) {
        case BATCHNORM -> Nn.batchNorm3d(channels).build();
        case GROUPNORM -> Nn.groupNorm(GROUPS, channels); // the reference hard-codes 16 groups
        case INSTANCENORM -> Nn.instanceNorm3d(channels).build();
        case NONE -> null;
      };
    }
  }

  /** {@code nn.GroupNorm(num_groups=16, ...)} in every block of the reference. */
  static final long GROUPS = 16;

  /** {@code ConvBlock(n_stages, n_filters_in, n_filters_out, normalization)}: (3x3x3 conv, norm, ReLU) per stage. */
  public static final class ConvBlock extends JModule implements Layer {
    final Sequential conv;

    public ConvBlock(int nStages, long nFiltersIn, long nFiltersOut, Normalization normalization) {
      if (nStages < 1) {
        throw new IllegalArgumentException("n_stages must be >= 1, got " + nStages);
      }
      Sequential ops = new Sequential();
      for (int i = 0; i < nStages; i++) {
        long inputChannel = i == 0 ? nFiltersIn : nFiltersOut;
        ops.add(Nn.conv3d(inputChannel, nFiltersOut, 3).padding(1).build());
        addNorm(ops, normalization, nFiltersOut);
        ops.add(Nn.relu());
      }
      conv = register("conv", ops);
    }

    @Override
    public Tensor forward(Tensor x) {
      return conv.forward(x);
    }
  }

  /** {@code DownsamplingConvBlock}: convolution with kernel = stride (default 2), norm, ReLU. */
  public static final class DownsamplingConvBlock extends JModule implements Layer {
    final Sequential conv;

    public DownsamplingConvBlock(long nFiltersIn, long nFiltersOut, long stride, Normalization normalization) {
      Sequential ops = new Sequential(Nn.conv3d(nFiltersIn, nFiltersOut, stride).padding(0).stride(stride).build());
      addNorm(ops, normalization, nFiltersOut);
      ops.add(Nn.relu());
      conv = register("conv", ops);
    }

    public DownsamplingConvBlock(long nFiltersIn, long nFiltersOut, Normalization normalization) {
      this(nFiltersIn, nFiltersOut, 2, normalization);
    }

    @Override
    public Tensor forward(Tensor x) {
      return conv.forward(x);
    }
  }

  /** {@code UpsamplingDeconvBlock}: transposed convolution with kernel = stride (default 2), norm, ReLU. */
  public static final class UpsamplingDeconvBlock extends JModule implements Layer {
    final Sequential conv;

    public UpsamplingDeconvBlock(long nFiltersIn, long nFiltersOut, long stride, Normalization normalization) {
      Sequential ops = new Sequential(Nn.convTranspose3d(nFiltersIn, nFiltersOut, stride).padding(0).stride(stride)
          .build());
      addNorm(ops, normalization, nFiltersOut);
      ops.add(Nn.relu());
      conv = register("conv", ops);
    }

    public UpsamplingDeconvBlock(long nFiltersIn, long nFiltersOut, Normalization normalization) {
      this(nFiltersIn, nFiltersOut, 2, normalization);
    }

    @Override
    public Tensor forward(Tensor x) {
      return conv.forward(x);
    }
  }

  private static void addNorm(Sequential ops, Normalization normalization, long channels) {
    Module norm = Objects.requireNonNull(normalization, "normalization").layer(channels);
    if (norm != null) {
      ops.add(norm);
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
  final UpsamplingDeconvBlock blockFiveUp;
  final ConvBlock blockSix;
  final UpsamplingDeconvBlock blockSixUp;
  final ConvBlock blockSeven;
  final UpsamplingDeconvBlock blockSevenUp;
  final ConvBlock blockEight;
  final UpsamplingDeconvBlock blockEightUp;
  final ConvBlock blockNine;
  final Conv3dImpl outConv;
  final Dropout3dImpl dropout;

  private final long nChannels;
  private final long nClasses;
  private final long nFilters;
  private final Normalization normalization;
  private boolean hasDropout;

  /** {@code VNet(n_channels, n_classes, n_filters, normalization, has_dropout)}. */
  public VNet(long nChannels, long nClasses, long nFilters, Normalization normalization, boolean hasDropout) {
    this.nChannels = nChannels;
    this.nClasses = nClasses;
    this.nFilters = nFilters;
    this.normalization = Objects.requireNonNull(normalization, "normalization");
    this.hasDropout = hasDropout;
    if (normalization == Normalization.GROUPNORM && nFilters % GROUPS != 0) {
      throw new IllegalArgumentException("VNet with groupnorm (16 groups, as in the reference) needs n_filters to be"
          + " a multiple of 16, got " + nFilters);
    }
    long n = nFilters;
    blockOne = register("block_one", new ConvBlock(1, nChannels, n, normalization));
    blockOneDw = register("block_one_dw", new DownsamplingConvBlock(n, 2 * n, normalization));
    blockTwo = register("block_two", new ConvBlock(2, n * 2, n * 2, normalization));
    blockTwoDw = register("block_two_dw", new DownsamplingConvBlock(n * 2, n * 4, normalization));
    blockThree = register("block_three", new ConvBlock(3, n * 4, n * 4, normalization));
    blockThreeDw = register("block_three_dw", new DownsamplingConvBlock(n * 4, n * 8, normalization));
    blockFour = register("block_four", new ConvBlock(3, n * 8, n * 8, normalization));
    blockFourDw = register("block_four_dw", new DownsamplingConvBlock(n * 8, n * 16, normalization));
    blockFive = register("block_five", new ConvBlock(3, n * 16, n * 16, normalization));
    blockFiveUp = register("block_five_up", new UpsamplingDeconvBlock(n * 16, n * 8, normalization));
    blockSix = register("block_six", new ConvBlock(3, n * 8, n * 8, normalization));
    blockSixUp = register("block_six_up", new UpsamplingDeconvBlock(n * 8, n * 4, normalization));
    blockSeven = register("block_seven", new ConvBlock(3, n * 4, n * 4, normalization));
    blockSevenUp = register("block_seven_up", new UpsamplingDeconvBlock(n * 4, n * 2, normalization));
    blockEight = register("block_eight", new ConvBlock(2, n * 2, n * 2, normalization));
    blockEightUp = register("block_eight_up", new UpsamplingDeconvBlock(n * 2, n, normalization));
    blockNine = register("block_nine", new ConvBlock(1, n, n, normalization));
    outConv = register("out_conv", Nn.conv3d(n, nClasses, 1).padding(0).build());
    dropout = register("dropout", Nn.dropout3d(0.5));
  }

  /** {@code VNet(n_channels, n_classes)}: 16 filters, no normalisation, no dropout (the reference's defaults). */
  public VNet(long nChannels, long nClasses) {
    this(nChannels, nClasses, 16, Normalization.NONE, false);
  }

  /** {@code net_factory_3d(net_type="vnet", in_chns, class_num)}: 16 filters, batch norm, dropout on. */
  public static VNet netFactory3d(long inChns, long classNum) {
    return new VNet(inChns, classNum, 16, Normalization.BATCHNORM, true);
  }

  /** The reference's defaults: 3 channels, 2 classes, 16 filters, no normalisation, no dropout. */
  public VNet() {
    this(3, 2, 16, Normalization.NONE, false);
  }

  public long nChannels() {
    return nChannels;
  }

  public long nClasses() {
    return nClasses;
  }

  public long nFilters() {
    return nFilters;
  }

  public Normalization normalization() {
    return normalization;
  }

  /** The reference's {@code has_dropout} attribute. */
  public boolean hasDropout() {
    return hasDropout;
  }

  /** Sets {@code has_dropout}, as training scripts assign the Python attribute. */
  public void setHasDropout(boolean on) {
    hasDropout = on;
  }

  /** The five encoder feature maps {@code [x1, x2, x3, x4, x5]}; x5 passes the dropout when it is switched on. */
  public List<Tensor> encoder(Tensor input) {
    long[] shape = NetworkInputs.requireShape("VNet", "input", input, 3, nChannels);
    NetworkInputs.requireMultiples("VNet", shape, 16, "four stride-2 convolutions, and the decoder adds each"
        + " upsampled level to the encoder's");
    Tensor x1 = blockOne.forward(input);
    Tensor x2 = blockTwo.forward(blockOneDw.forward(x1));
    Tensor x3 = blockThree.forward(blockTwoDw.forward(x2));
    Tensor x4 = blockFour.forward(blockThreeDw.forward(x3));
    Tensor x5 = blockFive.forward(blockFourDw.forward(x4));
    if (hasDropout) {
      x5 = dropout.forward(x5);
    }
    return List.of(x1, x2, x3, x4, x5);
  }

  /** Logits from the five {@link #encoder} features. */
  public Tensor decoder(List<Tensor> features) {
    if (features.size() != 5) {
      throw new IllegalArgumentException("VNet.decoder takes the 5 encoder features, got " + features.size());
    }
    Tensor x5Up = blockFiveUp.forward(features.get(4)).add(features.get(3));
    Tensor x6Up = blockSixUp.forward(blockSix.forward(x5Up)).add(features.get(2));
    Tensor x7Up = blockSevenUp.forward(blockSeven.forward(x6Up)).add(features.get(1));
    Tensor x8Up = blockEightUp.forward(blockEight.forward(x7Up)).add(features.get(0));
    Tensor x9 = blockNine.forward(x8Up);
    if (hasDropout) {
      x9 = dropout.forward(x9);
    }
    return outConv.forward(x9);
  }

  /** {@code forward(input, turnoff_drop)}: with {@code turnoffDrop} the dropout is skipped for this call. */
  public Tensor forward(Tensor input, boolean turnoffDrop) {
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

  /** {@code forward(input)} with {@code turnoff_drop=False}. */
  @Override
  public Tensor forward(Tensor input) {
    return forward(input, false);
  }
}
