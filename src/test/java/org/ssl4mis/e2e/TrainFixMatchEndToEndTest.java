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
import org.ssl4mis.train.tensorboard.EventFileReader;

/**
 * Both FixMatch scripts end to end on a synthetic ACDC-like set ({@code synth acdc}, then {@code train --method
 * fixmatch} and {@code --method fixmatch_cta}, narrow widths): the runs finish, the snapshot folder
 * {@code {exp}_{labeled_num}/unet} has the scripts' log lines, scalars, validation tags and {@code model_} files,
 * the CTA log has the epoch policies, and the training loss falls (see {@link TrainEndToEnd#lossFalls}).
 */
class TrainFixMatchEndToEndTest {
  @TempDir
  Path dir;

  private String[] run(String method, Path data, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("train", "--method", method, "--root_path", data.toString(),
        "--labeled_slices", "16", "--max_iterations", String.valueOf(TrainEndToEnd.ITERATIONS), "--batch_size", "4",
        "--labeled_bs", "2", "--patch_size", "48,48", "--model_options", "feature_chns=4,8,16,32,64",
        "--base_lr", "0.05", "--validate_every", String.valueOf(TrainEndToEnd.ITERATIONS), "--save_every",
        String.valueOf(TrainEndToEnd.ITERATIONS), "--workers", "1", "--threads", "1", "--snapshot_root",
        dir.resolve("model").toString(), "--quiet"));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @Test
  @Timeout(600)
  void fixMatchWithStandardAugmentationsTrains() throws Exception {
    Path data = TrainEndToEnd.synth(dir);
    assertEquals(0, Main.run(run("fixmatch", data)));
    Path snapshot = dir.resolve("model/ACDC/FixMatch_standard_augs_7/unet");
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    assertEquals(TrainEndToEnd.ITERATIONS, TrainEndToEnd.lossFalls(log, "model loss", "fixmatch"));
    assertTrue(log.stream().anyMatch(l -> l.contains("model_mean_dice : ")), "validation line");
    assertTrue(Files.exists(snapshot.resolve("model_iter_" + TrainEndToEnd.ITERATIONS + ".pth")));
    EventFileReader.Contents contents = EventFileReader.read(TrainCctEndToEndTest.events(snapshot));
    assertEquals(TrainEndToEnd.ITERATIONS, contents.scalars("lr").size());
    assertEquals(TrainEndToEnd.ITERATIONS, contents.scalars("loss/model_loss").size());
    assertEquals(TrainEndToEnd.ITERATIONS, contents.scalars("consistency_weight/consistency_weight").size());
    assertEquals(1, contents.scalars("info/model_val_mean_dice").size());
  }

  @Test
  @Timeout(600)
  void fixMatchWithCtAugmentTrains() throws Exception {
    Path data = TrainEndToEnd.synth(dir);
    assertEquals(0, Main.run(run("fixmatch_cta", data, "--extra", "fixmatch_cta_nonzero_ratio=batch")));
    Path snapshot = dir.resolve("model/ACDC/FixMatch_7/unet");
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    int steps = TrainEndToEnd.lossFalls(log, "model loss", "fixmatch_cta");
    // the script's epoch loop: max_iterations // len(trainloader) + 1 = 100 // 8 + 1 = 13 epochs of 8 batches;
    // skipped batches (little foreground after the policies) use up batches, so the run may end short of 100
    long skipped = log.stream().filter(l -> l.contains("Refreshing policy...")).count();
    assertTrue(steps == TrainEndToEnd.ITERATIONS || steps + skipped == 13 * 8, steps + " steps, " + skipped
        + " skipped");
    assertTrue(log.stream().filter(l -> l.contains("Strong Policy: [OP(f=")).count() >= 2, "a policy per epoch");
    EventFileReader.Contents contents = EventFileReader.read(TrainCctEndToEndTest.events(snapshot));
    assertEquals(steps, contents.scalars("loss/model_loss").size());
  }
}
