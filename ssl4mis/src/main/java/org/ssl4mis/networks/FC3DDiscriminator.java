package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.AvgPool3dImpl;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.Dropout3dImpl;
import org.bytedeco.pytorch.LeakyReLUImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.SoftmaxImpl;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Nn;

/**
 * SSL4MIS's {@code FC3DDiscriminator} ({@code networks/discriminator.py}, used by
 * {@code train_adversarial_network_3D.py}, where it is called {@code DAN}): the volumetric counterpart of
 * {@link FCDiscriminator}, the evaluation network of Zhang et al., "Deep Adversarial Networks for Biomedical
 * Image Segmentation Utilizing Unannotated Images" (MICCAI 2017).
 *
 * <p>{@link #forward forward(map, image)}: {@code conv0} on the segmentation map (N, num_classes, D, H, W) and
 * {@code conv1} on the image (N, n_channel, D, H, W), both 4x4x4 stride 2 to {@code ndf} channels, are added;
 * LeakyReLU(0.2) and {@code Dropout3d(0.5)}; {@code conv2..conv4} (4x4x4 stride 2, to 2, 4, 8 x ndf channels),
 * each followed by LeakyReLU(0.2) and the same dropout (not after conv4); {@code AvgPool3d((6, 6, 6))},
 * flattening and {@code Linear(ndf*8, 2)}. Output: logits (N, 2). PyTorch's default initialisation.
 *
 * <p>Accepted sizes: the convolutions give floor(S/16) per axis, the pooling window is fixed, and the
 * classifier takes one pooled cell, so D, H and W must each be in [96, 191] (SSL4MIS trains it on 96^3
 * patches; the LA patch 112x112x80 does not fit). Other sizes are refused with an
 * {@link IllegalArgumentException} before libtorch runs, as are a map and an image of different batch or
 * spatial sizes.
 *
 * <p>Reference quirks, kept: the comment in the reference speaks of a (D/16, W/16, H/16) window but the window
 * is the constant 6; an {@code nn.Softmax()} member named {@code Softmax} is registered and never applied (here
 * over dim 1, the dimension Python's implicit choice gives for the (N, 2) logits).
 */
public final class FC3DDiscriminator extends JModule {
  /** Side of the {@code AvgPool3d((6, 6, 6))} window. */
  static final long POOL = 6;
  /** Total stride of the four stride-2 convolutions. */
  static final long STRIDE = 16;
  /** Smallest and largest accepted spatial size: floor(S/16) must be in [6, 11]. */
  static final long MIN_SIZE = STRIDE * POOL;
  static final long MAX_SIZE = STRIDE * (2 * POOL) - 1;

  final Conv3dImpl conv0;
  final Conv3dImpl conv1;
  final Conv3dImpl conv2;
  final Conv3dImpl conv3;
  final Conv3dImpl conv4;
  final AvgPool3dImpl avgpool;
  final LinearImpl classifier;
  final LeakyReLUImpl leakyRelu;
  final Dropout3dImpl dropout;
  final SoftmaxImpl softmax;

  private final long numClasses;
  private final long ndf;
  private final long nChannel;

  /** {@code FC3DDiscriminator(num_classes, ndf, n_channel)}. */
  public FC3DDiscriminator(long numClasses, long ndf, long nChannel) {
    this.numClasses = numClasses;
    this.ndf = ndf;
    this.nChannel = nChannel;
    conv0 = register("conv0", Nn.conv3d(numClasses, ndf, 4).stride(2).padding(1).build());
    conv1 = register("conv1", Nn.conv3d(nChannel, ndf, 4).stride(2).padding(1).build());
    conv2 = register("conv2", Nn.conv3d(ndf, ndf * 2, 4).stride(2).padding(1).build());
    conv3 = register("conv3", Nn.conv3d(ndf * 2, ndf * 4, 4).stride(2).padding(1).build());
    conv4 = register("conv4", Nn.conv3d(ndf * 4, ndf * 8, 4).stride(2).padding(1).build());
    avgpool = register("avgpool", Nn.avgPool3d(POOL).build());
    classifier = register("classifier", Nn.linear(ndf * 8, 2, true));
    leakyRelu = register("leaky_relu", Nn.leakyRelu(0.2));
    dropout = register("dropout", Nn.dropout3d(0.5));
    softmax = register("Softmax", Nn.softmax(1));
  }

  /** {@code FC3DDiscriminator(num_classes)}: ndf 64, one image channel, as the 3D adversarial script builds it. */
  public FC3DDiscriminator(long numClasses) {
    this(numClasses, 64, 1);
  }

  public long numClasses() {
    return numClasses;
  }

  public long ndf() {
    return ndf;
  }

  public long nChannel() {
    return nChannel;
  }

  /** {@code forward(map, image)}: segmentation map and image, same batch and spatial size; logits (N, 2). */
  public Tensor forward(Tensor map, Tensor image) {
    long[] mapShape = NetworkInputs.requireShape("FC3DDiscriminator", "map", map, 3, numClasses);
    long[] imageShape = NetworkInputs.requireShape("FC3DDiscriminator", "image", image, 3, nChannel);
    if (mapShape[0] != imageShape[0] || !Arrays.equals(NetworkInputs.spatial(mapShape),
        NetworkInputs.spatial(imageShape))) {
      throw new IllegalArgumentException("FC3DDiscriminator: map " + Arrays.toString(mapShape) + " and image "
          + Arrays.toString(imageShape) + " must have the same batch and spatial sizes");
    }
    for (long s : NetworkInputs.spatial(mapShape)) {
      if (s < MIN_SIZE || s > MAX_SIZE) {
        throw new IllegalArgumentException("FC3DDiscriminator accepts D, H, W each in [" + MIN_SIZE + ", " + MAX_SIZE
            + "] (four stride-2 convolutions, a fixed AvgPool3d window of 6 and a Linear over one pooled cell), got "
            + Arrays.toString(NetworkInputs.spatial(mapShape)));
      }
    }
    long batch = mapShape[0];
    Tensor x = conv0.forward(map).add(conv1.forward(image));
    x = dropout.forward(leakyRelu.forward(x));
    x = dropout.forward(leakyRelu.forward(conv2.forward(x)));
    x = dropout.forward(leakyRelu.forward(conv3.forward(x)));
    x = avgpool.forward(leakyRelu.forward(conv4.forward(x)));
    x = x.reshape(batch, -1); // reshape, not view: the maps may be channels-last (MemoryFormat)
    return classifier.forward(x).reshape(batch, 2);
  }
}
