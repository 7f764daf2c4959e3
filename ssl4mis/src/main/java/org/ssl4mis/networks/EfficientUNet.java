package org.ssl4mis.networks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.FanModeType;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Nonlinearity;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kFanIn;
import org.bytedeco.pytorch.kReLU;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.ModuleList;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.Tensors;

/**
 * SSL4MIS's {@code Effi_UNet} ({@code networks/efficientunet.py}), the {@code efficient_unet} of
 * {@code net_factory}: {@code Effi_UNet('efficientnet-b3', encoder_weights='imagenet', in_channels, classes)}.
 * An {@link EfficientNetEncoder} (efficientnet_pytorch's EfficientNet without classifier), a UNet decoder of
 * five {@link DecoderBlock}s (nearest 2x upsampling, concatenation with the encoder feature of that
 * resolution, two 3x3 convolution + batch norm + ReLU, optional scSE attention) and a 1x1 {@code classifier}.
 *
 * <p>State-dict keys are the Python ones ({@code encoder._blocks.3._depthwise_conv.weight},
 * {@code decoder.blocks.0.conv1.0.weight}, {@code classifier.bias}, ...), in the same order.
 *
 * <p>Initialisation as in Python: the encoder keeps PyTorch's defaults, the decoder gets
 * {@code initialize_decoder} (kaiming-uniform fan-in/ReLU convolution weights, zero biases, batch norm 1/0),
 * the classifier keeps the default. The reference downloads ImageNet weights for the encoder; here the
 * network starts from random weights and {@link #loadEncoderWeights(Path)} loads a local
 * efficientnet_pytorch {@code efficientnet-b3-*.pth}, patched for the input channels as the reference does.
 *
 * <p>Inputs must have a height and width divisible by {@code 2^encoderDepth} (32 by default): the decoder
 * concatenates each upsampled map with the encoder feature of the same size, as in Python, where other
 * sizes fail in {@code torch.cat}.
 */
public final class EfficientUNet extends JModule implements Layer {

  /** {@code decoder_channels} default: {@code (256, 128, 64, 32, 16)}. */
  public static final long[] DEFAULT_DECODER_CHANNELS = {256, 128, 64, 32, 16};

  /** {@code decoder_attention_type}: Python {@code None} or {@code 'scse'}. */
  public enum AttentionType {
    NONE,
    SCSE;

    /** {@code none}/{@code null}/empty or {@code scse}, case-insensitive. */
    public static AttentionType parse(String s) {
      if (s == null || s.isBlank() || s.strip().equalsIgnoreCase("none")) {
        return NONE;
      }
      if (s.strip().equalsIgnoreCase("scse")) {
        return SCSE;
      }
      throw new IllegalArgumentException("Attention " + s + " is not implemented (None or 'scse')");
    }
  }

