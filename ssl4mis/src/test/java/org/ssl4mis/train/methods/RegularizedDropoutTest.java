package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.PolyLr;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class RegularizedDropoutTest {

  @Test
  void stepMatchesThePythonRestatementOfTheScriptWithTheLastAxisQuirkAndTheFix(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(51);
    Networks.Network model1 = MethodTestSupport.deterministicUnet();
    Networks.Network model2 = MethodTestSupport.deterministicUnet();
    Tensor[] b = MethodTestSupport.batch(6, 52);
    Checkpoints.saveStateDict(model1.module(), dir.resolve("model1.pth"));
    Checkpoints.saveStateDict(model2.module(), dir.resolve("model2.pth"));
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("image", b[0]);
    tree.put("label", b[1]);
    tree.put("labeled_bs", 3L);
    tree.put("num_classes", (long) MethodTestSupport.CLASSES);
    tree.put("consistency", 4.0);
    tree.put("consistency_rampup", 200.0);
    tree.put("iter_num", (long) MethodTestSupport.ITER);
    Checkpoints.saveTree(dir.resolve("batch.pth"), tree);

    Map<String, Double> last;
    Map<String, Double> fixed;
    double lastTotal;
    double fixedTotal;
    try (MemoryScope scope = MemoryScope.open()) {
      Method.StepLoss r = new RegularizedDropout().step(new TrainingContext(
          MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of()), List.of(model1, model2), null,
          MethodTestSupport.ITER), b[0], b[1]);
      last = r.scalarView();
      lastTotal = r.total().item_double();
      Method.StepLoss f = new RegularizedDropout().step(new TrainingContext(
          MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of("rdrop_kl_dim", "class")),
          List.of(model1, model2), null, MethodTestSupport.ITER), b[0], b[1]);
      fixed = f.scalarView();
      fixedTotal = f.total().item_double();
    }
    Map<String, Double> py = MethodTestSupport.python("rdrop_step.py", dir.resolve("model1.pth").toString(),
        dir.resolve("model2.pth").toString(), dir.resolve("batch.pth").toString());
    assertEquals(List.of("consistency_weight/consistency_weight", "loss/model1_loss", "loss/model2_loss",
        "loss/r_drop_loss"), List.copyOf(last.keySet()));
    assertClose(py.get("consistency_weight"), last.get("consistency_weight/consistency_weight"), 1e-12, 0, "weight");
    assertClose(py.get("model1_loss"), last.get("loss/model1_loss"), 1e-5, 1e-7, "model1_loss");
    assertClose(py.get("model2_loss"), last.get("loss/model2_loss"), 1e-5, 1e-7, "model2_loss");
    assertClose(py.get("r_drop_loss"), last.get("loss/r_drop_loss"), 1e-4, 1e-8, "r_drop_loss (last axis)");
    assertClose(py.get("loss"), lastTotal, 1e-5, 1e-7, "loss (last axis)");
    assertClose(py.get("r_drop_loss_class"), fixed.get("loss/r_drop_loss"), 1e-4, 1e-8, "r_drop_loss (class axis)");
    assertClose(py.get("loss_class"), fixedTotal, 1e-5, 1e-7, "loss (class axis)");
    assertTrue(Math.abs(last.get("loss/r_drop_loss") - fixed.get("loss/r_drop_loss")) > 1e-6,
        "the two axes give different divergences");
  }

  @Test
  void bothNetworksAreStepped_byTheirOwnSgd_withTheScriptsOneAheadRate() {
    MethodTestSupport.seed(53);
    Networks.Network model1 = MethodTestSupport.deterministicUnet();
    Networks.Network model2 = MethodTestSupport.deterministicUnet();
    Tensor[] b = MethodTestSupport.batch(6, 54);
    TrainConfig config = MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of());
    Optimization optimization = new Optimization(config, new RegularizedDropout(), List.of(model1, model2), null);
    String name = "decoder.out_conv.weight";
    List<Tensor> params = List.of(StateDict.parameters(model1.module()).get(name),
        StateDict.parameters(model2.module()).get(name));
    List<float[]> before = params.stream().map(Tensors::toFloats).toList();
    assertFalse(Arrays.equals(before.get(0), before.get(1)), "two independent initialisations");
    try (MemoryScope scope = MemoryScope.open()) {
      optimization.iterate(0, b[0], b[1]);
      for (int n = 0; n < 2; n++) {
        float[] grad = Tensors.toFloats(params.get(n).grad());
        float[] after = Tensors.toFloats(params.get(n));
        // the first step of a fresh SGD: the momentum buffer is d = g + wd * p, so p' = p - lr * d
        for (int i = 0; i < after.length; i++) {
          double expected = before.get(n)[i] - 0.01 * (grad[i] + PolyLr.WEIGHT_DECAY * before.get(n)[i]);
          assertEquals(expected, after[i], 1e-6, "model" + (n + 1) + " " + name + "[" + i + "]");
        }
      }
    }
    assertEquals(PolyLr.at(0.01, 1, 30000), optimization.learningRateAfter(0), 0.0, "lr after step 0: iter 1");
    assertEquals(PolyLr.at(0.01, 1, 30000), optimization.optimizers().get(1).learningRate(), 0.0);
  }

  @Test
  void oneNetworkModeIsRDropAsPublishedAndTheOptionsAreChecked() {
    MethodTestSupport.seed(55);
    Networks.Network model = MethodTestSupport.network("unet", null); // the reference's dropout rates
    TrainConfig config = MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of("rdrop_models", "one"));
    RegularizedDropout rdrop = new RegularizedDropout();
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor[] b = MethodTestSupport.batch(6, 56);
      Map<String, Double> s = rdrop.step(new TrainingContext(config, model, null, 0), b[0], b[1]).scalarView();
      assertTrue(s.get("loss/r_drop_loss") > 0, "two dropout passes differ");
      assertFalse(s.get("loss/model1_loss").equals(s.get("loss/model2_loss")), "two dropout passes differ");
    }
    assertEquals(1, rdrop.students(config).size(), "one network with rdrop_models=one");
    assertEquals(List.of("model1", "model2"), rdrop.students(MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0,
        Map.of())).stream().map(Method.Student::name).toList());
    assertEquals(-1, RegularizedDropout.klDim(Map.of()));
    assertEquals(Losses.CLASS_DIM, RegularizedDropout.klDim(Map.of("rdrop_kl_dim", "class")));
    assertThrows(IllegalArgumentException.class, () -> RegularizedDropout.klDim(Map.of("rdrop_kl_dim", "width")));
    assertThrows(IllegalArgumentException.class, () -> RegularizedDropout.twoModels(Map.of("rdrop_models", "3")));
    assertEquals(Map.of("exp", "ACDC/Regularized_Dropout", "labeled_num", "136", "consistency", "4.0",
        "snapshot_name", "{exp}_{labeled_num}"), rdrop.defaults(2));
  }

  @Test
  void aFewStepsOfBothNetworksReduceTheLossOnAFixedBatch() {
    MethodTestSupport.seed(57);
    Networks.Network model1 = MethodTestSupport.network("unet", null);
    Networks.Network model2 = MethodTestSupport.network("unet", null);
    Tensor[] b = MethodTestSupport.batch(6, 58);
    TrainConfig c = MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of());
    TrainConfig config = new TrainConfig(c.method(), 2, c.rootPath(), c.exp(), c.model(), 100, 6, true, 0.05,
        c.patchSize(), c.seed(), c.numClasses(), 3, 7, 0, 0.99, "mse", 4.0, 200.0, "cpu", 0, 0, false, true,
        c.snapshotRoot(), 200, 3000, Map.of());
    Optimization optimization = new Optimization(config, new RegularizedDropout(), List.of(model1, model2), null);
    double[] losses = new double[12];
    for (int i = 0; i < losses.length; i++) {
      try (MemoryScope scope = MemoryScope.open()) {
        losses[i] = optimization.iterate(i, b[0], b[1]).loss();
      }
    }
    double first = MethodTestSupport.mean(losses, 0, 3);
    double last = MethodTestSupport.mean(losses, 9, 12);
    assertTrue(last < 0.85 * first, "loss " + first + " -> " + last + ": " + Arrays.toString(losses));
  }

  private static void assertArrayEquals(float[] expected, float[] actual, String what) {
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, 0f, what);
  }
}
