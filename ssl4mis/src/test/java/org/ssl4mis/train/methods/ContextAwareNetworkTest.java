package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.train.methods.MethodTestSupport.assertClose;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.losses.SignedDistanceMaps;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * CANet's training loop against a Python restatement (ten iterations on fixed batches of two labelled and two
 * unlabelled volumes, from the same initial weights: dice + beta * SDF MSE + w * adversarial BCE, SGD, the
 * SE discriminator's Adam update, poly rate), and SASSNet's {@code compute_sdf} against SciPy's EDT on small
 * masks.
 */
@SuppressWarnings("try") // memory scopes act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class ContextAwareNetworkTest {
  private static final int[] PATCH = {32, 32, 16};
  private static final int ITERATIONS = 10;
  private static final int START = 3000;
  /** As in the DAN trace: a small rate keeps float32 rounding from being amplified over ten steps. */
  private static final double BASE_LR = 0.001;

  static Networks.Network canet() {
    Networks.Network n = Networks.create("canet", 1, 2, Networks.Options.of("n_filters", "4", "has_dropout", "false",
        "img_size", "32,32,16", "hidden_size", "64", "num_heads", "2", "mlp_dim", "32", "num_layers", "1",
        "dropout_rate", "0"));
    n.module().train(true);
    return n;
  }

  static TrainConfig config(Map<String, String> extra) {
    return new TrainConfig("canet", 3, "/nonexistent", "test/canet", "canet", 6000, 4, true, BASE_LR, PATCH, 1337, 2,
        2, 16, 0, 0.99, "mse", 0.01, 40.0, "cpu", 0, 0, false, true, "/nonexistent", 200, 3000,
        MethodTestSupport.referenceLayout(extra));
  }

  /** Volumes (N, 1, 32, 32, 16) with an ellipsoid each (label 1) and noise; reproducible from {@code seed}. */
  static Tensor[] volumes(int n, long seed) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
    int d = PATCH[0];
    int h = PATCH[1];
    int w = PATCH[2];
    float[] img = new float[n * d * h * w];
    long[] lab = new long[img.length];
    for (int b = 0; b < n; b++) {
      double cz = 8 + r.nextDouble() * 16;
      double cy = 8 + r.nextDouble() * 16;
      double cx = 4 + r.nextDouble() * 8;
      double rz = 4 + r.nextDouble() * 6;
      double ry = 4 + r.nextDouble() * 6;
      double rx = 3 + r.nextDouble() * 3;
      for (int z = 0; z < d; z++) {
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            double q = sq((z - cz) / rz) + sq((y - cy) / ry) + sq((x - cx) / rx);
            int i = ((b * d + z) * h + y) * w + x;
            lab[i] = q <= 1 ? 1 : 0;
            img[i] = (float) ((q <= 1 ? 1.0 : -0.5) + 0.3 * r.nextGaussian());
          }
        }
      }
    }
    return new Tensor[] {Tensors.fromFloats(img, n, 1, d, h, w), Tensors.fromLongs(lab, n, d, h, w)};
  }

  private static double sq(double v) {
    return v * v;
  }

  /** Small masks: blobs, one touching the array edge, a single voxel, empty and full, in 2D and 3D. */
  static List<Tensor> masks() {
    List<Tensor> out = new ArrayList<>();
    java.util.SplittableRandom r = new java.util.SplittableRandom(91);
    int[][] shapes = {{9, 11}, {12, 7}, {6, 7, 8}, {5, 9, 6}};
    for (int[] s : shapes) {
      int n = 1;
      for (int v : s) {
        n *= v;
      }
      long[] shape = java.util.Arrays.stream(s).asLongStream().toArray();
      long[] blob = new long[n];
      long[] edge = new long[n];
      long[] single = new long[n];
      for (int i = 0; i < n; i++) {
        blob[i] = r.nextDouble() < 0.4 ? 1 : 0;
        edge[i] = i < n / 3 ? 1 : 0;
      }
      single[n / 2] = 1;
      long[] full = new long[n];
      java.util.Arrays.fill(full, 1);
      for (long[] m : List.of(blob, edge, single, new long[n], full)) {
        out.add(Tensors.fromLongs(m, shape));
      }
    }
    return out;
  }

  @Test
  void computeSdfMatchesScipyAndTenIterationsMatchThePythonLoop(@TempDir Path dir) throws Exception {
    PythonReference.require("torch", "scipy");
    MethodTestSupport.seed(81);
    Networks.Network model = canet();
    TrainConfig config = config(Map.of("d_ndf", "4", "d_reduction", "4"));
    ContextAwareNetwork method = new ContextAwareNetwork();
    method.setUp(new TrainingContext(config, model, null, 0), new Device("cpu"));
    Checkpoints.saveStateDict(model.module(), dir.resolve("model.pth"));
    Checkpoints.saveStateDict(method.discriminator().module(), dir.resolve("d.pth"));
    List<Tensor[]> batches = new ArrayList<>();
    for (int i = 0; i < ITERATIONS; i++) {
      batches.add(volumes(4, 800 + i % 3));
    }
    List<Tensor> masks = masks();
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("images", batches.stream().map(b -> b[0]).toList());
    tree.put("labels", batches.stream().map(b -> b[1]).toList());
    tree.put("masks", masks);
    tree.put("labeled_bs", 2L);
    tree.put("num_classes", 2L);
    tree.put("consistency", 0.01);
    tree.put("consistency_rampup", 40.0);
    tree.put("beta", ContextAwareNetwork.DEFAULT_BETA);
    tree.put("iter_start", (long) START);
    tree.put("max_iterations", 6000L);
    tree.put("base_lr", BASE_LR);
    tree.put("d_lr", ContextAwareNetwork.DEFAULT_LR);
    tree.put("canet", Map.of("n_filters", 4L, "img_size", List.of(32L, 32L, 16L), "hidden_size", 64L, "num_heads", 2L,
        "mlp_dim", 32L, "num_layers", 1L));
    tree.put("d_ndf", 4L);
    tree.put("d_reduction", 4L);
    Checkpoints.saveTree(dir.resolve("batches.pth"), tree);

    Optimization optimization = new Optimization(config, method, List.of(model), null);
    List<Map<String, Double>> javaScalars = new ArrayList<>();
    List<Double> losses = new ArrayList<>();
    for (int i = 0; i < ITERATIONS; i++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Optimization.Outcome o = optimization.iterate(START + i, batches.get(i)[0], batches.get(i)[1]);
        javaScalars.add(o.scalars());
        losses.add(o.loss());
      }
    }
    String reference = resource("/networks/canet_reference.py");
    String source = reference.substring(0, reference.indexOf("if __name__ == '__main__':")) + "\n\n"
        + resource("/methods/canet_trace.py");
    String out = PythonReference.run(source, Duration.ofSeconds(300), dir.resolve("model.pth").toString(),
        dir.resolve("d.pth").toString(), dir.resolve("batches.pth").toString(), dir.resolve("sdf.pth").toString())
        .strip();
    String[] lines = out.split("\n");
    Map<String, Double> py = MethodTestSupport.parseFlatJson(lines[lines.length - 1]);

    List<?> scipySdf = (List<?>) ((Map<?, ?>) Checkpoints.loadTree(dir.resolve("sdf.pth"))).get("sdf");
    for (int m = 0; m < masks.size(); m++) {
      long[] shape = Tensors.shape(masks.get(m));
      int[] spatial = java.util.Arrays.stream(shape).mapToInt(Math::toIntExact).toArray();
      long[] values = Tensors.toLongs(masks.get(m));
      boolean[] mask = new boolean[values.length];
      for (int i = 0; i < values.length; i++) {
        mask[i] = values[i] == 1;
      }
      double[] expected = Tensors.toDoubles((Tensor) scipySdf.get(m));
      assertArrayEquals(expected, SignedDistanceMaps.normalizedSdf(mask, spatial), 1e-12, "compute_sdf of mask " + m);
    }

    assertEquals(List.of("loss/loss_seg", "loss/loss_dice", "loss/loss_hausdorff", "train/consistency_weight",
        "loss/loss_adv", "GAN/loss_adv", "GAN/D_loss"), List.copyOf(javaScalars.get(0).keySet()));
    for (int i = 0; i < ITERATIONS; i++) {
      Map<String, Double> s = javaScalars.get(i);
      assertClose(py.get("weight_" + i), s.get("train/consistency_weight"), 1e-12, 0, "weight, iteration " + i);
      assertClose(py.get("loss_" + i), losses.get(i), 1e-4, 1e-7, "loss, iteration " + i);
      assertClose(py.get("loss_sdf_" + i), s.get("loss/loss_hausdorff"), 1e-4, 1e-7, "loss_sdf, iteration " + i);
      assertClose(py.get("loss_dice_" + i), s.get("loss/loss_dice"), 1e-4, 1e-7, "loss_dice, iteration " + i);
      assertClose(py.get("loss_seg_" + i), s.get("loss/loss_seg"), 1e-4, 1e-7, "loss_seg, iteration " + i);
      assertClose(py.get("loss_adv_" + i), s.get("GAN/loss_adv"), 1e-4, 1e-7, "loss_adv, iteration " + i);
      assertClose(py.get("d_loss_" + i), s.get("GAN/D_loss"), 1e-4, 1e-7, "D_loss, iteration " + i);
    }
  }

  private static String resource(String name) throws java.io.IOException {
    try (InputStream in = ContextAwareNetworkTest.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new java.io.IOException("test resource " + name + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void sdfConventionsWithoutPython() {
    // a 1-D bar of five voxels inside seven: the ends of the bar are its inner boundary (0), outside is positive
    boolean[] bar = {false, true, true, true, true, true, false};
    double[] sdf = SignedDistanceMaps.normalizedSdf(bar, new int[] {7});
    assertEquals(0.0, sdf[1]);
    assertEquals(0.0, sdf[5]);
    assertEquals(-1.0, sdf[3], 1e-12, "deepest inside voxel: -1");
    assertTrue(sdf[0] > 0 && sdf[6] > 0, "outside is positive");
    assertArrayEquals(new double[4], SignedDistanceMaps.normalizedSdf(new boolean[4], new int[] {2, 2}));
    assertArrayEquals(new double[] {-1, -1, -1, -1}, SignedDistanceMaps.normalizedSdf(new boolean[] {true, true, true,
        true}, new int[] {2, 2}), "no outside voxel: -1 (SASSNet's 0 / 0)");
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor labels = Tensors.fromLongs(new long[] {0, 1, 1, 1, 1, 1, 0}, 1, 7);
      Tensor gt = SignedDistanceMaps.compute_sdf(labels, 2);
      assertArrayEquals(new long[] {1, 2, 7}, Tensors.shape(gt));
      float[] v = Tensors.toFloats(gt);
      assertEquals((float) sdf[3], v[7 + 3], "channel 1: the SDF of label == 1");
    }
  }

  @Test
  void optionsAndInputChecks() {
    ContextAwareNetwork method = new ContextAwareNetwork();
    assertThrows(IllegalArgumentException.class, () -> method.defaults(2));
    Map<String, String> d = method.defaults(3);
    assertEquals("canet", d.get("model"));
    assertEquals("4", d.get("batch_size"));
    assertEquals("2", d.get("labeled_bs"));
    assertEquals("112,112,80", d.get("patch_size"));
    assertThrows(IllegalArgumentException.class, () -> method.students(new TrainConfig("canet", 3, "/x", "e", "vnet",
        10, 4, true, 0.01, PATCH, 1, 2, 2, 2, 0, 0.99, "mse", 0.01, 40, "cpu", 0, 0, false, true, "/x", 200, 3000,
        Map.of())));
    MethodTestSupport.seed(83);
    Networks.Network model = canet();
    TrainConfig wrongPatch = new TrainConfig("canet", 3, "/x", "e", "canet", 10, 4, true, 0.01, new int[] {32, 32, 32},
        1, 2, 2, 2, 0, 0.99, "mse", 0.01, 40, "cpu", 0, 0, false, true, "/x", 200, 3000, Map.of());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> method.setUp(new TrainingContext(wrongPatch, model, null, 0), new Device("cpu")));
    assertTrue(e.getMessage().contains("img_size=32,32,32"), e.getMessage());
  }
}
