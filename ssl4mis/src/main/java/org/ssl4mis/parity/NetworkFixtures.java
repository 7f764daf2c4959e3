package org.ssl4mis.parity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.io.json.Json;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.AttentionUNet3D;
import org.ssl4mis.networks.ENet;
import org.ssl4mis.networks.FC3DDiscriminator;
import org.ssl4mis.networks.FCDiscriminator;
import org.ssl4mis.networks.GridAttention3D;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.networks.PNet2D;
import org.ssl4mis.networks.UNet3D;
import org.ssl4mis.networks.UNet3DDvSemi;
import org.ssl4mis.networks.UNetCCT;
import org.ssl4mis.networks.VNet;
import org.ssl4mis.networks.VoxResNet;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;

/**
 * Checks networks against fixtures written by the Python reference: a folder with {@code MANIFEST.json}
 * and, per network fixture, {@code <Name>.pth} ({@code torch.save(model.state_dict())}) and
 * {@code <Name>.io.pth} (inputs and eval outputs). For each: build the Java network from the manifest's
 * {@code constructor_args} (and {@code params_override}), load the weights strictly with the project's own
 * reader, compare the key list and element count with the file, run the inputs in eval mode, and compare
 * every recorded output within the manifest's {@code suggested_max_abs_diff}.
 *
 * <p>Nothing here is specific to one fixture set: any folder in this format, with other seeds, sizes and
 * widths, is checked the same way.
 */
public final class NetworkFixtures {
  private NetworkFixtures() {}

  /** One fixture's verdict; {@code error} is set when it could not be built or run. */
  public record Result(String name, String kind, double maxAbsDiff, double tolerance, boolean passed, String detail) {}

