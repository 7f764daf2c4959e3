package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.VolumeValidator;
import org.ssl4mis.train.tensorboard.EventFileReader;

/**
 * The 3D scripts of ICT, entropy minimisation, URPC and R-Drop end to end ({@code train --dim 3 --method X}) on a
 * synthetic LA set ({@code synth la --cases 6 --size 112,112,80 --seed 1}: 5 training volumes, 2 of them labelled,
 * 1 validation volume), with tiny networks ({@code vnet} with {@code n_filters=4}; URPC's own {@code unet_3D_dv_semi}
 * with {@code feature_scale=32}: widths 2 to 32), patch 48x48x32, one intra-op thread, 20 iterations, validation at
 * 10 and 20 by the engine's sliding window (stride 32 x 32 x 24, 4 windows per call). Each run's best validation Dice
 * must exceed the untrained network's ({@link #untrainedDice}) by 0.2.
 *
 * <p>Measured (seed 1337, 2-vCPU machine shared with other builds, load average 10 to 19), untrained -> Dice at
 * iterations 10 / 20, time of the run:
 * <ul>
 *   <li>ICT: 0.0000 -> 0.6300 / 0.6469, 36 s;
 *   <li>EM: 0.0000 -> 0.6398 / 0.6491, 37 s;
 *   <li>URPC ({@code --num_classes 2}: the script's 3 are GTV's): 0.1187 -> 0.1187 / 0.4192, 26 s;
 *   <li>R-Drop ({@code model1}; two networks): 0.0000 -> 0.0994 / 0.4130, 56 s.
 * </ul>
 */
class Train3dMethodsEndToEndTest {
  private static final String UNET_3D = "feature_scale=32";
  private static final String VNET = "n_filters=4";

  @TempDir
  static Path dir;

  private static Path data;

  @BeforeAll
  static void synthesise() {
    data = dir.resolve("LA");
    assertEquals(0, Main.run("synth", "la", "--out", data.toString(), "--cases", "6", "--seed", "1", "--size", "112,112,80"));
  }

  private static String options(String model) {
    return model.equals("vnet") ? VNET : UNET_3D;
  }

