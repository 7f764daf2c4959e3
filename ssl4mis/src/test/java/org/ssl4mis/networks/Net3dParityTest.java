package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.testing.SharedData;
import org.ssl4mis.testing.TorchFiles;
import org.ssl4mis.tensor.Tensors;

/**
 * The 3D networks and the discriminators load the weights the real SSL4MIS saved ({@code shared/parity}) strictly,
 * with the same keys in the same order, and reproduce its eval-mode outputs within the manifest's tolerances.
 * Each network is built from the manifest's {@code constructor_args}, absent arguments taking the Python
 * defaults.
 */
class Net3dParityTest {

  /** Reads the manifest entries this test needs as tab-separated lines (no JSON library in the project). */
  private static final String MANIFEST_READER = """
      import json, sys
      manifest = json.load(open(sys.argv[1]))
      name = sys.argv[2]
      f = manifest['fixtures'][name]
      for k, v in f['constructor_args'].items():
          print('arg', k, json.dumps(v), sep='\\t')
      for k in f['input_keys']:
          print('input', k, json.dumps(f['input_keys'][k]), sep='\\t')
      for shape in f['forward_input_shapes']:
          print('forward_input', json.dumps(shape), sep='\t')
      for k in f['output_keys']:
          print('output', k, repr(float(f['suggested_max_abs_diff'][k])), json.dumps(f['outputs'][k]['shape']), sep='\\t')
      print('state_dict', f['state_dict']['num_tensors'], f['state_dict']['num_elements'], sep='\\t')
      """;

  /** One fixture's manifest entry. */
  record Fixture(String name, Map<String, String> args, Map<String, long[]> inputKeys, List<long[]> forwardInputShapes,
      Map<String, Double> tolerances, Map<String, long[]> outputShapes, int numTensors, long numElements) {

    static Fixture read(Path parity, String name) throws IOException {
      String out = PythonReference.run(MANIFEST_READER, Duration.ofMinutes(2),
          parity.resolve("MANIFEST.json").toString(), name);
      Map<String, String> args = new LinkedHashMap<>();
      Map<String, long[]> inputs = new LinkedHashMap<>();
      List<long[]> forwardInputs = new ArrayList<>();
      Map<String, Double> tolerances = new LinkedHashMap<>();
      Map<String, long[]> shapes = new LinkedHashMap<>();
      int tensors = -1;
      long elements = -1;
      for (String line : out.strip().split("\n")) {
        String[] f = line.split("\t");
        switch (f[0]) {
          case "arg" -> args.put(f[1], f[2]);
          case "input" -> inputs.put(f[1], longs(f[2]));
          case "forward_input" -> forwardInputs.add(longs(f[1]));
          case "output" -> {
            tolerances.put(f[1], Double.parseDouble(f[2]));
            shapes.put(f[1], longs(f[3]));
          }
          case "state_dict" -> {
            tensors = Integer.parseInt(f[1]);
            elements = Long.parseLong(f[2]);
          }
          default -> fail("unexpected manifest line: " + line);
        }
      }
      return new Fixture(name, args, inputs, forwardInputs, tolerances, shapes, tensors, elements);
    }

    long longArg(String key, long pythonDefault) {
      return args.containsKey(key) ? Long.parseLong(args.get(key)) : pythonDefault;
    }

    int intArg(String key, int pythonDefault) {
      return Math.toIntExact(longArg(key, pythonDefault));
    }

    boolean boolArg(String key, boolean pythonDefault) {
      return args.containsKey(key) ? Boolean.parseBoolean(args.get(key)) : pythonDefault;
    }

    String stringArg(String key, String pythonDefault) {
      return args.containsKey(key) ? args.get(key).replace("\"", "") : pythonDefault;
    }

    long[] longsArg(String key, long... pythonDefault) {
      return args.containsKey(key) ? longs(args.get(key)) : pythonDefault;
    }

    long requiredLong(String key) {
      assertTrue(args.containsKey(key), () -> name + ": constructor_args lacks required '" + key + "'");
      return Long.parseLong(args.get(key));
    }
  }

