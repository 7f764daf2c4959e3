package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ssl4mis.cli.Main;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DataException;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.Validator;
import org.ssl4mis.train.VolumeValidator;

/**
 * What the end-to-end tests share: the untrained baseline ({@link #untrained}), the 3D validator, the validations
 * read back from log.txt; and for the short runs of the newer methods: a synthetic set (8 cases of 64x64, seed 1; the runs resize slices to 48x48 patches) and
 * the criterion that training works. At these sizes, {@link #ITERATIONS} iterations, base_lr 0.05 and the
 * scripts' 256x256 validation the narrow networks do not yet segment the validation cases (measured validation
 * Dice 0 for cct after 200 iterations), so the criterion is the training loss: the mean of the last 20 logged
 * losses below {@link #FALL} times the mean of the first 20. The Dice rise of these methods is in
 * {@link MethodsEndToEndTest} (validation at the training patch, base_lr 0.1).
 */
final class TrainEndToEnd {
  private TrainEndToEnd() {}

  static final int ITERATIONS = 100;
  /**
   * Measured (first 20 -> last 20 mean loss): cct 0.812 -> 0.317 (0.39), fixmatch 1.209 -> 0.556 (0.46),
   * fixmatch_cta 1.032 -> 0.637 (0.62); the tests ask for a fall below 0.7.
   */
  static final double FALL = 0.7;

  static Path synth(Path dir) {
    Path data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "8", "--seed", "1", "--size",
        "64,64"));
    return data;
  }

  /** Asserts the fall and returns the number of loss lines (steps). */
  static int lossFalls(List<String> log, String tag, String what) {
    Pattern p = Pattern.compile("iteration (\\d+) : " + tag + " : ([-0-9.]+)");
    List<Double> losses = new ArrayList<>();
    for (String line : log) {
      Matcher m = p.matcher(line);
      if (m.find()) {
        losses.add(Double.parseDouble(m.group(2)));
      }
    }
    int n = losses.size();
    assertTrue(n >= 40, what + ": " + n + " loss lines");
    double first = losses.subList(0, 20).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    double last = losses.subList(n - 20, n).stream().mapToDouble(Double::doubleValue).average()
        .orElseThrow();
    System.out.printf("%s e2e: loss %.4f -> %.4f%n", what, first, last);
    assertTrue(last < FALL * first, what + ": the loss fell from " + first + " to " + last);
    return n;
  }

  /** The train command's default {@code --seed}. */
  static final long SEED = 1337;

  /**
   * The validator's per-class metrics for the network a run starts from: the engine seeds libtorch with
   * {@code --seed}, then builds its first student, so this is that student untrained (in eval mode).
   */
  static double[][] untrained(Validator validator, String model, int classes, String modelOptions) throws Exception {
    NativeRuntime.seed(SEED);
    Networks.Network net = Networks.create(model, 1, classes, Networks.Options.parse(modelOptions));
    net.module().eval();
    return validator.validate(net);
  }

  /** The 3D validation of {@code train --dim 3} on the val split of a volume dataset, 4 windows per call. */
  static VolumeValidator volumeValidator(Path root, int[] patch, int strideXy, int strideZ, int classes)
      throws DataException {
    CaseDataset val = CaseDataset.open(DatasetLayout.detect(root), Split.VAL, Integer.MAX_VALUE, classes, true);
    return new VolumeValidator(val, SlidingWindow.Config.of(patch, strideXy, strideZ, classes).withBatchSize(4), "cpu");
  }

  /** {@code iteration N : dice_score : D hd95 : H} lines of a 3D log: {@code [N, D, H]}. */
  static List<double[]> validations3d(Path log) throws Exception {
    return validations3d(Files.readAllLines(log), "");
  }

  /** {@code iteration N : <prefix>dice_score : D <prefix>hd95 : H} lines of a 3D log: {@code [N, D, H]}. */
  static List<double[]> validations3d(List<String> log, String prefix) {
    Pattern p = Pattern.compile("iteration (\\d+) : " + prefix + "dice_score : ([-0-9.naif]+) " + prefix
        + "hd95 : ([-0-9.naif]+)");
    List<double[]> out = new ArrayList<>();
    for (String line : log) {
      Matcher m = p.matcher(line);
      if (m.find()) {
        out.add(new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))});
      }
    }
    return out;
  }

  /** {@code iteration N : [student_]mean_dice : D ...} lines of a 2D log: the best D per student prefix. */
  static Map<String, Double> bestDice2d(Path log) throws Exception {
    Pattern p = Pattern.compile("iteration \\d+ : (\\w*?)mean_dice : ([-0-9.naif]+) ");
    Map<String, Double> best = new TreeMap<>();
    for (String line : Files.readAllLines(log)) {
      Matcher m = p.matcher(line);
      if (m.find()) {
        best.merge(m.group(1), Double.parseDouble(m.group(2)), Math::max);
      }
    }
    return best;
  }
}
