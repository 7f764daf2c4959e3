package org.ssl4mis.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * Moves data between Java and libtorch tensors: Java arrays and {@link MemorySegment}s of any dtype and
 * shape, bulk-copied through the FFM API (one {@code memcpy}, no per-element JNI calls).
 *
 * <p>Creation methods return new contiguous CPU tensors that own their memory. Reading methods accept any
 * tensor (non-contiguous, on CUDA, of another dtype where a conversion is named) and copy out in C order.
 * Every tensor created here belongs to the current {@link org.ssl4mis.memory.MemoryScope}, if any.
 */
public final class Tensors {

  static {
    NativeRuntime.init();
  }

  private Tensors() {}

  // ---- creation ------------------------------------------------------------------------------------

  /** An uninitialised contiguous CPU tensor. */
  public static Tensor empty(DType dtype, long... shape) {
    checkShape(shape);
    return TorchException.call("creating an empty " + dtype.pythonName() + " tensor of shape " + Arrays.toString(shape),
        () -> torch.empty(shape, new TensorOptions(dtype.scalarType()), new MemoryFormatOptional()));
  }

  /** A float32 tensor holding {@code data} in C order. */
  public static Tensor fromFloats(float[] data, long... shape) {
    Tensor t = allocate(DType.FLOAT32, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(data, 0, segment(t), ValueLayout.JAVA_FLOAT, 0, data.length);
    }
    return t;
  }

  /** A float64 tensor holding {@code data} in C order. */
  public static Tensor fromDoubles(double[] data, long... shape) {
    Tensor t = allocate(DType.FLOAT64, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(data, 0, segment(t), ValueLayout.JAVA_DOUBLE, 0, data.length);
    }
    return t;
  }

  /** An int32 tensor holding {@code data} in C order. */
  public static Tensor fromInts(int[] data, long... shape) {
    Tensor t = allocate(DType.INT32, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(data, 0, segment(t), ValueLayout.JAVA_INT, 0, data.length);
    }
    return t;
  }

  /** An int64 tensor holding {@code data} in C order. */
  public static Tensor fromLongs(long[] data, long... shape) {
    Tensor t = allocate(DType.INT64, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(data, 0, segment(t), ValueLayout.JAVA_LONG, 0, data.length);
    }
    return t;
  }

  /**
   * A tensor of a 16-bit dtype holding {@code data}: {@link DType#INT16}, or {@link DType#FLOAT16} /
   * {@link DType#BFLOAT16} given as raw bit patterns.
   */
  public static Tensor fromShorts(short[] data, DType dtype, long... shape) {
    requireJavaLayout(dtype, ValueLayout.JAVA_SHORT, "fromShorts");
    Tensor t = allocate(dtype, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(data, 0, segment(t), ValueLayout.JAVA_SHORT, 0, data.length);
    }
    return t;
  }

  /** An int16 tensor holding {@code data} in C order. */
  public static Tensor fromShorts(short[] data, long... shape) {
    return fromShorts(data, DType.INT16, shape);
  }

  /** A {@link DType#UINT8} or {@link DType#INT8} tensor holding {@code data} in C order. */
  public static Tensor fromBytes(byte[] data, DType dtype, long... shape) {
    if (dtype != DType.UINT8 && dtype != DType.INT8) {
      throw new IllegalArgumentException("fromBytes makes uint8 or int8 tensors, not " + dtype.pythonName()
          + " (use fromBooleans for bool)");
    }
    Tensor t = allocate(dtype, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(data, 0, segment(t), ValueLayout.JAVA_BYTE, 0, data.length);
    }
    return t;
  }

  /** A bool tensor holding {@code data} in C order. */
  public static Tensor fromBooleans(boolean[] data, long... shape) {
    byte[] bytes = new byte[data.length];
    for (int i = 0; i < data.length; i++) {
      bytes[i] = data[i] ? (byte) 1 : (byte) 0;
    }
    Tensor t = allocate(DType.BOOL, data.length, shape);
    if (data.length > 0) {
      MemorySegment.copy(bytes, 0, segment(t), ValueLayout.JAVA_BYTE, 0, bytes.length);
    }
    return t;
  }

