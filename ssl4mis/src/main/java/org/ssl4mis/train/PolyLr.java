package org.ssl4mis.train;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * The optimiser set-up every SSL4MIS training script shares:
 * {@code optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)} and, after each
 * optimiser step, the "poly" learning rate {@code lr_ = base_lr * (1.0 - iter_num / max_iterations) ** 0.9}
 * written into every parameter group.
 *
 * <p>The scripts compute {@code lr_} from {@code iter_num} BEFORE incrementing it, so the first two steps both
 * run at {@code base_lr} and the last step of a run uses {@code base_lr * (1/max_iterations)^0.9}, never 0.
 *
 * <p>libtorch's {@link SGD} does what PyTorch's does with these options: {@code d = grad + wd*p};
 * {@code buf = d} at the first step, then {@code buf = momentum*buf + d} (dampening 0, no Nesterov);
 * {@code p -= lr*buf}; parameters without a gradient are skipped.
 *
 * <p>Create optimisers outside any {@link org.ssl4mis.memory.MemoryScope} (or keep them): closing a scope frees
 * the native objects created in it.
 */
public final class PolyLr {
  /** The poly exponent of the scripts. */
  public static final double POWER = 0.9;
  /** The scripts' SGD momentum. */
  public static final double MOMENTUM = 0.9;
  /** The scripts' SGD weight decay. */
  public static final double WEIGHT_DECAY = 1e-4;

  static {
    NativeRuntime.init();
  }

  private final double baseLr;
  private final long maxIterations;

  /** A schedule for {@code base_lr} decaying to 0 over {@code max_iterations}. */
  public PolyLr(double baseLr, long maxIterations) {
    if (!(baseLr >= 0) || Double.isInfinite(baseLr)) {
      throw new IllegalArgumentException("base_lr must be a finite number >= 0, got " + baseLr);
    }
    if (maxIterations < 1) {
      throw new IllegalArgumentException("max_iterations must be >= 1, got " + maxIterations);
    }
    this.baseLr = baseLr;
    this.maxIterations = maxIterations;
  }

  public double baseLr() {
    return baseLr;
  }

  public long maxIterations() {
    return maxIterations;
  }

  /** {@code base_lr * (1 - iter_num / max_iterations)^0.9}. */
  public double at(long iterNum) {
    return at(baseLr, iterNum, maxIterations);
  }

  /**
   * {@code base_lr * (1.0 - iter_num / max_iterations) ** 0.9} in double, as Python computes it.
   *
   * @throws IllegalArgumentException for {@code iter_num} outside {@code [0, max_iterations]} (beyond it Python
   *     would produce a complex number from the negative base)
   */
  public static double at(double baseLr, long iterNum, long maxIterations) {
    if (maxIterations < 1) {
      throw new IllegalArgumentException("max_iterations must be >= 1, got " + maxIterations);
    }
    if (iterNum < 0 || iterNum > maxIterations) {
      throw new IllegalArgumentException(
          "iter_num " + iterNum + " is outside [0, max_iterations=" + maxIterations + "]");
    }
    return baseLr * StrictMath.pow(1.0 - (double) iterNum / (double) maxIterations, POWER);
  }

  /**
   * What the scripts do after {@code optimizer.step()}: computes {@link #at(long) lr_} for {@code iterNum} (the
   * counter before its increment) and writes it into every parameter group.
   *
   * @return the learning rate set
   */
  public double apply(Optimizer optimizer, long iterNum) {
    double lr = at(iterNum);
    setLearningRate(optimizer, lr);
    return lr;
  }

  /** {@code for param_group in optimizer.param_groups: param_group['lr'] = lr}. */
  public static void setLearningRate(Optimizer optimizer, double lr) {
    if (!(lr >= 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("learning rate must be a finite number >= 0, got " + lr);
    }
    OptimizerParamGroupVector groups = optimizer.param_groups();
    for (long i = 0; i < groups.size(); i++) {
      groups.get(i).options().set_lr(lr);
    }
  }

  /** The learning rate of the first parameter group ({@code optimizer.param_groups[0]['lr']}). */
  public static double learningRate(Optimizer optimizer) {
    OptimizerParamGroupVector groups = optimizer.param_groups();
    if (groups.size() == 0) {
      throw new IllegalArgumentException("the optimizer has no parameter groups");
    }
    return groups.get(0).options().get_lr();
  }

  /** The scripts' optimiser: {@code SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)}. */
  public static SGD sgd(Module model, double baseLr) {
    return sgd(model, baseLr, MOMENTUM, WEIGHT_DECAY);
  }

  /** {@code SGD(model.parameters(), lr, momentum, weight_decay)} (dampening 0, no Nesterov). */
  public static SGD sgd(Module model, double lr, double momentum, double weightDecay) {
    if (!(lr >= 0) || !(momentum >= 0) || !(weightDecay >= 0)) {
      throw new IllegalArgumentException("lr, momentum and weight_decay must be >= 0, got " + lr + ", " + momentum
          + ", " + weightDecay);
    }
    SGDOptions options = new SGDOptions(lr);
    options.momentum().put(momentum);
    options.weight_decay().put(weightDecay);
    return new SGD(model.parameters(true), options);
  }
}
