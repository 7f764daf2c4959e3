package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;

/**
 * Trace tests: ten iterations of CPS, cross teaching (UNet + a small Swin-UNet) and deep co-training through
 * {@link Optimization} (the engine's iteration: loss, zero_grad, backward, one SGD per network, poly rate) against
 * {@code two_network_trace.py}, a Python loop that follows each script, from the same initial weights (saved by
 * Java) and the same ten fixed batches; dropout and drop path off, one thread. Every logged term of every
 * iteration agrees within 1e-4 relative.
 */
@SuppressWarnings("try") // memory scopes act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class TwoNetworkMethodsTraceTest {
  private static final int STEPS = 10;
  private static final int BATCH = 6;
  private static final int LABELED_BS = 3;
  /** A Swin-UNet small enough for a test (32x32, embed 8), with shifted windows in its first stage. */
  static final String TINY_SWIN = "img_size=32;embed_dim=8;depths=2,2,2,2;num_heads=1,2,4,8;window_size=4;"
      + "drop_path_rate=0";

  @Test
  void crossPseudoSupervisionFollowsTheScriptForTenIterations(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(61);
    List<Networks.Network> nets = List.of(MethodTestSupport.deterministicUnet(), MethodTestSupport.deterministicUnet());
    compare("cps", new CrossPseudoSupervision(), nets, Map.of(), dir, List.of("model1_loss", "model2_loss"));
  }

  @Test
  void crossTeachingBetweenAUnetAndASwinUnetFollowsTheScriptForTenIterations(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(62);
    Networks.Network swin = Networks.create("ViT_Seg", 1, MethodTestSupport.CLASSES, Networks.Options.parse(TINY_SWIN));
    swin.module().train(true);
    List<Networks.Network> nets = List.of(MethodTestSupport.deterministicUnet(), swin);
    Map<String, Object> yacs = new LinkedHashMap<>();
    yacs.put("IMG_SIZE", 32L);
    yacs.put("EMBED_DIM", 8L);
    yacs.put("DEPTHS", List.of(2L, 2L, 2L, 2L));
    yacs.put("NUM_HEADS", List.of(1L, 2L, 4L, 8L));
    yacs.put("WINDOW_SIZE", 4L);
    yacs.put("DROP_PATH_RATE", 0.0);
    compare("ct", new CrossTeaching(), nets, Map.of("swin", yacs), dir, List.of("model1_loss", "model2_loss"));
  }

  @Test
  void deepCoTrainingFollowsTheScriptForTenIterations(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(63);
    List<Long> rotations = new ArrayList<>();
    for (int i = 0; i < STEPS; i++) {
      rotations.add((long) DeepCoTraining.rotations(MethodTestSupport.ITER + i));
    }
    assertEquals(true, rotations.stream().distinct().count() > 1, "several rotation counts: " + rotations);
    compare("dct", new DeepCoTraining(), List.of(MethodTestSupport.deterministicUnet()), Map.of("rotations", rotations),
        dir, List.of("loss_ce", "loss_dice", "consistency_loss"));
  }

  private static void compare(String name, Method method, List<Networks.Network> nets, Map<String, Object> more,
      Path dir, List<String> terms) throws Exception {
    TrainConfig config = MethodTestSupport.config(name, "unet", BATCH, LABELED_BS, 1.0, Map.of());
    List<String> args = new ArrayList<>(List.of(name, dir.resolve("trace.pth").toString()));
    for (int n = 0; n < nets.size(); n++) {
      Path file = dir.resolve("model" + (n + 1) + ".pth");
      Checkpoints.saveStateDict(nets.get(n).module(), file);
      args.add(file.toString());
    }
    List<Tensor> images = new ArrayList<>();
    List<Tensor> labels = new ArrayList<>();
    for (int i = 0; i < STEPS; i++) {
      Tensor[] b = MethodTestSupport.batch(BATCH, 70 + i);
      images.add(b[0]);
      labels.add(b[1]);
    }
    Map<String, Object> tree = new LinkedHashMap<>(more);
    tree.put("images", images);
    tree.put("labels", labels);
    tree.put("labeled_bs", (long) LABELED_BS);
    tree.put("num_classes", (long) MethodTestSupport.CLASSES);
    tree.put("consistency", config.consistency());
    tree.put("consistency_rampup", config.consistencyRampup());
    tree.put("iter_num", (long) MethodTestSupport.ITER);
    tree.put("base_lr", config.baseLr());
    tree.put("max_iterations", (long) config.maxIterations());
    Checkpoints.saveTree(dir.resolve("trace.pth"), tree);

    Optimization optimization = new Optimization(config, method, nets, null);
    List<Map<String, Double>> java = new ArrayList<>();
    for (int i = 0; i < STEPS; i++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Optimization.Outcome o = optimization.iterate(MethodTestSupport.ITER + i, images.get(i), labels.get(i));
        Map<String, Double> m = new LinkedHashMap<>();
        o.scalars().forEach((k, v) -> m.put(k.substring(k.indexOf('/') + 1), v));
        m.put("loss", o.loss());
        m.put("lr", o.learningRate());
        java.add(m);
      }
    }
    List<String> resources = new ArrayList<>();
    if (name.equals("ct")) {
      resources.add("/networks/swin_unet_reference.py");
    }
    resources.add("/methods/unet2d_reference.py");
    resources.add("/methods/two_network_trace.py");
    Map<String, Double> py = MethodTestSupport.pythonOf(resources, args.toArray(String[]::new));
    for (int i = 0; i < STEPS; i++) {
      List<String> all = new ArrayList<>(terms);
      all.addAll(List.of("loss", "consistency_weight", "lr"));
      for (String term : all) {
        assertClose(py.get(i + "_" + term), java.get(i).get(term), 1e-4, 1e-7, name + " iteration " + i + " " + term);
      }
    }
  }
}
