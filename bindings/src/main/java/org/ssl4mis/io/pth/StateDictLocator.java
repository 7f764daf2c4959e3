package org.ssl4mis.io.pth;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Finds the state dict in a checkpoint: the root when it is a flat mapping of names to tensors, else the
 * first fitting entry among the nested keys training scripts use ({@code state_dict}, {@code model}, ...).
 * The one place both weight loading and format conversion look for it.
 */
public final class StateDictLocator {
  /** Keys under which training scripts commonly nest the weights, tried in this order. */
  public static final List<String> NESTED_KEYS = List.of("state_dict", "model", "model_state_dict", "net");

  private static final int LISTED = 5;

  private StateDictLocator() {}

  /**
   * A state dict found in a checkpoint.
   *
   * @param location where it was found, e.g. {@code the root} or {@code the root['model']}
   * @param tensors its tensors in file order
   * @param metadata the {@code _metadata} of the OrderedDict, or null
   * @param otherRootEntries the root's other entries when the state dict was nested (not part of it)
   */
  public record Located(String location, Map<String, RawTensor> tensors, Object metadata, List<String> otherRootEntries) {}

  /** Locates the state dict with no extra rule on names. */
  public static Located locate(Checkpoint checkpoint) throws CheckpointFormatException {
    return locate(checkpoint, NESTED_KEYS, name -> null);
  }

  /** The state dict at {@code root[key]}; fails saying why when there is none or it is not one. */
  public static Located locate(Checkpoint checkpoint, String key) throws CheckpointFormatException {
    Object root = checkpoint.root();
    if (!(root instanceof Map<?, ?> map) || !map.containsKey(key)) {
      throw new CheckpointFormatException(checkpoint.source(), "the root has no entry '" + key + "'"
          + (root instanceof Map<?, ?> m ? "; its keys are " + keys(m) : "; it is " + article(Unpickler.typeName(root))));
    }
    String where = "the root['" + key + "']";
    String why = unfitness(map.get(key), name -> null);
    if (why != null) {
      throw new CheckpointFormatException(checkpoint.source(), where + " " + why);
    }
    return located(where, map.get(key), others(map, key));
  }

  /**
   * Locates the state dict, trying the root and then {@code nestedKeys}.
   *
   * @param nameProblem extra rule for names (e.g. a format's reserved names): a description of what is
   *     wrong with a name, or null when it is fine
   * @throws CheckpointFormatException saying, for each candidate, why it does not fit
   */
  public static Located locate(Checkpoint checkpoint, List<String> nestedKeys, Function<String, String> nameProblem)
      throws CheckpointFormatException {
    Object root = checkpoint.root();
    List<String> reasons = new ArrayList<>();
    String why = unfitness(root, nameProblem);
    if (why == null) {
      return located("the root", root, List.of());
    }
    reasons.add("the root " + why);
    if (root instanceof Map<?, ?> map) {
      List<String> missing = new ArrayList<>();
      for (String key : nestedKeys) {
        if (!map.containsKey(key)) {
          missing.add("'" + key + "'");
          continue;
        }
        String where = "the root['" + key + "']";
        String whyNot = unfitness(map.get(key), nameProblem);
        if (whyNot == null) {
          return located(where, map.get(key), others(map, key));
        }
        reasons.add(where + " " + whyNot);
      }
      if (!missing.isEmpty()) {
        String last = missing.removeLast();
        reasons.add("the root has no " + (missing.isEmpty() ? "" : String.join(", ", missing) + " or ") + last + " entry");
      }
    }
    throw new CheckpointFormatException(checkpoint.source(), "no state dict (a flat mapping of names to tensors): "
        + String.join("; ", reasons));
  }

  private static Located located(String where, Object node, List<String> others) {
    Map<String, RawTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) node).entrySet()) {
      tensors.put((String) e.getKey(), (RawTensor) e.getValue());
    }
    Object metadata = node instanceof PyOrderedDict od ? od.metadata() : null;
    return new Located(where, tensors, metadata, others);
  }

  private static List<String> others(Map<?, ?> root, Object key) {
    List<String> out = new ArrayList<>();
    for (Object k : root.keySet()) {
      if (!k.equals(key)) {
        out.add("the root['" + k + "']");
      }
    }
    return out;
  }

  /** Why {@code node} is not a flat mapping of names to tensors, or null when it is one. */
  private static String unfitness(Object node, Function<String, String> nameProblem) {
    if (!(node instanceof Map<?, ?> map)) {
      return "is " + article(Unpickler.typeName(node)) + ", not a mapping of names to tensors";
    }
    List<String> bad = new ArrayList<>();
    int badCount = 0;
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String problem = null;
      if (!(e.getKey() instanceof String name)) {
        problem = "a key of type " + Unpickler.typeName(e.getKey()) + " (" + e.getKey() + ")";
      } else if (nameProblem.apply(name) != null) {
        problem = nameProblem.apply(name);
      } else if (!(e.getValue() instanceof RawTensor)) {
        problem = "'" + name + "' (" + Unpickler.typeName(e.getValue()) + ")";
      }
      if (problem != null && badCount++ < LISTED) {
        bad.add(problem);
      }
    }
    if (node instanceof PyOrderedDict od) {
      for (String attribute : od.attributes().keySet()) {
        if (!attribute.equals(PyOrderedDict.METADATA) && badCount++ < LISTED) {
          bad.add("the attribute '" + attribute + "'");
        }
      }
    }
    if (badCount == 0) {
      return null;
    }
    return "has " + badCount + (badCount == 1 ? " entry that is" : " entries that are") + " not a named tensor: "
        + String.join(", ", bad) + (badCount > LISTED ? ", ... (" + (badCount - LISTED) + " more)" : "");
  }

  private static String keys(Map<?, ?> m) {
    return m.keySet().stream().limit(20).map(String::valueOf).toList().toString();
  }

  private static String article(String noun) {
    return ("aeiouAEIOU".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
  }

  /** The Python type name of a checkpoint value, for messages. */
  public static String typeName(Object value) {
    return Unpickler.typeName(value);
  }
}