  /**
   * The constructor arguments of {@code Effi_UNet}.
   *
   * @param encoder the EfficientNet variant ({@code encoder_name})
   * @param encoderDepth 1..5 ({@code encoder_depth})
   * @param decoderUseBatchnorm batch norm in the decoder convolutions (without: a convolution bias instead);
   *     the reference's {@code 'inplace'} (InPlaceABN) is not supported
   * @param decoderChannels one width per decoder block ({@code decoder_channels}), {@code encoderDepth} of them
   * @param attention {@code decoder_attention_type}
   * @param center whether the decoder has a {@code CenterBlock}; the reference only uses one for VGG
   *     encoders, so {@code false} for every EfficientNet
   * @param inChannels input channels
   * @param classes output channels
   */
  public record Params(EfficientNetConfig encoder, int encoderDepth, boolean decoderUseBatchnorm,
      long[] decoderChannels, AttentionType attention, boolean center, long inChannels, long classes) {
    public Params {
      if (encoder == null || attention == null) {
        throw new NullPointerException("encoder and attention are required");
      }
      if (inChannels < 1 || classes < 1) {
        throw new IllegalArgumentException("in_channels and classes must be >= 1, got " + inChannels + " and " + classes);
      }
      if (encoderDepth < 1 || encoderDepth > EfficientNetEncoder.MAX_DEPTH) {
        throw new IllegalArgumentException("encoder_depth must be 1.." + EfficientNetEncoder.MAX_DEPTH + ", got "
            + encoderDepth);
      }
      if (decoderChannels.length != encoderDepth) {
        throw new IllegalArgumentException("Model depth is " + encoderDepth + ", but you provide `decoder_channels` for "
            + decoderChannels.length + " blocks.");
      }
      if (Arrays.stream(decoderChannels).anyMatch(c -> c < 1)) {
        throw new IllegalArgumentException("decoder_channels must be positive, got " + Arrays.toString(decoderChannels));
      }
      decoderChannels = decoderChannels.clone();
    }

    /** {@code net_factory("efficient_unet", in_chns, class_num)}: b3, depth 5, batch norm, no attention. */
    public static Params reference(long inChannels, long classes) {
      return new Params(EfficientNetConfig.b3(), EfficientNetEncoder.MAX_DEPTH, true, DEFAULT_DECODER_CHANNELS,
          AttentionType.NONE, false, inChannels, classes);
    }

    public Params withEncoder(EfficientNetConfig e) {
      return new Params(e, encoderDepth, decoderUseBatchnorm, decoderChannels, attention, center, inChannels, classes);
    }

    /** Another depth with its decoder channels (they must agree in number). */
    public Params withDepth(int depth, long... channels) {
      return new Params(encoder, depth, decoderUseBatchnorm, channels, attention, center, inChannels, classes);
    }

    public Params withDecoderUseBatchnorm(boolean b) {
      return new Params(encoder, encoderDepth, b, decoderChannels, attention, center, inChannels, classes);
    }

    public Params withAttention(AttentionType a) {
      return new Params(encoder, encoderDepth, decoderUseBatchnorm, decoderChannels, a, center, inChannels, classes);
    }

    public Params withCenter(boolean c) {
      return new Params(encoder, encoderDepth, decoderUseBatchnorm, decoderChannels, attention, c, inChannels, classes);
    }

    @Override
    public long[] decoderChannels() {
      return decoderChannels.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Params p && p.encoder.equals(encoder) && p.encoderDepth == encoderDepth
          && p.decoderUseBatchnorm == decoderUseBatchnorm && Arrays.equals(p.decoderChannels, decoderChannels)
          && p.attention == attention && p.center == center && p.inChannels == inChannels && p.classes == classes;
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(encoder, encoderDepth, decoderUseBatchnorm, Arrays.hashCode(decoderChannels),
          attention, center, inChannels, classes);
    }

    @Override
    public String toString() {
      return "Params[encoder=" + encoder.name() + ", encoderDepth=" + encoderDepth + ", decoderUseBatchnorm="
          + decoderUseBatchnorm + ", decoderChannels=" + Arrays.toString(decoderChannels) + ", attention="
          + attention + ", center=" + center + ", inChannels=" + inChannels + ", classes=" + classes + "]";
    }
  }

  private final Params params;
  final EfficientNetEncoder encoder;
  final UnetDecoder decoder;
  final Conv2dImpl classifier;

  /** {@code net_factory("efficient_unet", in_chns, class_num)} without the ImageNet download. */
  public EfficientUNet(long inChannels, long classes) {
    this(Params.reference(inChannels, classes));
  }

  /** {@code Effi_UNet(encoder_name, in_channels=..., classes=...)} with the other defaults. */
  public EfficientUNet(String encoderName, long inChannels, long classes) {
    this(Params.reference(inChannels, classes).withEncoder(EfficientNetConfig.of(encoderName)));
  }

  public EfficientUNet(Params p) {
    this.params = p;
    encoder = register("encoder", new EfficientNetEncoder(p.encoder(), p.inChannels(), p.encoderDepth()));
    decoder = register("decoder", new UnetDecoder(encoder.outChannels(), p.decoderChannels(), p.decoderUseBatchnorm(),
        p.attention(), p.center()));
    initializeDecoder(decoder);
    long[] dc = p.decoderChannels();
    classifier = register("classifier", Nn.conv2d(dc[dc.length - 1], p.classes(), 1).build());
  }

