package org.ssl4mis.networks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.FanModeType;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Nonlinearity;
import org.bytedeco.pytorch.SiLUImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kFanIn;
import org.bytedeco.pytorch.kLeakyReLU;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.ModuleList;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * SSL4MIS's {@code EfficientNetEncoder} ({@code networks/efficient_encoder.py}): efficientnet_pytorch's
 * {@code EfficientNet} without its {@code _fc} classifier, returning the input and five feature maps
 * (strides 1, 2, 4, 8, 16, 32) for a UNet decoder.
 *
 * <p>Members and state-dict keys are efficientnet_pytorch's: {@code _conv_stem}, {@code _bn0},
 * {@code _blocks.<i>.{_expand_conv, _bn0, _depthwise_conv, _bn1, _se_reduce, _se_expand, _project_conv,
 * _bn2}}, {@code _conv_head}, {@code _bn1}. The head ({@code _conv_head}, {@code _bn1}) stays in the state
 * dict, as in Python, though the encoder's forward never uses it (it gets no gradient).
 *
 * <p>Faithful details:
 *
 * <ul>
 *   <li>TensorFlow "same" padding, computed once at construction for the variant's resolution
 *       ({@link EfficientNetConfig#imageSize}, 300 for b3) as efficientnet_pytorch's
 *       {@code Conv2dStaticSamePadding} does: each stride-2 convolution pads {@code k - 2} (split low/high,
 *       the extra pixel at the bottom/right) or {@code k - 1} depending on the parity of the resolution it
 *       was built for, whatever the actual input size;
 *   <li>batch norm with PyTorch momentum {@code 1 - 0.99} and eps 1e-3; swish ({@code x * sigmoid(x)});
 *   <li>squeeze-excitation with {@code max(1, int(input_filters * 0.25))} channels;
 *   <li>the residual (and drop connect) only on the repeated blocks of a stage with equal channels;
 *       drop connect in training mode only, block {@code i} of {@code n} with rate
 *       {@code drop_connect_rate * i / n}, one Bernoulli draw per sample from libtorch's generator
 *       ({@code NativeRuntime.seed} makes it repeatable; the numbers differ from Python's);
 *   <li>PyTorch's default initialisation everywhere (efficientnet_pytorch has no custom one).
 * </ul>
 *
 * <p>Input channels other than 3 follow SSL4MIS's {@code patch_first_conv}, see {@link #patchStemWeight}.
 */
public final class EfficientNetEncoder extends JModule {

  /** The deepest the encoder goes: stem plus four taps. */
  public static final int MAX_DEPTH = 5;

  private final EfficientNetConfig config;
  private final long inChannels;
  private final int depth;
  private final int[] taps;
  private final long[] outChannels;
  final Conv2dImpl convStem;
  private final Padding stemPadding;
  final BatchNorm2dImpl bn0;
  final ModuleList<MBConvBlock> blocks;
  final Conv2dImpl convHead;
  final BatchNorm2dImpl bn1;

  /** SSL4MIS's {@code get_encoder(name, in_channels, depth=5, weights=None)}. */
  public EfficientNetEncoder(EfficientNetConfig config, long inChannels) {
    this(config, inChannels, MAX_DEPTH);
  }

  /**
   * @param config the variant
   * @param inChannels input channels; the stem is built for 3 and patched otherwise ({@link #patchStemWeight})
   * @param depth 1..5: how many feature maps after the input {@link #forward} returns
   */
  @SuppressWarnings("try")
  public EfficientNetEncoder(EfficientNetConfig config, long inChannels, int depth) {
    if (inChannels < 1) {
      throw new IllegalArgumentException("in_channels must be >= 1, got " + inChannels);
    }
    if (depth < 1 || depth > MAX_DEPTH) {
      throw new IllegalArgumentException("encoder depth must be 1.." + MAX_DEPTH + ", got " + depth);
    }
    this.config = config;
    this.inChannels = inChannels;
    this.depth = depth;
    double momentum = config.torchBatchNormMomentum();
    double eps = EfficientNetConfig.BATCH_NORM_EPSILON;

    int size = config.imageSize();
    int stem = config.stemChannels();
    stemPadding = Padding.staticSame(size, 3, 2);
    convStem = register("_conv_stem", stemPadding.configure(Nn.conv2d(inChannels, stem, 3).stride(2).bias(false)).build());
    bn0 = register("_bn0", Nn.batchNorm2d(stem).momentum(momentum).eps(eps).build());
    size = ceilDiv(size, 2);

    blocks = register("_blocks", new ModuleList<>());
    List<EfficientNetConfig.StageArgs> stages = config.stages();
    for (EfficientNetConfig.StageArgs s : stages) {
      blocks.add(new MBConvBlock(s, true, size, momentum, eps));
      size = ceilDiv(size, s.stride());
      var repeated = new EfficientNetConfig.StageArgs(s.numRepeat(), s.kernelSize(), 1, s.expandRatio(),
          s.outputFilters(), s.outputFilters(), s.seRatio(), s.idSkip());
      for (int r = 1; r < s.numRepeat(); r++) {
        blocks.add(new MBConvBlock(repeated, false, size, momentum, eps));
      }
    }
    int lastOut = stages.getLast().outputFilters();
    int head = config.headChannels();
    convHead = register("_conv_head", Nn.conv2d(lastOut, head, 1).bias(false).build());
    bn1 = register("_bn1", Nn.batchNorm2d(head).momentum(momentum).eps(eps).build());
    // parameter-free members of the Python module, for the same module tree (no state-dict entries)
    register("_avg_pooling", new GlobalAveragePool());
    register("_dropout", Nn.dropout(config.dropoutRate()));
    register("_swish", new SiLUImpl());

    List<Integer> idxs = config.stageIdxs();
    if (idxs.get(2) >= blocks.size()) {
      throw new IllegalArgumentException(config.name() + ": stage_idxs " + idxs + " reach past the "
          + blocks.size() + " blocks");
    }
    taps = new int[] {idxs.get(0), idxs.get(1), idxs.get(2), blocks.size()};
    long[] channels = new long[MAX_DEPTH + 1];
    channels[0] = inChannels;
    channels[1] = stem;
    for (int t = 0; t < taps.length; t++) {
      channels[t + 2] = blocks.get(taps[t] - 1).outputChannels();
    }
    outChannels = Arrays.copyOf(channels, depth + 1);

    if (inChannels != 3) {
      try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
        // as get_encoder: a default-initialised 3-channel stem, then patch_first_conv
        Tensor rgb = torch.empty(stem, 3, 3, 3);
        defaultConvInit(rgb);
        Tensor patched = patchStemWeight(rgb, inChannels);
        if (patched != null) {
          convStem.weight().copy_(patched);
        } // else in_channels > 3: reset_parameters(), which is what building the stem did
      }
    }
  }

  public EfficientNetConfig config() {
    return config;
  }

  public long inChannels() {
    return inChannels;
  }

  public int depth() {
    return depth;
  }

  /**
   * Channels of each tensor {@link #forward} returns, input first ({@code out_channels}): for b3
   * {@code (in, 40, 32, 48, 136, 384)}.
   */
  public long[] outChannels() {
    return outChannels.clone();
  }

  /** Block counts after which a feature is taken: the config's three {@code stage_idxs} and the block count. */
  public int[] stageIdxs() {
    return taps.clone();
  }

  public List<MBConvBlock> blocks() {
    return blocks.asList();
  }

  /**
   * The input followed by {@link #depth} feature maps: the stem output (stride 2), then the outputs of
   * blocks {@code stageIdxs[i] - 1}; the blocks past the last tap needed are skipped.
   */
  public List<Tensor> forward(Tensor x) {
    if (x.dim() != 4 || x.size(1) != inChannels) {
      throw new IllegalArgumentException("expected (N, " + inChannels + ", H, W) input, got "
          + Arrays.toString(Tensors.shape(x)));
    }
    List<Tensor> features = new ArrayList<>(depth + 1);
    features.add(x);
    Tensor h = torch.silu(bn0.forward(convStem.forward(stemPadding.apply(x))));
    features.add(h);
    if (depth > 1) {
      int tap = 0;
      int n = blocks.size();
      for (int idx = 0; idx < n; idx++) {
        double rate = config.dropConnectRate();
        if (rate != 0) {
          rate *= (double) idx / n;
        }
        h = blocks.get(idx).forward(h, rate);
        if (idx == taps[tap] - 1) {
          tap++;
          features.add(h);
          if (tap + 1 == depth) {
            break;
          }
        }
      }
    }
    return features;
  }

  // ---- pretrained weights ----------------------------------------------------------------------------

  /**
   * SSL4MIS's {@code get_encoder(..., weights=...)}: loads an efficientnet_pytorch state dict (the format of
   * the published {@code efficientnet-bN-*.pth} ImageNet files: {@code _conv_stem.weight},
   * {@code _blocks.0._depthwise_conv.weight}, ..., {@code _fc.weight}) into this encoder, then patches the
   * stem for the encoder's input channels as {@code set_in_channels} does after loading:
   *
   * <ul>
   *   <li>{@code _fc.weight} and {@code _fc.bias} are ignored (Python pops them; here they may be absent);
   *   <li>{@code *.num_batches_tracked} may be absent (older files): it is set to 0, as PyTorch does for
   *       state dicts without version metadata;
   *   <li>a 3-channel {@code _conv_stem.weight} is patched by {@link #patchStemWeight}; for more than 3
   *       input channels it is replaced by a fresh default initialisation, as the reference's
   *       {@code reset_parameters()}; a stem weight that already has the encoder's input channels is
   *       loaded as it is;
   *   <li>everything else must match exactly (strict): missing, unexpected and mis-shaped keys are reported
   *       together in a {@link StateDictLoader.StateDictMismatchException}.
   * </ul>
   *
   * @return what was loaded ({@code loaded} counts the tensors written, the stem included)
   */
  @SuppressWarnings("try")
  public StateDictLoader.Report loadPretrained(Map<String, Tensor> source) {
    Map<String, Tensor> target = StateDict.of(this);
    Map<String, Tensor> weights = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : source.entrySet()) {
      if (!e.getKey().equals("_fc.weight") && !e.getKey().equals("_fc.bias")) {
        weights.put(e.getKey(), e.getValue());
      }
    }
    for (String key : target.keySet()) {
      if (key.endsWith(".num_batches_tracked") && !weights.containsKey(key)) {
        weights.put(key, Tensors.scalar(0, DType.INT64));
      }
    }
    boolean resetStem = false;
    Tensor stem = weights.get("_conv_stem.weight");
    if (stem != null && stem.dim() == 4 && stem.size(1) == 3 && inChannels != 3) {
      try (NoGradGuard noGrad = new NoGradGuard()) {
        Tensor patched = patchStemWeight(stem.to(convStem.weight().scalar_type()), inChannels);
        if (patched == null) {
          resetStem = true;
          weights.put("_conv_stem.weight", new Tensor(convStem.weight())); // placeholder, re-drawn below
        } else {
          weights.put("_conv_stem.weight", patched);
        }
      }
    }
    StateDictLoader.Report report = StateDictLoader.load(this, weights);
    if (resetStem) {
      try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
        defaultConvInit(convStem.weight());
      }
    }
    return report;
  }

  /**
   * SSL4MIS's {@code patch_first_conv} on a 3-channel stem weight {@code (out, 3, kh, kw)}:
   *
   * <ul>
   *   <li>1 channel: the sum over the 3 input channels (a grey image gets the response of the same grey
   *       RGB image);
   *   <li>2 channels: the first two input channels scaled by 3/2 (keeping the summed magnitude);
   *   <li>3 channels: unchanged;
   *   <li>more: null, meaning "re-initialise" (the reference discards the weight and calls
   *       {@code reset_parameters()}: kaiming-uniform with {@code a = sqrt(5)}, fan-in {@code in * kh * kw}).
   * </ul>
   */
  public static Tensor patchStemWeight(Tensor rgbWeight, long inChannels) {
    if (rgbWeight.dim() != 4 || rgbWeight.size(1) != 3) {
      throw new IllegalArgumentException("expected a (out, 3, kh, kw) stem weight, got "
          + Arrays.toString(Tensors.shape(rgbWeight)));
    }
    if (inChannels < 1) {
      throw new IllegalArgumentException("in_channels must be >= 1, got " + inChannels);
    }
    if (inChannels == 1) {
      return rgbWeight.sum(new long[] {1}, true, new ScalarTypeOptional());
    }
    if (inChannels == 2) {
      return rgbWeight.narrow(1, 0, 2).mul(new Scalar(3.0 / 2.0));
    }
    if (inChannels == 3) {
      return rgbWeight;
    }
    return null;
  }

  /** {@code nn.Conv2d.reset_parameters()} for a weight: kaiming-uniform with {@code a = sqrt(5)}, fan-in. */
  static void defaultConvInit(Tensor weight) {
    torch.kaiming_uniform_(weight, Math.sqrt(5), new FanModeType(new kFanIn()), new Nonlinearity(new kLeakyReLU()));
  }

  static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  // ---- building blocks -------------------------------------------------------------------------------

  /**
   * {@code nn.AdaptiveAvgPool2d(1)}: the mean over height and width, keeping them as size-1 dimensions.
   * A Java module (no parameters) because the presets' {@code AdaptiveAvgPool2dOptions} cannot be given a
   * two-element output size from Java.
   */
  public static final class GlobalAveragePool extends JModule implements Layer {
    @Override
    public Tensor forward(Tensor x) {
      return torch.adaptive_avg_pool2d(x, 1, 1);
    }
  }

  /**
   * efficientnet_pytorch's static "same" padding for one convolution: {@code left, right, top, bottom}.
   * Symmetric padding goes into the convolution itself; asymmetric padding is applied before it.
   */
  public record Padding(long left, long right, long top, long bottom) {
    static final Padding NONE = new Padding(0, 0, 0, 0);

    /**
     * The padding of {@code Conv2dStaticSamePadding(kernel, stride, image_size=size)}: in total
     * {@code max((ceil(size / stride) - 1) * stride + kernel - size, 0)} per axis, half (rounded down) before.
     */
    public static Padding staticSame(int imageSize, int kernel, int stride) {
      long out = ceilDiv(imageSize, stride);
      long total = Math.max((out - 1) * stride + (kernel - 1) + 1 - imageSize, 0);
      return new Padding(total / 2, total - total / 2, total / 2, total - total / 2);
    }

    boolean symmetric() {
      return left == right && top == bottom;
    }

    <M extends Module> Nn.ConvBuilder<M> configure(Nn.ConvBuilder<M> conv) {
      return symmetric() ? conv.padding(top, left) : conv;
    }

    Tensor apply(Tensor x) {
      return symmetric() ? x : torch.constant_pad_nd(x, left, right, top, bottom);
    }
  }

  /**
   * efficientnet_pytorch's {@code MBConvBlock}: optional 1x1 expansion, depthwise convolution,
   * squeeze-excitation, 1x1 projection, and on repeated blocks the residual with drop connect.
   */
  public static final class MBConvBlock extends JModule {
    private final EfficientNetConfig.StageArgs args;
    private final boolean residual;
    final Conv2dImpl expandConv;
    final BatchNorm2dImpl bn0;
    final Conv2dImpl depthwiseConv;
    private final Padding depthwisePadding;
    final BatchNorm2dImpl bn1;
    final Conv2dImpl seReduce;
    final Conv2dImpl seExpand;
    final Conv2dImpl projectConv;
    final BatchNorm2dImpl bn2;

    /**
     * @param args the block's settings (for repeated blocks: stride 1, input = output filters)
     * @param firstOfStage whether it opens its stage; efficientnet_pytorch never adds the residual there
     *     (it keeps that block's stride as a list, which never equals 1); with the standard stages those
     *     blocks change the channel count anyway
     * @param imageSize the resolution the block's input has at the config's resolution (for the padding)
     */
    MBConvBlock(EfficientNetConfig.StageArgs args, boolean firstOfStage, int imageSize, double momentum, double eps) {
      this.args = args;
      this.residual = !firstOfStage && args.idSkip() && args.stride() == 1
          && args.inputFilters() == args.outputFilters();
      long in = args.inputFilters();
      long hidden = in * args.expandRatio();
      if (args.expandRatio() != 1) {
        expandConv = register("_expand_conv", Nn.conv2d(in, hidden, 1).bias(false).build());
        bn0 = register("_bn0", Nn.batchNorm2d(hidden).momentum(momentum).eps(eps).build());
      } else {
        expandConv = null;
        bn0 = null;
      }
      depthwisePadding = Padding.staticSame(imageSize, args.kernelSize(), args.stride());
      depthwiseConv = register("_depthwise_conv", depthwisePadding.configure(
          Nn.conv2d(hidden, hidden, args.kernelSize()).stride(args.stride()).groups(hidden).bias(false)).build());
      bn1 = register("_bn1", Nn.batchNorm2d(hidden).momentum(momentum).eps(eps).build());
      if (args.hasSe()) {
        long squeezed = Math.max(1, (long) (in * args.seRatio()));
        seReduce = register("_se_reduce", Nn.conv2d(hidden, squeezed, 1).build());
        seExpand = register("_se_expand", Nn.conv2d(squeezed, hidden, 1).build());
      } else {
        seReduce = null;
        seExpand = null;
      }
      projectConv = register("_project_conv", Nn.conv2d(hidden, args.outputFilters(), 1).bias(false).build());
      bn2 = register("_bn2", Nn.batchNorm2d(args.outputFilters()).momentum(momentum).eps(eps).build());
      register("_swish", new SiLUImpl());
    }

    public EfficientNetConfig.StageArgs args() {
      return args;
    }

    /** Whether the block adds its input to its output (and applies drop connect to the sum's branch). */
    public boolean hasResidual() {
      return residual;
    }

    public long outputChannels() {
      return args.outputFilters();
    }

    /** The padding (left, right, top, bottom) of the depthwise convolution. */
    public Padding depthwisePadding() {
      return depthwisePadding;
    }

    /** The block with drop-connect rate {@code dropConnectRate} (used in training mode only). */
    public Tensor forward(Tensor inputs, double dropConnectRate) {
      Tensor x = inputs;
      if (expandConv != null) {
        x = torch.silu(bn0.forward(expandConv.forward(x)));
      }
      x = torch.silu(bn1.forward(depthwiseConv.forward(depthwisePadding.apply(x))));
      if (seReduce != null) {
        Tensor s = torch.adaptive_avg_pool2d(x, 1, 1);
        s = seExpand.forward(torch.silu(seReduce.forward(s)));
        x = torch.sigmoid(s).mul(x);
      }
      x = bn2.forward(projectConv.forward(x));
      if (residual) {
        if (dropConnectRate != 0) {
          x = dropConnect(x, dropConnectRate, is_training());
        }
        x = x.add(inputs);
      }
      return x;
    }
  }

  /**
   * efficientnet_pytorch's {@code drop_connect}: in training mode, each sample of {@code x} is zeroed with
   * probability {@code p} and the others scaled by {@code 1 / (1 - p)}; the mask is
   * {@code floor(1 - p + U[0, 1))} from libtorch's generator. Identity when not training.
   */
  public static Tensor dropConnect(Tensor x, double p, boolean training) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException("drop connect rate must be in [0, 1], got " + p);
    }
    if (!training) {
      return x;
    }
    double keep = 1 - p;
    long[] shape = new long[(int) x.dim()];
    Arrays.fill(shape, 1);
    shape[0] = x.size(0);
    Tensor mask = torch.floor(torch.rand(shape, x.options()).add(new Scalar(keep)));
    return x.div(new Scalar(keep)).mul(mask);
  }
}
