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
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * {@link UNetPlusPlus}: parity with the PyTorch reference in {@code networks/unetpp_reference.py} (same keys in
 * the same order, same parameter count, strict loading, every output of both inference modes and of each
 * pruning level, and the training-mode outputs), and shapes, modes and gradients at several input sizes.
 */
class UNetPlusPlusTest {

  private static final double TOLERANCE = 1e-5;
  private static final long[] SMALL = {4, 8, 8, 16, 16};

  @TempDir
  static Path tmp;
  /** The reference's printout, name -> {state-dict tensors, parameter elements}; one Python run per class. */
  private static Map<String, long[]> reference;

  private static synchronized Map<String, long[]> reference() throws IOException {
    if (reference == null) {
      reference = ReferencePrintout.run(UNetPlusPlusTest.class, "/networks/unetpp_reference.py", Duration.ofMinutes(2), tmp);
    }
    return reference;
  }

  /** Loads fixture {@code name} into {@code net} after checking keys, their order and the parameter count. */
  private static Map<String, Tensor> loadFixture(String name, UNetPlusPlus net) throws IOException {
    return ReferencePrintout.loadFixture(reference(), tmp, name, net);
  }

  static void assertClose(Tensor expected, Tensor actual, String what) {
    assertClose(expected, actual, what, TOLERANCE);
  }