  public Params params() {
    return params;
  }

  public EfficientNetEncoder encoder() {
    return encoder;
  }

  public UnetDecoder decoder() {
    return decoder;
  }

  /** Logits {@code (N, classes, H, W)} for an input {@code (N, in_channels, H, W)}. */
  @Override
  public Tensor forward(Tensor x) {
    if (x.dim() != 4 || x.size(1) != params.inChannels()) {
      throw new IllegalArgumentException("expected (N, " + params.inChannels() + ", H, W) input, got "
          + Arrays.toString(Tensors.shape(x)));
    }
    long multiple = 1L << params.encoderDepth();
    if (x.size(2) % multiple != 0 || x.size(3) % multiple != 0) {
      throw new IllegalArgumentException("height and width must be multiples of " + multiple + " (2^encoder_depth), got "
          + x.size(2) + "x" + x.size(3));
    }
    return classifier.forward(decoder.forward(encoder.forward(x)));
  }

  /**
   * Loads an efficientnet_pytorch state dict ({@code efficientnet-b3-5fb5a3c3.pth}, or any
   * {@code torch.save(EfficientNet.state_dict())} of the same variant) into the encoder, as the reference's
   * {@code get_encoder(..., weights='imagenet')}: {@code _fc.*} ignored, the stem weight patched for the input
   * channels (1: summed over RGB, 2: first two channels times 3/2, more than 3: re-initialised); see
   * {@link EfficientNetEncoder#loadPretrained}. The decoder and classifier are untouched.
   *
   * @throws org.ssl4mis.nn.StateDictLoader.StateDictMismatchException naming the file and every missing,
   *     unexpected or mis-shaped key when the file is not this variant
   */
  public StateDictLoader.Report loadEncoderWeights(Path file) throws IOException {
    Map<String, Tensor> weights = Checkpoints.loadStateDict(file);
    try {
      return encoder.loadPretrained(weights);
    } catch (StateDictLoader.StateDictMismatchException e) {
      throw new StateDictLoader.StateDictMismatchException(file + " (" + params.encoder().name() + " encoder weights): "
          + e.getMessage(), e);
    }
  }

  // ---- decoder ---------------------------------------------------------------------------------------

  /**
   * {@code Conv2dReLU}: a {@code Sequential(conv, bn, relu)} with a 3x3 (padding 1) convolution; without
   * batch norm the convolution has a bias and the second member is an identity.
   */
  static Sequential conv2dReLU(long in, long out, boolean useBatchnorm) {
    Conv2dImpl conv = Nn.conv2d(in, out, 3).padding(1).bias(!useBatchnorm).build();
    Module bn = useBatchnorm ? Nn.batchNorm2d(out).build() : Nn.identity();
    return new Sequential(conv, bn, Nn.relu());
  }

  /**
   * Concurrent spatial and channel squeeze-excitation (Roy et al., MICCAI 2018), {@code SCSEModule}:
   * {@code x * cSE(x) + x * sSE(x)} with {@code cSE} = pool, 1x1 conv to {@code C / 16}, ReLU, 1x1 conv
   * back, sigmoid and {@code sSE} = 1x1 conv to one channel, sigmoid.
   */
  public static final class SCSEModule extends JModule implements Layer {
    public static final long REDUCTION = 16;
    final Sequential cSE;
    final Sequential sSE;

    public SCSEModule(long inChannels) {
      if (inChannels / REDUCTION < 1) {
        throw new IllegalArgumentException("scSE needs at least " + REDUCTION + " channels, got " + inChannels);
      }
      long squeezed = inChannels / REDUCTION;
      cSE = register("cSE", new Sequential(new EfficientNetEncoder.GlobalAveragePool(), Nn.conv2d(inChannels, squeezed, 1).build(), Nn.relu(),
          Nn.conv2d(squeezed, inChannels, 1).build(), Nn.sigmoid()));
      sSE = register("sSE", new Sequential(Nn.conv2d(inChannels, 1, 1).build(), Nn.sigmoid()));
    }