  /** A JSON number or list of numbers ("[2, 1, 16]" or "2") as longs. */
  static long[] longs(String json) {
    String body = json.replace("[", "").replace("]", "").strip();
    return body.isEmpty() ? new long[0] : Arrays.stream(body.split(",")).map(String::strip).mapToLong(Long::parseLong)
        .toArray();
  }

  /** A network built from its fixture, and its forward on the fixture's inputs with outputs in Python's order. */
  record Built(Module net, Function<List<Tensor>, List<Tensor>> forward) {}

  static Built build(Fixture f) {
    return switch (f.name()) {
      case "unet_3D" -> {
        UNet3D net = new UNet3D(f.intArg("feature_scale", 4), f.longArg("n_classes", 21), f.boolArg("is_deconv", true),
            f.longArg("in_channels", 3), f.boolArg("is_batchnorm", true));
        yield built(net, in -> List.of(net.forward(in.get(0))));
      }
      case "Attention_UNet" -> {
        AttentionUNet3D net = new AttentionUNet3D(f.intArg("feature_scale", 4), f.longArg("n_classes", 21),
            f.boolArg("is_deconv", true), f.longArg("in_channels", 3),
            GridAttention3D.Mode.parse(f.stringArg("nonlocal_mode", "concatenation")),
            f.longsArg("attention_dsample", 2, 2, 2), f.boolArg("is_batchnorm", true));
        yield built(net, in -> List.of(net.forward(in.get(0))));
      }
      case "unet_3D_dv_semi" -> {
        UNet3DDvSemi net = new UNet3DDvSemi(f.intArg("feature_scale", 4), f.longArg("n_classes", 21),
            f.boolArg("is_deconv", true), f.longArg("in_channels", 3), f.boolArg("is_batchnorm", true));
        yield built(net, in -> net.forward(in.get(0)));
      }
      case "VoxResNet" -> {
        VoxResNet net = new VoxResNet(f.longArg("in_chns", 1), f.longArg("feature_chns", 64), f.longArg("class_num", 2));
        yield built(net, in -> List.of(net.forward(in.get(0))));
      }
      case "VNet" -> {
        VNet net = new VNet(f.longArg("n_channels", 3), f.longArg("n_classes", 2), f.longArg("n_filters", 16),
            VNet.Normalization.parse(f.stringArg("normalization", "none")), f.boolArg("has_dropout", false));
        yield built(net, in -> List.of(net.forward(in.get(0))));
      }
      case "FCDiscriminator" -> {
        FCDiscriminator net = new FCDiscriminator(f.requiredLong("num_classes"), f.longArg("ndf", 64),
            f.longArg("n_channel", 1));
        yield built(net, in -> List.of(net.forward(in.get(0), in.get(1))));
      }
      case "FC3DDiscriminator" -> {
        FC3DDiscriminator net = new FC3DDiscriminator(f.requiredLong("num_classes"), f.longArg("ndf", 64),
            f.longArg("n_channel", 1));
        yield built(net, in -> List.of(net.forward(in.get(0), in.get(1))));
      }
      default -> throw new IllegalArgumentException("no Java network for fixture " + f.name());
    };
  }

  private static Built built(Module net, Function<List<Tensor>, List<Tensor>> forward) {
    return new Built(net, forward);
  }

  /**
   * The forward inputs in order: {@code input}, or {@code input_0, input_1, ...}. The discriminator fixtures store
   * a tile of each ({@code input_k_tile}) and the manifest gives {@code tile_reps} (a plain list, which the io
   * file holds as a Python list, not a tensor): the full input is {@code tile.repeat(reps)}.
   */
  static List<Tensor> inputs(Fixture f, Map<String, Tensor> io) {
    long[] reps = f.inputKeys().get("tile_reps");
    List<Tensor> inputs = f.inputKeys().keySet().stream().filter(k -> !k.equals("tile_reps"))
        .map(k -> reps == null ? requireKey(io, k) : requireKey(io, k).repeat(reps).contiguous()).toList();
    assertEquals(f.forwardInputShapes().size(), inputs.size(), f.name() + ": number of forward inputs");
    for (int i = 0; i < inputs.size(); i++) {
      assertArrayEquals(f.forwardInputShapes().get(i), Tensors.shape(inputs.get(i)), f.name() + ": input " + i);
    }
    return inputs;
  }

