package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.LeakyReLUImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;
import org.ssl4mis.tensor.Tensors;

/**
 * CANet's discriminator: a volumetric discriminator with squeeze-and-excitation channel attention (Hu et al.,
 * "Squeeze-and-Excitation Networks", CVPR 2018) that judges a signed-distance (or probability) map together with
 * its image.
 *
 * <p>{@link #forward forward(map, image)}: two stems as in {@link FC3DDiscriminator}, {@code conv0} on the map
 * (N, num_classes, D, H, W) and {@code conv1} on the image (N, n_channel, D, H, W), both 4x4x4 stride 2 padding 1
 * to {@code ndf} channels, added; LeakyReLU(0.2); {@code conv2..conv4} (4x4x4 stride 2 padding 1, to 2, 4, 8 x ndf
 * channels), each followed by LeakyReLU(0.2); the SE block {@code se}; global average pooling {@code avgpool} and
 * {@code classifier = Linear(8 ndf, num_outputs)}. Output: logits (N, num_outputs): one logit by default (for a
 * binary cross-entropy with logits, real = 1), or two class logits with {@code num_outputs = 2} as
 * {@link FC3DDiscriminator} gives. PyTorch's default initialisation; no dropout.
 *
 * <p>The pooling is adaptive, so any spatial size of at least 16 per axis works (each of the four stride-2 levels
 * gives floor(S/2)), the LA patch 112x112x80 included; a map and an image of different batch or spatial sizes are
 * refused before libtorch runs.
 */
public final class SEDiscriminator3D extends JModule {

  /** Total stride of the four stride-2 levels (the stems, conv2, conv3, conv4): the smallest accepted size. */
  static final long MIN_SIZE = 16;

  /** {@code nn.AdaptiveAvgPool3d(1)}: the mean over (D, H, W), keeping them as size-1 dimensions. */
  public static final class GlobalAvgPool3d extends JModule implements Layer {
    @Override
    public Tensor forward(Tensor x) {
      return torch.adaptive_avg_pool3d(x, 1, 1, 1);
    }
  }

  /**
   * Squeeze and excitation: global average pooling {@code avg_pool}, then {@code fc} = Linear(C, C/r, no bias),
   * ReLU, Linear(C/r, C, no bias), Sigmoid; the input is scaled channel-wise by the result. The reduced width is
   * {@code max(1, C / r)} (integer division).
   */
  public static final class SEBlock3D extends JModule implements Layer {
    final GlobalAvgPool3d avgPool;
    final Sequential fc;
    private final long channels;

    public SEBlock3D(long channels, long reduction) {
      if (channels < 1 || reduction < 1) {
        throw new IllegalArgumentException("channels and reduction must be >= 1, got " + channels + ", " + reduction);
      }
      this.channels = channels;
      long hidden = Math.max(1, channels / reduction);
      avgPool = register("avg_pool", new GlobalAvgPool3d());
      fc = register("fc", new Sequential(Nn.linear(channels, hidden, false), Nn.relu(),
          Nn.linear(hidden, channels, false), Nn.sigmoid()));
    }

    /** (N, C, D, H, W) scaled by its per-channel weights in (0, 1). */
    @Override
    public Tensor forward(Tensor x) {
      long batch = Tensors.shape(x)[0];
      Tensor w = fc.forward(avgPool.forward(x).reshape(batch, channels)).view(batch, channels, 1, 1, 1);
      return x.mul(w);
    }

    /** The (N, C) channel weights the block would apply to {@code x}. */
    public Tensor channelWeights(Tensor x) {
      long batch = Tensors.shape(x)[0];
      return fc.forward(avgPool.forward(x).reshape(batch, channels));
    }
  }

  final Conv3dImpl conv0;
  final Conv3dImpl conv1;
  final Conv3dImpl conv2;
  final Conv3dImpl conv3;
  final Conv3dImpl conv4;
  final SEBlock3D se;
  final GlobalAvgPool3d avgpool;
  final LinearImpl classifier;
  final LeakyReLUImpl leakyRelu;

