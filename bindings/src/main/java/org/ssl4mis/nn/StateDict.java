package org.ssl4mis.nn;

import java.lang.ref.Reference;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringSharedModuleDict;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;

/**
 * {@code state_dict()} and {@code named_parameters()} in PyTorch's order.
 *
 * <p>Python visits modules depth first; for each module it lists its own parameters (registration order),
 * then its own buffers, then recurses into its children. libtorch's {@code named_parameters()} instead lists
 * all parameters before all buffers, so weight files would not line up key for key; these views rebuild
 * Python's order from each module's own members. Unset (undefined) members, such as a disabled bias, are
 * skipped, as Python skips {@code None}.
 *
 * <p>The tensors are the module's own (same storage): writing into them under no-grad changes the module.
 */
public final class StateDict {
  private StateDict() {}

  /** Parameters and buffers, keyed {@code child.grandchild.name}, in {@code module.state_dict()} order. */
  public static Map<String, Tensor> of(Module module) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    collect(module, "", true, true, out);
    return out;
  }

  /** Parameters only, in {@code module.named_parameters()} order. */
  public static Map<String, Tensor> parameters(Module module) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    collect(module, "", true, false, out);
    return out;
  }

  /** Buffers only, in {@code module.named_buffers()} order. */
  public static Map<String, Tensor> buffers(Module module) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    collect(module, "", false, true, out);
    return out;
  }

  /** Total number of elements over all parameters (what {@code sum(p.numel() for p in m.parameters())} gives). */
  public static long parameterCount(Module module) {
    long n = 0;
    for (Tensor t : parameters(module).values()) {
      n += t.numel();
    }
    return n;
  }

  /**
   * The {@code _metadata} of {@code module.state_dict()}: every module's path ({@code ""} for the root) and
   * its {@code _version}, in the same pre-order as Python. BatchNorm and InstanceNorm are version 2 (their
   * loaders look at it), every other module 1.
   */
  public static Map<String, Integer> versions(Module module) {
    Map<String, Integer> out = new LinkedHashMap<>();
    collectVersions(module, "", out);
    return out;
  }

  private static void collectVersions(Module m, String path, Map<String, Integer> out) {
    out.put(path, version(m));
    String prefix = path.isEmpty() ? "" : path + ".";
    if (m instanceof JModule j) {
      // Java-typed children: libtorch's own lookup would lose the class, and with it the version.
      for (Map.Entry<String, Module> c : j.childModules().entrySet()) {
        collectVersions(c.getValue(), prefix + c.getKey(), out);
      }
      return;
    }
    StringSharedModuleDict children = m.named_children();
    for (long i = 0; i < children.size(); i++) {
      var item = children.get(i);
      collectVersions(item.access(), prefix + item.key().getString(), out);
    }
    Reference.reachabilityFence(children);
  }

  private static int version(Module m) {
    return switch (m) {
      case org.bytedeco.pytorch.BatchNorm1dImpl b -> 2;
      case org.bytedeco.pytorch.BatchNorm2dImpl b -> 2;
      case org.bytedeco.pytorch.BatchNorm3dImpl b -> 2;
      case org.bytedeco.pytorch.InstanceNorm1dImpl b -> 2;
      case org.bytedeco.pytorch.InstanceNorm2dImpl b -> 2;
      case org.bytedeco.pytorch.InstanceNorm3dImpl b -> 2;
      default -> 1;
    };
  }

  private static void collect(Module m, String prefix, boolean params, boolean buffers, Map<String, Tensor> out) {
    if (params) {
      add(m.named_parameters(false), prefix, out);
    }
    if (buffers) {
      add(m.named_buffers(false), prefix, out);
    }
    StringSharedModuleDict children = m.named_children();
    for (long i = 0; i < children.size(); i++) {
      var item = children.get(i);
      collect(item.access(), prefix + item.key().getString() + ".", params, buffers, out);
    }
    Reference.reachabilityFence(children); // the children are references into it
  }

  private static void add(StringTensorDict dict, String prefix, Map<String, Tensor> out) {
    for (long i = 0; i < dict.size(); i++) {
      var item = dict.get(i);
      Tensor t = item.access();
      if (t != null && t.defined()) {
        // access() is a reference into the dictionary, which dies with it: take our own handle to the tensor.
        out.put(prefix + item.key().getString(), new Tensor(t));
      }
    }
    Reference.reachabilityFence(dict);
  }
}
