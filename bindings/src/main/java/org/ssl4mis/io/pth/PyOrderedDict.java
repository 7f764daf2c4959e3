package org.ssl4mis.io.pth;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Python {@code collections.OrderedDict}, kept apart from plain dicts (which read as
 * {@link LinkedHashMap}) together with its instance attributes. {@code model.state_dict()} is one, with a
 * {@code _metadata} attribute that maps module names to {@code {'version': n}}; PyTorch uses it when
 * loading old checkpoints into newer modules (e.g. BatchNorm's {@code num_batches_tracked}).
 */
public final class PyOrderedDict extends LinkedHashMap<Object, Object> {
  private static final long serialVersionUID = 1L;

  /** The attribute name PyTorch stores the per-module versions of a state dict under. */
  public static final String METADATA = "_metadata";

  private final LinkedHashMap<String, Object> attributes = new LinkedHashMap<>();

  public PyOrderedDict() {
  }

  /** An ordered dict with the entries of {@code entries}, in their iteration order, and no attributes. */
  public PyOrderedDict(Map<?, ?> entries) {
    super(entries);
  }

  /**
   * The instance attributes (the object's {@code __dict__}) in the order they were set; mutable. Pickles
   * restore them with {@code BUILD}.
   */
  public Map<String, Object> attributes() {
    return attributes;
  }

  /** The {@code _metadata} attribute, or null when there is none. */
  public Object metadata() {
    return attributes.get(METADATA);
  }

  /** Sets the {@code _metadata} attribute; null removes it. */
  public void setMetadata(Object metadata) {
    if (metadata == null) {
      attributes.remove(METADATA);
    } else {
      attributes.put(METADATA, metadata);
    }
  }

  // Attributes are not part of equality, as in Python, where OrderedDict == compares items only.
  @Override
  public boolean equals(Object other) {
    return super.equals(other);
  }

  @Override
  public int hashCode() {
    return super.hashCode();
  }
}
