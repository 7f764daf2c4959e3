package org.ssl4mis.networks;

import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.DropoutImpl;
import org.bytedeco.pytorch.MaxPool3dImpl;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.networks.UNet3DBlocks.UnetConv3;
import org.ssl4mis.networks.UNet3DBlocks.UnetUp3CT;

/**
 * SSL4MIS's {@code unet_3D} ({@code networks/unet_3D.py}, {@code net_factory_3d(net_type="unet_3D")}), after
 * Çiçek et al., "3D U-Net: Learning Dense Volumetric Segmentation from Sparse Annotation" (MICCAI 2016), in
 * the variant of Oktay et al.'s Attention-Gated-Networks.
 *
 * <p>Five {@link UnetConv3} stages with filters {@code [64, 128, 256, 512, 1024] / feature_scale} (truncated),
 * 2x2x2 max pooling between them, four {@link UnetUp3CT} decoder stages (trilinear upsampling) and a 1x1x1
 * output convolution. {@code nn.Dropout(p=0.3)} acts on the bottleneck ({@code dropout1}) and on the last
 * decoder features ({@code dropout2}) in training mode.
 *
 * <p>Input (N, in_channels, D, H, W) with D, H, W multiples of 16; output logits (N, n_classes, D, H, W).
 *
 * <p>Reference quirks, kept: {@code is_batchnorm=True} means instance normalisation (see
 * {@link UnetConv3}); {@code is_deconv} is stored but changes nothing. Weights get the reference's kaiming
 * initialisation ({@link UNet3DBlocks#initKaiming}).
 */
public final class UNet3D extends JModule implements Layer {
  final UnetConv3 conv1;
  final MaxPool3dImpl maxpool1;
  final UnetConv3 conv2;
  final MaxPool3dImpl maxpool2;
  final UnetConv3 conv3;
  final MaxPool3dImpl maxpool3;
  final UnetConv3 conv4;
  final MaxPool3dImpl maxpool4;
  final UnetConv3 center;
  final UnetUp3CT upConcat4;
  final UnetUp3CT upConcat3;
  final UnetUp3CT upConcat2;
  final UnetUp3CT upConcat1;
  final Conv3dImpl finalConv;
  final DropoutImpl dropout1;
  final DropoutImpl dropout2;

  private final int featureScale;
  private final long nClasses;
  private final boolean isDeconv;
  private final long inChannels;
  private final boolean isBatchnorm;

  /** {@code unet_3D(feature_scale, n_classes, is_deconv, in_channels, is_batchnorm)}. */
  public UNet3D(int featureScale, long nClasses, boolean isDeconv, long inChannels, boolean isBatchnorm) {
    this.featureScale = featureScale;
    this.nClasses = nClasses;
    this.isDeconv = isDeconv;
    this.inChannels = inChannels;
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

    upConcat4 = register("up_concat4", new UnetUp3CT(filters[4], filters[3], isBatchnorm));
    upConcat3 = register("up_concat3", new UnetUp3CT(filters[3], filters[2], isBatchnorm));
    upConcat2 = register("up_concat2", new UnetUp3CT(filters[2], filters[1], isBatchnorm));
    upConcat1 = register("up_concat1", new UnetUp3CT(filters[1], filters[0], isBatchnorm));

    finalConv = register("final", Nn.conv3d(filters[0], nClasses, 1).build());
    dropout1 = register("dropout1", Nn.dropout(0.3));
    dropout2 = register("dropout2", Nn.dropout(0.3));
    UNet3DBlocks.initKaiming(this);
  }

  /** {@code unet_3D(feature_scale, n_classes, in_channels=in_channels)}: is_deconv and is_batchnorm true. */
  public UNet3D(int featureScale, long nClasses, long inChannels) {
    this(featureScale, nClasses, true, inChannels, true);
  }

  /** {@code net_factory_3d(net_type="unet_3D", in_chns, class_num)}: feature_scale 4. */
  public static UNet3D netFactory3d(long inChns, long classNum) {
    return new UNet3D(4, classNum, inChns);
  }

  /** The reference's defaults: {@code unet_3D()} = feature_scale 4, 21 classes, 3 input channels. */
  public UNet3D() {
    this(4, 21, true, 3, true);
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

  public boolean isBatchnorm() {
    return isBatchnorm;
  }

  @Override
  public Tensor forward(Tensor inputs) {
    long[] shape = NetworkInputs.requireShape("unet_3D", "input", inputs, 3, inChannels);
    NetworkInputs.requireMultiples("unet_3D", shape, 16, "four 2x poolings, and the decoder concatenates"
        + " each upsampled level with the encoder's");
    Tensor c1 = conv1.forward(inputs);
    Tensor c2 = conv2.forward(maxpool1.forward(c1));
    Tensor c3 = conv3.forward(maxpool2.forward(c2));
    Tensor c4 = conv4.forward(maxpool3.forward(c3));
    Tensor bottom = dropout1.forward(center.forward(maxpool4.forward(c4)));
    Tensor up4 = upConcat4.forward(c4, bottom);
    Tensor up3 = upConcat3.forward(c3, up4);
    Tensor up2 = upConcat2.forward(c2, up3);
    Tensor up1 = dropout2.forward(upConcat1.forward(c1, up2));
    return finalConv.forward(up1);
  }
}
