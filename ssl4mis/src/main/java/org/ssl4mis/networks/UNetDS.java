package org.ssl4mis.networks;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;

/**
 * SSL4MIS's {@code UNet_DS} ({@code networks/unet.py}, {@code net_factory(net_type="unet_ds")}): the 2D
 * UNet {@link UNet2dBlocks.Encoder} with a deep-supervision decoder ({@link UNet2dBlocks.DecoderDS}) that
 * adds segmentation heads on three coarser decoder stages.
 *
 * <p>Input (N, in_chns, H, W) with H and W divisible by 16. {@link #forward} returns
 * {@code (dp0, dp1, dp2, dp3)}, each (N, class_num, H, W): dp0 the main full-resolution output, dp1, dp2
 * and dp3 from the decoder stages at 1/2, 1/4 and 1/8 resolution, resized to (H, W) by nearest-neighbour
 * interpolation. Deterministic in eval mode; in training mode only the encoder's dropout is random.
 *
 * <p>Reference quirks kept: the decoder's unused {@code out_conv_dp4} head (in the state dict, no
 * gradient), and the up blocks' 1x1 convolution + bilinear upsampling whatever {@code params['bilinear']}
 * says (see {@link UNet2dBlocks.UpBlock}).
 */
public final class UNetDS extends JModule {
  final UNet2dBlocks.Encoder encoder;
  final UNet2dBlocks.DecoderDS decoder;
  private final UNetParams params;

  public UNetDS(UNetParams params) {
    this.params = params;
    encoder = register("encoder", new UNet2dBlocks.Encoder(params));
    decoder = register("decoder", new UNet2dBlocks.DecoderDS(params));
  }

  /** {@code UNet_DS(in_chns, class_num)} with the reference's widths and dropout rates. */
  public UNetDS(long inChannels, long classNum) {
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
