package org.ssl4mis.io.hdf5;

import static org.bytedeco.hdf5.global.hdf5.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.Lock;
import org.bytedeco.hdf5.H5G_info_t;
import org.bytedeco.hdf5.H5L_info2_t;
import org.bytedeco.hdf5.H5O_info2_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.ssl4mis.io.hdf5.Hdf5Native.HdfError;
import org.ssl4mis.io.hdf5.Hdf5Native.Hid;
import org.ssl4mis.io.hdf5.Hdf5Native.SegmentPointer;
import org.ssl4mis.io.hdf5.Hdf5Native.TypeInfo;
import org.ssl4mis.tensor.DType;

/**
 * An open HDF5 file: reads and writes whole numeric datasets such as the {@code image}, {@code label} and
 * {@code scribble} arrays of the SSL4MIS data files (ACDC slices and volumes, LA {@code mri_norm2.h5}, BraTS),
 * with what h5py's {@code f[name][:]} and {@code f.create_dataset(name, data=..., compression="gzip")} do.
 *
 * <pre>{@code
 * try (Hdf5File f = Hdf5File.openRead(Path.of("data/slices/patient001_frame01_slice_1.h5"))) {
 *   DatasetInfo info = f.info("image");          // shape [256, 216], float32, ...
 *   float[] image = f.readFloats("image");       // any numeric type, converted as numpy's astype(float32)
 *   byte[] label = f.readBytes("label");         // uint8 class indices
 * }
 * try (Hdf5File f = Hdf5File.create(out)) {
 *   f.write("image", image, new long[] {256, 216}, WriteOptions.gzip());
 *   f.write("label", label, new long[] {256, 216}, DType.UINT8, WriteOptions.gzip());
 * }
 * }</pre>
 *
 * <p><b>Element types.</b> Reads {@code float16/32/64}, {@code int8/16/32/64}, {@code uint8/16/32/64} and
 * h5py's {@code bool} (any byte order; enumerations as their integer values); {@link #read} returns them as
 * {@link DatasetInfo#dtype()} says ({@code uint16} widened to int32, {@code uint32}/{@code uint64} to int64).
 * Strings, compounds and other types give an {@link Hdf5Exception} naming the type. Writes every
 * {@link DType} but bfloat16, with the file types h5py uses (bool as h5py's enum, so h5py reads numpy bools).
 *
 * <p><b>Limits.</b> A read that would take more than {@link #maxReadBytes()} bytes (default
 * {@link #DEFAULT_MAX_READ_BYTES}, or the system property {@value #MAX_READ_BYTES_PROPERTY}) or, into a Java
 * array, more than {@link #MAX_ARRAY_LENGTH} elements fails with an {@link Hdf5Exception} before allocating
 * anything, so a corrupt or hostile file cannot make the reader allocate what its header claims.
 *
 * <p><b>Threads.</b> The HDF5 library of {@code org.bytedeco:hdf5} is built without thread safety, so every
 * call into it, from every {@code Hdf5File} of the process, is serialised on one global lock
 * ({@link #nativeLock()}). Any thread may use any {@code Hdf5File}, also concurrently (data-loader workers
 * sharing one file is fine); reads of different files from different threads are safe but do not decompress
 * in parallel. Converting the read elements to the requested Java type happens outside the lock.
 *
 * <p><b>Errors.</b> HDF5's own printing of error stacks to stderr is switched off; every failure becomes an
 * {@link Hdf5Exception} naming the file, the dataset and the problem, with HDF5's account appended.
 * Programming errors (a wrong shape for the data, a closed file) throw the usual unchecked exceptions.
 *
 * <p>Every native handle is closed before a method returns; {@link #close()} closes the file itself. The first
 * use loads the HDF5 natives through {@code NativeRuntime.requireHdf5()}, which throws its unchecked
 * {@code NativeRuntimeException} when they cannot load.
 */
public final class Hdf5File implements AutoCloseable {

  /** The most elements a read into a Java array may have (the largest array the JVM reliably allocates). */
  public static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

  /** System property with the default read limit in bytes (suffixes k, m, g allowed, e.g. {@code 8g}). */
  public static final String MAX_READ_BYTES_PROPERTY = "ssl4mis.hdf5.maxReadBytes";

  /** The default limit on the bytes one read may take: 4 GiB (a BraTS volume is about 35 MB). */
  public static final long DEFAULT_MAX_READ_BYTES = 4L << 30;

  private static final int MAX_GROUP_DEPTH = 64;
  private static final int MAX_OBJECTS = 1_000_000;
  private static final int NAMES_SHOWN = 50;

  private final Path path;
  private final boolean writable;
  private final long maxReadBytes;
  /** Guarded by {@link Hdf5Native#LOCK}; -1 once closed. */
  private long fileId;

  private Hdf5File(Path path, boolean writable, long maxReadBytes, long fileId) {
    this.path = path;
    this.writable = writable;
    this.maxReadBytes = maxReadBytes;
    this.fileId = fileId;
  }

