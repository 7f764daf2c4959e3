package org.ssl4mis.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * Base class of modules written in Java, the counterpart of Python's {@code nn.Module} subclasses.
 *
 * <p>Register children, parameters and buffers in the same order and under the same names as the Python
 * module does, and {@link StateDict} produces the same keys in the same order. A forward method may take
 * and return any number of tensors: it is an ordinary Java method; implement {@link Layer} when it is one
 * tensor in, one out, so the module can sit in a {@link Sequential}.
 *
 * <p>libtorch's own child lookup returns children as plain {@link Module}s (their Java class is lost), so
 * this class keeps its children with their Java types: {@link #childModules()}, {@link #child(String, Class)}.
 */
public abstract class JModule extends Module {

  static {
    NativeRuntime.init();
  }

  private final Map<String, Module> children = new LinkedHashMap<>();

  protected JModule() {
    super();
  }

  /** Registers {@code module} as child {@code name} (like assigning an attribute in Python) and returns it. */
  protected final <M extends Module> M register(String name, M module) {
    Objects.requireNonNull(module, () -> "child module '" + name + "' of " + getClass().getSimpleName());
    checkName(name);
    if (children.containsKey(name)) {
      throw new IllegalArgumentException(getClass().getSimpleName() + " already has a child named '" + name + "'");
    }
    register_module(name, module);
    children.put(name, module);
    return module;
  }

  /** Registers a trainable parameter (like {@code nn.Parameter} in Python) and returns the registered tensor. */
  protected final Tensor registerParameter(String name, Tensor value) {
    checkName(name);
    return register_parameter(name, value, true);
  }

  /** Registers a persistent buffer (saved in the state dict, not trained) and returns the registered tensor. */
  protected final Tensor registerBuffer(String name, Tensor value) {
    checkName(name);
    return register_buffer(name, value);
  }

  /** Children in registration order, with their Java types. */
  public final Map<String, Module> childModules() {
    return Collections.unmodifiableMap(children);
  }

  /** Child {@code name} as {@code type}; throws naming the module and the child when absent or of another type. */
  public final <M extends Module> M child(String name, Class<M> type) {
    Module m = children.get(name);
    if (m == null) {
      throw new IllegalArgumentException(getClass().getSimpleName() + " has no child '" + name + "'; children: "
          + children.keySet());
    }
    if (!type.isInstance(m)) {
      throw new IllegalArgumentException("child '" + name + "' of " + getClass().getSimpleName() + " is a "
          + m.getClass().getSimpleName() + ", not a " + type.getSimpleName());
    }
    return type.cast(m);
  }

  /** The state dict of this module, as {@code module.state_dict()} orders it. */
  public final Map<String, Tensor> stateDict() {
    return StateDict.of(this);
  }

  private void checkName(String name) {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty() || name.contains(".")) {
      throw new IllegalArgumentException("invalid member name '" + name + "' in " + getClass().getSimpleName()
          + ": names are non-empty and contain no '.'");
    }
  }
}
