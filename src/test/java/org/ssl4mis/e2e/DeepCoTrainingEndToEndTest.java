package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;

/**
 * Deep co-training end to end through {@code ssl4mis train --method dct} on synthetic phantoms with a tiny UNet:
 * the script's snapshot folder and validation Dice above an untrained network's (0: background everywhere).
 *
 * <p>Threshold from measured runs (6 ACDC-like cases of 64x64, patch 64x64, batch 4 with 2 labelled, 12
 * labelled slices, seed 1, 150 iterations, base_lr 0.03, UNet widths 4..64, about 45 s on 2 busy cores): best
 * validation mean Dice 0.0755 (0.0795 at base_lr 0.01). The test asks for more than 0.035.
 */
class DeepCoTrainingEndToEndTest {

  @TempDir
  Path dir;

  private Path acdc() {
    Path data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "6", "--seed", "1", "--size", "64,64"));
    return data;
  }

  private List<String> train2d(String method, Path data, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--method", method, "--root_path", data.toString(),
        "--labeled_slices", "12", "--max_iterations", "150", "--base_lr", "0.03", "--batch_size", "4", "--labeled_bs", "2", "--patch_size",
        "64,64", "--validate_every", "75", "--save_every", "150", "--workers", "2", "--threads", "1",
        "--model_options", "feature_chns=4,8,16,32,64", "--snapshot_root", dir.resolve("model").toString(), "--quiet"));
    a.addAll(List.of(more));
    return a;
  }

  private static double bestDice(Path log, String prefix) throws Exception {
    double best = 0;
    Pattern dice = Pattern.compile("iteration (\\d+) : " + prefix + "mean_dice : ([0-9.]+)");
    for (String line : Files.readAllLines(log)) {
      Matcher m = dice.matcher(line);
      if (m.find()) {
        best = Math.max(best, Double.parseDouble(m.group(2)));
      }
    }
    System.out.println(log + " " + prefix + "best dice " + best);
    return best;
  }

  @Test
  @Timeout(300)
  void deepCoTraining() throws Exception {
    assertEquals(0, Main.run(train2d("dct", acdc()).toArray(String[]::new)));
    Path snapshot = dir.resolve("model/ACDC/Deep_Co_Training_3_labeled/unet");
    assertTrue(Files.exists(snapshot.resolve("unet_best_model.pth")));
    assertTrue(bestDice(snapshot.resolve("log.txt"), "") > 0.035);
  }

}