  // ---------------------------------------------------------------- opening and closing

  /** Opens an existing file for reading (h5py mode {@code "r"}) with the default read limit. */
  public static Hdf5File openRead(Path path) throws Hdf5Exception {
    return openRead(path, defaultMaxReadBytes());
  }

  /**
   * Opens an existing file for reading with a read limit.
   *
   * @param maxReadBytes the most bytes one read may take; larger datasets fail with an {@link Hdf5Exception}
   */
  public static Hdf5File openRead(Path path, long maxReadBytes) throws Hdf5Exception {
    return open(path, false, maxReadBytes);
  }

  /** Opens an existing file for reading and adding datasets (h5py mode {@code "r+"}). */
  public static Hdf5File openReadWrite(Path path) throws Hdf5Exception {
    return open(path, true, defaultMaxReadBytes());
  }

  /** Creates a file, replacing any file of that name (h5py mode {@code "w"}). */
  public static Hdf5File create(Path path) throws Hdf5Exception {
    return create(path, false);
  }

  /** Creates a file that must not exist yet (h5py mode {@code "x"}). */
  public static Hdf5File createNew(Path path) throws Hdf5Exception {
    return create(path, true);
  }

  /** The lock every HDF5 call of this package holds; take it around any other direct use of the HDF5 natives. */
  public static Lock nativeLock() {
    return Hdf5Native.LOCK;
  }

  /** The read limit of files opened without one: the system property {@value #MAX_READ_BYTES_PROPERTY} or 4 GiB. */
  public static long defaultMaxReadBytes() {
    return org.ssl4mis.io.AtomicFile.byteSizeProperty(MAX_READ_BYTES_PROPERTY, DEFAULT_MAX_READ_BYTES);
  }

