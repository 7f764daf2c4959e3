package org.ssl4mis.io.hdf5;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.ssl4mis.tensor.DType;

/**
 * Element conversions between what HDF5 read ({@link StoredType}) and what the caller asked for, with numpy's
 * {@code astype} semantics where they are well defined and an error where numpy would silently wrap:
 *
 * <ul>
 *   <li>to floating point: rounded to nearest (ties to even); beyond the float range to infinities; NaN kept;
 *   <li>integer to integer: exact, or {@link OutOfRange} when the value does not fit the target;
 *   <li>floating point to integer: truncated toward zero, or {@link OutOfRange} for NaN, infinities and values
 *       outside the target's range;
 *   <li>to bool: non-zero (and NaN) is true.
 * </ul>
 */
final class Convert {
  private Convert() {}

  /** A value does not fit the requested type; the message names the element and the value. */
  static final class OutOfRange extends Exception {
    private static final long serialVersionUID = 1L;

    OutOfRange(String message) {
      super(message);
    }
  }

  private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;
  private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
  private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
  private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;

  /** Whether {@code from} can be converted to {@code to} at all (values aside). */
  static boolean supported(StoredType from, DType to) {
    return switch (to) {
      case BFLOAT16 -> false;
      case FLOAT16 -> from == StoredType.F16;
      default -> true;
    };
  }

  /**
   * Converts {@code n} elements of {@code src} (laid out as {@code from}) into {@code dst} (laid out as
   * {@code to}), both in native byte order.
   */
  static void convert(MemorySegment src, StoredType from, MemorySegment dst, DType to, long n) throws OutOfRange {
    if (from.sameLayoutAsReadAs() && from.readAs == to) {
      MemorySegment.copy(src, 0, dst, 0, n * from.size);
      if (to == DType.BOOL) {
        normaliseBool(dst, n);
      }
      return;
    }
    if (!supported(from, to)) {
      throw new IllegalArgumentException("cannot convert " + from.numpyName + " to " + to.pythonName());
    }
    switch (to) {
      case FLOAT32 -> {
        if (from.isFloat()) {
          for (long i = 0; i < n; i++) {
            dst.setAtIndex(F, i, (float) getDouble(src, from, i));
          }
        } else if (from == StoredType.U64) {
          for (long i = 0; i < n; i++) {
            dst.setAtIndex(F, i, unsignedToFloat(src.getAtIndex(L, i)));
          }
        } else {
          for (long i = 0; i < n; i++) {
            dst.setAtIndex(F, i, (float) getLong(src, from, i));
          }
        }
      }
      case FLOAT64 -> {
        if (from.isFloat()) {
          for (long i = 0; i < n; i++) {
            dst.setAtIndex(D, i, getDouble(src, from, i));
          }
        } else if (from == StoredType.U64) {
          for (long i = 0; i < n; i++) {
            dst.setAtIndex(D, i, unsignedToDouble(src.getAtIndex(L, i)));
          }
        } else {
          for (long i = 0; i < n; i++) {
            dst.setAtIndex(D, i, (double) getLong(src, from, i));
          }
        }
      }
      case BOOL -> {
        for (long i = 0; i < n; i++) {
          boolean v = from.isFloat() ? getDouble(src, from, i) != 0.0 : getLong(src, from, i) != 0;
          dst.setAtIndex(B, i, (byte) (v ? 1 : 0));
        }
      }
      case UINT8 -> {
        for (long i = 0; i < n; i++) {
          dst.setAtIndex(B, i, (byte) integral(src, from, i, 0, 255, to));
        }
      }
      case INT8 -> {
        for (long i = 0; i < n; i++) {
          dst.setAtIndex(B, i, (byte) integral(src, from, i, Byte.MIN_VALUE, Byte.MAX_VALUE, to));
        }
      }
      case INT16 -> {
        for (long i = 0; i < n; i++) {
          dst.setAtIndex(S, i, (short) integral(src, from, i, Short.MIN_VALUE, Short.MAX_VALUE, to));
        }
      }
      case INT32 -> {
        for (long i = 0; i < n; i++) {
          dst.setAtIndex(I, i, (int) integral(src, from, i, Integer.MIN_VALUE, Integer.MAX_VALUE, to));
        }
      }
      case INT64 -> {
        for (long i = 0; i < n; i++) {
          dst.setAtIndex(L, i, integral(src, from, i, Long.MIN_VALUE, Long.MAX_VALUE, to));
        }
      }
      case FLOAT16, BFLOAT16 -> throw new AssertionError(to);
    }
  }

  private static void normaliseBool(MemorySegment dst, long n) {
    for (long i = 0; i < n; i++) {
      if (dst.get(B, i) != 0) {
        dst.set(B, i, (byte) 1);
      }
    }
  }

  /** An integer-kind element as a long (uint64 as its bit pattern). */
  private static long getLong(MemorySegment src, StoredType from, long i) {
    return switch (from) {
      case BOOL -> src.get(B, i) != 0 ? 1 : 0;
      case U8 -> Byte.toUnsignedInt(src.get(B, i));
      case I8 -> src.get(B, i);
      case I16 -> src.getAtIndex(S, i);
      case U16 -> Short.toUnsignedInt(src.getAtIndex(S, i));
      case I32 -> src.getAtIndex(I, i);
      case U32 -> Integer.toUnsignedLong(src.getAtIndex(I, i));
      case I64, U64 -> src.getAtIndex(L, i);
      case F16, F32, F64 -> throw new AssertionError(from);
    };
  }

  /** A floating-point element as a double (exact for every stored float type). */
  private static double getDouble(MemorySegment src, StoredType from, long i) {
    return switch (from) {
      case F16 -> Float.float16ToFloat(src.getAtIndex(S, i));
      case F32 -> src.getAtIndex(F, i);
      case F64 -> src.getAtIndex(D, i);
      default -> throw new AssertionError(from);
    };
  }

  private static long integral(MemorySegment src, StoredType from, long i, long min, long max, DType to)
      throws OutOfRange {
    if (from.isFloat()) {
      double d = getDouble(src, from, i);
      double t = d < 0 ? Math.ceil(d) : Math.floor(d);
      // (double) max + 1.0 is exact for every target (2^7 ... 2^63), so t < it is exactly t <= max.
      if (!(t >= (double) min && t < (double) max + 1.0)) {
        throw new OutOfRange("element " + i + " is " + d + ", which does not convert to " + to.pythonName());
      }
      return (long) t;
    }
    long v = getLong(src, from, i);
    if (from == StoredType.U64 ? (v < 0 || v > max) : (v < min || v > max)) {
      String shown = from == StoredType.U64 ? Long.toUnsignedString(v) : Long.toString(v);
      throw new OutOfRange("element " + i + " is " + shown + ", outside the range of " + to.pythonName());
    }
    return v;
  }

  /** An unsigned 64-bit value rounded to the nearest float, as C's {@code (float) uint64_t}. */
  static float unsignedToFloat(long v) {
    if (v >= 0) {
      return (float) v;
    }
    // Halve keeping the lowest bit sticky (round to odd), convert, double: one correct rounding.
    return (float) ((v >>> 1) | (v & 1)) * 2.0f;
  }

  /** An unsigned 64-bit value rounded to the nearest double. */
  static double unsignedToDouble(long v) {
    if (v >= 0) {
      return (double) v;
    }
    return (double) ((v >>> 1) | (v & 1)) * 2.0;
  }
}
