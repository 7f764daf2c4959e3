package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * {@link EfficientUNet} and {@link EfficientNetEncoder}: parity with the PyTorch reference in
 * {@code networks/efficient_unet_reference.py} (SSL4MIS's Effi_UNet over an efficientnet_pytorch-equivalent
 * EfficientNet: same keys in the same order, same parameter count, strict loading, encoder features and
 * outputs in eval mode and, without drop connect, in training mode), loading of efficientnet_pytorch
 * weight files with the first-convolution patch, and shapes, modes and gradients at small sizes.
 */
class EfficientUNetTest {

  private static final double TOLERANCE = 1e-4;

  @TempDir
  static Path tmp;
  /** The reference's printout, name -> {state-dict tensors, parameter elements}; one Python run per class. */
  private static Map<String, long[]> reference;

  private static synchronized Map<String, long[]> reference() throws IOException {
    if (reference == null) {
      reference = ReferencePrintout.run(EfficientUNetTest.class, "/networks/efficient_unet_reference.py", Duration.ofMinutes(3), tmp);
    }
    return reference;
  }

  /** Loads fixture {@code name} into {@code net} after checking keys, their order and the counts; returns its io. */
  private static Map<String, Tensor> loadFixture(String name, EfficientUNet net) throws IOException {
    return ReferencePrintout.loadFixture(reference(), tmp, name, net);
  }