    @Override
    public Tensor forward(Tensor x) {
      return x.mul(cSE.forward(x)).add(x.mul(sSE.forward(x)));
    }
  }

  /** {@code Attention(name, in_channels)}: its only member {@code attention} is an identity or an {@link SCSEModule}. */
  public static final class Attention extends JModule implements Layer {
    private final Layer attention;

    public Attention(AttentionType type, long inChannels) {
      attention = switch (type) {
        case NONE -> register("attention", Nn.identity())::forward;
        case SCSE -> register("attention", new SCSEModule(inChannels));
      };
    }

    @Override
    public Tensor forward(Tensor x) {
      return attention.forward(x);
    }
  }

  /**
   * {@code DecoderBlock}: nearest 2x upsampling, then (with a skip) concatenation and {@code attention1},
   * then {@code conv1}, {@code conv2}, {@code attention2}. Without a skip (the last block)
   * {@code attention1} is built but not used, as in Python.
   */
  public static final class DecoderBlock extends JModule {
    final Sequential conv1;
    final Attention attention1;
    final Sequential conv2;
    final Attention attention2;

    public DecoderBlock(long inChannels, long skipChannels, long outChannels, boolean useBatchnorm, AttentionType type) {
      conv1 = register("conv1", conv2dReLU(inChannels + skipChannels, outChannels, useBatchnorm));
      attention1 = register("attention1", new Attention(type, inChannels + skipChannels));
      conv2 = register("conv2", conv2dReLU(outChannels, outChannels, useBatchnorm));
      attention2 = register("attention2", new Attention(type, outChannels));
    }

    /** @param skip the encoder feature at twice {@code x}'s resolution, or null */
    public Tensor forward(Tensor x, Tensor skip) {
      Tensor h = torch.upsample_nearest2d(x, new long[] {x.size(2) * 2, x.size(3) * 2});
      if (skip != null) {
        h = attention1.forward(torch.cat(new TensorVector(h, skip), 1));
      }
      return attention2.forward(conv2.forward(conv1.forward(h)));
    }
  }

  /**
   * {@code UnetDecoder}: an optional {@code center} (two {@code Conv2dReLU} at the head's width, else an
   * identity) and one {@link DecoderBlock} per encoder stage, from the deepest feature up; the last block
   * has no skip and brings the map back to the input resolution.
   */
  public static final class UnetDecoder extends JModule {
    private final Layer center;
    final ModuleList<DecoderBlock> blocks;

    /**
     * @param encoderChannels the encoder's {@code out_channels} (input first), {@code depth + 1} of them
     * @param decoderChannels one per block
     */
    public UnetDecoder(long[] encoderChannels, long[] decoderChannels, boolean useBatchnorm, AttentionType attention,
        boolean center) {
      int n = decoderChannels.length;
      if (encoderChannels.length != n + 1) {
        throw new IllegalArgumentException("Model depth is " + (encoderChannels.length - 1)
            + ", but you provide `decoder_channels` for " + n + " blocks.");
      }
      // deepest first, without the input
      long[] enc = new long[n];
      for (int i = 0; i < n; i++) {
        enc[i] = encoderChannels[n - i];
      }
      long head = enc[0];
      if (center) {
        this.center = register("center", new Sequential(conv2dReLU(head, head, useBatchnorm),
            conv2dReLU(head, head, useBatchnorm)));
      } else {
        this.center = register("center", Nn.identity())::forward;
      }
      blocks = register("blocks", new ModuleList<>());
      for (int i = 0; i < n; i++) {
        long in = i == 0 ? head : decoderChannels[i - 1];
        long skip = i + 1 < n ? enc[i + 1] : 0;
        blocks.add(new DecoderBlock(in, skip, decoderChannels[i], useBatchnorm, attention));
      }
    }

