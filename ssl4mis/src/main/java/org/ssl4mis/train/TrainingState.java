package org.ssl4mis.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;

/**
 * Everything a run needs to continue exactly where it stopped, in {@code training_state.pth} next to the
 * checkpoints (a {@code torch.save}-compatible dictionary, so Python can inspect it too): model and EMA
 * weights, the SGD momentum buffers, {@code iter_num}, the best validation score, and the state of
 * libtorch's CPU generator. The data loader needs no state: its batches depend only on the seed and the
 * batch number.
 */
public final class TrainingState {
  public static final String FILE_NAME = "training_state.pth";

  private TrainingState() {}

  /** What {@link #load} restores besides the tensors it copies in place. */
  public record Restored(int iterNum, double bestPerformance, String bestModel) {}

  public static void save(Path file, Module model, Module ema, Sgd sgd, int iterNum, double best, Path bestModel)
      throws IOException {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("model", StateDict.of(model));
    if (ema != null) {
      root.put("ema_model", StateDict.of(ema));
    }
    root.put("momentum_buffers", new LinkedHashMap<>(sgd.momentumBuffers()));
    root.put("iter_num", (long) iterNum);
    root.put("best_performance", best);
    root.put("best_model", bestModel == null ? null : bestModel.getFileName().toString());
    root.put("torch_rng_state", torch.getDefaultCPUGenerator().get_state());
    root.put("format", "ssl4mis-java training state 1");
    Checkpoints.saveTree(file, root);
  }

  /**
   * Loads a saved state into the model, the EMA model and the optimizer, and restores the generator.
   *
   * @throws IOException naming the file when it is not a training state of this model
   */
  public static Restored load(Path file, Module model, Module ema, Sgd sgd) throws IOException {
    if (!(Checkpoints.loadTree(file) instanceof Map<?, ?> root) || !"ssl4mis-java training state 1".equals(root.get("format"))) {
      throw new IOException(file + ": not a training state written by ssl4mis (no 'format' entry)");
    }
    StateDictLoader.load(model, tensors(file, root, "model"));
    if (ema != null) {
      StateDictLoader.load(ema, tensors(file, root, "ema_model"));
    }
    sgd.loadMomentumBuffers(tensors(file, root, "momentum_buffers"));
    if (root.get("torch_rng_state") instanceof Tensor rng) {
      torch.getDefaultCPUGenerator().set_state(rng);
    }
    int iterNum = Math.toIntExact((Long) root.get("iter_num"));
    double best = ((Number) root.get("best_performance")).doubleValue();
    return new Restored(iterNum, best, (String) root.get("best_model"));
  }

  private static Map<String, Tensor> tensors(Path file, Map<?, ?> root, String key) throws IOException {
    if (!(root.get(key) instanceof Map<?, ?> m)) {
      throw new IOException(file + ": no '" + key + "' entry");
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      out.put((String) e.getKey(), (Tensor) e.getValue());
    }
    return out;
  }
}
