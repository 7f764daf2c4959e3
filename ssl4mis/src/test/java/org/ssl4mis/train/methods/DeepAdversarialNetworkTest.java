package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Dropout2dImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.FCDiscriminator;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;

/**
 * The DAN method against a Python restatement of {@code train_adversarial_network_2D.py}'s loop (ten iterations
 * on fixed batches from the same initial weights: segmentation step, SGD, the DAN's Adam update, poly rate),
 * plus its targets, patch checks and state.
 */
@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class DeepAdversarialNetworkTest {
  /** The smallest square patch the 2D DAN takes. */
  private static final int SIDE = 224;
  private static final int ITERATIONS = 10;
  private static final int START = 15000;
  /**
   * The trace's base rate: at the scripts' 0.01 the tiny UNet amplifies float32 rounding (the two sides agree to
   * 1e-7 for five iterations, then drift by a factor of about 5 per iteration); 0.001 keeps the comparison about
   * the loop rather than about chaos.
   */
  private static final double BASE_LR = 0.001;

  static TrainConfig config(Map<String, String> extra) {
    return new TrainConfig("dan", 2, "/nonexistent", "test/dan", "unet", 30000, 2, true, BASE_LR, new int[] {SIDE, SIDE},
        1337, MethodTestSupport.CLASSES, 1, 3, 0, 0.99, "mse", 1.0, 200.0, "cpu", 0, 0, false, true, "/nonexistent",
        200, 3000, MethodTestSupport.referenceLayout(extra));
  }

  /** Sets the DAN's Dropout2d rate to 0 (both sides of the trace), checking that it took effect. */
  static void noDropout(Discriminator dan) {
    FCDiscriminator d = (FCDiscriminator) dan.module();
    d.child("dropout", Dropout2dImpl.class).options().p().put(0.0);
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor map = torch.softmax(torch.randn(new long[] {2, MethodTestSupport.CLASSES, SIDE, SIDE}), 1);
      Tensor image = torch.randn(new long[] {2, 1, SIDE, SIDE});
      d.train(true);
      float[] train = Tensors.toFloats(d.forward(map, image));
      d.eval();
      assertArrayEquals(Tensors.toFloats(d.forward(map, image)), train, 0f, "Dropout2d(p=0) is the identity");
    }
  }

  @Test
  void tenIterationsMatchThePythonLoop(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(71);
    Networks.Network model = Networks.create("unet", 1, MethodTestSupport.CLASSES,
        Networks.Options.of("feature_chns", "2,4,8,16,32", "dropout", "0,0,0,0,0"));
    model.module().train(true);
    TrainConfig config = config(Map.of("dan_ndf", "4"));
    DeepAdversarialNetwork method = new DeepAdversarialNetwork();
    method.setUp(new org.ssl4mis.train.TrainingContext(config, model, null, 0), new Device("cpu"));
    noDropout(method.discriminator());
    Checkpoints.saveStateDict(model.module(), dir.resolve("model.pth"));
    Checkpoints.saveStateDict(method.discriminator().module(), dir.resolve("dan.pth"));
    List<Tensor[]> batches = new ArrayList<>();
    for (int i = 0; i < ITERATIONS; i++) {
      batches.add(MethodTestSupport.batch(2, SIDE, 700 + i % 3));
    }
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("images", batches.stream().map(b -> b[0]).toList());
    tree.put("labels", batches.stream().map(b -> b[1]).toList());
    tree.put("labeled_bs", 1L);
    tree.put("num_classes", (long) MethodTestSupport.CLASSES);
    tree.put("consistency", 1.0);
    tree.put("consistency_rampup", 200.0);
    tree.put("iter_start", (long) START);
    tree.put("max_iterations", 30000L);
    tree.put("base_lr", BASE_LR);
    tree.put("dan_lr", DeepAdversarialNetwork.DEFAULT_LR);
    Checkpoints.saveTree(dir.resolve("batches.pth"), tree);

    Optimization optimization = new Optimization(config, method, List.of(model), null);
    List<Map<String, Double>> javaScalars = new ArrayList<>();
    List<Double> losses = new ArrayList<>();
    float[] finalLogits;
    for (int i = 0; i < ITERATIONS; i++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Optimization.Outcome o = optimization.iterate(START + i, batches.get(i)[0], batches.get(i)[1]);
        javaScalars.add(o.scalars());
        losses.add(o.loss());
      }
    }
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      model.module().eval();
      method.discriminator().module().eval();
      Tensor image = batches.get(0)[0];
      finalLogits = Tensors.toFloats(method.discriminator().forward(torch.softmax(model.logits(image), 1), image));
      model.module().train(true);
    }
    assertEquals(ITERATIONS, method.discriminator().optimizer().steps(), "one Adam step per iteration");

    Map<String, Double> py = MethodTestSupport.python("dan_trace.py", dir.resolve("model.pth").toString(),
        dir.resolve("dan.pth").toString(), dir.resolve("batches.pth").toString());
    assertEquals(List.of("info/loss_ce", "info/loss_dice", "info/consistency_loss", "info/consistency_weight"),
        List.copyOf(javaScalars.get(0).keySet()));
    for (int i = 0; i < ITERATIONS; i++) {
      assertClose(py.get("loss_" + i), losses.get(i), 1e-4, 1e-7, "loss, iteration " + i);
      assertClose(py.get("loss_ce_" + i), javaScalars.get(i).get("info/loss_ce"), 1e-4, 1e-7, "loss_ce, iteration " + i);
      assertClose(py.get("loss_dice_" + i), javaScalars.get(i).get("info/loss_dice"), 1e-4, 1e-7, "loss_dice, iteration " + i);
      assertClose(py.get("consistency_" + i), javaScalars.get(i).get("info/consistency_loss"), 1e-4, 1e-7,
          "consistency_loss, iteration " + i);
    }
    for (int k = 0; k < finalLogits.length; k++) {
      assertClose(py.get("final_dan_logit_" + k), finalLogits[k], 1e-4, 1e-5, "DAN logit " + k + " after 10 updates");
    }
    assertEquals(py.get("dan_step"), (double) method.discriminator().optimizer().steps(), 0.0);
  }

  @Test
  void targetsPatchChecksDefaultsAndState() {
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor like = torch.zeros(new long[] {1});
      assertArrayEquals(new long[] {1, 1, 0, 0}, Tensors.toLongs(DeepAdversarialNetwork.target(4, 2, like)),
          "DAN_target: labelled first");
      assertArrayEquals(new long[] {1, 1}, Tensors.toLongs(DeepAdversarialNetwork.target(2, 2, like)),
          "the consistency target: every unlabelled prediction should pass for labelled");
    }
    DeepAdversarialNetwork.requireDiscriminatorPatch(2, new int[] {256, 256});
    DeepAdversarialNetwork.requireDiscriminatorPatch(3, new int[] {96, 96, 96});
    IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
        () -> DeepAdversarialNetwork.requireDiscriminatorPatch(2, new int[] {64, 64}));
    assertTrue(small.getMessage().contains("--patch_size"), small.getMessage());
    IllegalArgumentException la = assertThrows(IllegalArgumentException.class,
        () -> DeepAdversarialNetwork.requireDiscriminatorPatch(3, new int[] {112, 112, 80}));
    assertTrue(la.getMessage().contains("96 to 191"), la.getMessage());
    DeepAdversarialNetwork dan = new DeepAdversarialNetwork();
    assertEquals("3", dan.defaults(2).get("labeled_num"));
    assertEquals(1e-4, Double.parseDouble(dan.defaults(2).get("DAN_lr")));
    assertEquals("BraTs2019_Adversarial_Network", dan.defaults(3).get("exp"));
    assertTrue(dan.state().isEmpty(), "no state before setUp");
    assertThrows(IllegalArgumentException.class,
        () -> Discriminator.positive(Map.of("DAN_lr", "-1"), "DAN_lr", 1e-4));
  }

  @Test
  void stateRestoresTheDiscriminatorAndItsAdamMoments() {
    MethodTestSupport.seed(73);
    Networks.Network model = MethodTestSupport.deterministicUnet();
    TrainConfig config = config(Map.of("dan_ndf", "4"));
    DeepAdversarialNetwork trained = new DeepAdversarialNetwork();
    trained.setUp(new org.ssl4mis.train.TrainingContext(config, model, null, 0), new Device("cpu"));
    Optimization optimization = new Optimization(config, trained, List.of(model), null);
    Tensor[] b = MethodTestSupport.batch(2, SIDE, 74);
    try (MemoryScope scope = MemoryScope.open()) {
      optimization.iterate(0, b[0], b[1]);
      optimization.iterate(1, b[0], b[1]);
    }
    Map<String, Object> state = trained.state();
    assertEquals(List.of("DAN", "DAN_optimizer"), List.copyOf(state.keySet()));
    DeepAdversarialNetwork restored = new DeepAdversarialNetwork();
    restored.setUp(new org.ssl4mis.train.TrainingContext(config, model, null, 0), new Device("cpu"));
    String w = "conv0.weight";
    assertFalse(java.util.Arrays.equals(Tensors.toFloats(StateDict.of(trained.discriminator().module()).get(w)),
        Tensors.toFloats(StateDict.of(restored.discriminator().module()).get(w))), "two initialisations differ");
    restored.restoreState(state);
    assertArrayEquals(Tensors.toFloats(StateDict.of(trained.discriminator().module()).get(w)),
        Tensors.toFloats(StateDict.of(restored.discriminator().module()).get(w)), 0f);
    assertEquals(2, restored.discriminator().optimizer().steps());
    Map<?, ?> m = (Map<?, ?>) restored.discriminator().optimizer().state().get("exp_avg_sq");
    Map<?, ?> m0 = (Map<?, ?>) trained.discriminator().optimizer().state().get("exp_avg_sq");
    assertArrayEquals(Tensors.toFloats((Tensor) m0.get(w)), Tensors.toFloats((Tensor) m.get(w)), 0f);
    assertThrows(IllegalArgumentException.class, () -> restored.restoreState(Map.of()));
  }
}
