import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssl4mis.cli.Main;

/** Every example runs (briefly) so the documented programs cannot rot. */
class ExamplesTest {
  /** The examples on {@code org.ssl4mis.cli.TrainExample}, by method. */
  private static final Map<String, ToIntFunction<String[]>> TRAIN = Map.of("supervised", TrainSupervised::run, "mt",
      TrainMeanTeacher::run, "uamt", TrainUAMT::run, "ict", TrainICT::run, "em", TrainEntropyMinimization::run, "urpc",
      TrainURPC::run, "rdrop", TrainRDrop::run, "dct", TrainDeepCoTraining::run);

  /** One synthetic set for those (the first example makes it, the others reuse it). */
  @TempDir
  static Path shared;

  private static String captured(Runnable run) {
    PrintStream saved = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      run.run();
    } finally {
      System.setOut(saved);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  /** Each of them, two iterations of tiny networks on a tiny synthetic set, says where its outputs are. */
  @ParameterizedTest
  @ValueSource(strings = {"supervised", "mt", "uamt", "ict", "em", "urpc", "rdrop", "dct"})
  void trainingExampleRuns(String method) throws Exception {
    Path models = shared.resolve("model-" + method);
    List<String> args = new ArrayList<>(List.of("--synthetic", "4", "--synthetic_size", "64,64", "--synthetic_dir",
        shared.resolve("ACDC").toString(), "--snapshot_root", models.toString(), "--max_iterations", "2", "--batch_size",
        "4", "--labeled_bs", "2", "--labeled_slices", "8", "--patch_size", "32,32", "--val_patch_size", "32,32",
        "--validate_every", "2", "--model_options", "feature_chns=4,8,16,32,64", "--workers", "1", "--threads", "1",
        "--quiet"));
    int[] code = new int[1];
    String text = captured(() -> code[0] = TRAIN.get(method).applyAsInt(args.toArray(String[]::new)));
    assertEquals(0, code[0], text);
    assertTrue(text.contains("done: 2 iterations"), text);
    for (String what : List.of("best model", "log", "tensorboard")) {
      assertTrue(text.lines().anyMatch(l -> l.startsWith(what + " ")), "says where the " + what + " is: " + text);
    }
    String log = text.lines().filter(l -> l.startsWith("log ")).findFirst().orElseThrow().substring(3).strip();
    assertTrue(Files.exists(Path.of(log)) && Path.of(log).startsWith(models), log);
  }

  @Test
  void trainingExampleRefusesSyntheticWithRootPath() {
    assertEquals(2, TrainMeanTeacher.run("--synthetic", "4", "--root_path", shared.toString()));
  }

  @Test
  void quickStartRuns() {
    String text = captured(() -> QuickStart.main(new String[] {"2"}));
    assertTrue(text.contains("136 state-dict entries"), text);
    assertTrue(text.contains("iteration 2: loss"), text);
  }

  /** One iteration of each adversarial example on synthetic data, with tiny widths. */
  @Test
  void adversarialExamplesTrain(@TempDir Path dir) throws Exception {
    Path acdc = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", acdc.toString(), "--cases", "4", "--seed", "1", "--size", "64,64",
        "--slices_per_case", "4"));
    Path models = dir.resolve("model");
    assertEquals(0, TrainDAN.run("--root_path", acdc.toString(), "--labeled_slices", "4", "--batch_size", "2",
        "--labeled_bs", "1", "--patch_size", "224,224", "--max_iterations", "1", "--validate_every", "1000",
        "--model_options", "feature_chns=2,4,8,16,32", "--extra", "dan_ndf=2", "--workers", "0", "--quiet",
        "--snapshot_root", models.toString()));
    assertTrue(Files.exists(models.resolve("ACDC/Adversarial_Network_3_labeled/unet/training_state.pth")));
    Path la = dir.resolve("LA");
    assertEquals(0, Main.run("synth", "la", "--out", la.toString(), "--cases", "4", "--seed", "1", "--size", "112,112,80"));
    assertEquals(0, TrainCANet.run("--root_path", la.toString(), "--labeled_num", "1", "--batch_size", "2",
        "--labeled_bs", "1", "--patch_size", "32,32,16", "--model_options",
        "n_filters=4;img_size=32,32,16;hidden_size=64;num_heads=2;mlp_dim=32;num_layers=1", "--extra",
        "d_ndf=2;d_reduction=2", "--max_iterations", "1", "--validate_every", "1000", "--workers", "0", "--quiet",
        "--snapshot_root", models.toString()));
    assertTrue(Files.exists(models.resolve("LA/CANet_1/canet/training_state.pth")));
  }

  @Test
  void twoNetworkExamplesTrainAFewIterations(@TempDir Path dir) {
    Path data = dir.resolve("ACDC");
    assertTrue(Main.run("synth", "acdc", "--out", data.toString(), "--cases", "6", "--seed", "1", "--size", "64,64")
        == 0);
    String[] common = {"--root_path", data.toString(), "--labeled_slices", "8", "--max_iterations", "2",
        "--batch_size", "4", "--labeled_bs", "2", "--patch_size", "32,32", "--workers", "1", "--threads", "1",
        "--snapshot_root", dir.resolve("model").toString(), "--quiet", "--model_options",
        "feature_chns=2,4,8,16,32"};
    assertTrue(TrainCPS.run(common) == 0);
    assertTrue(Files.exists(dir.resolve("model/ACDC/Cross_Pseudo_Supervision_136/unet/log.txt")));
    String[] ct = java.util.Arrays.copyOf(common, common.length + 2);
    ct[common.length] = "--extra";
    ct[common.length + 1] = "swin_pretrained=none;ct_model2_options=img_size=32|embed_dim=8|depths=1,1,1,1"
        + "|num_heads=1,1,1,1|window_size=4";
    assertTrue(TrainCrossTeaching.run(ct) == 0);
    assertTrue(Files.exists(dir.resolve("model/ACDC/Cross_Teaching_Between_CNN_Transformer_7/unet/log.txt")));
  }

  /** A tiny synthetic ACDC set and the options of a two-iteration run with narrow networks. */
  private static String[] tinyRun(Path dir) {
    Path data = dir.resolve("ACDC");
    assertTrue(Main.run("synth", "acdc", "--out", data.toString(), "--cases", "4", "--seed", "1", "--size", "64,64")
        == 0, "synth");
    return new String[] {"--root_path", data.toString(), "--labeled_slices", "4", "--max_iterations", "2",
        "--batch_size", "2", "--labeled_bs", "1", "--patch_size", "32,32", "--model_options",
        "feature_chns=4,8,16,32,64", "--validate_every", "1000", "--workers", "1", "--snapshot_root",
        dir.resolve("model").toString(), "--quiet"};
  }

  private static String[] with(String[] base, String... more) {
    String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  @Test
  void trainCctRuns(@TempDir Path dir) throws Exception {
    assertTrue(TrainCCT.run(tinyRun(dir)) == 0);
    Path log = dir.resolve("model/ACDC/Cross_Consistency_Training_7_labeled/unet_cct/log.txt");
    assertTrue(Files.readString(log).contains("iteration 2 : loss : "), Files.readString(log));
  }

  @Test
  void trainFixMatchRunsBothScripts(@TempDir Path dir) throws Exception {
    assertTrue(TrainFixMatch.run(tinyRun(dir)) == 0);
    String log = Files.readString(dir.resolve("model/ACDC/FixMatch_standard_augs_7/unet/log.txt"));
    assertTrue(log.contains("iteration 2 : model loss : "), log);
    assertTrue(TrainFixMatch.run(with(tinyRun(dir.resolve("cta")), "--cta", "--extra",
        "fixmatch_cta_nonzero_ratio=batch")) == 0);
    String ctaLog = Files.readString(dir.resolve("cta/model/ACDC/FixMatch_7/unet/log.txt"));
    assertTrue(ctaLog.contains("Weak Policy: [OP(f="), ctaLog);
  }
}
