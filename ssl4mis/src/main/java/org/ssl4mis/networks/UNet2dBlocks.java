package org.ssl4mis.networks;

import java.util.List;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.UpsampleImpl;
import org.bytedeco.pytorch.ConvTranspose2dImpl;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * The building blocks of SSL4MIS's 2D UNet family ({@code networks/unet.py}), with the same member names so
 * that state-dict keys match the Python ones exactly: the blocks, the {@link Encoder}, the plain
 * {@link Decoder} (UNet, and UNet_CCT's main and auxiliary decoders) and the deep-supervision decoders
 * {@link DecoderDS} (UNet_DS) and {@link DecoderURPC} (UNet_URPC).
 */
public final class UNet2dBlocks {
  private UNet2dBlocks() {}

  /** Python's default {@code nn.LeakyReLU()} slope. */
  static final double LEAKY_SLOPE = 0.01;

  /** Two 3x3 convolutions, each with batch norm and leaky ReLU, dropout between them. */
  public static final class ConvBlock extends JModule implements Layer {
    final Sequential convConv;

    public ConvBlock(long inChannels, long outChannels, double dropoutP) {
      convConv = register("conv_conv", new Sequential(
          Nn.conv2d(inChannels, outChannels, 3).padding(1).build(),
          Nn.batchNorm2d(outChannels).build(),
          Nn.leakyRelu(LEAKY_SLOPE),
          Nn.dropout(dropoutP),
          Nn.conv2d(outChannels, outChannels, 3).padding(1).build(),
          Nn.batchNorm2d(outChannels).build(),
          Nn.leakyRelu(LEAKY_SLOPE)));
    }

    @Override
    public Tensor forward(Tensor x) {
      return convConv.forward(x);
    }
  }

  /** 2x2 max pooling followed by a {@link ConvBlock}. */
  public static final class DownBlock extends JModule implements Layer {
    final Sequential maxpoolConv;

    public DownBlock(long inChannels, long outChannels, double dropoutP) {
      maxpoolConv = register("maxpool_conv", new Sequential(
          Nn.maxPool2d(2).build(),
          new ConvBlock(inChannels, outChannels, dropoutP)));
    }

    @Override
    public Tensor forward(Tensor x) {
      return maxpoolConv.forward(x);
    }
  }

  /**
   * Upsampling, concatenation with the skip connection, then a {@link ConvBlock}.
   *
   * <p>Reference quirk, kept: the decoders never pass {@code bilinear}, so the Python default {@code True}
   * applies whatever {@code params['bilinear']} says: a 1x1 convolution then bilinear upsampling with
   * {@code align_corners=True}. {@code bilinear=false} gives the transposed-convolution variant.
   */
  public static final class UpBlock extends JModule {
    final boolean bilinear;
    final Conv2dImpl conv1x1;
    final UpsampleImpl upsample;
    final ConvTranspose2dImpl upTransposed;
    final ConvBlock conv;

    public UpBlock(long inChannels1, long inChannels2, long outChannels, double dropoutP, boolean bilinear) {
      this.bilinear = bilinear;
      if (bilinear) {
        conv1x1 = register("conv1x1", Nn.conv2d(inChannels1, inChannels2, 1).build());
        upsample = register("up", Nn.upsample2d(2, "bilinear", true));
        upTransposed = null;
      } else {
        conv1x1 = null;
        upsample = null;
        upTransposed = register("up", Nn.convTranspose2d(inChannels1, inChannels2, 2).stride(2).build());
      }
      conv = register("conv", new ConvBlock(inChannels2 * 2, outChannels, dropoutP));
    }

    public Tensor forward(Tensor x1, Tensor x2) {
      Tensor up = bilinear ? upsample.forward(conv1x1.forward(x1)) : upTransposed.forward(x1);
      return conv.forward(torch.cat(new TensorVector(x2, up), 1));
    }
  }

  /** Five stages: an input {@link ConvBlock} and four {@link DownBlock}s; returns every stage's features. */
  public static final class Encoder extends JModule {
    final ConvBlock inConv;
    final DownBlock down1;
    final DownBlock down2;
    final DownBlock down3;
    final DownBlock down4;

    public Encoder(UNetParams p) {
      long[] ft = p.featureChannels();
      double[] dp = p.dropout();
      inConv = register("in_conv", new ConvBlock(p.inChannels(), ft[0], dp[0]));
      down1 = register("down1", new DownBlock(ft[0], ft[1], dp[1]));
      down2 = register("down2", new DownBlock(ft[1], ft[2], dp[2]));
      down3 = register("down3", new DownBlock(ft[2], ft[3], dp[3]));
      down4 = register("down4", new DownBlock(ft[3], ft[4], dp[4]));
    }

    public List<Tensor> forward(Tensor x) {
      Tensor x0 = inConv.forward(x);
      Tensor x1 = down1.forward(x0);
      Tensor x2 = down2.forward(x1);
      Tensor x3 = down3.forward(x2);
      Tensor x4 = down4.forward(x3);
      return List.of(x0, x1, x2, x3, x4);
    }
  }

  /** Four {@link UpBlock}s (no dropout) and a 3x3 output convolution. */
  public static final class Decoder extends JModule {
    final UpBlock up1;
    final UpBlock up2;
    final UpBlock up3;
    final UpBlock up4;
    final Conv2dImpl outConv;

    public Decoder(UNetParams p) {
      long[] ft = p.featureChannels();
      boolean bilinear = p.upBlocksBilinear();
      up1 = register("up1", new UpBlock(ft[4], ft[3], ft[3], 0.0, bilinear));
      up2 = register("up2", new UpBlock(ft[3], ft[2], ft[2], 0.0, bilinear));
      up3 = register("up3", new UpBlock(ft[2], ft[1], ft[1], 0.0, bilinear));
      up4 = register("up4", new UpBlock(ft[1], ft[0], ft[0], 0.0, bilinear));
      outConv = register("out_conv", Nn.conv2d(ft[0], p.classNum(), 3).padding(1).build());
    }

    public Tensor forward(List<Tensor> features) {
      Tensor x = up1.forward(features.get(4), features.get(3));
      x = up2.forward(x, features.get(2));
      x = up3.forward(x, features.get(1));
      x = up4.forward(x, features.get(0));
      return outConv.forward(x);
    }
  }

  /**
   * What {@code Decoder_DS} and {@code Decoder_URPC} share: the {@link Decoder}'s four up blocks and output
   * convolution plus a 3x3 segmentation head on the outputs of up1, up2 and up3, each resized to the input
   * size with nearest-neighbour interpolation ({@code F.interpolate(x, shape)}, mode {@code nearest}).
   *
   * <p>Reference quirk, kept: {@code out_conv_dp4} (a head for the bottleneck features) is created, so it is
   * in the state dict, but never used in the forward pass; it gets no gradient.
   */
  public abstract static sealed class PyramidDecoder extends JModule permits DecoderDS, DecoderURPC {
    final UpBlock up1;
    final UpBlock up2;
    final UpBlock up3;
    final UpBlock up4;
    final Conv2dImpl outConv;
    final Conv2dImpl outConvDp4;
    final Conv2dImpl outConvDp3;
    final Conv2dImpl outConvDp2;
    final Conv2dImpl outConvDp1;

    PyramidDecoder(UNetParams p) {
      long[] ft = p.featureChannels();
      long classes = p.classNum();
      boolean bilinear = p.upBlocksBilinear();
      up1 = register("up1", new UpBlock(ft[4], ft[3], ft[3], 0.0, bilinear));
      up2 = register("up2", new UpBlock(ft[3], ft[2], ft[2], 0.0, bilinear));
      up3 = register("up3", new UpBlock(ft[2], ft[1], ft[1], 0.0, bilinear));
      up4 = register("up4", new UpBlock(ft[1], ft[0], ft[0], 0.0, bilinear));
      outConv = register("out_conv", Nn.conv2d(ft[0], classes, 3).padding(1).build());
      outConvDp4 = register("out_conv_dp4", Nn.conv2d(ft[4], classes, 3).padding(1).build());
      outConvDp3 = register("out_conv_dp3", Nn.conv2d(ft[3], classes, 3).padding(1).build());
      outConvDp2 = register("out_conv_dp2", Nn.conv2d(ft[2], classes, 3).padding(1).build());
      outConvDp1 = register("out_conv_dp1", Nn.conv2d(ft[1], classes, 3).padding(1).build());
    }

    /** What head {@code level} (3 after up1, 2 after up2, 1 after up3) sees of the decoder features. */
    abstract Tensor headInput(int level, Tensor x);

    /**
     * @param features the five {@link Encoder} outputs
     * @param size the spatial size (H, W) the side outputs are resized to, normally the input's
     * @return {@code (dp0, dp1, dp2, dp3)}, each (N, class_num, H, W): dp0 is the full-resolution output,
     *     dp1..dp3 come from ever coarser decoder stages
     */
    public List<Tensor> forward(List<Tensor> features, long[] size) {
      if (features.size() != 5) {
        throw new IllegalArgumentException("expected the 5 encoder stages, got " + features.size());
      }
      if (size.length != 2) {
        throw new IllegalArgumentException("size is (H, W), got " + size.length + " values");
      }
      Tensor x = up1.forward(features.get(4), features.get(3));
      Tensor dp3 = torch.upsample_nearest2d(outConvDp3.forward(headInput(3, x)), size);
      x = up2.forward(x, features.get(2));
      Tensor dp2 = torch.upsample_nearest2d(outConvDp2.forward(headInput(2, x)), size);
      x = up3.forward(x, features.get(1));
      Tensor dp1 = torch.upsample_nearest2d(outConvDp1.forward(headInput(1, x)), size);
      x = up4.forward(x, features.get(0));
      Tensor dp0 = outConv.forward(x);
      return List.of(dp0, dp1, dp2, dp3);
    }
  }

  /** {@code Decoder_DS}: the {@link PyramidDecoder} with its heads on the plain decoder features. */
  public static final class DecoderDS extends PyramidDecoder {
    public DecoderDS(UNetParams p) {
      super(p);
    }

    @Override
    Tensor headInput(int level, Tensor x) {
      return x;
    }
  }

  /**
   * {@code Decoder_URPC}: the {@link PyramidDecoder} whose heads, in training mode only, see perturbed
   * features: element dropout with p = 0.5 after up1, {@link Perturbations#featureDropout} after up2 and
   * {@link Perturbations.FeatureNoise} after up3. In eval mode it computes exactly what {@link DecoderDS} does.
   *
   * <p>{@code perturbations = false} (not in the reference) leaves the heads unperturbed in training mode too:
   * the forward pass is then deterministic, which trace tests comparing with Python need.
   */
  public static final class DecoderURPC extends PyramidDecoder {
    /** The rate of the reference's {@code Dropout(x, p=0.5)} on the coarsest head. */
    public static final double HEAD_DROPOUT_P = 0.5;
    final Perturbations.FeatureNoise featureNoise;
    private final boolean perturbations;

    public DecoderURPC(UNetParams p) {
      this(p, true);
    }

    public DecoderURPC(UNetParams p, boolean perturbations) {
      super(p);
      featureNoise = register("feature_noise", new Perturbations.FeatureNoise());
      this.perturbations = perturbations;
    }

    @Override
    Tensor headInput(int level, Tensor x) {
      if (!is_training() || !perturbations) {
        return x;
      }
      return switch (level) {
        case 3 -> Perturbations.dropout(x, HEAD_DROPOUT_P);
        case 2 -> Perturbations.featureDropout(x);
        case 1 -> featureNoise.forward(x);
        default -> throw new IllegalArgumentException("no head at level " + level);
      };
    }
  }
}
