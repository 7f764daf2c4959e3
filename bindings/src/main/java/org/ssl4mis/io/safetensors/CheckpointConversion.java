package org.ssl4mis.io.safetensors;

import org.ssl4mis.io.json.Json;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ssl4mis.io.pth.Checkpoint;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.PthReader;
import org.ssl4mis.io.pth.StateDictLocator;
import org.ssl4mis.io.pth.PthWriter;
import org.ssl4mis.io.pth.PyOrderedDict;
import org.ssl4mis.io.pth.PyTuple;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.io.pth.StorageRef;
import org.ssl4mis.tensor.DType;

/**
 * Converts state dicts between PyTorch {@code .pth} checkpoints and safetensors files, keeping names, order,
 * dtypes, shapes and bytes exactly.
 *
 * <p>.pth to safetensors: the state dict is the root of the checkpoint when it is a flat mapping of names to
 * tensors, else the first entry of the root under one of {@link #NESTED_KEYS} ({@code 'state_dict'},
 * {@code 'model'}, {@code 'model_state_dict'}, {@code 'net'}) that is;
 * the {@link Result} says which was used, and the exception, when none fits, says why each did not (listing
 * the entries that are not tensors: safetensors holds tensors only). The {@code _metadata} of an
 * {@code OrderedDict} state dict (the per-module versions PyTorch uses when loading) is kept as JSON text in
 * {@code __metadata__} under {@value #PYTORCH_METADATA}, beside {@code "format": "pt"} (the marker Hugging
 * Face libraries expect).
 *
 * <p>Safetensors to .pth: the tensors, in file order, become a {@link PyOrderedDict} (so that
 * {@code torch.load(weights_only=True)} gives an {@code OrderedDict}, as for {@code model.state_dict()}),
 * with {@code _metadata} restored from {@value #PYTORCH_METADATA} when present.
 *
 * <p>What does not survive: tensors that share a storage (or are views) become separate contiguous tensors;
 * the autograd and {@code nn.Parameter} flags are dropped; tuples inside {@code _metadata} come back as lists;
 * other {@code __metadata__} entries have no place in a .pth and are dropped (listed in the result).
 */
public final class CheckpointConversion {
  /** The {@code __metadata__} key that holds the state dict's {@code _metadata} as JSON. */
  public static final String PYTORCH_METADATA = "pytorch_metadata";
  /** The {@code __metadata__} key Hugging Face libraries read the framework from. */
  public static final String FORMAT = "format";

  /**
   * Keys under which training scripts nest the state dict, tried in this order after the root (the same as
   * {@code org.ssl4mis.io.Checkpoints.NESTED_STATE_DICT_KEYS}).
   */
  public static final List<String> NESTED_KEYS = StateDictLocator.NESTED_KEYS;
  private static final int LISTED = 20;

  private CheckpointConversion() {
  }

  /**
   * What a conversion did.
   *
   * @param location where the state dict was found, e.g. {@code the root} or {@code the root['state_dict']};
   *     {@code the file} for safetensors input
   * @param tensors the number of tensors converted
   * @param metadataKept whether a {@code _metadata} was carried over
   * @param dropped what the input held that the output cannot (other entries of the root, other metadata)
   */
  public record Result(Path input, Path output, String location, int tensors, boolean metadataKept,
      List<String> dropped) {
    public Result {
      dropped = List.copyOf(dropped);
    }

    @Override
    public String toString() {
      return "converted " + tensors + " tensors from " + location + " of " + input + " to " + output
          + (metadataKept ? " with _metadata" : " without _metadata")
          + (dropped.isEmpty() ? "" : "; dropped " + dropped);
    }
  }

  /**
   * Writes the state dict of the checkpoint {@code in} to the safetensors file {@code out} (atomically).
   *
   * @throws CheckpointFormatException when {@code in} is not a valid checkpoint or holds no state dict that
   *     safetensors can represent; the message says why each candidate does not fit
   */
  public static Result pthToSafetensors(Path in, Path out) throws IOException {
    Checkpoint checkpoint = PthReader.read(in);
    StateDictLocator.Located found = StateDictLocator.locate(checkpoint, NESTED_KEYS,
        name -> name.isEmpty() || name.equals(Safetensors.METADATA_KEY)
            ? "an entry named " + Json.quote(name) + ", a name safetensors does not allow" : null);
    try {
      writeStateDict(out, found.tensors(), found.metadata());
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(in.toString(), "the _metadata of " + found.location()
          + " cannot be kept as JSON: " + e.getMessage(), e);
    }
    return new Result(in, out, found.location(), found.tensors().size(), found.metadata() != null,
        found.otherRootEntries());
  }

