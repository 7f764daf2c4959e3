package org.ssl4mis.networks;

import java.lang.ref.Reference;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.ConvTranspose2dImpl;
import org.bytedeco.pytorch.Dropout2dImpl;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.LongVectorOptional;
import org.bytedeco.pytorch.MaxPool2dImpl;
import org.bytedeco.pytorch.MaxUnpool2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Layers;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * SSL4MIS's {@code ENet} ({@code networks/enet.py}, {@code net_factory(net_type="enet")}; Paszke et al.,
 * "ENet: A Deep Neural Network Architecture for Real-Time Semantic Segmentation", 2016): an initial block
 * that halves the resolution, two encoder stages of bottlenecks (downsampling with kept max-pooling
 * indices, regular, dilated and asymmetric 5x1/1x5), a third encoder stage at the same 1/8 resolution, and
 * two decoder stages that unpool with those indices, closed by a stride-2 transposed convolution.
 *
 * <p>Input (N, in_channels, H, W) with {@code in_channels < 16} (the initial block concatenates
 * {@code 16 - in_channels} convolution channels with the max-pooled input) and H, W of at least 7, odd ones
 * included, since every upsampling step is told the size it restores. Output (N, num_classes, H, W).
 *
 * <p>The encoder uses PReLU and the decoder ReLU by default ({@code encoder_relu=False},
 * {@code decoder_relu=True}); the widths (16, 64, 128) and dropout rates (0.01, 0.1) are fixed, as in the
 * reference. Each activation is its own module, so every PReLU has its own weight.
 */
public final class ENet extends JModule implements Layer {
  final InitialBlock initialBlock;
  final DownsamplingBottleneck downsample1_0;
  final RegularBottleneck[] stage1;
  final DownsamplingBottleneck downsample2_0;
  final RegularBottleneck[] stage2;
  final RegularBottleneck[] stage3;
  final UpsamplingBottleneck upsample4_0;
  final RegularBottleneck[] stage4;
  final UpsamplingBottleneck upsample5_0;
  final RegularBottleneck regular5_1;
  final ConvTranspose2dImpl transposedConv;

  /** {@code ENet(in_channels, num_classes)}: PReLU encoder, ReLU decoder, as SSL4MIS builds it. */
  public ENet(long inChannels, long numClasses) {
    this(inChannels, numClasses, false, true);
  }

  /** {@code ENet(in_channels, num_classes, encoder_relu, decoder_relu)}: false selects PReLU. */
  public ENet(long inChannels, long numClasses, boolean encoderRelu, boolean decoderRelu) {
    if (numClasses < 1) {
      throw new IllegalArgumentException("num_classes must be >= 1, got " + numClasses);
    }
    boolean enc = encoderRelu;
    boolean dec = decoderRelu;
    initialBlock = register("initial_block", new InitialBlock(inChannels, 16, false, enc));

    downsample1_0 = register("downsample1_0", new DownsamplingBottleneck(16, 64, 4, 0.01, false, enc));
    stage1 = new RegularBottleneck[] {
        register("regular1_1", RegularBottleneck.regular(64, 1, 0.01, enc)),
        register("regular1_2", RegularBottleneck.regular(64, 1, 0.01, enc)),
        register("regular1_3", RegularBottleneck.regular(64, 1, 0.01, enc)),
        register("regular1_4", RegularBottleneck.regular(64, 1, 0.01, enc))};

    downsample2_0 = register("downsample2_0", new DownsamplingBottleneck(64, 128, 4, 0.1, false, enc));
    stage2 = new RegularBottleneck[] {
        register("regular2_1", RegularBottleneck.regular(128, 1, 0.1, enc)),
        register("dilated2_2", RegularBottleneck.regular(128, 2, 0.1, enc)),
        register("asymmetric2_3", RegularBottleneck.asymmetric5(128, 0.1, enc)),
        register("dilated2_4", RegularBottleneck.regular(128, 4, 0.1, enc)),
        register("regular2_5", RegularBottleneck.regular(128, 1, 0.1, enc)),
        register("dilated2_6", RegularBottleneck.regular(128, 8, 0.1, enc)),
        register("asymmetric2_7", RegularBottleneck.asymmetric5(128, 0.1, enc)),
        register("dilated2_8", RegularBottleneck.regular(128, 16, 0.1, enc))};

    stage3 = new RegularBottleneck[] {
        register("regular3_0", RegularBottleneck.regular(128, 1, 0.1, enc)),
        register("dilated3_1", RegularBottleneck.regular(128, 2, 0.1, enc)),
        register("asymmetric3_2", RegularBottleneck.asymmetric5(128, 0.1, enc)),
        register("dilated3_3", RegularBottleneck.regular(128, 4, 0.1, enc)),
        register("regular3_4", RegularBottleneck.regular(128, 1, 0.1, enc)),
        register("dilated3_5", RegularBottleneck.regular(128, 8, 0.1, enc)),
        register("asymmetric3_6", RegularBottleneck.asymmetric5(128, 0.1, enc)),
        register("dilated3_7", RegularBottleneck.regular(128, 16, 0.1, enc))};

    upsample4_0 = register("upsample4_0", new UpsamplingBottleneck(128, 64, 4, 0.1, false, dec));
    stage4 = new RegularBottleneck[] {
        register("regular4_1", RegularBottleneck.regular(64, 1, 0.1, dec)),
        register("regular4_2", RegularBottleneck.regular(64, 1, 0.1, dec))};

    upsample5_0 = register("upsample5_0", new UpsamplingBottleneck(64, 16, 4, 0.1, false, dec));
    regular5_1 = register("regular5_1", RegularBottleneck.regular(16, 1, 0.1, dec));
    transposedConv = register("transposed_conv",
        Nn.convTranspose2d(16, numClasses, 3).stride(2).padding(1).bias(false).build());
  }

