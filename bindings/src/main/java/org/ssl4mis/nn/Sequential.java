package org.ssl4mis.nn;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;

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
  /**
   * The steps in order. The steps' intermediate outputs are released when the chain returns (a memory scope
   * of its own lets only the result out): autograd holds what backward needs, and under no-grad nothing
   * outlives the block, as in Python, where each one is freed with its last reference. Without this, every
   * intermediate of a network pass would live until the caller's iteration scope closes.
   */
  public Tensor forward(Tensor input) {
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor x = input;
      for (Layer step : steps) {
        x = step.forward(x);
      }
      return x == input ? x : scope.keep(x);
    }
  }
}
