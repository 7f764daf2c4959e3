package org.ssl4mis.io.hdf5;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.ssl4mis.tensor.DType;

/**
 * An n-dimensional array as plain Java data: an element type, a shape (C order, outermost dimension first, as
 * numpy) and a primitive array holding the elements in that order. What {@link Hdf5File#read} returns and what
 * {@link Hdf5File#write(String, Hdf5Array)} takes.
 *
 * <p>The primitive array by dtype: {@code float[]} for {@link DType#FLOAT32}, {@code double[]} for
 * {@link DType#FLOAT64}, {@code byte[]} for {@link DType#UINT8}, {@link DType#INT8} and {@link DType#BOOL}
 * (0 or 1), {@code short[]} for {@link DType#INT16} and {@link DType#FLOAT16} (IEEE half-precision bit
 * patterns, see {@link Float#float16ToFloat}), {@code int[]} for {@link DType#INT32}, {@code long[]} for
 * {@link DType#INT64}. {@code uint8} values are Java's signed bytes: read them with {@code b & 0xFF}.
 *
 * <p>The array is not copied in or out (these are large), so an {@code Hdf5Array} is only as immutable as its
 * owner keeps it. To make a libtorch tensor of it: {@code Tensors.fromSegment(a.segment(), a.dtype(), a.shape())}.
 */
public final class Hdf5Array {
  private final DType dtype;
  private final long[] shape;
  private final Object data;

