package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Nn;

/**
 * A 2D attention U-Net with multi-scale deep supervision: SSL4MIS's 2D UNet ({@code networks/unet.py}) with
 * the additive attention gates of Oktay et al., "Attention U-Net: Learning Where to Look for the Pancreas"
 * (MIDL 2018), on its skip connections. Not part of SSL4MIS; a 2D network beyond the reference.
 *
 * <p><b>What it is.</b> The {@link UNet2dBlocks.Encoder} of the 2D UNet, unchanged (five stages x0..x4 of
 * widths {@code feature_chns}, encoder dropout as in {@link UNetParams}), and a decoder of four
 * {@link UNet2dBlocks.UpBlock}s whose skip input is first gated by an {@link AttentionGate}: skip x3 by the
 * bottleneck x4, skip x2 by the output of up1, x1 by that of up2, x0 by that of up3. Each gate's gating
 * signal is the decoder feature one scale coarser than its skip, i.e. the tensor the up block is about to
 * upsample.
 *
 * <p><b>Deep supervision.</b> The main head {@code out_conv} (3x3, as the UNet's) on the output of up4 and
 * 1x1 heads {@code out_conv_dp1}, {@code out_conv_dp2}, {@code out_conv_dp3} on the outputs of up3, up2,
 * up1 (1/2, 1/4, 1/8 resolution), resized to the input size by bilinear interpolation
 * ({@code align_corners=False}).
 *
 * <p><b>Outputs.</b> Input (N, in_chns, H, W) with H and W multiples of 16. {@link #forward} returns
 * {@code [main, dp1, dp2, dp3]}, each logits (N, class_num, H, W), in training and eval mode alike (the order
 * of {@link UNetDS}). {@link #forwardWithAttention} also gives the four attention maps.
 *
 * <p><b>State dict.</b> {@code encoder.*} exactly as the UNet's, then {@code decoder.gate1, decoder.up1,
 * decoder.gate2, decoder.up2, decoder.gate3, decoder.up3, decoder.gate4, decoder.up4, decoder.out_conv,
 * decoder.out_conv_dp1, decoder.out_conv_dp2, decoder.out_conv_dp3}; a gate holds {@code theta.weight,
 * phi.weight, phi.bias, psi.weight, psi.bias}. The up blocks are the UNet's, including its
 * {@code bilinear} behaviour (see {@link UNet2dBlocks.UpBlock}).
 */
public final class AttentionUNet2D extends JModule {

  /**
   * The additive attention gate of Oktay et al. in 2D. For skip features x (N, C<sub>x</sub>, H, W) and a
   * gating signal g (N, C<sub>g</sub>, H', W'), normally at half x's resolution:
   * <ol>
   *   <li>{@code theta}: the linear map of x to {@code inter} channels, applied with kernel = stride = 2 and
   *       no bias (as the authors' implementation, {@code sub_sample_factor=2}), which puts it on g's grid;
   *   <li>{@code phi}: 1x1 convolution of g to {@code inter} channels (with bias), resized bilinearly
   *       ({@code align_corners=False}) to theta's grid when the two differ;
   *   <li>ReLU of the sum, {@code psi} (1x1 convolution to one channel, with bias), sigmoid: the attention
   *       coefficients on the coarse grid;
   *   <li>bilinear resampling ({@code align_corners=False}) of the coefficients to (H, W), and x times them.
   * </ol>
   * {@link #forward} returns the gated skip (N, C<sub>x</sub>, H, W) and the attention map (N, 1, H, W),
   * values in (0, 1). Unlike the authors' 3D gate there is no output transform after the product.
   */
  public static final class AttentionGate extends JModule {
    /** {@code (gated, attention)}: the skip times the map, and the map. */
    public record Gated(Tensor output, Tensor attention) {}

    final Conv2dImpl theta;
    final Conv2dImpl phi;
    final Conv2dImpl psi;
    private final long skipChannels;
    private final long gatingChannels;
    private final long interChannels;

    /** {@code interChannels} null gives Oktay's default {@code max(skip_channels // 2, 1)}. */
    public AttentionGate(long skipChannels, long gatingChannels, Long interChannels) {
      this.skipChannels = skipChannels;
      this.gatingChannels = gatingChannels;
      this.interChannels = interChannels != null ? interChannels : Math.max(skipChannels / 2, 1);
      theta = register("theta", Nn.conv2d(skipChannels, this.interChannels, 2).stride(2).bias(false).build());
      phi = register("phi", Nn.conv2d(gatingChannels, this.interChannels, 1).build());
      psi = register("psi", Nn.conv2d(this.interChannels, 1, 1).build());
    }

    public long interChannels() {
      return interChannels;
    }

    public Gated forward(Tensor x, Tensor g) {
      long[] xShape = NetworkInputs.requireShape("AttentionGate", "skip x", x, 2, skipChannels);
      long[] gShape = NetworkInputs.requireShape("AttentionGate", "gating signal g", g, 2, gatingChannels);
      if (xShape[0] != gShape[0]) {
        throw new IllegalArgumentException("AttentionGate: x and g must have the same batch size, got "
            + Arrays.toString(xShape) + " and " + Arrays.toString(gShape));
      }
      if (xShape[2] < 2 || xShape[3] < 2) {
        throw new IllegalArgumentException("AttentionGate: the skip must be at least 2x2, got shape "
            + Arrays.toString(xShape));
      }
      Tensor thetaX = theta.forward(x);
      Tensor phiG = phi.forward(g);
      if (thetaX.size(2) != phiG.size(2) || thetaX.size(3) != phiG.size(3)) {
        phiG = torch.upsample_bilinear2d(phiG, new long[] {thetaX.size(2), thetaX.size(3)}, false);
      }
      Tensor coarse = psi.forward(thetaX.add(phiG).relu()).sigmoid();
      Tensor attention = torch.upsample_bilinear2d(coarse, new long[] {xShape[2], xShape[3]}, false);
      return new Gated(x.mul(attention), attention);
    }
  }

