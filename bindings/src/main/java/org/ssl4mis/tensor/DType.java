package org.ssl4mis.tensor;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Element types the project moves between Java, libtorch and checkpoint files, with every name each side
 * uses for them: the libtorch {@link ScalarType}, the Python {@code torch} dtype, the legacy storage class
 * of pickled checkpoints ({@code FloatStorage}, ...) and the safetensors code.
 *
 * <p>Half and bfloat16 travel through Java as their raw 16-bit patterns (in {@code short}s).
 */
public enum DType {
  FLOAT32(ScalarType.Float, "float32", "FloatStorage", "F32", 4, ValueLayout.JAVA_FLOAT),
  FLOAT64(ScalarType.Double, "float64", "DoubleStorage", "F64", 8, ValueLayout.JAVA_DOUBLE),
  FLOAT16(ScalarType.Half, "float16", "HalfStorage", "F16", 2, ValueLayout.JAVA_SHORT),
  BFLOAT16(ScalarType.BFloat16, "bfloat16", "BFloat16Storage", "BF16", 2, ValueLayout.JAVA_SHORT),
  UINT8(ScalarType.Byte, "uint8", "ByteStorage", "U8", 1, ValueLayout.JAVA_BYTE),
  INT8(ScalarType.Char, "int8", "CharStorage", "I8", 1, ValueLayout.JAVA_BYTE),
  INT16(ScalarType.Short, "int16", "ShortStorage", "I16", 2, ValueLayout.JAVA_SHORT),
  INT32(ScalarType.Int, "int32", "IntStorage", "I32", 4, ValueLayout.JAVA_INT),
  INT64(ScalarType.Long, "int64", "LongStorage", "I64", 8, ValueLayout.JAVA_LONG),
  BOOL(ScalarType.Bool, "bool", "BoolStorage", "BOOL", 1, ValueLayout.JAVA_BYTE);

  private final ScalarType scalarType;
  private final String pythonName;
  private final String storageClass;
  private final String safetensorsCode;
  private final int byteSize;
  private final ValueLayout javaLayout;

  DType(ScalarType scalarType, String pythonName, String storageClass, String safetensorsCode, int byteSize,
      ValueLayout javaLayout) {
    this.scalarType = scalarType;
    this.pythonName = pythonName;
    this.storageClass = storageClass;
    this.safetensorsCode = safetensorsCode;
    this.byteSize = byteSize;
    this.javaLayout = javaLayout;
  }

  /** The libtorch scalar type. */
  public ScalarType scalarType() {
    return scalarType;
  }

  /** The Python name without the {@code torch.} prefix, e.g. {@code float32}. */
  public String pythonName() {
    return pythonName;
  }

  /** The storage class name pickled checkpoints use, e.g. {@code FloatStorage} (module {@code torch}). */
  public String storageClass() {
    return storageClass;
  }

  /** The dtype code of the safetensors header, e.g. {@code F32}. */
  public String safetensorsCode() {
    return safetensorsCode;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The Java value layout elements are read and written with (native byte order). */
  public ValueLayout javaLayout() {
    return javaLayout;
  }

  public boolean isFloatingPoint() {
    return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
  }

  /** The dtype of a libtorch scalar type. */
  public static DType of(ScalarType type) {
    // JavaCPP may return a fresh enum object from native code; intern() gives the canonical constant.
    ScalarType canonical = type.intern();
    for (DType d : values()) {
      if (d.scalarType == canonical) {
        return d;
      }
    }
    throw new IllegalArgumentException("libtorch scalar type " + type + " is not supported; supported: "
        + Arrays.toString(values()));
  }

  /** Parses a Python dtype name: {@code float32}, {@code torch.float}, {@code long}, {@code half}, ... */
  public static DType parse(String name) {
    String s = name.strip().toLowerCase(Locale.ROOT);
    if (s.startsWith("torch.")) {
      s = s.substring(6);
    }
    return switch (s) {
      case "float32", "float" -> FLOAT32;
      case "float64", "double" -> FLOAT64;
      case "float16", "half" -> FLOAT16;
      case "bfloat16" -> BFLOAT16;
      case "uint8" -> UINT8;
      case "int8" -> INT8;
      case "int16", "short" -> INT16;
      case "int32", "int" -> INT32;
      case "int64", "long" -> INT64;
      case "bool" -> BOOL;
      default -> throw new IllegalArgumentException("dtype '" + name + "' is not one of "
          + Arrays.stream(values()).map(DType::pythonName).toList());
    };
  }

  /** The dtype whose legacy storage class is {@code name} (e.g. {@code FloatStorage}). */
  public static Optional<DType> ofStorageClass(String name) {
    return Arrays.stream(values()).filter(d -> d.storageClass.equals(name)).findFirst();
  }

  /** The dtype with safetensors code {@code code} (e.g. {@code F32}). */
  public static Optional<DType> ofSafetensorsCode(String code) {
    return Arrays.stream(values()).filter(d -> d.safetensorsCode.equals(code)).findFirst();
  }
}
