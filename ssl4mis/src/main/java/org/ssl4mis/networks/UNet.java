package org.ssl4mis.networks;

import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;

/**
 * SSL4MIS's 2D {@code UNet} ({@code networks/unet.py}, {@code net_factory(net_type="unet")}): an
 * {@link UNet2dBlocks.Encoder} of five stages and a {@link UNet2dBlocks.Decoder}; input (N, in_chns, H, W)
 * with H and W divisible by 16, output logits (N, class_num, H, W).
 */
public final class UNet extends JModule implements Layer {
  final UNet2dBlocks.Encoder encoder;
  final UNet2dBlocks.Decoder decoder;
  private final UNetParams params;

  public UNet(UNetParams params) {
    this.params = params;
    encoder = register("encoder", new UNet2dBlocks.Encoder(params));
    decoder = register("decoder", new UNet2dBlocks.Decoder(params));
  }

  /** {@code UNet(in_chns, class_num)} with the reference's widths and dropout rates. */
  public UNet(long inChannels, long classNum) {
    this(UNetParams.reference(inChannels, classNum));
  }

  public UNetParams params() {
    return params;
  }

  @Override
  public Tensor forward(Tensor x) {
    return decoder.forward(encoder.forward(x));
  }
}