  /**
   * A tensor of {@code dtype} and {@code shape} whose bytes are copied from {@code source} (native byte
   * order, C order). The segment must hold exactly {@code numel * dtype.byteSize()} bytes.
   */
  public static Tensor fromSegment(MemorySegment source, DType dtype, long... shape) {
    Objects.requireNonNull(source, "source");
    long numel = numel(shape);
    long bytes = Math.multiplyExact(numel, dtype.byteSize());
    if (source.byteSize() != bytes) {
      throw new IllegalArgumentException("segment holds " + source.byteSize() + " bytes but " + dtype.pythonName()
          + " shape " + Arrays.toString(shape) + " needs " + bytes);
    }
    Tensor t = empty(dtype, shape);
    if (bytes > 0) {
      MemorySegment.copy(source, 0, segment(t), 0, bytes);
    }
    return t;
  }

  /** A 0-dimensional tensor holding one value (avoids the presets' crashing {@code tensor(Scalar)}). */
  public static Tensor scalar(double value, DType dtype) {
    Tensor t = fromDoubles(new double[] {value});
    Tensor s = t.reshape(new long[0]);
    return dtype == DType.FLOAT64 ? s : s.to(dtype.scalarType());
  }

  // ---- reading -------------------------------------------------------------------------------------

  /** The values as floats (converting the dtype if needed), in C order. */
  public static float[] toFloats(Tensor t) {
    Tensor c = cpuContiguous(t, DType.FLOAT32);
    float[] out = new float[checkedLength(c)];
    if (out.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
    }
    return out;
  }