  static void assertClose(Tensor expected, Tensor actual, String what, double tolerance) {
    assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), what + ": shape");
    double diff = Tensors.item(actual.sub(expected).abs().max());
    assertTrue(diff <= tolerance, what + ": max |java - python| = " + diff + " > " + tolerance);
  }

  /**
   * Training-mode outputs go through every batch norm with batch statistics, whose rounding differs between
   * PyTorch 1.13 and libtorch 2.10 and grows with the output's size (logits of magnitude ~3 here, observed
   * differences ~5e-6): {@link #TOLERANCE} relative to the largest magnitude, at least {@link #TOLERANCE}.
   */
  static void assertCloseTrainingMode(Tensor expected, Tensor actual, String what) {
    double scale = Math.max(1.0, Tensors.item(expected.abs().max()));
    assertClose(expected, actual, what, TOLERANCE * scale);
  }

  @Test
  @SuppressWarnings("try")
  void deepSupervisionMatchesTheReferenceInEveryMode() throws IOException {
    UNetPlusPlus net = new UNetPlusPlus(2, 3, new long[] {4, 8, 8, 12, 16}, true);
    Map<String, Tensor> io = loadFixture("ds", net);
    Tensor x = io.get("input");
    net.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> ds = net.deepSupervisionOutputs(x);
      assertEquals(4, ds.size());
      for (int k = 0; k < 4; k++) {
        assertClose(io.get("eval_ds_" + k), ds.get(k), "eval deep-supervision output " + k);
      }
      assertClose(io.get("accurate"), net.forwardAccurate(x), "accurate");
      List<Tensor> viaForward = net.forward(x);
      assertEquals(1, viaForward.size(), "eval forward gives the inference output only");
      assertClose(io.get("accurate"), viaForward.get(0), "forward, accurate mode");
      for (int level = 1; level <= 4; level++) {
        assertClose(io.get("fast_" + level), net.forwardPruned(x, level), "pruned at level " + level);
        net.setInferenceMode(UNetPlusPlus.InferenceMode.fast(level));
        assertClose(io.get("fast_" + level), net.forward(x).get(0), "forward, fast mode level " + level);
      }
      net.train(true);
      List<Tensor> train = net.forward(x);
      assertEquals(4, train.size(), "training forward gives every deep-supervision output");
      for (int k = 0; k < 4; k++) {
        assertCloseTrainingMode(io.get("train_ds_" + k), train.get(k), "training-mode output " + k);
      }
    }
  }

  @Test
  @SuppressWarnings("try")
  void withoutDeepSupervisionMatchesTheReference() throws IOException {
    UNetPlusPlus net = new UNetPlusPlus(1, 2, new long[] {3, 5, 6, 7, 9}, false);
    Map<String, Tensor> io = loadFixture("plain", net);
    assertTrue(net.stateDict().containsKey("final.weight"));
    Tensor x = io.get("input");
    net.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      assertClose(io.get("accurate"), net.forward(x).get(0), "eval");
      assertClose(io.get("accurate"), net.forwardPruned(x, 4), "level 4 is the whole network");
      net.train(true);
      List<Tensor> train = net.forward(x);
      assertEquals(1, train.size());
      assertCloseTrainingMode(io.get("train"), train.get(0), "training mode");
    }
  }

  static Stream<Arguments> shapes() {
    List<Arguments> out = new ArrayList<>();
    long[][] inputs = {{2, 1, 16, 16}, {1, 3, 32, 48}, {3, 2, 48, 16}};
    for (boolean training : new boolean[] {true, false}) {
      for (boolean ds : new boolean[] {true, false}) {
        for (long[] shape : inputs) {
          out.add(Arguments.of(shape, ds, training));
        }
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} deepSupervision={1} training={2}")
  @MethodSource("shapes")
  void outputsHaveTheInputSizeAndGradientsReachEveryParameter(long[] shape, boolean ds, boolean training) {
    NativeRuntime.seed(7);
    UNetPlusPlus net = new UNetPlusPlus(shape[1], 3, SMALL, ds);
    Tensor x = torch.randn(shape);
    if (!training) {
      warmUp(net, x);
    }
    net.train(training);
    List<Tensor> outputs = net.forward(x);
    assertEquals(ds && training ? 4 : 1, outputs.size(), "outputs");
    backward(outputs, shape);
    assertGradients(net, training, name -> true);
  }

  @ParameterizedTest(name = "level {0}")
  @MethodSource("levels")
  void pruningComputesOnlyTheSubNetworkOfItsLevel(int level) {
    NativeRuntime.seed(8);
    UNetPlusPlus net = new UNetPlusPlus(1, 2, SMALL, true, UNetPlusPlus.InferenceMode.fast(level));
    // a pruned network pools `level` times only, so multiples of 2^level are enough
    long side = 1L << level;
    long[] shape = {2, 1, side * 3, side * 2};
    Tensor x = torch.randn(shape);
    warmUp(net, torch.randn(2, 1, 32, 32));
    net.eval();
    List<Tensor> outputs = net.forward(x);
    assertEquals(1, outputs.size());
    backward(outputs, new long[] {2, 2, shape[2], shape[3]});
    // gradients reach exactly the nodes X(i, j) with i + j <= level and the head final<level>
    assertGradients(net, false, key -> {
      String module = key.substring(0, key.indexOf('.'));
      if (module.startsWith("final")) {
        return module.equals("final" + level);
      }
      int i = module.charAt(4) - '0';
      int j = module.charAt(6) - '0';
      return i + j <= level;
    });
    if (level < 4) {
      Tensor odd = torch.randn(1, 1, side * 3, side * 5);
      assertThrows(IllegalArgumentException.class, () -> net.forwardAccurate(odd), "accurate needs multiples of 16");
    }
  }

  static Stream<Integer> levels() {
    return Stream.of(1, 2, 3, 4);
  }

  @Test
  @SuppressWarnings("try")
  void accurateIsTheMeanOfTheHeadsAndFastAtLevelLIsHeadL() {
    NativeRuntime.seed(9);
    UNetPlusPlus net = new UNetPlusPlus(1, 2, SMALL, true);
    Tensor x = torch.randn(2, 1, 32, 32);
    warmUp(net, x);
    net.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> ds = net.deepSupervisionOutputs(x);
      Tensor mean = torch.stack(new TensorVector(ds.toArray(Tensor[]::new)), 0).mean(0);
      assertTrue(Tensors.item(net.forwardAccurate(x).sub(mean).abs().max()) < 1e-6);
      for (int level = 1; level <= 4; level++) {
        Tensor fromFullGrid = ds.get(4 - level);
        assertTrue(Tensors.item(net.forwardPruned(x, level).sub(fromFullGrid).abs().max()) < 1e-6,
            "level " + level + ": the pruned network's nodes are the full grid's");
      }
    }
  }

  @Test
  void defaultsAndNamesFollowThePublicImplementation() {
    UNetPlusPlus net = new UNetPlusPlus(1, 4);
    assertArrayEquals(new long[] {32, 64, 128, 256, 512}, net.widths());
    assertTrue(net.deepSupervision());
    assertEquals(UNetPlusPlus.InferenceMode.accurate(), net.inferenceMode());
    List<String> modules = new ArrayList<>();
    for (String key : net.stateDict().keySet()) {
      String module = key.substring(0, key.indexOf('.'));
      if (modules.isEmpty() || !modules.getLast().equals(module)) {
        modules.add(module);
      }
    }
    assertEquals(List.of("conv0_0", "conv1_0", "conv2_0", "conv3_0", "conv4_0", "conv0_1", "conv1_1", "conv2_1",
        "conv3_1", "conv0_2", "conv1_2", "conv2_2", "conv0_3", "conv1_3", "conv0_4", "final1", "final2", "final3",
        "final4"), modules);
    assertEquals(List.of("conv0_0.conv1.weight", "conv0_0.conv1.bias", "conv0_0.bn1.weight", "conv0_0.bn1.bias",
        "conv0_0.bn1.running_mean", "conv0_0.bn1.running_var", "conv0_0.bn1.num_batches_tracked",
        "conv0_0.conv2.weight"), List.copyOf(net.stateDict().keySet()).subList(0, 8));
    // the reference module at these settings: 218 tensors, 9,163,248 parameters (printed by PyTorch 1.13)
    assertEquals(218, net.stateDict().size());
    assertEquals(9_163_248L, StateDict.parameterCount(net));
    assertArrayEquals(new long[] {32, 32 * 4 + 64, 3, 3}, Tensors.shape(net.stateDict().get("conv0_4.conv1.weight")),
        "X(0,4) sees X(0,0..3) and the upsampled X(1,3)");
    UNetPlusPlus plain = new UNetPlusPlus(3, 2, UNetPlusPlus.DEFAULT_WIDTHS, false);
    assertEquals(212, plain.stateDict().size());
    assertEquals(9_163_362L, StateDict.parameterCount(plain));
  }

  @Test
  void invalidConfigurationsAndInputsAreRejected() {
    UNetPlusPlus plain = new UNetPlusPlus(1, 2, SMALL, false);
    assertThrows(IllegalArgumentException.class, () -> plain.setInferenceMode(UNetPlusPlus.InferenceMode.fast(2)));
    assertThrows(IllegalStateException.class, () -> plain.forwardPruned(torch.randn(1, 1, 16, 16), 3));
    assertThrows(IllegalStateException.class, () -> plain.deepSupervisionOutputs(torch.randn(1, 1, 16, 16)));
    plain.setInferenceMode(UNetPlusPlus.InferenceMode.fast(4));
    assertThrows(IllegalArgumentException.class, () -> UNetPlusPlus.InferenceMode.fast(0));
    assertThrows(IllegalArgumentException.class, () -> UNetPlusPlus.InferenceMode.fast(5));
    assertEquals(UNetPlusPlus.InferenceMode.fast(3), UNetPlusPlus.InferenceMode.parse("Fast", 3));
    assertEquals(UNetPlusPlus.InferenceMode.accurate(), UNetPlusPlus.InferenceMode.parse("accurate", 4));
    assertThrows(IllegalArgumentException.class, () -> UNetPlusPlus.InferenceMode.parse("quick", 2));
    assertThrows(IllegalArgumentException.class, () -> new UNetPlusPlus(1, 2, new long[] {4, 8, 16, 32}, true));
    assertThrows(IllegalArgumentException.class, () -> new UNetPlusPlus(0, 2));
    UNetPlusPlus ds = new UNetPlusPlus(1, 2, SMALL, true);
    var e = assertThrows(IllegalArgumentException.class, () -> ds.forward(torch.randn(1, 1, 24, 32)));
    assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ds.forward(torch.randn(1, 2, 32, 32)), "channels");
    assertThrows(IllegalArgumentException.class, () -> ds.forwardPruned(torch.randn(1, 1, 32, 32), 5));
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  /** Running statistics for eval mode, so no batch norm flattens the deep features to constants. */
  @SuppressWarnings("try")
  private static void warmUp(UNetPlusPlus net, Tensor x) {
    net.train(true);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (int i = 0; i < 2; i++) {
        Tensor shifted = x.mul(Tensors.scalar(1.5, DType.FLOAT32)).add(Tensors.scalar(0.5, DType.FLOAT32));
        if (net.deepSupervision()) {
          net.deepSupervisionOutputs(shifted);
        } else {
          net.forward(shifted);
        }
      }
    }
  }

  private static void backward(List<Tensor> outputs, long[] inputShape) {
    Tensor loss = null;
    for (Tensor out : outputs) {
      assertEquals(inputShape[0], out.size(0), "batch");
      assertEquals(inputShape[2], out.size(2), "height");
      assertEquals(inputShape[3], out.size(3), "width");
      assertTrue(Tensors.item(out.isfinite().all()) != 0, "finite output");
      Tensor term = out.mul(torch.randn_like(out)).sum();
      loss = loss == null ? term : loss.add(term);
    }
    loss.backward();
  }

  /**
   * Parameters {@code used} have a finite gradient, non-zero per node in eval mode (not per layer: at these
   * small widths a ReLU may leave a whole layer dead for one input; and in training mode a convolution bias
   * followed by batch norm gets an exactly-zero gradient); the others have no gradient at all.
   */
  private static void assertGradients(UNetPlusPlus net, boolean training, Predicate<String> used) {
    Map<String, Double> perNode = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> p : StateDict.parameters(net).entrySet()) {
      Tensor grad = p.getValue().grad();
      if (!used.test(p.getKey())) {
        assertFalse(grad.defined(), p.getKey() + " is outside the computed sub-network but got a gradient");
        continue;
      }
      assertTrue(grad.defined(), "no gradient reached " + p.getKey());
      assertTrue(Tensors.item(grad.isfinite().all()) != 0, "non-finite gradient at " + p.getKey());
      String node = p.getKey().substring(0, p.getKey().indexOf('.'));
      perNode.merge(node, Tensors.item(grad.abs().sum()), Double::sum);
    }
    assertFalse(perNode.isEmpty());
    if (!training) {
      perNode.forEach((node, sum) -> assertTrue(sum > 0, "zero gradient in " + node));
    }
  }
}
