package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.PolyLr;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/** Small configurations, synthetic batches and the Python side of the method-step tests. */
@SuppressWarnings("try") // memory scopes and no-grad guards act while open; bodies never name them
final class MethodTestSupport {
  private MethodTestSupport() {}

  static final int SIDE = 32;
  static final int CLASSES = 4;
  /** Narrow widths so that a step takes milliseconds. */
  static final String WIDTHS = "4,8,16,32,64";
  /** Iteration 15000: {@code 15000 // 150 = 100}, half-way up the default ramp, weight {@code exp(-1.25)}. */
  static final int ITER = 15000;

  static TrainConfig config(String method, String model, int batch, int labeledBs, double consistency,
      Map<String, String> extra) {
    return config(method, model, CLASSES, batch, labeledBs, consistency, extra);
  }

  static TrainConfig config(String method, String model, int classes, int batch, int labeledBs, double consistency,
      Map<String, String> extra) {
    return new TrainConfig(method, 2, "/nonexistent", "test/" + method, model, 30000, batch, true, 0.01,
        new int[] {SIDE, SIDE}, 1337, classes, labeledBs, 7, 0, 0.99, "mse", consistency, 200.0, "cpu", 0, 0, false,
        true, "/nonexistent", 200, 3000, referenceLayout(extra));
  }

  /**
   * {@code extra} with {@code memory_format=contiguous} unless it names one: the layout the Python side computes
   * in, so that traces compare float rounding for float rounding (channels-last changes the order of the sums
   * inside convolutions; {@link MemoryFormatTrainingTest} compares the two layouts).
   */
  static Map<String, String> referenceLayout(Map<String, String> extra) {
    Map<String, String> out = new java.util.LinkedHashMap<>(extra);
    out.putIfAbsent("memory_format", "contiguous");
    return out;
  }

  /** A network with the test widths; {@code dropout} "0,0,0,0,0" makes its forward pass deterministic. */
  static Networks.Network network(String name, String dropout) {
    return network(name, CLASSES, dropout);
  }

  static Networks.Network network(String name, int classes, String dropout) {
    Networks.Options o = dropout == null ? Networks.Options.of("feature_chns", WIDTHS)
        : Networks.Options.of("feature_chns", WIDTHS, "dropout", dropout);
    Networks.Network n = Networks.create(name, 1, classes, o);
    n.module().train(true);
    return n;
  }

  static Networks.Network deterministicUnet() {
    return network("unet", "0,0,0,0,0");
  }

  /**
   * A reproducible batch: smooth random images (N, 1, 32, 32) and labels that follow the image (four
   * intensity bands), so a network can learn them.
   */
  static Tensor[] batch(int n, long seed) {
    return batch(n, SIDE, seed);
  }

