package org.ssl4mis.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.io.Checkpoints;

/**
 * The adversarial methods end to end through {@code bin/ssl4mis train} on synthetic phantoms, small enough for
 * two cores: DAN 2D ({@code train_adversarial_network_2D.py}) on a synthetic ACDC set at the smallest patch its
 * discriminator takes (224x224, tiny UNet widths, {@code dan_ndf=8}), stopped and resumed (the discriminator's
 * weights and Adam moments come back exactly); DAN 3D at the 96^3 patch its FC3DDiscriminator needs (a vnet with
 * {@code n_filters=2}); CANet on a synthetic LA set (32x32x16 patches, a one-layer transformer).
 *
 * <p>What they show: the loops run inside the real engine with the scripts' tags, log lines, snapshot folders and
 * training state ({@code method_state} holds the discriminator and its optimizer). A few iterations are too few
 * for the adversarial terms to matter for the Dice (their weights are {@code consistency * sigmoid_rampup(iter //
 * 150)}, about 7e-4 and 7e-5 here), so the one learning claim (CANet's) is about its supervised dice + SDF part;
 * see the measured values at each test.
 */
class TrainAdversarialEndToEndTest {
  @TempDir
  Path dir;

  private static final Pattern VAL2D = Pattern.compile("iteration (\\d+) : mean_dice : ([-0-9.naif]+)");
  private static final Pattern VAL3D = Pattern.compile("iteration (\\d+) : dice_score : ([-0-9.naif]+)");

