package org.ssl4mis.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.MemoryFormat;
import org.ssl4mis.nn.StateDict;

/**
 * The optimisation part of one iteration, as every script does it, for the networks of a run: the method's
 * loss, {@code zero_grad} of every optimizer, {@code backward}, every optimizer's step, the EMA update
 * ({@code alpha = min(1 - 1/(iter+1), ema_decay)}) of the teacher, the method's {@link Method#afterStep}
 * (a discriminator's update), then the poly learning rate for the next step. The {@link Trainer} runs it
 * inside its loop; trace tests drive it directly with fixed batches.
 *
 * <p>Create it outside any memory scope (it owns the optimizers' momentum buffers); call {@link #iterate}
 * inside one.
 */
public final class Optimization {
  private final TrainConfig config;
  private final Method method;
  private final List<Networks.Network> students;
  private final List<Sgd> optimizers;
  private final Networks.Network ema;
  private final MemoryFormat memoryFormat;
  private final PhaseTimes times = new PhaseTimes();

  public Optimization(TrainConfig config, Method method, List<Networks.Network> students, Networks.Network ema) {
    if (method.usesEmaModel() != (ema != null)) {
      throw new IllegalArgumentException(method.name() + (method.usesEmaModel() ? " needs" : " has no use for")
          + " an EMA model");
    }
    this.config = config;
    this.method = method;
    this.students = List.copyOf(students);
    this.ema = ema;
    // The layout of the trained networks and their input batches (TrainConfig#memoryFormat): set before the
    // optimizers exist, so that their momentum buffers take the parameters' layout.
    this.memoryFormat = config.memoryFormat(onCpu(this.students));
    for (Networks.Network n : this.students) {
      memoryFormat.apply(n.module());
    }
    if (ema != null) {
      memoryFormat.apply(ema.module());
    }
    List<Sgd> sgds = new ArrayList<>();
    for (Networks.Network n : this.students) {
      sgds.add(new Sgd(n.module(), config.baseLr(), PolyLr.MOMENTUM, PolyLr.WEIGHT_DECAY));
    }
    this.optimizers = Collections.unmodifiableList(sgds);
  }

  /** What an iteration produced; the tensors belong to the caller's memory scope. */
  public record Outcome(double loss, Map<String, Double> scalars, Method.StepLoss step, double learningRate) {}

  public TrainingContext context(int iterNum) {
    return new TrainingContext(config, students, ema, iterNum);
  }

  /**
   * One iteration {@code iterNum} (before the increment) on a batch already on the device. A non-finite
   * loss throws before any weight changes.
   */
  public Outcome iterate(int iterNum, Tensor volumeBatch, Tensor labelBatch) {
    return iterate(iterNum, volumeBatch, labelBatch, Map.of());
  }

  /** {@link #iterate(int, Tensor, Tensor)} on a batch with further images by name ({@link Method#step(TrainingContext, Tensor, Tensor, Map)}). */
  public Outcome iterate(int iterNum, Tensor volumeBatch, Tensor labelBatch, Map<String, Tensor> extras) {
    volumeBatch = memoryFormat.apply(volumeBatch);
    if (memoryFormat != MemoryFormat.CONTIGUOUS && !extras.isEmpty()) {
      Map<String, Tensor> laid = new LinkedHashMap<>();
      for (Map.Entry<String, Tensor> e : extras.entrySet()) {
        laid.put(e.getKey(), e.getValue().is_floating_point() ? memoryFormat.apply(e.getValue()) : e.getValue());
      }
      extras = laid;
    }
    TrainingContext ctx = context(iterNum);
    long t0 = System.nanoTime();
    Method.StepLoss step = extras.isEmpty() ? method.step(ctx, volumeBatch, labelBatch)
        : method.step(ctx, volumeBatch, labelBatch, extras);
    double lossValue = step.total().item_double();
    if (!Double.isFinite(lossValue)) {
      throw new NonFiniteLoss(iterNum + 1, lossValue, step.scalarView());
    }
    long t1 = System.nanoTime();
    for (Sgd sgd : optimizers) {
      sgd.zeroGrad();
    }
    step.total().backward();
    long t2 = System.nanoTime();
    for (Sgd sgd : optimizers) {
      sgd.step();
    }
    long t3 = System.nanoTime();
    if (ema != null) {
      Ema.update_ema_variables(students.get(0).module(), ema.module(), config.emaDecay(), iterNum);
    }
    long t4 = System.nanoTime();
    Map<String, Double> scalars = new LinkedHashMap<>(step.scalarView());
    scalars.putAll(method.afterStep(ctx, volumeBatch, labelBatch, step));
    long t5 = System.nanoTime();
    times.add(PhaseTimes.Phase.FORWARD_LOSS, t1 - t0);
    times.add(PhaseTimes.Phase.BACKWARD, t2 - t1);
    times.add(PhaseTimes.Phase.OPTIMIZER, t3 - t2);
    times.add(PhaseTimes.Phase.EMA, t4 - t3);
    times.add(PhaseTimes.Phase.AFTER_STEP, t5 - t4);
    times.countIteration();
    double lr = learningRateAfter(iterNum);
    for (Sgd sgd : optimizers) {
      sgd.setLearningRate(lr);
    }
    return new Outcome(lossValue, Collections.unmodifiableMap(scalars), step, lr);
  }

  /** The rate the script sets after step {@code iterNum}: the poly rate of {@code iterNum} (or {@code iterNum + 1}). */
  public double learningRateAfter(int iterNum) {
    return PolyLr.at(config.baseLr(), method.learningRateOneAhead() ? iterNum + 1L : iterNum, config.maxIterations());
  }

  /** Sets every optimizer's rate as it is after {@code iterNum} completed steps (for {@code --resume}). */
  public void restoreLearningRate(int completedSteps) {
    double lr = completedSteps == 0 ? config.baseLr() : learningRateAfter(completedSteps - 1);
    for (Sgd sgd : optimizers) {
      sgd.setLearningRate(lr);
    }
  }

  /** The layout of the trained networks' weights and of the batches given to them. */
  public MemoryFormat memoryFormat() {
    return memoryFormat;
  }

  private static boolean onCpu(List<Networks.Network> networks) {
    for (Networks.Network n : networks) {
      for (Tensor p : StateDict.parameters(n.module()).values()) {
        return p.is_cpu();
      }
    }
    return true;
  }

  /** Where the iterations' time went so far (the Trainer adds data loading and the rest of its loop). */
  public PhaseTimes times() {
    return times;
  }

  public List<Networks.Network> students() {
    return students;
  }

  public List<Sgd> optimizers() {
    return optimizers;
  }

  public Networks.Network ema() {
    return ema;
  }

  public Method method() {
    return method;
  }

  /** A loss that is NaN or infinite, before any weight changed. */
  public static final class NonFiniteLoss extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final int iteration;

    NonFiniteLoss(int iteration, double loss, Map<String, Double> terms) {
      super("iteration " + iteration + ": the loss is " + loss + " (terms " + terms + ")");
      this.iteration = iteration;
    }

    public int iteration() {
      return iteration;
    }
  }
}