  private final long numClasses;
  private final long ndf;
  private final long nChannel;
  private final long reduction;
  private final long numOutputs;

  /** {@code SEDiscriminator3D(num_classes, ndf, n_channel, reduction, num_outputs)}. */
  public SEDiscriminator3D(long numClasses, long ndf, long nChannel, long reduction, long numOutputs) {
    if (numClasses < 1 || ndf < 1 || nChannel < 1 || numOutputs < 1) {
      throw new IllegalArgumentException("num_classes, ndf, n_channel and num_outputs must be >= 1, got "
          + numClasses + ", " + ndf + ", " + nChannel + ", " + numOutputs);
    }
    this.numClasses = numClasses;
    this.ndf = ndf;
    this.nChannel = nChannel;
    this.reduction = reduction;
    this.numOutputs = numOutputs;
    conv0 = register("conv0", Nn.conv3d(numClasses, ndf, 4).stride(2).padding(1).build());
    conv1 = register("conv1", Nn.conv3d(nChannel, ndf, 4).stride(2).padding(1).build());
    conv2 = register("conv2", Nn.conv3d(ndf, ndf * 2, 4).stride(2).padding(1).build());
    conv3 = register("conv3", Nn.conv3d(ndf * 2, ndf * 4, 4).stride(2).padding(1).build());
    conv4 = register("conv4", Nn.conv3d(ndf * 4, ndf * 8, 4).stride(2).padding(1).build());
    se = register("se", new SEBlock3D(ndf * 8, reduction));
    avgpool = register("avgpool", new GlobalAvgPool3d());
    classifier = register("classifier", Nn.linear(ndf * 8, numOutputs, true));
    leakyRelu = register("leaky_relu", Nn.leakyRelu(0.2));
  }

  /** {@code SEDiscriminator3D(num_classes)}: ndf 64, one image channel, r = 16, one logit. */
  public SEDiscriminator3D(long numClasses) {
    this(numClasses, 64, 1, 16, 1);
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

  public long reduction() {
    return reduction;
  }

  public long numOutputs() {
    return numOutputs;
  }

  public SEBlock3D se() {
    return se;
  }

  /** {@code forward(map, image)}: map and image of the same batch and spatial sizes; logits (N, num_outputs). */
  public Tensor forward(Tensor map, Tensor image) {
    long[] mapShape = NetworkInputs.requireShape("SEDiscriminator3D", "map", map, 3, numClasses);
    long[] imageShape = NetworkInputs.requireShape("SEDiscriminator3D", "image", image, 3, nChannel);
    if (mapShape[0] != imageShape[0] || !Arrays.equals(NetworkInputs.spatial(mapShape),
        NetworkInputs.spatial(imageShape))) {
      throw new IllegalArgumentException("SEDiscriminator3D: map " + Arrays.toString(mapShape) + " and image "
          + Arrays.toString(imageShape) + " must have the same batch and spatial sizes");
    }
    for (long s : NetworkInputs.spatial(mapShape)) {
      if (s < MIN_SIZE) {
        throw new IllegalArgumentException("SEDiscriminator3D needs D, H, W >= " + MIN_SIZE
            + " (the stems, conv2, conv3 and conv4 each halve every side), got "
            + Arrays.toString(NetworkInputs.spatial(mapShape)));
      }
    }
    long batch = mapShape[0];
    Tensor x = leakyRelu.forward(conv0.forward(map).add(conv1.forward(image)));
    x = leakyRelu.forward(conv2.forward(x));
    x = leakyRelu.forward(conv3.forward(x));
    x = leakyRelu.forward(conv4.forward(x));
    x = avgpool.forward(se.forward(x)).reshape(batch, ndf * 8);
    return classifier.forward(x);
  }
}