  private static List<Double> dice(Path log, Pattern p) throws Exception {
    List<Double> out = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      Matcher m = p.matcher(line);
      if (m.find()) {
        out.add(Double.parseDouble(m.group(2)));
      }
    }
    return out;
  }

  private static int dan2d(Path data, Path models, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--method", "dan", "--root_path", data.toString(),
        "--labeled_slices", "6", "--max_iterations", "6", "--batch_size", "2", "--labeled_bs", "1", "--patch_size",
        "224,224", "--validate_every", "6", "--save_every", "6", "--workers", "1", "--threads", "2", "--quiet",
        "--model_options", "feature_chns=2,4,8,16,32", "--extra", "dan_ndf=8", "--snapshot_root", models.toString()));
    args.addAll(List.of(more));
    return Main.run(args.toArray(String[]::new));
  }

  /**
   * Measured (load average 12 on the two cores; synth acdc, 5 cases of 64x64, seed 5): validation mean Dice 0.0108
   * at iteration 6, 48 s for the run (twice that with the stopped-and-resumed copy). Six iterations at batch 2 show
   * the loop, not learning; no Dice threshold.
   */
  @Test
  @Timeout(600)
  void dan2dTrainsAndResumesItsDiscriminatorExactly() throws Exception {
    Path data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "5", "--seed", "5", "--size", "64,64",
        "--slices_per_case", "6"));
    Path straight = dir.resolve("straight");
    Path resumed = dir.resolve("resumed");
    long started = System.nanoTime();
    assertEquals(0, dan2d(data, straight));
    double seconds = (System.nanoTime() - started) / 1e9;
    assertEquals(0, dan2d(data, resumed, "--stop_at", "3"));
    assertEquals(0, dan2d(data, resumed, "--resume"));

    Path snapshot = Path.of("ACDC/Adversarial_Network_3_labeled/unet");
    List<String> log = Files.readAllLines(straight.resolve(snapshot).resolve("log.txt"));
    assertTrue(log.stream().anyMatch(l -> l.contains("iteration 6 : loss : ") && l.contains("loss_ce: ")), "log line");
    List<Double> vals = dice(straight.resolve(snapshot).resolve("log.txt"), VAL2D);
    System.out.printf(Locale.ROOT, "DAN 2D on synthetic ACDC: validation mean Dice %s, 6 iterations in %.0f s%n", vals,
        seconds);
    assertEquals(1, vals.size());

    Map<?, ?> a = (Map<?, ?>) Checkpoints.loadTree(straight.resolve(snapshot).resolve("training_state.pth"));
    Map<?, ?> b = (Map<?, ?>) Checkpoints.loadTree(resumed.resolve(snapshot).resolve("training_state.pth"));
    assertEquals(6L, a.get("iter_num"));
    assertEquals(6L, b.get("iter_num"));
    Map<?, ?> stateA = (Map<?, ?>) a.get("method_state");
    Map<?, ?> stateB = (Map<?, ?>) b.get("method_state");
    assertEquals(6L, ((Map<?, ?>) stateA.get("DAN_optimizer")).get("step"), "six Adam steps");
    assertEquals(6L, ((Map<?, ?>) stateB.get("DAN_optimizer")).get("step"), "three before the stop, three after");
    assertSameTensors((Map<?, ?>) stateA.get("DAN"), (Map<?, ?>) stateB.get("DAN"), "DAN");
    for (String moment : List.of("exp_avg", "exp_avg_sq")) {
      assertSameTensors((Map<?, ?>) ((Map<?, ?>) stateA.get("DAN_optimizer")).get(moment),
          (Map<?, ?>) ((Map<?, ?>) stateB.get("DAN_optimizer")).get(moment), "DAN_optimizer." + moment);
    }
    assertSameTensors((Map<?, ?>) ((Map<?, ?>) a.get("students")).get("model"),
        (Map<?, ?>) ((Map<?, ?>) b.get("students")).get("model"), "model");
  }

  private static void assertSameTensors(Map<?, ?> a, Map<?, ?> b, String what) {
    assertEquals(a.keySet(), b.keySet(), what);
    assertTrue(!a.isEmpty(), what + " is empty");
    for (Object k : a.keySet()) {
      assertTrue(((Tensor) a.get(k)).equal((Tensor) b.get(k)), what + "." + k + " differs after resuming");
    }
  }

  /** Measured: one iteration at 96^3 (batch 2) takes 18 s at load average 12. */
  @Test
  @Timeout(600)
  void dan3dRunsAtTheDiscriminatorsPatch() throws Exception {
    Path data = dir.resolve("LA");
    assertEquals(0, Main.run("synth", "la", "--out", data.toString(), "--cases", "3", "--seed", "4", "--size",
        "112,112,96"));
    Path models = dir.resolve("model");
    long started = System.nanoTime();
    assertEquals(0, Main.run("train", "--dim", "3", "--method", "dan", "--root_path", data.toString(), "--model", "vnet",
        "--model_options", "n_filters=2", "--extra", "dan_ndf=2", "--labeled_num", "1", "--batch_size", "2",
        "--labeled_bs", "1", "--patch_size", "96,96,96", "--max_iterations", "1", "--validate_every", "1000",
        "--workers", "1", "--threads", "2", "--snapshot_root", models.toString(), "--quiet"));
    System.out.printf(Locale.ROOT, "DAN 3D: 1 iteration at 96^3 in %.0f s%n", (System.nanoTime() - started) / 1e9);
    Path snapshot = models.resolve("BraTs2019_Adversarial_Network_1/vnet");
    assertTrue(Files.readAllLines(snapshot.resolve("log.txt")).stream().anyMatch(l -> l.contains("iteration 1 : loss : ")));
    Map<?, ?> state = (Map<?, ?>) ((Map<?, ?>) Checkpoints.loadTree(snapshot.resolve("training_state.pth")))
        .get("method_state");
    assertEquals(1L, ((Map<?, ?>) state.get("DAN_optimizer")).get("step"));
    assertTrue(((Map<?, ?>) state.get("DAN")).containsKey("conv4.weight"));
    // the LA patch does not fit the 3D DAN: refused before training, naming the option
    assertTrue(Main.run("train", "--dim", "3", "--method", "dan", "--root_path", data.toString(), "--model", "vnet",
        "--patch_size", "112,112,80", "--max_iterations", "1", "--snapshot_root", models.toString(), "--quiet") != 0);
  }

  /**
   * Measured (load average 12 on the two cores; synth la, 5 cases, seed 6): validation Dice 0.1946 at iteration
   * 10 and 0.4254 at 20, 96 s for the run. The test asks for more than 0.3 at iteration 20 and a rise from 10.
   */
  @Test
  @Timeout(600)
  void canetTrainsOnSyntheticLa() throws Exception {
    Path data = dir.resolve("LA");
    assertEquals(0, Main.run("synth", "la", "--out", data.toString(), "--cases", "5", "--seed", "6", "--size",
        "112,112,80"));
    Path models = dir.resolve("model");
    long started = System.nanoTime();
    assertEquals(0, Main.run("train", "--dim", "3", "--method", "canet", "--root_path", data.toString(),
        "--model_options", "n_filters=4;img_size=32,32,16;hidden_size=64;num_heads=2;mlp_dim=32;num_layers=1",
        "--extra", "d_ndf=4;d_reduction=4", "--labeled_num", "2", "--patch_size", "32,32,16", "--stride_xy", "32",
        "--stride_z", "16", "--sw_batch_size", "8", "--max_iterations", "20", "--validate_every", "10", "--workers",
        "1", "--threads", "2", "--snapshot_root", models.toString(), "--quiet"));
    double seconds = (System.nanoTime() - started) / 1e9;
    Path snapshot = models.resolve("LA/CANet_2/canet");
    List<String> log = Files.readAllLines(snapshot.resolve("log.txt"));
    assertTrue(log.stream().anyMatch(l -> l.contains("iteration 20 : loss : ") && l.contains("loss_haus: ")), "log line");
    List<Double> vals = dice(snapshot.resolve("log.txt"), VAL3D);
    System.out.printf(Locale.ROOT, "CANet on synthetic LA: validation Dice %s, 20 iterations in %.0f s%n", vals, seconds);
    assertEquals(2, vals.size());
    assertTrue(vals.get(1) > 0.3 && vals.get(1) > vals.get(0), "CANet learns: validation Dice " + vals);
    Map<?, ?> state = (Map<?, ?>) ((Map<?, ?>) Checkpoints.loadTree(snapshot.resolve("training_state.pth")))
        .get("method_state");
    assertEquals(20L, ((Map<?, ?>) state.get("D_optimizer")).get("step"));
    assertTrue(((Map<?, ?>) state.get("D")).containsKey("se.fc.0.weight"));
  }
}
