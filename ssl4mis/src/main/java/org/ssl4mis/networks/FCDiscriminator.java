package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.AvgPool2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Dropout2dImpl;
import org.bytedeco.pytorch.LeakyReLUImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Nn;

/**
 * SSL4MIS's 2D {@code FCDiscriminator} ({@code networks/discriminator.py}, used by
 * {@code train_adversarial_network_2D.py}): the evaluation network of Deep Adversarial Networks, Zhang et al.,
 * "Deep Adversarial Networks for Biomedical Image Segmentation Utilizing Unannotated Images" (MICCAI 2017),
 * which judges a segmentation together with its image; the convolution stack follows the fully convolutional
 * discriminator of Hung et al. (BMVC 2018), ending here in a global two-way classifier.
 *
 * <p>{@link #forward forward(map, feature)}: {@code conv0} on the segmentation map (N, num_classes, H, W) and
 * {@code conv1} on the image (N, n_channel, H, W), both 4x4 stride 2 to {@code ndf} channels, are added; then
 * {@code conv2..conv4} (4x4 stride 2, to 2, 4, 8 x ndf channels), each followed by LeakyReLU(0.2) and
 * {@code Dropout2d(0.5)} (not after conv4), {@code AvgPool2d(7)}, flattening and {@code Linear(ndf*32, 2)}.
 * Output: logits (N, 2). PyTorch's default initialisation.
 *
 * <p>Accepted sizes: the four convolutions give floor(S/16) per side and the pooling floor(floor(S/16)/7); the
 * classifier needs exactly 4 pooled cells (2x2 for square patches, e.g. H, W in [224, 335]; 1x4 or 4x1 also
 * fit). Other sizes are refused with an {@link IllegalArgumentException} before libtorch runs, as are a map and
 * an image of different batch or spatial sizes.
 *
 * <p>Reference quirk, kept: unlike {@link FC3DDiscriminator}, no activation or dropout follows the sum of the
 * two input branches.
 */
public final class FCDiscriminator extends JModule {
  /** Side of the {@code AvgPool2d((7, 7))} window. */
  static final long POOL = 7;
  /** Total stride of the four stride-2 convolutions. */
  static final long STRIDE = 16;

  final Conv2dImpl conv0;
  final Conv2dImpl conv1;
  final Conv2dImpl conv2;
  final Conv2dImpl conv3;
  final Conv2dImpl conv4;
  final LinearImpl classifier;
  final AvgPool2dImpl avgpool;
  final LeakyReLUImpl leakyRelu;
  final Dropout2dImpl dropout;

  private final long numClasses;
  private final long ndf;
  private final long nChannel;

  /** {@code FCDiscriminator(num_classes, ndf, n_channel)}. */
  public FCDiscriminator(long numClasses, long ndf, long nChannel) {
    this.numClasses = numClasses;
    this.ndf = ndf;
    this.nChannel = nChannel;
    conv0 = register("conv0", Nn.conv2d(numClasses, ndf, 4).stride(2).padding(1).build());
    conv1 = register("conv1", Nn.conv2d(nChannel, ndf, 4).stride(2).padding(1).build());
    conv2 = register("conv2", Nn.conv2d(ndf, ndf * 2, 4).stride(2).padding(1).build());
    conv3 = register("conv3", Nn.conv2d(ndf * 2, ndf * 4, 4).stride(2).padding(1).build());
    conv4 = register("conv4", Nn.conv2d(ndf * 4, ndf * 8, 4).stride(2).padding(1).build());
    classifier = register("classifier", Nn.linear(ndf * 32, 2, true));
    avgpool = register("avgpool", Nn.avgPool2d(POOL).build());
    leakyRelu = register("leaky_relu", Nn.leakyRelu(0.2));
    dropout = register("dropout", Nn.dropout2d(0.5));
  }

  /** {@code FCDiscriminator(num_classes)}: ndf 64, one image channel, as the 2D adversarial script builds it. */
  public FCDiscriminator(long numClasses) {
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

  /** {@code forward(map, feature)}: segmentation map and image, same batch and spatial size; logits (N, 2). */
  public Tensor forward(Tensor map, Tensor feature) {
    long[] mapShape = NetworkInputs.requireShape("FCDiscriminator", "map", map, 2, numClasses);
    long[] imageShape = NetworkInputs.requireShape("FCDiscriminator", "feature (image)", feature, 2, nChannel);
    if (mapShape[0] != imageShape[0] || mapShape[2] != imageShape[2] || mapShape[3] != imageShape[3]) {
      throw new IllegalArgumentException("FCDiscriminator: map " + Arrays.toString(mapShape) + " and image "
          + Arrays.toString(imageShape) + " must have the same batch and spatial sizes");
    }
    long cells = pooled(mapShape[2]) * pooled(mapShape[3]);
    if (cells != 4) {
      throw new IllegalArgumentException("FCDiscriminator accepts H x W whose pooled grid floor(floor(S/16)/7) has 4"
          + " cells (its Linear takes ndf*8 x 2 x 2 features): H and W in [224, 335], or one in [112, 223] and the"
          + " other in [448, 559]; got H x W = " + mapShape[2] + " x " + mapShape[3] + ", a grid of " + pooled(mapShape[2])
          + " x " + pooled(mapShape[3]));
    }
    Tensor x = conv0.forward(map).add(conv1.forward(feature));
    x = dropout.forward(leakyRelu.forward(conv2.forward(x)));
    x = dropout.forward(leakyRelu.forward(conv3.forward(x)));
    x = avgpool.forward(leakyRelu.forward(conv4.forward(x)));
    x = x.reshape(x.size(0), -1); // reshape, not view: the maps may be channels-last (MemoryFormat)
    return classifier.forward(x);
  }

  /** The pooled extent of one side: floor(floor(S/16)/7). */
  private static long pooled(long side) {
    return (side / STRIDE) / POOL;
  }
}
