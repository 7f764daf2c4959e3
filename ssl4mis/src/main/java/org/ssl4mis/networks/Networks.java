package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.Layer;

/**
 * The one network factory, by the names of SSL4MIS's {@code net_factory} (2D) and {@code net_factory_3d}
 * (3D), with the reference's defaults; options override constructor arguments by their Python names.
 *
 * <pre>{@code
 * Network net = Networks.create("unet", 1, 4);                               // net_factory("unet", 1, 4)
 * Network vnet = Networks.create("vnet", 1, 2, Options.of("n_filters", "8"));  // VNet(n_filters=8, ...)
 * }</pre>
 */
public final class Networks {
  private Networks() {}

  /** A built network: its module (for weights, train/eval, devices) and its forward as a list of outputs. */
  public record Network(String name, Module module, Function<Tensor, List<Tensor>> forwardAll) {
    /**
     * Every output in the reference's order (one element for single-output networks).
     *
     * <p>The pass runs in a memory scope of its own that lets only the outputs out: the layers' intermediate
     * tensors are released when the pass returns (autograd keeps what backward needs and frees it as backward
     * consumes it), as Python drops them with their last reference, instead of living until the caller's
     * iteration scope closes. This bounds a training step's peak memory (benchmarks/README.md).
     */
    public List<Tensor> outputs(Tensor input) {
      try (MemoryScope scope = MemoryScope.open()) {
        List<Tensor> out = forwardAll.apply(input);
        for (Tensor t : out) {
          if (t != input) {
            scope.keep(t);
          }
        }
        return out;
      }
    }

    /** The main segmentation logits: the output, or the first of several, as the reference's tests take. */
    public Tensor logits(Tensor input) {
      return outputs(input).get(0);
    }

    /** The main output as a one-tensor {@link Layer}. */
    public Layer asLayer() {
      return this::logits;
    }
  }

  /**
   * Constructor arguments by their Python names, as text ({@code "feature_chns" -> "4,8,16,32,64"},
   * {@code "normalization" -> "batchnorm"}); anything not given keeps the factory's default.
   */
  public record Options(Map<String, String> values) {
    public Options {
      values = Map.copyOf(values);
    }

    public static Options defaults() {
      return new Options(Map.of());
    }

    /** Options from name/value pairs: {@code of("n_filters", "8", "has_dropout", "false")}. */
    public static Options of(String... nameValuePairs) {
      if (nameValuePairs.length % 2 != 0) {
        throw new IllegalArgumentException("options come in name/value pairs, got " + Arrays.toString(nameValuePairs));
      }
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < nameValuePairs.length; i += 2) {
        m.put(nameValuePairs[i], nameValuePairs[i + 1]);
      }
      return new Options(m);
    }

    /** Parses {@code name=value;name=value} (lists are comma-separated: {@code feature_chns=4,8,16,32,64}). */
    public static Options parse(String text) {
      Map<String, String> m = new LinkedHashMap<>();
      if (text != null && !text.isBlank()) {
        for (String part : text.split(";")) {
          int eq = part.indexOf('=');
          if (eq <= 0) {
            throw new IllegalArgumentException("network option '" + part + "' is not name=value");
          }
          m.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
        }
      }
      return new Options(m);
    }

    String string(String name, String fallback) {
      return values.getOrDefault(name, fallback);
    }

    long integer(String name, long fallback) {
      String v = values.get(name);
      try {
        return v == null ? fallback : Long.parseLong(v.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("network option " + name + "='" + v + "' is not an integer");
      }
    }

    boolean bool(String name, boolean fallback) {
      String v = values.get(name);
      if (v == null) {
        return fallback;
      }
      return switch (v.strip().toLowerCase(Locale.ROOT)) {
        case "true", "1" -> true;
        case "false", "0" -> false;
        default -> throw new IllegalArgumentException("network option " + name + "='" + v + "' is not true or false");
      };
    }

    long[] longs(String name, long[] fallback) {
      String v = values.get(name);
      if (v == null) {
        return fallback;
      }
      try {
        return Arrays.stream(v.replace("[", "").replace("]", "").split(",")).map(String::strip)
            .mapToLong(Long::parseLong).toArray();
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("network option " + name + "='" + v + "' is not a list of integers");
      }
    }

    double[] doubles(String name, double[] fallback) {
      String v = values.get(name);
      if (v == null) {
        return fallback;
      }
      try {
        return Arrays.stream(v.replace("[", "").replace("]", "").split(",")).map(String::strip)
            .mapToDouble(Double::parseDouble).toArray();
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("network option " + name + "='" + v + "' is not a list of numbers");
      }
    }

    void requireOnly(String net, Set<String> allowed) {
      for (String k : values.keySet()) {
        if (!allowed.contains(k)) {
          throw new IllegalArgumentException("network '" + net + "' has no option '" + k + "'; its options are "
              + new TreeSet<>(allowed));
        }
      }
    }
  }

