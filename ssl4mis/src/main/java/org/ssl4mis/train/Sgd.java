package org.ssl4mis.train;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;

/**
 * The scripts' optimizer, {@code optim.SGD(model.parameters(), lr=base_lr, momentum=0.9,
 * weight_decay=0.0001)}, on libtorch's SGD (same update: {@code d = grad + wd * p}; {@code buf = d} on the
 * first step, then {@code momentum * buf + d}; {@code p -= lr * buf}), with the learning rate of every
 * parameter group settable each iteration as the scripts do after the step.
 */
public final class Sgd {
  private final SGD optimizer;

  public Sgd(Module model, double lr, double momentum, double weightDecay) {
    SGDOptions o = new SGDOptions(lr);
    o.momentum().put(momentum);
    o.weight_decay().put(weightDecay);
    this.optimizer = new SGD(model.parameters(), o);
  }

  public void zeroGrad() {
    optimizer.zero_grad(true);
  }

  public void step() {
    optimizer.step();
  }

  /** {@code for param_group in optimizer.param_groups: param_group['lr'] = lr}. */
  public void setLearningRate(double lr) {
    OptimizerParamGroupVector groups = optimizer.param_groups();
    for (long i = 0; i < groups.size(); i++) {
      groups.get(i).options().set_lr(lr);
    }
    java.lang.ref.Reference.reachabilityFence(groups);
  }

  public double learningRate() {
    return optimizer.param_groups().get(0).options().get_lr();
  }

  /** The underlying libtorch optimizer. */
  public SGD optimizer() {
    return optimizer;
  }
}
