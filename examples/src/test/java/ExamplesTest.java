import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;

/** Every example runs (briefly) so the documented programs cannot rot. */
class ExamplesTest {

  @Test
  void quickStartRuns() {
    PrintStream saved = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      QuickStart.main(new String[] {"2"});
    } finally {
      System.setOut(saved);
    }
    String text = captured.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("136 state-dict entries"), text);
    assertTrue(text.contains("iteration 2: loss"), text);
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
