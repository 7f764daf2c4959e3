package org.ssl4mis.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.StateDict;

/**
 * The scripts' optimizer, {@code optim.SGD(model.parameters(), lr=base_lr, momentum=0.9,
 * weight_decay=0.0001)}, written out with the same operations as libtorch's SGD (so the result is the same
 * to the bit): {@code d = grad + wd * p}; {@code buf = clone(d)} on the first step, then
 * {@code buf = momentum * buf + d}; {@code p -= lr * buf}. Owning the momentum buffers lets a run save and
 * resume its full optimizer state under the parameters' state-dict names.
 */
public final class Sgd {
  private final Map<String, Tensor> parameters;
  private final Map<String, Tensor> momentumBuffers = new LinkedHashMap<>();
  private final double momentum;
  private final double weightDecay;
  private double lr;

  public Sgd(Module model, double lr, double momentum, double weightDecay) {
    this.parameters = StateDict.parameters(model);
    this.lr = lr;
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  /** {@code optimizer.zero_grad()} as PyTorch 1.13 does it by default: gradients set to zero in place. */
  public void zeroGrad() {
    zeroGrad(parameters.values());
  }

  /** Zeroes the defined gradients of {@code parameters} in place (PyTorch 1.13's default {@code zero_grad}). */
  static void zeroGrad(Iterable<Tensor> parameters) {
    for (Tensor p : parameters) {
      Tensor g = p.grad();
      if (g.defined()) {
        g.detach_().zero_();
      }
      g.close();
    }
  }

  public void step() {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Scalar wd = new Scalar(weightDecay);
      Scalar mom = new Scalar(momentum);
      Scalar minusLr = new Scalar(-lr);
      for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
        Tensor p = e.getValue();
        Tensor grad = p.grad();
        if (!grad.defined()) {
          continue;
        }
        Tensor d = weightDecay != 0 ? grad.add(p, wd) : grad;
        Tensor buf = momentumBuffers.get(e.getKey());
        if (buf == null) {
          buf = scope.detach(d.clone().detach()); // lives as long as the optimizer, not the iteration
          momentumBuffers.put(e.getKey(), buf);
        } else {
          buf.mul_(mom).add_(d);
        }
        p.add_(buf, minusLr);
      }
    }
  }

  /** {@code for param_group in optimizer.param_groups: param_group['lr'] = lr}. */
  public void setLearningRate(double lr) {
    this.lr = lr;
  }

  public double learningRate() {
    return lr;
  }

  /** The momentum buffers by parameter name (empty before the first step). */
  public Map<String, Tensor> momentumBuffers() {
    return java.util.Collections.unmodifiableMap(momentumBuffers);
  }

  /**
   * {@code optimizer.state_dict()} as PyTorch 1.13's SGD writes it: {@code state} maps the index of every
   * parameter that has a momentum buffer (in {@code model.parameters()} order) to {@code {'momentum_buffer': t}};
   * one {@code param_groups} entry holds the hyper-parameters, the current {@code lr} and the indices of all
   * parameters. The buffers are this optimizer's own tensors (the caller saves them before the next step).
   */
  public Map<String, Object> torchStateDict() {
    List<String> names = new ArrayList<>(parameters.keySet());
    Map<Object, Object> state = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : momentumBuffers.entrySet()) {
      Map<String, Object> buffer = new LinkedHashMap<>();
      buffer.put("momentum_buffer", e.getValue());
      state.put((long) names.indexOf(e.getKey()), buffer);
    }
    Map<String, Object> group = new LinkedHashMap<>();
    group.put("lr", lr);
    group.put("momentum", momentum);
    group.put("dampening", 0L);
    group.put("weight_decay", weightDecay);
    group.put("nesterov", false);
    group.put("maximize", false);
    group.put("foreach", null);
    group.put("differentiable", false);
    List<Object> indices = new ArrayList<>();
    for (long i = 0; i < names.size(); i++) {
      indices.add(i);
    }
    group.put("params", indices);
    Map<String, Object> dict = new LinkedHashMap<>();
    dict.put("state", state);
    dict.put("param_groups", List.of(group));
    return dict;
  }

  /** Restores momentum buffers saved from a run of the same model (copied into new tensors). */
  public void loadMomentumBuffers(Map<String, Tensor> buffers) {
    for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
      Tensor p = parameters.get(e.getKey());
      if (p == null) {
        throw new IllegalArgumentException("momentum buffer for '" + e.getKey() + "', which the model has no parameter for");
      }
      Tensor copy = e.getValue().to(p.device(), p.scalar_type()).clone();
      momentumBuffers.put(e.getKey(), copy);
    }
  }
}
