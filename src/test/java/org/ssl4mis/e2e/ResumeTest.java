package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.io.Checkpoints;

/**
 * A UA-MT run stopped at iteration 4 and resumed ends at iteration 8 with exactly the weights (student,
 * teacher) and momentum of an uninterrupted run with the same seed: dropout and noise come from the restored
 * libtorch generator, batches from the seed and the batch number, the learning rate from the iteration.
 */
class ResumeTest {
  @TempDir
  Path dir;

  private int train(Path data, Path models, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("train", "--method", "uamt", "--root_path", data.toString(),
        "--labeled_slices", "8", "--max_iterations", "8", "--batch_size", "4", "--labeled_bs", "2", "--patch_size", "64,64",
        "--validate_every", "1000", "--save_every", "4", "--workers", "2", "--threads", "1", "--quiet",
        "--model_options", "feature_chns=4,8,16,32,64", "--snapshot_root", models.toString()));
    args.addAll(List.of(more));
    return Main.run(args.toArray(String[]::new));
  }

  @Test
  @Timeout(600)
  void stoppedAndResumedEqualsUninterrupted() throws Exception {
    Path data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "6", "--seed", "2", "--size", "64,64"));
    Path straight = dir.resolve("straight");
    Path resumed = dir.resolve("resumed");
    assertEquals(0, train(data, straight));
    assertEquals(0, train(data, resumed, "--stop_at", "4"));
    assertEquals(0, train(data, resumed, "--resume"));

    String snapshot = "ACDC/Uncertainty_Aware_Mean_Teacher_136_labeled/unet/training_state.pth";
    Map<?, ?> a = (Map<?, ?>) Checkpoints.loadTree(straight.resolve(snapshot));
    Map<?, ?> b = (Map<?, ?>) Checkpoints.loadTree(resumed.resolve(snapshot));
    assertEquals(8L, a.get("iter_num"));
    assertEquals(8L, b.get("iter_num"));
    for (String part : List.of("students/model", "ema_model", "momentum_buffers/model")) {
      Map<?, ?> ta = entry(a, part);
      Map<?, ?> tb = entry(b, part);
      assertEquals(ta.keySet(), tb.keySet(), part);
      for (Object k : ta.keySet()) {
        assertTrue(((Tensor) ta.get(k)).equal((Tensor) tb.get(k)), part + "." + k + " differs after resuming");
      }
    }
  }

  /** {@code root["a"]["b"]} for {@code "a/b"}. */
  private static Map<?, ?> entry(Map<?, ?> root, String path) {
    Map<?, ?> m = root;
    for (String key : path.split("/")) {
      m = (Map<?, ?>) m.get(key);
      assertTrue(m != null, "no '" + key + "' in the training state (" + path + ")");
    }
    return m;
  }
}
