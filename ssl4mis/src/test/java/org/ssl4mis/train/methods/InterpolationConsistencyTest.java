package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.Ema;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class InterpolationConsistencyTest {

  @Test
  void stepMatchesThePythonRestatementOfTheScript(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(11);
    Networks.Network student = MethodTestSupport.deterministicUnet();
    Networks.Network teacher = MethodTestSupport.deterministicUnet(); // different weights, as after EMA drift
    Tensor[] b = MethodTestSupport.batch(8, 5);
    double[] factors = {0.13, 0.71};
    TrainConfig config = MethodTestSupport.config("ict", "unet", 8, 4, 0.1, Map.of());
    Checkpoints.saveStateDict(student.module(), dir.resolve("student.pth"));
    Checkpoints.saveStateDict(teacher.module(), dir.resolve("teacher.pth"));
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("image", b[0]);
    tree.put("label", b[1]);
    tree.put("factors", org.ssl4mis.tensor.Tensors.fromDoubles(factors, factors.length));
    tree.put("labeled_bs", 4L);
    tree.put("num_classes", (long) MethodTestSupport.CLASSES);
    tree.put("consistency", 0.1);
    tree.put("consistency_rampup", 200.0);
    tree.put("iter_num", (long) MethodTestSupport.ITER);
    Checkpoints.saveTree(dir.resolve("batch.pth"), tree);

    InterpolationConsistency ict = new InterpolationConsistency((alpha, n) -> {
      assertEquals(InterpolationConsistency.DEFAULT_ICT_ALPHA, alpha, 0.0);
      assertEquals(2, n, "labeled_bs // 2 coefficients");
      return factors;
    });
    Method.StepLoss result;
    double total;
    try (MemoryScope scope = MemoryScope.open()) {
      result = ict.step(new TrainingContext(config, student, teacher, MethodTestSupport.ITER), b[0], b[1]);
      total = result.total().item_double();
      assertEquals(6, result.outputs().size(0), "4 labelled + 2 mixed images");
    }
    Map<String, Double> py = MethodTestSupport.python("ict_step.py", dir.resolve("student.pth").toString(),
        dir.resolve("teacher.pth").toString(), dir.resolve("batch.pth").toString());
    Map<String, Double> s = result.scalarView();
    assertEquals(result.scalarView().keySet().stream().toList(),
        List.of("info/loss_ce", "info/loss_dice", "info/consistency_loss", "info/consistency_weight"));
    assertClose(py.get("consistency_weight"), s.get("info/consistency_weight"), 1e-12, 0, "consistency_weight");
    assertClose(py.get("loss_ce"), s.get("info/loss_ce"), 1e-5, 1e-7, "loss_ce");
    assertClose(py.get("loss_dice"), s.get("info/loss_dice"), 1e-5, 1e-7, "loss_dice");
    assertClose(py.get("consistency_loss"), s.get("info/consistency_loss"), 1e-4, 1e-8, "consistency_loss");
    assertClose(py.get("loss"), total, 1e-5, 1e-7, "loss");
    assertTrue(s.get("info/consistency_loss") > 1e-5, "the consistency term is not trivially zero");
  }

  @Test
  void theScriptsSplitBroadcastsOrFailsAndTheFixPairsTheUnlabelledHalves() {
    MethodTestSupport.seed(12);
    Networks.Network student = MethodTestSupport.deterministicUnet();
    Networks.Network teacher = MethodTestSupport.deterministicUnet();
    try (MemoryScope scope = MemoryScope.open()) {
      // 5 images, 2 labelled: u0 = 1 image, u1 = 2 images, one coefficient -> u0 mixed with each image of u1
      Tensor[] b = MethodTestSupport.batch(5, 6);
      InterpolationConsistency ict = new InterpolationConsistency((a, n) -> new double[] {0.25});
      Method.StepLoss s = ict.step(new TrainingContext(MethodTestSupport.config("ict", "unet", 5, 2, 0.1, Map.of()),
          student, teacher, 0), b[0], b[1]);
      assertEquals(4, s.outputs().size(0));
      assertTrue(Double.isFinite(s.total().item_double()));

      // 9 images, 4 labelled: u0 = 2, u1 = 3 images with 2 coefficients: PyTorch cannot broadcast
      Tensor[] c = MethodTestSupport.batch(9, 7);
      InterpolationConsistency ict2 = new InterpolationConsistency((a, n) -> new double[n]);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ict2.step(new TrainingContext(
          MethodTestSupport.config("ict", "unet", 9, 4, 0.1, Map.of()), student, teacher, 0), c[0], c[1]));
      assertTrue(e.getMessage().contains("ict_split=unlabeled"), e.getMessage());

      // the fix: 5 unlabelled -> 2 pairs, the odd image left out
      InterpolationConsistency fixed = new InterpolationConsistency((a, n) -> {
        assertEquals(2, n);
        return new double[] {0.5, 0.5};
      });
      Method.StepLoss f = fixed.step(new TrainingContext(MethodTestSupport.config("ict", "unet", 9, 4, 0.1,
          Map.of("ict_split", "unlabeled")), student, teacher, 0), c[0], c[1]);
      assertEquals(6, f.outputs().size(0));
    }
  }

  @Test
  void betaDrawsAreSeededPerIterationAndHaveTheBetaMoments() {
    InterpolationConsistency a = new InterpolationConsistency();
    InterpolationConsistency resumed = new InterpolationConsistency();
    Networks.Network student = MethodTestSupport.deterministicUnet();
    Networks.Network teacher = MethodTestSupport.deterministicUnet();
    TrainConfig config = MethodTestSupport.config("ict", "unet", 8, 4, 0.1, Map.of("ict_alpha", "0.5"));
    double[] first;
    double[] second;
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor[] batch = MethodTestSupport.batch(8, 8);
      NativeRuntime.seed(1337);
      a.step(new TrainingContext(config, student, teacher, 0), batch[0], batch[1]);
      first = a.lastFactors();
      a.step(new TrainingContext(config, student, teacher, 1), batch[0], batch[1]);
      second = a.lastFactors();
      NativeRuntime.seed(1337); // as a run resumed at iteration 1 seeds itself
      resumed.step(new TrainingContext(config, student, teacher, 1), batch[0], batch[1]);
    }
    assertEquals(2, first.length);
    assertFalse(Arrays.equals(first, second), "each iteration draws new coefficients");
    assertArrayEquals(second, resumed.lastFactors(), 0.0, "a resumed run draws what an uninterrupted one does");

    for (double alpha : new double[] {0.2, 0.5, 2.0}) {
      SplittableRandom r = new SplittableRandom(42);
      int n = 40000;
      double sum = 0;
      double sq = 0;
      for (int i = 0; i < n; i++) {
        double x = InterpolationConsistency.sampleBeta(r, alpha, alpha);
        assertTrue(x >= 0 && x <= 1, "in [0, 1]: " + x);
        sum += x;
        sq += x * x;
      }
      double mean = sum / n;
      double var = sq / n - mean * mean;
      double expectedVar = 1 / (4 * (2 * alpha + 1)); // Beta(a, a): a^2 / ((2a)^2 (2a + 1))
      assertEquals(0.5, mean, 0.01, "mean of Beta(" + alpha + ", " + alpha + ")");
      assertEquals(expectedVar, var, 0.01, "variance of Beta(" + alpha + ", " + alpha + ")");
    }
  }

  @Test
  void aFewStepsReduceTheLossOnAFixedBatch() {
    MethodTestSupport.seed(13);
    Networks.Network student = MethodTestSupport.deterministicUnet();
    Networks.Network teacher = MethodTestSupport.deterministicUnet();
    Ema.update_ema_variables(student.module(), teacher.module(), 0.0, 0); // the teacher starts as a copy, as after step 0
    Tensor[] b = MethodTestSupport.batch(8, 9);
    TrainConfig config = MethodTestSupport.config("ict", "unet", 8, 4, 0.1, Map.of());
    InterpolationConsistency ict = new InterpolationConsistency((a, n) -> new double[] {0.3, 0.6});
    double[] losses = MethodTestSupport.train(ict, config, student, teacher, b[0], b[1], 15, 0.05, i -> {
      Ema.update_ema_variables(student.module(), teacher.module(), 0.99, i + 1);
      return null;
    });
    double first = MethodTestSupport.mean(losses, 0, 3);
    double last = MethodTestSupport.mean(losses, 12, 15);
    assertTrue(last < 0.85 * first, "loss " + first + " -> " + last + ": " + Arrays.toString(losses));
  }
}
