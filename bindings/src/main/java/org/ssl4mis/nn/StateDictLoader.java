package org.ssl4mis.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * {@code module.load_state_dict(state_dict, strict)}: copies tensors into a module's parameters and buffers.
 *
 * <p>Strict by default. Every problem is collected and reported in one {@link StateDictMismatchException}:
 * missing keys, unexpected keys (both only when strict, as in PyTorch), and shape mismatches or dtype
 * mismatches across kinds (floating point vs integer vs bool) always. Within floating point the values are
 * converted to the module's dtype, and always copied to the module's device, as PyTorch's {@code copy_}
 * does.
 */
public final class StateDictLoader {
  private StateDictLoader() {}

  /**
   * How to match keys: {@code stripPrefix} is removed from source keys that start with it (e.g.
   * {@code module.} from {@code DataParallel} checkpoints), then {@code addPrefix} is put in front.
   */
  public record Options(boolean strict, String stripPrefix, String addPrefix) {
    public Options {
      stripPrefix = Objects.requireNonNullElse(stripPrefix, "");
      addPrefix = Objects.requireNonNullElse(addPrefix, "");
    }

    public static Options strictLoading() {
      return new Options(true, "", "");
    }

    public Options withStrict(boolean s) {
      return new Options(s, stripPrefix, addPrefix);
    }

    public Options withStripPrefix(String p) {
      return new Options(strict, p, addPrefix);
    }

    public Options withAddPrefix(String p) {
      return new Options(strict, stripPrefix, p);
    }
  }

  /** What a non-strict load left out: PyTorch's {@code _IncompatibleKeys}. */
  public record Report(List<String> missingKeys, List<String> unexpectedKeys, int loaded) {}

  /** Strict load with no prefix handling. */
  public static Report load(Module module, Map<String, Tensor> source) {
    return load(module, source, Options.strictLoading());
  }

  public static Report load(Module module, Map<String, Tensor> source, Options options) {
    Map<String, Tensor> target = StateDict.of(module);
    Map<String, Tensor> renamed = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : source.entrySet()) {
      String key = e.getKey();
      if (!options.stripPrefix().isEmpty() && key.startsWith(options.stripPrefix())) {
        key = key.substring(options.stripPrefix().length());
      }
      key = options.addPrefix() + key;
      if (renamed.put(key, e.getValue()) != null) {
        throw new IllegalArgumentException("two source keys map to '" + key + "' after the prefix rules " + options);
      }
    }
    List<String> missing = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    List<String> mismatched = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : target.entrySet()) {
      Tensor src = renamed.get(e.getKey());
      if (src == null) {
        missing.add(e.getKey());
        continue;
      }
      Tensor dst = e.getValue();
      long[] srcShape = Tensors.shape(src);
      long[] dstShape = Tensors.shape(dst);
      if (!Arrays.equals(srcShape, dstShape)) {
        mismatched.add(e.getKey() + ": checkpoint shape " + Arrays.toString(srcShape) + ", module shape "
            + Arrays.toString(dstShape));
        continue;
      }
      DType srcType = Tensors.dtype(src);
      DType dstType = Tensors.dtype(dst);
      if (kind(srcType) != kind(dstType)) {
        mismatched.add(e.getKey() + ": checkpoint dtype " + srcType.pythonName() + ", module dtype " + dstType.pythonName());
      }
    }
    for (String k : renamed.keySet()) {
      if (!target.containsKey(k)) {
        unexpected.add(k);
      }
    }
    boolean fail = !mismatched.isEmpty() || (options.strict() && (!missing.isEmpty() || !unexpected.isEmpty()));
    if (fail) {
      throw new StateDictMismatchException(module.getClass().getSimpleName(), options.strict() ? missing : List.of(),
          options.strict() ? unexpected : List.of(), mismatched);
    }
    int loaded = 0;
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : target.entrySet()) {
        Tensor src = renamed.get(e.getKey());
        if (src != null) {
          e.getValue().copy_(src); // converts dtype within a kind and moves to the module's device
          loaded++;
        }
      }
    }
    return new Report(List.copyOf(missing), List.copyOf(unexpected), loaded);
  }

  private static int kind(DType d) {
    return d.isFloatingPoint() ? 0 : d == DType.BOOL ? 2 : 1;
  }

  /** The checkpoint does not fit the module; the message lists every problem. */
  public static final class StateDictMismatchException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final List<String> missingKeys;
    private final List<String> unexpectedKeys;
    private final List<String> mismatches;

    StateDictMismatchException(String module, List<String> missing, List<String> unexpected, List<String> mismatched) {
      super(message(module, missing, unexpected, mismatched));
      this.missingKeys = List.copyOf(missing);
      this.unexpectedKeys = List.copyOf(unexpected);
      this.mismatches = List.copyOf(mismatched);
    }

    /** The same problems with {@code context} (e.g. the file) in front of the message. */
    public StateDictMismatchException(String contextualMessage, StateDictMismatchException original) {
      super(contextualMessage, original);
      this.missingKeys = original.missingKeys;
      this.unexpectedKeys = original.unexpectedKeys;
      this.mismatches = original.mismatches;
    }

    public List<String> missingKeys() {
      return missingKeys;
    }

    public List<String> unexpectedKeys() {
      return unexpectedKeys;
    }

    public List<String> mismatches() {
      return mismatches;
    }

    private static String message(String module, List<String> missing, List<String> unexpected, List<String> mismatched) {
      StringBuilder sb = new StringBuilder("error(s) in loading state_dict for ").append(module).append(':');
      if (!missing.isEmpty()) {
        sb.append("\n  missing key(s) (").append(missing.size()).append("): ").append(String.join(", ", missing));
      }
      if (!unexpected.isEmpty()) {
        sb.append("\n  unexpected key(s) (").append(unexpected.size()).append("): ").append(String.join(", ", unexpected));
      }
      for (String m : mismatched) {
        sb.append("\n  size/dtype mismatch for ").append(m);
      }
      return sb.toString();
    }
  }
}
