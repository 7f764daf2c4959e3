package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;

/**
 * Ten iterations of each 2D method against a Python trace of its reference script's loop: the same initial
 * weights (saved from Java), the same ten batches, no augmentation, dropout off ({@code dropout=0,0,0,0,0}),
 * one thread. Java runs {@link Optimization#iterate} (the engine's iteration); Python ({@code
 * resources/methods/trace_<method>.py} after {@code unet2d_reference.py} and {@code trace_reference.py},
 * Debian's torch 1.13) follows the script line by line: its losses, {@code optim.SGD(lr=base_lr, momentum=0.9,
 * weight_decay=1e-4)}, its EMA update and its learning-rate order. Every logged term, the total loss and the
 * learning rate of every iteration must agree within {@value #REL} relative, with an absolute floor of
 * {@value #ABS} for terms near zero (MT's {@code consistency_loss} is exactly 0 before iteration 1000).
 *
 * <p>{@link Method3dTraceTest} runs the same scripts, through {@link #run(Path, long, Method, Shape, String, int, List,
 * int, double, Map, Draws)}, on 3D volumes.
 *
 * <p>The iterations run from {@value #START} to {@value #START} + 9 with {@code max_iterations}
 * {@value #MAX_ITERATIONS} and {@code consistency_rampup} {@value #RAMPUP}: the consistency weights are well
 * above zero, MT's 2D script switches its consistency on at 1000 half-way through, UA-MT's threshold is near
 * {@code ln 2}, and the poly rate decays visibly.
 *
 * <p>Measured (libtorch 2.10 against torch 1.13, CPU): every term agrees to about {@code 3e-7} relative over the
 * ten iterations, URPC's consistency term (a small difference of divergences) to {@code 1e-5}. The networks are tiny (widths 4..64, a 2x2 bottleneck), so a near-tie that float rounding
 * resolves differently on the two sides (a max-pool choice, a LeakyReLU sign) can throw a trace off by
 * {@code 1e-5..1e-4} a few iterations later; R-Drop's small KL term shows it first (its initialisation seed 1337
 * did). Each test therefore fixes its initialisation seed, and the test prints its largest relative
 * difference per term ({@code TRACE_VERBOSE=1} prints every value).
 *
 * <table>
 *   <caption>What each trace aligns</caption>
 *   <tr><th>method</th><th>what was aligned</th><th>what was not</th></tr>
 *   <tr><td>supervised</td><td>weights, batches (labelled only, the loss on the whole batch as
 *       {@code sampler=labeled} does)</td><td>nothing random is left</td></tr>
 *   <tr><td>mt</td><td>student and (independently initialised) teacher weights, batches, the teacher's
 *       {@code randn_like} draws (precomputed in Java, passed to Python)</td><td>nothing random is left</td></tr>
 *   <tr><td>uamt</td><td>as mt, and the draws of the T = 8 noisy teacher passes (one draw per pass over the
 *       twice-repeated batch); 2 classes so that the uncertainty mask is neither empty nor full</td>
 *       <td>nothing random is left</td></tr>
 *   <tr><td>ict</td><td>weights, batches, the {@code Beta(0.2, 0.2)} mixing coefficients (drawn in Java,
 *       passed to Python in place of {@code np.random.beta})</td><td>nothing random is left</td></tr>
 *   <tr><td>em</td><td>weights, batches</td><td>nothing random is left</td></tr>
 *   <tr><td>urpc</td><td>weights, batches; UNet_URPC's side-head perturbations are switched off on both sides
 *       ({@code perturbations=false}: no dropout p = 0.5, FeatureDropout or FeatureNoise in training
 *       mode)</td><td>the perturbations themselves (their draws are not compared)</td></tr>
 *   <tr><td>rdrop</td><td>both networks' weights, batches, the one-ahead learning rate; dropout off, so the
 *       two networks differ only by their initial weights</td><td>R-Drop's dropout draws (off)</td></tr>
 * </table>
 */
