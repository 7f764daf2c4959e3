package org.ssl4mis.io.pth;

import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PyTorch checkpoint read by {@link PthReader}: the unpickled object tree and facts about the file.
 *
 * <p>The tree is made of {@link java.util.LinkedHashMap} (dict), {@link PyOrderedDict}
 * ({@code collections.OrderedDict}), {@link java.util.ArrayList} (list), {@link PyTuple}, {@link String},
 * {@link Long} or {@link java.math.BigInteger} (int), {@link Double}, {@link Boolean}, {@code null} (None),
 * {@code byte[]} (bytes), {@link org.ssl4mis.tensor.DType} ({@code torch.float32} as a value),
 * {@link RawTensor} and {@link StorageRef} (a storage saved on its own). The containers are mutable, so a
 * tree can be edited and written back with {@link PthWriter}.
 */
public final class Checkpoint {
  /** How the file was serialized. */
  public enum Format {
    /** The zip archive {@code torch.save} writes since PyTorch 1.6. */
    ZIP,
    /** The older stream of pickles ({@code _use_new_zipfile_serialization=False}). */
    LEGACY
  }

  private final String source;
  private final Object root;
  private final Format format;
  private final String archiveName;
  private final ByteOrder byteOrder;
  private final String version;
  private final List<StorageRef> storages;

  Checkpoint(String source, Object root, Format format, String archiveName, ByteOrder byteOrder, String version,
      List<StorageRef> storages) {
    this.source = source;
    this.root = root;
    this.format = format;
    this.archiveName = archiveName;
    this.byteOrder = byteOrder;
    this.version = version;
    this.storages = List.copyOf(storages);
  }

  /** The file (or other source) the checkpoint was read from. */
  public String source() {
    return source;
  }

  /** The object that was saved, e.g. a state dict or a dict holding one. */
  public Object root() {
    return root;
  }

  public Format format() {
    return format;
  }

  /** The top folder all entries of a zip checkpoint share (e.g. {@code archive}); empty for legacy files. */
  public String archiveName() {
    return archiveName;
  }

  /**
   * The byte order the storages were written in ({@code <archive>/byteorder}; little-endian when absent and
   * for legacy files). Storages are always handed out little-endian.
   */
  public ByteOrder byteOrder() {
    return byteOrder;
  }

  /** The zip's {@code version} record (e.g. {@code 3}), or the legacy protocol version ({@code 1001}); may be empty. */
  public String version() {
    return version;
  }

  /** The storages of the file, in the order the pickle first refers to them. */
  public List<StorageRef> storages() {
    return storages;
  }

  /**
   * The root as a state dict: an ordered, unmodifiable map from parameter names to tensors.
   *
   * @throws CheckpointFormatException when the root is not a mapping of strings to tensors
   */
  public Map<String, RawTensor> stateDict() throws CheckpointFormatException {
    return asStateDict(root, "the root");
  }

  /**
   * The state dict found by following {@code keys} from the root, e.g. {@code stateDict("model")} for
   * {@code {'model': model.state_dict(), 'epoch': 3}}.
   *
   * @throws CheckpointFormatException when a key is missing or the value is not a mapping of strings to tensors
   */
  public Map<String, RawTensor> stateDict(String... keys) throws CheckpointFormatException {
    Object node = root;
    StringBuilder path = new StringBuilder("the root");
    for (String key : keys) {
      if (!(node instanceof Map<?, ?> map) || !map.containsKey(key)) {
        throw new CheckpointFormatException(source, path + " has no key '" + key + "'");
      }
      node = map.get(key);
      path.append("['").append(key).append("']");
    }
    return asStateDict(node, path.toString());
  }

  private Map<String, RawTensor> asStateDict(Object node, String what) throws CheckpointFormatException {
    if (!(node instanceof Map<?, ?> map)) {
      throw new CheckpointFormatException(source, what + " is a " + Unpickler.typeName(node) + ", not a state dict");
    }
    Map<String, RawTensor> result = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof String name)) {
        throw new CheckpointFormatException(source, what + " has a key of type " + Unpickler.typeName(e.getKey())
            + "; a state dict has string keys");
      }
      if (!(e.getValue() instanceof RawTensor tensor)) {
        throw new CheckpointFormatException(source, what + "['" + name + "'] is a "
            + Unpickler.typeName(e.getValue()) + ", not a tensor");
      }
      result.put(name, tensor);
    }
    return Collections.unmodifiableMap(result);
  }

  @Override
  public String toString() {
    return "Checkpoint[" + source + ", " + format + (archiveName.isEmpty() ? "" : " '" + archiveName + "'") + ", "
        + storages.size() + " storages, root " + Unpickler.typeName(root) + "]";
  }
}
