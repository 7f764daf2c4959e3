package org.ssl4mis.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.io.pth.StorageRef;
import org.ssl4mis.tensor.DType;

/** Tensors for the safetensors tests, and helpers to compare and describe them. */
final class SafetensorsSamples {
  /** Shapes every dtype is tried with: 0-dim, empty, vectors, matrices, with size-0 and size-1 dimensions. */
  static final List<long[]> SHAPES = List.of(new long[] {}, new long[] {0}, new long[] {3}, new long[] {2, 3},
      new long[] {2, 0, 4}, new long[] {1, 2, 1, 3});

  private SafetensorsSamples() {
  }

  /**
   * A contiguous tensor whose element {@code i} (in C order) has a value made from {@code i}, the same as
   * {@code pattern()} of {@code safetensors_tool.py}.
   */
  static RawTensor pattern(DType dtype, long... shape) {
    long n = LongStream.of(shape).reduce(1, Math::multiplyExact);
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    for (long i = 0; i < n; i++) {
      double v = ((i * 37) % 101) * 0.25 - 12.5;
      switch (dtype) {
        case FLOAT32 -> b.putFloat((float) v);
        case FLOAT64 -> b.putDouble(v);
        case FLOAT16 -> b.putShort(Float.floatToFloat16((float) v));
        case BFLOAT16 -> b.putShort((short) (Float.floatToRawIntBits((float) v) >>> 16));
        case UINT8 -> b.put((byte) ((i * 37) % 256));
        case INT8 -> b.put((byte) (((i * 37) % 256) - 128));
        case INT16 -> b.putShort((short) (((i * 7919) % 65536) - 32768));
        case INT32 -> b.putInt((int) (((i * 104729) % (1L << 31)) - (1L << 30)));
        case INT64 -> b.putLong(i * 0x9E3779B97F4A7C15L);
        case BOOL -> b.put((byte) (i % 3 == 0 ? 1 : 0));
      }
    }
    return RawTensor.of(dtype, shape, b.array());
  }

  static String shapeName(long[] shape) {
    return shape.length == 0 ? "scalar" : LongStream.of(shape).mapToObj(Long::toString).collect(Collectors.joining("x"));
  }

  /** {@code pattern/<code>/<shape>} for every dtype and every shape of {@link #SHAPES}. */
  static LinkedHashMap<String, RawTensor> everyDtype() {
    LinkedHashMap<String, RawTensor> map = new LinkedHashMap<>();
    for (DType d : DType.values()) {
      for (long[] shape : SHAPES) {
        map.put("pattern/" + d.safetensorsCode() + "/" + shapeName(shape), pattern(d, shape));
      }
    }
    return map;
  }

