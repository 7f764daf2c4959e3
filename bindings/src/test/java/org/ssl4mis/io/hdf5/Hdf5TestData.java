package org.ssl4mis.io.hdf5;

import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.ssl4mis.tensor.DType;

/** Deterministic test arrays for every dtype the HDF5 package writes, with the awkward values of each. */
final class Hdf5TestData {
  private Hdf5TestData() {}

  /** The dtypes HDF5 files can hold (all but bfloat16). */
  static final DType[] DTYPES = {DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.UINT8, DType.INT8, DType.INT16,
      DType.INT32, DType.INT64, DType.BOOL};

  static final long[][] SHAPES = {{}, {0}, {7}, {3, 5}, {2, 0, 4}, {2, 3, 4}, {2, 3, 4, 5}, {1, 1, 1, 1}};

  /** An array of {@code dtype} and {@code shape} whose first elements are the type's extremes, then random. */
  static Hdf5Array array(DType dtype, long[] shape, long seed) {
    Hdf5Array a = Hdf5Array.zeros(dtype, shape);
    SplittableRandom r = new SplittableRandom(seed);
    int n = a.numel();
    switch (a.data()) {
      case float[] x -> {
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, Float.MAX_VALUE,
            Float.MIN_VALUE, -Float.MIN_NORMAL};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : (float) (r.nextGaussian() * 100);
        }
      }
      case double[] x -> {
        double[] special = {Double.NaN, Double.NEGATIVE_INFINITY, 1e300, -Double.MIN_VALUE, Double.MAX_VALUE, 0.1};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : r.nextGaussian() * 1e3;
        }
      }
      case short[] x when dtype == DType.FLOAT16 -> {
        short[] special = {(short) 0x7e00, (short) 0x7c00, (short) 0xfc00, (short) 0x8000, (short) 0x7bff, 1};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : Float.floatToFloat16((float) r.nextGaussian() * 10);
        }
      }
      case short[] x -> {
        short[] special = {Short.MIN_VALUE, Short.MAX_VALUE, -1, 0};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : (short) r.nextInt();
        }
      }
      case byte[] x when dtype == DType.BOOL -> {
        for (int i = 0; i < n; i++) {
          x[i] = (byte) (r.nextBoolean() ? 1 : 0);
        }
      }
      case byte[] x -> {
        byte[] special = {Byte.MIN_VALUE, Byte.MAX_VALUE, -1, 0};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : (byte) r.nextInt();
        }
      }
      case int[] x -> {
        int[] special = {Integer.MIN_VALUE, Integer.MAX_VALUE, -1, 16_777_217};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : r.nextInt();
        }
      }
      case long[] x -> {
        long[] special = {Long.MIN_VALUE, Long.MAX_VALUE, -1, (1L << 53) + 1};
        for (int i = 0; i < n; i++) {
          x[i] = i < special.length ? special[i] : r.nextLong();
        }
      }
      default -> throw new AssertionError(a.data().getClass());
    }
    return a;
  }

  /** The elements' bytes (native order, which is little-endian here, as numpy's {@code tobytes()}). */
  static byte[] bytes(Hdf5Array a) {
    return a.segment().toArray(ValueLayout.JAVA_BYTE);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** numpy's {@code dtype.str} of what a dtype is written as. */
  static String numpyStr(DType d) {
    return switch (d) {
      case FLOAT32 -> "<f4";
      case FLOAT64 -> "<f8";
      case FLOAT16 -> "<f2";
      case UINT8 -> "|u1";
      case INT8 -> "|i1";
      case INT16 -> "<i2";
      case INT32 -> "<i4";
      case INT64 -> "<i8";
      case BOOL -> "|b1";
      case BFLOAT16 -> throw new AssertionError();
    };
  }

  static String shapeName(long[] shape) {
    if (shape.length == 0) {
      return "scalar";
    }
    StringBuilder s = new StringBuilder();
    for (long d : shape) {
      s.append(s.isEmpty() ? "" : "x").append(d);
    }
    return s.toString();
  }
}
