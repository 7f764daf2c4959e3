package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.LongFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * Every 2D network of this port, at small widths and several input sizes, in training and eval mode:
 * each output has shape (N, classes, H, W), and a backward pass reaches every parameter (except the
 * reference's unused {@code out_conv_dp4} head of the deep-supervision decoders).
 */
class Net2dShapeTest {

  private static final long CLASSES = 3;
  private static final long[] SMALL_WIDTHS = {2, 4, 4, 8, 8};
  private static final Set<String> UNUSED_DP4_HEAD = Set.of("decoder.out_conv_dp4.weight", "decoder.out_conv_dp4.bias");

  /** How to build a network for {@code inChannels} and run it to a list of outputs. */
  record Net(String name, LongFunction<Module> build, BiFunction<Module, Tensor, List<Tensor>> forward,
      Set<String> parametersWithoutGradient) {
    @Override
    public String toString() {
      return name;
    }
  }

  static UNetParams smallUNet(long inChannels) {
    return UNetParams.reference(inChannels, CLASSES).withFeatureChannels(SMALL_WIDTHS);
  }

  static final Net UNET_DS = new Net("UNet_DS", c -> new UNetDS(smallUNet(c)), (m, x) -> ((UNetDS) m).forward(x),
      UNUSED_DP4_HEAD);
  static final Net UNET_URPC = new Net("UNet_URPC", c -> new UNetURPC(smallUNet(c)), (m, x) -> ((UNetURPC) m).forward(x),
      UNUSED_DP4_HEAD);
  static final Net UNET_CCT = new Net("UNet_CCT", c -> new UNetCCT(smallUNet(c)), (m, x) -> ((UNetCCT) m).forward(x),
      Set.of());
  // ENet has no width parameters: the reference fixes 16, 64 and 128 channels
  static final Net ENET = new Net("ENet", c -> new ENet(c, CLASSES), (m, x) -> List.of(((ENet) m).forward(x)), Set.of());
  static final Net ENET_RELU = new Net("ENet(relu, prelu)", c -> new ENet(c, CLASSES, true, false),
      (m, x) -> List.of(((ENet) m).forward(x)), Set.of());
  static final Net PNET = new Net("PNet2D", c -> new PNet2D(c, CLASSES, 4, 1, 2, 4, 8, 16),
      (m, x) -> List.of(((PNet2D) m).forward(x)), Set.of());

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    // UNets need H, W divisible by 16, and more than one value per channel at the 1/16 bottleneck in training;
    // a 1x1 bottleneck would also let UNet_CCT's FeatureDropout zero it whole (its maximum is always dropped)
    long[][] unetInputs = {{2, 1, 32, 32}, {1, 2, 32, 48}, {3, 1, 64, 32}};
    // ENet takes any size from 7 up (odd ones too; 7 leaves 1x1 at 1/8 resolution); PNet2D any size
    long[][] enetInputs = {{2, 1, 7, 9}, {1, 1, 17, 23}, {2, 3, 24, 40}};
    long[][] pnetInputs = {{1, 1, 9, 13}, {2, 2, 24, 16}};
    for (boolean training : new boolean[] {true, false}) {
      for (Net net : List.of(UNET_DS, UNET_URPC, UNET_CCT)) {
        for (long[] shape : unetInputs) {
          out.add(Arguments.of(net, shape, training));
        }
      }
      for (long[] shape : enetInputs) {
        out.add(Arguments.of(ENET, shape, training));
      }
      out.add(Arguments.of(ENET_RELU, enetInputs[1], training));
      for (long[] shape : pnetInputs) {
        out.add(Arguments.of(PNET, shape, training));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1} training={2}")
  @MethodSource("cases")
  void outputsHaveTheInputSizeAndGradientsReachEveryParameter(Net net, long[] inputShape, boolean training) {
    NativeRuntime.seed(5);
    Module m = net.build().apply(inputShape[1]);
    Tensor x = torch.randn(inputShape);
    if (!training) {
      warmUpBatchNorm(m, net, x);
    }
    m.train(training);
    List<Tensor> outputs = net.forward().apply(m, x);

    int expectedOutputs = net == UNET_DS || net == UNET_URPC || net == UNET_CCT ? 4 : 1;
    assertEquals(expectedOutputs, outputs.size(), net + ": outputs");
    Tensor loss = null;
    for (Tensor out : outputs) {
      assertArrayEquals(new long[] {inputShape[0], CLASSES, inputShape[2], inputShape[3]}, Tensors.shape(out), net + ": shape");
      assertTrue(Tensors.item(out.isfinite().all()) != 0, net + ": finite output");
      // random weights, so that no batch norm sees a gradient that is constant over its channel
      Tensor term = out.mul(torch.randn_like(out)).sum();
      loss = loss == null ? term : loss.add(term);
    }
    loss.backward();

    Map<String, Double> gradientPerLayer = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> p : StateDict.parameters(m).entrySet()) {
      Tensor grad = p.getValue().grad();
      if (net.parametersWithoutGradient().contains(p.getKey())) {
        assertFalse(grad.defined(), net + ": " + p.getKey() + " is unused in the reference's forward pass");
        continue;
      }
      assertTrue(grad.defined(), net + ": no gradient reached " + p.getKey());
      assertTrue(Tensors.item(grad.isfinite().all()) != 0, net + ": non-finite gradient at " + p.getKey());
      String layer = p.getKey().substring(0, p.getKey().lastIndexOf('.'));
      gradientPerLayer.merge(layer, Tensors.item(grad.abs().sum()), Double::sum);
    }
    // Non-zero per layer, not per tensor: FeatureDropout always drops each sample's maximum position, so on a
    // small bottleneck it may zero the whole map and leave only the bias of UNet_CCT's aux_decoder3.up1.conv1x1
    // a gradient. And only in eval mode: in training mode the bias of a convolution followed by batch norm
    // has an exactly-zero gradient in exact arithmetic (the norm subtracts the batch mean).
    if (!training) {
      gradientPerLayer.forEach((layer, sum) -> assertTrue(sum > 0, net + ": zero gradient in " + layer));
    }
  }

  /**
   * Gives the batch norms running statistics, as the parity fixtures' warm-up did: in eval mode, fresh
   * statistics (mean 0, variance 1) leave deep features nearly constant over space, which makes whole
   * PReLUs see only positive inputs and lets FeatureDropout drop a whole map, so some gradients vanish.
   */
  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  private static void warmUpBatchNorm(Module m, Net net, Tensor x) {
    m.train(true);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (int i = 0; i < 2; i++) {
        net.forward().apply(m, x.mul(Tensors.scalar(1.5, DType.FLOAT32)).add(Tensors.scalar(0.5, DType.FLOAT32)));
      }
    }
  }

  @Test
  void constructorsTakeTheReferenceDefaults() {
    for (UNetParams p : List.of(new UNetDS(1, 4).params(), new UNetURPC(1, 4).params(), new UNetCCT(1, 4).params())) {
      assertEquals(UNetParams.reference(1, 4), p);
    }
    assertArrayEquals(new long[] {1, 2, 4, 8, 16}, new PNet2D(1, 4).ratios());
    assertEquals(StateDict.of(new PNet2D(1, 4, 64, 1, 2, 4, 8, 16)).keySet(), StateDict.of(new PNet2D(1, 4)).keySet());
    // UNet_DS and UNet_URPC share their state-dict layout (FeatureNoise has no parameters)
    assertEquals(StateDict.of(new UNetDS(smallUNet(1))).keySet(), StateDict.of(new UNetURPC(smallUNet(1))).keySet());
    // UNet_CCT: the encoder, then the main and three auxiliary decoders, all alike
    Map<String, Tensor> cct = StateDict.of(new UNetCCT(smallUNet(1)));
    List<String> decoderKeys = List.copyOf(StateDict.of(new UNet2dBlocks.Decoder(smallUNet(1))).keySet());
    List<String> expected = new ArrayList<>();
    StateDict.of(new UNet2dBlocks.Encoder(smallUNet(1))).keySet().forEach(k -> expected.add("encoder." + k));
    for (String decoder : List.of("main_decoder", "aux_decoder1", "aux_decoder2", "aux_decoder3")) {
      decoderKeys.forEach(k -> expected.add(decoder + "." + k));
    }
    assertEquals(expected, List.copyOf(cct.keySet()));
  }

  @Test
  void enetActivationsFollowEncoderAndDecoderFlags() {
    // PReLU weights are the only one-element parameters
    Set<String> preluDefault = preluOwners(new ENet(1, 2));
    assertTrue(preluDefault.contains("initial_block") && preluDefault.contains("dilated3_7"), preluDefault.toString());
    assertTrue(preluDefault.stream().noneMatch(k -> k.matches("(upsample4_0|regular4_.|upsample5_0|regular5_1)")),
        "the decoder uses ReLU by default: " + preluDefault);
    assertEquals(Set.of(), preluOwners(new ENet(1, 2, true, true)));
    Set<String> allPrelu = preluOwners(new ENet(1, 2, false, false));
    assertTrue(allPrelu.contains("upsample5_0") && allPrelu.contains("regular5_1"), allPrelu.toString());
  }

  private static Set<String> preluOwners(ENet net) {
    return StateDict.parameters(net).entrySet().stream()
        .filter(e -> e.getValue().numel() == 1)
        .map(e -> e.getKey().substring(0, e.getKey().indexOf('.')))
        .collect(Collectors.toSet());
  }

  @Test
  void invalidConfigurationsAreRejectedWithTheReason() {
    var enet = assertThrows(IllegalArgumentException.class, () -> new ENet(16, 2));
    assertTrue(enet.getMessage().contains("in_channels"), enet.getMessage());
    var ratio = assertThrows(IllegalArgumentException.class, () -> new ENet.RegularBottleneck(8, 1, 3, 1, 1, false, 0, false, true));
    assertTrue(ratio.getMessage().contains("internal_ratio"), ratio.getMessage());
    var ratios = assertThrows(IllegalArgumentException.class, () -> new PNet2D(1, 2, 4, 1, 2, 4, 8));
    assertTrue(ratios.getMessage().contains("ratios"), ratios.getMessage());
    UNetCCT cct = new UNetCCT(smallUNet(1));
    List<Tensor> features = cct.encode(torch.randn(2, 1, 16, 16));
    assertThrows(IllegalArgumentException.class, () -> cct.auxDecoderUnperturbed(4, features));
    assertThrows(IllegalArgumentException.class, () -> cct.auxDecoderPerturbed(0, features));
  }
}
