package org.ssl4mis.io.pth;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;
import org.ssl4mis.tensor.DType;

/**
 * A tensor of a checkpoint as plain Java data: a strided view of a {@link StorageRef}, the way
 * {@code torch._utils._rebuild_tensor_v2} describes it. Immutable.
 *
 * <p>Strides and the storage offset count elements, not bytes. The constructor checks that every element
 * of the view lies inside the storage. Equality is identity, as for tensors in Python.
 */
public final class RawTensor {
  /** More dimensions than any real network uses; a bound on what a file may declare. */
  public static final int MAX_RANK = 64;

  private final StorageRef storage;
  private final long[] shape;
  private final long[] strides;
  private final long storageOffset;
  private final boolean requiresGrad;
  private final boolean isParameter;
  private final long numel;

  /**
   * A view of {@code storage}.
   *
   * @param storage the storage viewed; its dtype is the tensor's
   * @param shape sizes, each non-negative
   * @param strides strides in elements, each non-negative, one per dimension
   * @param storageOffset index of the first element in the storage
   * @param requiresGrad the autograd flag saved with the tensor
   * @param isParameter whether the tensor was an {@code nn.Parameter} ({@code _rebuild_parameter})
   * @throws IllegalArgumentException when the view is malformed or reaches outside the storage
   */
  public RawTensor(StorageRef storage, long[] shape, long[] strides, long storageOffset, boolean requiresGrad,
      boolean isParameter) {
    this.storage = Objects.requireNonNull(storage, "storage");
    this.shape = shape.clone();
    this.strides = strides.clone();
    this.storageOffset = storageOffset;
    this.requiresGrad = requiresGrad;
    this.isParameter = isParameter;
    this.numel = checkView(storage, this.shape, this.strides, storageOffset);
  }

