package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BinaryOperator;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.train.Adam;

/**
 * A method-owned discriminator (the adversarial scripts' {@code DAN}, CANet's {@code D}): the network, its
 * {@code forward(map, image)}, and its own {@link Adam} optimizer, built once on the training device. Its
 * weights and optimizer state are what the method saves for {@code --resume}.
 */
final class Discriminator {
  private final JModule module;
  private final BinaryOperator<Tensor> forward;
  private final Adam optimizer;

  Discriminator(JModule module, BinaryOperator<Tensor> forward, Device device, double lr, double beta1, double beta2) {
    this.module = module;
    this.forward = forward;
    module.to(device, false);
    this.optimizer = new Adam(module, lr, beta1, beta2);
  }

  JModule module() {
    return module;
  }

  Adam optimizer() {
    return optimizer;
  }

  /** Logits of the discriminator for {@code map} and {@code image} (same batch and spatial sizes). */
  Tensor forward(Tensor map, Tensor image) {
    return forward.apply(map, image);
  }

  /** {@code zero_grad(); loss.backward(); step()} of the discriminator's own optimizer. */
  void update(Tensor loss) {
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  }

  /** The weights (under {@code {name}}) and the optimizer (under {@code {name}_optimizer}). */
  Map<String, Object> state(String name) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put(name, new LinkedHashMap<>(StateDict.of(module)));
    s.put(name + "_optimizer", optimizer.state());
    return s;
  }

  /** Restores what {@link #state} saved. */
  void restore(String name, Map<String, Object> state) {
    if (!(state.get(name) instanceof Map<?, ?> weights) || !(state.get(name + "_optimizer") instanceof Map<?, ?> opt)) {
      throw new IllegalArgumentException("the training state has no '" + name + "' and '" + name
          + "_optimizer' entries (method state keys: " + state.keySet() + ")");
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : weights.entrySet()) {
      if (!(e.getValue() instanceof Tensor t)) {
        throw new IllegalArgumentException("'" + name + "/" + e.getKey() + "' in the training state is not a tensor");
      }
      tensors.put((String) e.getKey(), t);
    }
    StateDictLoader.load(module, tensors);
    optimizer.loadState(opt);
  }

  /** A positive number from {@code extra}, or {@code fallback} when absent. */
  static double positive(Map<String, String> extra, String key, double fallback) {
    String v = extra.get(key);
    if (v == null) {
      return fallback;
    }
    double d;
    try {
      d = Double.parseDouble(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " '" + v + "' is not a number");
    }
    if (!(d > 0) || Double.isInfinite(d)) {
      throw new IllegalArgumentException(key + " must be a positive number, got " + v);
    }
    return d;
  }

  /** A positive integer from {@code extra}, or {@code fallback} when absent. */
  static long positiveInt(Map<String, String> extra, String key, long fallback) {
    String v = extra.get(key);
    if (v == null) {
      return fallback;
    }
    try {
      long n = Long.parseLong(v.strip());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(key + " must be a positive integer, got '" + v + "'");
  }

}