@SuppressWarnings("try") // memory scopes act while open; bodies never name them
@ExtendWith(OneIntraOpThread.class)
class MethodTraceTest {
  static final int ITERATIONS = 10;
  static final int START = 995;
  static final int MAX_ITERATIONS = 1100;
  static final double BASE_LR = 0.05;
  static final double RAMPUP = 10.0;
  static final int BATCH = 4;
  static final int LABELED_BS = 2;
  static final double REL = 1e-4;
  static final double ABS = 1e-7;
  /** A deterministic forward pass: no encoder dropout. */
  static final String NO_DROPOUT = "feature_chns=" + MethodTestSupport.WIDTHS + ";dropout=0,0,0,0,0";
  /** The 2D traces: the tiny UNet on 32 x 32 images, {@code unet2d_reference.py} on the Python side. */
  static final Shape PLANAR = new Shape(2, new int[] {MethodTestSupport.SIDE, MethodTestSupport.SIDE}, NO_DROPOUT,
      null, List.of("/methods/unet2d_reference.py", "/methods/trace_reference.py"));

  /**
   * What a trace runs on: the script's dimension, the patch, the default {@code model_options} (a deterministic
   * network), the initialisation of the networks the method leaves at their default (null: the network's own;
   * applied before the weights are saved) and the Python resources that precede {@code trace_<method>.py} (the
   * network re-statement and {@code trace_reference.py}).
   */
  record Shape(int dim, int[] patch, String modelOptions, Consumer<Module> init, List<String> prelude) {}

  @Test
  void fullySupervised(@TempDir Path dir) throws Exception {
    Trace t = run(dir, 11, new FullySupervised(), "unet", 4, BATCH, BATCH, 0.1, Map.of("sampler", "labeled"), null);
    t.compareWithPython("trace_supervised.py");
  }

  @Test
  void meanTeacher(@TempDir Path dir) throws Exception {
    Draws draws = new Draws(21);
    Trace t = run(dir, 12, new MeanTeacher(draws), "unet", 4, BATCH, LABELED_BS, 1.0, Map.of(), draws);
    t.compareWithPython("trace_mt.py");
    assertEquals(0.0, t.javaTerms.get(0).get("info/consistency_loss"), "the 2D script's consistency starts at 1000");
    assertTrue(t.javaTerms.get(ITERATIONS - 1).get("info/consistency_loss") > 1e-5, "the consistency is exercised");
  }

  @Test
  void uncertaintyAwareMeanTeacher(@TempDir Path dir) throws Exception {
    Draws draws = new Draws(22);
    Trace t = run(dir, 13, new UncertaintyAwareMeanTeacher(draws), "unet", 2, BATCH, LABELED_BS, 1.0, Map.of(), draws);
    Map<String, Double> py = t.compareWithPython("trace_uamt.py");
    boolean partial = false;
    for (int k = 0; k < ITERATIONS; k++) {
      double certain = py.get(k + "|certain_fraction");
      partial |= certain > 0.01 && certain < 0.99;
    }
    assertTrue(partial, "the uncertainty mask keeps some positions and drops others: " + py);
    assertTrue(t.javaTerms.get(ITERATIONS - 1).get("info/consistency_loss") > 1e-6, "the consistency is exercised");
  }

  @Test
  void interpolationConsistency(@TempDir Path dir) throws Exception {
    BetaDraws factors = new BetaDraws(23);
    Trace t = run(dir, 14, new InterpolationConsistency(factors), "unet", 4, BATCH, LABELED_BS, 1.0, Map.of(), null);
    factors.handTo(t);
    t.compareWithPython("trace_ict.py");
    assertTrue(t.javaTerms.get(ITERATIONS - 1).get("info/consistency_loss") > 1e-6, "the consistency is exercised");
  }