  private Hdf5Array(DType dtype, long[] shape, Object data, int length) {
    this.dtype = dtype;
    this.shape = shape.clone();
    this.data = data;
    long n = numel(this.shape);
    if (n != length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements but the "
          + dtype.pythonName() + " data has " + length);
    }
  }

  /** Number of elements of a shape, checking that every size is non-negative and the product fits a long. */
  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^63 elements", e);
      }
    }
    return n;
  }

  /** A {@link DType#FLOAT32} array. */
  public static Hdf5Array of(float[] data, long... shape) {
    return new Hdf5Array(DType.FLOAT32, shape, data, data.length);
  }

  /** A {@link DType#FLOAT64} array. */
  public static Hdf5Array of(double[] data, long... shape) {
    return new Hdf5Array(DType.FLOAT64, shape, data, data.length);
  }

  /** A {@link DType#INT32} array. */
  public static Hdf5Array of(int[] data, long... shape) {
    return new Hdf5Array(DType.INT32, shape, data, data.length);
  }

  /** A {@link DType#INT64} array. */
  public static Hdf5Array of(long[] data, long... shape) {
    return new Hdf5Array(DType.INT64, shape, data, data.length);
  }

  /**
   * An array of bytes read as {@code dtype}: {@link DType#UINT8}, {@link DType#INT8} or {@link DType#BOOL}
   * (any non-zero byte is true).
   */
  public static Hdf5Array of(byte[] data, DType dtype, long... shape) {
    if (dtype != DType.UINT8 && dtype != DType.INT8 && dtype != DType.BOOL) {
      throw new IllegalArgumentException("byte[] data needs dtype uint8, int8 or bool, not " + dtype.pythonName());
    }
    return new Hdf5Array(dtype, shape, data, data.length);
  }

  /** An array of shorts read as {@code dtype}: {@link DType#INT16} or {@link DType#FLOAT16} (bit patterns). */
  public static Hdf5Array of(short[] data, DType dtype, long... shape) {
    if (dtype != DType.INT16 && dtype != DType.FLOAT16) {
      throw new IllegalArgumentException("short[] data needs dtype int16 or float16, not " + dtype.pythonName());
    }
    return new Hdf5Array(dtype, shape, data, data.length);
  }

  /** A new zero-filled array of {@code dtype} (any but {@link DType#BFLOAT16}, which HDF5 files do not hold). */
  public static Hdf5Array zeros(DType dtype, long... shape) {
    long n = numel(shape);
    if (n > Hdf5File.MAX_ARRAY_LENGTH) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n
          + " elements, more than a Java array holds (" + Hdf5File.MAX_ARRAY_LENGTH + ")");
    }
    int len = (int) n;
    return switch (dtype) {
      case FLOAT32 -> of(new float[len], shape);
      case FLOAT64 -> of(new double[len], shape);
      case UINT8, INT8, BOOL -> of(new byte[len], dtype, shape);
      case INT16, FLOAT16 -> of(new short[len], dtype, shape);
      case INT32 -> of(new int[len], shape);
      case INT64 -> of(new long[len], shape);
      case BFLOAT16 -> throw new IllegalArgumentException("bfloat16 has no HDF5 (h5py) representation");
    };
  }

  public DType dtype() {
    return dtype;
  }

  /** The shape (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  /** Number of elements: the length of the primitive array. */
  public int numel() {
    return (int) numel(shape);
  }

  /** The primitive array itself (not a copy): {@code float[]}, {@code double[]}, {@code byte[]}, ... */
  public Object data() {
    return data;
  }

  /** A heap segment over the elements, in native byte order (no copy). */
  public MemorySegment segment() {
    return switch (data) {
      case float[] a -> MemorySegment.ofArray(a);
      case double[] a -> MemorySegment.ofArray(a);
      case byte[] a -> MemorySegment.ofArray(a);
      case short[] a -> MemorySegment.ofArray(a);
      case int[] a -> MemorySegment.ofArray(a);
      case long[] a -> MemorySegment.ofArray(a);
      default -> throw new AssertionError(data.getClass());
    };
  }

  /** The {@code float[]} of a {@link DType#FLOAT32} array (not a copy). */
  public float[] floats() {
    return expect(float[].class, DType.FLOAT32);
  }

  /** The {@code double[]} of a {@link DType#FLOAT64} array (not a copy). */
  public double[] doubles() {
    return expect(double[].class, DType.FLOAT64);
  }

  /** The {@code byte[]} of a {@link DType#UINT8}, {@link DType#INT8} or {@link DType#BOOL} array (not a copy). */
  public byte[] bytes() {
    return expect(byte[].class, DType.UINT8);
  }

  /** The {@code short[]} of a {@link DType#INT16} or {@link DType#FLOAT16} array (not a copy). */
  public short[] shorts() {
    return expect(short[].class, DType.INT16);
  }

  /** The {@code int[]} of a {@link DType#INT32} array (not a copy). */
  public int[] ints() {
    return expect(int[].class, DType.INT32);
  }

  /** The {@code long[]} of a {@link DType#INT64} array (not a copy). */
  public long[] longs() {
    return expect(long[].class, DType.INT64);
  }

  private <T> T expect(Class<T> type, DType example) {
    if (!type.isInstance(data)) {
      throw new IllegalStateException("this array is " + dtype.pythonName() + " (" + data.getClass().getSimpleName()
          + "), not " + example.pythonName() + " (" + type.getSimpleName() + ")");
    }
    return type.cast(data);
  }

  /**
   * The elements converted to {@code float}, as numpy's {@code astype(np.float32)}: rounded to nearest, values
   * beyond the float range become infinities, {@code uint8} is read unsigned, bool as 0 or 1.
   */
  public float[] toFloats() {
    if (data instanceof float[] a) {
      return a.clone();
    }
    float[] out = new float[numel()];
    try {
      Convert.convert(segment(), StoredType.forDType(dtype), MemorySegment.ofArray(out), DType.FLOAT32, out.length);
    } catch (Convert.OutOfRange e) {
      throw new AssertionError(e); // conversion to float never fails
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Hdf5Array a && a.dtype == dtype && Arrays.equals(a.shape, shape)
        && Objects.deepEquals(a.data, data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + switch (data) {
      case float[] a -> Arrays.hashCode(a);
      case double[] a -> Arrays.hashCode(a);
      case byte[] a -> Arrays.hashCode(a);
      case short[] a -> Arrays.hashCode(a);
      case int[] a -> Arrays.hashCode(a);
      case long[] a -> Arrays.hashCode(a);
      default -> 0;
    };
  }

  @Override
  public String toString() {
    return "Hdf5Array[" + dtype.pythonName() + " " + Arrays.toString(shape) + "]";
  }
}
