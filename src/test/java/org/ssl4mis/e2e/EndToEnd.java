package org.ssl4mis.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DataException;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.Validator;
import org.ssl4mis.train.VolumeValidator;

/** What the end-to-end tests share: the untrained baseline, the 3D validator, reading validations from log.txt. */
final class EndToEnd {
  private EndToEnd() {}

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

  /** The 3D validation of {@code train --dim 3} on the val split of a 2-class volume dataset, 4 windows per call. */
  static VolumeValidator volumeValidator(Path root, int[] patch, int strideXy, int strideZ) throws DataException {
    CaseDataset val = CaseDataset.open(DatasetLayout.detect(root), Split.VAL, Integer.MAX_VALUE, 2, true);
    return new VolumeValidator(val, SlidingWindow.Config.of(patch, strideXy, strideZ, 2).withBatchSize(4), "cpu");
  }

  /** {@code iteration N : dice_score : D hd95 : H} lines of a 3D log: {@code [N, D, H]}. */
  static List<double[]> validations3d(Path log) throws Exception {
    Pattern p = Pattern.compile("iteration (\\d+) : dice_score : ([-0-9.naif]+) hd95 : ([-0-9.naif]+)");
    List<double[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
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
