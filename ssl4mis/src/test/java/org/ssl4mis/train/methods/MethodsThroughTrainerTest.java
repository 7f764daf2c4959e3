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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.Main;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.SummarySink;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.Trainer;
import org.ssl4mis.train.Validator;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;

/**
 * The four methods inside the real {@link Trainer} (per-iteration memory scopes, SGD, EMA, poly learning rate)
 * for a few iterations on a small synthetic ACDC set: every iteration's terms arrive under the script's tags
 * and stay finite; R-Drop's two networks are both trained, validated, saved under the script's names and
 * resumed exactly.
 */
@ExtendWith(OneIntraOpThread.class)
class MethodsThroughTrainerTest {
  private static final int ITERATIONS = 8;
  private static final String WEIGHT = "decoder.out_conv.weight";

  @TempDir
  static Path dir;
  private static Path data;

  @BeforeAll
  static void syntheticAcdc() throws Exception {
    data = dir.resolve("ACDC");
    assertEquals(0, Main.run("synth", "acdc", "--out", data.toString(), "--cases", "4", "--seed", "3", "--size",
        "64,64", "--slices_per_case", "6"));
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
    return run(method, model, extra, dir.resolve("model"), false, 1000, null);
  }

  private static Recorder run(Method method, String model, Map<String, String> extra, Path snapshotRoot,
      boolean resume, int validateEvery, Validator validator) throws Exception {
    TrainConfig config = new TrainConfig(method.name(), 2, data.toString(), "test/" + method.name(), model, ITERATIONS,
        4, true, 0.01, new int[] {32, 32}, 7, 4, 2, 7, 8, 0.99, "mse", 0.1, 200.0, "cpu", 1, 1, resume, true,
        snapshotRoot.toString(), validateEvery, 1000, extra);
    Recorder sink = new Recorder();
    Trainer.Result r = new Trainer(config, method, new PrintStream(PrintStream.nullOutputStream())).run(validator, sink);
    double phases = r.phaseSeconds().values().stream().mapToDouble(Double::doubleValue).sum();
    assertTrue(r.phaseSeconds().get(org.ssl4mis.train.PhaseTimes.Phase.FORWARD_LOSS) > 0, "forward time measured");
    assertEquals(r.seconds(), phases, 0.02 * r.seconds() + 1e-3, "the phases add up to the loop's time");
    String stopAt = extra.get("stop_at");
    assertEquals(stopAt == null ? ITERATIONS : Integer.parseInt(stopAt), r.iterations());
    if (method.totalLossTag() != null) {
      assertNotNull(sink.scalars.get(method.totalLossTag()), method.name() + ": " + sink.scalars.keySet());
    }
    for (Map.Entry<String, List<Double>> series : sink.scalars.entrySet()) { // every loss term, weight and rate
      for (double v : series.getValue()) {
        assertTrue(Double.isFinite(v), method.name() + " " + series.getKey() + ": " + series.getValue());
      }
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
  void rdropTrainsValidatesSavesAndResumesBothNetworks() throws Exception {
    // snapshot_name as the script's defaults give it (the train command passes them in)
    Map<String, String> extra = Map.of("model_options", "feature_chns=" + MethodTestSupport.WIDTHS, "snapshot_name",
        new RegularizedDropout().defaults(2).get("snapshot_name"));
    Validator validator = net -> new double[][] {{0.5, 2}, {0.5, 2}, {0.5, 2}};
    Path whole = dir.resolve("rdrop-whole");
    Recorder sink = run(new RegularizedDropout(), "unet", extra, whole, false, 4, validator);
    assertTags(sink, "lr", "consistency_weight/consistency_weight", "loss/model1_loss", "loss/model2_loss",
        "loss/r_drop_loss");
    assertFalse(sink.scalars.containsKey("info/total_loss"), "the script writes no total loss");
    assertEquals(List.of(0.5, 0.5), sink.scalars.get("info/model2_val_mean_dice")); // iterations 4 and 8
    Path snapshot = whole.resolve("test/rdrop_7/unet"); // the script's folder: {exp}_{labeled_num}, no _labeled
    for (String f : List.of("model1_iter_4_dice_0.5.pth", "model2_iter_4_dice_0.5.pth", "unet_best_model1.pth",
        "unet_best_model2.pth", "training_state.pth", "log.txt")) {
      assertTrue(java.nio.file.Files.exists(snapshot.resolve(f)), f + " in " + snapshot);
    }
    Map<String, Tensor> model1 = studentWeights(snapshot, "model1");
    Map<String, Tensor> model2 = studentWeights(snapshot, "model2");
    // the engine seeds libtorch with --seed before building model1 then model2: reproduce their initial weights
    org.ssl4mis.runtime.NativeRuntime.seed(7);
    Networks.Options o = Networks.Options.parse(extra.get("model_options"));
    Networks.Network init1 = Networks.create("unet", 1, 4, o);
    Networks.Network init2 = Networks.create("unet", 1, 4, o);
    assertFalse(Arrays.equals(Tensors.toFloats(StateDict.of(init2.module()).get(WEIGHT)),
        Tensors.toFloats(model2.get(WEIGHT))), "model2 was trained");
    assertFalse(Arrays.equals(Tensors.toFloats(StateDict.of(init1.module()).get(WEIGHT)),
        Tensors.toFloats(model1.get(WEIGHT))), "model1 was trained");

    Path split = dir.resolve("rdrop-split");
    Map<String, String> stop = new LinkedHashMap<>(extra);
    stop.put("stop_at", "3");
    run(new RegularizedDropout(), "unet", stop, split, false, 4, validator);
    run(new RegularizedDropout(), "unet", extra, split, true, 4, validator);
    Path resumed = split.resolve("test/rdrop_7/unet");
    for (String name : List.of("model1", "model2")) {
      Map<String, Tensor> a = studentWeights(snapshot, name);
      Map<String, Tensor> b = studentWeights(resumed, name);
      for (String key : a.keySet()) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(Tensors.toFloats(a.get(key)), Tensors.toFloats(b.get(key)),
            name + "." + key + ": stopped at 3 and resumed = uninterrupted");
      }
    }
  }

  @Test
  void cpsSavesBothNetworksUnderTheScriptsNamesAndResumesExactly() throws Exception {
    Map<String, String> extra = new LinkedHashMap<>(new CrossPseudoSupervision().defaults(2));
    extra.remove("exp");
    extra.remove("labeled_num");
    extra.put("model_options", "feature_chns=" + MethodTestSupport.WIDTHS);
    Validator validator = net -> new double[][] {{0.7, 2}, {0.7, 2}, {0.7, 2}};
    Path whole = dir.resolve("cps-whole");
    Recorder sink = run(new CrossPseudoSupervision(), "unet", extra, whole, false, 4, validator);
    assertTags(sink, "lr", "consistency_weight/consistency_weight", "loss/model1_loss", "loss/model2_loss");
    assertFalse(sink.scalars.containsKey("info/total_loss"), "the script writes no total loss");
    Path snapshot = whole.resolve("test/cps_7/unet");
    // the 2D script's quirk: round(best_performance2) without digits for model2
    for (String f : List.of("model1_iter_4_dice_0.7.pth", "model2_iter_4_dice_1.pth", "unet_best_model1.pth",
        "unet_best_model2.pth")) {
      assertTrue(java.nio.file.Files.exists(snapshot.resolve(f)), f + " in " + snapshot);
    }
    Path split = dir.resolve("cps-split");
    Map<String, String> stop = new LinkedHashMap<>(extra);
    stop.put("stop_at", "5");
    run(new CrossPseudoSupervision(), "unet", stop, split, false, 4, validator);
    run(new CrossPseudoSupervision(), "unet", extra, split, true, 4, validator);
    Path resumed = split.resolve("test/cps_7/unet");
    for (String name : List.of("model1", "model2")) {
      Map<String, Tensor> a = studentWeights(snapshot, name);
      Map<String, Tensor> b = studentWeights(resumed, name);
      for (String key : a.keySet()) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(Tensors.toFloats(a.get(key)), Tensors.toFloats(b.get(key)),
            name + "." + key + ": stopped at 5 and resumed = uninterrupted");
      }
    }
  }

  private static Map<String, Tensor> studentWeights(Path snapshot, String name) throws Exception {
    Map<?, ?> root = (Map<?, ?>) Checkpoints.loadTree(snapshot.resolve("training_state.pth"));
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) ((Map<?, ?>) root.get("students")).get(name)).entrySet()) {
      if (e.getValue() instanceof Tensor t && t.is_floating_point()) {
        out.put((String) e.getKey(), t);
      }
    }
    return out;
  }
}
