package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.train.tensorboard.EventFileReader;

/**
 * Cross-consistency training end to end on a synthetic ACDC-like set: {@code synth acdc}, then
 * {@code train --method cct} (the script's {@code unet_cct}, narrow widths); the snapshot folder has what the
 * reference writes and the training loss falls ({@link TrainEndToEnd#lossFalls}).
 */
class TrainCctEndToEndTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(600)
  void cctTrainsOnSyntheticAcdc() throws Exception {
    Path data = TrainEndToEnd.synth(dir);
    Path models = dir.resolve("model");
    String iterations = String.valueOf(TrainEndToEnd.ITERATIONS);
    assertEquals(0, Main.run("train", "--method", "cct", "--root_path", data.toString(), "--labeled_slices", "16",
        "--max_iterations", iterations, "--batch_size", "4", "--labeled_bs", "2", "--patch_size", "48,48",
        "--model_options", "feature_chns=4,8,16,32,64", "--base_lr", "0.05", "--validate_every", iterations,
        "--save_every", iterations, "--workers", "1", "--threads", "1", "--snapshot_root", models.toString(),
        "--quiet"));

    Path snapshot = models.resolve("ACDC/Cross_Consistency_Training_7_labeled/unet_cct");
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    assertEquals(TrainEndToEnd.ITERATIONS, TrainEndToEnd.lossFalls(log, "loss", "cct"));
    assertTrue(log.stream().anyMatch(l -> l.contains(" : mean_dice : ")), "validation line");
    Path last = snapshot.resolve("iter_" + iterations + ".pth");
    assertTrue(Files.exists(last));

    EventFileReader.Contents contents = EventFileReader.read(events(snapshot));
    assertEquals(TrainEndToEnd.ITERATIONS, contents.scalars("info/consistency_loss").size());
    assertEquals(TrainEndToEnd.ITERATIONS, contents.scalars("info/consistency_weight").size());
    assertEquals(1, contents.scalars("info/val_mean_dice").size());

    Networks.Network fresh = Networks.create("unet_cct", 1, 4, Networks.Options.parse("feature_chns=4,8,16,32,64"));
    Checkpoints.loadInto(fresh.module(), last);
  }

  static Path events(Path snapshot) throws java.io.IOException {
    try (var files = Files.list(snapshot.resolve("log"))) {
      return files.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst()
          .orElseThrow();
    }
  }
}
