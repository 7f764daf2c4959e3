package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.train.tensorboard.EventFileReader;

/**
 * UA-MT 2D end to end on a synthetic ACDC-like set: {@code synth acdc}, then {@code train --method uamt}
 * for 200 iterations; the snapshot folder has what the reference writes, validation Dice rises above the
 * untrained model's, and the best checkpoint loads strictly into a fresh network.
 *
 * <p>Threshold from measured runs (10 cases of 96x96, patch 96x96, batch 4 with 2 labelled, 16 labelled
 * slices, seed 1; an untrained network predicts background everywhere: Dice 0): in the default channels-last
 * layout validation mean Dice 0.008 at iteration 100 and 0.047 at 200; with {@code --memory_format
 * contiguous} (the reference's layout) 0.099 and 0.061. The layouts differ only in float rounding, which this
 * short run amplifies into different trajectories. The test asks for more than 0.02, about half the
 * default's rise.
 */
class TrainUamtEndToEndTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(1200)
  void uamtTrainsOnSyntheticAcdc() throws Exception {
    Path data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "10", "--seed", "1", "--size", "96,96"));
    Path models = dir.resolve("model");
    assertEquals(0, Main.run("train", "--method", "uamt", "--root_path", data.toString(), "--labeled_slices", "16",
        "--max_iterations", "200", "--batch_size", "4", "--labeled_bs", "2", "--patch_size", "96,96", "--validate_every", "100",
        "--save_every", "200", "--workers", "2", "--snapshot_root", models.toString(), "--quiet"));

    Path snapshot = models.resolve("ACDC/Uncertainty_Aware_Mean_Teacher_136_labeled/unet");
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    assertTrue(log.get(0).matches("\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}] Namespace\\(root_path=.*"), log.get(0));
    assertTrue(log.stream().anyMatch(l -> l.contains("iteration 200 : loss : ")), "one line per iteration");
    double best = 0;
    Pattern dice = Pattern.compile("iteration (\\d+) : mean_dice : ([0-9.]+) mean_hd95 : ([0-9.]+)");
    for (String line : log) {
      Matcher m = dice.matcher(line);
      if (m.find()) {
        best = Math.max(best, Double.parseDouble(m.group(2)));
      }
    }
    assertTrue(best > 0.02, "validation mean Dice rose to " + best + " (untrained: 0)");
    assertTrue(Files.exists(snapshot.resolve("unet_best_model.pth")));
    assertTrue(Files.exists(snapshot.resolve("iter_200.pth")));
    try (Stream<Path> files = Files.list(snapshot)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().matches("iter_\\d+_dice_0\\.\\d+\\.pth")));
    }

    Path events;
    try (Stream<Path> files = Files.list(snapshot.resolve("log"))) {
      events = files.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst().orElseThrow();
    }
    EventFileReader.Contents contents = EventFileReader.read(events);
    assertEquals(200, contents.scalars("info/lr").size());
    assertEquals(200, contents.scalars("info/consistency_weight").size());
    assertEquals(2, contents.scalars("info/val_mean_dice").size());
    assertFalse(contents.images("train/Prediction").isEmpty());

    Networks.Network fresh = Networks.create("unet", 1, 4);
    Checkpoints.loadInto(fresh.module(), snapshot.resolve("unet_best_model.pth"));
  }
}
