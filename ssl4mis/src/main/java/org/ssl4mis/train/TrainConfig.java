package org.ssl4mis.train;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
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

  /**
   * The layout of the trained networks and their batches, {@code extra.memory_format} ({@code --memory_format}):
   * {@code auto} (also when absent: channels-last on the CPU, contiguous on CUDA), {@code channels_last} or
   * {@code contiguous} (the reference's layout, for comparisons at the level of float rounding).
   *
   * @param onCpu whether the networks live on the CPU
   */
  public org.ssl4mis.nn.MemoryFormat memoryFormat(boolean onCpu) {
    return org.ssl4mis.nn.MemoryFormat.parse("--memory_format", extra.get("memory_format"), onCpu);
  }

  /** The argparse options of the 2D scripts, in declaration order ({@code train_mean_teacher_2D.py}'s). */
  public static final List<String> ARGUMENTS_2D = List.of("root_path", "exp", "model", "max_iterations", "batch_size",
      "deterministic", "base_lr", "patch_size", "seed", "num_classes", "labeled_bs", "labeled_num", "ema_decay",
      "consistency_type", "consistency", "consistency_rampup");

  /**
   * The argparse options of the SSL4MIS {@code *_3D.py} scripts, in declaration order
   * ({@code train_mean_teacher_3D.py}'s): no {@code num_classes} (hard-coded in the scripts' bodies) and no
   * {@code labeled_slices}.
   */
  public static final List<String> ARGUMENTS_3D = List.of("root_path", "exp", "model", "max_iterations", "batch_size",
      "deterministic", "base_lr", "patch_size", "seed", "labeled_bs", "labeled_num", "ema_decay", "consistency_type",
      "consistency", "consistency_rampup");

  /** {@link #ARGUMENTS_3D} with {@code keys} declared after {@code labeled_num}, as several 3D scripts add them. */
  public static List<String> arguments3dWith(String... keys) {
    List<String> out = new ArrayList<>(ARGUMENTS_3D);
    out.addAll(out.indexOf("labeled_num") + 1, List.of(keys));
    return List.copyOf(out);
  }

  /** The 2D scripts' first log line: {@link #namespace(List)} of {@link #ARGUMENTS_2D}. */
  public String namespace() {
    return namespace(ARGUMENTS_2D);
  }

  /**
   * The arguments as a script logs them first, {@code logging.info(str(args))}: {@code Namespace(root_path='...',
   * ...)} with {@code keys} in the script's argparse order (Python 3.9+ keeps it). Strings are quoted, the patch
   * is a list ({@code [96, 96, 96]}); a key that is no field of this record is read from {@link #extra()} (e.g.
   * {@code ict_alpha}, {@code total_labeled_num}), a number printed as is, anything else quoted.
   */
  public String namespace(List<String> keys) {
    StringBuilder sb = new StringBuilder("Namespace(");
    for (int i = 0; i < keys.size(); i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(keys.get(i)).append('=').append(argumentRepr(keys.get(i)));
    }
    return sb.append(')').toString();
  }

  private String argumentRepr(String key) {
    return switch (key) {
      case "root_path" -> quoted(rootPath);
      case "exp" -> quoted(exp);
      case "model" -> quoted(model);
      case "max_iterations" -> Integer.toString(maxIterations);
      case "batch_size" -> Integer.toString(batchSize);
      case "deterministic" -> deterministic ? "1" : "0";
      case "base_lr" -> Double.toString(baseLr);
      case "patch_size" -> Arrays.toString(patchSize);
      case "seed" -> Long.toString(seed);
      case "num_classes" -> Integer.toString(numClasses);
      case "labeled_bs" -> Integer.toString(labeledBs);
      case "labeled_num" -> Integer.toString(labeledNum);
      case "labeled_slices" -> Integer.toString(labeledSlices);
      case "ema_decay" -> Double.toString(emaDecay);
      case "consistency_type" -> quoted(consistencyType);
      case "consistency" -> Double.toString(consistency);
      case "consistency_rampup" -> Double.toString(consistencyRampup);
      default -> {
        String v = extra.get(key);
        if (v == null) {
          throw new IllegalArgumentException("the script argument '" + key + "' is neither a training option nor in"
              + " extra " + extra.keySet());
        }
        yield isNumber(v.strip()) ? v.strip() : quoted(v);
      }
    };
  }

  private static boolean isNumber(String s) {
    try {
      Double.parseDouble(s);
      return !s.isEmpty() && Character.isDigit(s.charAt(s.length() - 1));
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String quoted(String s) {
    return "'" + s + "'";
  }

  public String describe() {
    return String.format(Locale.ROOT, "%s %dD on %s: model %s, %d iterations, batch %d (%d labelled)", method, dim,
        rootPath, model, maxIterations, batchSize, labeledBs);
  }
}