  /** Checks every fixture of the folder, in manifest order. Never throws for one bad fixture. */
  public static List<Result> check(Path folder) throws IOException {
    Path manifestFile = folder.resolve("MANIFEST.json");
    if (!Files.isRegularFile(manifestFile)) {
      throw new IOException(folder + ": no MANIFEST.json (not a parity fixture folder)");
    }
    Map<?, ?> manifest;
    try {
      manifest = (Map<?, ?>) Json.parseDocument(Files.readString(manifestFile));
    } catch (Json.SyntaxException | ClassCastException e) {
      throw new IOException(manifestFile + ": not a JSON object: " + e.getMessage(), e);
    }
    if (!(manifest.get("fixtures") instanceof Map<?, ?> fixtures)) {
      throw new IOException(manifestFile + ": no 'fixtures' object");
    }
    List<Result> results = new ArrayList<>();
    for (Map.Entry<?, ?> e : fixtures.entrySet()) {
      String name = String.valueOf(e.getKey());
      Map<?, ?> f = (Map<?, ?>) e.getValue();
      String kind = String.valueOf(f.get("kind"));
      if (!kind.equals("network")) {
        results.add(new Result(name, kind, Double.NaN, Double.NaN, true, "not a network fixture (this command checks networks)"));
        continue;
      }
      try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
        results.add(checkNetwork(folder, name, f));
      } catch (Exception | AssertionError err) {
        String m = err.getMessage() == null ? err.getClass().getSimpleName() : err.getMessage();
        results.add(new Result(name, kind, Double.NaN, Double.NaN, false, "cannot check: " + firstLine(m)));
      }
    }
    return results;
  }

  private static Result checkNetwork(Path folder, String name, Map<?, ?> f) throws IOException {
    Map<?, ?> files = (Map<?, ?>) f.get("files");
    Path weightsFile = folder.resolve(fileOf(files, "state_dict", name + ".pth"));
    Path ioFile = folder.resolve(fileOf(files, "io", name + ".io.pth"));
    String className = String.valueOf(f.get("class"));
    Map<?, ?> args = f.get("constructor_args") instanceof Map<?, ?> m ? m : Map.of();
    Map<?, ?> override = f.get("params_override") instanceof Map<?, ?> m ? m : Map.of();
    Built built = build(className, new Args(name, args), override);

    Map<String, Tensor> weights = Checkpoints.loadStateDict(weightsFile);
    List<String> ours = List.copyOf(StateDict.of(built.module()).keySet());
    if (!ours.equals(List.copyOf(weights.keySet()))) {
      return new Result(name, "network", Double.NaN, Double.NaN, false,
          "state-dict keys differ from " + weightsFile.getFileName() + " (order included): first difference at "
              + firstDifference(ours, List.copyOf(weights.keySet())));
    }
    Checkpoints.loadInto(built.module(), weightsFile);
    built.module().eval();

    Object ioTree = Checkpoints.loadTree(ioFile);
    if (!(ioTree instanceof Map<?, ?> io)) {
      throw new IOException(ioFile + ": not a dict");
    }
    List<Tensor> inputs = inputs(name, (Map<?, ?>) f.get("input_keys"), io);
    Map<String, Tensor> outputs = built.forward().apply(inputs);
    double worst = 0;
    double worstTolerance = 0;
    boolean pass = true;
    StringBuilder detail = new StringBuilder();
    Map<?, ?> tolerances = f.get("suggested_max_abs_diff") instanceof Map<?, ?> m ? m : Map.of();
    for (Object key : (List<?>) f.get("output_keys")) {
      String k = String.valueOf(key);
      if (!(io.get(k) instanceof Tensor expected)) {
        throw new IOException(ioFile + ": no output '" + k + "'");
      }
      Tensor actual = outputs.get(k);
      if (actual == null) {
        throw new IllegalStateException("the Java network produced no output '" + k + "' (it has " + outputs.keySet() + ")");
      }
      if (!Arrays.equals(Tensors.shape(actual), Tensors.shape(expected))) {
        pass = false;
        detail.append(k).append(": shape ").append(Arrays.toString(Tensors.shape(actual))).append(" vs ")
            .append(Arrays.toString(Tensors.shape(expected))).append("; ");
        continue;
      }
      double diff = Tensors.item(actual.sub(expected).abs().max());
      double tol = tolerances.get(k) instanceof Number n ? n.doubleValue() : 1e-5;
      if (!(diff <= tol)) {
        pass = false;
        detail.append(k).append(": ").append(diff).append(" > ").append(tol).append("; ");
      }
      if (diff > worst || Double.isNaN(diff)) {
        worst = diff;
      }
      worstTolerance = Math.max(worstTolerance, tol);
    }
    long elements = StateDict.of(built.module()).values().stream().mapToLong(Tensor::numel).sum();
    if (f.get("state_dict") instanceof Map<?, ?> sd && sd.get("num_elements") instanceof Number n
        && n.longValue() != elements) {
      pass = false;
      detail.append("state dict has ").append(elements).append(" elements, manifest says ").append(n).append("; ");
    }
    return new Result(name, "network", worst, worstTolerance, pass,
        detail.isEmpty() ? ours.size() + " tensors, " + elements + " elements" : detail.toString());
  }

  private record Built(Module module, Function<List<Tensor>, Map<String, Tensor>> forward) {}

  /** Constructor arguments by Python name, with the reference's defaults for absent ones. */
  private record Args(String fixture, Map<?, ?> values) {
    long integer(String name, Long fallback) {
      Object v = values.get(name);
      if (v == null) {
        if (fallback == null) {
          throw new IllegalArgumentException(fixture + ": constructor_args lacks '" + name + "'");
        }
        return fallback;
      }
      if (v instanceof Number n) {
        return n.longValue();
      }
      throw new IllegalArgumentException(fixture + ": constructor argument " + name + "=" + v + " is not an integer");
    }

    boolean bool(String name, boolean fallback) {
      Object v = values.get(name);
      return v == null ? fallback : (Boolean) v;
    }

    String string(String name, String fallback) {
      Object v = values.get(name);
      return v == null ? fallback : String.valueOf(v);
    }

    long[] longs(String name, long[] fallback) {
      Object v = values.get(name);
      return v == null ? fallback : ((List<?>) v).stream().mapToLong(x -> ((Number) x).longValue()).toArray();
    }
  }

  /** Builds the Java counterpart of a reference class from its Python constructor arguments. */
  private static Built build(String className, Args a, Map<?, ?> override) {
    return switch (className) {
      case "UNet", "UNet_DS", "UNet_URPC" -> {
        String factoryName = switch (className) {
          case "UNet" -> "unet";
          case "UNet_DS" -> "unet_ds";
          default -> "unet_urpc";
        };
        Networks.Network n = Networks.create(factoryName, a.integer("in_chns", null), a.integer("class_num", null),
            unetOptions(override));
        yield new Built(n.module(), in -> named(n.outputs(in.getFirst())));
      }
      case "UNet_CCT" -> {
        Networks.Network n = Networks.create("unet_cct", a.integer("in_chns", null), a.integer("class_num", null),
            unetOptions(override));
        UNetCCT cct = (UNetCCT) n.module();
        yield new Built(cct, in -> {
          List<Tensor> features = cct.encode(in.getFirst());
          Map<String, Tensor> out = new LinkedHashMap<>();
          out.put("output_0", cct.decodeMain(features));
          out.put("output", out.get("output_0"));
          for (int k = 1; k <= 3; k++) {
            out.put("aux_seg" + k + "_unperturbed", cct.auxDecoderUnperturbed(k, features));
          }
          return out;
        });
      }
      case "ENet" -> {
        ENet n = new ENet(a.integer("in_channels", null), a.integer("num_classes", null),
            a.bool("encoder_relu", false), a.bool("decoder_relu", true));
        yield new Built(n, in -> named(List.of(n.forward(in.getFirst()))));
      }
      case "PNet2D" -> {
        PNet2D n = new PNet2D(a.integer("in_chns", null), a.integer("out_chns", null), a.integer("num_filters", null),
            a.longs("ratios", null));
        yield new Built(n, in -> named(List.of(n.forward(in.getFirst()))));
      }
      case "unet_3D" -> {
        UNet3D n = new UNet3D((int) a.integer("feature_scale", 4L), a.integer("n_classes", 21L), a.bool("is_deconv", true),
            a.integer("in_channels", 3L), a.bool("is_batchnorm", true));
        yield new Built(n, in -> named(List.of(n.forward(in.getFirst()))));
      }
      case "unet_3D_dv_semi" -> {
        UNet3DDvSemi n = new UNet3DDvSemi((int) a.integer("feature_scale", 4L), a.integer("n_classes", 21L),
            a.bool("is_deconv", true), a.integer("in_channels", 3L), a.bool("is_batchnorm", true));
        yield new Built(n, in -> named(n.forward(in.getFirst())));
      }
      case "Attention_UNet" -> {
        AttentionUNet3D n = new AttentionUNet3D((int) a.integer("feature_scale", 4L), a.integer("n_classes", 21L),
            a.bool("is_deconv", true), a.integer("in_channels", 3L),
            GridAttention3D.Mode.parse(a.string("nonlocal_mode", "concatenation")),
            a.longs("attention_dsample", new long[] {2, 2, 2}), a.bool("is_batchnorm", true));
        yield new Built(n, in -> named(List.of(n.forward(in.getFirst()))));
      }
      case "VoxResNet" -> {
        VoxResNet n = new VoxResNet(a.integer("in_chns", 1L), a.integer("feature_chns", 64L), a.integer("class_num", 2L));
        yield new Built(n, in -> named(List.of(n.forward(in.getFirst()))));
      }
      case "VNet" -> {
        VNet n = new VNet(a.integer("n_channels", 3L), a.integer("n_classes", 2L), a.integer("n_filters", 16L),
            VNet.Normalization.parse(a.string("normalization", "none")), a.bool("has_dropout", false));
        yield new Built(n, in -> named(List.of(n.forward(in.getFirst()))));
      }
      case "FCDiscriminator" -> {
        FCDiscriminator n = new FCDiscriminator(a.integer("num_classes", null), a.integer("ndf", 64L),
            a.integer("n_channel", 1L));
        yield new Built(n, in -> named(List.of(n.forward(in.get(0), in.get(1)))));
      }
      case "FC3DDiscriminator" -> {
        FC3DDiscriminator n = new FC3DDiscriminator(a.integer("num_classes", null), a.integer("ndf", 64L),
            a.integer("n_channel", 1L));
        yield new Built(n, in -> named(List.of(n.forward(in.get(0), in.get(1)))));
      }
      default -> throw new IllegalArgumentException("no Java network for reference class '" + className + "'");
    };
  }

  private static Networks.Options unetOptions(Map<?, ?> override) {
    Map<String, String> o = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : override.entrySet()) {
      String key = String.valueOf(e.getKey());
      Object v = e.getValue();
      o.put(key, v instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList()) : String.valueOf(v));
    }
    return new Networks.Options(o);
  }

  /** {@code output} for one output, {@code output_0, output_1, ...} for several (the manifest's convention). */
  private static Map<String, Tensor> named(List<Tensor> outputs) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (int i = 0; i < outputs.size(); i++) {
      m.put("output_" + i, outputs.get(i));
    }
    if (outputs.size() == 1) {
      m.put("output", outputs.getFirst());
    }
    return m;
  }

  /**
   * The forward inputs in order: {@code input}, or {@code input_0, input_1, ...}; a stored
   * {@code input_k_tile} is expanded with {@code tile.repeat(tile_reps)} (the reps are in the io file).
   */
  private static List<Tensor> inputs(String name, Map<?, ?> inputKeys, Map<?, ?> io) {
    List<Tensor> out = new ArrayList<>();
    long[] reps = io.get("tile_reps") instanceof List<?> l ? l.stream().mapToLong(x -> ((Number) x).longValue()).toArray()
        : inputKeys.get("tile_reps") instanceof List<?> l2 ? l2.stream().mapToLong(x -> ((Number) x).longValue()).toArray()
        : null;
    for (Object key : inputKeys.keySet()) {
      String k = String.valueOf(key);
      if (k.equals("tile_reps")) {
        continue;
      }
      if (!(io.get(k) instanceof Tensor t)) {
        throw new IllegalArgumentException(name + ": the io file has no tensor '" + k + "'");
      }
      if (k.endsWith("_tile")) {
        if (reps == null) {
          throw new IllegalArgumentException(name + ": '" + k + "' is a tile but no tile_reps are given");
        }
        out.add(t.repeat(reps).contiguous());
      } else {
        out.add(t);
      }
    }
    return out;
  }

  private static String fileOf(Map<?, ?> files, String role, String fallback) {
    if (files != null && files.get(role) instanceof Map<?, ?> m && m.get("file") instanceof String s) {
      return s;
    }
    return fallback;
  }

  private static String firstDifference(List<String> a, List<String> b) {
    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
      if (!a.get(i).equals(b.get(i))) {
        return "#" + i + ": Java '" + a.get(i) + "', file '" + b.get(i) + "'";
      }
    }
    return "lengths " + a.size() + " (Java) and " + b.size() + " (file)";
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

}
