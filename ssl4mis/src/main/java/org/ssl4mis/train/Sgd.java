package org.ssl4mis.train;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;

/**
 * The optimizer of a training run: {@link PolyLr#sgd} ({@code optim.SGD(model.parameters(), lr=base_lr,
 * momentum=0.9, weight_decay=0.0001)}) with the learning rate of every parameter group set each iteration.
 */
public final class Sgd {
  private final SGD optimizer;

  public Sgd(Module model, double lr, double momentum, double weightDecay) {
    this.optimizer = PolyLr.sgd(model, lr, momentum, weightDecay);
  }

  public void zeroGrad() {
    optimizer.zero_grad(true);
  }

  public void step() {
    optimizer.step();
  }

  /** {@code for param_group in optimizer.param_groups: param_group['lr'] = lr}. */
  public void setLearningRate(double lr) {
    PolyLr.setLearningRate(optimizer, lr);
  }

  public double learningRate() {
    return PolyLr.learningRate(optimizer);
  }

  public SGD optimizer() {
    return optimizer;
  }
}