  @Test
  void entropyMinimization(@TempDir Path dir) throws Exception {
    Trace t = run(dir, 15, new EntropyMinimization(), "unet", 4, BATCH, LABELED_BS, 1.0, Map.of(), null);
    t.compareWithPython("trace_em.py");
  }

  @Test
  void uncertaintyRectifiedPyramidConsistency(@TempDir Path dir) throws Exception {
    Trace t = run(dir, 16, new UncertaintyRectifiedPyramidConsistency(), "unet_urpc", 4, BATCH, LABELED_BS, 1.0,
        Map.of("model_options", NO_DROPOUT + ";perturbations=false"), null);
    t.compareWithPython("trace_urpc.py");
    assertTrue(t.javaTerms.get(ITERATIONS - 1).get("info/consistency_loss") > 1e-6, "the heads disagree");
  }

  @Test
  void regularizedDropoutTwoNetworks(@TempDir Path dir) throws Exception {
    Trace t = run(dir, 2, new RegularizedDropout(), "unet", 4, BATCH, LABELED_BS, 4.0, Map.of(), null);
    assertEquals(2, t.networkFiles.size(), "model1 and model2");
    t.compareWithPython("trace_rdrop.py");
    assertTrue(t.javaTerms.get(ITERATIONS - 1).get("loss/r_drop_loss") > 1e-6, "the two networks disagree");
  }

  // ---- the Java side --------------------------------------------------------------------------------------

  /**
   * The teacher's standard normal draws: made here from a seeded Java stream, recorded per iteration in the
   * order the method asks for them, so that Python can be handed the same ones.
   */
  static final class Draws implements TeacherInputNoise {
    private final SplittableRandom random;
    private final List<List<float[]>> values = new ArrayList<>();
    private final List<List<long[]>> shapes = new ArrayList<>();

    Draws(long seed) {
      random = new SplittableRandom(seed);
    }

    void nextIteration() {
      values.add(new ArrayList<>());
      shapes.add(new ArrayList<>());
    }