  /** The values as doubles (converting the dtype if needed), in C order. */
  public static double[] toDoubles(Tensor t) {
    Tensor c = cpuContiguous(t, DType.FLOAT64);
    double[] out = new double[checkedLength(c)];
    if (out.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_DOUBLE, 0, out, 0, out.length);
    }
    return out;
  }

  /** The values as ints (converting the dtype if needed, truncating like {@code .int()}), in C order. */
  public static int[] toInts(Tensor t) {
    Tensor c = cpuContiguous(t, DType.INT32);
    int[] out = new int[checkedLength(c)];
    if (out.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_INT, 0, out, 0, out.length);
    }
    return out;
  }

  /** The values as longs (converting the dtype if needed), in C order. */
  public static long[] toLongs(Tensor t) {
    Tensor c = cpuContiguous(t, DType.INT64);
    long[] out = new long[checkedLength(c)];
    if (out.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_LONG, 0, out, 0, out.length);
    }
    return out;
  }

  /**
   * The raw 16-bit values of an int16, float16 or bfloat16 tensor (no conversion: the tensor must already
   * have one of those dtypes), in C order.
   */
  public static short[] toShorts(Tensor t) {
    DType d = dtype(t);
    requireJavaLayout(d, ValueLayout.JAVA_SHORT, "toShorts");
    Tensor c = cpuContiguous(t, d);
    short[] out = new short[checkedLength(c)];
    if (out.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_SHORT, 0, out, 0, out.length);
    }
    return out;
  }

  /** The raw bytes of a uint8, int8 or bool tensor (no conversion), in C order. */
  public static byte[] toBytes(Tensor t) {
    DType d = dtype(t);
    if (d != DType.UINT8 && d != DType.INT8 && d != DType.BOOL) {
      throw new IllegalArgumentException("toBytes reads uint8, int8 or bool tensors, not " + d.pythonName());
    }
    Tensor c = cpuContiguous(t, d);
    byte[] out = new byte[checkedLength(c)];
    if (out.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_BYTE, 0, out, 0, out.length);
    }
    return out;
  }

  /** The values as booleans (non-zero is true, as {@code .bool()}), in C order. */
  public static boolean[] toBooleans(Tensor t) {
    Tensor c = cpuContiguous(t, DType.BOOL);
    byte[] bytes = new byte[checkedLength(c)];
    if (bytes.length > 0) {
      MemorySegment.copy(segment(c), ValueLayout.JAVA_BYTE, 0, bytes, 0, bytes.length);
    }
    boolean[] out = new boolean[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      out[i] = bytes[i] != 0;
    }
    return out;
  }

  /**
   * Copies the tensor's elements (its own dtype, C order, native byte order) into {@code target}, which
   * must be exactly {@code numel * element size} bytes.
   */
  public static void copyTo(Tensor t, MemorySegment target) {
    DType d = dtype(t);
    Tensor c = cpuContiguous(t, d);
    long bytes = c.nbytes();
    if (target.byteSize() != bytes) {
      throw new IllegalArgumentException("target segment has " + target.byteSize() + " bytes but the "
          + d.pythonName() + " tensor of shape " + Arrays.toString(shape(t)) + " has " + bytes);
    }
    if (bytes > 0) {
      MemorySegment.copy(segment(c), 0, target, 0, bytes);
    }
  }

  /** The single value of a one-element tensor, as a double. */
  public static double item(Tensor t) {
    if (t.numel() != 1) {
      throw new IllegalArgumentException("item() needs a one-element tensor, got shape " + Arrays.toString(shape(t)));
    }
    return toDoubles(t)[0];
  }

  // ---- metadata ------------------------------------------------------------------------------------

  /** The shape as a Java array. */
  public static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }

  /** The strides (in elements) as a Java array. */
  public static long[] strides(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.stride(i);
    }
    return s;
  }

  public static DType dtype(Tensor t) {
    return DType.of(t.scalar_type());
  }

  /** Number of elements of a shape; throws on negative extents or overflow. */
  public static long numel(long... shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative extent in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  // ---- internals -----------------------------------------------------------------------------------

  /**
   * A segment over a CPU tensor's bytes, valid only while {@code t} and its storage live and are not
   * resized. Internal: public code uses {@link TensorMemory#view}, which ties the lifetime to an arena.
   */
  static MemorySegment segment(Tensor t) {
    long bytes = t.nbytes();
    if (bytes == 0) {
      return MemorySegment.NULL;
    }
    return MemorySegment.ofAddress(t.data_ptr().address()).reinterpret(bytes);
  }

  /** {@code t} on the CPU, contiguous, with dtype {@code d}; {@code t} itself when it already is. */
  static Tensor cpuContiguous(Tensor t, DType d) {
    Objects.requireNonNull(t, "tensor");
    if (!t.defined()) {
      throw new IllegalArgumentException("the tensor is undefined (a default-constructed or moved-from handle)");
    }
    Tensor c = t;
    if (c.is_cuda() || !c.device().is_cpu()) {
      c = TorchException.call("copying a tensor to the CPU", () -> t.to(new org.bytedeco.pytorch.Device("cpu"), d.scalarType()));
    } else if (dtype(c) != d) {
      Tensor src = c;
      c = TorchException.call("converting " + dtype(src).pythonName() + " to " + d.pythonName(), () -> src.to(d.scalarType()));
    }
    if (!c.is_contiguous()) {
      c = c.contiguous();
    }
    return c;
  }

  private static Tensor allocate(DType dtype, int length, long[] shape) {
    long n = numel(shape);
    if (n != length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
          + " elements but the array has " + length);
    }
    return empty(dtype, shape);
  }

  private static void checkShape(long[] shape) {
    numel(shape);
  }

  private static int checkedLength(Tensor t) {
    long n = t.numel();
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("tensor of " + n + " elements does not fit a Java array; use copyTo(MemorySegment)");
    }
    return (int) n;
  }

  private static void requireJavaLayout(DType d, ValueLayout layout, String method) {
    if (d.javaLayout() != layout) {
      throw new IllegalArgumentException(method + " does not handle " + d.pythonName());
    }
  }
}
