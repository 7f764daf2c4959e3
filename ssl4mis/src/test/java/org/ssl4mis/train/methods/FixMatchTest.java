package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.data.BatchLoader;
import org.ssl4mis.data.Volume;
import org.ssl4mis.data.fixmatch.CTAugment;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Methods;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingData;

/**
 * The two FixMatch scripts' loops against {@code fixmatch_trace.py} (ten iterations of the engine's
 * {@link Optimization} on given weak/strong/label batches from the same initial weights: only the loop is
 * compared, the augmentations have their own Pillow-exact tests), and the CTA script's policy schedule.
 */
@SuppressWarnings("try") // memory scopes act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class FixMatchTest {
  private static final int ITERATIONS = 10;
  private static final int N = 6;
  private static final int LB = 3;
  private static final int MAX_ITERATIONS = 12;

  private static TrainConfig config(String method, Map<String, String> extra) {
    return new TrainConfig(method, 2, "/nonexistent", "test/" + method, "unet", MAX_ITERATIONS, N, true, 0.01,
        new int[] {MethodTestSupport.SIDE, MethodTestSupport.SIDE}, 1337, MethodTestSupport.CLASSES, LB, 7, 0, 0.99,
        "mse", 1.0, 0.0, "cpu", 0, 0, false, true, "/nonexistent", 200, 3000, MethodTestSupport.referenceLayout(extra));
  }

  @Test
  void standardAugsTenIterationsFollowThePythonLoop(@TempDir Path dir) throws Exception {
    trace(dir, new FixMatchStandardAugs(), "standard", 71);
  }

  @Test
  void ctaTenIterationsFollowThePythonLoop(@TempDir Path dir) throws Exception {
    trace(dir, new FixMatchCta(), "cta", 72);
  }

  private static void trace(Path dir, Method method, String mode, long seed) throws Exception {
    MethodTestSupport.seed(seed);
    Networks.Network model = MethodTestSupport.deterministicUnet();
    Checkpoints.saveStateDict(model.module(), dir.resolve("model.pth"));
    Networks.Network ema = null;
    if (method.usesEmaModel()) {
      ema = MethodTestSupport.deterministicUnet();
      Checkpoints.loadInto(ema.module(), dir.resolve("model.pth"));
      for (Tensor p : StateDict.parameters(ema.module()).values()) {
        p.detach_();
      }
    }
    TrainConfig config = config(method.name(), Map.of("conf_thresh", "0.5"));
    Map<String, Object> trace = new LinkedHashMap<>();
    trace.put("labeled_bs", (long) LB);
    trace.put("num_classes", (long) MethodTestSupport.CLASSES);
    trace.put("base_lr", 0.01);
    trace.put("max_iterations", (long) MAX_ITERATIONS);
    trace.put("batch_size", (long) N);
    trace.put("side", (long) MethodTestSupport.SIDE);
    trace.put("conf_thresh", 0.5);
    trace.put("ema_decay", 0.99);
    trace.put("consistency", 1.0);
    trace.put("consistency_rampup", 0.0);
    trace.put("iterations", (long) ITERATIONS);
    List<Tensor[]> batches = new ArrayList<>();
    for (int it = 0; it < ITERATIONS; it++) {
      Tensor[] b = MethodTestSupport.batch(N, seed * 100 + it);
      // a "strong" view: contrast and brightness changed per sample, as a colour jitter does
      Tensor strong = b[0].mul(new Scalar(0.7 + 0.05 * it)).add(new Scalar(0.1));
      batches.add(new Tensor[] {b[0], strong, b[1]});
      trace.put("weak_" + it, b[0]);
      trace.put("strong_" + it, strong);
      trace.put("label_" + it, b[1]);
    }
    Checkpoints.saveTree(dir.resolve("trace.pth"), trace);

    Optimization optimization = new Optimization(config, method, List.of(model), ema);
    double[] losses = new double[ITERATIONS];
    double[] rates = new double[ITERATIONS];
    List<Map<String, Double>> scalars = new ArrayList<>();
    for (int it = 0; it < ITERATIONS; it++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Tensor[] b = batches.get(it);
        Optimization.Outcome o = optimization.iterate(it, b[0], b[2], Map.of("image_strong", b[1]));
        losses[it] = o.loss();
        rates[it] = o.learningRate();
        scalars.add(o.scalars());
      }
    }
    Map<String, Double> py = MethodTestSupport.python("fixmatch_trace.py", mode, dir.resolve("model.pth").toString(),
        dir.resolve("trace.pth").toString(), dir.resolve("python_final.pth").toString());
    for (int it = 0; it < ITERATIONS; it++) {
      assertEquals(List.of("consistency_weight/consistency_weight"), List.copyOf(scalars.get(it).keySet()));
      assertClose(py.get("loss_" + it), losses[it], 1e-4, 1e-7, mode + " loss at iteration " + it);
      assertClose(py.get("weight_" + it), scalars.get(it).get("consistency_weight/consistency_weight"), 1e-12, 0,
          "weight " + it);
      assertClose(py.get("lr_" + it), rates[it], 1e-12, 0, "lr after iteration " + it);
    }
    assertTrue(losses[ITERATIONS - 1] < losses[0], "the loss falls: " + Arrays.toString(losses));
    MethodTestSupport.assertSameWeights(Checkpoints.loadStateDict(dir.resolve("python_final.pth")), StateDict.of(model.module()),
        mode + " model");
    if (ema != null) {
      MethodTestSupport.assertSameWeights(Checkpoints.loadStateDict(dir.resolve("python_final_ema.pth")),
          StateDict.of(ema.module()),
          mode + " ema_model");
    }
  }

  /**
   * The CTA script's schedule: one pair of policies per epoch for every sample of it, a skipped batch refreshes
   * the main-process policies only, and after the epoch the rates move by {@code update_rates(ops, 1 - 0.5 *
   * mean(0.5 * loss))} for the policies current then; a replay on a second {@link CTAugment} with the same draws
   * gives the same rates.
   */
  @Test
  void ctaPoliciesArePerEpochAndTheRatesFollowTheEpochsMeanLoss() {
    TrainConfig config = config("fixmatch_cta", Map.of("fixmatch_cta_nonzero_ratio", "batch"));
    int batchesPerEpoch = 3;
    FixMatchCta.CtaData data = (FixMatchCta.CtaData) new FixMatchCta().trainingData(config, batchesPerEpoch);
    // the replay: the same generator, the script's draw order (initial pair, then one pair per refresh)
    CTAugment replay = new CTAugment();
    SplittableRandom random = new SplittableRandom(NativeRuntime.mix(config.seed(), "cta/policy"));
    replay.policy(false, true, random);
    replay.policy(false, false, random);
    List<String> log = new ArrayList<>();

    assertTrue(data.beforeBatch(0, log::add));
    List<CTAugment.OpChoice> weak0 = replay.policy(false, true, random);
    List<CTAugment.OpChoice> strong0 = replay.policy(false, false, random);
    assertEquals(weak0, data.opsWeak());
    assertEquals(strong0, data.opsStrong());
    assertEquals(List.of("\nWeak Policy: " + weak0, "Strong Policy: " + strong0), log);
    FixMatchCta.Policies epoch0 = data.policiesOfEpoch(0);
    assertEquals(weak0, epoch0.weak());

    try (MemoryScope scope = MemoryScope.open()) {
      BatchLoader.Batch labelled = batch(0, 0.5);
      BatchLoader.Batch empty = batch(1, 0.0);
      assertTrue(data.accept(labelled, log::add));
      data.afterStep(labelled, 0.8);
      // batch 1: nearly no foreground: skipped, and the main process's policies are refreshed
      log.clear();
      assertFalse(data.accept(empty, log::add));
      assertEquals("Refreshing policy...", log.get(0));
      List<CTAugment.OpChoice> weakRefreshed = replay.policy(false, true, random);
      List<CTAugment.OpChoice> strongRefreshed = replay.policy(false, false, random);
      assertEquals(weakRefreshed, data.opsWeak());
      assertSame(epoch0, data.policiesOfEpoch(0), "the epoch's samples keep the epoch's policies");
      assertTrue(data.beforeBatch(2, log::add));
      data.afterStep(labelled, 0.4);

      // epoch 1 starts: the rates move for the refreshed policies with p = 1 - 0.5 * mean(0.4, 0.2)
      assertTrue(data.beforeBatch(3, log::add));
      double proximity = 1 - 0.5 * ((0.5 * 0.8 + 0.5 * 0.4) / 2);
      replay.updateRates(weakRefreshed, proximity);
      replay.updateRates(strongRefreshed, proximity);
      for (var e : replay.rates().entrySet()) {
        assertTrue(Arrays.deepEquals(e.getValue(), data.cta.rates(e.getKey())), e.getKey() + " rates");
      }
      assertNotEquals(new CTAugment().rates(weakRefreshed.get(0).op())[0][0], 0f);
      assertEquals(replay.policy(false, true, random), data.policiesOfEpoch(1).weak());
    }
    // an epoch without a step: the script's np.mean([]) is NaN and its next draw fails; here a clear error
    IllegalStateException allSkipped = assertThrows(IllegalStateException.class, () -> data.beforeBatch(6, s -> {}));
    assertTrue(allSkipped.getMessage().contains("fixmatch_cta_nonzero_ratio"), allSkipped.getMessage());
    // max_iterations 12 // 3 + 1 = 5 epochs: the run ends when a sixth would start
    try (MemoryScope scope = MemoryScope.open()) {
      data.afterStep(batch(9, 0.5), 0.3);
      assertTrue(data.beforeBatch(12, s -> {}));
      data.afterStep(batch(12, 0.5), 0.3);
      assertFalse(data.beforeBatch(15, s -> {}));
    }
    data.close();
    assertThrows(IllegalStateException.class, () -> data.policiesOfEpoch(9), "a waiting loader thread gives up");
  }

  /** A batch of N 4x4 labels whose first {@code fraction} of pixels are foreground. */
  private static BatchLoader.Batch batch(long number, double fraction) {
    long[] labels = new long[N * 16];
    for (int i = 0; i < (int) (fraction * labels.length); i++) {
      labels[i] = 1;
    }
    Tensor image = Tensors.fromFloats(new float[N * 16], N, 1, 4, 4);
    return new BatchLoader.Batch(number, image, Tensors.fromLongs(labels, N, 4, 4), new int[N], List.of());
  }

  @Test
  void theSkipTestIsTheScriptsAndTheOptionsAreChecked() {
    // count / (24 * 256 * 256) <= 0.02: a 64x64 batch of 4 is always skipped by the script's constant
    assertTrue(FixMatchCta.unfavorable(4 * 64 * 64, FixMatchCta.REFERENCE_NONZERO_DENOMINATOR));
    assertFalse(FixMatchCta.unfavorable(31458, FixMatchCta.REFERENCE_NONZERO_DENOMINATOR));
    assertTrue(FixMatchCta.unfavorable(31457, FixMatchCta.REFERENCE_NONZERO_DENOMINATOR));
    assertFalse(FixMatchCta.unfavorable(400, 4 * 64 * 64));
    assertThrows(IllegalArgumentException.class, () -> new FixMatchCta().trainingData(
        config("fixmatch_cta", Map.of("fixmatch_cta_nonzero_ratio", "x")), 3));
    assertThrows(IllegalArgumentException.class, () -> new FixMatchStandardAugs().trainingData(
        config("fixmatch", Map.of("conf_thresh", "high")), 3));
    FixMatchCta cta = (FixMatchCta) Methods.create("fixmatch_cta");
    assertTrue(cta.usesEmaModel());
    assertTrue(cta.learningRateOneAhead());
    assertEquals("train_fixmatch_cta.py", cta.referenceScript(2));
    assertEquals(Map.of("exp", "ACDC/FixMatch", "labeled_num", "7", "snapshot_name", "{exp}_{labeled_num}",
        "conf_thresh", "0.8"), cta.defaults(2));
    FixMatchStandardAugs standard = (FixMatchStandardAugs) Methods.create("fixmatch");
    assertFalse(standard.usesEmaModel());
    assertFalse(standard.learningRateOneAhead());
    assertEquals("ACDC/FixMatch_standard_augs", standard.defaults(2).get("exp"));
    assertEquals("model_", standard.studentPrefix("model", 1));
    assertEquals("iteration 3 : model loss : 0.500000", standard.logLine(3, 0.5, Map.of()));
    assertThrows(IllegalArgumentException.class, () -> standard.defaults(3));
    // the transform gives the weak view with its label and the strong view as an extra image
    TrainingData d = standard.trainingData(config("fixmatch", Map.of()), 3);
    float[] image = new float[40 * 48];
    byte[] label = new byte[image.length];
    for (int i = 0; i < image.length; i++) {
      image[i] = (i % 48) / 48f;
      label[i] = (byte) (i % 48 > 24 ? 1 : 0);
    }
    BatchLoader.Sample s = d.transform().apply(new Volume("case", image, label, new int[] {40, 48}), 0,
        new SplittableRandom(1));
    assertEquals(List.of(32, 32), Arrays.stream(s.volume().shape()).boxed().toList());
    assertEquals(Map.of("image_strong", 32 * 32), Map.of("image_strong", s.extraImages().get("image_strong").length));
  }
}