    @Override
    public Tensor randnLike(Tensor x) {
      long[] shape = Tensors.shape(x);
      float[] v = new float[(int) Tensors.numel(shape)];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) random.nextGaussian();
      }
      values.getLast().add(v);
      shapes.getLast().add(shape);
      return Tensors.fromFloats(v, shape).to(x.device(), x.scalar_type());
    }

    /** Per iteration, the list of draws as tensors (created outside any memory scope). */
    List<List<Tensor>> tensors() {
      List<List<Tensor>> out = new ArrayList<>();
      for (int k = 0; k < values.size(); k++) {
        List<Tensor> it = new ArrayList<>();
        for (int j = 0; j < values.get(k).size(); j++) {
          it.add(Tensors.fromFloats(values.get(k).get(j), shapes.get(k).get(j)));
        }
        out.add(it);
      }
      return out;
    }
  }

  /**
   * ICT's {@code Beta(alpha, alpha)} mixing coefficients: drawn from a seeded Java stream, recorded per iteration
   * so that Python can be handed the same ones (in place of {@code np.random.beta}).
   */
  static final class BetaDraws implements InterpolationConsistency.MixFactorSampler {
    private final SplittableRandom random;
    private final List<double[]> values = new ArrayList<>();

    BetaDraws(long seed) {
      random = new SplittableRandom(seed);
    }

    @Override
    public double[] sample(double alpha, int n) {
      double[] f = new double[n];
      for (int i = 0; i < n; i++) {
        f[i] = InterpolationConsistency.sampleBeta(random, alpha, alpha);
      }
      values.add(f);
      return f;
    }

    /** Puts the draws into the trace's tree as {@code factors}, after checking there was one per iteration. */
    void handTo(Trace trace) {
      assertEquals(ITERATIONS, values.size(), "one draw of coefficients per iteration");
      List<Tensor> saved = new ArrayList<>();
      for (double[] f : values) {
        saved.add(Tensors.fromDoubles(f, f.length));
      }
      trace.tree.put("factors", saved);
    }
  }

  /** A finished Java run: its per-iteration terms, the saved weights and the tree for Python. */
  static final class Trace {
    final List<Map<String, Double>> javaTerms = new ArrayList<>();
    final List<Path> networkFiles = new ArrayList<>();
    final Map<String, Object> tree = new LinkedHashMap<>();
    Path dir;
    List<String> prelude;

    /** Runs {@code script}, compares every term of every iteration and returns Python's values. */
    Map<String, Double> compareWithPython(String script) throws Exception {
      Path treeFile = dir.resolve("trace.pth");
      Checkpoints.saveTree(treeFile, tree);
      List<String> args = new ArrayList<>();
      networkFiles.forEach(p -> args.add(p.toString()));
      args.add(treeFile.toString());
      List<String> resources = new ArrayList<>(prelude);
      resources.add("/methods/" + script);
      Map<String, Double> py = MethodTestSupport.pythonOf(resources, args.toArray(String[]::new));
      Map<String, Double> worst = new java.util.TreeMap<>();
      StringBuilder all = new StringBuilder();
      for (int k = 0; k < ITERATIONS; k++) {
        for (Map.Entry<String, Double> e : javaTerms.get(k).entrySet()) {
          double expected = py.getOrDefault(k + "|" + e.getKey(), Double.NaN);
          double rel = Math.abs(expected - e.getValue()) / Math.max(Math.abs(expected), ABS / REL);
          worst.merge(e.getKey(), rel, Math::max);
          all.append(String.format(java.util.Locale.ROOT, "%d %s py %.9g java %.9g rel %.2e%n", START + k, e.getKey(),
              expected, e.getValue(), rel));
        }
      }
      System.out.println(script + ": largest relative difference per term " + worst);
      if (System.getenv("TRACE_VERBOSE") != null) {
        System.out.print(all);
      }
      for (int k = 0; k < ITERATIONS; k++) {
        Map<String, Double> terms = javaTerms.get(k);
        TreeSet<String> pyTags = new TreeSet<>();
        String prefix = k + "|";
        py.keySet().stream().filter(key -> key.startsWith(prefix)).map(key -> key.substring(prefix.length()))
            .filter(tag -> !tag.equals("certain_fraction")).forEach(pyTags::add);
        assertEquals(pyTags, new TreeSet<>(terms.keySet()), "iteration " + k + ": the script's terms");
        for (Map.Entry<String, Double> e : terms.entrySet()) {
          MethodTestSupport.assertClose(py.get(prefix + e.getKey()), e.getValue(), REL, ABS,
              "iteration " + (START + k) + " " + e.getKey());
        }
      }
      return py;
    }
  }

  /** A 2D trace ({@link #PLANAR}) on {@value #ITERATIONS} reproducible batches of {@code batch} images. */
  static Trace run(Path dir, long seed, Method method, String model, int classes, int batch, int labeledBs, double consistency,
      Map<String, String> extra, Draws draws) throws Exception {
    List<Tensor[]> batches = new ArrayList<>();
    for (int k = 0; k < ITERATIONS; k++) {
      Tensor[] b = MethodTestSupport.batch(batch, 500 + k);
      // two classes: the upper two intensity bands against the lower two
      batches.add(classes == MethodTestSupport.CLASSES ? b
          : new Tensor[] {b[0], b[1].ge(new org.bytedeco.pytorch.Scalar(2L)).to(torch.ScalarType.Long)});
    }
    return run(dir, seed, method, PLANAR, model, classes, batches, labeledBs, consistency, extra, draws);
  }

  /**
   * Builds the method's networks as the engine does (students, and the teacher with detached parameters),
   * saves their initial weights, and runs {@value #ITERATIONS} iterations of {@link Optimization#iterate} on
   * the fixed {@code batches} (image, label), recording each iteration's scalars, {@code loss} and {@code lr}.
   */
  static Trace run(Path dir, long seed, Method method, Shape shape, String model, int classes, List<Tensor[]> batches,
      int labeledBs, double consistency, Map<String, String> extra, Draws draws) throws Exception {
    assertEquals(ITERATIONS, batches.size(), "one batch per iteration");
    int batch = (int) batches.getFirst()[0].size(0);
    Map<String, String> options = new LinkedHashMap<>(extra);
    options.putIfAbsent("model_options", shape.modelOptions());
    options.putIfAbsent("memory_format", "contiguous"); // the Python side's layout (MethodTestSupport.referenceLayout)
    TrainConfig config = new TrainConfig(method.name(), shape.dim(), "/nonexistent", "trace/" + method.name(), model,
        MAX_ITERATIONS, batch, true, BASE_LR, shape.patch(), 1337, classes, labeledBs, 7, 0, 0.99, "mse",
        consistency, RAMPUP, "cpu", 0, 0, false, true, "/nonexistent", 200, 3000, options);
    Networks.Options netOptions = Networks.Options.parse(options.get("model_options"));
    MethodTestSupport.seed(seed);
    Trace trace = new Trace();
    trace.dir = dir;
    trace.prelude = shape.prelude();
    List<Networks.Network> students = new ArrayList<>();
    for (Method.Student s : method.students(config)) {
      Networks.Network n = Networks.create(s.network(), 1, classes, netOptions);
      if (s.init() != null) {
        s.init().accept(n.module());
      } else if (shape.init() != null) {
        shape.init().accept(n.module());
      }
      n.module().train(true);
      students.add(n);
      Path file = dir.resolve(s.name() + ".pth");
      Checkpoints.saveStateDict(n.module(), file);
      trace.networkFiles.add(file);
    }
    Networks.Network ema = null;
    if (method.usesEmaModel()) {
      ema = Networks.create(model, 1, classes, netOptions);
      if (shape.init() != null) {
        shape.init().accept(ema.module());
      }
      for (Tensor p : org.ssl4mis.nn.StateDict.parameters(ema.module()).values()) {
        p.detach_();
      }
      ema.module().train(true);
      Path file = dir.resolve("ema_model.pth");
      Checkpoints.saveStateDict(ema.module(), file);
      trace.networkFiles.add(file);
    }
    List<Tensor> images = new ArrayList<>();
    List<Tensor> labels = new ArrayList<>();
    for (Tensor[] b : batches) {
      images.add(b[0]);
      labels.add(b[1]);
    }

    Optimization optimization = new Optimization(config, method, students, ema);
    for (int k = 0; k < ITERATIONS; k++) {
      if (draws != null) {
        draws.nextIteration();
      }
      try (MemoryScope scope = MemoryScope.open()) {
        Optimization.Outcome o = optimization.iterate(START + k, images.get(k), labels.get(k));
        Map<String, Double> terms = new LinkedHashMap<>(o.scalars());
        terms.put("loss", o.loss());
        terms.put("lr", o.learningRate());
        trace.javaTerms.add(terms);
      }
    }
    trace.tree.put("dim", (long) shape.dim());
    trace.tree.put("images", images);
    trace.tree.put("labels", labels);
    trace.tree.put("draws", draws == null ? List.of() : draws.tensors());
    trace.tree.put("factors", List.of());
    trace.tree.put("start_iter", (long) START);
    trace.tree.put("max_iterations", (long) MAX_ITERATIONS);
    trace.tree.put("base_lr", BASE_LR);
    trace.tree.put("labeled_bs", (long) labeledBs);
    trace.tree.put("num_classes", (long) classes);
    trace.tree.put("consistency", consistency);
    trace.tree.put("consistency_rampup", RAMPUP);
    trace.tree.put("ema_decay", config.emaDecay());
    return trace;
  }
}