  /** Little-endian bytes of the given values for a dtype of their size. */
  static byte[] le(DType dtype, long... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : values) {
      switch (dtype.byteSize()) {
        case 1 -> b.put((byte) v);
        case 2 -> b.putShort((short) v);
        case 4 -> b.putInt((int) v);
        default -> b.putLong(v);
      }
    }
    return b.array();
  }

  static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }

  /** Bit patterns that must survive exactly: NaNs with payloads, infinities, -0, subnormals, extremes. */
  static LinkedHashMap<String, RawTensor> specials() {
    LinkedHashMap<String, RawTensor> map = new LinkedHashMap<>();
    map.put("special/f32", RawTensor.of(DType.FLOAT32, new long[] {7}, le(DType.FLOAT32, 0x7fc00000L, 0x7fa12345L,
        0xffc00001L, 0x7f800000L, 0x80000000L, 0x00000001L, 0x7f7fffffL)));
    map.put("special/f64", RawTensor.of(DType.FLOAT64, new long[] {3}, le(DType.FLOAT64, 0x7ff8000000000001L,
        Double.doubleToRawLongBits(-0.0), 1L)));
    map.put("special/f16", RawTensor.of(DType.FLOAT16, new long[] {5}, le(DType.FLOAT16, 0x7e01, 0x7c00, 0x8000,
        0x0001, 0x7bff)));
    map.put("special/bf16", RawTensor.of(DType.BFLOAT16, new long[] {5}, le(DType.BFLOAT16, 0x7fc1, 0xff80, 0x8000,
        0x0001, 0x7f7f)));
    map.put("special/i64", RawTensor.of(DType.INT64, new long[] {4}, le(DType.INT64, Long.MIN_VALUE, Long.MAX_VALUE,
        -1, 0)));
    map.put("special/bool", RawTensor.of(DType.BOOL, new long[] {2, 2}, new byte[] {0, 1, 1, 0}));
    return map;
  }

  /** Views that are not contiguous or share a storage. */
  static LinkedHashMap<String, RawTensor> views() {
    float[] values = new float[24];
    for (int i = 0; i < values.length; i++) {
      values[i] = i * 1.5f - 3;
    }
    StorageRef storage = StorageRef.copyOf("shared", DType.FLOAT32, floats(values));
    LinkedHashMap<String, RawTensor> map = new LinkedHashMap<>();
    map.put("view/whole", RawTensor.of(storage, 4, 6));
    map.put("view/transposed", new RawTensor(storage, new long[] {6, 4}, new long[] {1, 6}, 0, false, false));
    map.put("view/slice", new RawTensor(storage, new long[] {2, 3}, new long[] {6, 2}, 7, true, true));
    map.put("view/expanded", new RawTensor(storage, new long[] {3, 5}, new long[] {0, 1}, 2, false, false));
    map.put("view/row", new RawTensor(storage, new long[] {6}, new long[] {1}, 18, false, false));
    map.put("view/empty", new RawTensor(storage, new long[] {0, 3}, new long[] {3, 1}, 100, false, false));
    map.put("view/element", new RawTensor(storage, new long[] {}, new long[] {}, 23, false, false));
    return map;
  }

  /** Names and metadata with quotes, backslashes, control characters and non-ASCII (also outside the BMP). */
  static final String ODD_NAME = "names/\u00fcml\u00e4ut \uD83D\uDE00 \"q\" \\ \n\t\u0001\u007f/";

  static LinkedHashMap<String, String> oddMetadata() {
    LinkedHashMap<String, String> map = new LinkedHashMap<>();
    map.put("format", "pt");
    map.put("note \u00e9\uD83D\uDE00", "line\nbreak \"q\" \\ \u0000 /");
    map.put("empty", "");
    return map;
  }

  /** Asserts that {@code actual} holds tensors with the names (in order), dtypes, shapes and elements of {@code expected}. */
  static void assertSameTensors(Map<String, RawTensor> expected, Map<String, RawTensor> actual, String what) {
    assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()), what + ": names and order");
    for (Map.Entry<String, RawTensor> e : expected.entrySet()) {
      RawTensor a = actual.get(e.getKey());
      RawTensor x = e.getValue();
      String where = what + ": " + e.getKey();
      assertEquals(x.dtype(), a.dtype(), where);
      assertArrayEquals(x.shape(), a.shape(), where);
      assertTrue(a.isContiguous(), where);
      assertArrayEquals(x.toByteArray(), a.toByteArray(), where);
    }
  }

  static String sha256(MemorySegment bytes) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      long chunk = 1 << 20;
      for (long offset = 0; offset < bytes.byteSize(); offset += chunk) {
        digest.update(bytes.asSlice(offset, Math.min(chunk, bytes.byteSize() - offset)).toArray(ValueLayout.JAVA_BYTE));
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static String hex(String s) {
    return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
  }

  /** The description {@code safetensors_tool.py} writes for a file with these tensors and metadata. */
  static String describe(Map<String, RawTensor> tensors, Map<String, String> metadata) {
    StringBuilder out = new StringBuilder();
    metadata.forEach((k, v) -> out.append("meta ").append(hex(k)).append(' ').append(hex(v)).append('\n'));
    tensors.forEach((name, t) -> out.append("tensor ").append(hex(name)).append(' ').append(t.dtype().safetensorsCode())
        .append(" [").append(LongStream.of(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(",")))
        .append("] ").append(sha256(t.contiguousBytes())).append('\n'));
    return out.toString();
  }
}
