package org.ssl4mis.train.methods;

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
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class EntropyMinimizationTest {

  @Test
  void stepMatchesThePythonRestatementOfTheScript(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(31);
    Networks.Network model = MethodTestSupport.deterministicUnet();
    Tensor[] b = MethodTestSupport.batch(6, 32);
    TrainConfig config = MethodTestSupport.config("em", "unet", 6, 3, 0.1, Map.of());
    Checkpoints.saveStateDict(model.module(), dir.resolve("model.pth"));
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("image", b[0]);
    tree.put("label", b[1]);
    tree.put("labeled_bs", 3L);
    tree.put("num_classes", (long) MethodTestSupport.CLASSES);
    tree.put("consistency", 0.1);
    tree.put("consistency_rampup", 200.0);
    tree.put("iter_num", (long) MethodTestSupport.ITER);
    tree.put("entropy_c", 4L);
    Checkpoints.saveTree(dir.resolve("batch.pth"), tree);

    Method.StepLoss result;
    double total;
    try (MemoryScope scope = MemoryScope.open()) {
      result = new EntropyMinimization().step(new TrainingContext(config, model, null, MethodTestSupport.ITER), b[0],
          b[1]);
      total = result.total().item_double();
      assertEquals(6, result.outputs().size(0));
    }
    Map<String, Double> py = MethodTestSupport.python("em_step.py", dir.resolve("model.pth").toString(),
        dir.resolve("batch.pth").toString());
    Map<String, Double> s = result.scalarView();
    assertEquals(List.of("info/loss_ce", "info/loss_dice", "info/consistency_loss", "info/consistency_weight"),
        List.copyOf(s.keySet()));
    assertClose(py.get("consistency_weight"), s.get("info/consistency_weight"), 1e-12, 0, "consistency_weight");
    assertClose(py.get("loss_ce"), s.get("info/loss_ce"), 1e-5, 1e-7, "loss_ce");
    assertClose(py.get("loss_dice"), s.get("info/loss_dice"), 1e-5, 1e-7, "loss_dice");
    assertClose(py.get("consistency_loss"), s.get("info/consistency_loss"), 1e-5, 1e-7, "entropy");
    assertClose(py.get("loss"), total, 1e-5, 1e-7, "loss");
  }

  @Test
  void theHardCodedCIsKeptUnlessTheFixIsAskedFor() {
    MethodTestSupport.seed(33);
    Networks.Network model = MethodTestSupport.network("unet", 3, "0,0,0,0,0");
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor[] b = MethodTestSupport.batch(4, 34);
      Tensor labels = b[1].clamp_max(new Scalar(2));
      double reference = new EntropyMinimization().step(new TrainingContext(MethodTestSupport.config("em", "unet", 3, 4,
          2, 0.1, Map.of()), model, null, 0), b[0], labels).scalarView().get("info/consistency_loss");
      double fixed = new EntropyMinimization().step(new TrainingContext(MethodTestSupport.config("em", "unet", 3, 4, 2,
          0.1, Map.of("em_entropy_c", "num_classes")), model, null, 0), b[0], labels).scalarView()
          .get("info/consistency_loss");
      // the same entropy, divided by ln 4 (the script) or ln 3 (the fix)
      assertClose(reference * Math.log(4) / Math.log(3), fixed, 1e-5, 1e-7, "entropy with C = num_classes");
    }
    assertEquals(4, EntropyMinimization.entropyC(Map.of(), 3, 2));
    assertEquals(2, EntropyMinimization.entropyC(Map.of(), 3, 3)); // the 3D script passes C=2
    assertEquals(3, EntropyMinimization.entropyC(Map.of("em_entropy_c", "num_classes"), 3, 2));
    assertEquals(5, EntropyMinimization.entropyC(Map.of("em_entropy_c", "5"), 3, 2));
    assertThrows(IllegalArgumentException.class, () -> EntropyMinimization.entropyC(Map.of("em_entropy_c", "1"), 3, 2));
    assertThrows(IllegalArgumentException.class, () -> EntropyMinimization.entropyC(Map.of("em_entropy_c", "x"), 3, 2));
    EntropyMinimization em = new EntropyMinimization();
    assertEquals("em", em.name());
    assertFalse(em.usesEmaModel());
    assertEquals("train_entropy_minimization_2D.py", em.referenceScript(2));
    assertEquals(Map.of("exp", "ACDC/Entropy_Minimization", "labeled_num", "3"), em.defaults(2));
  }

  @Test
  void aFewStepsReduceTheLossOnAFixedBatch() {
    MethodTestSupport.seed(35);
    Networks.Network model = MethodTestSupport.deterministicUnet();
    Tensor[] b = MethodTestSupport.batch(6, 36);
    TrainConfig config = MethodTestSupport.config("em", "unet", 6, 3, 0.1, Map.of());
    double[] losses = MethodTestSupport.train(new EntropyMinimization(), config, model, null, b[0], b[1], 15, 0.05,
        null);
    double first = MethodTestSupport.mean(losses, 0, 3);
    double last = MethodTestSupport.mean(losses, 12, 15);
    assertTrue(last < 0.85 * first, "loss " + first + " -> " + last + ": " + Arrays.toString(losses));
  }
}
