package org.ssl4mis.io.pth;

import java.util.Optional;
import org.ssl4mis.tensor.DType;

/**
 * The allow list of pickle globals: the classes and functions {@code torch.load(weights_only=True)} lets a
 * checkpoint name, each mapped to an inert marker the unpickler interprets itself. Nothing is looked up by
 * reflection and nothing named in a file is ever called.
 */
final class TorchGlobals {
  private TorchGlobals() {
  }

  /** Functions and classes a checkpoint may name (beyond storage types and dtypes). */
  enum Callable {
    ORDERED_DICT("collections.OrderedDict"),
    REBUILD_TENSOR("torch._utils._rebuild_tensor"),
    REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
    REBUILD_PARAMETER("torch._utils._rebuild_parameter"),
    REBUILD_PARAMETER_WITH_STATE("torch._utils._rebuild_parameter_with_state"),
    REBUILD_FROM_TYPE_V2("torch._tensor._rebuild_from_type_v2"),
    TENSOR_CLASS("torch.Tensor"),
    PARAMETER_CLASS("torch.nn.parameter.Parameter"),
    SIZE("torch.Size"),
    // Protocol 2 pickles bytes as _codecs.encode(latin1_text, 'latin1') and b'' as bytes(); newer
    // weights_only loaders allow both. Only those exact forms are accepted.
    CODECS_ENCODE("_codecs.encode"),
    BYTES("builtins.bytes");

    final String qualifiedName;

    Callable(String qualifiedName) {
      this.qualifiedName = qualifiedName;
    }

    boolean rebuildsTensor() {
      return this == REBUILD_TENSOR || this == REBUILD_TENSOR_V2 || this == REBUILD_PARAMETER
          || this == REBUILD_PARAMETER_WITH_STATE;
    }
  }

  /**
   * A storage class used as the type in a storage's persistent id: {@code torch.FloatStorage} and the
   * other typed storages, or the untyped (byte) storage of newer PyTorch versions.
   */
  record StorageType(String qualifiedName, DType dtype) {
  }

  /**
   * The marker for the global {@code module.name}: a {@link Callable}, a {@link StorageType} or a
   * {@link DType} (for {@code torch.float32} and friends, which may appear as values).
   *
   * @throws Malformed naming the global when it is not allowed
   */
  static Object resolve(String module, String name) {
    // Protocol 2 writes Python 3's builtins module under its Python 2 name.
    String mod = module.equals("__builtin__") ? "builtins" : module;
    String qualified = mod + "." + name;
    for (Callable c : Callable.values()) {
      if (c.qualifiedName.equals(qualified)) {
        return c;
      }
    }
    if (mod.equals("torch") || mod.equals("torch.cuda")) {
      Optional<DType> byStorage = DType.ofStorageClass(name);
      if (byStorage.isPresent()) {
        return new StorageType(qualified, byStorage.get());
      }
    }
    if ((mod.equals("torch") || mod.equals("torch.storage"))
        && (name.equals("UntypedStorage") || name.equals("_UntypedStorage"))) {
      return new StorageType(qualified, DType.UINT8);
    }
    if (mod.equals("torch")) {
      for (DType d : DType.values()) {
        if (d.pythonName().equals(name)) {
          return d;
        }
      }
    }
    throw new Malformed("forbidden global '" + displayName(module, name)
        + "': a checkpoint may only hold plain data (dicts, lists, tuples, strings, numbers), tensors and"
        + " storages");
  }

  /** The global's name for messages. */
  static String displayName(String module, String name) {
    return printable(module + "." + name);
  }

  /** Text from a file, cut short and with control characters escaped, fit for a message. */
  static String printable(String text) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < text.length() && sb.length() < 120; i++) {
      char c = text.charAt(i);
      sb.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return text.length() > 120 ? sb + "..." : sb.toString();
  }
}
