package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import org.ssl4mis.testing.PythonReference;

/**
 * {@link AttentionUNet2D}: parity with the PyTorch reference in {@code networks/attention_unet2d_reference.py}
 * (keys and their order, parameter count, strict loading, every output and attention map in eval mode, and
 * training-mode outputs where dropout is off), the encoder's keys being the 2D UNet's, and shapes, attention
 * ranges and gradients at several input sizes.
 */
class AttentionUNet2DTest {

  private static final double TOLERANCE = 1e-5;
  private static final long CLASSES = 3;
  private static final long[] SMALL = {4, 8, 8, 16, 16};

  @TempDir
  static Path tmp;
  /** The reference's printout, name -> {state-dict tensors, parameter elements}; one Python run per class. */
  private static Map<String, long[]> reference;

  private static synchronized Map<String, long[]> reference() throws IOException {
    if (reference == null) {
      String out = PythonReference.runResource(AttentionUNet2DTest.class, "/networks/attention_unet2d_reference.py",
          Duration.ofMinutes(2), tmp.toString());
      Map<String, long[]> m = new LinkedHashMap<>();
      for (String line : out.strip().split("\n")) {
        String[] f = line.split("\t");
        m.put(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
      }
      reference = m;
    }
    return reference;
  }

  static Stream<Arguments> fixtures() {
    return Stream.of(
        Arguments.of("default_dropout", UNetParams.reference(1, 4).withFeatureChannels(4, 8, 8, 12, 16), false),
        Arguments.of("no_dropout", UNetParams.reference(3, 2).withFeatureChannels(3, 5, 6, 7, 9)
            .withDropout(0, 0, 0, 0, 0), true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  @SuppressWarnings("try")
  void matchesTheReference(String name, UNetParams params, boolean comparesTrainingMode) throws IOException {
    long[] counts = reference().get(name);
    assertNotNull(counts, "the reference printed no configuration " + name);
    AttentionUNet2D net = new AttentionUNet2D(params);
    Path weights = tmp.resolve(name + ".pth");
    Map<String, Tensor> state = Checkpoints.loadStateDict(weights);
    assertEquals(List.copyOf(state.keySet()), List.copyOf(net.stateDict().keySet()), "keys and their order");
    assertEquals(counts[0], state.size(), "state-dict tensors");
    assertEquals(counts[1], StateDict.parameterCount(net), "parameter elements");
    StateDictLoader.Report report = Checkpoints.loadInto(net, weights);
    assertEquals(state.size(), report.loaded());
    Map<String, Tensor> io = Checkpoints.loadStateDict(tmp.resolve(name + ".io.pth"));
    Tensor x = io.get("input");
    net.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      AttentionUNet2D.Outputs out = net.forwardWithAttention(x);
      for (int k = 0; k < 4; k++) {
        UNetPlusPlusTest.assertClose(io.get("out_" + k), out.logits().get(k), name + " output " + k);
        UNetPlusPlusTest.assertClose(io.get("attention_" + k), out.attention().get(k), name + " attention map " + k);
      }
      List<Tensor> viaForward = net.forward(x);
      UNetPlusPlusTest.assertClose(io.get("out_0"), viaForward.get(0), name + " forward, main output");
      if (comparesTrainingMode) {
        net.train(true);
        List<Tensor> train = net.forward(x);
        for (int k = 0; k < 4; k++) {
          UNetPlusPlusTest.assertCloseTrainingMode(io.get("train_" + k), train.get(k),
              name + " training-mode output " + k);
        }
      }
    }
  }

  static Stream<Arguments> shapes() {
    List<Arguments> out = new ArrayList<>();
    long[][] inputs = {{2, 1, 32, 32}, {1, 2, 16, 48}, {3, 1, 64, 32}};
    for (boolean training : new boolean[] {true, false}) {
      for (long[] shape : inputs) {
        out.add(Arguments.of(shape, training));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} training={1}")
  @MethodSource("shapes")
  @SuppressWarnings("try")
  void outputsAndAttentionHaveTheirShapesAndGradientsReachEveryParameter(long[] shape, boolean training) {
    NativeRuntime.seed(3);
    AttentionUNet2D net = new AttentionUNet2D(UNetParams.reference(shape[1], CLASSES).withFeatureChannels(SMALL));
    Tensor x = torch.randn(shape);
    if (!training) {
      net.train(true);
      try (NoGradGuard noGrad = new NoGradGuard()) {
        for (int i = 0; i < 2; i++) {
          net.forward(x.mul(Tensors.scalar(1.5, DType.FLOAT32)).add(Tensors.scalar(0.5, DType.FLOAT32)));
        }
      }
    }
    net.train(training);
    AttentionUNet2D.Outputs out = net.forwardWithAttention(x);
    assertEquals(4, out.logits().size());
    assertEquals(4, out.attention().size());
    Tensor loss = null;
    for (Tensor logits : out.logits()) {
      assertArrayEquals(new long[] {shape[0], CLASSES, shape[2], shape[3]}, Tensors.shape(logits));
      assertTrue(Tensors.item(logits.isfinite().all()) != 0);
      Tensor term = logits.mul(torch.randn_like(logits)).sum();
      loss = loss == null ? term : loss.add(term);
    }
    for (int k = 0; k < 4; k++) {
      Tensor a = out.attention().get(k);
      assertArrayEquals(new long[] {shape[0], 1, shape[2] >> k, shape[3] >> k}, Tensors.shape(a), "attention " + k);
      assertTrue(Tensors.item(a.min()) > 0 && Tensors.item(a.max()) < 1, "attention " + k + " in (0, 1)");
    }
    loss.backward();
    Map<String, Double> perLayer = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> p : StateDict.parameters(net).entrySet()) {
      Tensor grad = p.getValue().grad();
      assertTrue(grad.defined(), "no gradient reached " + p.getKey());
      assertTrue(Tensors.item(grad.isfinite().all()) != 0, "non-finite gradient at " + p.getKey());
      perLayer.merge(p.getKey().substring(0, p.getKey().lastIndexOf('.')), Tensors.item(grad.abs().sum()), Double::sum);
    }
    // in training mode a convolution bias before batch norm gets an exactly-zero gradient
    if (!training) {
      perLayer.forEach((layer, sum) -> assertTrue(sum > 0, "zero gradient in " + layer));
    }
  }

  @Test
  void theEncoderIsTheUNetsAndTheDecoderHasItsGatesAndHeads() {
    AttentionUNet2D net = new AttentionUNet2D(1, 4);
    List<String> encoderKeys = net.stateDict().keySet().stream().filter(k -> k.startsWith("encoder.")).toList();
    List<String> unetEncoderKeys = new UNet(1, 4).stateDict().keySet().stream().filter(k -> k.startsWith("encoder."))
        .toList();
    assertEquals(unetEncoderKeys, encoderKeys);
    List<String> decoderModules = new ArrayList<>();
    for (String key : net.stateDict().keySet()) {
      if (key.startsWith("decoder.")) {
        String module = key.split("\\.")[1];
        if (decoderModules.isEmpty() || !decoderModules.getLast().equals(module)) {
          decoderModules.add(module);
        }
      }
    }
    assertEquals(List.of("gate1", "up1", "gate2", "up2", "gate3", "up3", "gate4", "up4", "out_conv", "out_conv_dp1",
        "out_conv_dp2", "out_conv_dp3"), decoderModules);
    assertEquals(List.of("decoder.gate1.theta.weight", "decoder.gate1.phi.weight", "decoder.gate1.phi.bias",
        "decoder.gate1.psi.weight", "decoder.gate1.psi.bias"),
        net.stateDict().keySet().stream().filter(k -> k.startsWith("decoder.gate1.")).toList());
    // gate1: skip of 128 channels mapped 2x2/stride 2 to 64, gating signal of 256 channels mapped 1x1 to 64
    assertArrayEquals(new long[] {64, 128, 2, 2}, Tensors.shape(net.stateDict().get("decoder.gate1.theta.weight")));
    assertArrayEquals(new long[] {64, 256, 1, 1}, Tensors.shape(net.stateDict().get("decoder.gate1.phi.weight")));
    // the reference module at these settings: 162 tensors, 1,880,196 parameters (printed by PyTorch 1.13)
    assertEquals(162, net.stateDict().size());
    assertEquals(1_880_196L, StateDict.parameterCount(net));
  }

  @Test
  void theGateResamplesAGatingSignalOfAnotherGrid() {
    NativeRuntime.seed(4);
    AttentionUNet2D.AttentionGate gate = new AttentionUNet2D.AttentionGate(6, 5, 4L);
    assertEquals(4, gate.interChannels());
    Tensor x = torch.randn(2, 6, 12, 20);
    AttentionUNet2D.AttentionGate.Gated same = gate.forward(x, torch.randn(2, 5, 6, 10));
    AttentionUNet2D.AttentionGate.Gated coarser = gate.forward(x, torch.randn(2, 5, 3, 5));
    for (AttentionUNet2D.AttentionGate.Gated g : List.of(same, coarser)) {
      assertArrayEquals(new long[] {2, 6, 12, 20}, Tensors.shape(g.output()));
      assertArrayEquals(new long[] {2, 1, 12, 20}, Tensors.shape(g.attention()));
      assertTrue(Tensors.item(g.output().sub(x.mul(g.attention())).abs().max()) < 1e-6);
    }
    assertThrows(IllegalArgumentException.class, () -> gate.forward(x, torch.randn(3, 5, 6, 10)), "batch sizes");
    assertThrows(IllegalArgumentException.class, () -> gate.forward(x, torch.randn(2, 4, 6, 10)), "gating channels");
  }

  @Test
  void inputsThatAreNotMultiplesOf16AreRejected() {
    AttentionUNet2D net = new AttentionUNet2D(UNetParams.reference(1, 2).withFeatureChannels(SMALL));
    var e = assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 1, 24, 32)));
    assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 2, 32, 32)), "channels");
  }
}