  /** The logits {@code [main, dp1, dp2, dp3]} and the attention maps {@code [a0, a1, a2, a3]}. */
  public record Outputs(List<Tensor> logits, List<Tensor> attention) {}

  /** The decoder: gates, up blocks and heads; see the class comment for its members. */
  public static final class Decoder extends JModule {
    final AttentionGate gate1;
    final UNet2dBlocks.UpBlock up1;
    final AttentionGate gate2;
    final UNet2dBlocks.UpBlock up2;
    final AttentionGate gate3;
    final UNet2dBlocks.UpBlock up3;
    final AttentionGate gate4;
    final UNet2dBlocks.UpBlock up4;
    final Conv2dImpl outConv;
    final Conv2dImpl outConvDp1;
    final Conv2dImpl outConvDp2;
    final Conv2dImpl outConvDp3;

    public Decoder(UNetParams p) {
      long[] ft = p.featureChannels();
      long classes = p.classNum();
      boolean bilinear = p.upBlocksBilinear();
      gate1 = register("gate1", new AttentionGate(ft[3], ft[4], null));
      up1 = register("up1", new UNet2dBlocks.UpBlock(ft[4], ft[3], ft[3], 0.0, bilinear));
      gate2 = register("gate2", new AttentionGate(ft[2], ft[3], null));
      up2 = register("up2", new UNet2dBlocks.UpBlock(ft[3], ft[2], ft[2], 0.0, bilinear));
      gate3 = register("gate3", new AttentionGate(ft[1], ft[2], null));
      up3 = register("up3", new UNet2dBlocks.UpBlock(ft[2], ft[1], ft[1], 0.0, bilinear));
      gate4 = register("gate4", new AttentionGate(ft[0], ft[1], null));
      up4 = register("up4", new UNet2dBlocks.UpBlock(ft[1], ft[0], ft[0], 0.0, bilinear));
      outConv = register("out_conv", Nn.conv2d(ft[0], classes, 3).padding(1).build());
      outConvDp1 = register("out_conv_dp1", Nn.conv2d(ft[1], classes, 1).build());
      outConvDp2 = register("out_conv_dp2", Nn.conv2d(ft[2], classes, 1).build());
      outConvDp3 = register("out_conv_dp3", Nn.conv2d(ft[3], classes, 1).build());
    }

    /**
     * @param features the five encoder stages x0..x4
     * @param size (H, W) the side outputs are resized to
     */
    public Outputs forward(List<Tensor> features, long[] size) {
      if (features.size() != 5) {
        throw new IllegalArgumentException("expected the 5 encoder stages, got " + features.size());
      }
      AttentionGate.Gated s3 = gate1.forward(features.get(3), features.get(4));
      Tensor d = up1.forward(features.get(4), s3.output());
      Tensor dp3 = resize(outConvDp3.forward(d), size);
      AttentionGate.Gated s2 = gate2.forward(features.get(2), d);
      d = up2.forward(d, s2.output());
      Tensor dp2 = resize(outConvDp2.forward(d), size);
      AttentionGate.Gated s1 = gate3.forward(features.get(1), d);
      d = up3.forward(d, s1.output());
      Tensor dp1 = resize(outConvDp1.forward(d), size);
      AttentionGate.Gated s0 = gate4.forward(features.get(0), d);
      d = up4.forward(d, s0.output());
      Tensor main = outConv.forward(d);
      return new Outputs(List.of(main, dp1, dp2, dp3),
          List.of(s0.attention(), s1.attention(), s2.attention(), s3.attention()));
    }

    private static Tensor resize(Tensor x, long[] size) {
      return torch.upsample_bilinear2d(x, size, false);
    }
  }

  final UNet2dBlocks.Encoder encoder;
  final Decoder decoder;
  private final UNetParams params;

  public AttentionUNet2D(UNetParams params) {
    this.params = params;
    encoder = register("encoder", new UNet2dBlocks.Encoder(params));
    decoder = register("decoder", new Decoder(params));
  }

  /** The 2D UNet's reference widths {@code [16, 32, 64, 128, 256]} and dropout rates. */
  public AttentionUNet2D(long inChannels, long classNum) {
    this(UNetParams.reference(inChannels, classNum));
  }

  public UNetParams params() {
    return params;
  }

  /** {@code [main, dp1, dp2, dp3]}, each (N, class_num, H, W): main from full resolution, dp_k from 1/2^k. */
  public List<Tensor> forward(Tensor x) {
    return forwardWithAttention(x).logits();
  }

  /**
   * The logits of {@link #forward} and the attention maps {@code [a0, a1, a2, a3]}: a_k is the gate on
   * encoder stage k, (N, 1, H / 2^k, W / 2^k).
   */
  public Outputs forwardWithAttention(Tensor x) {
    long[] shape = NetworkInputs.requireShape("AttentionUNet2D", "input", x, 2, params.inChannels());
    NetworkInputs.requireMultiples("AttentionUNet2D", shape, 16, "four poolings by 2 must divide the input");
    return decoder.forward(encoder.forward(x), NetworkInputs.spatial(shape));
  }
}