  private static final Set<String> UNET_OPTIONS = Set.of("feature_chns", "dropout", "bilinear");
  /** UNet_URPC's: the UNet's, and {@code perturbations} (false: no side-head perturbations while training). */
  private static final Set<String> URPC_OPTIONS = java.util.stream.Stream.concat(UNET_OPTIONS.stream(),
      java.util.stream.Stream.of("perturbations")).collect(java.util.stream.Collectors.toUnmodifiableSet());
  private static final Set<String> UNET3D_OPTIONS = Set.of("feature_scale", "is_deconv", "is_batchnorm");

  /** The names {@link #create} accepts, 2D then 3D. */
  public static final List<String> NAMES = List.of("unet", "enet", "unet_ds", "unet_cct", "unet_urpc", "pnet",
      "efficient_unet", "ViT_Seg", "nnUNet", "unet_pp", "attention_unet_2d", "unet_3D", "attention_unet", "voxresnet",
      "vnet", "unet_3D_dv_semi", "canet");

  /** {@link #create(String, long, long, Options)} with the reference's defaults. */
  public static Network create(String name, long inChannels, long classes) {
    return create(name, inChannels, classes, Options.defaults());
  }

  /**
   * Builds network {@code name} as SSL4MIS's factories do, with {@code options} overriding constructor
   * arguments by their Python names.
   *
   * @throws IllegalArgumentException for an unknown name (listing the valid ones) or option
   * @throws UnsupportedOperationException for reference networks not available in Java yet, saying why
   */
  public static Network create(String name, long inChannels, long classes, Options options) {
    return switch (name) {
      case "unet" -> {
        options.requireOnly(name, UNET_OPTIONS);
        UNet n = new UNet(unetParams(inChannels, classes, options));
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "unet_ds" -> {
        options.requireOnly(name, UNET_OPTIONS);
        UNetDS n = new UNetDS(unetParams(inChannels, classes, options));
        yield new Network(name, n, n::forward);
      }
      case "unet_cct" -> {
        options.requireOnly(name, UNET_OPTIONS);
        UNetCCT n = new UNetCCT(unetParams(inChannels, classes, options));
        yield new Network(name, n, n::forward);
      }
      case "unet_urpc" -> {
        options.requireOnly(name, URPC_OPTIONS);
        UNetURPC n = new UNetURPC(unetParams(inChannels, classes, options), options.bool("perturbations", true));
        yield new Network(name, n, n::forward);
      }
      case "enet" -> {
        options.requireOnly(name, Set.of("encoder_relu", "decoder_relu"));
        ENet n = new ENet(inChannels, classes, options.bool("encoder_relu", false), options.bool("decoder_relu", true));
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "pnet" -> {
        options.requireOnly(name, Set.of("num_filters", "ratios"));
        PNet2D n = new PNet2D(inChannels, classes, options.integer("num_filters", 64),
            options.longs("ratios", new long[] {1, 2, 4, 8, 16}));
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "unet_3D" -> {
        options.requireOnly(name, UNET3D_OPTIONS);
        UNet3D n = new UNet3D((int) options.integer("feature_scale", 4), classes, options.bool("is_deconv", true),
            inChannels, options.bool("is_batchnorm", true));
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "unet_3D_dv_semi" -> {
        options.requireOnly(name, UNET3D_OPTIONS);
        UNet3DDvSemi n = new UNet3DDvSemi((int) options.integer("feature_scale", 4), classes,
            options.bool("is_deconv", true), inChannels, options.bool("is_batchnorm", true));
        yield new Network(name, n, n::forward);
      }
      case "attention_unet" -> {
        options.requireOnly(name, Set.of("feature_scale"));
        AttentionUNet3D n = new AttentionUNet3D((int) options.integer("feature_scale", 4), classes, inChannels);
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "voxresnet" -> {
        options.requireOnly(name, Set.of("feature_chns"));
        VoxResNet n = new VoxResNet(inChannels, options.integer("feature_chns", 64), classes);
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "vnet" -> {
        options.requireOnly(name, Set.of("n_filters", "normalization", "has_dropout"));
        VNet n = new VNet(inChannels, classes, options.integer("n_filters", 16),
            VNet.Normalization.parse(options.string("normalization", "batchnorm")), options.bool("has_dropout", true));
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "efficient_unet" -> {
        EfficientUNet n = EfficientUNet.create(inChannels, classes, options);
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "unet_pp" -> {
        options.requireOnly(name, Set.of("feature_chns", "deep_supervision", "inference", "prune_level"));
        UNetPlusPlus n = new UNetPlusPlus(inChannels, classes, options.longs("feature_chns", UNetPlusPlus.DEFAULT_WIDTHS),
            options.bool("deep_supervision", true), UNetPlusPlus.InferenceMode.parse(
                options.string("inference", "accurate"), (int) options.integer("prune_level", UNetPlusPlus.DEPTH)));
        yield new Network(name, n, n::forward);
      }
      case "attention_unet_2d" -> {
        options.requireOnly(name, UNET_OPTIONS);
        AttentionUNet2D n = new AttentionUNet2D(unetParams(inChannels, classes, options));
        yield new Network(name, n, n::forward);
      }
      case "ViT_Seg" -> {
        SwinUNet n = SwinUNet.create(inChannels, classes, options);
        yield new Network(name, n, x -> List.of(n.forward(x)));
      }
      case "nnUNet" -> {
        // Both reference factories build the 3D Generic_UNet of initialize_network(); threeD=false gives a 2D one.
        options.requireOnly(name, Set.of("threeD", "deep_supervision"));
        GenericUNetConfig plan = GenericUNetConfig.nnUNet(options.bool("threeD", true), inChannels, classes)
            .toBuilder().deepSupervision(options.bool("deep_supervision", false)).build();
        GenericUNet n = new GenericUNet(plan);
        yield new Network(name, n, n::forward);
      }
      case "canet" -> {
        options.requireOnly(name, Set.of("n_filters", "normalization", "has_dropout", "img_size", "patch_size",
            "hidden_size", "num_heads", "mlp_dim", "num_layers", "dropout_rate", "attention_dropout_rate"));
        long filters = options.integer("n_filters", 16);
        long hidden = options.integer("hidden_size", 16 * filters);
        CANet n = new CANet(new CANet.Config(inChannels, classes, filters,
            VNet.Normalization.parse(options.string("normalization", "batchnorm")), options.bool("has_dropout", true),
            options.longs("img_size", CANet.Config.LA_PATCH), options.integer("patch_size", 1), hidden,
            options.integer("num_heads", 8), options.integer("mlp_dim", 4 * hidden),
            Math.toIntExact(options.integer("num_layers", 12)), options.doubles("dropout_rate", new double[] {0.1})[0],
            options.doubles("attention_dropout_rate", new double[] {0.0})[0]));
        // Segmentation logits first, so that Network.logits is the segmentation; CANet.forward gives [sdf, seg].
        yield new Network(name, n, x -> {
          List<Tensor> out = n.forward(x);
          return List.of(out.get(CANet.SEG), out.get(CANet.SDF));
        });
      }
      default -> throw new IllegalArgumentException("unknown network '" + name + "'; valid names: " + NAMES);
    };
  }

  private static UNetParams unetParams(long in, long classes, Options o) {
    UNetParams p = UNetParams.reference(in, classes);
    return new UNetParams(in, o.longs("feature_chns", p.featureChannels()), o.doubles("dropout", p.dropout()), classes,
        o.bool("bilinear", true));
  }
}
