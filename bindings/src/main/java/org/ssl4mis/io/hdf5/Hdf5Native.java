package org.ssl4mis.io.hdf5;

import static org.bytedeco.hdf5.global.hdf5.*;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongToIntFunction;
import org.bytedeco.hdf5.H5E_error2_t;
import org.bytedeco.hdf5.H5E_walk2_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * The package's access to the HDF5 C library (through the JavaCPP presets): the global lock, error capture,
 * owned handles and the mapping between HDF5 element types and {@link StoredType}.
 *
 * <p>The HDF5 build of {@code org.bytedeco:hdf5} is not thread-safe ({@code H5is_library_threadsafe} says
 * false): no two threads may be inside the library at once, even on different files. Every native call of this
 * package therefore happens while holding {@link #LOCK}; only copying and converting already-read memory
 * happens outside it.
 */
final class Hdf5Native {
  private Hdf5Native() {}

  /** Held around every HDF5 call of the process made through this package. */
  static final ReentrantLock LOCK = new ReentrantLock();

  static final int FILTER_DEFLATE = 1;
  static final int FILTER_SHUFFLE = 2;
  static final int FILTER_FLETCHER32 = 3;
  static final int FILTER_SZIP = 4;
  static final int FILTER_NBIT = 5;
  static final int FILTER_SCALEOFFSET = 6;
  static final int FILTER_LZF = 32000;

  private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  // Guarded by LOCK.
  private static boolean initialised;
  private static H5E_walk2_t walker;
  private static final List<String[]> errorRecords = new ArrayList<>();

  /**
   * Takes the global lock, loading the library on first use and switching off HDF5's printing of error stacks
   * to stderr (this package reports them in exceptions instead).
   */
  static void lock() {
    NativeRuntime.requireHdf5();
    LOCK.lock();
    if (!initialised) {
      try {
        H5Eset_auto2(H5E_DEFAULT, null, null);
        walker = new Walker();
        initialised = true;
      } catch (RuntimeException | Error e) {
        LOCK.unlock();
        throw e;
      }
    }
  }

  static void unlock() {
    LOCK.unlock();
  }

  private static final class Walker extends H5E_walk2_t {
    @Override
    public int call(int n, H5E_error2_t err, Pointer clientData) {
      try {
        errorRecords.add(new String[] {
            string(err.func_name()), string(err.desc()), message(err.maj_num()), message(err.min_num())});
      } catch (RuntimeException e) {
        // Never let a Java exception unwind into HDF5.
      }
      return 0;
    }
  }

  private static String string(BytePointer p) {
    return p == null || p.isNull() ? "" : p.getString(StandardCharsets.UTF_8);
  }

  private static String message(long msgId) {
    byte[] buf = new byte[256];
    long len = H5Eget_msg(msgId, (int[]) null, buf, buf.length);
    return len <= 0 ? "" : new String(buf, 0, (int) Math.min(len, buf.length - 1), StandardCharsets.UTF_8);
  }

  /** What HDF5 said about the last failed call, from its error stack, which this clears. Call under the lock. */
  static HdfError lastError() {
    errorRecords.clear();
    long stack = H5Eget_current_stack();
    if (stack >= 0) {
      H5Ewalk2(stack, H5E_WALK_DOWNWARD, walker, null);
      H5Eclose_stack(stack);
    }
    List<String[]> records = List.copyOf(errorRecords);
    errorRecords.clear();
    return new HdfError(records);
  }

  /** The records of an HDF5 error stack, outermost (the API function called) first. */
  record HdfError(List<String[]> records) {
    /** True when some record's minor message (case-insensitive) contains {@code text}. */
    boolean mentions(String text) {
      String t = text.toLowerCase(java.util.Locale.ROOT);
      for (String[] r : records) {
        if (r[1].toLowerCase(java.util.Locale.ROOT).contains(t) || r[3].toLowerCase(java.util.Locale.ROOT).contains(t)) {
          return true;
        }
      }
      return false;
    }

    /** {@code "(HDF5: H5Fopen: <innermost description> [<minor message>])"}, or empty without records. */
    String detail() {
      if (records.isEmpty()) {
        return "";
      }
      String[] outer = records.getFirst();
      String[] inner = records.getLast();
      StringBuilder s = new StringBuilder(" (HDF5: ").append(outer[0]).append(": ");
      if (records.size() > 1 && !outer[1].equals(inner[1])) {
        s.append(outer[1]).append(": ");
      }
      s.append(inner[1]);
      if (!inner[3].isEmpty() && !inner[1].toLowerCase(java.util.Locale.ROOT)
          .contains(inner[3].toLowerCase(java.util.Locale.ROOT))) {
        s.append(" [").append(inner[3]).append(']');
      }
      return s.append(')').toString();
    }
  }

  /** An HDF5 identifier ({@code hid_t}) that closes itself, or a borrowed predefined one that does not. */
  static final class Hid implements AutoCloseable {
    final long id;
    private final LongToIntFunction closer;

    private Hid(long id, LongToIntFunction closer) {
      this.id = id;
      this.closer = closer;
    }

    static Hid owned(long id, LongToIntFunction closer) {
      return new Hid(id, closer);
    }

    static Hid borrowed(long id) {
      return new Hid(id, null);
    }

    @Override
    public void close() {
      if (closer != null && id >= 0) {
        closer.applyAsInt(id);
      }
    }
  }

  /** A JavaCPP pointer to the memory of a native segment, for HDF5 to read into or write from (no copy). */
  static final class SegmentPointer extends Pointer {
    SegmentPointer(MemorySegment segment) {
      if (!segment.isNative()) {
        throw new IllegalArgumentException("not a native segment");
      }
      address = segment.address();
      capacity = segment.byteSize();
      limit = capacity;
    }
  }

  /** A NUL-terminated UTF-8 string for HDF5. */
  static BytePointer cString(String s) {
    return new BytePointer(s, StandardCharsets.UTF_8);
  }

  /** How a dataset's element type reads: the stored type, or why it cannot be read, and its description. */
  record TypeInfo(StoredType stored, boolean isEnum, String description, String unsupported) {}

  /** Classifies an HDF5 datatype. Call under the lock. */
  static TypeInfo classify(long type) {
    int cls = H5Tget_class(type);
    long size = H5Tget_size(type);
    boolean bigEndian = H5Tget_order(type) == H5T_ORDER_BE;
    String order = bigEndian ? " (big-endian)" : "";
    if (cls == H5T_INTEGER) {
      boolean unsigned = H5Tget_sign(type) == H5T_SGN_NONE;
      StoredType st = switch ((int) size) {
        case 1 -> unsigned ? StoredType.U8 : StoredType.I8;
        case 2 -> unsigned ? StoredType.U16 : StoredType.I16;
        case 4 -> unsigned ? StoredType.U32 : StoredType.I32;
        case 8 -> unsigned ? StoredType.U64 : StoredType.I64;
        default -> null;
      };
      String name = (unsigned ? "uint" : "int") + size * 8;
      return st == null
          ? new TypeInfo(null, false, name, "integers of " + size + " bytes are not supported")
          : new TypeInfo(st, false, st.numpyName + (size > 1 ? order : ""), null);
    }
    if (cls == H5T_FLOAT) {
      StoredType st = switch ((int) size) {
        case 2 -> isHalf(type) ? StoredType.F16 : null;
        case 4 -> StoredType.F32;
        case 8 -> StoredType.F64;
        default -> null;
      };
      return st == null
          ? new TypeInfo(null, false, "float" + size * 8, "floating point of " + size + " bytes"
              + (size == 2 ? " other than IEEE half precision" : "") + " is not supported")
          : new TypeInfo(st, false, st.numpyName + order, null);
    }
    if (cls == H5T_ENUM) {
      long base = H5Tget_super(type);
      TypeInfo b;
      try {
        b = base < 0 ? new TypeInfo(null, true, "enum", "its base type is unreadable") : classify(base);
      } finally {
        if (base >= 0) {
          H5Tclose(base);
        }
      }
      if (b.stored() == null || b.stored().isFloat()) {
        return new TypeInfo(null, true, "enum of " + b.description(), "enumerations of " + b.description()
            + " are not supported");
      }
      if (isH5pyBool(type, size)) {
        return new TypeInfo(StoredType.BOOL, true, "bool", null);
      }
      return new TypeInfo(b.stored(), true, b.description() + " (enum)", null);
    }
    String what;
    if (cls == H5T_STRING) {
      boolean variable = H5Tis_variable_str(type) > 0;
      what = (variable ? "variable-length " : "fixed-length ")
          + (H5Tget_cset(type) == H5T_CSET_UTF8 ? "UTF-8" : "ASCII") + " string"
          + (variable ? "" : " of " + size + " bytes");
    } else if (cls == H5T_COMPOUND) {
      what = "compound " + memberNames(type);
    } else if (cls == H5T_BITFIELD) {
      what = "bitfield of " + size + " bytes";
    } else if (cls == H5T_OPAQUE) {
      what = "opaque of " + size + " bytes";
    } else if (cls == H5T_REFERENCE) {
      what = "reference";
    } else if (cls == H5T_VLEN) {
      what = "variable-length sequence";
    } else if (cls == H5T_ARRAY) {
      what = "array";
    } else if (cls == H5T_TIME) {
      what = "time";
    } else {
      what = "type class " + cls;
    }
    return new TypeInfo(null, false, what, "element type " + what + " is not supported (only numbers and bools)");
  }

  private static boolean isHalf(long type) {
    try (SizeTPointer spos = new SizeTPointer(1); SizeTPointer epos = new SizeTPointer(1);
        SizeTPointer esize = new SizeTPointer(1); SizeTPointer mpos = new SizeTPointer(1);
        SizeTPointer msize = new SizeTPointer(1)) {
      if (H5Tget_fields(type, spos, epos, esize, mpos, msize) < 0) {
        return false;
      }
      return spos.get() == 15 && epos.get() == 10 && esize.get() == 5 && mpos.get() == 0 && msize.get() == 10
          && H5Tget_ebias(type) == 15;
    }
  }

  /** h5py stores numpy bools as an enum of int8 with exactly FALSE = 0 and TRUE = 1. */
  private static boolean isH5pyBool(long type, long size) {
    if (size != 1 || H5Tget_nmembers(type) != 2) {
      return false;
    }
    String[] expected = {"FALSE", "TRUE"};
    boolean[] seen = new boolean[2];
    try (BytePointer value = new BytePointer(8)) {
      for (int i = 0; i < 2; i++) {
        BytePointer name = H5Tget_member_name(type, i);
        String n = string(name);
        if (name != null && !name.isNull()) {
          H5free_memory(name);
        }
        if (H5Tget_member_value(type, i, value) < 0) {
          return false;
        }
        int v = value.get(0);
        if ((v != 0 && v != 1) || seen[v] || !n.equals(expected[v])) {
          return false;
        }
        seen[v] = true;
      }
    }
    return true;
  }

  private static String memberNames(long type) {
    int n = H5Tget_nmembers(type);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < Math.min(n, 12); i++) {
      BytePointer name = H5Tget_member_name(type, i);
      names.add(string(name));
      if (name != null && !name.isNull()) {
        H5free_memory(name);
      }
    }
    if (n > 12) {
      names.add("... " + (n - 12) + " more");
    }
    return "{" + String.join(", ", names) + "}";
  }

  /**
   * The in-memory type HDF5 reads elements of {@code fileType} into, as {@code stored}: the native type of that
   * width, the native-order enumeration of an enumeration, or IEEE half precision.
   */
  static Hid memoryType(long fileType, TypeInfo info) {
    if (info.isEnum()) {
      // The native-order enumeration with the same members (HDF5 converts enums only to enums).
      return Hid.owned(H5Tget_native_type(fileType, H5T_DIR_ASCEND), org.bytedeco.hdf5.global.hdf5::H5Tclose);
    }
    return nativeType(info.stored());
  }

  /** The native in-memory type of a stored type (for writing: the enum or half type h5py uses). */
  static Hid nativeType(StoredType stored) {
    return switch (stored) {
      case BOOL -> h5pyBoolType();
      case U8 -> Hid.borrowed(H5T_NATIVE_UINT8_g());
      case I8 -> Hid.borrowed(H5T_NATIVE_INT8_g());
      case I16 -> Hid.borrowed(H5T_NATIVE_INT16_g());
      case U16 -> Hid.borrowed(H5T_NATIVE_UINT16_g());
      case I32 -> Hid.borrowed(H5T_NATIVE_INT32_g());
      case U32 -> Hid.borrowed(H5T_NATIVE_UINT32_g());
      case I64 -> Hid.borrowed(H5T_NATIVE_INT64_g());
      case U64 -> Hid.borrowed(H5T_NATIVE_UINT64_g());
      case F16 -> halfType(LITTLE_ENDIAN);
      case F32 -> Hid.borrowed(H5T_NATIVE_FLOAT_g());
      case F64 -> Hid.borrowed(H5T_NATIVE_DOUBLE_g());
    };
  }

  /** The little-endian file type h5py writes for a stored type on x86. */
  static Hid fileType(StoredType stored) {
    return switch (stored) {
      case BOOL -> h5pyBoolType();
      case U8 -> Hid.borrowed(H5T_STD_U8LE_g());
      case I8 -> Hid.borrowed(H5T_STD_I8LE_g());
      case I16 -> Hid.borrowed(H5T_STD_I16LE_g());
      case U16 -> Hid.borrowed(H5T_STD_U16LE_g());
      case I32 -> Hid.borrowed(H5T_STD_I32LE_g());
      case U32 -> Hid.borrowed(H5T_STD_U32LE_g());
      case I64 -> Hid.borrowed(H5T_STD_I64LE_g());
      case U64 -> Hid.borrowed(H5T_STD_U64LE_g());
      case F16 -> halfType(true);
      case F32 -> Hid.borrowed(H5T_IEEE_F32LE_g());
      case F64 -> Hid.borrowed(H5T_IEEE_F64LE_g());
    };
  }

  /** IEEE half precision, built as h5py builds it (a trimmed copy of IEEE single precision). */
  private static Hid halfType(boolean littleEndian) {
    long t = H5Tcopy(littleEndian ? H5T_IEEE_F32LE_g() : H5T_IEEE_F32BE_g());
    if (t < 0) {
      return Hid.owned(-1, null);
    }
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
      H5Tclose(t);
      return Hid.owned(-1, null);
    }
    return Hid.owned(t, org.bytedeco.hdf5.global.hdf5::H5Tclose);
  }

  /** numpy bool as h5py stores it: an enum of int8 with FALSE = 0 and TRUE = 1. */
  private static Hid h5pyBoolType() {
    long t = H5Tenum_create(H5T_NATIVE_INT8_g());
    if (t < 0) {
      return Hid.owned(-1, null);
    }
    try (BytePointer v = new BytePointer(1)) {
      v.put(0, (byte) 0);
      if (H5Tenum_insert(t, "FALSE", v) < 0) {
        H5Tclose(t);
        return Hid.owned(-1, null);
      }
      v.put(0, (byte) 1);
      if (H5Tenum_insert(t, "TRUE", v) < 0) {
        H5Tclose(t);
        return Hid.owned(-1, null);
      }
    }
    return Hid.owned(t, org.bytedeco.hdf5.global.hdf5::H5Tclose);
  }

  /** h5py's name of a filter id, or the name stored in the file, or {@code "filter <id>"}. */
  static String filterName(int id, String stored) {
    return switch (id) {
      case FILTER_DEFLATE -> "gzip";
      case FILTER_SHUFFLE -> "shuffle";
      case FILTER_FLETCHER32 -> "fletcher32";
      case FILTER_SZIP -> "szip";
      case FILTER_NBIT -> "nbit";
      case FILTER_SCALEOFFSET -> "scaleoffset";
      case FILTER_LZF -> "lzf";
      default -> stored == null || stored.isBlank() ? "filter " + id : stored;
    };
  }
}