  /** {@link #batch(int, long)} with images of {@code side} x {@code side}. */
  static Tensor[] batch(int n, int side, long seed) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
    float[] img = new float[n * side * side];
    long[] lab = new long[n * side * side];
    for (int b = 0; b < n; b++) {
      double fx = 0.5 + r.nextDouble() * 2;
      double fy = 0.5 + r.nextDouble() * 2;
      double phase = r.nextDouble() * 6.28;
      for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) {
          double v = Math.sin(fx * x / side * 6.28 + phase) * Math.cos(fy * y / side * 6.28);
          int i = (b * side + y) * side + x;
          img[i] = (float) (v + 0.1 * r.nextGaussian());
          lab[i] = v < -0.5 ? 0 : v < 0 ? 1 : v < 0.5 ? 2 : 3;
        }
      }
    }
    return new Tensor[] {Tensors.fromFloats(img, n, 1, side, side), Tensors.fromLongs(lab, n, side, side)};
  }

  /** The Python side: {@code unet2d_reference.py} followed by {@code script}, run with {@code args}. */
  static Map<String, Double> python(String script, String... args) throws IOException {
    String source = resource("unet2d_reference.py") + "\n\n" + resource(script);
    String out = PythonReference.run(source, Duration.ofSeconds(120), args).strip();
    String[] lines = out.split("\n");
    return parseFlatJson(lines[lines.length - 1]);
  }

  /**
   * The Python side from several test resources (absolute resource paths, joined in order; a script's
   * {@code if __name__ == "__main__":} block, either quoting, is cut so that only the last one runs).
   */
  static Map<String, Double> pythonOf(java.util.List<String> resources, String... args) throws IOException {
    StringBuilder source = new StringBuilder();
    for (String r : resources) {
      String text = absoluteResource(r);
      int main = text.indexOf("\nif __name__ == \"__main__\":");
      if (main < 0) {
        main = text.indexOf("\nif __name__ == '__main__':");
      }
      source.append(main < 0 ? text : text.substring(0, main + 1)).append("\n\n");
    }
    String out = PythonReference.run(source.toString(), Duration.ofSeconds(300), args).strip();
    String[] lines = out.split("\n");
    return parseFlatJson(lines[lines.length - 1]);
  }

  private static String resource(String name) throws IOException {
    return absoluteResource("/methods/" + name);
  }

  private static String absoluteResource(String name) throws IOException {
    try (InputStream in = MethodTestSupport.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("test resource " + name + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** {@code {"a": 1.0, "b": 2e-3}}, the only JSON the scripts print. */
  static Map<String, Double> parseFlatJson(String json) {
    String body = json.strip();
    if (!body.startsWith("{") || !body.endsWith("}")) {
      throw new IllegalArgumentException("not a JSON object: " + json);
    }
    Map<String, Double> m = new HashMap<>();
    for (String part : body.substring(1, body.length() - 1).split(",")) {
      String[] kv = part.split(":");
      m.put(kv[0].strip().replace("\"", ""), Double.parseDouble(kv[1].strip()));
    }
    return m;
  }

  static void assertClose(double expected, double actual, double rel, double abs, String what) {
    double diff = Math.abs(expected - actual);
    assertTrue(diff <= abs + rel * Math.abs(expected),
        what + ": expected " + expected + ", got " + actual + " (|diff| " + diff + ")");
  }

  /**
   * Runs {@code iterations} engine-like iterations on one fixed batch (step, zero_grad, backward, SGD step,
   * then {@code after.apply(i)}, e.g. the EMA update) and returns the total loss of each.
   */
  static double[] train(Method method, TrainConfig config, Networks.Network model, Networks.Network ema,
      Tensor image, Tensor label, int iterations, double lr, IntFunction<Void> after) {
    SGD sgd = PolyLr.sgd(model.module(), lr);
    double[] losses = new double[iterations];
    for (int i = 0; i < iterations; i++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Method.StepLoss s = method.step(new TrainingContext(config, model, ema, ITER + i), image, label);
        losses[i] = s.total().item_double();
        sgd.zero_grad(false);
        s.total().backward();
        sgd.step();
        if (after != null) {
          after.apply(i);
        }
      }
    }
    return losses;
  }

  /** Every tensor of two state dicts agrees to {@code 1e-4} of the tensor's largest magnitude (plus 1e-6). */
  static void assertSameWeights(Map<String, Tensor> expected, Map<String, Tensor> actual, String what) {
    assertSameWeights(expected, actual, 1e-4, 1e-6, what);
  }

  /** The same to {@code rel} of each tensor's largest magnitude plus {@code abs}. */
  static void assertSameWeights(Map<String, Tensor> expected, Map<String, Tensor> actual, double rel, double abs,
      String what) {
    org.junit.jupiter.api.Assertions.assertEquals(expected.keySet(), actual.keySet(), what);
    for (Map.Entry<String, Tensor> e : actual.entrySet()) {
      float[] a = Tensors.toFloats(e.getValue());
      float[] b = Tensors.toFloats(expected.get(e.getKey()));
      double scale = 0;
      double diff = 0;
      for (int i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(b[i]));
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      assertTrue(diff <= rel * scale + abs, what + " " + e.getKey() + ": max |diff| " + diff + " (max |w| " + scale
          + ")");
    }
  }

  static double mean(double[] v, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += v[i];
    }
    return s / (to - from);
  }

  private static int savedThreads = -1;

  /**
   * One intra-op thread for the test class (call from {@code @BeforeAll}): the networks are tiny, and libtorch's
   * spinning worker threads make a step many times slower on a busy two-core machine.
   */
  static synchronized void oneThread() {
    if (savedThreads < 0) {
      savedThreads = NativeRuntime.threads();
    }
    NativeRuntime.setThreads(1);
  }

  /** Restores the thread count {@link #oneThread} found (call from {@code @AfterAll}). */
  static synchronized void restoreThreads() {
    if (savedThreads > 0) {
      NativeRuntime.setThreads(savedThreads);
    }
    savedThreads = -1;
  }

  /** Seeds libtorch (network initialisation, dropout) so that a test is repeatable. */
  static void seed(long s) {
    NativeRuntime.seed(s);
  }
}
