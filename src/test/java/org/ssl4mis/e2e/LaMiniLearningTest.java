package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.testing.SharedData;
import org.ssl4mis.train.VolumeValidator;

/**
 * Real data: a short mean-teacher 3D run on {@code ../shared/la_mini} (six left-atrium MRI volumes: 4 training, 2
 * of them labelled, and 2 validation volumes of about 190x140x88) whose validation Dice rises above the untrained
 * network's under the same sliding-window validator.
 *
 * <p>Skipped with a message when {@code ../shared} is absent (failed on CI, where it is present).
 *
 * <p>Set-up: {@code vnet} with {@code n_filters=4}, patch 64x64x48, batch 4 with 2 labelled, windows every
 * 48x48x32, 4 windows per network call, {@code base_lr} 0.1 (with the scripts' 0.01 the validation Dice is still
 * 0 at iterations 20, 40 and 60 of a 100-iteration run), 60 iterations validated at 30 and 60, one intra-op thread, one loader thread.
 *
 * <p>Measured on a 2-vCPU machine shared with other builds (load average about 10): the untrained network's
 * validation Dice is 0.0000; after 30 iterations still 0.0000 (HD95 77.70), after 60 0.4652 (HD95 26.88); the run
 * took 103 s (74 s at load average 4, the whole test 103 s). (With {@code --max_iterations 200}, whose poly learning rate decays more
 * slowly: 0.5440 at 50, 0.5278 at 100.) The test asks for a rise of
 * {@link #MIN_RISE}.
 */
class LaMiniLearningTest {
  private static final String NET = "n_filters=4";
  private static final int ITERATIONS = 60;
  /** Required rise of the best validation Dice over the untrained network's (measured: 0.465). */
  private static final double MIN_RISE = 0.2;

  @TempDir
  Path dir;

  @Test
  @Timeout(900)
  void meanTeacher3dLearnsOnLaMini() throws Exception {
    Path laMini = SharedData.require("la_mini");
    VolumeValidator validator = TrainEndToEnd.volumeValidator(laMini, new int[] {64, 64, 48}, 48, 32, 2);
    double untrainedDice = TrainEndToEnd.untrained(validator, "vnet", 2, NET)[0][0];

    Path models = dir.resolve("model");
    long started = System.nanoTime();
    assertEquals(0, Main.run("train", "--dim", "3", "--method", "mt", "--root_path", laMini.toString(), "--model", "vnet",
        "--model_options", NET, "--labeled_num", "2", "--patch_size", "64,64,48", "--stride_xy", "48", "--stride_z", "32",
        "--sw_batch_size", "4", "--base_lr", "0.1", "--max_iterations", Integer.toString(ITERATIONS), "--validate_every",
        Integer.toString(ITERATIONS / 2), "--workers", "1", "--threads", "1", "--snapshot_root", models.toString(), "--quiet"));
    double seconds = (System.nanoTime() - started) / 1e9;

    Path snapshot = models.resolve("BraTs2019_Mean_Teacher_2/vnet");
    List<double[]> vals = TrainEndToEnd.validations3d(snapshot.resolve("log.txt"));
    assertEquals(2, vals.size());
    double best = vals.stream().mapToDouble(v -> v[1]).max().orElseThrow();
    System.out.printf(Locale.ROOT, "MT 3D on la_mini: untrained Dice %.4f, validation %s, %d iterations in %.0f s%n",
        untrainedDice, vals.stream().map(v -> String.format(Locale.ROOT, "%.0f:%.4f/%.2f", v[0], v[1], v[2])).toList(),
        ITERATIONS, seconds);
    assertTrue(best > untrainedDice + MIN_RISE, "validation Dice rose to " + best + " from the untrained " + untrainedDice);
    assertTrue(Files.exists(snapshot.resolve("vnet_best_model.pth")));
  }
}
