package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.testing.PythonReference;

/**
 * The network tests' Python reference runs: a script that builds configurations of a reference network, writes
 * {@code NAME.pth} (weights) and {@code NAME.io.pth} (inputs and outputs) into a folder and prints
 * {@code NAME<TAB>state-dict tensors<TAB>parameter elements} per configuration.
 */
final class ReferencePrintout {
  private ReferencePrintout() {}

  /** Runs {@code resource} (a script next to {@code owner}) with {@code dir} as its argument; name -> counts. */
  static Map<String, long[]> run(Class<?> owner, String resource, Duration timeout, Path dir) throws IOException {
    String out = PythonReference.runResource(owner, resource, timeout, dir.toString());
    Map<String, long[]> m = new LinkedHashMap<>();
    for (String line : out.strip().split("\n")) {
      String[] f = line.split("\t");
      m.put(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
    }
    return m;
  }

  /**
   * Loads configuration {@code name}'s weights from {@code dir} into {@code net} after checking the keys, their
   * order and the counts the reference printed; returns the configuration's inputs and outputs.
   */
  static Map<String, Tensor> loadFixture(Map<String, long[]> reference, Path dir, String name, JModule net)
      throws IOException {
    long[] counts = reference.get(name);
    assertNotNull(counts, "the reference printed no configuration " + name);
    Path weights = dir.resolve(name + ".pth");
    Map<String, Tensor> state = Checkpoints.loadStateDict(weights);
    assertEquals(List.copyOf(state.keySet()), List.copyOf(net.stateDict().keySet()), name + ": keys and their order");
    assertEquals(counts[0], state.size(), name + ": state-dict tensors");
    assertEquals(counts[1], StateDict.parameterCount(net), name + ": parameter elements");
    StateDictLoader.Report report = Checkpoints.loadInto(net, weights);
    assertEquals(state.size(), report.loaded(), name + ": tensors loaded");
    return Checkpoints.loadStateDict(dir.resolve(name + ".io.pth"));
  }
}
