package org.ssl4mis.networks;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;

/**
 * SSL4MIS's {@code UNet_CCT} ({@code networks/unet.py}, {@code net_factory(net_type="unet_cct")}), the 2D
 * network of cross-consistency training (Ouali, Hudelot and Tami, "Semi-Supervised Semantic Segmentation
 * with Cross-Consistency Training", CVPR 2020): one UNet {@link UNet2dBlocks.Encoder}, a main
 * {@link UNet2dBlocks.Decoder} and three auxiliary decoders of the same shape, each fed with perturbed
 * copies of all five encoder stages:
 *
 * <ol>
 *   <li>{@code aux_decoder1}: {@link Perturbations#featureNoise} (uniform, range 0.3);
 *   <li>{@code aux_decoder2}: {@link Perturbations#dropout} with p = 0.3;
 *   <li>{@code aux_decoder3}: {@link Perturbations#featureDropout}.
 * </ol>
 *
 * <p>Input (N, in_chns, H, W) with H and W divisible by 16. {@link #forward} returns
 * {@code (main_seg, aux_seg1, aux_seg2, aux_seg3)}, each (N, class_num, H, W).
 *
 * <p>Reference quirk, kept by default: the perturbations ignore the training flag, so in eval mode too the
 * three auxiliary outputs are random (the functional dropout of the reference defaults to
 * {@code training=True}; FeatureNoise and FeatureDropout never check). Only {@code main_seg} is
 * deterministic in eval mode. {@link #perturbAuxInEval(boolean) perturbAuxInEval(false)} runs the auxiliary
 * decoders on clean features in eval mode instead, and {@link #auxDecoderUnperturbed} does so in any mode
 * (that is what the parity fixture records as {@code aux_seg{1,2,3}_unperturbed}). All randomness comes
 * from libtorch's generator, so {@code NativeRuntime.seed(s)} makes it repeatable.
 */
public final class UNetCCT extends JModule {
  final UNet2dBlocks.Encoder encoder;
  final UNet2dBlocks.Decoder mainDecoder;
  final UNet2dBlocks.Decoder auxDecoder1;
  final UNet2dBlocks.Decoder auxDecoder2;
  final UNet2dBlocks.Decoder auxDecoder3;
  private final UNetParams params;
  private boolean perturbAuxInEval = true;

  public UNetCCT(UNetParams params) {
    this.params = params;
    encoder = register("encoder", new UNet2dBlocks.Encoder(params));
    mainDecoder = register("main_decoder", new UNet2dBlocks.Decoder(params));
    auxDecoder1 = register("aux_decoder1", new UNet2dBlocks.Decoder(params));
    auxDecoder2 = register("aux_decoder2", new UNet2dBlocks.Decoder(params));
    auxDecoder3 = register("aux_decoder3", new UNet2dBlocks.Decoder(params));
  }

  /** {@code UNet_CCT(in_chns, class_num)} with the reference's widths and dropout rates. */
  public UNetCCT(long inChannels, long classNum) {
    this(UNetParams.reference(inChannels, classNum));
  }

  public UNetParams params() {
    return params;
  }

  /**
   * Whether the auxiliary decoders see perturbed features in eval mode: {@code true} (the default) as the
   * reference does, {@code false} to make the eval forward pass deterministic. Training mode always
   * perturbs. Returns this network.
   */
  public UNetCCT perturbAuxInEval(boolean on) {
    perturbAuxInEval = on;
    return this;
  }

  public boolean perturbsAuxInEval() {
    return perturbAuxInEval;
  }

  /** {@code (main_seg, aux_seg1, aux_seg2, aux_seg3)}, in the reference's order. */
  public List<Tensor> forward(Tensor x) {
    List<Tensor> features = encode(x);
    Tensor mainSeg = mainDecoder.forward(features);
    boolean perturb = is_training() || perturbAuxInEval;
    List<Tensor> out = new ArrayList<>(4);
    out.add(mainSeg);
    for (int k = 1; k <= 3; k++) {
      out.add(perturb ? auxDecoderPerturbed(k, features) : auxDecoderUnperturbed(k, features));
    }
    return List.copyOf(out);
  }

  /** The five encoder stages ({@code model.encoder(x)}). */
  public List<Tensor> encode(Tensor x) {
    return encoder.forward(x);
  }

  /** The main decoder on {@code features} ({@code model.main_decoder(features)}). */
  public Tensor decodeMain(List<Tensor> features) {
    return mainDecoder.forward(features);
  }

  /** Auxiliary decoder {@code k} (1, 2 or 3) on clean features: {@code model.aux_decoderK(features)}. */
  public Tensor auxDecoderUnperturbed(int k, List<Tensor> features) {
    return auxDecoder(k).forward(features);
  }

  /** Auxiliary decoder {@code k} (1, 2 or 3) on its own perturbation of every stage, as in the forward pass. */
  public Tensor auxDecoderPerturbed(int k, List<Tensor> features) {
    UnaryOperator<Tensor> perturbation = switch (k) {
      case 1 -> f -> Perturbations.featureNoise(f, Perturbations.FEATURE_NOISE_RANGE);
      case 2 -> f -> Perturbations.dropout(f, Perturbations.DROPOUT_P);
      case 3 -> Perturbations::featureDropout;
      default -> throw new IllegalArgumentException("UNet_CCT has auxiliary decoders 1, 2 and 3, not " + k);
    };
    List<Tensor> perturbed = new ArrayList<>(features.size());
    for (Tensor f : features) {
      perturbed.add(perturbation.apply(f));
    }
    return auxDecoder(k).forward(perturbed);
  }

  private UNet2dBlocks.Decoder auxDecoder(int k) {
    return switch (k) {
      case 1 -> auxDecoder1;
      case 2 -> auxDecoder2;
      case 3 -> auxDecoder3;
      default -> throw new IllegalArgumentException("UNet_CCT has auxiliary decoders 1, 2 and 3, not " + k);
    };
  }
}
