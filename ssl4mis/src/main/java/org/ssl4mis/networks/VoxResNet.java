package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.MaxPool3dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.UpsampleImpl;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * SSL4MIS's {@code VoxResNet} ({@code networks/VoxResNet.py}, {@code net_factory_3d(net_type="voxresnet")}),
 * after Chen et al., "VoxResNet: Deep Voxelwise Residual Networks for Brain Segmentation from 3D MR Images"
 * (NeuroImage 2018), in SSL4MIS's own encoder-decoder form.
 *
 * <p>A 3x3x3 stem convolution and max pooling, six pre-activation residual units ({@link VoxRex}: instance
 * norm, ReLU, bias-free 3x3x3 convolution, twice) with two more max poolings, two {@link UpBlock}s back to
 * half resolution, a final x2 trilinear upsampling (align_corners true) and a 1x1x1 output convolution; every
 * layer is {@code feature_chns} wide. No dropout, PyTorch's default initialisation.
 *
 * <p>Input (N, in_chns, D, H, W) where each spatial size S has {@code floor(S / 2)} a multiple of 4 (e.g.
 * multiples of 8); output logits (N, class_num, 2*floor(D/2), 2*floor(H/2), 2*floor(W/2)), i.e. the input size
 * for even sizes.
 *
 * <p>The reference's {@code SEBlock} is not used by the network and not ported.
 */
public final class VoxResNet extends JModule implements Layer {

  /** {@code VoxRex}: {@code block(x) + x} with {@code block = Sequential(IN, ReLU, conv, IN, ReLU, conv)}. */
  public static final class VoxRex extends JModule implements Layer {
    final Sequential block;

    public VoxRex(long inChannels) {
      block = register("block", new Sequential(
          Nn.instanceNorm3d(inChannels).build(),
          Nn.relu(),
          Nn.conv3d(inChannels, inChannels, 3).padding(1).bias(false).build(),
          Nn.instanceNorm3d(inChannels).build(),
          Nn.relu(),
          Nn.conv3d(inChannels, inChannels, 3).padding(1).bias(false).build()));
    }

    @Override
    public Tensor forward(Tensor x) {
      return block.forward(x).add(x);
    }
  }

  /**
   * VoxResNet's {@code ConvBlock}: {@code conv_conv = Sequential(IN, ReLU, conv, IN, ReLU, conv)} with bias-free
   * 3x3x3 convolutions (the reference's docstring mentions batch norm and leaky ReLU; the code is this).
   */
  public static final class ConvBlock extends JModule implements Layer {
    final Sequential convConv;

    public ConvBlock(long inChannels, long outChannels) {
      convConv = register("conv_conv", new Sequential(
          Nn.instanceNorm3d(inChannels).build(),
          Nn.relu(),
          Nn.conv3d(inChannels, outChannels, 3).padding(1).bias(false).build(),
          Nn.instanceNorm3d(outChannels).build(),
          Nn.relu(),
          Nn.conv3d(outChannels, outChannels, 3).padding(1).bias(false).build()));
    }

    @Override
    public Tensor forward(Tensor x) {
      return convConv.forward(x);
    }
  }

  /** {@code UpBlock}: x2 trilinear upsampling (align_corners true) of x1, {@code cat([x2, x1])}, {@link ConvBlock}. */
  public static final class UpBlock extends JModule {
    final UpsampleImpl up;
    final ConvBlock conv;

    public UpBlock(long inChannels, long outChannels) {
      up = register("up", Nn.upsample3d(2, "trilinear", true));
      conv = register("conv", new ConvBlock(inChannels, outChannels));
    }

    public Tensor forward(Tensor x1, Tensor x2) {
      return conv.forward(torch.cat(new TensorVector(x2, up.forward(x1)), 1));
    }
  }

  final Conv3dImpl conv1;
  final VoxRex res1;
  final VoxRex res2;
  final VoxRex res3;
  final VoxRex res4;
  final VoxRex res5;
  final VoxRex res6;
  final UpBlock up1;
  final UpBlock up2;
  final Conv3dImpl out;
  final MaxPool3dImpl maxpool;
  final UpsampleImpl upsample;

  private final long inChns;
  private final long featureChns;
  private final long classNum;

  /** {@code VoxResNet(in_chns, feature_chns, class_num)}. */
  public VoxResNet(long inChns, long featureChns, long classNum) {
    this.inChns = inChns;
    this.featureChns = featureChns;
    this.classNum = classNum;
    conv1 = register("conv1", Nn.conv3d(inChns, featureChns, 3).padding(1).build());
    res1 = register("res1", new VoxRex(featureChns));
    res2 = register("res2", new VoxRex(featureChns));
    res3 = register("res3", new VoxRex(featureChns));
    res4 = register("res4", new VoxRex(featureChns));
    res5 = register("res5", new VoxRex(featureChns));
    res6 = register("res6", new VoxRex(featureChns));
    up1 = register("up1", new UpBlock(featureChns * 2, featureChns));
    up2 = register("up2", new UpBlock(featureChns * 2, featureChns));
    out = register("out", Nn.conv3d(featureChns, classNum, 1).build());
    maxpool = register("maxpool", Nn.maxPool3d(2).build());
    upsample = register("upsample", Nn.upsample3d(2, "trilinear", true));
  }

  /** {@code net_factory_3d(net_type="voxresnet", in_chns, class_num)}: feature_chns 64. */
  public static VoxResNet netFactory3d(long inChns, long classNum) {
    return new VoxResNet(inChns, 64, classNum);
  }

  /** The reference's defaults: one input channel, 64 features, 2 classes. */
  public VoxResNet() {
    this(1, 64, 2);
  }

  public long inChns() {
    return inChns;
  }

  public long featureChns() {
    return featureChns;
  }

  public long classNum() {
    return classNum;
  }

  @Override
  public Tensor forward(Tensor input) {
    long[] shape = NetworkInputs.requireShape("VoxResNet", "input", input, 3, inChns);
    for (long s : NetworkInputs.spatial(shape)) {
      if (s / 2 < 4 || (s / 2) % 4 != 0) {
        throw new IllegalArgumentException("VoxResNet accepts spatial sizes S with floor(S/2) a positive multiple of"
            + " 4, e.g. multiples of 8 (a stem pooling, two more 2x poolings undone by the decoder), got "
            + Arrays.toString(NetworkInputs.spatial(shape)) + " in input shape " + Arrays.toString(shape));
      }
    }
    Tensor x = maxpool.forward(conv1.forward(input));
    Tensor x1 = res1.forward(x);
    Tensor x2 = res2.forward(x1);
    Tensor x2Pool = maxpool.forward(x2);
    Tensor x3 = res3.forward(x2Pool);
    Tensor x4 = maxpool.forward(res4.forward(x3));
    Tensor x5 = res5.forward(x4);
    Tensor x6 = res6.forward(x5);
    Tensor u1 = up1.forward(x6, x2Pool);
    Tensor u2 = up2.forward(u1, x);
    return out.forward(upsample.forward(u2));
  }
}
