package org.ssl4mis.train;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The arguments of a reference training script, under their Python names and with the script's defaults
 * (see each {@link Method}'s {@code defaults}), plus the Java additions ({@code device}, {@code workers},
 * {@code threads}, {@code resume}, ...).
 */
public record TrainConfig(
    String method,
    int dim,
    String rootPath,
    String exp,
    String model,
    int maxIterations,
    int batchSize,
    boolean deterministic,
    double baseLr,
    int[] patchSize,
    long seed,
    int numClasses,
    int labeledBs,
    int labeledNum,
    int labeledSlices,
    double emaDecay,
    String consistencyType,
    double consistency,
    double consistencyRampup,
    String device,
    int workers,
    int threads,
    boolean resume,
    boolean quiet,
    String snapshotRoot,
    int validateEvery,
    int saveEvery,
    Map<String, String> extra) {

  public TrainConfig {
    patchSize = patchSize.clone();
    extra = Map.copyOf(extra);
    if (maxIterations < 1 || batchSize < 1 || numClasses < 2) {
      throw new IllegalArgumentException("max_iterations and batch_size must be >= 1 and num_classes >= 2");
    }
    if (labeledBs < 1 || labeledBs > batchSize) {
      throw new IllegalArgumentException("--labeled_bs " + labeledBs + " must be in 1..batch_size (" + batchSize + ")");
    }
    if (patchSize.length != dim) {
      throw new IllegalArgumentException("--patch_size " + Arrays.toString(patchSize) + " must have " + dim + " sides for "
          + dim + "D training");
    }
  }

  @Override
  public int[] patchSize() {
    return patchSize.clone();
  }

  /**
   * The snapshot folder as the reference scripts name it: {@code snapshot_root/{exp}_{labeled_num}_labeled/{model}}
   * (2D), or {@code snapshot_root/<extra.snapshot_name>/{model}} when a script names it otherwise (the 3D
   * scripts: {@code {exp}_{labeled_num}} or {@code {exp}}; {@code {exp}} and {@code {labeled_num}} are
   * substituted).
   */
  public Path snapshotPath() {
    return snapshotPath(snapshotRoot, exp, labeledNum, model, extra.get("snapshot_name"));
  }

  /**
   * The snapshot-folder rule of {@link #snapshotPath()} for given values (the {@code test} command finds a
   * run's checkpoints with it).
   *
   * @param snapshotName the folder pattern with {@code {exp}} and {@code {labeled_num}}, or null for
   *     {@code {exp}_{labeled_num}_labeled}
   */
  public static Path snapshotPath(String snapshotRoot, String exp, int labeledNum, String model, String snapshotName) {
    String folder = snapshotName == null ? exp + "_" + labeledNum + "_labeled"
        : snapshotName.replace("{exp}", exp).replace("{labeled_num}", Integer.toString(labeledNum));
    return Path.of(snapshotRoot, folder, model);
  }

  /** The arguments as the reference logs them first: {@code Namespace(root_path='...', ...)}. */
  public String namespace() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("root_path", rootPath);
    m.put("exp", exp);
    m.put("model", model);
    m.put("max_iterations", maxIterations);
    m.put("batch_size", batchSize);
    m.put("deterministic", deterministic ? 1 : 0);
    m.put("base_lr", baseLr);
    m.put("patch_size", Arrays.toString(patchSize));
    m.put("seed", seed);
    m.put("num_classes", numClasses);
    m.put("labeled_bs", labeledBs);
    m.put("labeled_num", labeledNum);
    m.put("ema_decay", emaDecay);
    m.put("consistency_type", consistencyType);
    m.put("consistency", consistency);
    m.put("consistency_rampup", consistencyRampup);
    StringBuilder sb = new StringBuilder("Namespace(");
    boolean first = true;
    for (Map.Entry<String, Object> e : m.entrySet()) {
      if (!first) {
        sb.append(", ");
      }
      first = false;
      Object v = e.getValue();
      sb.append(e.getKey()).append('=').append(v instanceof String s && !e.getKey().equals("patch_size") ? "'" + s + "'" : v);
    }
    return sb.append(')').toString();
  }

  public String describe() {
    return String.format(Locale.ROOT, "%s %dD on %s: model %s, %d iterations, batch %d (%d labelled)", method, dim,
        rootPath, model, maxIterations, batchSize, labeledBs);
  }
}