  /**
   * Writes a state dict as safetensors (atomically), with {@code "format": "pt"} and, when given, the
   * PyTorch {@code _metadata} as JSON under {@value #PYTORCH_METADATA}.
   *
   * @throws IllegalArgumentException when the metadata has values JSON cannot hold
   */
  public static void writeStateDict(Path out, Map<String, RawTensor> tensors, Object pytorchMetadata) throws IOException {
    LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
    metadata.put(FORMAT, "pt");
    if (pytorchMetadata != null) {
      metadata.put(PYTORCH_METADATA, Json.write(toJson(pytorchMetadata, "_metadata")));
    }
    Safetensors.write(out, tensors, metadata);
  }

  /**
   * Writes the tensors of the safetensors file {@code in} to {@code out} as a {@code .pth} state dict (an
   * {@code OrderedDict}, atomically), restoring {@code _metadata} from {@value #PYTORCH_METADATA}.
   *
   * @throws CheckpointFormatException when {@code in} is not a valid safetensors file, or its
   *     {@value #PYTORCH_METADATA} is not a JSON object
   */
  public static Result safetensorsToPth(Path in, Path out) throws IOException {
    SafetensorsFile file = Safetensors.read(in);
    PyOrderedDict stateDict = new PyOrderedDict();
    stateDict.putAll(file.tensors());
    List<String> dropped = new ArrayList<>();
    boolean kept = false;
    for (Map.Entry<String, String> e : file.metadata().entrySet()) {
      if (e.getKey().equals(PYTORCH_METADATA)) {
        stateDict.setMetadata(pytorchMetadata(in.toString(), e.getValue()));
        kept = true;
      } else if (!e.getKey().equals(FORMAT)) {
        dropped.add("__metadata__[" + Safetensors.quoteForMessage(e.getKey()) + "]");
      }
    }
    PthWriter.write(out, stateDict);
    return new Result(in, out, "the file", stateDict.size(), kept, dropped);
  }

  /** The {@code _metadata} of a state dict from its JSON text: an OrderedDict of dicts. */
  static PyOrderedDict pytorchMetadata(String source, String json) throws CheckpointFormatException {
    Object value;
    try {
      value = Json.parse(json, true);
    } catch (Json.SyntaxException e) {
      throw new CheckpointFormatException(source, "__metadata__[\"" + PYTORCH_METADATA + "\"] is not valid JSON: "
          + e.getMessage(), e);
    }
    if (!(value instanceof Map<?, ?> map)) {
      throw new CheckpointFormatException(source, "__metadata__[\"" + PYTORCH_METADATA
          + "\"] is not a JSON object");
    }
    // Nested objects stay LinkedHashMap (Python dict), as in model.state_dict()._metadata.
    return new PyOrderedDict(map);
  }

  private static String article(String noun) {
    return ("aeiouAEIOU".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
  }

  /** The JSON form of a {@code _metadata} value: dicts with string keys, lists, tuples, str, int, bool, None. */
  private static Object toJson(Object value, String path) {
    return switch (value) {
      case null -> null;
      case String s -> s;
      case Long l -> l;
      case Boolean b -> b;
      case Map<?, ?> map -> {
        LinkedHashMap<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
          if (!(e.getKey() instanceof String key)) {
            throw new IllegalArgumentException(path + " has a key of type " + StateDictLocator.typeName(e.getKey()));
          }
          out.put(key, toJson(e.getValue(), path + "['" + key + "']"));
        }
        yield out;
      }
      case List<?> list -> {
        List<Object> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
          out.add(toJson(list.get(i), path + "[" + i + "]"));
        }
        yield out;
      }
      default -> throw new IllegalArgumentException(path + " is " + article(StateDictLocator.typeName(value))
          + ", which has no JSON form here");
    };
  }
}