  @Override
  public Tensor forward(Tensor x) {
    long[] inputSize = sizeOf(x);
    x = initialBlock.forward(x);

    long[] stage1InputSize = sizeOf(x);
    Pooled down1 = downsample1_0.forward(x);
    x = down1.output();
    for (RegularBottleneck b : stage1) {
      x = b.forward(x);
    }

    long[] stage2InputSize = sizeOf(x);
    Pooled down2 = downsample2_0.forward(x);
    x = down2.output();
    for (RegularBottleneck b : stage2) {
      x = b.forward(x);
    }
    for (RegularBottleneck b : stage3) {
      x = b.forward(x);
    }

    x = upsample4_0.forward(x, down2.maxIndices(), stage2InputSize);
    for (RegularBottleneck b : stage4) {
      x = b.forward(x);
    }

    x = upsample5_0.forward(x, down1.maxIndices(), stage1InputSize);
    x = regular5_1.forward(x);
    // the output size picks the transposed convolution's output padding, so odd sizes come back exactly
    return transposedConv.forward(x, inputSize);
  }

  /** {@code x.size()}: the upsampling steps take the full (N, C, H, W) size, as in the reference. */
  static long[] sizeOf(Tensor x) {
    if (x.dim() != 4) {
      throw new IllegalArgumentException("ENet takes (N, C, H, W) input, got " + x.dim() + " dims");
    }
    return new long[] {x.size(0), x.size(1), x.size(2), x.size(3)};
  }

  /** {@code nn.ReLU()} when {@code relu}, else {@code nn.PReLU()} (one weight, initialised to 0.25). */
  static Module activation(boolean relu) {
    return relu ? Nn.relu() : Nn.prelu(1, 0.25);
  }

  static void checkInternalRatio(long internalRatio, long channels) {
    if (internalRatio <= 1 || internalRatio > channels) {
      throw new IllegalArgumentException("internal_ratio must be in (1, " + channels + "], got " + internalRatio);
    }
  }

  /** A downsampling bottleneck's output and the max-pooling indices its upsampling partner needs. */
  public record Pooled(Tensor output, Tensor maxIndices) {}

  /**
   * {@code InitialBlock}: a 3x3 stride-2 convolution to {@code out - in} channels beside a 3x3 stride-2 max
   * pooling of the input (its {@code in} channels), concatenated, batch-normalised and activated.
   */
  public static final class InitialBlock extends JModule implements Layer {
    final Conv2dImpl mainBranch;
    final MaxPool2dImpl extBranch;
    final BatchNorm2dImpl batchNorm;
    final Layer outActivation;

    public InitialBlock(long inChannels, long outChannels, boolean bias, boolean relu) {
      if (inChannels < 1 || outChannels <= inChannels) {
        throw new IllegalArgumentException("InitialBlock needs 1 <= in_channels < out_channels, got "
            + inChannels + " and " + outChannels);
      }
      mainBranch = register("main_branch",
          Nn.conv2d(inChannels, outChannels - inChannels, 3).stride(2).padding(1).bias(bias).build());
      extBranch = register("ext_branch", Nn.maxPool2d(3).stride(2).padding(1).build());
      batchNorm = register("batch_norm", Nn.batchNorm2d(outChannels).build());
      outActivation = Layers.of(register("out_activation", activation(relu)));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor out = torch.cat(new TensorVector(mainBranch.forward(x), extBranch.forward(x)), 1);
      return outActivation.forward(batchNorm.forward(out));
    }
  }

