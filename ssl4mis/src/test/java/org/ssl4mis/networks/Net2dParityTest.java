package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.testing.SharedData;
import org.ssl4mis.testing.TorchFiles;

/**
 * SSL4MIS's own UNet_DS, UNet_URPC, UNet_CCT, ENet and PNet2D weights (fixtures written by the real
 * reference, see {@code shared/parity/MANIFEST.json}) load strictly into the Java networks, with the same
 * keys in the same order, and reproduce every recorded eval-mode output within the manifest's tolerance.
 */
class Net2dParityTest {

  /** What the manifest says about one network fixture. */
  record Fixture(String name, Map<String, String> args, Map<String, String> overrides, List<String> inputs,
      Map<String, Double> tolerances, int numTensors, long numElements) {

    long arg(String key) {
      String v = args.get(key);
      assertNotNull(v, name + ": constructor argument '" + key + "' missing from the manifest");
      return Long.parseLong(v);
    }

    boolean flag(String key, boolean fallback) {
      String v = args.get(key);
      return v == null ? fallback : Boolean.parseBoolean(v.toLowerCase(Locale.ROOT));
    }
  }

  // Prints one tab-separated line per fact, so that Java needs no JSON parser.
  private static final String READ_MANIFEST = """
      import json, sys
      manifest = json.load(open(sys.argv[1]))
      def text(v):
          if isinstance(v, list):
              return ','.join(str(x) for x in v)
          return json.dumps(v) if isinstance(v, bool) else str(v)
      for name in sys.argv[2:]:
          f = manifest['fixtures'][name]
          for k, v in f['constructor_args'].items():
              print(name, 'arg', k, text(v), sep='\\t')
          for k, v in (f['params_override'] or {}).items():
              print(name, 'override', k, text(v), sep='\\t')
          for k in f['input_keys']:
              print(name, 'input', k, sep='\\t')
          for k in f['output_keys']:
              print(name, 'output', k, repr(f['suggested_max_abs_diff'][k]), sep='\\t')
          print(name, 'state_dict', f['state_dict']['num_tensors'], f['state_dict']['num_elements'], sep='\\t')
      """;

  private static final List<String> NAMES = List.of("UNet_DS", "UNet_URPC", "UNet_CCT", "ENet", "PNet2D");
  private static final Set<String> BUFFER_NAMES = Set.of("running_mean", "running_var", "num_batches_tracked");
  private static final Map<String, Map<String, Tensor>> LOADED = new HashMap<>();
  private static Map<String, Fixture> fixtures;
  private static Path parity;

  /** A fixture file's tensors, read once per class run (each read starts a Python process). */
  private static synchronized Map<String, Tensor> load(String file) throws IOException {
    Map<String, Tensor> cached = LOADED.get(file);
    if (cached == null) {
      cached = TorchFiles.load(parity.resolve(file));
      LOADED.put(file, cached);
    }
    return cached;
  }

