package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssl4mis.networks.GenericUNetConfig.BasicBlock;
import org.ssl4mis.networks.GenericUNetConfig.Dropout;
import org.ssl4mis.networks.GenericUNetConfig.FinalNonlin;
import org.ssl4mis.networks.GenericUNetConfig.Nonlin;
import org.ssl4mis.networks.GenericUNetConfig.Norm;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * {@link GenericUNet} (SSL4MIS's nnUNet): parity with the PyTorch reference in
 * {@code networks/generic_unet_reference.py} for five small plans covering every constructor switch (keys
 * and their order, tensor and parameter counts, strict loading, every deep-supervision output and the main
 * output, in eval and, where deterministic, training mode), the full default 3D plan (keys, shapes,
 * 30,446,256 parameters, and one forward pass at a small input) and the 2D plan's keys; then shapes, modes
 * and gradients at several sizes, and the configuration rules.
 */
class GenericUNetTest {

  private static final double TOLERANCE = 1e-5;

  @TempDir
  static Path tmp;
  /** The reference's printout, name -> {state-dict tensors, parameter elements}; one Python run per class. */
  private static Map<String, long[]> reference;

  private static synchronized Map<String, long[]> reference() throws IOException {
    if (reference == null) {
      reference = ReferencePrintout.run(GenericUNetTest.class, "/networks/generic_unet_reference.py", Duration.ofMinutes(2), tmp);
    }
    return reference;
  }

  // ---- the plans the reference builds (same arguments as in the Python script) -------------------------

  private static final long[][] SMALL_POOLS = {{1, 2, 2}, {2, 2, 2}, {2, 2, 2}};
  private static final long[][] SMALL_KERNELS = {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}};

  static GenericUNetConfig nnunet3dSmall() {
    return GenericUNetConfig.nnUNet(true, 1, 3).toBuilder().baseNumFeatures(4).kernels(SMALL_POOLS, SMALL_KERNELS)
        .maxNumFeatures(16).deepSupervision(true).build();
  }

  static GenericUNetConfig nnunet2dSmall() {
    return GenericUNetConfig.nnUNet(false, 2, 2).toBuilder().baseNumFeatures(4)
        .kernels(lastTwo(SMALL_POOLS), lastTwo(SMALL_KERNELS)).deepSupervision(true).build();
  }

  /** Generic_UNet's defaults in 3D with 3 convs per stage, features x1.5, dropout everywhere, upscaled logits. */
  static GenericUNetConfig maxpoolTrilinear() {
    long[][] pools = {{2, 2, 1}, {2, 2, 2}, {1, 2, 2}};
    GenericUNetConfig d = GenericUNetConfig.defaults(2, 7, 3, 3, 3);
    return d.toBuilder().numConvPerStage(3).featMapMulOnDownscale(1.5).dropout(Dropout.channel(0.3))
        .dropoutInLocalization(true).kernels(pools, d.convKernelSizes()).upscaleLogits(true).segOutputUseBias(true)
        .build();
  }

  static GenericUNetConfig maxpoolTransposed() {
    long[][] pools = {{2, 2, 2}, {2, 1, 2}};
    GenericUNetConfig d = GenericUNetConfig.defaults(1, 5, 2, 2, 3);
    return d.toBuilder().norm(new Norm(Norm.Kind.BATCH_NORM, 1e-3, 0.3, true, true))
        .dropout(Dropout.none()).nonlin(Nonlin.leakyRelu(0.2))
        .kernels(pools, d.convKernelSizes()).convolutionalUpsampling(true).maxNumFeatures(8).build();
  }

  static GenericUNetConfig convBilinear2d() {
    return GenericUNetConfig.defaults(3, 6, 4, 3, 2).toBuilder().numConvPerStage(1).norm(Norm.instanceNorm(false))
        .dropout(Dropout.channel(0)).nonlin(Nonlin.relu()).finalNonlin(FinalNonlin.IDENTITY)
        .kernels(new long[][] {{2, 2}, {1, 2}, {2, 2}}, new long[][] {{3, 3}, {1, 3}, {3, 1}, {3, 3}})
        .upscaleLogits(true).convolutionalPooling(true).basicBlock(BasicBlock.CONV_DROPOUT_NONLIN_NORM)
        .segOutputUseBias(true).build();
  }

  static Stream<Arguments> fixtures() {
    return Stream.of(
        Arguments.of("nnunet3d", (Supplier<GenericUNetConfig>) GenericUNetTest::nnunet3dSmall),
        Arguments.of("nnunet2d", (Supplier<GenericUNetConfig>) GenericUNetTest::nnunet2dSmall),
        Arguments.of("maxpool_trilinear", (Supplier<GenericUNetConfig>) GenericUNetTest::maxpoolTrilinear),
        Arguments.of("maxpool_transposed", (Supplier<GenericUNetConfig>) GenericUNetTest::maxpoolTransposed),
        Arguments.of("conv_bilinear_2d", (Supplier<GenericUNetConfig>) GenericUNetTest::convBilinear2d));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  @SuppressWarnings("try")
  void matchesTheReference(String name, Supplier<GenericUNetConfig> plan) throws IOException {
    GenericUNet net = new GenericUNet(plan.get());
    Map<String, Tensor> io = loadFixture(name, net);
    Tensor x = io.get("input");
    int numPool = net.config().numPool();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (String mode : new String[] {"eval_", "train_"}) {
        if (!io.containsKey(mode + "out")) {
          continue;
        }
        net.train(mode.equals("train_"));
        net.setDoDs(true);
        List<Tensor> ds = net.forward(x);
        assertEquals(numPool, ds.size(), name + ": deep-supervision outputs");
        for (int k = 0; k < numPool; k++) {
          assertClose(io.get(mode + "ds_" + k), ds.get(k), name + " " + mode + "ds_" + k);
        }
        net.setDoDs(false);
        List<Tensor> main = net.forward(x);
        assertEquals(1, main.size());
        assertClose(io.get(mode + "out"), main.getFirst(), name + " " + mode + "out");
        net.setDoDs(true);
        assertClose(io.get(mode + "out"), net.forwardMain(x), name + " forwardMain");
        assertTrue(net.doDs(), "forwardMain restores do_ds");
      }
    }
  }

  @Test
  @SuppressWarnings("try")
  void theFull3dPlanHasTheReferenceKeysParametersAndOutput() throws IOException {
    GenericUNet net = GenericUNet.nnUNet(true, 2);
    assertKeyList("full3d", net);
    assertEquals(30_446_256L, StateDict.parameterCount(net), "initialize_network(threeD=True, num_classes=2)");
    Map<String, Tensor> io = loadFixture("full3d", net);
    net.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> out = net.forward(io.get("input"));
      assertEquals(1, out.size(), "the plan has no deep supervision");
      assertClose(io.get("eval_out"), out.getFirst(), "full 3D plan", 1e-4);
    }
  }

  @Test
  void the2dPlanHasTheReferenceKeysAndParameters() throws IOException {
    GenericUNet net = GenericUNet.nnUNet(false, 4);
    assertKeyList("full2d", net);
    assertEquals(18_687_696L, StateDict.parameterCount(net));
    assertArrayEquals(new long[] {64, 64}, net.config().inputShapeMustBeDivisibleBy());
    assertEquals(480, net.config().maxNumFeatures());
  }

  // ---- shapes, modes, gradients --------------------------------------------------------------------

  /** The nnUNet plans in both modes; the other switches in one mode each, to keep the class short. */
  static Stream<Arguments> shapes() {
    return Stream.of(
        Arguments.of("nnUNet 3D", nnunet3dSmall(), new long[] {2, 1, 8, 16, 24}, true),
        Arguments.of("nnUNet 3D", nnunet3dSmall(), new long[] {1, 1, 4, 8, 16}, false),
        Arguments.of("nnUNet 2D", nnunet2dSmall(), new long[] {3, 2, 16, 40}, true),
        Arguments.of("nnUNet 2D", nnunet2dSmall(), new long[] {1, 2, 24, 16}, false),
        Arguments.of("maxpool trilinear", maxpoolTrilinear(), new long[] {1, 2, 8, 8, 12}, true),
        Arguments.of("maxpool transposed", maxpoolTransposed(), new long[] {2, 1, 4, 6, 8}, false),
        Arguments.of("conv bilinear 2D", convBilinear2d(), new long[] {2, 3, 8, 16}, true),
        Arguments.of("defaults 2D", GenericUNetConfig.defaults(1, 4, 2, 2, 2), new long[] {2, 1, 12, 8}, false));
  }

  @ParameterizedTest(name = "{0} {2} training={3}")
  @MethodSource("shapes")
  void outputShapesAndGradients(String label, GenericUNetConfig config, long[] shape, boolean training) {
    NativeRuntime.seed(5);
    GenericUNet net = new GenericUNet(config);
    net.train(training);
    Tensor x = torch.randn(shape);
    List<Tensor> outs = net.forward(x);
    int numPool = config.numPool();
    assertEquals(config.deepSupervision() ? numPool : 1, outs.size(), "outputs whatever the mode");
    long[][] pools = config.poolOpKernelSizes();
    Tensor loss = null;
    for (int k = 0; k < outs.size(); k++) {
      long[] expected = new long[shape.length];
      expected[0] = shape[0];
      expected[1] = config.numClasses();
      for (int i = 2; i < shape.length; i++) {
        long factor = 1;
        if (!config.upscaleLogits()) {
          for (int p = 0; p < k; p++) {
            factor *= pools[p][i - 2];
          }
        }
        expected[i] = shape[i] / factor;
      }
      Tensor out = outs.get(k);
      assertArrayEquals(expected, Tensors.shape(out), label + " output " + k);
      assertTrue(Tensors.item(out.isfinite().all()) != 0, "finite output");
      if (config.finalNonlin() == FinalNonlin.SOFTMAX && !config.upscaleLogits()) {
        double err = Tensors.item(out.sum(1).sub(Tensors.scalar(1, DType.FLOAT32)).abs().max());
        assertTrue(err < 1e-5, "softmax over the channels sums to one, off by " + err);
      }
      Tensor term = out.mul(torch.randn_like(out)).sum();
      loss = loss == null ? term : loss.add(term);
    }
    loss.backward();
    for (Map.Entry<String, Tensor> p : StateDict.parameters(net).entrySet()) {
      Tensor g = p.getValue().grad();
      boolean head = p.getKey().startsWith("seg_outputs.");
      boolean used = config.deepSupervision() || !head
          || p.getKey().startsWith("seg_outputs." + (numPool - 1) + ".");
      if (!used) {
        assertFalse(g.defined(), p.getKey() + ": a head whose output is not returned got a gradient");
        continue;
      }
      assertTrue(g.defined(), "no gradient reached " + p.getKey());
      assertTrue(Tensors.item(g.isfinite().all()) != 0, "non-finite gradient at " + p.getKey());
    }
  }

  @Test
  @SuppressWarnings("try")
  void batchNormModesDifferAndDropoutIsOffInEval() {
    NativeRuntime.seed(6);
    GenericUNet net = new GenericUNet(maxpoolTrilinear());
    Tensor x = torch.randn(2, 2, 8, 8, 4);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      net.train(true);
      net.forward(x);
      net.eval();
      Tensor a = net.forwardMain(x);
      Tensor b = net.forwardMain(x);
      assertEquals(0.0, Tensors.item(a.sub(b).abs().max()), "eval is deterministic despite the dropout layers");
      net.train(true);
      Tensor c = net.forwardMain(x);
      assertTrue(Tensors.item(a.sub(c).abs().max()) > 1e-4, "training mode uses batch statistics and dropout");
    }
    assertEquals(List.of("conv_blocks_localization", "conv_blocks_context", "td", "tu", "seg_outputs",
        "upscale_logits_ops"), List.copyOf(net.childModules().keySet()), "the reference's registration order");
  }

  // ---- structure and configuration ---------------------------------------------------------------------

  @Test
  void theNnUNetPlanIsInitializeNetworks() {
    GenericUNetConfig c = GenericUNetConfig.nnUNet(true, 2);
    assertEquals(1, c.inputChannels());
    assertEquals(16, c.baseNumFeatures());
    assertEquals(6, c.numPool());
    assertEquals(2, c.numConvPerStage());
    assertEquals(3, c.dims());
    assertEquals(Norm.instanceNorm(true), c.norm());
    assertFalse(c.dropout().active());
    assertEquals(Nonlin.leakyRelu(1e-2), c.nonlin());
    assertFalse(c.deepSupervision());
    assertFalse(c.dropoutInLocalization());
    assertEquals(FinalNonlin.IDENTITY, c.finalNonlin());
    assertTrue(c.weightInit().he());
    assertFalse(c.upscaleLogits());
    assertTrue(c.convolutionalPooling());
    assertTrue(c.convolutionalUpsampling());
    assertEquals(320, c.maxNumFeatures());
    assertFalse(c.segOutputUseBias());
    assertArrayEquals(new long[] {16, 32, 64, 128, 256, 320, 320}, c.stageFeatures());
    assertArrayEquals(new long[] {4, 64, 64}, c.inputShapeMustBeDivisibleBy());
    assertTrue(Arrays.deepEquals(GenericUNetConfig.DEFAULT_POOL_OP_KERNEL_SIZES, c.poolOpKernelSizes()));
    assertEquals(c, GenericUNetConfig.nnUNet(true, 2).toBuilder().build(), "value equality with array components");
    assertEquals(c.hashCode(), GenericUNetConfig.nnUNet(true, 2).hashCode());

    GenericUNet net = new GenericUNet(c);
    assertEquals(0, net.td().size(), "convolutional pooling: no max pooling");
    assertNull(net.upscaleLogitsOps());
    assertFalse(net.returnsDeepSupervision());
    assertEquals(116, net.stateDict().size());
    Map<String, Tensor> sd = net.stateDict();
    assertArrayEquals(new long[] {32, 16, 1, 3, 3},
        Tensors.shape(sd.get("conv_blocks_context.1.blocks.0.conv.weight")));
    assertArrayEquals(new long[] {320, 320, 1, 2, 2}, Tensors.shape(sd.get("tu.0.weight")));
    assertArrayEquals(new long[] {2, 16, 1, 1, 1}, Tensors.shape(sd.get("seg_outputs.5.weight")));
    assertFalse(sd.containsKey("seg_outputs.5.bias"));
    assertFalse(sd.containsKey("tu.0.bias"));
    // He init: zero conv biases, unit/zero affine instance norms, kaiming std sqrt(2 / (1 + a^2) / fan_in)
    assertEquals(0.0, Tensors.item(sd.get("conv_blocks_context.3.blocks.1.conv.bias").abs().max()));
    assertEquals(1.0, Tensors.item(sd.get("conv_blocks_context.3.blocks.1.instnorm.weight").min()));
    double std = Tensors.item(sd.get("conv_blocks_localization.1.0.blocks.0.conv.weight").std());
    double expected = Math.sqrt(2.0 / (1 + 1e-4) / (512 * 27));
    assertEquals(expected, std, expected * 0.02, "kaiming normal, fan in");
  }

  @Test
  void decoderKernelsAndStridesFollowThePlan() {
    GenericUNetConfig c = GenericUNetConfig.nnUNet(true, 3);
    Map<String, Tensor> sd = new GenericUNet(c).stateDict();
    // the decoder reuses conv_kernel_sizes from the end: stage u uses kernel -(u + 1), so the decoder stage at
    // encoder stage d's resolution has kernel d + 1: the finest gets [1, 3, 3], the next already [3, 3, 3]
    assertArrayEquals(new long[] {16, 32, 1, 3, 3},
        Tensors.shape(sd.get("conv_blocks_localization.5.0.blocks.0.conv.weight")));
    assertArrayEquals(new long[] {32, 64, 3, 3, 3},
        Tensors.shape(sd.get("conv_blocks_localization.4.0.blocks.0.conv.weight")));
    assertArrayEquals(new long[] {64, 128, 3, 3, 3},
        Tensors.shape(sd.get("conv_blocks_localization.3.0.blocks.0.conv.weight")));
    assertArrayEquals(new long[] {320, 320, 3, 3, 3},
        Tensors.shape(sd.get("conv_blocks_context.6.1.blocks.0.conv.weight")));
  }

  @Test
  void featuresRoundHalfToEvenAndOneConvPerStageStillGivesTwoInTheDecoder() {
    assertArrayEquals(new long[] {7, 10, 15, 22}, maxpoolTrilinear().stageFeatures(), "np.round(22.5) = 22");
    GenericUNet net = new GenericUNet(convBilinear2d());
    GenericUNetBlocks.StackedConvLayers first =
        (GenericUNetBlocks.StackedConvLayers) net.convBlocksLocalization().get(0).get(0);
    assertEquals(1, first.size(), "num_conv_per_stage - 1 = 0 still builds one block");
    assertEquals(2 * first.outputChannels(), first.inputChannels());
    var encoder = (GenericUNetBlocks.StackedConvLayers) net.convBlocksContext().get(0);
    assertEquals(1, encoder.size());
  }

  @Test
  void invalidConfigurationsAndInputsAreRejected() {
    GenericUNetConfig d = GenericUNetConfig.defaults(1, 4, 2, 2, 3);
    assertThrows(IllegalArgumentException.class, () -> GenericUNetConfig.defaults(1, 4, 2, 0, 3));
    assertThrows(IllegalArgumentException.class, () -> GenericUNetConfig.defaults(1, 4, 2, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> d.toBuilder().numConvPerStage(0).build());
    assertThrows(IllegalArgumentException.class, () -> d.toBuilder().numClasses(0).build());
    assertThrows(IllegalArgumentException.class, () -> d.toBuilder().featMapMulOnDownscale(0.1).build());
    assertThrows(IllegalArgumentException.class,
        () -> d.toBuilder().kernels(new long[][] {{2, 2, 2}}, new long[][] {{3, 3, 3}, {3, 3, 3}, {3, 3, 3}}).build());
    assertThrows(IllegalArgumentException.class,
        () -> d.toBuilder().kernels(new long[][] {{2, 2}, {2, 2}}, new long[][] {{3, 3}, {3, 3}, {3, 3}}).build(),
        "2-element kernels for a 3D network");
    assertThrows(IllegalArgumentException.class, () -> new Dropout(Dropout.Kind.CHANNEL, 1.5));
    long[][] pools = d.poolOpKernelSizes();
    pools[0][0] = 99;
    assertEquals(2, d.poolOpKernelSizes()[0][0], "the accessor gives copies");

    GenericUNet net = new GenericUNet(d);
    var e = assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 1, 8, 8, 6)));
    assertTrue(e.getMessage().contains("multiples of [4, 4, 4]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 2, 8, 8, 8)), "channels");
    assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 1, 8, 8)), "2D input to 3D");
    // normalisation over a single element, which PyTorch refuses too
    GenericUNet plan = new GenericUNet(nnunet3dSmall());
    e = assertThrows(IllegalArgumentException.class, () -> plan.forward(torch.randn(2, 1, 4, 8, 8)));
    assertTrue(e.getMessage().contains("more than one element"), e.getMessage());
    net.train(true);
    assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 1, 4, 4, 4)), "batch norm, 1 value");
    net.eval();
    assertEquals(1, net.forwardMain(torch.randn(1, 1, 4, 4, 4)).size(0), "running statistics in eval mode");
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  /** Loads fixture {@code name} into {@code net} after checking keys, their order and the counts. */
  private static Map<String, Tensor> loadFixture(String name, GenericUNet net) throws IOException {
    return ReferencePrintout.loadFixture(reference(), tmp, name, net);
  }

  /** Compares the module's keys and shapes, in order, with the reference's {@code NAME.keys.txt}. */
  private static void assertKeyList(String name, GenericUNet net) throws IOException {
    long[] counts = reference().get(name);
    assertNotNull(counts, "the reference printed no plan " + name);
    List<String> expected = Files.readAllLines(tmp.resolve(name + ".keys.txt"));
    List<String> actual = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : net.stateDict().entrySet()) {
      StringBuilder shape = new StringBuilder();
      for (long s : Tensors.shape(e.getValue())) {
        shape.append(shape.isEmpty() ? "" : ",").append(s);
      }
      actual.add(e.getKey() + "\t" + shape);
    }
    assertEquals(expected, actual, name + ": keys, order and shapes");
    assertEquals(counts[0], actual.size());
    assertEquals(counts[1], StateDict.parameterCount(net), name + ": parameter elements");
  }

  static void assertClose(Tensor expected, Tensor actual, String what) {
    assertClose(expected, actual, what, TOLERANCE);
  }

  static void assertClose(Tensor expected, Tensor actual, String what, double tolerance) {
    assertNotNull(expected, what + ": missing in the reference output");
    assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), what + ": shape");
    double diff = Tensors.item(actual.sub(expected).abs().max());
    assertTrue(diff <= tolerance, what + ": max |java - python| = " + diff);
  }

  private static long[][] lastTwo(long[][] kernels) {
    long[][] c = new long[kernels.length][];
    Arrays.setAll(c, i -> Arrays.copyOfRange(kernels[i], kernels[i].length - 2, kernels[i].length));
    return c;
  }
}