  /**
   * {@code RegularBottleneck}: a residual block whose branch is a 1x1 projection to
   * {@code channels / internal_ratio}, a regular, dilated or asymmetric (k x 1 then 1 x k) convolution, a
   * 1x1 expansion (each with batch norm and activation) and channel dropout; added to the input, then
   * activated.
   */
  public static final class RegularBottleneck extends JModule implements Layer {
    final Sequential extConv1;
    final Sequential extConv2;
    final Sequential extConv3;
    final Dropout2dImpl extRegul;
    final Layer outActivation;

    /**
     * The reference's full signature; its defaults are internal_ratio 4, kernel_size 3, padding 0,
     * dilation 1, asymmetric false, dropout_prob 0, bias false, relu true.
     */
    public RegularBottleneck(long channels, long internalRatio, long kernelSize, long padding, long dilation,
        boolean asymmetric, double dropoutProb, boolean bias, boolean relu) {
      checkInternalRatio(internalRatio, channels);
      long internal = channels / internalRatio;
      extConv1 = register("ext_conv1", new Sequential(
          Nn.conv2d(channels, internal, 1).bias(bias).build(),
          Nn.batchNorm2d(internal).build(),
          activation(relu)));
      if (asymmetric) {
        extConv2 = register("ext_conv2", new Sequential(
            Nn.conv2d(internal, internal, kernelSize, 1).padding(padding, 0).dilation(dilation).bias(bias).build(),
            Nn.batchNorm2d(internal).build(),
            activation(relu),
            Nn.conv2d(internal, internal, 1, kernelSize).padding(0, padding).dilation(dilation).bias(bias).build(),
            Nn.batchNorm2d(internal).build(),
            activation(relu)));
      } else {
        extConv2 = register("ext_conv2", new Sequential(
            Nn.conv2d(internal, internal, kernelSize).padding(padding).dilation(dilation).bias(bias).build(),
            Nn.batchNorm2d(internal).build(),
            activation(relu)));
      }
      extConv3 = register("ext_conv3", new Sequential(
          Nn.conv2d(internal, channels, 1).bias(bias).build(),
          Nn.batchNorm2d(channels).build(),
          activation(relu)));
      extRegul = register("ext_regul", Nn.dropout2d(dropoutProb));
      outActivation = Layers.of(register("out_activation", activation(relu)));
    }

    /** A 3x3 bottleneck with dilation {@code d} and padding {@code d} (ENet's regular and dilated ones). */
    static RegularBottleneck regular(long channels, long dilation, double dropoutProb, boolean relu) {
      return new RegularBottleneck(channels, 4, 3, dilation, dilation, false, dropoutProb, false, relu);
    }

    /** A 5x1 + 1x5 bottleneck with padding 2 (ENet's asymmetric ones). */
    static RegularBottleneck asymmetric5(long channels, double dropoutProb, boolean relu) {
      return new RegularBottleneck(channels, 4, 5, 2, 1, true, dropoutProb, false, relu);
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor ext = extRegul.forward(extConv3.forward(extConv2.forward(extConv1.forward(x))));
      return outActivation.forward(x.add(ext));
    }
  }

  /**
   * {@code DownsamplingBottleneck}: a 2x2 max pooling (indices kept) zero-padded to {@code out_channels},
   * plus a branch of 2x2 stride-2 projection, 3x3 convolution and 1x1 expansion (each with batch norm and
   * activation) and channel dropout; the sum is activated.
   *
   * <p>Always returns the pooling indices: the reference's {@code return_indices=False} variant cannot run
   * (its forward returns an undefined {@code max_indices}), and ENet only builds the {@code True} one.
   */
  public static final class DownsamplingBottleneck extends JModule {
    final MaxPool2dImpl mainMax1;
    final Sequential extConv1;
    final Sequential extConv2;
    final Sequential extConv3;
    final Dropout2dImpl extRegul;
    final Layer outActivation;

    public DownsamplingBottleneck(long inChannels, long outChannels, long internalRatio, double dropoutProb,
        boolean bias, boolean relu) {
      checkInternalRatio(internalRatio, inChannels);
      if (outChannels < inChannels) {
        throw new IllegalArgumentException("out_channels " + outChannels + " < in_channels " + inChannels
            + ": the pooled shortcut can only be padded, not cut");
      }
      long internal = inChannels / internalRatio;
      mainMax1 = register("main_max1", Nn.maxPool2d(2).stride(2).build());
      extConv1 = register("ext_conv1", new Sequential(
          Nn.conv2d(inChannels, internal, 2).stride(2).bias(bias).build(),
          Nn.batchNorm2d(internal).build(),
          activation(relu)));
      extConv2 = register("ext_conv2", new Sequential(
          Nn.conv2d(internal, internal, 3).padding(1).bias(bias).build(),
          Nn.batchNorm2d(internal).build(),
          activation(relu)));
      extConv3 = register("ext_conv3", new Sequential(
          Nn.conv2d(internal, outChannels, 1).bias(bias).build(),
          Nn.batchNorm2d(outChannels).build(),
          activation(relu)));
      extRegul = register("ext_regul", Nn.dropout2d(dropoutProb));
      outActivation = Layers.of(register("out_activation", activation(relu)));
    }

