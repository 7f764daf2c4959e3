package org.ssl4mis.io.pth;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import org.ssl4mis.tensor.DType;

/**
 * A typed storage of a checkpoint: a flat run of {@link #numel()} elements of one {@link DType}, in
 * little-endian byte order, that one or more {@link RawTensor}s view.
 *
 * <p>Tensors that share a storage in the file share one {@code StorageRef} object, and the writer writes
 * every distinct {@code StorageRef} once, so views survive a round trip. The bytes are read-only; storages
 * read from a file may be mapped from it.
 */
public final class StorageRef {
  private final String key;
  private final DType dtype;
  private final long numel;
  private final String location;
  // Set at construction, or once by the legacy reader (whose storage bytes follow the pickle that declares
  // them) before the checkpoint is handed out.
  private MemorySegment bytes;

  StorageRef(String key, DType dtype, long numel, String location, MemorySegment bytes) {
    this.key = Objects.requireNonNull(key, "key");
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    if (numel < 0) {
      throw new IllegalArgumentException("negative element count " + numel);
    }
    this.numel = numel;
    this.location = Objects.requireNonNull(location, "location");
    if (bytes != null) {
      bind(bytes);
    }
  }

  /**
   * A storage holding a copy of {@code littleEndianBytes}.
   *
   * @param key a name for messages; the writer assigns its own keys
   * @param dtype element type
   * @param littleEndianBytes the elements, little-endian; the length must be a multiple of the element size
   */
  public static StorageRef copyOf(String key, DType dtype, MemorySegment littleEndianBytes) {
    long size = littleEndianBytes.byteSize();
    if (size % dtype.byteSize() != 0) {
      throw new IllegalArgumentException(size + " bytes are not a whole number of " + dtype.pythonName()
          + " elements");
    }
    MemorySegment copy = Arena.ofAuto().allocate(size, 64);
    copy.copyFrom(littleEndianBytes);
    return new StorageRef(key, dtype, size / dtype.byteSize(), "cpu", copy);
  }

  /** A storage holding a copy of {@code littleEndianBytes}; see {@link #copyOf(String, DType, MemorySegment)}. */
  public static StorageRef copyOf(String key, DType dtype, byte[] littleEndianBytes) {
    return copyOf(key, dtype, MemorySegment.ofArray(littleEndianBytes));
  }

  void bind(MemorySegment data) {
    if (bytes != null) {
      throw new IllegalStateException("storage '" + key + "' is already bound");
    }
    if (data.byteSize() != byteSize()) {
      throw new IllegalArgumentException("storage '" + key + "' needs " + byteSize() + " bytes, got "
          + data.byteSize());
    }
    bytes = data.asReadOnly();
  }

  boolean isBound() {
    return bytes != null;
  }

  /** The key the storage had in its file ({@code data/<key>}), or the name given to {@code copyOf}. */
  public String key() {
    return key;
  }

  public DType dtype() {
    return dtype;
  }

  /** Number of elements. */
  public long numel() {
    return numel;
  }

  /** Number of bytes: {@code numel() * dtype().byteSize()}. */
  public long byteSize() {
    return numel * dtype.byteSize();
  }

  /** The device the storage was saved from, e.g. {@code cpu} or {@code cuda:0}; informational only. */
  public String location() {
    return location;
  }

  /** The elements as read-only little-endian bytes. */
  public MemorySegment bytes() {
    if (bytes == null) {
      throw new IllegalStateException("storage '" + key + "' has no data yet");
    }
    return bytes;
  }

  /** The elements as a read-only little-endian buffer; only for storages under 2 GiB. */
  public ByteBuffer byteBuffer() {
    return bytes().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A copy of the bytes as an array; only for storages under 2 GiB. */
  public byte[] toByteArray() {
    return bytes().toArray(ValueLayout.JAVA_BYTE);
  }

  @Override
  public String toString() {
    return "StorageRef[" + key + ", " + dtype.pythonName() + ", " + numel + " elements]";
  }
}
