package org.ssl4mis.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.io.pth.Checkpoint;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.PthReader;
import org.ssl4mis.io.pth.PthWriter;
import org.ssl4mis.io.pth.PyOrderedDict;
import org.ssl4mis.io.pth.PyTuple;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.io.pth.StateDictLocator;
import org.ssl4mis.io.safetensors.CheckpointConversion;
import org.ssl4mis.io.safetensors.Safetensors;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.Tensors;

/**
 * Weights in and out of modules, in the files Python users exchange: {@code torch.save(model.state_dict())}
 * files ({@code .pth}, {@code .pt}), whole checkpoint dictionaries, and {@code .safetensors}.
 *
 * <p>Reading never goes through libtorch's pickle loader (it cannot read real state-dict files); the
 * project's own restricted reader ({@link PthReader}) produces file-independent {@link RawTensor}s, which
 * this class turns into libtorch tensors and back.
 */
public final class Checkpoints {
  private Checkpoints() {}


  static {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
      throw new ExceptionInInitializerError("checkpoint conversion assumes a little-endian machine");
    }
  }

  // ---- state dicts -----------------------------------------------------------------------------------

  /**
   * The state dict stored in {@code file}: the root when it is a mapping of names to tensors, otherwise the
   * first of {@link StateDictLocator#NESTED_KEYS} that is. Tensors are new CPU tensors in file order.
   *
   * @throws CheckpointFormatException naming the file when it is malformed or holds no state dict
   */
  public static Map<String, Tensor> loadStateDict(Path file) throws IOException {
    return toTensors(readStateDict(file, null));
  }

  /** The state dict at {@code key} of the root dictionary (e.g. {@code "model"}). */
  public static Map<String, Tensor> loadStateDict(Path file, String key) throws IOException {
    return toTensors(readStateDict(file, key));
  }

  /**
   * Loads the weights of {@code file} into {@code module} ({@code load_state_dict}); see
   * {@link StateDictLoader} for strictness and prefixes. {@code key} picks a nested dictionary, or null to
   * find it as {@link #loadStateDict(Path)} does.
   */
  public static StateDictLoader.Report loadInto(Module module, Path file, String key, StateDictLoader.Options options)
      throws IOException {
    Map<String, Tensor> weights = key == null ? loadStateDict(file) : loadStateDict(file, key);
    try {
      return StateDictLoader.load(module, weights, options);
    } catch (StateDictLoader.StateDictMismatchException e) {
      throw new StateDictLoader.StateDictMismatchException(file + ": " + e.getMessage(), e);
    }
  }

  /** Strict {@link #loadInto(Module, Path, String, StateDictLoader.Options)} of the file's state dict. */
  public static StateDictLoader.Report loadInto(Module module, Path file) throws IOException {
    return loadInto(module, file, null, StateDictLoader.Options.strictLoading());
  }

  /**
   * Writes {@code module.state_dict()} as {@code torch.save} does: an {@code OrderedDict} with the
   * per-module {@code _metadata} versions, so Python's {@code load_state_dict} treats it as its own. Atomic.
   */
  public static void saveStateDict(Module module, Path file) throws IOException {
    PyOrderedDict dict = stateDictObject(module);
    if (formatOf(file).equals("safetensors")) {
      Map<String, RawTensor> tensors = new LinkedHashMap<>();
      dict.forEach((k, v) -> tensors.put((String) k, (RawTensor) v));
      CheckpointConversion.writeStateDict(file, tensors, dict.metadata());
      return;
    }
    PthWriter.write(file, dict);
  }

  /**
   * {@code module.state_dict()} as the object {@code torch.save} pickles: an {@code OrderedDict} of names to
   * tensors with the per-module {@code _metadata} versions; a value for {@link #saveTree} where a checkpoint
   * nests the state dict ({@code {'state_dict': model.state_dict(), ...}}).
   */
  public static PyOrderedDict stateDictObject(Module module) {
    PyOrderedDict dict = new PyOrderedDict();
    for (Map.Entry<String, Tensor> e : StateDict.of(module).entrySet()) {
      dict.put(e.getKey(), toRaw(e.getValue()));
    }
    PyOrderedDict metadata = new PyOrderedDict();
    for (Map.Entry<String, Integer> e : StateDict.versions(module).entrySet()) {
      Map<Object, Object> local = new LinkedHashMap<>();
      local.put("version", (long) e.getValue());
      metadata.put(e.getKey(), local);
    }
    dict.setMetadata(metadata);
    return dict;
  }

  private static Map<String, RawTensor> readStateDict(Path file, String key) throws IOException {
    if (formatOf(file).equals("safetensors")) {
      if (key != null) {
        throw new IllegalArgumentException(file + ": a safetensors file holds one flat state dict; no key '" + key + "'");
      }
      return Safetensors.read(file).tensors();
    }
    Checkpoint checkpoint = PthReader.read(file);
    return (key == null ? StateDictLocator.locate(checkpoint) : StateDictLocator.locate(checkpoint, key)).tensors();
  }

  // ---- whole checkpoints -----------------------------------------------------------------------------

  /**
   * The whole object saved in {@code file} ({@code {'model': ..., 'optimizer': ..., 'epoch': 3}}, ...) with
   * every tensor converted to a libtorch tensor; other leaves are as {@link PthReader} gives them
   * (String, Long, Double, Boolean, null, lists, {@link PyTuple}s, maps).
   */
  public static Object loadTree(Path file) throws IOException {
    return mapTree(PthReader.read(file).root(), new IdentityHashMap<>(), true);
  }

  /**
   * Saves a tree of maps, lists, {@link PyTuple}s, plain values and libtorch tensors as {@code torch.save}
   * would. Tensors that are the same Java object are written once. Atomic.
   */
  public static void saveTree(Path file, Object root) throws IOException {
    PthWriter.write(file, mapTree(root, new IdentityHashMap<>(), false));
  }

  private static Object mapTree(Object node, IdentityHashMap<Object, Object> seen, boolean toTorch) {
    if (node == null) {
      return null;
    }
    Object done = seen.get(node);
    if (done != null) {
      return done;
    }
    Object result;
    if (toTorch && node instanceof RawTensor raw) {
      result = toTensor(raw);
    } else if (!toTorch && node instanceof Tensor t) {
      result = toRaw(t);
    } else if (node instanceof PyOrderedDict od) {
      PyOrderedDict copy = new PyOrderedDict();
      seen.put(node, copy);
      od.forEach((k, v) -> copy.put(k, mapTree(v, seen, toTorch)));
      od.attributes().forEach((k, v) -> {
        if (k.equals(PyOrderedDict.METADATA)) {
          copy.setMetadata(v);
        }
      });
      return copy;
    } else if (node instanceof Map<?, ?> map) {
      Map<Object, Object> copy = new LinkedHashMap<>();
      seen.put(node, copy);
      map.forEach((k, v) -> copy.put(k, mapTree(v, seen, toTorch)));
      return copy;
    } else if (node instanceof PyTuple tuple) {
      List<Object> items = new ArrayList<>();
      for (Object o : tuple) {
        items.add(mapTree(o, seen, toTorch));
      }
      result = PyTuple.copyOf(items);
    } else if (node instanceof List<?> list) {
      List<Object> copy = new ArrayList<>();
      seen.put(node, copy);
      for (Object o : list) {
        copy.add(mapTree(o, seen, toTorch));
      }
      return copy;
    } else {
      result = node;
    }
    seen.put(node, result);
    return result;
  }

  // ---- tensors ---------------------------------------------------------------------------------------

  /** A new contiguous CPU tensor with the values of {@code raw} (views are materialised). */
  public static Tensor toTensor(RawTensor raw) {
    return Tensors.fromSegment(raw.contiguousBytes(), raw.dtype(), raw.shape());
  }

  /** Copies of every tensor, in order. */
  public static Map<String, Tensor> toTensors(Map<String, RawTensor> raw) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    raw.forEach((k, v) -> out.put(k, toTensor(v)));
    return out;
  }

  /** A file-independent copy of a tensor's values (from any device, contiguous or not). */
  public static RawTensor toRaw(Tensor t) {
    Tensor c = t.is_contiguous() && t.device().is_cpu() ? t : t.contiguous().cpu();
    long bytes = c.nbytes();
    MemorySegment data = bytes == 0 ? MemorySegment.ofArray(new byte[0])
        : MemorySegment.ofAddress(c.data_ptr().address()).reinterpret(bytes);
    return RawTensor.of(Tensors.dtype(c), Tensors.shape(c), data); // copies the bytes
  }

  /** Which file format a path names, by extension: {@code pth} for .pth/.pt/.ckpt/.tar/.bin. */
  public static String formatOf(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".safetensors")) {
      return "safetensors";
    }
    if (name.endsWith(".pth") || name.endsWith(".pt") || name.endsWith(".ckpt") || name.endsWith(".tar")
        || name.endsWith(".bin")) {
      return "pth";
    }
    throw new IllegalArgumentException(file + ": unknown checkpoint extension; use .pth, .pt or .safetensors");
  }
}
