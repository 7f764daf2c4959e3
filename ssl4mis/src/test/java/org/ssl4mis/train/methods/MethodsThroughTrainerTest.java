package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.SummarySink;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.Trainer;
import org.ssl4mis.train.TrainingContext;

/**
 * The four methods inside the real {@link Trainer} (per-iteration memory scopes, SGD, EMA, poly learning rate)
 * for a few iterations on a small synthetic ACDC set: every iteration's terms arrive under the script's tags
 * and stay finite, and R-Drop's second network, built inside the engine's loop, survives the scopes and is
 * trained.
 */
class MethodsThroughTrainerTest {
  private static final int ITERATIONS = 8;
  private static final String WEIGHT = "decoder.out_conv.weight";

  @TempDir
  static Path dir;
  private static Path data;

  @BeforeAll
  static void syntheticAcdc() throws Exception {
    MethodTestSupport.oneThread();
    data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "4", "--seed", "3", "--size",
        "64,64", "--slices_per_case", "6"));
  }

  @AfterAll
  static void restoreThreads() {
    MethodTestSupport.restoreThreads();
  }

  /** Scalars by tag, in step order. */
  private static final class Recorder implements SummarySink {
    final Map<String, List<Double>> scalars = new LinkedHashMap<>();

    @Override
    public void scalar(String tag, double value, long step) {
      scalars.computeIfAbsent(tag, t -> new ArrayList<>()).add(value);
    }

    @Override
    public void images(Tensor volumeBatch, Tensor outputs, Tensor labelBatch, long step) {}

    @Override
    public void close() {}
  }

  private static Recorder run(Method method, String model, Map<String, String> extra) throws Exception {
    TrainConfig config = new TrainConfig(method.name(), 2, data.toString(), "test/" + method.name(), model, ITERATIONS,
        4, true, 0.01, new int[] {32, 32}, 7, 4, 2, 7, 8, 0.99, "mse", 0.1, 200.0, "cpu", 1, 1, false, true,
        dir.resolve("model").toString(), 1000, 1000, extra);
    Recorder sink = new Recorder();
    Trainer.Result r = new Trainer(config, method, new PrintStream(PrintStream.nullOutputStream())).run(null, sink);
    assertEquals(ITERATIONS, r.iterations());
    assertEquals(ITERATIONS, sink.scalars.get("info/total_loss").size());
    for (double v : sink.scalars.get("info/total_loss")) {
      assertTrue(Double.isFinite(v), method.name() + ": " + sink.scalars.get("info/total_loss"));
    }
    return sink;
  }

  private static void assertTags(Recorder sink, String... tags) {
    for (String tag : tags) {
      assertNotNull(sink.scalars.get(tag), "tag " + tag + " in " + sink.scalars.keySet());
      assertEquals(ITERATIONS, sink.scalars.get(tag).size(), tag);
    }
  }

  @Test
  void ictEmAndUrpcRunInTheEngine() throws Exception {
    String[] common = {"info/loss_ce", "info/loss_dice", "info/consistency_loss", "info/consistency_weight"};
    assertTags(run(new InterpolationConsistency(), "unet", Map.of()), common);
    assertTags(run(new EntropyMinimization(), "unet", Map.of()), common);
    assertTags(run(new UncertaintyRectifiedPyramidConsistency(), "unet_urpc", Map.of()), common);
  }

  @Test
  void rdropsSecondNetworkSurvivesTheEnginesScopesAndIsTrained() throws Exception {
    RegularizedDropout rdrop = new RegularizedDropout();
    float[][] initial = new float[1][];
    // a thin wrapper that looks at model2 before the step of iteration 1 applies iteration 0's update
    Method probe = new Method() {
      @Override
      public String name() {
        return rdrop.name();
      }

      @Override
      public String referenceScript(int d) {
        return rdrop.referenceScript(d);
      }

      @Override
      public boolean usesEmaModel() {
        return rdrop.usesEmaModel();
      }

      @Override
      public Map<String, String> defaults(int d) {
        return rdrop.defaults(d);
      }

      @Override
      public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
        if (ctx.iterNum() == 1) {
          initial[0] = Tensors.toFloats(StateDict.parameters(rdrop.secondModel().module()).get(WEIGHT));
        }
        return rdrop.step(ctx, volumeBatch, labelBatch);
      }
    };
    Recorder sink = run(probe, "unet", Map.of("model_options", "feature_chns=" + MethodTestSupport.WIDTHS));
    assertTags(sink, "consistency_weight/consistency_weight", "loss/model1_loss", "loss/model2_loss",
        "loss/r_drop_loss");
    assertNotNull(initial[0]);
    float[] now = Tensors.toFloats(StateDict.parameters(rdrop.secondModel().module()).get(WEIGHT));
    assertFalse(Arrays.equals(initial[0], now), "model2 was updated by its own optimizer");
    assertEquals(4, StateDict.parameters(rdrop.secondModel().module()).get(WEIGHT).size(1),
        "model2 has the --model_options widths");
    for (float v : now) {
      assertTrue(Float.isFinite(v));
    }
  }
}
