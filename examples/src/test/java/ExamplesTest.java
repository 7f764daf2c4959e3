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

/** Every example runs (briefly) so the documented programs cannot rot. */
class ExamplesTest {
  /** The training examples by method. */
  private static final Map<String, ToIntFunction<String[]>> TRAIN = Map.of("supervised", TrainSupervised::run, "mt",
      TrainMeanTeacher::run, "uamt", TrainUAMT::run, "ict", TrainICT::run, "em", TrainEntropyMinimization::run, "urpc",
      TrainURPC::run, "rdrop", TrainRDrop::run);

  /** One synthetic set for all of them (the first example makes it, the others reuse it). */
  @TempDir
  static Path dir;

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

  /** Each training example, two iterations of tiny networks on a tiny synthetic set, says where its outputs are. */
  @ParameterizedTest
  @ValueSource(strings = {"supervised", "mt", "uamt", "ict", "em", "urpc", "rdrop"})
  void trainingExampleRuns(String method) throws Exception {
    Path models = dir.resolve("model-" + method);
    List<String> args = new ArrayList<>(List.of("--synthetic", "4", "--synthetic_size", "64,64", "--synthetic_dir",
        dir.resolve("ACDC").toString(), "--snapshot_root", models.toString(), "--max_iterations", "2", "--batch_size",
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
    assertEquals(2, TrainMeanTeacher.run("--synthetic", "4", "--root_path", dir.toString()));
  }

  @Test
  void quickStartRuns() {
    String text = captured(() -> QuickStart.main(new String[] {"2"}));
    assertTrue(text.contains("136 state-dict entries"), text);
    assertTrue(text.contains("iteration 2: loss"), text);
  }
}
