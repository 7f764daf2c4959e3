package org.ssl4mis.networks;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;

/**
 * SSL4MIS's {@code UNet_URPC} ({@code networks/unet.py}, {@code net_factory(net_type="unet_urpc")}), the
 * network of uncertainty rectified pyramid consistency (Luo et al., "Efficient semi-supervised gross
 * target volume of nasopharyngeal carcinoma segmentation via uncertainty rectified pyramid consistency",
 * MICCAI 2021): the 2D UNet {@link UNet2dBlocks.Encoder} with a pyramid decoder
 * ({@link UNet2dBlocks.DecoderURPC}).
 *
 * <p>Input (N, in_chns, H, W) with H and W divisible by 16. {@link #forward} returns the four pyramid
 * predictions {@code (dp0, dp1, dp2, dp3)}, each (N, class_num, H, W): dp0 at full resolution, dp1..dp3
 * from the 1/2, 1/4, 1/8 decoder stages resized by nearest-neighbour interpolation.
 *
 * <p>In training mode the three side heads see perturbed features (dropout p = 0.5, FeatureDropout,
 * FeatureNoise: see {@link Perturbations}), drawn from libtorch's generator; in eval mode the forward pass
 * is deterministic and equals {@link UNetDS}'s for the same weights (the two share state-dict keys).
 * Reference quirks kept: the unused {@code out_conv_dp4} head and the always-bilinear up blocks.
 */
public final class UNetURPC extends JModule {
  final UNet2dBlocks.Encoder encoder;
  final UNet2dBlocks.DecoderURPC decoder;
  private final UNetParams params;

  public UNetURPC(UNetParams params) {
    this(params, true);
  }

  /**
   * @param perturbations whether the side heads see their perturbations in training mode (the reference:
   *     true); false makes the training-mode forward pass deterministic (option {@code perturbations=false})
   */
  public UNetURPC(UNetParams params, boolean perturbations) {
    this.params = params;
    encoder = register("encoder", new UNet2dBlocks.Encoder(params));
    decoder = register("decoder", new UNet2dBlocks.DecoderURPC(params, perturbations));
  }

  /** {@code UNet_URPC(in_chns, class_num)} with the reference's widths and dropout rates. */
  public UNetURPC(long inChannels, long classNum) {
    this(UNetParams.reference(inChannels, classNum));
  }

  public UNetParams params() {
    return params;
  }

  /** {@code (dp0, dp1, dp2, dp3)}, in the reference's order. */
  public List<Tensor> forward(Tensor x) {
    long[] size = {x.size(2), x.size(3)};
    return decoder.forward(encoder.forward(x), size);
  }
}
