package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.SwinUNetBlocks.DropPath;
import org.ssl4mis.networks.SwinUNetBlocks.SwinTransformerBlock;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link SwinUNet} (SSL4MIS's ViT_Seg) against a torch-only Python copy of the reference
 * ({@code src/test/resources/networks/swin_unet_reference.py}; the real files need timm and einops): the same
 * state-dict keys, order, dtypes and shapes (the full swin_tiny_patch4_window7_224_lite network and two small
 * ones), the same buffers, strict loading both ways and the same eval-mode outputs; plus training-mode shapes,
 * gradients and seeded repeatability of dropout and drop path. One Python process serves the whole class.
 */
class SwinUNetTest {

  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(4);
  /** float32 attention through a dozen blocks: summation order differs between the two libtorch builds. */
  private static final double TOLERANCE = 1e-4;
  private static final long TINY_PARAMETERS = 27_168_420L;

  /** The reference network, swin_tiny_patch4_window7_224_lite, at 4 classes. */
  static final SwinUNetConfig TINY = SwinUNetConfig.reference();
  /** The reference layout at a quarter of the width: window 7, shifted masks at 56, 28, 14, no shift at 7. */
  static final SwinUNetConfig SMALL_W7 = SwinUNetConfig.reference().withEmbedDim(24);
  /** Every other switch: absolute position embedding, no patch norm, no qkv bias, explicit qk scale, odd depths. */
  static final SwinUNetConfig SMALL_W4 = SwinUNetConfig.reference().withImgSize(128).withWindowSize(4)
      .withEmbedDim(24).withDepths(2, 1, 3, 2).withNumHeads(1, 2, 4, 8).withMlpRatio(2.0).withQkvBias(false)
      .withQkScale(0.25).withApe(true).withPatchNorm(false).withDropPathRate(0.3);
  /** A very small network for training-mode checks: 64x64 input, window 2. */
  static final SwinUNetConfig TRAIN = SwinUNetConfig.reference().withImgSize(64).withWindowSize(2).withEmbedDim(12)
      .withNumHeads(1, 2, 4, 8).withDropPathRate(0.0);

  record Case(String name, SwinUNetConfig config, long classes, long inChannels, long batch) {}

  static final Map<String, Case> CASES = new LinkedHashMap<>();

  static {
    for (Case c : List.of(new Case("tiny", TINY, 4, 1, 1), new Case("small_w7", SMALL_W7, 4, 1, 1),
        new Case("small_w4", SMALL_W4, 3, 3, 2), new Case("java_w4", SMALL_W4, 3, 3, 2))) {
      CASES.put(c.name(), c);
    }
  }

  /** What Python printed about one case. */
  record Printed(List<String[]> entries, long parameters, Map<String, Double> dropPaths, Map<String, String> buffers) {}

  private static final Map<String, Printed> PRINTED = new LinkedHashMap<>();
  private static Path dir;
  private static SwinUNet javaInitialised;
  private static boolean attempted;
  private static boolean ready;

  /**
   * Runs the Python reference once for the class, on first use, so that the tests that need no Python still run
   * (and the others skip, or fail on CI) where it is missing.
   */
  static synchronized void runReference() throws IOException {
    if (ready) {
      return;
    }
    PythonReference.require("torch", "numpy");
    if (attempted) {
      fail("the Python reference run failed earlier in this class: see the first test that used it");
    }
    attempted = true;
    dir = Files.createTempDirectory("swin-unet-test");
    // A network initialised by Java, for Python to load strictly and run.
    NativeRuntime.seed(11);
    javaInitialised = new SwinUNet(SMALL_W4, 3);
    Checkpoints.saveStateDict(javaInitialised, dir.resolve("java_w4.pth"));

    StringBuilder spec = new StringBuilder("{\"cases\": [");
    // layout only: Python skips the (slow) initialisation of the 27 M parameters
    spec.append(caseJson("tiny", 0, 0.0, true, "\"buffers\"", null, false)).append(", ");
    spec.append(caseJson("small_w7", 1, 0.05, false, "\"state\"", null, true)).append(", ");
    spec.append(caseJson("small_w4", 2, 0.05, false, "\"state\"", null, true)).append(", ");
    spec.append(caseJson("java_w4", 3, 0.0, false, "null", dir.resolve("java_w4.pth"), true)).append("]}");
    String out = PythonReference.runResource(SwinUNetTest.class, "/networks/swin_unet_reference.py", PYTHON_TIMEOUT,
        spec.toString(), dir.toString());
    Map<String, List<String[]>> entries = new LinkedHashMap<>();
    Map<String, Long> parameters = new LinkedHashMap<>();
    Map<String, Map<String, Double>> dropPaths = new LinkedHashMap<>();
    Map<String, Map<String, String>> buffers = new LinkedHashMap<>();
    for (String line : out.strip().split("\n")) {
      String[] f = line.split("\t", -1);
      switch (f[1]) {
        case "#params" -> parameters.put(f[0], Long.parseLong(f[2]));
        case "drop_path" -> dropPaths.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[2],
            Double.parseDouble(f[3]));
        case "buffer" -> buffers.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[2], f[3]);
        default -> {
          assertEquals(4, f.length, "unexpected line from Python: " + line);
          entries.computeIfAbsent(f[0], k -> new ArrayList<>()).add(new String[] {f[1], f[2], f[3]});
        }
      }
    }
    for (String name : CASES.keySet()) {
      PRINTED.put(name, new Printed(entries.get(name), parameters.get(name),
          dropPaths.getOrDefault(name, Map.of()), buffers.getOrDefault(name, Map.of())));
    }
    ready = true;
  }

  @AfterAll
  static void cleanUp() throws IOException {
    if (dir != null) {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  private static String caseJson(String name, int seed, double noise, boolean skipInit, String save, Path load,
      boolean forward) {
    Case c = CASES.get(name);
    return String.format(Locale.ROOT, "{\"name\": \"%s\", \"config\": %s, \"num_classes\": %d, \"in_channels\": %d,"
        + " \"batch\": %d, \"seed\": %d, \"noise\": %s, \"skip_init\": %s, \"save\": %s, \"load\": %s,"
        + " \"forward\": %s}", name, pythonConfig(c.config()), c.classes(), c.inChannels(), c.batch(), seed, noise,
        skipInit, save, load == null ? "null" : "\"" + load + "\"", forward);
  }

  /** The config as the yacs keys the Python script reads. */
  static String pythonConfig(SwinUNetConfig c) {
    return String.format(Locale.ROOT, "{\"IMG_SIZE\": %d, \"PATCH_SIZE\": %d, \"IN_CHANS\": %d, \"EMBED_DIM\": %d,"
        + " \"DEPTHS\": %s, \"DECODER_DEPTHS\": %s, \"NUM_HEADS\": %s, \"WINDOW_SIZE\": %d, \"MLP_RATIO\": %s,"
        + " \"QKV_BIAS\": %s, \"QK_SCALE\": %s, \"APE\": %s, \"PATCH_NORM\": %s, \"FINAL_UPSAMPLE\": \"%s\","
        + " \"DROP_RATE\": %s, \"DROP_PATH_RATE\": %s, \"USE_CHECKPOINT\": %s}", c.imgSize(), c.patchSize(),
        c.inChans(), c.embedDim(), Arrays.toString(c.depths()), Arrays.toString(c.decoderDepths()),
        Arrays.toString(c.numHeads()), c.windowSize(), c.mlpRatio(), c.qkvBias(),
        c.qkScale() == null ? "null" : c.qkScale().toString(), c.ape(), c.patchNorm(), c.finalUpsample(),
        c.dropRate(), c.dropPathRate(), c.useCheckpoint());
  }

  // ---- structure -----------------------------------------------------------------------------------

  /** Same keys in the same order, same dtypes and shapes, same parameter count and DropPath placement. */
  private static void assertSameLayout(String name, SwinUNet net) {
    Printed py = PRINTED.get(name);
    Map<String, Tensor> state = StateDict.of(net);
    List<String> javaKeys = List.copyOf(state.keySet());
    List<String> pythonKeys = py.entries().stream().map(e -> e[0]).toList();
    assertEquals(pythonKeys, javaKeys, name + ": state-dict keys and their order");
    for (String[] e : py.entries()) {
      Tensor t = state.get(e[0]);
      assertEquals(e[1], Tensors.dtype(t).pythonName(), name + " " + e[0] + ": dtype");
      long[] shape = e[2].isEmpty() ? new long[0] : Arrays.stream(e[2].split(",")).mapToLong(Long::parseLong).toArray();
      assertArrayEquals(shape, Tensors.shape(t), name + " " + e[0] + ": shape");
    }
    assertEquals(py.parameters(), StateDict.parameterCount(net), name + ": parameter count");
    assertEquals(py.dropPaths(), dropPaths(net), name + ": DropPath modules and their probabilities");
  }

  /** Every DropPath module of the Java network by its Python path, with its probability. */
  private static Map<String, Double> dropPaths(Module root) {
    Map<String, Double> out = new LinkedHashMap<>();
    collectDropPaths(root, "", out);
    return out;
  }

  private static void collectDropPaths(Module m, String path, Map<String, Double> out) {
    if (m instanceof DropPath d) {
      out.put(path, d.dropProb());
    }
    if (m instanceof org.ssl4mis.nn.JModule j) {
      for (var c : j.childModules().entrySet()) {
        collectDropPaths(c.getValue(), path.isEmpty() ? c.getKey() : path + "." + c.getKey(), out);
      }
    }
  }

  /** The buffers Java computes (relative position indices, shifted-window masks) are exactly Python's. */
  private static void assertSameBuffers(String name, SwinUNet net, Map<String, Tensor> python) {
    Map<String, Tensor> javaBuffers = StateDict.buffers(net);
    assertFalse(javaBuffers.isEmpty());
    int compared = 0;
    for (var e : javaBuffers.entrySet()) {
      Tensor p = python.get(e.getKey());
      assertNotNull(p, name + ": Python has no buffer " + e.getKey());
      assertEquals(Tensors.dtype(p), Tensors.dtype(e.getValue()), name + " " + e.getKey());
      assertTrue(e.getValue().equal(p), name + ": buffer " + e.getKey() + " differs from Python's");
      compared++;
    }
    assertEquals(compared, python.keySet().stream().filter(javaBuffers::containsKey).count());
  }

  @Test
  void referenceNetworkHasThePythonKeysShapesParameterCountAndBuffers() throws IOException {
    runReference();
    NativeRuntime.seed(0);
    SwinUNet net = new SwinUNet(TINY, 4);
    assertSameLayout("tiny", net);
    assertEquals(TINY_PARAMETERS, StateDict.parameterCount(net));
    assertEquals(238, StateDict.of(net).size());

    Map<String, Tensor> pythonBuffers = Checkpoints.loadStateDict(dir.resolve("tiny.buffers.pth"));
    assertEquals(pythonBuffers.keySet(), StateDict.buffers(net).keySet(), "the same buffers");
    assertSameBuffers("tiny", net, pythonBuffers);
    // the reference's 224 layout: shifted masks at 56, 28 and 14 tokens per side, none at 7
    var layers = net.swinUnet().layers();
    long[] expectedWindows = {64, 16, 4};
    for (int i = 0; i < 3; i++) {
      SwinTransformerBlock shifted = layers.get(i).blocks().get(1);
      assertEquals(3, shifted.shiftSize());
      assertArrayEquals(new long[] {expectedWindows[i], 49, 49}, Tensors.shape(shifted.attnMask));
    }
    assertEquals(0, layers.get(3).blocks().get(1).shiftSize());
    assertNull(layers.get(3).blocks().get(1).attnMask);

    // initialisation as the reference's _init_weights: truncated normal (std 0.02) linears, zero biases,
    // unit layer norms, truncated normal bias tables
    Map<String, Tensor> state = StateDict.of(net);
    Tensor qkv = state.get("swin_unet.layers.0.blocks.0.attn.qkv.weight");
    assertEquals(0.02, Tensors.item(qkv.std()), 0.002);
    Tensor expand = state.get("swin_unet.up.expand.weight");
    assertEquals(0.02, Tensors.item(expand.std()), 0.001);
    assertEquals(0.0, Tensors.item(state.get("swin_unet.layers.0.blocks.0.attn.qkv.bias").abs().max()));
    assertEquals(0.0, Tensors.item(state.get("swin_unet.concat_back_dim.1.bias").abs().max()));
    assertEquals(1.0, Tensors.item(state.get("swin_unet.norm_up.weight").min()));
    Tensor table = state.get("swin_unet.layers.1.blocks.0.attn.relative_position_bias_table");
    assertEquals(0.02, Tensors.item(table.std()), 0.005);
    assertArrayEquals(new long[] {169, 6}, Tensors.shape(table));
  }

  @ParameterizedTest
  @ValueSource(strings = {"small_w7", "small_w4"})
  void pythonWeightsLoadStrictlyAndReproduceTheEvalOutput(String name) throws IOException {
    runReference();
    Case c = CASES.get(name);
    NativeRuntime.seed(5);
    SwinUNet net = new SwinUNet(c.config(), c.classes());
    assertSameLayout(name, net);
    Path weights = dir.resolve(name + ".pth");
    assertSameBuffers(name, net, Checkpoints.loadStateDict(weights));

    StateDictLoader.Report report = Checkpoints.loadInto(net, weights);
    assertEquals(StateDict.of(net).size(), report.loaded());
    Map<String, Tensor> io = Checkpoints.loadStateDict(dir.resolve(name + ".io.pth"));
    assertArrayEquals(new long[] {c.batch(), c.inChannels(), c.config().imgSize(), c.config().imgSize()},
        Tensors.shape(io.get("input")));
    assertEvalOutput(name, net, io);
  }

  @Test
  void javaInitialisedWeightsLoadStrictlyIntoPythonAndGiveTheSameOutput() throws IOException {
    runReference();
    Printed py = PRINTED.get("java_w4");
    assertFalse(py.buffers().isEmpty());
    py.buffers().forEach((key, verdict) -> assertEquals("same", verdict, "java_w4: Python's own buffer " + key
        + " against the one Java wrote"));
    assertEquals(StateDict.buffers(javaInitialised).keySet(), py.buffers().keySet());
    assertEvalOutput("java_w4", javaInitialised, Checkpoints.loadStateDict(dir.resolve("java_w4.io.pth")));
  }

  @SuppressWarnings("try") // the guard acts while open
  private static void assertEvalOutput(String name, SwinUNet net, Map<String, Tensor> io) {
    net.eval();
    Tensor expected = io.get("output");
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor actual = net.forward(io.get("input"));
      assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), name + ": output shape");
      double maxDiff = Tensors.item(actual.sub(expected).abs().max());
      double scale = Tensors.item(expected.abs().max());
      System.out.printf(Locale.ROOT, "%s: max |java - python| = %.3g (outputs up to %.3g)%n", name, maxDiff, scale);
      assertTrue(scale > 0.1, name + ": degenerate reference output");
      assertTrue(maxDiff <= TOLERANCE, name + ": max |java - python| = " + maxDiff + " > " + TOLERANCE);
    }
  }

  // ---- training mode -------------------------------------------------------------------------------

  /** Sum of output times fixed random weights: a loss whose gradient reaches every output element. */
  private static Tensor weightedLoss(Tensor out) {
    return out.mul(torch.randn(Tensors.shape(out))).sum();
  }

  @Test
  void trainingForwardHasTheInputSizeAndEveryParameterGetsAGradient() {
    NativeRuntime.seed(21);
    SwinUNet net = new SwinUNet(TRAIN.withApe(true), 3);
    net.train(true);
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor x = torch.randn(2, 1, 64, 64);
      Tensor out = net.forward(x);
      assertArrayEquals(new long[] {2, 3, 64, 64}, Tensors.shape(out));
      weightedLoss(out).backward();
      Map<String, Tensor> params = StateDict.parameters(net);
      assertEquals(StateDict.parameterCount(net), params.values().stream().mapToLong(Tensor::numel).sum());
      for (var p : params.entrySet()) {
        Tensor g = p.getValue().grad();
        assertTrue(g.defined(), "no gradient reached " + p.getKey());
        assertTrue(Tensors.item(g.isfinite().all()) != 0, "non-finite gradient at " + p.getKey());
        assertTrue(Tensors.item(g.abs().sum()) > 0, "zero gradient at " + p.getKey());
      }
      assertTrue(params.containsKey("swin_unet.absolute_pos_embed"));
    }
  }

  @Test
  void withDropoutAndDropPathTrainingStillReachesEveryParameter() {
    NativeRuntime.seed(22);
    SwinUNet net = new SwinUNet(TRAIN.withDropRate(0.1).withAttnDropRate(0.1).withDropPathRate(0.5), 2);
    net.train(true);
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor out = net.forward(torch.randn(3, 3, 64, 64));
      assertArrayEquals(new long[] {3, 2, 64, 64}, Tensors.shape(out));
      weightedLoss(out).backward();
      for (var p : StateDict.parameters(net).entrySet()) {
        Tensor g = p.getValue().grad();
        assertTrue(g.defined(), "no gradient reached " + p.getKey());
        assertTrue(Tensors.item(g.isfinite().all()) != 0, "non-finite gradient at " + p.getKey());
      }
    }
  }

  @SuppressWarnings("try") // the guard acts while open
  @Test
  void dropoutAndDropPathAreRepeatableWithASeedAndOffInEval() {
    NativeRuntime.seed(30);
    SwinUNet net = new SwinUNet(TRAIN.withDropRate(0.1).withAttnDropRate(0.1).withDropPathRate(0.5), 2);
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor x = torch.randn(2, 1, 64, 64);
      net.train(true);
      NativeRuntime.seed(7);
      Tensor a = net.forward(x);
      NativeRuntime.seed(7);
      Tensor b = net.forward(x);
      NativeRuntime.seed(8);
      Tensor c = net.forward(x);
      assertTrue(a.equal(b), "same seed, same dropout and drop path");
      assertFalse(a.equal(c), "another seed, other masks");
      net.eval();
      Tensor e1 = net.forward(x);
      NativeRuntime.seed(9);
      Tensor e2 = net.forward(x);
      assertTrue(e1.equal(e2), "eval mode draws nothing");
      assertFalse(e1.equal(a), "training mode is stochastic");
    }
  }

  @SuppressWarnings("try") // the guard acts while open
  @Test
  void dropPathDropsWholeSamplesAndRescalesTheRest() {
    DropPath dp = new DropPath(0.25);
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor x = torch.ones(4000, 5, 3);
      dp.train(true);
      NativeRuntime.seed(3);
      Tensor y = dp.forward(x);
      float[] v = Tensors.toFloats(y);
      int dropped = 0;
      for (int s = 0; s < 4000; s++) {
        float first = v[s * 15];
        for (int k = 1; k < 15; k++) {
          assertEquals(first, v[s * 15 + k], "one decision per sample");
        }
        if (first == 0f) {
          dropped++;
        } else {
          assertEquals(1 / 0.75f, first, 1e-6f, "survivors scaled by 1 / keep");
        }
      }
      assertEquals(1000, dropped, 120, "about a quarter of the samples dropped");
      NativeRuntime.seed(3);
      assertTrue(dp.forward(x).equal(y), "repeatable with the seed");
      dp.eval();
      assertTrue(dp.forward(x).equal(x), "identity in eval mode");
    }
  }

  @SuppressWarnings("try") // the guard acts while open
  @Test
  void truncatedNormalInitialisationStaysInItsBoundsWithTheRightSpread() {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      NativeRuntime.seed(4);
      Tensor narrow = torch.empty(200_000);
      SwinUNetBlocks.truncNormal(narrow, 0.02); // bounds 100 std out: a plain normal
      assertEquals(0.02, Tensors.item(narrow.std()), 3e-4);
      assertEquals(0.0, Tensors.item(narrow.mean()), 3e-4);
      Tensor wide = torch.empty(200_000);
      SwinUNetBlocks.truncNormal(wide, 1.0); // bounds at 2 std: the inverse-CDF draw
      assertTrue(Tensors.item(wide.abs().max()) <= 2.0);
      assertEquals(0.8796, Tensors.item(wide.std()), 0.01, "std of a standard normal truncated to [-2, 2]");
    }
  }

  // ---- configuration and factory -------------------------------------------------------------------

  @Test
  void referenceConfigHoldsTheYamlValues() {
    SwinUNetConfig c = SwinUNetConfig.reference();
    assertEquals(224, c.imgSize());
    assertEquals(4, c.patchSize());
    assertEquals(3, c.inChans());
    assertEquals(96, c.embedDim());
    assertArrayEquals(new long[] {2, 2, 2, 2}, c.depths());
    assertArrayEquals(new long[] {2, 2, 2, 1}, c.decoderDepths());
    assertArrayEquals(new long[] {3, 6, 12, 24}, c.numHeads());
    assertEquals(7, c.windowSize());
    assertEquals(4.0, c.mlpRatio());
    assertTrue(c.qkvBias());
    assertNull(c.qkScale());
    assertEquals(0.0, c.dropRate());
    assertEquals(0.2, c.dropPathRate());
    assertFalse(c.ape());
    assertTrue(c.patchNorm());
    assertFalse(c.useCheckpoint());
    assertEquals("expand_first", c.finalUpsample());
    assertEquals(c, SwinUNetConfig.fromOptions(Networks.Options.defaults()));
    long[] d = c.depths();
    d[0] = 9;
    assertArrayEquals(new long[] {2, 2, 2, 2}, c.depths(), "arrays are copied");
  }

  @Test
  void factoryBuildsFromOptionsAndRejectsWhatTheReferenceCannotRun() {
    SwinUNet n = SwinUNet.create(1, 2, Networks.Options.of("img_size", "64", "window_size", "2", "embed_dim", "12",
        "num_heads", "1,2,4,8", "qk_scale", "none", "drop_path_rate", "0.1"));
    assertEquals(TRAIN.withDropPathRate(0.1), n.config());
    assertEquals(2, n.numClasses());
    assertEquals(12, SwinUNet.create(3, 2, Networks.Options.parse("embed_dim=12;img_size=64;window_size=2;"
        + "num_heads=1,2,4,8;qk_scale=0.5")).config().embedDim());

    assertThrows(IllegalArgumentException.class, () -> SwinUNet.create(2, 4, Networks.Options.defaults()),
        "2 channels: neither repeated nor in_chans");
    assertThrows(IllegalArgumentException.class, () -> SwinUNet.create(1, 4, Networks.Options.of("heads", "1")));
    IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
        () -> new SwinUNet(TRAIN.withImgSize(56), 2));
    assertTrue(odd.getMessage().contains("divisible by 8"), odd.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new SwinUNet(TRAIN.withImgSize(96).withWindowSize(5), 2),
        "resolution 24 is no multiple of window 5");
    assertThrows(IllegalArgumentException.class, () -> new SwinUNet(TRAIN.withUseCheckpoint(true), 2));
    assertThrows(IllegalArgumentException.class, () -> new SwinUNet(TRAIN.withDepths(2, 2, 2), 2));
    assertThrows(IllegalArgumentException.class, () -> TRAIN.withNumHeads(1, 2));
    assertThrows(IllegalArgumentException.class, () -> new SwinUNet(TRAIN.withFinalUpsample("none"), 2));

    SwinUNet small = new SwinUNet(TRAIN, 2);
    try (MemoryScope scope = MemoryScope.open()) {
      IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
          () -> small.forward(torch.randn(1, 1, 32, 32)));
      assertTrue(size.getMessage().contains("doesn't match model (64*64)"), size.getMessage());
    }
  }
}
