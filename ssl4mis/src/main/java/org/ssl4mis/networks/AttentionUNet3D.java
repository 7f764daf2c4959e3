package org.ssl4mis.networks;

import java.util.Objects;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.MaxPool3dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;
import org.ssl4mis.networks.UNet3DBlocks.UnetConv3;
import org.ssl4mis.networks.UNet3DBlocks.UnetDsv3;
import org.ssl4mis.networks.UNet3DBlocks.UnetGridGatingSignal3;
import org.ssl4mis.networks.UNet3DBlocks.UnetUp3CT;

/**
 * SSL4MIS's {@code Attention_UNet} ({@code networks/attention_unet.py},
 * {@code net_factory_3d(net_type="attention_unet")}): the 3D attention U-Net of Oktay et al., "Attention U-Net:
 * Learning Where to Look for the Pancreas" (MIDL 2018).
 *
 * <p>The {@link UNet3D} encoder (filters {@code [64, 128, 256, 512, 1024] / feature_scale}), a gating signal
 * from the bottleneck ({@code gating}, {@link UnetGridGatingSignal3} with 1x1x1 kernel), and three
 * {@link MultiAttentionBlock}s gating the skip features of levels 2, 3 and 4 before the {@link UnetUp3CT}
 * decoder stages; level 1 is concatenated ungated. Four deep-supervision heads ({@code dsv4, dsv3, dsv2} with
 * trilinear x8, x4, x2 upsampling and {@code dsv1}) are concatenated and fused by the 1x1x1 {@code final}
 * convolution. No dropout.
 *
 * <p>Input (N, in_channels, D, H, W) with D, H, W multiples of 16; output logits (N, n_classes, D, H, W).
 *
 * <p>Reference quirks, kept: {@code is_batchnorm=True} means instance norm in the convolution blocks (see
 * {@link UnetConv3}), while the attention blocks always use {@code BatchNorm3d}; {@code is_deconv} is stored
 * but unused; the attention maps are computed and dropped. Weights get the reference's kaiming initialisation
 * (batch-norm weights from N(1, 0.02)).
 */
public final class AttentionUNet3D extends JModule implements Layer {

  /**
   * {@code MultiAttentionBlock}: two {@link GridAttention3D} gates on the same input ({@code gate_block_1},
   * {@code gate_block_2}), whose outputs are concatenated and fused by {@code combine_gates} (1x1x1
   * convolution, BatchNorm3d, ReLU). {@link #forward} returns the fused features (N, in_size, D, H, W) and
   * both attention maps concatenated (N, 2, D, H, W).
   */
  public static final class MultiAttentionBlock extends JModule {
    final GridAttention3D gateBlock1;
    final GridAttention3D gateBlock2;
    final Sequential combineGates;

    public MultiAttentionBlock(long inSize, long gateSize, long interSize, GridAttention3D.Mode nonlocalMode,
        long... subSampleFactor) {
      gateBlock1 = register("gate_block_1", new GridAttention3D(inSize, gateSize, interSize, nonlocalMode,
          subSampleFactor));
      gateBlock2 = register("gate_block_2", new GridAttention3D(inSize, gateSize, interSize, nonlocalMode,
          subSampleFactor));
      combineGates = register("combine_gates", new Sequential(
          Nn.conv3d(inSize * 2, inSize, 1).stride(1).padding(0).build(),
          Nn.batchNorm3d(inSize).build(),
          Nn.relu()));
      UNet3DBlocks.initKaiming(combineGates);
    }

    public GridAttention3D.Gated forward(Tensor input, Tensor gatingSignal) {
      GridAttention3D.Gated gate1 = gateBlock1.forward(input, gatingSignal);
      GridAttention3D.Gated gate2 = gateBlock2.forward(input, gatingSignal);
      Tensor fused = combineGates.forward(torch.cat(new TensorVector(gate1.output(), gate2.output()), 1));
      return new GridAttention3D.Gated(fused, torch.cat(new TensorVector(gate1.attention(), gate2.attention()), 1));
    }
  }

  final UnetConv3 conv1;
  final MaxPool3dImpl maxpool1;
  final UnetConv3 conv2;
  final MaxPool3dImpl maxpool2;
  final UnetConv3 conv3;
  final MaxPool3dImpl maxpool3;
  final UnetConv3 conv4;
  final MaxPool3dImpl maxpool4;
  final UnetConv3 center;
  final UnetGridGatingSignal3 gating;
  final MultiAttentionBlock attentionblock2;
  final MultiAttentionBlock attentionblock3;
  final MultiAttentionBlock attentionblock4;
  final UnetUp3CT upConcat4;
  final UnetUp3CT upConcat3;
  final UnetUp3CT upConcat2;
  final UnetUp3CT upConcat1;
  final UnetDsv3 dsv4;
  final UnetDsv3 dsv3;
  final UnetDsv3 dsv2;
  final Conv3dImpl dsv1;
  final Conv3dImpl finalConv;

  private final int featureScale;
  private final long nClasses;
  private final boolean isDeconv;
  private final long inChannels;
  private final GridAttention3D.Mode nonlocalMode;
  private final long[] attentionDsample;
  private final boolean isBatchnorm;

