package org.ssl4mis.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;

/**
 * Everything a run needs to continue exactly where it stopped, in {@code training_state.pth} next to the
 * checkpoints (a {@code torch.save}-compatible dictionary, so Python can inspect it too): the weights of every
 * student ({@code model}, or {@code model1} and {@code model2}) and of the EMA teacher, each SGD's momentum
 * buffers, the method's own state (a discriminator and its optimizer), {@code iter_num}, the best validation
 * score and best checkpoint of each student, and the state of libtorch's CPU generator. The data loader
 * needs no state: its batches depend only on the seed and the batch number.
 */
public final class TrainingState {
  public static final String FILE_NAME = "training_state.pth";
  static final String FORMAT = "ssl4mis-java training state 2";

  private TrainingState() {}

  /** What {@link #load} restores besides the tensors it copies in place, per student in order. */
  public record Restored(int iterNum, double[] bestPerformance, String[] bestModel) {}

  public static void save(Path file, List<String> names, Optimization optimization, int iterNum, double[] best,
      Path[] bestModel) throws IOException {
    Map<String, Object> students = new LinkedHashMap<>();
    Map<String, Object> momentum = new LinkedHashMap<>();
    Map<String, Object> bestScores = new LinkedHashMap<>();
    Map<String, Object> bestFiles = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      students.put(name, StateDict.of(optimization.students().get(i).module()));
      momentum.put(name, new LinkedHashMap<>(optimization.optimizers().get(i).momentumBuffers()));
      bestScores.put(name, best[i]);
      bestFiles.put(name, bestModel[i] == null ? null : bestModel[i].getFileName().toString());
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("students", students);
    if (optimization.ema() != null) {
      root.put("ema_model", StateDict.of(optimization.ema().module()));
    }
    root.put("momentum_buffers", momentum);
    root.put("method", optimization.method().name());
    root.put("method_state", new LinkedHashMap<>(optimization.method().state()));
    root.put("iter_num", (long) iterNum);
    root.put("best_performance", bestScores);
    root.put("best_model", bestFiles);
    root.put("torch_rng_state", torch.getDefaultCPUGenerator().get_state());
    root.put("format", FORMAT);
    Checkpoints.saveTree(file, root);
  }

  /**
   * Loads a saved state into the students, the EMA model, the optimizers and the method, and restores the
   * generator.
   *
   * @throws IOException naming the file and the entry when it is not a training state of this run
   */
  public static Restored load(Path file, List<String> names, Optimization optimization) throws IOException {
    if (!(Checkpoints.loadTree(file) instanceof Map<?, ?> root) || !FORMAT.equals(root.get("format"))) {
      throw new IOException(file + ": not a training state written by this version of ssl4mis (expected format '"
          + FORMAT + "')");
    }
    if (!optimization.method().name().equals(root.get("method"))) {
      throw new IOException(file + ": a training state of method '" + root.get("method") + "', not '"
          + optimization.method().name() + "'");
    }
    Map<?, ?> students = map(file, root, "students");
    Map<?, ?> momentum = map(file, root, "momentum_buffers");
    Map<?, ?> bestScores = map(file, root, "best_performance");
    Map<?, ?> bestFiles = map(file, root, "best_model");
    double[] best = new double[names.size()];
    String[] bestModel = new String[names.size()];
    List<Networks.Network> nets = optimization.students();
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      StateDictLoader.load(nets.get(i).module(), tensors(file, students, name));
      optimization.optimizers().get(i).loadMomentumBuffers(tensors(file, momentum, name));
      if (!(bestScores.get(name) instanceof Number score)) {
        throw new IOException(file + ": no best_performance for '" + name + "'");
      }
      best[i] = score.doubleValue();
      bestModel[i] = (String) bestFiles.get(name);
    }
    if (optimization.ema() != null) {
      StateDictLoader.load(optimization.ema().module(), tensors(file, root, "ema_model"));
    }
    Map<String, Object> methodState = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map(file, root, "method_state").entrySet()) {
      methodState.put((String) e.getKey(), e.getValue());
    }
    optimization.method().restoreState(methodState);
    if (root.get("torch_rng_state") instanceof Tensor rng) {
      torch.getDefaultCPUGenerator().set_state(rng);
    }
    int iterNum = Math.toIntExact((Long) root.get("iter_num"));
    return new Restored(iterNum, best, bestModel);
  }

  private static Map<?, ?> map(Path file, Map<?, ?> root, String key) throws IOException {
    if (!(root.get(key) instanceof Map<?, ?> m)) {
      throw new IOException(file + ": no '" + key + "' entry");
    }
    return m;
  }

  private static Map<String, Tensor> tensors(Path file, Map<?, ?> root, String key) throws IOException {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map(file, root, key).entrySet()) {
      if (!(e.getValue() instanceof Tensor t)) {
        throw new IOException(file + ": '" + key + "/" + e.getKey() + "' is not a tensor");
      }
      out.put((String) e.getKey(), t);
    }
    return out;
  }

  static List<String> names(List<Method.Student> students) {
    List<String> names = new ArrayList<>();
    for (Method.Student s : students) {
      names.add(s.name());
    }
    return names;
  }
}