  private static List<String> train3d(String method, String model, Path models, int iterations, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--dim", "3", "--method", method, "--root_path", data.toString(),
        "--model", model, "--model_options", options(model), "--labeled_num", "2", "--patch_size", "48,48,32", "--stride_xy", "32",
        "--stride_z", "24", "--sw_batch_size", "4", "--max_iterations", Integer.toString(iterations), "--validate_every",
        "10", "--workers", "1", "--threads", "1", "--snapshot_root", models.toString(), "--quiet"));
    args.addAll(List.of(more));
    return args;
  }

  /** The validation Dice of the network the Trainer builds first with seed 1337, before any step. */
  private static double untrainedDice(String model, int classes) throws Exception {
    return TrainEndToEnd.untrained(TrainEndToEnd.volumeValidator(data, new int[] {48, 48, 32}, 32, 24, classes), model,
        classes, options(model))[0][0];
  }

  private static EventFileReader.Contents events(Path snapshot) throws Exception {
    try (Stream<Path> files = Files.list(snapshot.resolve("log"))) {
      return EventFileReader.read(files.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents."))
          .findFirst().orElseThrow());
    }
  }

  /** Runs, prints and checks the common part; returns the log. */
  private static List<String> runAndCheck(String label, List<String> args, Path snapshot, String prefix, double untrained,
      double margin, int iterations) throws Exception {
    long started = System.nanoTime();
    assertEquals(0, Main.run(args.toArray(String[]::new)));
    double seconds = (System.nanoTime() - started) / 1e9;
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    List<double[]> vals = TrainEndToEnd.validations3d(log, prefix);
    assertEquals(iterations / 10, vals.size(), String.join("\n", log));
    double best = vals.stream().mapToDouble(v -> v[1]).max().orElseThrow();
    System.out.printf(Locale.ROOT, "%s 3D on synthetic LA: untrained Dice %.4f, validation %s, %d iterations in %.0f s%n",
        label, untrained, vals.stream().map(v -> String.format(Locale.ROOT, "%.0f:%.4f/%.2f", v[0], v[1], v[2])).toList(),
        iterations, seconds);
    assertTrue(best > untrained + margin, label + ": validation Dice rose to " + best + " from the untrained " + untrained);
    assertFalse(log.stream().anyMatch(l -> l.contains("Total silices")));
    return log;
  }

  @Test
  @Timeout(300)
  void ict3d() throws Exception {
    Path models = dir.resolve("ict");
    double untrained = untrainedDice("vnet", 2);
    List<String> log = runAndCheck("ICT", train3d("ict", "vnet", models, 20), models.resolve(
        "BraTS2019_Interpolation_Consistency_Training_2_labeled/vnet"), "", untrained, 0.2, 20);
    assertTrue(log.get(0).endsWith("Namespace(root_path='" + data + "', exp='BraTS2019_Interpolation_Consistency_Training',"
        + " model='vnet', max_iterations=20, batch_size=4, deterministic=1, base_lr=0.01, patch_size=[48, 48, 32],"
        + " seed=1337, labeled_bs=2, labeled_num=2, total_labeled_num=140, ict_alpha=0.2, ema_decay=0.99,"
        + " consistency_type='mse', consistency=0.1, consistency_rampup=200.0)"), log.get(0));
    EventFileReader.Contents c = events(models.resolve("BraTS2019_Interpolation_Consistency_Training_2_labeled/vnet"));
    assertEquals(20, c.scalars("loss/loss").size());
    assertEquals(20, c.scalars("info/consistency_weight").size());
    assertEquals(1, c.images("train/Image").size());
    assertEquals(1, c.images("train/Predicted_label").size());
    assertEquals(1, c.images("train/Groundtruth_label").size());
  }

  @Test
  @Timeout(300)
  void entropyMinimization3d() throws Exception {
    Path models = dir.resolve("em");
    double untrained = untrainedDice("vnet", 2);
    Path snapshot = models.resolve("BraTs2019_Entropy_Minimization_2/vnet");
    runAndCheck("EM", train3d("em", "vnet", models, 20), snapshot, "", untrained, 0.2, 20);
    EventFileReader.Contents c = events(snapshot);
    assertTrue(c.scalars("loss/loss").isEmpty(), "the EM 3D script writes no loss/loss");
    assertEquals(20, c.scalars("info/consistency_loss").size());
  }

  @Test
  @Timeout(300)
  void urpc3d() throws Exception {
    Path models = dir.resolve("urpc");
    double untrained = untrainedDice("unet_3D_dv_semi", 2);
    // the script's 3 GTV classes and base_lr 0.1 are its defaults; the LA phantoms have 2 classes
    Path snapshot = models.resolve("GTV/uncertainty_rectified_pyramid_consistency_2/unet_3D_dv_semi");
    List<String> log = runAndCheck("URPC", train3d("urpc", "unet_3D_dv_semi", models, 20, "--num_classes", "2"), snapshot,
        "", untrained, 0.2, 20);
    assertTrue(log.stream().anyMatch(l -> l.matches(".*iteration 20 : loss : [0-9.]+, supervised_loss: [0-9.]+")),
        String.join("\n", log));
    EventFileReader.Contents c = events(snapshot);
    assertEquals(20, c.scalars("info/supervised_loss").size());
    assertTrue(c.scalars("info/loss_ce").isEmpty());
    assertEquals(2, c.scalars("info/val_cls_1_dice_score").size());
    assertEquals(2, c.scalars("info/val_mean_dice_score").size());
    assertTrue(c.scalars("info/val_dice_score").isEmpty());
  }

  @Test
  @Timeout(300)
  void regularizedDropout3d() throws Exception {
    Path models = dir.resolve("rdrop");
    double untrained = untrainedDice("vnet", 2);
    Path snapshot = models.resolve("Regularized_Dropout_2/vnet");
    List<String> log = runAndCheck("R-Drop", train3d("rdrop", "vnet", models, 20), snapshot, "model1_", untrained,
        0.2, 20);
    assertEquals(2, TrainEndToEnd.validations3d(log, "model2_").size());
    assertTrue(log.get(0).contains("labeled_num=2, total_num=50, ema_decay"), log.get(0));
    assertTrue(Files.exists(snapshot.resolve("vnet_best_model1.pth")));
    EventFileReader.Contents c = events(snapshot);
    assertEquals(20, c.scalars("loss/r_drop_loss").size());
    assertEquals(2, c.scalars("info/model2_val_dice_score").size());
  }

  @Test
  @Timeout(300)
  void crossPseudoSupervision3d() throws Exception {
    Path models = dir.resolve("cps");
    double untrained = untrainedDice("vnet", 2);
    Path snapshot = models.resolve("BraTs2019_Cross_Pseudo_Supervision_2/vnet");
    List<String> log = runAndCheck("CPS", train3d("cps", "vnet", models, 20), snapshot, "model1_", untrained, 0.2, 20);
    List<double[]> model2 = TrainEndToEnd.validations3d(log, "model2_");
    assertEquals(2, model2.size());
    System.out.printf(Locale.ROOT, "CPS 3D model2: validation Dice %.4f / %.4f%n", model2.get(0)[1], model2.get(1)[1]);
    assertTrue(Math.max(model2.get(0)[1], model2.get(1)[1]) > untrained + 0.2, "CPS model2 learns");
    assertTrue(Files.exists(snapshot.resolve("vnet_best_model1.pth")));
    assertTrue(Files.exists(snapshot.resolve("vnet_best_model2.pth")));
  }
}
