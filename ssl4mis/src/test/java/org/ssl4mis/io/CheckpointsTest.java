package org.ssl4mis.io;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.PthReader;
import org.ssl4mis.io.pth.PyOrderedDict;
import org.ssl4mis.networks.UNet;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.testing.SharedData;
import org.ssl4mis.testing.TorchFiles;

/** Weights between SSL4MIS's Python files and Java modules, both ways. */
class CheckpointsTest {
  @TempDir
  Path dir;

  @Test
  void pythonWeightsLoadThroughTheJavaReaderAndGiveTheReferenceOutput() throws Exception {
    Path parity = SharedData.parity();
    UNet net = new UNet(1, 4);
    StateDictLoader.Report r = Checkpoints.loadInto(net, parity.resolve("UNet.pth"));
    assertEquals(136, r.loaded());
    net.eval();
    Map<String, Tensor> io = Checkpoints.toTensors(PthReader.read(parity.resolve("UNet.io.pth")).stateDict());
    double diff = Tensors.item(net.forward(io.get("input")).sub(io.get("output")).abs().max());
    assertTrue(diff <= 1e-5, "max |java - python| = " + diff);
  }

  @Test
  void javaSavesWhatPythonSavesKeysValuesAndMetadata() throws Exception {
    Path original = SharedData.parity().resolve("UNet.pth");
    UNet net = new UNet(1, 4);
    Checkpoints.loadInto(net, original);
    Path saved = dir.resolve("unet_java.pth");
    Checkpoints.saveStateDict(net, saved);

    PyOrderedDict ours = (PyOrderedDict) PthReader.read(saved).root();
    PyOrderedDict theirs = (PyOrderedDict) PthReader.read(original).root();
    assertEquals(theirs.metadata(), ours.metadata(), "_metadata: module paths and versions as PyTorch writes them");
    assertEquals(List.copyOf(theirs.keySet()), List.copyOf(ours.keySet()));

    // Python's own torch.load (weights_only, as a cautious Python user loads it) sees the same OrderedDict.
    String verdict = PythonReference.run("""
        import sys, torch, collections
        a = torch.load(sys.argv[1], weights_only=True)
        b = torch.load(sys.argv[2], weights_only=True)
        assert isinstance(b, collections.OrderedDict), type(b)
        assert list(a.keys()) == list(b.keys())
        assert a._metadata == b._metadata
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            assert torch.equal(a[k], b[k]), k
        print('same', len(a))
        """, Duration.ofMinutes(2), original.toString(), saved.toString());
    assertEquals("same 136", verdict.strip());
  }

  @Test
  void independentPythonReadingAgreesWithTheJavaReader() throws Exception {
    Path file = SharedData.parity().resolve("VNet.pth");
    Map<String, Tensor> viaJava = Checkpoints.loadStateDict(file);
    Map<String, Tensor> viaPython = TorchFiles.load(file);
    assertEquals(List.copyOf(viaPython.keySet()), List.copyOf(viaJava.keySet()));
    for (String k : viaJava.keySet()) {
      assertTrue(viaJava.get(k).equal(viaPython.get(k)), k);
    }
  }

  @Test
  void wholeCheckpointTreesRoundTrip() throws Exception {
    UNet net = new UNet(org.ssl4mis.networks.UNetParams.reference(1, 2).withFeatureChannels(2, 4, 8, 16, 32));
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("model", StateDict.of(net));
    tree.put("iteration", 3000L);
    tree.put("best_dice", 0.8125);
    tree.put("args", Map.of("exp", "ACDC/Mean_Teacher"));
    Path file = dir.resolve("state.pth");
    Checkpoints.saveTree(file, tree);
    Object back = Checkpoints.loadTree(file);
    Map<?, ?> root = assertInstanceOf(Map.class, back);
    assertEquals(3000L, root.get("iteration"));
    assertEquals(0.8125, root.get("best_dice"));
    Map<String, Tensor> model = Checkpoints.loadStateDict(file);
    assertEquals(StateDict.of(net).keySet(), model.keySet(), "found under 'model'");
    UNet other = new UNet(org.ssl4mis.networks.UNetParams.reference(1, 2).withFeatureChannels(2, 4, 8, 16, 32));
    Checkpoints.loadInto(other, file, "model", StateDictLoader.Options.strictLoading());
    for (Map.Entry<String, Tensor> e : StateDict.of(net).entrySet()) {
      assertTrue(e.getValue().equal(StateDict.of(other).get(e.getKey())), e.getKey());
    }
  }

  @Test
  void safetensorsCarryTheSameWeightsAndMetadata() throws Exception {
    Path original = SharedData.parity().resolve("UNet.pth");
    UNet net = new UNet(1, 4);
    Checkpoints.loadInto(net, original);
    Path st = dir.resolve("unet.safetensors");
    Checkpoints.saveStateDict(net, st);
    UNet again = new UNet(1, 4);
    Checkpoints.loadInto(again, st);
    for (Map.Entry<String, Tensor> e : StateDict.of(net).entrySet()) {
      assertTrue(e.getValue().equal(StateDict.of(again).get(e.getKey())), e.getKey());
    }
    Path back = dir.resolve("unet_back.pth");
    org.ssl4mis.io.safetensors.CheckpointConversion.safetensorsToPth(st, back);
    assertEquals(((PyOrderedDict) PthReader.read(original).root()).metadata(),
        ((PyOrderedDict) PthReader.read(back).root()).metadata(), "_metadata survives the safetensors trip");
  }

  @Test
  void errorsNameTheFile() throws Exception {
    Path bad = dir.resolve("notes.pth");
    Files.writeString(bad, "not a checkpoint");
    var e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.loadStateDict(bad));
    assertTrue(e.getMessage().startsWith(bad.toString()), e.getMessage());
    Path tree = dir.resolve("tree.pth");
    Checkpoints.saveTree(tree, Map.of("epoch", 1L));
    var e2 = assertThrows(CheckpointFormatException.class, () -> Checkpoints.loadStateDict(tree));
    assertTrue(e2.getMessage().contains("no state dict"), e2.getMessage());
    UNet net = new UNet(1, 2);
    var e3 = assertThrows(StateDictLoader.StateDictMismatchException.class,
        () -> Checkpoints.loadInto(net, SharedData.parity().resolve("UNet.pth")));
    assertTrue(e3.getMessage().startsWith(SharedData.parity().resolve("UNet.pth").toString()), e3.getMessage());
  }
}