  /**
   * {@code Attention_UNet(feature_scale, n_classes, is_deconv, in_channels, nonlocal_mode, attention_dsample,
   * is_batchnorm)}.
   *
   * @param attentionDsample the attention gates' {@code sub_sample_factor}: one value or three
   */
  public AttentionUNet3D(int featureScale, long nClasses, boolean isDeconv, long inChannels,
      GridAttention3D.Mode nonlocalMode, long[] attentionDsample, boolean isBatchnorm) {
    this.featureScale = featureScale;
    this.nClasses = nClasses;
    this.isDeconv = isDeconv;
    this.inChannels = inChannels;
    this.nonlocalMode = Objects.requireNonNull(nonlocalMode, "nonlocal_mode");
    this.attentionDsample = attentionDsample.clone();
    this.isBatchnorm = isBatchnorm;
    long[] filters = UNet3DBlocks.filters(featureScale);

    conv1 = register("conv1", new UnetConv3(inChannels, filters[0], isBatchnorm));
    maxpool1 = register("maxpool1", Nn.maxPool3d(2).build());
    conv2 = register("conv2", new UnetConv3(filters[0], filters[1], isBatchnorm));
    maxpool2 = register("maxpool2", Nn.maxPool3d(2).build());
    conv3 = register("conv3", new UnetConv3(filters[1], filters[2], isBatchnorm));
    maxpool3 = register("maxpool3", Nn.maxPool3d(2).build());
    conv4 = register("conv4", new UnetConv3(filters[2], filters[3], isBatchnorm));
    maxpool4 = register("maxpool4", Nn.maxPool3d(2).build());
    center = register("center", new UnetConv3(filters[3], filters[4], isBatchnorm));
    gating = register("gating", new UnetGridGatingSignal3(filters[4], filters[4], new long[] {1, 1, 1}, isBatchnorm));

    attentionblock2 = register("attentionblock2", new MultiAttentionBlock(filters[1], filters[2], filters[1],
        nonlocalMode, attentionDsample));
    attentionblock3 = register("attentionblock3", new MultiAttentionBlock(filters[2], filters[3], filters[2],
        nonlocalMode, attentionDsample));
    attentionblock4 = register("attentionblock4", new MultiAttentionBlock(filters[3], filters[4], filters[3],
        nonlocalMode, attentionDsample));

    upConcat4 = register("up_concat4", new UnetUp3CT(filters[4], filters[3], isBatchnorm));
    upConcat3 = register("up_concat3", new UnetUp3CT(filters[3], filters[2], isBatchnorm));
    upConcat2 = register("up_concat2", new UnetUp3CT(filters[2], filters[1], isBatchnorm));
    upConcat1 = register("up_concat1", new UnetUp3CT(filters[1], filters[0], isBatchnorm));

    dsv4 = register("dsv4", new UnetDsv3(filters[3], nClasses, 8));
    dsv3 = register("dsv3", new UnetDsv3(filters[2], nClasses, 4));
    dsv2 = register("dsv2", new UnetDsv3(filters[1], nClasses, 2));
    dsv1 = register("dsv1", Nn.conv3d(filters[0], nClasses, 1).build());

    finalConv = register("final", Nn.conv3d(nClasses * 4, nClasses, 1).build());
    UNet3DBlocks.initKaiming(this);
  }

  /** {@code Attention_UNet(feature_scale, n_classes, in_channels)} with the other arguments at their defaults. */
  public AttentionUNet3D(int featureScale, long nClasses, long inChannels) {
    this(featureScale, nClasses, true, inChannels, GridAttention3D.Mode.CONCATENATION, new long[] {2, 2, 2}, true);
  }

  /** {@code net_factory_3d(net_type="attention_unet", in_chns, class_num)}: feature_scale 4. */
  public static AttentionUNet3D netFactory3d(long inChns, long classNum) {
    return new AttentionUNet3D(4, classNum, inChns);
  }

  /** The reference's defaults: feature_scale 4, 21 classes, 3 input channels. */
  public AttentionUNet3D() {
    this(4, 21, 3);
  }

  public int featureScale() {
    return featureScale;
  }

  public long nClasses() {
    return nClasses;
  }

  public boolean isDeconv() {
    return isDeconv;
  }

  public long inChannels() {
    return inChannels;
  }

  public GridAttention3D.Mode nonlocalMode() {
    return nonlocalMode;
  }

  public long[] attentionDsample() {
    return attentionDsample.clone();
  }

  public boolean isBatchnorm() {
    return isBatchnorm;
  }

  @Override
  public Tensor forward(Tensor inputs) {
    long[] shape = NetworkInputs.requireShape("Attention_UNet", "input", inputs, 3, inChannels);
    NetworkInputs.requireMultiples("Attention_UNet", shape, 16, "four 2x poolings, and the decoder"
        + " concatenates each upsampled level with the encoder's");
    Tensor c1 = conv1.forward(inputs);
    Tensor c2 = conv2.forward(maxpool1.forward(c1));
    Tensor c3 = conv3.forward(maxpool2.forward(c2));
    Tensor c4 = conv4.forward(maxpool3.forward(c3));
    Tensor bottom = center.forward(maxpool4.forward(c4));
    Tensor gate = gating.forward(bottom);

    Tensor gatedC4 = attentionblock4.forward(c4, gate).output();
    Tensor up4 = upConcat4.forward(gatedC4, bottom);
    Tensor gatedC3 = attentionblock3.forward(c3, up4).output();
    Tensor up3 = upConcat3.forward(gatedC3, up4);
    Tensor gatedC2 = attentionblock2.forward(c2, up3).output();
    Tensor up2 = upConcat2.forward(gatedC2, up3);
    Tensor up1 = upConcat1.forward(c1, up2);

    Tensor heads = torch.cat(new TensorVector(dsv1.forward(up1), dsv2.forward(up2), dsv3.forward(up3),
        dsv4.forward(up4)), 1);
    return finalConv.forward(heads);
  }
}
