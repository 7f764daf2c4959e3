package org.ssl4mis.nn;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * Chains one-tensor modules, naming them {@code 0}, {@code 1}, ... as {@code nn.Sequential} does, so that
 * state-dict keys such as {@code conv_conv.3.weight} come out identical. Parameter-free layers (activations,
 * dropout) take an index too, exactly as in Python.
 *
 * <p>Our own container rather than libtorch's {@code SequentialImpl}, which cannot hold Java modules.
 */
public final class Sequential extends JModule implements Layer {
  private final List<Layer> steps = new ArrayList<>();
  private final List<Module> modules = new ArrayList<>();

  public Sequential(Module... modules) {
    for (Module m : modules) {
      add(m);
    }
  }

  /** Appends {@code m} under the next index; returns this container. */
  public Sequential add(Module m) {
    Layer step = Layers.of(m); // fails before registering anything if m cannot be chained
    register(Integer.toString(modules.size()), m);
    modules.add(m);
    steps.add(step);
    return this;
  }

  public int size() {
    return modules.size();
  }

  /** Child {@code index} with its Java type. */
  public Module get(int index) {
    return modules.get(index);
  }

  @Override
  public Tensor forward(Tensor input) {
    Tensor x = input;
    for (Layer step : steps) {
      x = step.forward(x);
    }
    return x;
  }
}
