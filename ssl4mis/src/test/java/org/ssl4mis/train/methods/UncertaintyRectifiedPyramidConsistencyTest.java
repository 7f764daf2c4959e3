package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * URPC's step against the script's formulas evaluated here in double precision on plain arrays. The network's
 * side heads are random in training mode (dropout, FeatureDropout, FeatureNoise, all from libtorch's
 * generator), so the test re-seeds libtorch before the step and before its own forward pass: both see the same
 * four outputs.
 */
@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class UncertaintyRectifiedPyramidConsistencyTest {

  @Test
  void stepMatchesTheScriptsFormulasInDoublePrecision() {
    MethodTestSupport.seed(41);
    Networks.Network model = MethodTestSupport.network("unet_urpc", null);
    int n = 6;
    int lb = 3;
    TrainConfig config = MethodTestSupport.config("urpc", "unet_urpc", n, lb, 0.1, Map.of());
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor[] b = MethodTestSupport.batch(n, 42);
      NativeRuntime.seed(4242);
      Method.StepLoss result = new UncertaintyRectifiedPyramidConsistency()
          .step(new TrainingContext(config, model, null, MethodTestSupport.ITER), b[0], b[1]);
      NativeRuntime.seed(4242);
      List<Tensor> outs;
      try (NoGradGuard g = new NoGradGuard()) {
        outs = model.outputs(b[0]);
      }
      assertArrayEquals(Tensors.toFloats(outs.get(0)), Tensors.toFloats(result.outputs()), 0f,
          "re-seeding reproduces the step's forward pass");
      float[][] logits = new float[4][];
      for (int s = 0; s < 4; s++) {
        logits[s] = Tensors.toFloats(outs.get(s));
      }
      Expected e = expected(logits, Tensors.toLongs(b[1]), n, lb, MethodTestSupport.CLASSES,
          MethodTestSupport.SIDE * MethodTestSupport.SIDE);
      double weight = 0.1 * Math.exp(-5 * 0.5 * 0.5); // 15000 // 150 = 100, half of the ramp of 200
      Map<String, Double> s = result.scalarView();
      assertEquals(List.of("info/loss_ce", "info/loss_dice", "info/consistency_loss", "info/consistency_weight"),
          List.copyOf(s.keySet()));
      assertClose(weight, s.get("info/consistency_weight"), 1e-12, 0, "consistency_weight");
      assertClose(e.ceMain, s.get("info/loss_ce"), 1e-5, 1e-6, "loss_ce (main output)");
      assertClose(e.diceMain, s.get("info/loss_dice"), 1e-5, 1e-6, "loss_dice (main output)");
      assertClose(e.consistency, s.get("info/consistency_loss"), 1e-4, 1e-7, "consistency_loss");
      assertClose(e.supervised + weight * e.consistency, result.total().item_double(), 1e-5, 1e-6, "loss");
      assertTrue(e.consistency > 1e-4, "the side heads disagree, so the consistency is not trivially zero");
    }
  }

  private record Expected(double ceMain, double diceMain, double supervised, double consistency) {}

  /** The script's loss terms from the four outputs' logits (N, C, HW) and the labels (N, HW), in double. */
  private static Expected expected(float[][] logits, long[] labels, int n, int lb, int c, int hw) {
    int scales = logits.length;
    double[][] p = new double[scales][n * c * hw];
    double[][] logp = new double[scales][n * c * hw];
    for (int s = 0; s < scales; s++) {
      for (int b = 0; b < n; b++) {
        for (int i = 0; i < hw; i++) {
          double max = Double.NEGATIVE_INFINITY;
          for (int k = 0; k < c; k++) {
            max = Math.max(max, logits[s][(b * c + k) * hw + i]);
          }
          double z = 0;
          for (int k = 0; k < c; k++) {
            z += Math.exp(logits[s][(b * c + k) * hw + i] - max);
          }
          for (int k = 0; k < c; k++) {
            int j = (b * c + k) * hw + i;
            logp[s][j] = logits[s][j] - max - Math.log(z);
            p[s][j] = Math.exp(logp[s][j]);
          }
        }
      }
    }
    double[] ce = new double[scales];
    double[] dice = new double[scales];
    for (int s = 0; s < scales; s++) {
      double nll = 0;
      for (int b = 0; b < lb; b++) {
        for (int i = 0; i < hw; i++) {
          nll -= logp[s][(b * c + (int) labels[b * hw + i]) * hw + i];
        }
      }
      ce[s] = nll / (lb * hw);
      double d = 0;
      for (int k = 0; k < c; k++) {
        double inter = 0;
        double y = 0;
        double zz = 0;
        for (int b = 0; b < lb; b++) {
          for (int i = 0; i < hw; i++) {
            double t = labels[b * hw + i] == k ? 1 : 0;
            double q = p[s][(b * c + k) * hw + i];
            inter += q * t;
            y += t * t;
            zz += q * q;
          }
        }
        d += 1 - (2 * inter + 1e-5) / (zz + y + 1e-5);
      }
      dice[s] = d / c;
    }
    double supervised = 0;
    for (int s = 0; s < scales; s++) {
      supervised += ce[s] + dice[s];
    }
    supervised /= 8;

    int nu = n - lb;
    double consistency = 0;
    for (int s = 0; s < scales; s++) {
      double weighted = 0;
      double expSum = 0;
      double varSum = 0;
      for (int b = lb; b < n; b++) {
        for (int i = 0; i < hw; i++) {
          double variance = 0;
          double[] avg = new double[c];
          for (int k = 0; k < c; k++) {
            int j = (b * c + k) * hw + i;
            avg[k] = (p[0][j] + p[1][j] + p[2][j] + p[3][j]) / 4;
            variance += avg[k] * (Math.log(avg[k]) - logp[s][j]); // KLDivLoss(log p_s, P), summed over classes
          }
          double w = Math.exp(-variance);
          for (int k = 0; k < c; k++) {
            double diff = avg[k] - p[s][(b * c + k) * hw + i];
            weighted += diff * diff * w;
          }
          expSum += w;
          varSum += variance;
        }
      }
      double meanWeighted = weighted / (nu * c * hw);
      double meanExp = expSum / (nu * hw);
      consistency += meanWeighted / (meanExp + 1e-8) + varSum / (nu * hw);
    }
    consistency /= scales;
    return new Expected(ce[0], dice[0], supervised, consistency);
  }

  @Test
  void aNetworkWithoutFourOutputsIsReportedAndTheDefaultsAreTheScripts() {
    Networks.Network unet = MethodTestSupport.deterministicUnet();
    UncertaintyRectifiedPyramidConsistency urpc = new UncertaintyRectifiedPyramidConsistency();
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor[] b = MethodTestSupport.batch(4, 43);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> urpc.step(new TrainingContext(
          MethodTestSupport.config("urpc", "unet", 4, 2, 0.1, Map.of()), unet, null, 0), b[0], b[1]));
      assertTrue(e.getMessage().contains("unet_urpc"), e.getMessage());
    }
    assertEquals("urpc", urpc.name());
    assertFalse(urpc.usesEmaModel());
    assertEquals("train_uncertainty_rectified_pyramid_consistency_2D.py", urpc.referenceScript(2));
    assertEquals("unet_urpc", urpc.defaults(2).get("model"));
    assertEquals("7", urpc.defaults(2).get("labeled_num"));
  }

  @Test
  void aFewStepsReduceTheLossOnAFixedBatch() {
    MethodTestSupport.seed(44);
    Networks.Network model = MethodTestSupport.network("unet_urpc", null);
    Tensor[] b = MethodTestSupport.batch(6, 45);
    TrainConfig config = MethodTestSupport.config("urpc", "unet_urpc", 6, 3, 0.1, Map.of());
    double[] losses = MethodTestSupport.train(new UncertaintyRectifiedPyramidConsistency(), config, model, null, b[0],
        b[1], 25, 0.05, null);
    double first = MethodTestSupport.mean(losses, 0, 3);
    double last = MethodTestSupport.mean(losses, 22, 25);
    assertTrue(last < 0.85 * first, "loss " + first + " -> " + last + ": " + Arrays.toString(losses));
  }
}