    public Pooled forward(Tensor x) {
      T_TensorTensor_T pooled = mainMax1.forward_with_indices(x);
      // copy both out of the tuple, which owns what get0/get1 point to
      Tensor main = new Tensor(pooled.get0());
      Tensor maxIndices = new Tensor(pooled.get1());
      Reference.reachabilityFence(pooled);

      Tensor ext = extRegul.forward(extConv3.forward(extConv2.forward(extConv1.forward(x))));

      long missingChannels = ext.size(1) - main.size(1);
      Tensor padding = torch.zeros(new long[] {ext.size(0), missingChannels, ext.size(2), ext.size(3)},
          main.options());
      main = torch.cat(new TensorVector(main, padding), 1);
      return new Pooled(outActivation.forward(main.add(ext)), maxIndices);
    }
  }

  /**
   * {@code UpsamplingBottleneck}: a 1x1 convolution + batch norm, max-unpooled with the indices of the
   * matching {@link DownsamplingBottleneck}, plus a branch of 1x1 projection, 2x2 stride-2 transposed
   * convolution and 1x1 expansion (each with batch norm and activation) and channel dropout; the sum is
   * activated. Both paths are told the spatial size to restore.
   */
  public static final class UpsamplingBottleneck extends JModule {
    final Sequential mainConv1;
    final MaxUnpool2dImpl mainUnpool1;
    final Sequential extConv1;
    final ConvTranspose2dImpl extTconv1;
    final BatchNorm2dImpl extTconv1Bnorm;
    final Layer extTconv1Activation;
    final Sequential extConv2;
    final Dropout2dImpl extRegul;
    final Layer outActivation;

    public UpsamplingBottleneck(long inChannels, long outChannels, long internalRatio, double dropoutProb,
        boolean bias, boolean relu) {
      checkInternalRatio(internalRatio, inChannels);
      long internal = inChannels / internalRatio;
      mainConv1 = register("main_conv1", new Sequential(
          Nn.conv2d(inChannels, outChannels, 1).bias(bias).build(),
          Nn.batchNorm2d(outChannels).build()));
      mainUnpool1 = register("main_unpool1", Nn.maxUnpool2d(2).build());
      extConv1 = register("ext_conv1", new Sequential(
          Nn.conv2d(inChannels, internal, 1).bias(bias).build(),
          Nn.batchNorm2d(internal).build(),
          activation(relu)));
      extTconv1 = register("ext_tconv1", Nn.convTranspose2d(internal, internal, 2).stride(2).bias(bias).build());
      extTconv1Bnorm = register("ext_tconv1_bnorm", Nn.batchNorm2d(internal).build());
      extTconv1Activation = Layers.of(register("ext_tconv1_activation", activation(relu)));
      extConv2 = register("ext_conv2", new Sequential(
          Nn.conv2d(internal, outChannels, 1).bias(bias).build(),
          Nn.batchNorm2d(outChannels).build(),
          activation(relu)));
      extRegul = register("ext_regul", Nn.dropout2d(dropoutProb));
      outActivation = Layers.of(register("out_activation", activation(relu)));
    }

    /**
     * @param maxIndices the indices of the matching downsampling bottleneck
     * @param outputSize the (N, C, H, W) size of that bottleneck's input, of which H and W are restored
     */
    public Tensor forward(Tensor x, Tensor maxIndices, long[] outputSize) {
      if (outputSize.length != 4) {
        throw new IllegalArgumentException("output size is (N, C, H, W), got " + outputSize.length + " values");
      }
      Tensor main = mainConv1.forward(x);
      // libtorch's MaxUnpool2d rejects a 2-element (H, W) output size (it only slices the 4-element form)
      main = mainUnpool1.forward(main, maxIndices, new LongVectorOptional(new LongVector(outputSize)));

      Tensor ext = extConv1.forward(x);
      ext = extTconv1.forward(ext, outputSize);
      ext = extTconv1Activation.forward(extTconv1Bnorm.forward(ext));
      ext = extRegul.forward(extConv2.forward(ext));
      return outActivation.forward(main.add(ext));
    }
  }
}
