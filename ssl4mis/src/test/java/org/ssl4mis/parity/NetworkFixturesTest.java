package org.ssl4mis.parity;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.io.json.Json;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.networks.UNetCCT;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.SharedData;

/**
 * Every network fixture written by the real SSL4MIS (weights saved as SSL4MIS saves them, eval outputs)
 * is reproduced by the Java network, read with the project's own checkpoint reader; and the checker itself
 * catches wrong outputs and unbuildable fixtures.
 */
class NetworkFixturesTest {
  @TempDir
  Path dir;

  @Test
  void everyReferenceNetworkFixturePasses() throws Exception {
    List<NetworkFixtures.Result> results = NetworkFixtures.check(SharedData.parity());
    List<NetworkFixtures.Result> networks = results.stream().filter(r -> r.kind().equals("network")).toList();
    networks.forEach(r -> System.out.printf("%-20s %.3g <= %.3g %s%n", r.name(), r.maxAbsDiff(), r.tolerance(), r.detail()));
    assertTrue(networks.size() >= 13, "network fixtures found: " + networks.size());
    for (NetworkFixtures.Result r : networks) {
      assertTrue(r.passed(), r.name() + ": " + r.detail());
      assertTrue(r.maxAbsDiff() <= r.tolerance(), r.name());
    }
  }

  @Test
  void aWrongOutputIsAFailureAndAnUnknownClassCannotBeChecked() throws Exception {
    Path parity = SharedData.parity();
    Map<?, ?> manifest = (Map<?, ?>) Json.parseDocument(Files.readString(parity.resolve("MANIFEST.json")));
    Map<?, ?> unet = (Map<?, ?>) ((Map<?, ?>) manifest.get("fixtures")).get("UNet");
    Map<String, Object> fixtures = new LinkedHashMap<>();
    fixtures.put("UNet", unet);
    Map<String, Object> unknown = new LinkedHashMap<>(castMap(unet));
    unknown.put("class", "NoSuchNet");
    fixtures.put("Unknown", unknown);
    Files.writeString(dir.resolve("MANIFEST.json"), Json.write(Map.of("fixtures", fixtures)));
    Files.copy(parity.resolve("UNet.pth"), dir.resolve("UNet.pth"));
    Map<?, ?> io = (Map<?, ?>) Checkpoints.loadTree(parity.resolve("UNet.io.pth"));
    Map<Object, Object> shifted = new LinkedHashMap<>(io);
    shifted.put("output", ((Tensor) io.get("output")).add(new Scalar(1e-3)));
    Checkpoints.saveTree(dir.resolve("UNet.io.pth"), shifted);

    List<NetworkFixtures.Result> results = NetworkFixtures.check(dir);
    assertFalse(results.get(0).passed());
    assertEquals(1e-3, results.get(0).maxAbsDiff(), 1e-6);
    assertFalse(results.get(1).passed());
    assertTrue(results.get(1).detail().contains("no Java network for reference class 'NoSuchNet'"), results.get(1).detail());
    var e = assertThrows(java.io.IOException.class, () -> NetworkFixtures.check(dir.resolve("nowhere")));
    assertTrue(e.getMessage().contains("MANIFEST.json"), e.getMessage());
  }

  /** UNet_CCT with eval-mode perturbation switched off gives the recorded unperturbed outputs from forward. */
  @SuppressWarnings("try")
  @Test
  void cctWithoutEvalPerturbationForwardsTheRecordedAuxiliaryOutputs() throws Exception {
    Path parity = SharedData.parity();
    Networks.Network n = Networks.create("unet_cct", 1, 4, Networks.Options.of("feature_chns", "4,8,16,32,64"));
    UNetCCT net = (UNetCCT) n.module();
    Checkpoints.loadInto(net, parity.resolve("UNet_CCT.pth"));
    Map<?, ?> io = (Map<?, ?>) Checkpoints.loadTree(parity.resolve("UNet_CCT.io.pth"));
    net.eval();
    net.perturbAuxInEval(false);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> out = net.forward((Tensor) io.get("input"));
      List<String> keys = List.of("output_0", "aux_seg1_unperturbed", "aux_seg2_unperturbed", "aux_seg3_unperturbed");
      for (int i = 0; i < 4; i++) {
        double maxDiff = Tensors.item(out.get(i).sub((Tensor) io.get(keys.get(i))).abs().max());
        assertTrue(maxDiff <= 1e-5, keys.get(i) + ": " + maxDiff);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }
}