  /** Validates the view and returns its element count. */
  private static long checkView(StorageRef storage, long[] shape, long[] strides, long offset) {
    if (shape.length != strides.length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " and strides "
          + Arrays.toString(strides) + " differ in rank");
    }
    if (shape.length > MAX_RANK) {
      throw new IllegalArgumentException("rank " + shape.length + " exceeds " + MAX_RANK);
    }
    if (offset < 0) {
      throw new IllegalArgumentException("negative storage offset " + offset);
    }
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0 || strides[i] < 0) {
        throw new IllegalArgumentException("negative size or stride: shape " + Arrays.toString(shape)
            + ", strides " + Arrays.toString(strides));
      }
    }
    long count = 1;
    long lastIndex = offset;
    try {
      for (long size : shape) {
        count = Math.multiplyExact(count, size);
      }
      // The contiguous copy must be addressable, even where it is larger than the storage (expand()).
      Math.multiplyExact(count, storage.dtype().byteSize());
      for (int i = 0; i < shape.length && count > 0; i++) {
        lastIndex = Math.addExact(lastIndex, Math.multiplyExact(shape[i] - 1, strides[i]));
      }
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " with strides "
          + Arrays.toString(strides) + " overflows 64 bits");
    }
    // An empty view reads nothing, so (as in PyTorch) it may sit anywhere.
    if (count > 0 && lastIndex >= storage.numel()) {
      throw new IllegalArgumentException("view (shape " + Arrays.toString(shape) + ", strides "
          + Arrays.toString(strides) + ", offset " + offset + ") reaches element " + lastIndex + " of storage '"
          + storage.key() + "' with " + storage.numel() + " elements");
    }
    return count;
  }

  /**
   * A contiguous tensor over a fresh storage holding a copy of {@code littleEndianData}.
   *
   * @throws IllegalArgumentException when the data does not hold exactly the elements of {@code shape}
   */
  public static RawTensor of(DType dtype, long[] shape, MemorySegment littleEndianData) {
    long[] strides = contiguousStrides(shape);
    long count = numelOf(shape);
    if (Math.multiplyExact(count, dtype.byteSize()) != littleEndianData.byteSize()) {
      throw new IllegalArgumentException(littleEndianData.byteSize() + " bytes do not hold the " + count + " "
          + dtype.pythonName() + " elements of shape " + Arrays.toString(shape));
    }
    return new RawTensor(StorageRef.copyOf("", dtype, littleEndianData), shape, strides, 0, false, false);
  }

  /** A contiguous tensor over a copy of {@code littleEndianData}; see {@link #of(DType, long[], MemorySegment)}. */
  public static RawTensor of(DType dtype, long[] shape, byte[] littleEndianData) {
    return of(dtype, shape, MemorySegment.ofArray(littleEndianData));
  }

  /** A contiguous view of all of {@code storage} with the given shape (whose element count must match). */
  public static RawTensor of(StorageRef storage, long... shape) {
    if (numelOf(shape) != storage.numel()) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold the "
          + storage.numel() + " elements of " + storage);
    }
    return new RawTensor(storage, shape, contiguousStrides(shape), 0, false, false);
  }

  /** The strides (in elements) of a C-contiguous tensor of {@code shape}. */
  public static long[] contiguousStrides(long[] shape) {
    long[] strides = new long[shape.length];
    long stride = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      strides[i] = stride;
      stride = Math.multiplyExact(stride, Math.max(shape[i], 1));
    }
    return strides;
  }

  private static long numelOf(long[] shape) {
    long count = 1;
    for (long s : shape) {
      if (s < 0) {
        throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
      }
      count = Math.multiplyExact(count, s);
    }
    return count;
  }

  /** The same view with other autograd and parameter flags. */
  public RawTensor withFlags(boolean requiresGrad, boolean isParameter) {
    return new RawTensor(storage, shape, strides, storageOffset, requiresGrad, isParameter);
  }

  public DType dtype() {
    return storage.dtype();
  }

  public long[] shape() {
    return shape.clone();
  }

  /** Strides in elements. */
  public long[] strides() {
    return strides.clone();
  }

  /** Index of the first element in the storage. */
  public long storageOffset() {
    return storageOffset;
  }

  public StorageRef storage() {
    return storage;
  }

  public boolean requiresGrad() {
    return requiresGrad;
  }

  /** Whether the tensor was saved as an {@code nn.Parameter}. */
  public boolean isParameter() {
    return isParameter;
  }

  public int rank() {
    return shape.length;
  }

  public long numel() {
    return numel;
  }

  /** Whether the elements lie in C order without gaps (PyTorch's {@code is_contiguous()}). */
  public boolean isContiguous() {
    if (numel == 0) {
      return true;
    }
    long expected = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] != 1) {
        if (strides[i] != expected) {
          return false;
        }
        expected *= shape[i];
      }
    }
    return true;
  }

  /**
   * The elements in C order as read-only little-endian bytes: a slice of the storage when the tensor is
   * contiguous, otherwise a copy gathered along the strides.
   */
  public MemorySegment contiguousBytes() {
    int elementSize = dtype().byteSize();
    long size = numel * elementSize;
    MemorySegment source = storage.bytes();
    if (numel == 0) {
      // An empty view may sit anywhere, even past the end of its storage.
      return source.asSlice(0, 0).asReadOnly();
    }
    if (isContiguous()) {
      return source.asSlice(storageOffset * elementSize, size).asReadOnly();
    }
    MemorySegment target = Arena.ofAuto().allocate(size, 64);
    gather(source, target, elementSize);
    return target.asReadOnly();
  }

  /** A copy of {@link #contiguousBytes()} as an array; only for tensors under 2 GiB. */
  public byte[] toByteArray() {
    return contiguousBytes().toArray(ValueLayout.JAVA_BYTE);
  }

  /** Copies the strided elements into {@code target} in C order, a run of the last dimension at a time. */
  private void gather(MemorySegment source, MemorySegment target, int elementSize) {
    int rank = shape.length;
    long innerSize = shape[rank - 1];
    long innerStride = strides[rank - 1];
    long[] index = new long[rank - 1];
    long written = 0;
    long outerCount = numel / innerSize;
    for (long run = 0; run < outerCount; run++) {
      long start = storageOffset;
      for (int d = 0; d < rank - 1; d++) {
        start += index[d] * strides[d];
      }
      if (innerStride == 1) {
        long bytes = innerSize * elementSize;
        MemorySegment.copy(source, start * elementSize, target, written, bytes);
        written += bytes;
      } else {
        for (long i = 0; i < innerSize; i++) {
          MemorySegment.copy(source, (start + i * innerStride) * elementSize, target, written, elementSize);
          written += elementSize;
        }
      }
      for (int d = rank - 2; d >= 0; d--) {
        if (++index[d] < shape[d]) {
          break;
        }
        index[d] = 0;
      }
    }
  }

  @Override
  public String toString() {
    return (isParameter ? "Parameter" : "Tensor") + "[" + dtype().pythonName() + " " + Arrays.toString(shape)
        + (isContiguous() ? "" : " strides " + Arrays.toString(strides))
        + (storageOffset == 0 ? "" : " offset " + storageOffset) + (requiresGrad ? " requires_grad" : "")
        + " on " + storage + "]";
  }
}
