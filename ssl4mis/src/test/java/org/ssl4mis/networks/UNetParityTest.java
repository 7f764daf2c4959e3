package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.testing.SharedData;
import org.ssl4mis.testing.TorchFiles;
import org.ssl4mis.tensor.Tensors;

/** SSL4MIS's own UNet weights load strictly into the Java UNet and give the same eval output. */
class UNetParityTest {

  @Test
  void referenceWeightsLoadAndReproduceTheOutput() throws Exception {
    Path parity = SharedData.parity();
    Map<String, Tensor> weights = TorchFiles.load(parity.resolve("UNet.pth"));
    Map<String, Tensor> io = TorchFiles.load(parity.resolve("UNet.io.pth"));
    UNet net = new UNet(1, 4);
    assertEquals(List.copyOf(weights.keySet()), List.copyOf(StateDict.of(net).keySet()), "same keys in the same order");
    StateDictLoader.Report report = StateDictLoader.load(net, weights);
    assertEquals(136, report.loaded());
    net.eval();
    Tensor out = net.forward(io.get("input"));
    double maxDiff = Tensors.item(out.sub(io.get("output")).abs().max());
    assertTrue(maxDiff <= 1e-5, "max |java - python| = " + maxDiff);
  }

  @Test
  void mismatchedWeightsAreListedInOneError() throws Exception {
    Map<String, Tensor> weights = TorchFiles.load(SharedData.parity().resolve("UNet.pth"));
    UNet wrongClasses = new UNet(1, 2);
    var e = assertThrows(StateDictLoader.StateDictMismatchException.class, () -> StateDictLoader.load(wrongClasses, weights));
    assertEquals(List.of("decoder.out_conv.weight: checkpoint shape [4, 16, 3, 3], module shape [2, 16, 3, 3]",
        "decoder.out_conv.bias: checkpoint shape [4], module shape [2]"), e.mismatches());
    weights.remove("encoder.in_conv.conv_conv.0.bias");
    var prefixed = new java.util.LinkedHashMap<String, Tensor>();
    weights.forEach((k, v) -> prefixed.put("module." + k, v));
    var e2 = assertThrows(StateDictLoader.StateDictMismatchException.class, () -> StateDictLoader.load(new UNet(1, 4), prefixed));
    assertEquals(136, e2.missingKeys().size());
    UNet net = new UNet(1, 4);
    var lenient = StateDictLoader.load(net, prefixed, StateDictLoader.Options.strictLoading().withStrict(false).withStripPrefix("module."));
    assertEquals(List.of("encoder.in_conv.conv_conv.0.bias"), lenient.missingKeys());
    assertEquals(135, lenient.loaded());
  }
}
