package org.ssl4mis.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.StateDict;

/**
 * The adversarial scripts' discriminator optimizer, {@code optim.Adam(D.parameters(), lr, betas=(0.9, 0.99))}
 * (no weight decay, no AMSGrad), written out with the operations of PyTorch's single-tensor Adam (so the result
 * is the same to the bit): {@code step += 1}; {@code m = beta1 * m + (1 - beta1) * g};
 * {@code v = beta2 * v + (1 - beta2) * g * g}; {@code p -= (lr / (1 - beta1^step)) * m / (sqrt(v) /
 * sqrt(1 - beta2^step) + eps)}. Like {@link Sgd}, it owns its state ({@code exp_avg}, {@code exp_avg_sq} and
 * the step count, under the parameters' state-dict names), so that {@code --resume} can save and restore it.
 */
public final class Adam {
  private final Map<String, Tensor> parameters;
  private final Map<String, Tensor> expAvg = new LinkedHashMap<>();
  private final Map<String, Tensor> expAvgSq = new LinkedHashMap<>();
  private final double lr;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private long steps;

  /** {@code Adam(module.parameters(), lr, betas=(beta1, beta2), eps=eps)}. */
  public Adam(Module module, double lr, double beta1, double beta2, double eps) {
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0)) {
      throw new IllegalArgumentException("Adam needs lr >= 0, betas in [0, 1) and eps >= 0, got lr " + lr + ", betas ("
          + beta1 + ", " + beta2 + "), eps " + eps);
    }
    this.parameters = StateDict.parameters(module);
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
  }

  /** {@code Adam(module.parameters(), lr, betas=(beta1, beta2))} with PyTorch's {@code eps = 1e-8}. */
  public Adam(Module module, double lr, double beta1, double beta2) {
    this(module, lr, beta1, beta2, 1e-8);
  }

  /** {@code optimizer.zero_grad()} as PyTorch 1.13 does it by default: gradients set to zero in place. */
  public void zeroGrad() {
    Sgd.zeroGrad(parameters.values());
  }

  public void step() {
    steps++;
    double biasCorrection1 = 1 - Math.pow(beta1, steps);
    double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, steps));
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Scalar b1 = new Scalar(beta1);
      Scalar oneMinusB1 = new Scalar(1 - beta1);
      Scalar b2 = new Scalar(beta2);
      Scalar oneMinusB2 = new Scalar(1 - beta2);
      Scalar epsilon = new Scalar(eps);
      Scalar correction2 = new Scalar(biasCorrection2Sqrt);
      Scalar minusStepSize = new Scalar(-(lr / biasCorrection1));
      for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
        Tensor p = e.getValue();
        Tensor grad = p.grad();
        if (!grad.defined()) {
          continue;
        }
        Tensor m = expAvg.get(e.getKey());
        Tensor v = expAvgSq.get(e.getKey());
        if (m == null) {
          m = scope.detach(org.bytedeco.pytorch.global.torch.zeros_like(p.detach())); // lives as long as the optimizer
          v = scope.detach(org.bytedeco.pytorch.global.torch.zeros_like(p.detach()));
          expAvg.put(e.getKey(), m);
          expAvgSq.put(e.getKey(), v);
        }
        m.mul_(b1).add_(grad, oneMinusB1);
        v.mul_(b2).addcmul_(grad, grad, oneMinusB2);
        Tensor denom = v.sqrt().div(correction2).add_(epsilon);
        p.addcdiv_(m, denom, minusStepSize);
      }
    }
  }

  public double learningRate() {
    return lr;
  }

  /** The number of steps taken (PyTorch keeps it per parameter; every parameter here has taken the same). */
  public long steps() {
    return steps;
  }

  /**
   * The state to save: {@code step}, {@code exp_avg} and {@code exp_avg_sq} (by parameter name), {@code lr},
   * {@code betas} and {@code eps}; {@link #loadState} takes it back.
   */
  public Map<String, Object> state() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("step", steps);
    s.put("exp_avg", new LinkedHashMap<>(expAvg));
    s.put("exp_avg_sq", new LinkedHashMap<>(expAvgSq));
    s.put("lr", lr);
    s.put("betas", java.util.List.of(beta1, beta2));
    s.put("eps", eps);
    return Collections.unmodifiableMap(s);
  }

  /**
   * Restores what {@link #state} saved for the same module (the moments are copied to the parameters' device).
   *
   * @throws IllegalArgumentException when the state is incomplete or names a parameter the module lacks
   */
  public void loadState(Map<?, ?> state) {
    if (!(state.get("step") instanceof Number step) || !(state.get("exp_avg") instanceof Map<?, ?> m)
        || !(state.get("exp_avg_sq") instanceof Map<?, ?> v)) {
      throw new IllegalArgumentException("an Adam state needs 'step', 'exp_avg' and 'exp_avg_sq', got keys "
          + state.keySet());
    }
    Map<String, Tensor> first = copies(m, "exp_avg");
    Map<String, Tensor> second = copies(v, "exp_avg_sq");
    if (!first.keySet().equals(second.keySet())) {
      throw new IllegalArgumentException("Adam state: exp_avg and exp_avg_sq name different parameters");
    }
    expAvg.clear();
    expAvgSq.clear();
    expAvg.putAll(first);
    expAvgSq.putAll(second);
    steps = step.longValue();
  }

  private Map<String, Tensor> copies(Map<?, ?> source, String what) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : source.entrySet()) {
      Tensor p = parameters.get(String.valueOf(e.getKey()));
      if (p == null) {
        throw new IllegalArgumentException("Adam state: " + what + " for '" + e.getKey()
            + "', which the module has no parameter for");
      }
      if (!(e.getValue() instanceof Tensor t)) {
        throw new IllegalArgumentException("Adam state: " + what + "/" + e.getKey() + " is not a tensor");
      }
      out.put((String) e.getKey(), t.to(p.device(), p.scalar_type()).clone());
    }
    return out;
  }
}
