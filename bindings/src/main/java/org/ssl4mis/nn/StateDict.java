package org.ssl4mis.nn;

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
  }

  private static void add(StringTensorDict dict, String prefix, Map<String, Tensor> out) {
    for (long i = 0; i < dict.size(); i++) {
      var item = dict.get(i);
      Tensor t = item.access();
      if (t != null && t.defined()) {
        out.put(prefix + item.key().getString(), t);
      }
    }
  }
}