  private static Hdf5File open(Path path, boolean writable, long maxReadBytes) throws Hdf5Exception {
    Objects.requireNonNull(path, "path");
    if (maxReadBytes < 1) {
      throw new IllegalArgumentException("maxReadBytes must be positive, got " + maxReadBytes);
    }
    if (!Files.exists(path)) {
      throw new Hdf5Exception(path, null, "no such file");
    }
    if (!Files.isRegularFile(path)) {
      throw new Hdf5Exception(path, null, "not a regular file");
    }
    if (!Files.isReadable(path)) {
      throw new Hdf5Exception(path, null, "not readable (permission denied)");
    }
    Hdf5Native.lock();
    try {
      long id;
      try (BytePointer name = Hdf5Native.cString(path.toString())) {
        id = H5Fopen(name, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
      }
      if (id < 0) {
        HdfError e = Hdf5Native.lastError();
        String reason = e.mentions("file signature not found") ? "not an HDF5 file"
            : e.mentions("truncated") ? "truncated HDF5 file"
            : e.mentions("already open") ? "cannot open: the file is already open in another mode"
            : "cannot open as HDF5 (corrupt or unreadable)";
        throw new Hdf5Exception(path, null, reason + e.detail());
      }
      return new Hdf5File(path, writable, maxReadBytes, id);
    } finally {
      Hdf5Native.unlock();
    }
  }

  private static Hdf5File create(Path path, boolean exclusive) throws Hdf5Exception {
    Objects.requireNonNull(path, "path");
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      throw new Hdf5Exception(path, null, "cannot create: directory " + parent + " does not exist");
    }
    if (exclusive && Files.exists(path)) {
      throw new Hdf5Exception(path, null, "cannot create: the file already exists");
    }
    Hdf5Native.lock();
    try {
      long id;
      try (BytePointer name = Hdf5Native.cString(path.toString())) {
        id = H5Fcreate(name, exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
      }
      if (id < 0) {
        throw new Hdf5Exception(path, null, "cannot create the file" + Hdf5Native.lastError().detail());
      }
      return new Hdf5File(path, true, defaultMaxReadBytes(), id);
    } finally {
      Hdf5Native.unlock();
    }
  }

  /**
   * Closes the file, flushing what was written. Idempotent.
   *
   * @throws Hdf5Exception when HDF5 cannot flush and close it (written data may then be incomplete)
   */
  @Override
  public void close() throws Hdf5Exception {
    Hdf5Native.lock();
    try {
      if (fileId < 0) {
        return;
      }
      long id = fileId;
      fileId = -1;
      if (H5Fclose(id) < 0) {
        throw new Hdf5Exception(path, null, "closing the file failed" + Hdf5Native.lastError().detail());
      }
    } finally {
      Hdf5Native.unlock();
    }
  }

  /** The file's path, as given when it was opened. */
  public Path path() {
    return path;
  }

  /** True when datasets can be written (opened by {@link #create} or {@link #openReadWrite}). */
  public boolean isWritable() {
    return writable;
  }

  /** The most bytes one read may take. */
  public long maxReadBytes() {
    return maxReadBytes;
  }

  /** True until {@link #close()}. */
  public boolean isOpen() {
    Hdf5Native.LOCK.lock();
    try {
      return fileId >= 0;
    } finally {
      Hdf5Native.LOCK.unlock();
    }
  }

  @Override
  public String toString() {
    return "Hdf5File[" + path + (writable ? ", writable" : ", read-only") + (isOpen() ? "" : ", closed") + "]";
  }

  /** The open file id. Call under the lock. */
  private long id() {
    if (fileId < 0) {
      throw new IllegalStateException(path + " is closed");
    }
    return fileId;
  }

  // ---------------------------------------------------------------- listing

  /**
   * The paths of all datasets in the file, depth first, each group's members in name order, without a
   * leading {@code /} (e.g. {@code [image, label]}, or {@code [g/x, image]} with a group {@code g}). Each object
   * is listed once, under the first hard link found; soft and external links are not followed.
   */
  public List<String> datasetNames() throws Hdf5Exception {
    Hdf5Native.lock();
    try {
      List<String> out = new ArrayList<>();
      visit("", 0, out, new HashSet<>());
      return List.copyOf(out);
    } finally {
      Hdf5Native.unlock();
    }
  }

  private void visit(String group, int depth, List<String> out, Set<String> seen) throws Hdf5Exception {
    String g = group.isEmpty() ? "." : group;
    long n;
    try (H5G_info_t gi = new H5G_info_t(); BytePointer gp = Hdf5Native.cString(g)) {
      if (H5Gget_info_by_name(id(), gp, gi, H5P_DEFAULT) < 0) {
        throw fail(null, "cannot list group /" + group);
      }
      n = gi.nlinks();
    }
    for (long i = 0; i < n; i++) {
      String link;
      try (BytePointer gp = Hdf5Native.cString(g)) {
        long len = H5Lget_name_by_idx(id(), gp, H5_INDEX_NAME, H5_ITER_INC, i, (byte[]) null, 0, H5P_DEFAULT);
        if (len < 0 || len > 1 << 16) {
          throw fail(null, "cannot read the name of link " + i + " of group /" + group);
        }
        byte[] buf = new byte[(int) len + 1];
        if (H5Lget_name_by_idx(id(), gp, H5_INDEX_NAME, H5_ITER_INC, i, buf, buf.length, H5P_DEFAULT) < 0) {
          throw fail(null, "cannot read the name of link " + i + " of group /" + group);
        }
        link = new String(buf, 0, (int) len, StandardCharsets.UTF_8);
      }
      String full = group.isEmpty() ? link : group + "/" + link;
      try (BytePointer fp = Hdf5Native.cString(full); H5L_info2_t li = new H5L_info2_t();
          H5O_info2_t oi = new H5O_info2_t()) {
        if (H5Lget_info2(id(), fp, li, H5P_DEFAULT) < 0) {
          throw fail(full, "cannot read the link");
        }
        if (li.type() != H5L_TYPE_HARD) {
          continue;
        }
        if (H5Oget_info_by_name3(id(), fp, oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
          throw fail(full, "cannot read the object header");
        }
        StringBuilder token = new StringBuilder(32);
        for (int b = 0; b < 16; b++) {
          token.append(Integer.toHexString(oi.token().__data(b) & 0xFF)).append('.');
        }
        if (!seen.add(token.toString())) {
          continue;
        }
        if (seen.size() > MAX_OBJECTS) {
          throw new Hdf5Exception(path, null, "has more than " + MAX_OBJECTS + " objects; not listing them");
        }
        if (oi.type() == H5O_TYPE_DATASET) {
          out.add(full);
        } else if (oi.type() == H5O_TYPE_GROUP) {
          if (depth >= MAX_GROUP_DEPTH) {
            throw new Hdf5Exception(path, null, "groups nest deeper than " + MAX_GROUP_DEPTH + " at /" + full);
          }
          visit(full, depth + 1, out, seen);
        }
      }
    }
  }

  /** True when {@code name} (a path such as {@code image} or {@code g/x}) is a dataset of the file. */
  public boolean has(String name) throws Hdf5Exception {
    String n = checkName(name);
    Hdf5Native.lock();
    try {
      return lookUp(n).kind() == Kind.DATASET;
    } finally {
      Hdf5Native.unlock();
    }
  }

  private enum Kind { MISSING, DATASET, GROUP, OTHER, UNRESOLVED }

  private record Found(Kind kind, String detail) {}

  /** What {@code name} is. Call under the lock. */
  private Found lookUp(String name) {
    long f = id();
    String[] parts = name.split("/");
    StringBuilder prefix = new StringBuilder();
    for (String part : parts) {
      if (!prefix.isEmpty()) {
        prefix.append('/');
      }
      prefix.append(part);
      try (BytePointer p = Hdf5Native.cString(prefix.toString())) {
        int r = H5Lexists(f, p, H5P_DEFAULT);
        if (r < 0) {
          return new Found(Kind.MISSING, Hdf5Native.lastError().detail());
        }
        if (r == 0) {
          return new Found(Kind.MISSING, "");
        }
      }
    }
    try (BytePointer p = Hdf5Native.cString(name); H5O_info2_t oi = new H5O_info2_t()) {
      if (H5Oget_info_by_name3(f, p, oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        return new Found(Kind.UNRESOLVED, Hdf5Native.lastError().detail());
      }
      int t = oi.type();
      return new Found(t == H5O_TYPE_DATASET ? Kind.DATASET : t == H5O_TYPE_GROUP ? Kind.GROUP : Kind.OTHER, "");
    }
  }

  /** Opens dataset {@code name}, or explains what is there instead. Call under the lock. */
  private Hid openDataset(String name) throws Hdf5Exception {
    Found found = lookUp(name);
    if (found.kind() != Kind.DATASET) {
      String what = switch (found.kind()) {
        case MISSING -> "no such dataset";
        case GROUP -> "is a group, not a dataset";
        case OTHER -> "is not a dataset (a named datatype or other object)";
        case UNRESOLVED -> "is a link that does not resolve";
        case DATASET -> throw new AssertionError();
      };
      throw new Hdf5Exception(path, name, what + "; the file has " + describeDatasets() + found.detail());
    }
    long d;
    try (BytePointer p = Hdf5Native.cString(name)) {
      d = H5Dopen2(id(), p, H5P_DEFAULT);
    }
    if (d < 0) {
      throw fail(name, "cannot open the dataset");
    }
    return Hid.owned(d, org.bytedeco.hdf5.global.hdf5::H5Dclose);
  }

  private String describeDatasets() {
    try {
      List<String> out = new ArrayList<>();
      visit("", 0, out, new HashSet<>());
      if (out.isEmpty()) {
        return "no datasets";
      }
      String shown = String.join(", ", out.subList(0, Math.min(out.size(), NAMES_SHOWN)));
      return "datasets [" + shown + (out.size() > NAMES_SHOWN ? ", ... " + (out.size() - NAMES_SHOWN) + " more" : "")
          + "]";
    } catch (Hdf5Exception | RuntimeException e) {
      return "datasets that could not be listed (" + e.getMessage() + ")";
    }
  }

  // ---------------------------------------------------------------- metadata

  /** Shape, element count and element type of an open dataset. */
  private record Meta(long[] shape, long numel, TypeInfo type) {}

  /** Reads shape and type of dataset {@code d} whose type is {@code t}. Call under the lock. */
  private Meta meta(String name, long d, long t) throws Hdf5Exception {
    long[] shape;
    try (Hid space = Hid.owned(H5Dget_space(d), org.bytedeco.hdf5.global.hdf5::H5Sclose)) {
      if (space.id < 0) {
        throw fail(name, "cannot read the dataspace");
      }
      int kind = H5Sget_simple_extent_type(space.id);
      if (kind == H5S_NULL) {
        throw new Hdf5Exception(path, name, "has no data (a null dataspace, h5py.Empty)");
      } else if (kind == H5S_SCALAR) {
        shape = new long[0];
      } else if (kind == H5S_SIMPLE) {
        int rank = H5Sget_simple_extent_ndims(space.id);
        if (rank < 0 || rank > 32) {
          throw fail(name, "cannot read the rank");
        }
        shape = new long[rank];
        if (rank > 0 && H5Sget_simple_extent_dims(space.id, shape, (long[]) null) < 0) {
          throw fail(name, "cannot read the shape");
        }
      } else {
        throw fail(name, "has an unknown dataspace kind " + kind);
      }
    }
    long numel = 1;
    for (long s : shape) {
      if (s < 0) {
        throw new Hdf5Exception(path, name, "declares an impossible shape " + Arrays.toString(shape));
      }
      try {
        numel = Math.multiplyExact(numel, s);
      } catch (ArithmeticException e) {
        throw new Hdf5Exception(path, name, "declares an impossible shape " + Arrays.toString(shape) + " (more than "
            + "2^63 elements)");
      }
    }
    return new Meta(shape, numel, Hdf5Native.classify(t));
  }

  /**
   * Shape, element types, layout, chunks and filters of dataset {@code name}, from the file's metadata (no data
   * is read).
   *
   * @throws Hdf5Exception when there is no such dataset (the message lists those there are), or its element
   *     type is not supported (the message names it)
   */
  public DatasetInfo info(String name) throws Hdf5Exception {
    String n = checkName(name);
    Hdf5Native.lock();
    try (Hid d = openDataset(n); Hid t = ownedType(n, H5Dget_type(d.id))) {
      Meta m = meta(n, d.id, t.id);
      if (m.type().stored() == null) {
        throw new Hdf5Exception(path, n, m.type().unsupported());
      }
      try (Hid dcpl = Hid.owned(H5Dget_create_plist(d.id), org.bytedeco.hdf5.global.hdf5::H5Pclose)) {
        if (dcpl.id < 0) {
          throw fail(n, "cannot read the creation properties");
        }
        int l = H5Pget_layout(dcpl.id);
        DatasetInfo.Layout layout = l == H5D_CHUNKED ? DatasetInfo.Layout.CHUNKED
            : l == H5D_COMPACT ? DatasetInfo.Layout.COMPACT
            : l == H5D_VIRTUAL ? DatasetInfo.Layout.VIRTUAL : DatasetInfo.Layout.CONTIGUOUS;
        long[] chunks = new long[0];
        if (layout == DatasetInfo.Layout.CHUNKED) {
          chunks = new long[Math.max(1, m.shape().length)];
          int rank = H5Pget_chunk(dcpl.id, chunks.length, chunks);
          if (rank < 0) {
            throw fail(n, "cannot read the chunk shape");
          }
          chunks = Arrays.copyOf(chunks, Math.min(rank, chunks.length));
        }
        return new DatasetInfo(n, m.shape(), m.type().stored().readAs, m.type().description(), layout, chunks,
            filters(n, dcpl.id), H5Dget_storage_size(d.id));
      }
    } finally {
      Hdf5Native.unlock();
    }
  }

  private Hid ownedType(String name, long t) throws Hdf5Exception {
    if (t < 0) {
      throw fail(name, "cannot read the element type");
    }
    return Hid.owned(t, org.bytedeco.hdf5.global.hdf5::H5Tclose);
  }

  /** The filter pipeline of a dataset creation property list. Call under the lock. */
  private List<DatasetInfo.Filter> filters(String name, long dcpl) throws Hdf5Exception {
    int nf = H5Pget_nfilters(dcpl);
    if (nf < 0) {
      throw fail(name, "cannot read the filter pipeline");
    }
    List<DatasetInfo.Filter> out = new ArrayList<>();
    for (int i = 0; i < nf; i++) {
      int[] flags = new int[1];
      int[] values = new int[16];
      byte[] nameBuf = new byte[256];
      int[] config = new int[1];
      int id;
      long count;
      try (SizeTPointer nValues = new SizeTPointer(1)) {
        nValues.put(values.length);
        id = H5Pget_filter2(dcpl, i, flags, nValues, values, nameBuf.length, nameBuf, config);
        count = nValues.get();
      }
      if (id < 0) {
        throw fail(name, "cannot read filter " + i);
      }
      int len = 0;
      while (len < nameBuf.length && nameBuf[len] != 0) {
        len++;
      }
      String stored = new String(nameBuf, 0, len, StandardCharsets.UTF_8);
      out.add(new DatasetInfo.Filter(id, Hdf5Native.filterName(id, stored),
          Arrays.copyOf(values, (int) Math.min(count, values.length))));
    }
    return out;
  }

  /** Fails when a filter of dataset {@code d} is missing from this HDF5 build. Call under the lock. */
  private void checkFilters(String name, long d) throws Hdf5Exception {
    try (Hid dcpl = Hid.owned(H5Dget_create_plist(d), org.bytedeco.hdf5.global.hdf5::H5Pclose)) {
      if (dcpl.id < 0) {
        throw fail(name, "cannot read the creation properties");
      }
      for (DatasetInfo.Filter f : filters(name, dcpl.id)) {
        if (H5Zfilter_avail(f.id()) <= 0) {
          Hdf5Native.lastError();
          throw new Hdf5Exception(path, name, "is stored with the " + f.name() + " filter (HDF5 filter id " + f.id()
              + "), which this HDF5 library (org.bytedeco:hdf5) does not provide; rewrite the file with gzip"
              + " (e.g. h5py create_dataset(..., compression=\"gzip\"))");
        }
      }
    }
  }

  // ---------------------------------------------------------------- reading

  /** Chooses the element type a read delivers, given what the file stores. */
  @FunctionalInterface
  private interface Target {
    DType of(StoredType stored);
  }

  /** What a read took from the file: the raw elements as {@code stored} and the type to deliver. */
  private record Raw(long[] shape, long numel, StoredType stored, DType target, MemorySegment data) {}

  /**
   * Reads dataset {@code name} whole into native memory of {@code arena}, or directly into {@code direct} when
   * that is given and needs no conversion (then {@code data} is null).
   */
  private Raw readRaw(String name, Arena arena, Target target, boolean intoJavaArray, MemorySegment direct)
      throws Hdf5Exception {
    Hdf5Native.lock();
    try (Hid d = openDataset(name); Hid t = ownedType(name, H5Dget_type(d.id))) {
      Meta m = meta(name, d.id, t.id);
      StoredType stored = m.type().stored();
      if (stored == null) {
        throw new Hdf5Exception(path, name, m.type().unsupported());
      }
      DType to = target.of(stored);
      if (!Convert.supported(stored, to)) {
        throw new Hdf5Exception(path, name, "holds " + m.type().description() + ", which cannot be read as "
            + to.pythonName());
      }
      String what = "shape " + Arrays.toString(m.shape()) + ", " + m.type().description();
      if (intoJavaArray && m.numel() > MAX_ARRAY_LENGTH) {
        throw new Hdf5Exception(path, name, "has " + m.numel() + " elements (" + what + "), more than a Java array "
            + "holds (" + MAX_ARRAY_LENGTH + "); read it into a MemorySegment with readInto");
      }
      if (direct != null && direct.byteSize() < satMul(m.numel(), to.byteSize())) {
        throw new IllegalArgumentException(path + ": dataset '" + name + "' (" + what + ") needs "
            + satMul(m.numel(), to.byteSize()) + " bytes as " + to.pythonName() + ", but the segment has "
            + direct.byteSize());
      }
      boolean zeroCopy = direct != null && direct.isNative() && stored.sameLayoutAsReadAs() && stored.readAs == to;
      long rawBytes = satMul(m.numel(), stored.size);
      if (!zeroCopy && rawBytes > maxReadBytes) {
        throw new Hdf5Exception(path, name, "is " + rawBytes + " bytes (" + what + "), more than the read limit of "
            + maxReadBytes + " bytes; raise it with Hdf5File.openRead(path, maxReadBytes) or -D"
            + MAX_READ_BYTES_PROPERTY);
      }
      checkFilters(name, d.id);
      MemorySegment buffer = zeroCopy ? direct : arena.allocate(Math.max(rawBytes, 1), 8);
      if (m.numel() > 0) {
        try (Hid mem = Hdf5Native.memoryType(t.id, m.type())) {
          if (mem.id < 0) {
            throw fail(name, "cannot make the in-memory type for " + m.type().description());
          }
          if (H5Dread(d.id, mem.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, new SegmentPointer(buffer)) < 0) {
            HdfError e = Hdf5Native.lastError();
            throw new Hdf5Exception(path, name, "reading the data failed (truncated or corrupt file?)" + e.detail());
          }
        }
      }
      return new Raw(m.shape(), m.numel(), stored, to, zeroCopy ? null : buffer);
    } finally {
      Hdf5Native.unlock();
    }
  }

  private static long satMul(long a, long b) {
    long hi = Math.multiplyHigh(a, b);
    long lo = a * b;
    return hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
  }

  /** Reads and converts into a new Java array. */
  private Hdf5Array readArray(String name, Target target) throws Hdf5Exception {
    String n = checkName(name);
    try (Arena arena = Arena.ofConfined()) {
      Raw raw = readRaw(n, arena, target, true, null);
      Hdf5Array out = Hdf5Array.zeros(raw.target(), raw.shape());
      convert(n, raw, out.segment());
      return out;
    }
  }

  private void convert(String name, Raw raw, MemorySegment dst) throws Hdf5Exception {
    try {
      Convert.convert(raw.data(), raw.stored(), dst, raw.target(), raw.numel());
    } catch (Convert.OutOfRange e) {
      throw new Hdf5Exception(path, name, "holds " + raw.stored().numpyName + " values that do not fit "
          + raw.target().pythonName() + ": " + e.getMessage());
    }
  }

  /**
   * Reads dataset {@code name} whole, as {@link DatasetInfo#dtype()} says: the stored type, with unsigned
   * 16-, 32- and 64-bit integers widened to int32, int64 and int64 (a uint64 value above 2^63 - 1 fails).
   */
  public Hdf5Array read(String name) throws Hdf5Exception {
    return readArray(name, stored -> stored.readAs);
  }

  /**
   * Reads dataset {@code name} converted to {@code dtype} (any but bfloat16, and float16 only from float16):
   * to floating point as numpy's {@code astype}; to integers exactly, with floating-point values truncated
   * toward zero; a value that does not fit {@code dtype} (or NaN to an integer) fails rather than wrapping.
   */
  public Hdf5Array read(String name, DType dtype) throws Hdf5Exception {
    Objects.requireNonNull(dtype, "dtype");
    return readArray(name, stored -> dtype);
  }

  /** Reads any numeric dataset as {@code float}s, as numpy's {@code astype(np.float32)} (C order). */
  public float[] readFloats(String name) throws Hdf5Exception {
    return readArray(name, stored -> DType.FLOAT32).floats();
  }

  /** Reads any numeric dataset as {@code double}s, as numpy's {@code astype(np.float64)} (C order). */
  public double[] readDoubles(String name) throws Hdf5Exception {
    return readArray(name, stored -> DType.FLOAT64).doubles();
  }

  /**
   * Reads a label map as bytes: uint8 (and bool, and int8 as its raw values) as stored; other integer and
   * floating-point types converted to uint8, failing if a value is outside 0..255 (see {@link #read(String,
   * DType)}). Read the result with {@code b & 0xFF}.
   */
  public byte[] readBytes(String name) throws Hdf5Exception {
    return readArray(name, stored -> switch (stored) {
      case I8 -> DType.INT8;
      case BOOL -> DType.BOOL;
      default -> DType.UINT8;
    }).bytes();
  }

  /** Reads any numeric dataset as {@code int}s (see {@link #read(String, DType)} for the conversion). */
  public int[] readInts(String name) throws Hdf5Exception {
    return readArray(name, stored -> DType.INT32).ints();
  }

  /** Reads any numeric dataset as {@code long}s (see {@link #read(String, DType)} for the conversion). */
  public long[] readLongs(String name) throws Hdf5Exception {
    return readArray(name, stored -> DType.INT64).longs();
  }

  /**
   * Reads dataset {@code name} whole into {@code dst} as {@link DatasetInfo#dtype()}, in C order and native
   * byte order. When {@code dst} is native memory and the stored type needs no widening, HDF5 reads (and
   * decompresses) straight into it, with no copy and no temporary buffer; the read limit does not apply then,
   * as nothing is allocated (the size of {@code dst} bounds the read).
   *
   * @return the number of elements read
   * @throws IllegalArgumentException when {@code dst} is read-only or smaller than the data
   */
  public long readInto(String name, MemorySegment dst) throws Hdf5Exception {
    return readInto(name, dst, null);
  }

  /**
   * Reads dataset {@code name} whole into {@code dst} converted to {@code dtype} (null: as
   * {@link DatasetInfo#dtype()}), in C order and native byte order; conversions as {@link #read(String, DType)}.
   * Without conversion into native memory, HDF5 reads straight into {@code dst}.
   *
   * @return the number of elements read
   * @throws IllegalArgumentException when {@code dst} is read-only or smaller than the data
   */
  public long readInto(String name, MemorySegment dst, DType dtype) throws Hdf5Exception {
    String n = checkName(name);
    Objects.requireNonNull(dst, "dst");
    if (dst.isReadOnly()) {
      throw new IllegalArgumentException("the destination segment is read-only");
    }
    try (Arena arena = Arena.ofConfined()) {
      Raw raw = readRaw(n, arena, stored -> dtype == null ? stored.readAs : dtype, false, dst);
      if (raw.data() != null) {
        convert(n, raw, dst);
      }
      return raw.numel();
    }
  }

  // ---------------------------------------------------------------- writing

  /** Writes a float32 dataset, contiguous and uncompressed. */
  public void write(String name, float[] data, long[] shape) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, shape), WriteOptions.DEFAULT);
  }

