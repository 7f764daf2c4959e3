package org.ssl4mis.networks;

import java.util.List;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.Dropout3dImpl;
import org.bytedeco.pytorch.MaxPool3dImpl;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.networks.UNet3DBlocks.UnetConv3;
import org.ssl4mis.networks.UNet3DBlocks.UnetDsv3;
import org.ssl4mis.networks.UNet3DBlocks.UnetUp3CT;

/**
 * SSL4MIS's {@code unet_3D_dv_semi} ({@code networks/unet_3D_dv_semi.py}): the {@link UNet3D} encoder and
 * decoder with a deep-supervision head on every decoder level, used by
 * {@code train_uncertainty_rectified_pyramid_consistency_3D.py} (URPC: Luo et al., "Efficient Semi-supervised
 * Gross Target Volume of Nasopharyngeal Carcinoma Segmentation via Uncertainty Rectified Pyramid Consistency",
 * MICCAI 2021).
 *
 * <p>Decoder levels pass through {@code nn.Dropout3d} with p = 0.5, 0.3, 0.2, 0.1 ({@code dropout1..4}) in
 * training mode, before the next level and before their heads. The heads {@code dsv4, dsv3, dsv2}
 * ({@link UnetDsv3}: 1x1x1 convolution, trilinear x8, x4, x2 upsampling, align_corners false) and {@code dsv1}
 * (1x1x1 convolution) bring every level to the input resolution.
 *
 * <p>Input (N, in_channels, D, H, W) with D, H, W multiples of 16; {@link #forward} returns, in Python's order,
 * {@code [dsv1, dsv2, dsv3, dsv4]}, each (N, n_classes, D, H, W), from the finest level to the coarsest.
 * Quirks as in {@link UNet3D}: {@code is_batchnorm} means instance norm, {@code is_deconv} is unused; kaiming
 * initialisation.
 */
public final class UNet3DDvSemi extends JModule {
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
  final UnetDsv3 dsv4;
  final UnetDsv3 dsv3;
  final UnetDsv3 dsv2;
  final Conv3dImpl dsv1;
  final Dropout3dImpl dropout1;
  final Dropout3dImpl dropout2;
  final Dropout3dImpl dropout3;
  final Dropout3dImpl dropout4;

  private final int featureScale;
  private final long nClasses;
  private final boolean isDeconv;
  private final long inChannels;
  private final boolean isBatchnorm;

  /** {@code unet_3D_dv_semi(feature_scale, n_classes, is_deconv, in_channels, is_batchnorm)}. */
  public UNet3DDvSemi(int featureScale, long nClasses, boolean isDeconv, long inChannels, boolean isBatchnorm) {
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

    dsv4 = register("dsv4", new UnetDsv3(filters[3], nClasses, 8));
    dsv3 = register("dsv3", new UnetDsv3(filters[2], nClasses, 4));
    dsv2 = register("dsv2", new UnetDsv3(filters[1], nClasses, 2));
    dsv1 = register("dsv1", Nn.conv3d(filters[0], nClasses, 1).build());

    dropout1 = register("dropout1", Nn.dropout3d(0.5));
    dropout2 = register("dropout2", Nn.dropout3d(0.3));
    dropout3 = register("dropout3", Nn.dropout3d(0.2));
    dropout4 = register("dropout4", Nn.dropout3d(0.1));
    UNet3DBlocks.initKaiming(this);
  }

  /**
   * {@code unet_3D_dv_semi(feature_scale, n_classes, in_channels=in_channels)}: is_deconv and is_batchnorm true
   * (the URPC script uses feature_scale 4).
   */
  public UNet3DDvSemi(int featureScale, long nClasses, long inChannels) {
    this(featureScale, nClasses, true, inChannels, true);
  }

  /** The reference's defaults: feature_scale 4, 21 classes, 3 input channels. */
  public UNet3DDvSemi() {
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

  /** {@code (dsv1, dsv2, dsv3, dsv4)}, each at the input resolution. */
  public List<Tensor> forward(Tensor inputs) {
    long[] shape = NetworkInputs.requireShape("unet_3D_dv_semi", "input", inputs, 3, inChannels);
    NetworkInputs.requireMultiples("unet_3D_dv_semi", shape, 16, "four 2x poolings, and the decoder"
        + " concatenates each upsampled level with the encoder's");
    Tensor c1 = conv1.forward(inputs);
    Tensor c2 = conv2.forward(maxpool1.forward(c1));
    Tensor c3 = conv3.forward(maxpool2.forward(c2));
    Tensor c4 = conv4.forward(maxpool3.forward(c3));
    Tensor bottom = center.forward(maxpool4.forward(c4));

    Tensor up4 = dropout1.forward(upConcat4.forward(c4, bottom));
    Tensor up3 = dropout2.forward(upConcat3.forward(c3, up4));
    Tensor up2 = dropout3.forward(upConcat2.forward(c2, up3));
    Tensor up1 = dropout4.forward(upConcat1.forward(c1, up2));

    return List.of(dsv1.forward(up1), dsv2.forward(up2), dsv3.forward(up3), dsv4.forward(up4));
  }
}
