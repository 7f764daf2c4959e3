package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;

/**
 * The FixMatch scripts' checkpoint files ({@code util.save_checkpoint}): a short {@code train --method fixmatch}
 * run writes {@code model_iter_{n}.pth} as {@code {'epoch', 'state_dict', 'optimizer_state_dict', 'loss'}}, which
 * PyTorch 1.13 loads as the scripts' {@code util.load_checkpoint} does (model and {@code optim.SGD}, with the
 * optimizer layout PyTorch itself writes), and which {@code Checkpoints.loadInto} and {@code ssl4mis test} read
 * the weights from.
 */
@ExtendWith(OneIntraOpThread.class)
class FixMatchCheckpointTest {
  private static final String WIDTHS = "feature_chns=4,8,16,32,64";
  private static final int ITERATIONS = 8;
  private static final double BASE_LR = 0.01;

  @TempDir
  static Path dir;

  @Test
  void checkpointsAreTheScriptsDictionaries() throws Exception {
    Path data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "4", "--seed", "3", "--size", "64,64",
        "--slices_per_case", "6"));
    Path models = dir.resolve("model");
    assertEquals(0, Main.run("train", "--method", "fixmatch", "--root_path", data.toString(), "--labeled_slices", "6",
        "--max_iterations", Integer.toString(ITERATIONS), "--batch_size", "4", "--labeled_bs", "2", "--patch_size",
        "32,32", "--val_patch_size", "32,32", "--base_lr", Double.toString(BASE_LR), "--validate_every", "100",
        "--save_every", Integer.toString(ITERATIONS), "--workers", "1", "--threads", "1", "--model_options", WIDTHS,
        "--snapshot_root", models.toString(), "--quiet"));
    Path snapshot = models.resolve("ACDC/FixMatch_standard_augs_7/unet");
    Path file = snapshot.resolve("model_iter_" + ITERATIONS + ".pth");
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    int batchesPerEpoch = Integer.parseInt(find(log, "(\\d+) iterations per epoch"));
    double lastLoss = Double.parseDouble(find(log, "iteration " + ITERATIONS + " : model loss : ([-0-9.]+)"));
    long epoch = (ITERATIONS - 1) / batchesPerEpoch; // the epoch of the last step's batch (no batch is skipped)
    assertTrue(epoch >= 1, batchesPerEpoch + " batches per epoch: the run should reach a second epoch");

    // the Java side: the dictionary, and the weights where a state dict is expected
    Map<?, ?> tree = (Map<?, ?>) Checkpoints.loadTree(file);
    assertEquals(List.of("epoch", "state_dict", "optimizer_state_dict", "loss"), List.copyOf(tree.keySet()));
    assertEquals(epoch, tree.get("epoch"));
    Networks.Network fresh = Networks.create("unet", 1, 4, Networks.Options.parse(WIDTHS));
    Checkpoints.loadInto(fresh.module(), file);
    Map<?, ?> saved = (Map<?, ?>) tree.get("state_dict");
    for (Map.Entry<String, Tensor> e : StateDict.of(fresh.module()).entrySet()) {
      assertTrue(e.getValue().equal((Tensor) saved.get(e.getKey())), e.getKey());
    }
    assertEquals(0, Main.run("test", "--method", "fixmatch", "--root_path", data.toString(), "--checkpoint",
        file.toString(), "--model_options", WIDTHS, "--patch_size", "32,32", "--threads", "1", "--no_nifti",
        "--pictures", "0", "--out", dir.resolve("test").toString()));

    // the Python side: util.load_checkpoint's reads, and PyTorch's own SGD layout
    Map<String, Double> py = MethodTestSupport.python("fixmatch_checkpoint.py", file.toString());
    assertEquals(epoch, py.get("epoch"));
    assertEquals(lastLoss, py.get("loss"), 1e-6, "the last step's loss");
    // the learning rate the script sets after step n: base_lr * (1 - (n - 1) / max_iterations) ^ 0.9
    assertEquals(BASE_LR * Math.pow(1.0 - (ITERATIONS - 1.0) / ITERATIONS, 0.9), py.get("lr"), 1e-12);
    assertEquals(py.get("parameters"), py.get("buffers"), "a momentum buffer for every parameter");
  }

  private static String find(List<String> log, String regex) {
    Pattern p = Pattern.compile(regex);
    for (String line : log) {
      Matcher m = p.matcher(line);
      if (m.find()) {
        return m.group(1);
      }
    }
    throw new AssertionError("no line matching '" + regex + "' in the log");
  }
}