  /** Writes a float32 dataset. */
  public void write(String name, float[] data, long[] shape, WriteOptions options) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, shape), options);
  }

  /** Writes a float64 dataset. */
  public void write(String name, double[] data, long[] shape, WriteOptions options) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, shape), options);
  }

  /** Writes a uint8, int8 or bool dataset ({@code dtype}), contiguous and uncompressed. */
  public void write(String name, byte[] data, long[] shape, DType dtype) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, dtype, shape), WriteOptions.DEFAULT);
  }

  /** Writes a uint8, int8 or bool dataset ({@code dtype}; for bool, any non-zero byte is true). */
  public void write(String name, byte[] data, long[] shape, DType dtype, WriteOptions options) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, dtype, shape), options);
  }

  /** Writes an int16 or float16 dataset ({@code dtype}; float16 as IEEE half bit patterns). */
  public void write(String name, short[] data, long[] shape, DType dtype, WriteOptions options)
      throws Hdf5Exception {
    write(name, Hdf5Array.of(data, dtype, shape), options);
  }

  /** Writes an int32 dataset. */
  public void write(String name, int[] data, long[] shape, WriteOptions options) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, shape), options);
  }

  /** Writes an int64 dataset. */
  public void write(String name, long[] data, long[] shape, WriteOptions options) throws Hdf5Exception {
    write(name, Hdf5Array.of(data, shape), options);
  }

  /** Writes an array as a new dataset, contiguous and uncompressed. */
  public void write(String name, Hdf5Array array) throws Hdf5Exception {
    write(name, array, WriteOptions.DEFAULT);
  }

  /**
   * Writes an array as a new dataset {@code name}; a path such as {@code g/x} creates the groups on the way.
   *
   * @throws Hdf5Exception when the name exists already, or HDF5 fails
   * @throws IllegalArgumentException when the options do not suit the data (e.g. chunking a scalar)
   * @throws IllegalStateException when the file is read-only or closed
   */
  public void write(String name, Hdf5Array array, WriteOptions options) throws Hdf5Exception {
    Objects.requireNonNull(array, "array");
    write(name, array.segment(), array.dtype(), array.shape(), options);
  }

  /**
   * Writes {@code shape}'s elements of {@code dtype} from {@code data} (C order, native byte order) as a new
   * dataset. Native memory of a type other than bool is handed to HDF5 as it is, without a copy.
   *
   * @throws IllegalArgumentException when {@code data} is smaller than the shape needs, {@code dtype} is bfloat16,
   *     or the options do not suit the data
   */
  public void write(String name, MemorySegment data, DType dtype, long[] shape, WriteOptions options)
      throws Hdf5Exception {
    String n = checkName(name);
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(options, "options");
    StoredType stored = StoredType.forDType(Objects.requireNonNull(dtype, "dtype"));
    long[] dims = shape.clone();
    long numel = Hdf5Array.numel(dims);
    long bytes = satMul(numel, stored.size);
    if (data.byteSize() < bytes) {
      throw new IllegalArgumentException("dataset '" + n + "' of shape " + Arrays.toString(dims) + " needs " + bytes
          + " bytes of " + dtype.pythonName() + " but the data has " + data.byteSize());
    }
    long[] chunks = options.resolveChunks(dims, stored.size);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment src = data;
      if (!data.isNative() || dtype == DType.BOOL) {
        src = arena.allocate(Math.max(bytes, 1), 8);
        MemorySegment.copy(data, 0, src, 0, bytes);
        if (dtype == DType.BOOL) {
          for (long i = 0; i < numel; i++) {
            if (src.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) != 0) {
              src.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) 1);
            }
          }
        }
      }
      writeNative(n, stored, dims, numel, chunks, options, src);
    }
  }

  private void writeNative(String name, StoredType stored, long[] dims, long numel, long[] chunks,
      WriteOptions options, MemorySegment src) throws Hdf5Exception {
    Hdf5Native.lock();
    try {
      long f = id();
      if (!writable) {
        throw new IllegalStateException(path + " is open read-only; open it with create or openReadWrite");
      }
      Found existing = lookUp(name);
      if (existing.kind() != Kind.MISSING) {
        throw new Hdf5Exception(path, name, "already exists; datasets cannot be replaced");
      }
      try (Hid space = Hid.owned(dims.length == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(dims.length, dims,
              (long[]) null), org.bytedeco.hdf5.global.hdf5::H5Sclose);
          Hid dcpl = Hid.owned(H5Pcreate(H5P_CLS_DATASET_CREATE_ID_g()), org.bytedeco.hdf5.global.hdf5::H5Pclose);
          Hid lcpl = Hid.owned(H5Pcreate(H5P_CLS_LINK_CREATE_ID_g()), org.bytedeco.hdf5.global.hdf5::H5Pclose);
          Hid fileType = Hdf5Native.fileType(stored);
          Hid memType = Hdf5Native.nativeType(stored)) {
        if (space.id < 0 || dcpl.id < 0 || lcpl.id < 0 || fileType.id < 0 || memType.id < 0) {
          throw fail(name, "cannot set up the dataset");
        }
        // As h5py: no object timestamps (files are reproducible), fill on allocation for chunked data.
        if (H5Pset_obj_track_times(dcpl.id, false) < 0 || H5Pset_create_intermediate_group(lcpl.id, 1) < 0) {
          throw fail(name, "cannot set up the dataset");
        }
        if (chunks != null) {
          if (H5Pset_chunk(dcpl.id, chunks.length, chunks) < 0
              || H5Pset_fill_time(dcpl.id, H5D_FILL_TIME_ALLOC) < 0) {
            throw fail(name, "cannot set the chunk shape " + Arrays.toString(chunks));
          }
          if (options.shuffle() && H5Pset_shuffle(dcpl.id) < 0) {
            throw fail(name, "cannot set the shuffle filter");
          }
          if (options.gzipLevel() >= 0 && H5Pset_deflate(dcpl.id, options.gzipLevel()) < 0) {
            throw fail(name, "cannot set gzip compression");
          }
        }
        long d;
        try (BytePointer p = Hdf5Native.cString(name)) {
          d = H5Dcreate2(f, p, fileType.id, space.id, lcpl.id, dcpl.id, H5P_DEFAULT);
        }
        if (d < 0) {
          throw fail(name, "cannot create the dataset");
        }
        Hdf5Exception failure = null;
        try (Hid dset = Hid.owned(d, org.bytedeco.hdf5.global.hdf5::H5Dclose)) {
          if (numel > 0
              && H5Dwrite(dset.id, memType.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, new SegmentPointer(src)) < 0) {
            failure = fail(name, "writing the data failed");
          }
        }
        if (failure != null) {
          try (BytePointer p = Hdf5Native.cString(name)) {
            H5Ldelete(f, p, H5P_DEFAULT); // do not leave a half-written dataset behind
            Hdf5Native.lastError();
          }
          throw failure;
        }
      }
    } finally {
      Hdf5Native.unlock();
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The name without leading slashes, checked for emptiness and empty components. */
  private static String checkName(String name) {
    Objects.requireNonNull(name, "name");
    String n = name;
    while (n.startsWith("/")) {
      n = n.substring(1);
    }
    if (n.isEmpty() || n.endsWith("/") || n.contains("//")) {
      throw new IllegalArgumentException("'" + name + "' is not a dataset path (e.g. 'image' or 'group/label')");
    }
    for (String part : n.split("/")) {
      if (part.equals(".") || part.equals("..")) {
        throw new IllegalArgumentException("'" + name + "' is not a dataset path: '.' and '..' are not allowed");
      }
    }
    return n;
  }

  /** An exception for a failed HDF5 call, with HDF5's account of it. Call under the lock. */
  private Hdf5Exception fail(String dataset, String what) {
    return new Hdf5Exception(path, dataset, what + Hdf5Native.lastError().detail());
  }
}