    /** @param features the encoder's output: the input, then the features from the finest to the deepest */
    public Tensor forward(List<Tensor> features) {
      if (features.size() != blocks.size() + 1) {
        throw new IllegalArgumentException("expected " + (blocks.size() + 1) + " encoder outputs, got " + features.size());
      }
      List<Tensor> reversed = new ArrayList<>(features.subList(1, features.size()));
      Collections.reverse(reversed);
      Tensor x = center.forward(reversed.get(0));
      List<Tensor> skips = reversed.subList(1, reversed.size());
      for (int i = 0; i < blocks.size(); i++) {
        x = blocks.get(i).forward(x, i < skips.size() ? skips.get(i) : null);
      }
      return x;
    }
  }

  /**
   * {@code initialize_decoder}: every convolution below {@code root} gets kaiming-uniform weights (fan-in,
   * ReLU gain) and zero bias, every batch norm weight 1 and bias 0.
   */
  @SuppressWarnings("try")
  public static void initializeDecoder(Module root) {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      visitInit(root);
    }
  }

  private static void visitInit(Module m) {
    switch (m) {
      case Conv2dImpl c -> {
        torch.kaiming_uniform_(c.weight(), 0.0, new FanModeType(new kFanIn()), new Nonlinearity(new kReLU()));
        if (c.bias() != null && c.bias().defined()) {
          c.bias().zero_();
        }
      }
      case BatchNorm2dImpl b -> {
        b.weight().fill_(new Scalar(1.0));
        b.bias().zero_();
      }
      case JModule j -> j.childModules().values().forEach(EfficientUNet::visitInit);
      default -> { } // parameter-free layers
    }
  }

  // ---- factory ---------------------------------------------------------------------------------------

  /** The options {@link #create} understands, by their Python names. */
  public static final java.util.Set<String> OPTIONS = java.util.Set.of("encoder_name", "encoder_depth",
      "encoder_weights", "decoder_channels", "decoder_attention_type", "decoder_use_batchnorm");

  /**
   * {@code net_factory("efficient_unet", in_chns, class_num)} with {@code options} overriding the
   * {@code Effi_UNet} arguments: {@code encoder_name} (default {@code efficientnet-b3}), {@code encoder_depth}
   * (5; then {@code decoder_channels} must have as many entries), {@code decoder_channels},
   * {@code decoder_attention_type} ({@code none}/{@code scse}), {@code decoder_use_batchnorm} and
   * {@code encoder_weights}: the path of an efficientnet_pytorch {@code .pth} to load
   * ({@link #loadEncoderWeights}), or {@code none} (the default here: random encoder weights, since the
   * reference's {@code imagenet} download is not available).
   */
  static EfficientUNet create(long inChannels, long classes, Networks.Options options) {
    options.requireOnly("efficient_unet", OPTIONS);
    Params p = Params.reference(inChannels, classes)
        .withEncoder(EfficientNetConfig.of(options.string("encoder_name", "efficientnet-b3")));
    int depth = (int) options.integer("encoder_depth", EfficientNetEncoder.MAX_DEPTH);
    long[] channels = options.longs("decoder_channels",
        depth == EfficientNetEncoder.MAX_DEPTH ? DEFAULT_DECODER_CHANNELS : Arrays.copyOf(DEFAULT_DECODER_CHANNELS, depth));
    p = p.withDepth(depth, channels)
        .withAttention(AttentionType.parse(options.string("decoder_attention_type", "none")))
        .withDecoderUseBatchnorm(options.bool("decoder_use_batchnorm", true));
    EfficientUNet net = new EfficientUNet(p);
    String weights = options.string("encoder_weights", "none").strip();
    if (weights.equalsIgnoreCase("imagenet")) {
      throw new IllegalArgumentException("encoder_weights=imagenet would download the ImageNet weights, which this"
          + " build does not do: pass the path of a local efficientnet_pytorch " + p.encoder().name() + "-*.pth");
    }
    if (!weights.isEmpty() && !weights.toLowerCase(Locale.ROOT).equals("none")) {
      try {
        net.loadEncoderWeights(Path.of(weights));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot read encoder_weights " + weights, e);
      }
    }
    return net;
  }
}