  @BeforeAll
  static void readManifest() throws Exception {
    parity = SharedData.parity();
    List<String> args = new ArrayList<>();
    args.add(parity.resolve("MANIFEST.json").toString());
    args.addAll(NAMES);
    String lines = PythonReference.run(READ_MANIFEST, Duration.ofMinutes(1), args.toArray(String[]::new));
    Map<String, Map<String, String>> ctor = new LinkedHashMap<>();
    Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
    Map<String, List<String>> inputs = new LinkedHashMap<>();
    Map<String, Map<String, Double>> tolerances = new LinkedHashMap<>();
    Map<String, long[]> stateDict = new LinkedHashMap<>();
    for (String line : lines.strip().split("\n")) {
      String[] f = line.split("\t", -1);
      String name = f[0];
      switch (f[1]) {
        case "arg" -> ctor.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(f[2], f[3]);
        case "override" -> overrides.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(f[2], f[3]);
        case "input" -> inputs.computeIfAbsent(name, k -> new ArrayList<>()).add(f[2]);
        case "output" -> tolerances.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(f[2], Double.parseDouble(f[3]));
        case "state_dict" -> stateDict.put(name, new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])});
        default -> fail("unexpected manifest line: " + line);
      }
    }
    fixtures = new LinkedHashMap<>();
    for (String name : NAMES) {
      fixtures.put(name, new Fixture(name, ctor.getOrDefault(name, Map.of()), overrides.getOrDefault(name, Map.of()),
          inputs.getOrDefault(name, List.of()), tolerances.getOrDefault(name, Map.of()),
          (int) stateDict.get(name)[0], stateDict.get(name)[1]));
    }
  }

  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  @ParameterizedTest
  @ValueSource(strings = {"UNet_DS", "UNet_URPC", "UNet_CCT", "ENet", "PNet2D"})
  void referenceWeightsLoadAndReproduceEveryOutput(String name) throws Exception {
    Fixture fixture = fixtures.get(name);
    Map<String, Tensor> weights = load(name + ".pth");
    Map<String, Tensor> io = load(name + ".io.pth");
    Module net = build(fixture);

    Map<String, Tensor> javaState = StateDict.of(net);
    assertEquals(List.copyOf(weights.keySet()), List.copyOf(javaState.keySet()), name + ": same keys in the same order");
    assertEquals(fixture.numTensors(), javaState.size(), name + ": state-dict size in the manifest");
    long elements = javaState.values().stream().mapToLong(Tensor::numel).sum();
    assertEquals(fixture.numElements(), elements, name + ": state-dict elements in the manifest");
    long checkpointParameters = weights.entrySet().stream()
        .filter(e -> !BUFFER_NAMES.contains(e.getKey().substring(e.getKey().lastIndexOf('.') + 1)))
        .mapToLong(e -> e.getValue().numel()).sum();
    assertEquals(checkpointParameters, StateDict.parameterCount(net), name + ": parameter count");

    StateDictLoader.Report report = StateDictLoader.load(net, weights);
    assertEquals(fixture.numTensors(), report.loaded());
    net.eval();

    assertEquals(List.of("input"), fixture.inputs(), name + ": one input");
    Map<String, Tensor> outputs;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      outputs = run(net, io.get("input"));
    }
    assertEquals(fixture.tolerances().keySet(), outputs.keySet(), name + ": recorded outputs");
    StringBuilder diffs = new StringBuilder(name + " max |java - python|:");
    for (var e : fixture.tolerances().entrySet()) {
      Tensor expected = io.get(e.getKey());
      Tensor actual = outputs.get(e.getKey());
      assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), name + " " + e.getKey() + ": shape");
      double maxDiff = Tensors.item(actual.sub(expected).abs().max());
      diffs.append(' ').append(e.getKey()).append('=').append(maxDiff);
      assertTrue(maxDiff <= e.getValue(), name + " " + e.getKey() + ": max |java - python| = " + maxDiff
          + " > " + e.getValue());
    }
    System.out.println(diffs);
  }

  /** UNet_CCT with eval-mode perturbation switched off gives the unperturbed auxiliary outputs from forward. */
  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  @Test
  void cctWithoutEvalPerturbationForwardsTheRecordedAuxiliaryOutputs() throws Exception {
    Fixture fixture = fixtures.get("UNet_CCT");
    Map<String, Tensor> io = load("UNet_CCT.io.pth");
    UNetCCT net = (UNetCCT) build(fixture);
    StateDictLoader.load(net, load("UNet_CCT.pth"));
    net.eval();
    net.perturbAuxInEval(false);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> out = net.forward(io.get("input"));
      List<String> keys = List.of("output_0", "aux_seg1_unperturbed", "aux_seg2_unperturbed", "aux_seg3_unperturbed");
      for (int i = 0; i < 4; i++) {
        double maxDiff = Tensors.item(out.get(i).sub(io.get(keys.get(i))).abs().max());
        assertTrue(maxDiff <= fixture.tolerances().get(keys.get(i)), keys.get(i) + ": " + maxDiff);
      }
    }
  }

  /** The Java network the fixture describes: its constructor arguments and {@code params} overrides. */
  static Module build(Fixture f) {
    return switch (f.name()) {
      case "UNet_DS" -> new UNetDS(unetParams(f));
      case "UNet_URPC" -> new UNetURPC(unetParams(f));
      case "UNet_CCT" -> new UNetCCT(unetParams(f));
      case "ENet" -> new ENet(f.arg("in_channels"), f.arg("num_classes"), f.flag("encoder_relu", false),
          f.flag("decoder_relu", true));
      case "PNet2D" -> new PNet2D(f.arg("in_chns"), f.arg("out_chns"), f.arg("num_filters"),
          Arrays.stream(f.args().get("ratios").split(",")).mapToLong(Long::parseLong).toArray());
      default -> throw new IllegalArgumentException(f.name());
    };
  }

  private static UNetParams unetParams(Fixture f) {
    UNetParams p = UNetParams.reference(f.arg("in_chns"), f.arg("class_num"));
    for (var e : f.overrides().entrySet()) {
      String[] values = e.getValue().split(",");
      p = switch (e.getKey()) {
        case "feature_chns" -> p.withFeatureChannels(Arrays.stream(values).mapToLong(Long::parseLong).toArray());
        case "dropout" -> p.withDropout(Arrays.stream(values).mapToDouble(Double::parseDouble).toArray());
        default -> throw new IllegalArgumentException(f.name() + ": no Java counterpart for params override " + e.getKey());
      };
    }
    return p;
  }

  /** The outputs under the manifest's key names. */
  private static Map<String, Tensor> run(Module net, Tensor input) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    switch (net) {
      case UNetDS ds -> putIndexed(out, ds.forward(input));
      case UNetURPC urpc -> putIndexed(out, urpc.forward(input));
      case UNetCCT cct -> {
        // only main_seg is deterministic; the fixture checks the aux decoders on clean encoder features
        out.put("output_0", cct.forward(input).get(0));
        List<Tensor> features = cct.encode(input);
        for (int k = 1; k <= 3; k++) {
          out.put("aux_seg" + k + "_unperturbed", cct.auxDecoderUnperturbed(k, features));
        }
      }
      case ENet enet -> out.put("output", enet.forward(input));
      case PNet2D pnet -> out.put("output", pnet.forward(input));
      default -> throw new IllegalArgumentException(net.getClass().getName());
    }
    return out;
  }

  private static void putIndexed(Map<String, Tensor> out, List<Tensor> outputs) {
    for (int i = 0; i < outputs.size(); i++) {
      out.put("output_" + i, outputs.get(i));
    }
  }
}
