package org.ssl4mis.io.nifti;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The NIfTI-1 voxel types this package reads and writes, with their header codes ({@code datatype}), sizes
 * ({@code bitpix}), numpy names and the Java array that holds them in a {@link NiftiImage}.
 *
 * <table>
 *   <caption>Java arrays</caption>
 *   <tr><th>type</th><th>array</th><th>values</th></tr>
 *   <tr><td>UINT8, INT8</td><td>{@code byte[]}</td><td>UINT8 unsigned: {@code b & 0xFF}</td></tr>
 *   <tr><td>INT16, UINT16</td><td>{@code short[]}</td><td>UINT16 unsigned: {@code s & 0xFFFF}</td></tr>
 *   <tr><td>INT32, UINT32</td><td>{@code int[]}</td><td>UINT32 unsigned: {@code i & 0xFFFFFFFFL}</td></tr>
 *   <tr><td>INT64</td><td>{@code long[]}</td><td></td></tr>
 *   <tr><td>FLOAT32</td><td>{@code float[]}</td><td></td></tr>
 *   <tr><td>FLOAT64</td><td>{@code double[]}</td><td></td></tr>
 * </table>
 *
 * <p>Refused (a {@link NiftiFormatException} naming the type): BINARY (1), COMPLEX64 (32), RGB24 (128),
 * UINT64 (1280), FLOAT128 (1536), COMPLEX128 (1792), COMPLEX256 (2048), RGBA32 (2304), and any code NIfTI-1
 * does not define.
 */
public enum NiftiDataType {
  UINT8(2, 1, "uint8"),
  INT8(256, 1, "int8"),
  INT16(4, 2, "int16"),
  UINT16(512, 2, "uint16"),
  INT32(8, 4, "int32"),
  UINT32(768, 4, "uint32"),
  INT64(1024, 8, "int64"),
  FLOAT32(16, 4, "float32"),
  FLOAT64(64, 8, "float64");

  private final int code;
  private final int byteSize;
  private final String numpyName;

  NiftiDataType(int code, int byteSize, String numpyName) {
    this.code = code;
    this.byteSize = byteSize;
    this.numpyName = numpyName;
  }

  /** The header's {@code datatype} code. */
  public int code() {
    return code;
  }

  /** Bytes per voxel. */
  public int byteSize() {
    return byteSize;
  }

  /** The header's {@code bitpix}. */
  public int bitpix() {
    return byteSize * 8;
  }

  /** The numpy dtype name nibabel reports ({@code img.get_data_dtype()}), e.g. {@code int16}. */
  public String numpyName() {
    return numpyName;
  }

  /** Whether the type is float32 or float64. */
  public boolean isFloatingPoint() {
    return this == FLOAT32 || this == FLOAT64;
  }

  /** Whether the Java array holds the values' bit patterns as signed numbers that must be read unsigned. */
  public boolean isUnsigned() {
    return this == UINT8 || this == UINT16 || this == UINT32;
  }

  /** The Java array class holding voxels of this type, e.g. {@code short[].class} for INT16 and UINT16. */
  public Class<?> arrayClass() {
    return switch (this) {
      case UINT8, INT8 -> byte[].class;
      case INT16, UINT16 -> short[].class;
      case INT32, UINT32 -> int[].class;
      case INT64 -> long[].class;
      case FLOAT32 -> float[].class;
      case FLOAT64 -> double[].class;
    };
  }

  /** The supported type with this header code. */
  public static Optional<NiftiDataType> fromCode(int code) {
    for (NiftiDataType t : values()) {
      if (t.code == code) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }

  /** Parses a numpy-style name ({@code uint8}, {@code float32}, ...), case-insensitive. */
  public static NiftiDataType parse(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT);
    for (NiftiDataType t : values()) {
      if (t.numpyName.equals(n) || t.name().toLowerCase(Locale.ROOT).equals(n)) {
        return t;
      }
    }
    throw new IllegalArgumentException("'" + name + "' is not a NIfTI voxel type this package writes; use one of "
        + Arrays.stream(values()).map(NiftiDataType::numpyName).collect(Collectors.joining(", ")));
  }

  /**
   * Why a header code is refused: the NIfTI-1 name of a defined but unsupported type, or that the code is not
   * defined at all.
   */
  static String describeUnsupported(int code) {
    String name = switch (code) {
      case 0 -> "UNKNOWN (code 0, no datatype given)";
      case 1 -> "BINARY (code 1)";
      case 32 -> "COMPLEX64 (code 32)";
      case 128 -> "RGB24 (code 128)";
      case 1280 -> "UINT64 (code 1280)";
      case 1536 -> "FLOAT128 (code 1536)";
      case 1792 -> "COMPLEX128 (code 1792)";
      case 2048 -> "COMPLEX256 (code 2048)";
      case 2304 -> "RGBA32 (code 2304)";
      default -> null;
    };
    String supported = Arrays.stream(values()).map(NiftiDataType::numpyName).collect(Collectors.joining(", "));
    return name == null
        ? "datatype code " + code + " is not a NIfTI-1 datatype (supported: " + supported + ")"
        : "datatype " + name + " is not supported (supported: " + supported + ")";
  }
}
