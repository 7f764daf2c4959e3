package org.ssl4mis.io.safetensors;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import org.ssl4mis.io.pth.RawTensor;

/**
 * The content of a safetensors file read by {@link Safetensors#read}: its tensors, in the order of the
 * header, and its {@code __metadata__}. Immutable; the tensors hold copies of their bytes, so the file may
 * change or go once it has been read.
 */
public final class SafetensorsFile {
  private final String source;
  private final SequencedMap<String, RawTensor> tensors;
  private final SequencedMap<String, String> metadata;

  SafetensorsFile(String source, LinkedHashMap<String, RawTensor> tensors, LinkedHashMap<String, String> metadata) {
    this.source = source;
    this.tensors = Collections.unmodifiableSequencedMap(tensors);
    this.metadata = Collections.unmodifiableSequencedMap(metadata);
  }

  /** The file (or other source) the tensors were read from. */
  public String source() {
    return source;
  }

  /**
   * The tensors by name, unmodifiable, in the order the header lists them (which, for files written by the
   * reference implementation and by {@link Safetensors#write}, is also the order of their data). Each is
   * contiguous and has its own storage.
   */
  public SequencedMap<String, RawTensor> tensors() {
    return tensors;
  }

  /** The string-to-string {@code __metadata__} of the header, unmodifiable, in header order; empty when absent. */
  public SequencedMap<String, String> metadata() {
    return metadata;
  }

  /** The tensor called {@code name}, or null. */
  public RawTensor tensor(String name) {
    return tensors.get(name);
  }

  @Override
  public String toString() {
    long bytes = 0;
    for (RawTensor t : tensors.values()) {
      bytes += t.numel() * t.dtype().byteSize();
    }
    return "SafetensorsFile[" + source + ", " + tensors.size() + " tensors, " + bytes + " bytes"
        + (metadata.isEmpty() ? "" : ", metadata " + metadata.keySet()) + "]";
  }
}
