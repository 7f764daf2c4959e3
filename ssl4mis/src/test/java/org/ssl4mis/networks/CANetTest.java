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
import org.bytedeco.pytorch.DropoutImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.CANet.Config;
import org.ssl4mis.networks.VNet.Normalization;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link CANet}, {@link CANetTransformer} and {@link SEDiscriminator3D}: parity with the Python reference modules
 * of {@code networks/canet_reference.py} (seeded weights with warmed-up batch norms, loaded strictly, eval outputs
 * within {@link #TOLERANCE}), and, without Python, shapes at the LA patch size, gradients, dropout behaviour and
 * input errors. One Python process for the whole class.
 */
class CANetTest {

  /** Largest accepted |java - python| of any output element (float32 throughout). */
  static final double TOLERANCE = 1e-5;

  @TempDir
  static Path fixtureDir;

  /** What the reference script printed for one network. */
  record Reference(long parameters, int tensors, List<long[]> outputShapes, Map<String, Integer> metadata) {}

  private static Map<String, Reference> references;

  /** Runs the reference script once per class and parses its summary lines. */
  private static synchronized Map<String, Reference> references() throws IOException {
    if (references != null) {
      return references;
    }
    String out = PythonReference.runResource(CANetTest.class, "/networks/canet_reference.py", Duration.ofMinutes(3),
        fixtureDir.toString());
    Map<String, long[]> counts = new LinkedHashMap<>();
    Map<String, List<long[]>> shapes = new LinkedHashMap<>();
    Map<String, Map<String, Integer>> meta = new LinkedHashMap<>();
    for (String line : out.strip().split("\n")) {
      String[] f = line.split("\t", -1);
      switch (f[0]) {
        case "net" -> {
          counts.put(f[1], new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])});
          shapes.put(f[1], Arrays.stream(f[4].split(";"))
              .map(s -> Arrays.stream(s.split(",")).mapToLong(Long::parseLong).toArray()).toList());
        }
        case "meta" -> meta.computeIfAbsent(f[1], k -> new LinkedHashMap<>()).put(f[2], Integer.parseInt(f[3]));
        default -> fail("unexpected line from the reference script: " + line);
      }
    }
    Map<String, Reference> refs = new LinkedHashMap<>();
    counts.forEach((name, c) -> refs.put(name, new Reference(c[0], Math.toIntExact(c[1]), shapes.get(name),
        meta.get(name))));
    references = refs;
    return refs;
  }

  /** A Java network and its forward with the outputs in the reference's order. */
  record Built(Module net, Function<List<Tensor>, List<Tensor>> forward) {}

  /** The same constructor arguments as the script's fixtures. */
  static Built build(String name) {
    return switch (name) {
      case "canet_depth2" -> canet(Config.of(1, 2).withFilters(4).withImgSize(1, 48, 48, 32)
          .withTransformer(32, 4, 64, 2));
      case "canet_depth12" -> canet(Config.of(1, 2).withFilters(4).withImgSize(1, 32, 32, 16)
          .withTransformer(32, 4, 64, 12));
      case "canet_patch2" -> canet(new Config(2, 3, 4, Normalization.NONE, false, new long[] {64, 64, 32}, 2,
          64, 2, 48, 2, 0.1, 0.0));
      case "sedisc_la" -> {
        SEDiscriminator3D d = new SEDiscriminator3D(2, 4, 1, 16, 1);
        yield new Built(d, in -> List.of(d.forward(in.get(0), in.get(1))));
      }
      case "sedisc_two" -> {
        SEDiscriminator3D d = new SEDiscriminator3D(3, 4, 1, 4, 2);
        yield new Built(d, in -> List.of(d.forward(in.get(0), in.get(1))));
      }
      default -> throw new IllegalArgumentException(name);
    };
  }

  private static Built canet(Config config) {
    CANet net = new CANet(config);
    return new Built(net, in -> net.forward(in.get(0)));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"canet_depth2", "canet_depth12", "canet_patch2", "sedisc_la", "sedisc_two"})
  @SuppressWarnings("try") // the scope and the NoGradGuard act while open; the body never names them
  void referenceWeightsLoadStrictlyAndReproduceTheEvalOutputs(String name) throws Exception {
    Reference ref = references().get(name);
    assertNotNull(ref, name + " missing from the reference script's output");
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Built built = build(name);
      Module net = built.net();
      Path weightsFile = fixtureDir.resolve(name + ".pth");
      Map<String, Tensor> weights = Checkpoints.loadStateDict(weightsFile);
      Map<String, Tensor> own = StateDict.of(net);
      assertEquals(List.copyOf(weights.keySet()), List.copyOf(own.keySet()), name + ": same keys in the same order");
      assertEquals(ref.tensors(), own.size(), name + ": state-dict tensor count");
      assertEquals(ref.parameters(), StateDict.parameterCount(net), name + ": parameter count");
      for (Map.Entry<String, Tensor> e : weights.entrySet()) {
        assertArrayEquals(Tensors.shape(e.getValue()), Tensors.shape(own.get(e.getKey())), name + ": " + e.getKey());
      }
      // the whole module tree, parameter-free modules included, as state_dict()._metadata lists it
      assertEquals(ref.metadata(), StateDict.versions(net), name + ": module paths and versions");

      StateDictLoader.Report report = Checkpoints.loadInto(net, weightsFile);
      assertEquals(ref.tensors(), report.loaded());
      net.eval();
      Map<String, Tensor> io = Checkpoints.loadStateDict(fixtureDir.resolve(name + ".io.pth"));
      List<Tensor> inputs = new ArrayList<>();
      for (int i = 0; io.containsKey("input_" + i); i++) {
        inputs.add(io.get("input_" + i));
      }
      List<Tensor> outputs = built.forward().apply(inputs);
      assertEquals(ref.outputShapes().size(), outputs.size(), name + ": number of outputs");
      StringBuilder diffs = new StringBuilder(name).append(':');
      for (int i = 0; i < outputs.size(); i++) {
        Tensor expected = io.get("output_" + i);
        Tensor actual = outputs.get(i);
        assertArrayEquals(ref.outputShapes().get(i), Tensors.shape(actual), name + " output " + i + ": shape");
        double maxDiff = Tensors.item(actual.sub(expected).abs().max());
        double scale = Tensors.item(expected.abs().max());
        diffs.append(String.format(" output_%d max|java - python| = %.3g (max |python| %.3g);", i, maxDiff, scale));
        assertTrue(maxDiff <= TOLERANCE, name + " output " + i + ": max |java - python| = " + maxDiff);
      }
      System.out.println(diffs);
    }
  }

  // ---- without Python: structure ---------------------------------------------------------------------

  @Test
  void defaultsAreTheLaConfigurationWithTwelveLayersAndNoRestoreConvolution() {
    Config c = Config.of(1, 2);
    assertArrayEquals(new long[] {112, 112, 80}, c.imgSize());
    assertArrayEquals(new long[] {7, 7, 5}, c.bottleneckGrid());
    assertEquals(12, c.numLayers());
    assertEquals(256, c.hiddenSize());
    assertEquals(c, Config.of(1, 2), "value equality despite the array component");
    assertNotEquals(c, c.withImgSize(1, 96, 96, 96));

    // a narrow model with the default depth: 12 layers, 7 x 7 x 5 = 245 tokens; hidden 16 != 16 n_filters = 32
    CANet net = new CANet(Config.of(1, 2).withFilters(2).withTransformer(16, 4, 64, 12));
    assertEquals(12, net.transformer().depth());
    assertArrayEquals(new long[] {1, 245, 16}, Tensors.shape(net.transformer().embeddings().positionEmbeddings()));
    List<String> children = List.copyOf(net.childModules().keySet());
    assertEquals(List.of("block_one", "block_one_dw", "block_two", "block_two_dw", "block_three", "block_three_dw",
        "block_four", "block_four_dw", "block_five", "transformer", "restore_conv", "block_five_up", "block_six",
        "block_six_up", "block_seven", "block_seven_up", "block_eight", "block_eight_up", "block_nine", "out_conv",
        "out_conv2", "tanh", "dropout"), children);
    List<String> keys = List.copyOf(net.stateDict().keySet());
    assertTrue(keys.containsAll(List.of("transformer.embeddings.position_embeddings",
        "transformer.embeddings.patch_embeddings.weight", "transformer.encoder.layer.11.attn.qkv.weight",
        "transformer.encoder.layer.11.ffn.fc2.bias", "transformer.encoder.encoder_norm.weight",
        "restore_conv.weight", "out_conv2.bias")), keys.toString());
    assertEquals(0.1, net.transformer().embeddings().child("dropout", DropoutImpl.class).options().p().get(), 1e-12);

    CANet wide = new CANet(Config.of(1, 2).withFilters(2).withTransformer(32, 4, 64, 1));
    assertFalse(wide.childModules().containsKey("restore_conv"), "hidden 32 = 16 n_filters: no restore convolution");
    assertFalse(wide.childModules().containsKey("upsample"), "patch size 1: no upsampling");
  }

  // ---- without Python: shapes and gradients ----------------------------------------------------------

  @BeforeEach
  void seed() {
    torch.manual_seed(20240611);
  }

  @Test
  void canetAtTheLaPatchSizeGivesBothHeadsAndGradientsReachEveryParameter() {
    // 112 x 112 x 80 with tiny widths; hidden 16 != 16 n_filters = 32, so restore_conv is on the path. The shared
    // Dropout3d is off here (the dropout test covers it) so that every training-mode gradient must be non-zero;
    // the transformer's own dropouts stay on.
    CANet net = new CANet(Config.of(1, 2).withFilters(2).withTransformer(16, 2, 32, 2).withHasDropout(false));
    assertTrue(net.childModules().containsKey("restore_conv"));
    List<Tensor> sdfRange = exercise(net, in -> net.forward(in.get(0)), List.of(shape(1, 1, 112, 112, 80)),
        List.of(shape(1, 2, 112, 112, 80), shape(1, 2, 112, 112, 80)), false);
    assertTrue(Tensors.item(sdfRange.get(CANet.SDF).abs().max()) <= 1.0, "tanh head in [-1, 1]");
  }

  @Test
  void canetWithPatchesAndWithoutRestoreConvolution() {
    // 32 x 32 x 64: a 2 x 2 x 4 bottleneck, patches of 2 -> 1 x 1 x 2 tokens, upsampled back; hidden = 16 n_filters;
    // instance norm (without normalisation, ReLUs of such narrow layers can be dead for a whole input)
    CANet net = new CANet(new Config(1, 3, 2, Normalization.INSTANCENORM, true, new long[] {32, 32, 64}, 2, 32, 4, 16,
        1, 0.1, 0.0));
    assertFalse(net.childModules().containsKey("restore_conv"));
    assertTrue(net.childModules().containsKey("upsample"));
    assertArrayEquals(new long[] {1, 1, 2}, net.transformer().tokenGrid());
    exercise(net, in -> net.forward(in.get(0)), List.of(shape(1, 1, 32, 32, 64)),
        List.of(shape(1, 3, 32, 32, 64), shape(1, 3, 32, 32, 64)));
  }

  @Test
  void transformerAloneMapsAGridToTheSameGrid() {
    CANetTransformer t = new CANetTransformer(8, new long[] {4, 6, 2}, 2, 12, 3, 24, 3, 0.0, 0.0);
    assertEquals(3, t.depth());
    exercise(t, in -> List.of(t.forward(in.get(0)), t.tokens(in.get(0))), List.of(shape(2, 8, 4, 6, 2)),
        List.of(shape(2, 12, 2, 3, 1), new long[] {2, 6, 12}));
  }

  @Test
  void seDiscriminatorGivesLogitsForAnySizeFromSixteenUp() {
    SEDiscriminator3D d = new SEDiscriminator3D(2, 4, 1, 16, 1);
    exercise(d, in -> List.of(d.forward(in.get(0), in.get(1))), List.of(shape(1, 2, 112, 112, 80),
        shape(1, 1, 112, 112, 80)), List.of(new long[] {1, 1}), false);
    for (long[] dhw : List.of(new long[] {16, 16, 16}, new long[] {17, 40, 33})) {
      exercise(d, in -> List.of(d.forward(in.get(0), in.get(1))), List.of(shape(2, 2, dhw), shape(2, 1, dhw)),
          List.of(new long[] {2, 1}));
    }
    SEDiscriminator3D two = new SEDiscriminator3D(3, 2, 2, 4, 2);
    exercise(two, in -> List.of(two.forward(in.get(0), in.get(1))), List.of(shape(1, 3, 32, 48, 16),
        shape(1, 2, 32, 48, 16)), List.of(new long[] {1, 2}));
    assertEquals(List.of("conv0.weight", "conv0.bias", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
        "conv3.weight", "conv3.bias", "conv4.weight", "conv4.bias", "se.fc.0.weight", "se.fc.2.weight",
        "classifier.weight", "classifier.bias"), List.copyOf(d.stateDict().keySet()));
    assertArrayEquals(new long[] {2, 32}, Tensors.shape(d.stateDict().get("se.fc.0.weight")), "32 / 16 = 2");
    assertArrayEquals(new long[] {1, 16}, Tensors.shape(new SEDiscriminator3D(2, 2, 1, 64, 1).stateDict()
        .get("se.fc.0.weight")), "at least one hidden unit");
  }

  @Test
  @SuppressWarnings("try") // scopes and NoGradGuards act while open; the bodies never name them
  void seBlockScalesEachChannelByAWeightInZeroOne() {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      SEDiscriminator3D.SEBlock3D se = new SEDiscriminator3D.SEBlock3D(32, 16);
      Tensor x = torch.randn(2, 32, 3, 4, 5);
      Tensor w = se.channelWeights(x);
      assertArrayEquals(new long[] {2, 32}, Tensors.shape(w));
      assertTrue(Tensors.item(w.min()) > 0 && Tensors.item(w.max()) < 1);
      Tensor expected = x.mul(w.view(2, 32, 1, 1, 1));
      assertEquals(0.0, Tensors.item(se.forward(x).sub(expected).abs().max()));
    }
  }

  // ---- without Python: dropout ---------------------------------------------------------------------------

  @Test
  @SuppressWarnings("try") // scopes and NoGradGuards act while open; the bodies never name them
  void dropoutActsInTrainingOnlyAndTurnoffDropSkipsTheSharedOne() {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor x = torch.randn(1, 1, 32, 32, 16);
      CANet net = new CANet(Config.of(1, 2).withFilters(2).withImgSize(1, 32, 32, 16).withTransformer(16, 2, 32, 1));
      net.train(true);
      assertFalse(same(net.forward(x).get(CANet.SEG), net.forward(x).get(CANet.SEG)), "training: random");
      net.eval();
      assertTrue(same(net.forward(x).get(CANet.SEG), net.forward(x).get(CANet.SEG)), "eval: deterministic");

      // with the transformer's own dropouts at 0, turnoff_drop leaves nothing random in training mode
      CANet noTransformerDropout = new CANet(Config.of(1, 2).withFilters(2).withImgSize(1, 32, 32, 16)
          .withTransformer(16, 2, 32, 1).withDropoutRates(0.0, 0.0));
      noTransformerDropout.train(true);
      assertTrue(same(noTransformerDropout.forward(x, true).get(CANet.SDF),
          noTransformerDropout.forward(x, true).get(CANet.SDF)), "turnoff_drop");
      assertTrue(noTransformerDropout.hasDropout(), "turnoff_drop restores has_dropout");
      assertFalse(same(noTransformerDropout.forward(x).get(CANet.SDF), noTransformerDropout.forward(x)
          .get(CANet.SDF)), "has_dropout: the shared Dropout3d");
      noTransformerDropout.setHasDropout(false);
      assertTrue(same(noTransformerDropout.forward(x).get(CANet.SEG), noTransformerDropout.forward(x)
          .get(CANet.SEG)));

      List<Tensor> features = noTransformerDropout.encoder(x);
      assertEquals(5, features.size());
      assertArrayEquals(shape(1, 32, 2, 2, 1), Tensors.shape(features.get(4)), "transformed bottleneck");
      assertEquals(2, noTransformerDropout.decoder(features).size());
    }
  }

  // ---- without Python: errors --------------------------------------------------------------------------

  @Test
  @SuppressWarnings("try") // the scope acts while open; the body never names it
  void wrongInputsAndConfigurationsAreRefused() {
    try (MemoryScope scope = MemoryScope.open()) {
      CANet net = new CANet(Config.of(1, 2).withFilters(2).withImgSize(1, 32, 32, 32).withTransformer(16, 2, 32, 1));
      var size = assertThrows(IllegalArgumentException.class, () -> net.forward(torch.zeros(1, 1, 32, 32, 48)));
      assertTrue(size.getMessage().contains("[32, 32, 32]") && size.getMessage().contains("img_size"),
          size.getMessage());
      var channels = assertThrows(IllegalArgumentException.class, () -> net.forward(torch.zeros(1, 2, 32, 32, 32)));
      assertTrue(channels.getMessage().contains("2 channels"), channels.getMessage());
      assertThrows(IllegalArgumentException.class, () -> net.forward(torch.zeros(1, 32, 32, 32)));

      var heads = assertThrows(IllegalArgumentException.class,
          () -> Config.of(1, 2).withTransformer(30, 4, 64, 2));
      assertTrue(heads.getMessage().contains("num_heads"), heads.getMessage());
      var img = assertThrows(IllegalArgumentException.class, () -> Config.of(1, 2).withImgSize(1, 112, 112, 72));
      assertTrue(img.getMessage().contains("multiples of 16"), img.getMessage());
      var patch = assertThrows(IllegalArgumentException.class, () -> Config.of(1, 2).withImgSize(2, 112, 112, 80));
      assertTrue(patch.getMessage().contains("32"), patch.getMessage());
      assertThrows(IllegalArgumentException.class, () -> Config.of(1, 2).withFilters(8)
          .withNormalization(Normalization.GROUPNORM));
      assertThrows(IllegalArgumentException.class, () -> Config.of(1, 2).withDropoutRates(1.5, 0));

      SEDiscriminator3D d = new SEDiscriminator3D(2, 2, 1, 16, 1);
      var small = assertThrows(IllegalArgumentException.class,
          () -> d.forward(torch.zeros(1, 2, 16, 15, 16), torch.zeros(1, 1, 16, 15, 16)));
      assertTrue(small.getMessage().contains(">= 16"), small.getMessage());
      var mismatch = assertThrows(IllegalArgumentException.class,
          () -> d.forward(torch.zeros(1, 2, 16, 16, 16), torch.zeros(2, 1, 16, 16, 16)));
      assertTrue(mismatch.getMessage().contains("same batch and spatial sizes"), mismatch.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> d.forward(torch.zeros(1, 3, 16, 16, 16), torch.zeros(1, 1, 16, 16, 16)));
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private static long[] shape(long batch, long channels, long... spatial) {
    long[] s = new long[spatial.length + 2];
    s[0] = batch;
    s[1] = channels;
    System.arraycopy(spatial, 0, s, 2, spatial.length);
    return s;
  }

  /**
   * Forward on random inputs in training and eval mode: output shapes, then backward of a random projection of all
   * outputs; every parameter gets a finite gradient, and a non-zero one in eval mode (where no dropout can cut a
   * path). Returns the eval outputs (kept past the scope).
   */
  private static List<Tensor> exercise(Module net, Function<List<Tensor>, List<Tensor>> forward,
      List<long[]> inputShapes, List<long[]> expected) {
    return exercise(net, forward, inputShapes, expected, true);
  }

  /**
   * As {@link #exercise(Module, Function, List, List)}; with {@code evalBackward} false (for the large inputs) the
   * eval pass is a forward without autograd, and the training pass checks that the gradients are non-zero.
   */
  @SuppressWarnings("try") // the scope and the NoGradGuard act while open; the body never names them
  private static List<Tensor> exercise(Module net, Function<List<Tensor>, List<Tensor>> forward,
      List<long[]> inputShapes, List<long[]> expected, boolean evalBackward) {
    List<Tensor> evalOutputs = new ArrayList<>();
    for (boolean training : new boolean[] {true, false}) {
      net.train(training);
      String mode = training ? "train" : "eval";
      boolean backward = training || evalBackward;
      try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = backward ? null : new NoGradGuard()) {
        net.zero_grad(true);
        List<Tensor> inputs = new ArrayList<>();
        for (long[] s : inputShapes) {
          inputs.add(torch.randn(s));
        }
        List<Tensor> outputs = forward.apply(inputs);
        assertEquals(expected.size(), outputs.size());
        Tensor loss = null;
        for (int i = 0; i < outputs.size(); i++) {
          Tensor out = outputs.get(i);
          assertArrayEquals(expected.get(i), Tensors.shape(out), net.getClass().getSimpleName() + " " + mode
              + ": output " + i);
          if (backward) {
            Tensor term = out.mul(torch.randn_like(out)).sum();
            loss = loss == null ? term : loss.add(term);
          }
        }
        if (backward) {
          loss.backward();
          boolean requireNonZero = !training || !evalBackward;
          for (Map.Entry<String, Tensor> p : StateDict.parameters(net).entrySet()) {
            Tensor grad = p.getValue().grad();
            String what = net.getClass().getSimpleName() + " " + mode + ": gradient of " + p.getKey();
            assertTrue(grad.defined(), what + " is missing");
            double size = Tensors.item(grad.abs().sum());
            assertTrue(Double.isFinite(size), what + " is not finite");
            if (requireNonZero) {
              assertTrue(size > 0, what + " is zero");
            }
          }
        }
        if (!training) {
          for (Tensor out : outputs) {
            evalOutputs.add(scope.keep(out.detach()));
          }
        }
      }
    }
    net.zero_grad(true);
    return evalOutputs;
  }

  private static boolean same(Tensor a, Tensor b) {
    return Tensors.item(a.sub(b).abs().max()) == 0;
  }
}