  static void assertClose(Tensor expected, Tensor actual, double tolerance, String what) {
    assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), what + ": shape");
    double diff = Tensors.item(actual.sub(expected.to(actual.scalar_type())).abs().max());
    assertTrue(diff <= tolerance, what + ": max |java - python| = " + diff);
  }

  @SuppressWarnings("try")
  private static void assertEvalParity(String name, EfficientUNet net, Map<String, Tensor> io) {
    Tensor x = io.get("input");
    net.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> features = net.encoder().forward(x);
      assertEquals(net.params().encoderDepth() + 1, features.size(), name + ": encoder outputs");
      for (int k = 0; k < features.size(); k++) {
        assertClose(io.get("feature_" + k), features.get(k), TOLERANCE, name + ": encoder feature " + k);
      }
      assertClose(io.get("output"), net.forward(x), TOLERANCE, name + ": eval output");
    }
  }

  /**
   * Training mode (batch statistics, no drop connect). Batch norm over the few pixels of the deepest maps
   * amplifies rounding differences (about 1e-4 absolute on outputs of magnitude 5 here), so the tolerance
   * is 1e-4 relative to the output's largest magnitude.
   */
  @SuppressWarnings("try")
  private static void assertTrainParity(String name, EfficientUNet net, Map<String, Tensor> io) {
    net.train(true);
    Tensor expected = io.get("train_output");
    double scale = Math.max(1, Tensors.item(expected.abs().max()));
    try (NoGradGuard noGrad = new NoGradGuard()) {
      assertClose(expected, net.forward(io.get("input")), TOLERANCE * scale, name + ": training-mode output");
    }
  }

  // ---- parity ----------------------------------------------------------------------------------------

  @Test
  void efficientUnetB3MatchesTheReference() throws IOException {
    EfficientUNet net = new EfficientUNet(1, 4); // net_factory("efficient_unet", 1, 4)
    Map<String, Tensor> io = loadFixture("b3", net);
    assertEvalParity("b3", net, io);
  }

  @Test
  void b0WithScseAttentionMatchesTheReferenceInBothModes() throws IOException {
    EfficientUNet net = new EfficientUNet(EfficientUNet.Params.reference(2, 3)
        .withEncoder(EfficientNetConfig.b0().withDropConnectRate(0))
        .withAttention(EfficientUNet.AttentionType.SCSE));
    Map<String, Tensor> io = loadFixture("b0_scse", net);
    assertEvalParity("b0_scse", net, io);
    assertTrainParity("b0_scse", net, io);
  }

  @Test
  void b1AtDepth3WithCenterAndWithoutBatchNormMatchesTheReference() throws IOException {
    EfficientUNet net = new EfficientUNet(new EfficientUNet.Params(EfficientNetConfig.b1().withDropConnectRate(0), 3,
        false, new long[] {24, 16, 8}, EfficientUNet.AttentionType.NONE, true, 3, 2));
    Map<String, Tensor> io = loadFixture("b1_depth3", net);
    assertTrue(net.stateDict().containsKey("decoder.center.1.0.bias"));
    assertEvalParity("b1_depth3", net, io);
    assertTrainParity("b1_depth3", net, io);
  }

  // ---- efficientnet_pytorch weight files -------------------------------------------------------------

  @Test
  void loadEncoderWeightsReadsEfficientNetPytorchFilesAndPatchesTheStem() throws IOException {
    long[] counts = reference().get("synthetic");
    Path file = tmp.resolve("efficientnet-b3-synthetic.pth");
    Map<String, Tensor> published = Checkpoints.loadStateDict(file);
    assertEquals(counts[0], published.size());
    assertTrue(published.containsKey("_fc.weight") && !published.containsKey("_bn0.num_batches_tracked"));
    Tensor rgbStem = published.get("_conv_stem.weight");

    // in_channels = 1: every encoder tensor as SSL4MIS's get_encoder(weights=...) leaves it
    EfficientUNet grey = new EfficientUNet(1, 4);
    Map<String, Tensor> decoderBefore = copies(grey, k -> !k.startsWith("encoder."));
    StateDictLoader.Report report = grey.loadEncoderWeights(file);
    Map<String, Tensor> expected = Checkpoints.loadStateDict(tmp.resolve("loaded_in1.pth"));
    Map<String, Tensor> encoderState = grey.encoder().stateDict();
    assertEquals(List.copyOf(expected.keySet()), List.copyOf(encoderState.keySet()));
    assertEquals(encoderState.size(), report.loaded());
    expected.forEach((k, v) -> assertClose(v, encoderState.get(k), 1e-6, "in_channels=1 " + k));
    assertClose(rgbStem.sum(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional()),
        encoderState.get("_conv_stem.weight"), 1e-6, "summed stem");
    decoderBefore.forEach((k, v) -> assertClose(v, grey.stateDict().get(k), 0, "decoder untouched: " + k));
    assertEquals(0, Tensors.item(encoderState.get("_bn0.num_batches_tracked")));
    // the head (unused by the encoder) is loaded too
    assertClose(published.get("_conv_head.weight"), encoderState.get("_conv_head.weight"), 0, "head");

    // in_channels = 2: the first two channels times 3/2
    EfficientUNet two = new EfficientUNet(2, 4);
    two.loadEncoderWeights(file);
    Tensor stem2 = Checkpoints.loadStateDict(tmp.resolve("loaded_in2.pth")).get("_conv_stem.weight");
    assertClose(stem2, two.encoder().stateDict().get("_conv_stem.weight"), 1e-6, "in_channels=2 stem");

    // in_channels = 3: unchanged
    EfficientUNet rgb = new EfficientUNet(3, 4);
    rgb.loadEncoderWeights(file);
    assertClose(rgbStem, rgb.encoder().stateDict().get("_conv_stem.weight"), 0, "in_channels=3 stem");

    // in_channels = 4: the stem is re-initialised (shape [40, 4, 3, 3]), everything else loaded
    NativeRuntime.seed(3);
    EfficientUNet four = new EfficientUNet(4, 4);
    four.loadEncoderWeights(file);
    Map<String, Tensor> s4 = four.encoder().stateDict();
    Tensor stem4 = s4.get("_conv_stem.weight");
    assertArrayEquals(new long[] {40, 4, 3, 3}, Tensors.shape(stem4));
    double bound = 1 / Math.sqrt(4 * 9); // kaiming-uniform, a = sqrt(5): 1 / sqrt(fan_in)
    assertTrue(Tensors.item(stem4.abs().max()) <= bound + 1e-7);
    assertTrue(Tensors.item(stem4.std()) > bound / 3, "a fresh uniform draw");
    assertClose(published.get("_blocks.25._bn2.running_var"), s4.get("_blocks.25._bn2.running_var"), 0, "in=4 blocks");

    // a stem saved with the target channels (a patched encoder's own state dict) loads as it is
    EfficientUNet again = new EfficientUNet(1, 4);
    Map<String, Tensor> own = new LinkedHashMap<>(expected);
    again.encoder().loadPretrained(own);
    assertClose(expected.get("_conv_stem.weight"), again.encoder().stateDict().get("_conv_stem.weight"), 0, "own");
  }

  @Test
  void wrongWeightFilesAreRejectedWithEveryProblemListed() throws IOException {
    reference();
    Path file = tmp.resolve("efficientnet-b3-synthetic.pth");
    EfficientUNet b0 = new EfficientUNet(EfficientUNet.Params.reference(1, 2).withEncoder(EfficientNetConfig.b0()));
    var e = assertThrows(StateDictLoader.StateDictMismatchException.class, () -> b0.loadEncoderWeights(file));
    assertTrue(e.getMessage().contains("efficientnet-b0"), e.getMessage());
    assertFalse(e.unexpectedKeys().isEmpty(), "b3 has more blocks than b0");
    assertFalse(e.mismatches().isEmpty(), "b3 is wider than b0");

    Map<String, Tensor> weights = Checkpoints.loadStateDict(file);
    weights.remove("_blocks.3._se_reduce.bias");
    weights.put("_blocks.99._bn1.weight", torch.ones(3));
    EfficientUNet b3 = new EfficientUNet(1, 2);
    var e2 = assertThrows(StateDictLoader.StateDictMismatchException.class, () -> b3.encoder().loadPretrained(weights));
    assertEquals(List.of("_blocks.3._se_reduce.bias"), e2.missingKeys());
    assertEquals(List.of("_blocks.99._bn1.weight"), e2.unexpectedKeys());
  }

  // ---- structure -------------------------------------------------------------------------------------

  @Test
  void b3HasTheReferenceStagesTapsAndPadding() {
    EfficientUNet net = new EfficientUNet(1, 4);
    EfficientNetEncoder enc = net.encoder();
    assertArrayEquals(new long[] {1, 40, 32, 48, 136, 384}, enc.outChannels(), "SSL4MIS's out_channels for b3");
    assertArrayEquals(new int[] {5, 8, 18, 26}, enc.stageIdxs());
    assertEquals(26, enc.blocks().size());
    assertEquals(EfficientNetConfig.b3().blockCount(), enc.blocks().size());
    // static "same" padding for 300x300: 150 (even) -> (0, 1), 75 (odd, k5) -> (2, 2), 38 -> (0, 1), 19 -> (2, 2)
    var even3 = new EfficientNetEncoder.Padding(0, 1, 0, 1);
    assertEquals(even3, EfficientNetEncoder.Padding.staticSame(300, 3, 2), "stem");
    assertEquals(even3, enc.blocks().get(2).depthwisePadding());
    assertEquals(new EfficientNetEncoder.Padding(2, 2, 2, 2), enc.blocks().get(5).depthwisePadding());
    assertEquals(even3, enc.blocks().get(8).depthwisePadding());
    assertEquals(new EfficientNetEncoder.Padding(2, 2, 2, 2), enc.blocks().get(18).depthwisePadding());
    assertEquals(new EfficientNetEncoder.Padding(1, 1, 1, 1), enc.blocks().get(3).depthwisePadding(), "stride 1, k3");
    // b0 at 224: the 5x5 stride-2 convolutions see 56 and 14 -> (1, 2)
    assertEquals(new EfficientNetEncoder.Padding(1, 2, 1, 2), EfficientNetEncoder.Padding.staticSame(56, 5, 2));
    // residuals on the repeated blocks only
    List<Integer> residual = new ArrayList<>();
    for (int i = 0; i < 26; i++) {
      if (enc.blocks().get(i).hasResidual()) {
        residual.add(i);
      }
    }
    assertEquals(List.of(1, 3, 4, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 23, 25), residual);
    var b0 = enc.blocks().get(0);
    assertFalse(net.stateDict().containsKey("encoder._blocks.0._expand_conv.weight"), "expansion 1: no expand conv");
    assertArrayEquals(new long[] {10, 40, 1, 1}, Tensors.shape(net.stateDict().get("encoder._blocks.0._se_reduce.weight")),
        "se channels max(1, int(40 * 0.25))");
    assertEquals(24, b0.outputChannels());
    // the momentum and eps of every encoder batch norm
    assertEquals(0.01, EfficientNetConfig.b3().torchBatchNormMomentum(), 1e-12);
    assertEquals(1e-3, enc.bn0.options().eps().get(), 0);
    assertEquals(1 - 0.99, enc.blocks().get(7).bn1.options().momentum().get(), 0);
    // keys: the encoder's own layout, the head kept, no classifier of its own
    List<String> keys = List.copyOf(net.stateDict().keySet());
    assertEquals("encoder._conv_stem.weight", keys.get(0));
    assertTrue(keys.contains("encoder._conv_head.weight") && keys.contains("encoder._bn1.running_var"));
    assertTrue(keys.stream().noneMatch(k -> k.contains("_fc")));
    assertEquals(List.of("classifier.weight", "classifier.bias"), keys.subList(keys.size() - 2, keys.size()));
    // printed by PyTorch 1.13 for Effi_UNet('efficientnet-b3', in_channels=1, classes=4)
    assertEquals(634, keys.size());
    assertEquals(13_158_236L, StateDict.parameterCount(net));
    assertArrayEquals(new long[] {40, 1, 3, 3}, Tensors.shape(net.stateDict().get("encoder._conv_stem.weight")));
  }

  @Test
  void variantsScaleAsEfficientNetPytorch() {
    // width rounding, repeats, stem and head of every variant
    int[][] expected = { // stem, head, blocks, stage output channels...
        {32, 1280, 16, 16, 24, 40, 80, 112, 192, 320},
        {32, 1280, 23, 16, 24, 40, 80, 112, 192, 320},
        {32, 1408, 23, 16, 24, 48, 88, 120, 208, 352},
        {40, 1536, 26, 24, 32, 48, 96, 136, 232, 384},
        {48, 1792, 32, 24, 32, 56, 112, 160, 272, 448},
        {48, 2048, 39, 24, 40, 64, 128, 176, 304, 512},
        {56, 2304, 45, 32, 40, 72, 144, 200, 344, 576},
        {64, 2560, 55, 32, 48, 80, 160, 224, 384, 640},
    };
    for (int b = 0; b < 8; b++) {
      EfficientNetConfig c = EfficientNetConfig.of("b" + b);
      assertEquals("efficientnet-b" + b, c.name());
      assertEquals(expected[b][0], c.stemChannels(), c.name() + " stem");
      assertEquals(expected[b][1], c.headChannels(), c.name() + " head");
      assertEquals(expected[b][2], c.blockCount(), c.name() + " blocks");
      List<EfficientNetConfig.StageArgs> stages = c.stages();
      for (int s = 0; s < 7; s++) {
        assertEquals(expected[b][3 + s], stages.get(s).outputFilters(), c.name() + " stage " + s);
      }
      assertTrue(c.stageIdxs().get(2) < c.blockCount());
      assertEquals(0.2, c.dropConnectRate());
    }
    assertEquals(EfficientNetConfig.b3(), EfficientNetConfig.of("efficientnet-b3"));
    assertEquals(300, EfficientNetConfig.b3().imageSize());
    assertThrows(IllegalArgumentException.class, () -> EfficientNetConfig.of("efficientnet-b9"));
    // published efficientnet_pytorch parameter counts (classifier included): encoder + _fc
    for (var v : List.of(Map.entry(EfficientNetConfig.b0(), 5_288_548L), Map.entry(EfficientNetConfig.b1(), 7_794_184L),
        Map.entry(EfficientNetConfig.b2(), 9_109_994L))) {
      EfficientNetEncoder enc = new EfficientNetEncoder(v.getKey(), 3);
      long head = v.getKey().headChannels();
      assertEquals(v.getValue(), StateDict.parameterCount(enc) + head * 1000 + 1000, v.getKey().name());
    }
  }

  // ---- shapes, modes, gradients ----------------------------------------------------------------------

  static Stream<Arguments> shapes() {
    List<Arguments> out = new ArrayList<>();
    for (boolean training : new boolean[] {true, false}) {
      out.add(Arguments.of("b3", new long[] {2, 1, 32, 32}, training));
      out.add(Arguments.of("b0-scse", new long[] {1, 3, 64, 32}, training));
      out.add(Arguments.of("b0-depth3", new long[] {2, 2, 24, 16}, training));
    }
    return out.stream();
  }

  private static EfficientUNet small(String kind, long in) {
    return switch (kind) {
      case "b3" -> new EfficientUNet(in, 3);
      case "b0-scse" -> new EfficientUNet(EfficientUNet.Params.reference(in, 2).withEncoder(EfficientNetConfig.b0())
          .withAttention(EfficientUNet.AttentionType.SCSE));
      case "b0-depth3" -> new EfficientUNet(EfficientUNet.Params.reference(in, 2).withEncoder(EfficientNetConfig.b0())
          .withDepth(3, 16, 8, 8));
      default -> throw new IllegalArgumentException(kind);
    };
  }

  @ParameterizedTest(name = "{0} {1} training={2}")
  @MethodSource("shapes")
  void outputsHaveTheInputSizeAndGradientsReachTheUsedParameters(String kind, long[] shape, boolean training) {
    NativeRuntime.seed(7);
    EfficientUNet net = small(kind, shape[1]);
    Tensor x = torch.randn(shape);
    if (!training) {
      warmUp(net, x);
    }
    net.train(training);
    Tensor out = net.forward(x);
    assertArrayEquals(new long[] {shape[0], kind.equals("b3") ? 3 : 2, shape[2], shape[3]}, Tensors.shape(out));
    assertTrue(Tensors.item(out.isfinite().all()) != 0, "finite output");
    out.mul(torch.randn_like(out)).sum().backward();
    int depth = net.params().encoderDepth();
    int lastBlockUsed = net.encoder().stageIdxs()[depth - 2] - 1;
    int decoderBlocks = depth;
    Predicate<String> used = key -> {
      if (key.startsWith("encoder._conv_head") || key.startsWith("encoder._bn1.")) {
        return false; // the classifier head, kept but not used by the encoder
      }
      if (key.startsWith("encoder._blocks.")) {
        int block = Integer.parseInt(key.split("\\.")[2]);
        return block <= lastBlockUsed;
      }
      // the last decoder block has no skip, so its attention1 is built but never applied
      return !key.startsWith("decoder.blocks." + (decoderBlocks - 1) + ".attention1.");
    };
    Map<String, Double> perLayer = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> p : StateDict.parameters(net).entrySet()) {
      Tensor grad = p.getValue().grad();
      if (!used.test(p.getKey())) {
        assertFalse(grad.defined(), p.getKey() + " is not used but got a gradient");
        continue;
      }
      assertTrue(grad.defined(), "no gradient reached " + p.getKey());
      assertTrue(Tensors.item(grad.isfinite().all()) != 0, "non-finite gradient at " + p.getKey());
      String layer = p.getKey().substring(0, p.getKey().lastIndexOf('.'));
      perLayer.merge(layer, Tensors.item(grad.abs().sum()), Double::sum);
    }
    if (!training) {
      // scSE's channel squeeze ends in a ReLU over a handful of pooled values, which may all be negative
      perLayer.forEach((layer, sum) -> assertTrue(sum > 0 || layer.contains(".cSE."), "zero gradient in " + layer));
    }
  }

  @Test
  @SuppressWarnings("try")
  void dropConnectActsInTrainingOnlyAndPerSample() {
    NativeRuntime.seed(11);
    Tensor x = torch.ones(4000, 2, 3, 3);
    Tensor y = EfficientNetEncoder.dropConnect(x, 0.25, true);
    Tensor perSample = y.reshape(4000, -1);
    Tensor min = perSample.amin(new long[] {1}, false);
    Tensor max = perSample.amax(new long[] {1}, false);
    assertEquals(0, Tensors.item(max.sub(min).abs().max()), 1e-7, "one draw per sample");
    double[] values = Tensors.toDoubles(min);
    int kept = 0;
    for (double v : values) {
      if (v != 0) {
        assertEquals(1 / 0.75, v, 1e-6, "survivors scaled by 1 / keep");
        kept++;
      }
    }
    assertEquals(0.75, kept / 4000.0, 0.03, "keep probability");
    assertSame(x, EfficientNetEncoder.dropConnect(x, 0.25, false), "identity in eval mode");
    assertThrows(IllegalArgumentException.class, () -> EfficientNetEncoder.dropConnect(x, 1.5, true));

    // a whole network: training-mode outputs depend on the seed only through drop connect
    EfficientUNet net = new EfficientUNet(EfficientUNet.Params.reference(1, 2).withEncoder(EfficientNetConfig.b0()));
    Tensor in = torch.randn(4, 1, 32, 32);
    net.train(true);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      NativeRuntime.seed(1);
      Tensor a = net.forward(in);
      NativeRuntime.seed(1);
      Tensor b = net.forward(in);
      NativeRuntime.seed(2);
      Tensor c = net.forward(in);
      assertEquals(0, Tensors.item(a.sub(b).abs().max()), 0, "same seed, same drop-connect masks");
      assertTrue(Tensors.item(a.sub(c).abs().max()) > 0, "another seed drops other blocks");
      net.eval();
      assertEquals(0, Tensors.item(net.forward(in).sub(net.forward(in)).abs().max()), 0, "eval is deterministic");
    }
  }

  @Test
  void factoryOptionsAndInvalidInputs() throws IOException {
    EfficientUNet byDefault = EfficientUNet.create(1, 4, Networks.Options.defaults());
    assertEquals(EfficientUNet.Params.reference(1, 4), byDefault.params());
    EfficientUNet custom = EfficientUNet.create(2, 3, Networks.Options.of("encoder_name", "efficientnet-b0",
        "decoder_attention_type", "scse", "encoder_depth", "4", "decoder_channels", "64,32,16,16"));
    assertEquals(EfficientNetConfig.b0(), custom.params().encoder());
    assertEquals(EfficientUNet.AttentionType.SCSE, custom.params().attention());
    assertArrayEquals(new long[] {64, 32, 16, 16}, custom.params().decoderChannels());
    assertArrayEquals(new long[] {2, 3, 32, 48}, Tensors.shape(custom.forward(torch.randn(2, 2, 32, 48))));
    reference();
    EfficientUNet loaded = EfficientUNet.create(1, 2, Networks.Options.of("encoder_weights",
        tmp.resolve("efficientnet-b3-synthetic.pth").toString()));
    Tensor expectedStem = Checkpoints.loadStateDict(tmp.resolve("loaded_in1.pth")).get("_conv_stem.weight");
    assertClose(expectedStem, loaded.encoder().stateDict().get("_conv_stem.weight"), 1e-6, "factory-loaded stem");
    var imagenet = assertThrows(IllegalArgumentException.class,
        () -> EfficientUNet.create(1, 2, Networks.Options.of("encoder_weights", "imagenet")));
    assertTrue(imagenet.getMessage().contains("path"), imagenet.getMessage());
    assertThrows(IllegalArgumentException.class, () -> EfficientUNet.create(1, 2, Networks.Options.of("bilinear", "true")));

    EfficientUNet net = new EfficientUNet(EfficientUNet.Params.reference(1, 2).withEncoder(EfficientNetConfig.b0()));
    var e = assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 1, 48, 32)));
    assertTrue(e.getMessage().contains("multiples of 32"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 3, 32, 32)), "channels");
    assertThrows(IllegalArgumentException.class, () -> EfficientUNet.Params.reference(1, 2).withDepth(4, 8, 8));
    assertThrows(IllegalArgumentException.class, () -> EfficientUNet.Params.reference(1, 2).withDepth(6, 8, 8, 8, 8, 8, 8));
    assertThrows(IllegalArgumentException.class, () -> new EfficientUNet(EfficientUNet.Params.reference(1, 2)
        .withEncoder(EfficientNetConfig.b0()).withDepth(3, 16, 8, 8).withAttention(EfficientUNet.AttentionType.SCSE)),
        "scSE on 8 channels has no squeezed channel");
    assertThrows(IllegalArgumentException.class, () -> EfficientUNet.AttentionType.parse("cbam"));
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  /** Running statistics for eval mode. */
  @SuppressWarnings("try")
  private static void warmUp(EfficientUNet net, Tensor x) {
    net.train(true);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (int i = 0; i < 2; i++) {
        net.forward(x.mul(Tensors.scalar(1.5, DType.FLOAT32)).add(Tensors.scalar(0.5, DType.FLOAT32)));
      }
    }
  }

  private static Map<String, Tensor> copies(EfficientUNet net, Predicate<String> keys) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    net.stateDict().forEach((k, v) -> {
      if (keys.test(k)) {
        out.put(k, v.clone());
      }
    });
    return out;
  }
}
