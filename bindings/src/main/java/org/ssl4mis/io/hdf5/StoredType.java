package org.ssl4mis.io.hdf5;

import org.ssl4mis.tensor.DType;

/**
 * The element types this package reads from files, as they lie in memory after HDF5 has read them (native
 * byte order, the stored width), and the {@link DType} each is returned as.
 */
enum StoredType {
  BOOL(1, DType.BOOL, "bool"),
  U8(1, DType.UINT8, "uint8"),
  I8(1, DType.INT8, "int8"),
  I16(2, DType.INT16, "int16"),
  U16(2, DType.INT32, "uint16"),
  I32(4, DType.INT32, "int32"),
  U32(4, DType.INT64, "uint32"),
  I64(8, DType.INT64, "int64"),
  U64(8, DType.INT64, "uint64"),
  F16(2, DType.FLOAT16, "float16"),
  F32(4, DType.FLOAT32, "float32"),
  F64(8, DType.FLOAT64, "float64");

  /** Bytes per element as read. */
  final int size;
  /** The dtype {@link Hdf5File#read} returns. */
  final DType readAs;
  /** numpy's name. */
  final String numpyName;

  StoredType(int size, DType readAs, String numpyName) {
    this.size = size;
    this.readAs = readAs;
    this.numpyName = numpyName;
  }

  boolean isFloat() {
    return this == F16 || this == F32 || this == F64;
  }

  /** True when the in-memory layout equals that of {@link #readAs} (no widening on read). */
  boolean sameLayoutAsReadAs() {
    return this != U16 && this != U32 && this != U64;
  }

  /** The stored type that holds {@code dtype} (for writing and for in-memory conversions). */
  static StoredType forDType(DType dtype) {
    return switch (dtype) {
      case BOOL -> BOOL;
      case UINT8 -> U8;
      case INT8 -> I8;
      case INT16 -> I16;
      case INT32 -> I32;
      case INT64 -> I64;
      case FLOAT16 -> F16;
      case FLOAT32 -> F32;
      case FLOAT64 -> F64;
      case BFLOAT16 -> throw new IllegalArgumentException("bfloat16 has no HDF5 (h5py) representation;"
          + " convert it to float32 first");
    };
  }
}