  private static Tensor requireKey(Map<String, Tensor> io, String key) {
    Tensor t = io.get(key);
    assertNotNull(t, () -> "io file lacks '" + key + "'; it has " + io.keySet());
    return t;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"unet_3D", "Attention_UNet", "unet_3D_dv_semi", "VoxResNet", "VNet", "FCDiscriminator",
      "FC3DDiscriminator"})
  @SuppressWarnings("try") // the scope and the NoGradGuard act while open; the body never names them
  void referenceWeightsLoadAndReproduceTheEvalOutputs(String name) throws Exception {
    Path parity = SharedData.parity();
    Fixture fixture = Fixture.read(parity, name);
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Map<String, Tensor> weights = TorchFiles.load(parity.resolve(name + ".pth"));
      Map<String, Tensor> io = TorchFiles.load(parity.resolve(name + ".io.pth"));
      Built built = build(fixture);
      Module net = built.net();

      Map<String, Tensor> own = StateDict.of(net);
      assertEquals(List.copyOf(weights.keySet()), List.copyOf(own.keySet()), name + ": same keys in the same order");
      assertEquals(fixture.numTensors(), own.size(), name + ": tensor count");
      long fileElements = weights.values().stream().mapToLong(Tensor::numel).sum();
      long ownElements = own.values().stream().mapToLong(Tensor::numel).sum();
      assertEquals(fixture.numElements(), fileElements, name + ": the manifest and the file agree");
      assertEquals(fileElements, ownElements, name + ": element count of parameters and buffers");
      long fileParameters = weights.entrySet().stream().filter(e -> !isBuffer(e.getKey()))
          .mapToLong(e -> e.getValue().numel()).sum();
      assertEquals(fileParameters, StateDict.parameterCount(net), name + ": parameter count");
      for (Map.Entry<String, Tensor> e : weights.entrySet()) {
        assertArrayEquals(Tensors.shape(e.getValue()), Tensors.shape(own.get(e.getKey())), name + ": " + e.getKey());
      }

      StateDictLoader.Report report = StateDictLoader.load(net, weights);
      assertEquals(fixture.numTensors(), report.loaded());
      net.eval();
      List<Tensor> outputs = built.forward().apply(inputs(fixture, io));

      List<String> outputKeys = List.copyOf(fixture.tolerances().keySet());
      assertEquals(outputKeys.size(), outputs.size(), name + ": number of outputs");
      StringBuilder diffs = new StringBuilder(name).append(':');
      for (int i = 0; i < outputs.size(); i++) {
        String key = outputKeys.get(i);
        Tensor expected = requireKey(io, key);
        Tensor actual = outputs.get(i);
        assertArrayEquals(fixture.outputShapes().get(key), Tensors.shape(actual), name + " " + key + ": shape");
        assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), name + " " + key + ": shape");
        double maxDiff = Tensors.item(actual.sub(expected).abs().max());
        double tolerance = fixture.tolerances().get(key);
        diffs.append(String.format(" %s max|java - python| = %.3g (tolerance %.3g);", key, maxDiff, tolerance));
        assertTrue(maxDiff <= tolerance, name + " " + key + ": max |java - python| = " + maxDiff + " > " + tolerance);
      }
      System.out.println(diffs);
    }
  }

  private static boolean isBuffer(String key) {
    return key.endsWith(".running_mean") || key.endsWith(".running_var") || key.endsWith(".num_batches_tracked");
  }
}
