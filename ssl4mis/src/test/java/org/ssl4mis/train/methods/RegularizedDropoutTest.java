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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.PolyLr;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
class RegularizedDropoutTest {

  @BeforeAll
  static void oneThread() {
    MethodTestSupport.oneThread();
  }

  @AfterAll
  static void restoreThreads() {
    MethodTestSupport.restoreThreads();
  }

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
      Method.StepLoss r = new RegularizedDropout(model2).step(new TrainingContext(
          MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of()), model1, null, MethodTestSupport.ITER), b[0],
          b[1]);
      last = r.scalarView();
      lastTotal = r.total().item_double();
      Method.StepLoss f = new RegularizedDropout(model2).step(new TrainingContext(
          MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of("rdrop_kl_dim", "class")), model1, null,
          MethodTestSupport.ITER), b[0], b[1]);
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
  void model2IsUpdatedByItsOwnSgdBeforeTheNextForwardPass() {
    MethodTestSupport.seed(53);
    Networks.Network model1 = MethodTestSupport.deterministicUnet();
    Networks.Network model2 = MethodTestSupport.deterministicUnet();
    Tensor[] b = MethodTestSupport.batch(6, 54);
    TrainConfig config = MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of());
    RegularizedDropout rdrop = new RegularizedDropout(model2);
    String name = "decoder.out_conv.weight";
    Tensor p = StateDict.parameters(model2.module()).get(name);
    float[] before = Tensors.toFloats(p);
    float[] grad;
    try (MemoryScope scope = MemoryScope.open()) {
      Method.StepLoss s = rdrop.step(new TrainingContext(config, model1, null, 0), b[0], b[1]);
      s.total().backward();
      grad = Tensors.toFloats(p.grad());
    }
    assertArrayEquals(before, Tensors.toFloats(p), "no update before the next step");
    try (MemoryScope scope = MemoryScope.open()) {
      rdrop.step(new TrainingContext(config, model1, null, 1), b[0], b[1]);
      float[] after = Tensors.toFloats(p);
      // first SGD step: the momentum buffer is d = g + wd * p, so p' = p - lr * (g + wd * p), lr = base_lr
      for (int i = 0; i < before.length; i++) {
        double expected = before[i] - 0.01 * (grad[i] + PolyLr.WEIGHT_DECAY * before[i]);
        assertEquals(expected, after[i], 1e-6, name + "[" + i + "]");
      }
      float[] zeroed = Tensors.toFloats(p.grad());
      for (float g : zeroed) {
        assertEquals(0f, g, "model2's gradients are zeroed after its update");
      }
    }
    assertEquals(0.01, RegularizedDropout.engineLearningRate(0.01, 0, 30000), 0.0);
    assertEquals(PolyLr.at(0.01, 4, 30000), RegularizedDropout.engineLearningRate(0.01, 5, 30000), 0.0);
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
    assertNull(rdrop.secondModel(), "no second network with rdrop_models=one");
    assertEquals(-1, RegularizedDropout.klDim(Map.of()));
    assertEquals(Losses.CLASS_DIM, RegularizedDropout.klDim(Map.of("rdrop_kl_dim", "class")));
    assertThrows(IllegalArgumentException.class, () -> RegularizedDropout.klDim(Map.of("rdrop_kl_dim", "width")));
    assertThrows(IllegalArgumentException.class, () -> RegularizedDropout.twoModels(Map.of("rdrop_models", "3")));
    assertEquals(Map.of("exp", "ACDC/Regularized_Dropout", "labeled_num", "136", "consistency", "4.0"),
        rdrop.defaults(2));
  }

  @Test
  void aFewStepsReduceTheLossOnAFixedBatchWithTheSecondNetworkBuiltByTheMethod() {
    MethodTestSupport.seed(57);
    Networks.Network model1 = MethodTestSupport.network("unet", null);
    Tensor[] b = MethodTestSupport.batch(6, 58);
    // model2 is built by the method from config.model() (the full-width reference UNet, on a thread outside
    // the memory scopes) and updated at the start of each following step
    TrainConfig config = MethodTestSupport.config("rdrop", "unet", 6, 3, 4.0, Map.of());
    RegularizedDropout rdrop = new RegularizedDropout();
    double[] losses = MethodTestSupport.train(rdrop, config, model1, null, b[0], b[1], 12, 0.05, null);
    assertNotNull(rdrop.secondModel(), "the method built model2");
    double first = MethodTestSupport.mean(losses, 0, 3);
    double last = MethodTestSupport.mean(losses, 9, 12);
    assertTrue(last < 0.85 * first, "loss " + first + " -> " + last + ": " + Arrays.toString(losses));
  }

  private static void assertArrayEquals(float[] expected, float[] actual, String what) {
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, 0f, what);
  }
}
