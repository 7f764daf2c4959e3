package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.networks.Perturbations;
import org.ssl4mis.networks.UNetCCT;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Methods;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * Cross-consistency training against {@code cct_trace.py}, a restatement of the script's loop: ten iterations
 * of the engine's {@link Optimization} (step, SGD, poly rate) on fixed batches from the same initial weights.
 * The auxiliary decoders' perturbations are random in both programs, so the test draws them (noise maps,
 * dropout masks, FeatureDropout fractions) and both sides apply the same ones; FeatureDropout's keep masks, a
 * threshold on the features, are the ones Java computed, recorded for Python. The perturbation functions
 * themselves are {@code Perturbations}' own tests' business.
 */
@SuppressWarnings("try") // memory scopes act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class CrossConsistencyTrainingTest {
  private static final int ITERATIONS = 10;
  private static final int N = 6;
  private static final int LB = 3;
  private static final int MAX_ITERATIONS = 12;

  /** The perturbations of one iteration: per encoder stage a noise map, a dropout mask and a fraction. */
  private record Drawn(List<Tensor> noise, List<Tensor> masks, double[] fractions) {}

  @Test
  void tenIterationsFollowThePythonLoop(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(61);
    Networks.Network built = MethodTestSupport.network("unet_cct", "0,0,0,0,0");
    UNetCCT cct = (UNetCCT) built.module();
    Checkpoints.saveStateDict(cct, dir.resolve("model.pth"));
    TrainConfig config = new TrainConfig("cct", 2, "/nonexistent", "test/cct", "unet_cct", MAX_ITERATIONS, N, true,
        0.01, new int[] {MethodTestSupport.SIDE, MethodTestSupport.SIDE}, 1337, MethodTestSupport.CLASSES, LB, 7, 0,
        0.99, "mse", 0.5, 0.0, "cpu", 0, 0, false, true, "/nonexistent", 200, 3000,
        MethodTestSupport.referenceLayout(Map.of()));

    Map<String, Object> trace = new LinkedHashMap<>();
    trace.put("labeled_bs", (long) LB);
    trace.put("num_classes", (long) MethodTestSupport.CLASSES);
    trace.put("base_lr", 0.01);
    trace.put("max_iterations", (long) MAX_ITERATIONS);
    trace.put("consistency", 0.5);
    trace.put("consistency_rampup", 0.0);
    trace.put("iterations", (long) ITERATIONS);
    List<Tensor[]> batches = new ArrayList<>();
    List<Drawn> drawn = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(62);
    int[] widths = {4, 8, 16, 32, 64};
    for (int it = 0; it < ITERATIONS; it++) {
      Tensor[] b = MethodTestSupport.batch(N, 630 + it);
      batches.add(b);
      trace.put("image_" + it, b[0]);
      trace.put("label_" + it, b[1]);
      List<Tensor> noise = new ArrayList<>();
      List<Tensor> masks = new ArrayList<>();
      double[] fractions = new double[5];
      for (int k = 0; k < 5; k++) {
        int side = MethodTestSupport.SIDE >> k;
        float[] n = new float[widths[k] * side * side];
        float[] m = new float[N * n.length];
        for (int i = 0; i < n.length; i++) {
          n[i] = (float) (random.nextDouble() * 0.6 - 0.3);
        }
        for (int i = 0; i < m.length; i++) {
          m[i] = random.nextDouble() < Perturbations.DROPOUT_P ? 0f : (float) (1 / (1 - Perturbations.DROPOUT_P));
        }
        fractions[k] = Perturbations.FEATURE_DROPOUT_LOW
            + random.nextDouble() * (Perturbations.FEATURE_DROPOUT_HIGH - Perturbations.FEATURE_DROPOUT_LOW);
        noise.add(Tensors.fromFloats(n, widths[k], side, side));
        masks.add(Tensors.fromFloats(m, N, widths[k], side, side));
        trace.put("noise_" + it + "_" + k, noise.get(k));
        trace.put("mask_" + it + "_" + k, masks.get(k));
        trace.put("fraction_" + it + "_" + k, fractions[k]);
      }
      drawn.add(new Drawn(noise, masks, fractions));
    }

    int[] call = {0};
    Map<String, long[]> keeps = new LinkedHashMap<>();
    Map<String, float[]> keepValues = new LinkedHashMap<>();
    Networks.Network withGivenPerturbations = new Networks.Network("unet_cct", cct, x -> {
      Drawn d = drawn.get(call[0]++);
      List<Tensor> features = cct.encode(x);
      List<Tensor> noisy = new ArrayList<>();
      List<Tensor> dropped = new ArrayList<>();
      List<Tensor> featureDropped = new ArrayList<>();
      for (int k = 0; k < 5; k++) {
        Tensor f = features.get(k);
        noisy.add(f.mul(d.noise().get(k).unsqueeze(0)).add(f));
        dropped.add(f.mul(d.masks().get(k)));
        // the keep mask Java computed goes to Python as it is: a threshold on features, it would flip on
        // float32 differences between the programs
        Tensor keep = featureDropoutMask(f, d.fractions()[k]);
        keeps.put("keep_" + (call[0] - 1) + "_" + k, Tensors.shape(keep)); // values copied out of the iteration's scope
        keepValues.put("keep_" + (call[0] - 1) + "_" + k, Tensors.toFloats(keep));
        featureDropped.add(f.mul(keep));
      }
      return List.of(cct.decodeMain(features), cct.auxDecoderUnperturbed(1, noisy),
          cct.auxDecoderUnperturbed(2, dropped), cct.auxDecoderUnperturbed(3, featureDropped));
    });
    Optimization optimization = new Optimization(config, new CrossConsistencyTraining(),
        List.of(withGivenPerturbations), null);
    List<Map<String, Double>> scalars = new ArrayList<>();
    double[] losses = new double[ITERATIONS];
    double[] rates = new double[ITERATIONS];
    for (int it = 0; it < ITERATIONS; it++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Optimization.Outcome o = optimization.iterate(it, batches.get(it)[0], batches.get(it)[1]);
        losses[it] = o.loss();
        rates[it] = o.learningRate();
        scalars.add(o.scalars());
      }
    }

    keeps.forEach((key, shape) -> trace.put(key, Tensors.fromFloats(keepValues.get(key), shape)));
    Checkpoints.saveTree(dir.resolve("trace.pth"), trace);
    Map<String, Double> py = MethodTestSupport.python("cct_trace.py", dir.resolve("model.pth").toString(),
        dir.resolve("trace.pth").toString(), dir.resolve("python_final.pth").toString());
    for (int it = 0; it < ITERATIONS; it++) {
      Map<String, Double> s = scalars.get(it);
      assertEquals(List.of("info/loss_ce", "info/loss_dice", "info/consistency_loss", "info/consistency_weight"),
          List.copyOf(s.keySet()));
      assertClose(py.get("loss_" + it), losses[it], 1e-4, 1e-7, "loss at iteration " + it);
      assertClose(py.get("loss_ce_" + it), s.get("info/loss_ce"), 1e-4, 1e-7, "loss_ce at iteration " + it);
      assertClose(py.get("loss_dice_" + it), s.get("info/loss_dice"), 1e-4, 1e-7, "loss_dice at iteration " + it);
      // a mean of squared differences of nearly equal probabilities: float32 rounding of the two programs
      // shows relatively more in it than in the loss, so it is held to 1e-4 of the loss
      assertClose(py.get("consistency_loss_" + it), s.get("info/consistency_loss"), 1e-4, 1e-4 * losses[it],
          "consistency_loss at iteration " + it);
      assertClose(py.get("consistency_weight_" + it), s.get("info/consistency_weight"), 1e-12, 0, "weight " + it);
      assertClose(py.get("lr_" + it), rates[it], 1e-12, 0, "lr after iteration " + it);
    }
    assertTrue(scalars.get(0).get("info/consistency_loss") > 1e-5, "the perturbed decoders disagree with the main one");
    assertTrue(losses[ITERATIONS - 1] < losses[0], "the loss falls: " + Arrays.toString(losses));
    // four decoders' gradients summed into the encoder in float32 by two programs: after ten momentum steps the
    // first convolution differs by 1.8e-4 of its largest weight and its BatchNorm bias (still near 0) by 1.8e-5
    // (measured), so each tensor is held to 5e-4 of its scale plus 5e-5
    MethodTestSupport.assertSameWeights(Checkpoints.loadStateDict(dir.resolve("python_final.pth")),
        StateDict.of(cct), 5e-4, 5e-5, "model after " + ITERATIONS + " iterations");
  }

  /** {@code FeatureDropout}'s keep mask with its random fraction given. */
  private static Tensor featureDropoutMask(Tensor x, double fraction) {
    Tensor attention = x.mean(new long[] {1}, true, new ScalarTypeOptional());
    Tensor max = attention.reshape(x.size(0), -1).amax(new long[] {1}, true);
    Tensor threshold = max.mul(new Scalar(fraction)).reshape(x.size(0), 1, 1, 1).expand_as(attention);
    return attention.lt(threshold).to(x.scalar_type());
  }

  @Test
  void aNetworkWithoutAuxiliaryDecodersIsReportedAndTheDefaultsAreTheScripts() {
    Networks.Network unet = MethodTestSupport.deterministicUnet();
    CrossConsistencyTraining method = new CrossConsistencyTraining();
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor[] b = MethodTestSupport.batch(4, 64);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> method.step(new TrainingContext(
          MethodTestSupport.config("cct", "unet", 4, 2, 0.1, Map.of()), unet, null, 0), b[0], b[1]));
      assertTrue(e.getMessage().contains("unet_cct"), e.getMessage());
    }
    assertEquals("cct", method.name());
    assertFalse(method.usesEmaModel());
    assertEquals("train_cross_consistency_training_2D.py", method.referenceScript(2));
    assertEquals(Map.of("exp", "ACDC/Cross_Consistency_Training", "labeled_num", "7", "model", "unet_cct"),
        method.defaults(2));
    assertThrows(IllegalArgumentException.class, () -> method.defaults(3));
    assertEquals("cct", Methods.create("cross_consistency_training").name());
  }
}
