package org.ssl4mis.io.hdf5;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.ssl4mis.tensor.DType;

/**
 * What an HDF5 dataset holds, as {@link Hdf5File#info} reads it from the file's metadata without reading data.
 *
 * @param name the dataset's path in the file, without a leading {@code /} (e.g. {@code image}, {@code g/label})
 * @param shape the size of each dimension, outermost first (C order, as numpy); empty for a scalar dataset
 * @param dtype the element type {@link Hdf5File#read} returns: the stored type itself, except that
 *     {@code uint16} is widened to {@link DType#INT32}, and {@code uint32} and {@code uint64} to
 *     {@link DType#INT64} (Java and libtorch have no such unsigned types)
 * @param storedType the element type in the file in numpy's words: {@code float32}, {@code uint8},
 *     {@code uint16}, {@code bool}, ..., with {@code " (big-endian)"} appended where it is stored so, and
 *     {@code " (enum)"} for enumerations other than h5py's bool
 * @param layout how the data is laid out in the file
 * @param chunks the chunk shape of a {@link Layout#CHUNKED} dataset; empty otherwise
 * @param filters the filter pipeline (compression, shuffle, checksum) in the order applied on writing
 * @param storageBytes the bytes the data takes in the file (compressed size; 0 when never written)
 */
public record DatasetInfo(String name, long[] shape, DType dtype, String storedType, Layout layout, long[] chunks,
    List<Filter> filters, long storageBytes) {

  /** How a dataset's data is stored. */
  public enum Layout {
    /** Stored inside the object header (small data). */
    COMPACT,
    /** One contiguous block (h5py's default without compression). */
    CONTIGUOUS,
    /** Split into chunks, which filters such as gzip compress one by one. */
    CHUNKED,
    /** A virtual dataset mapping other datasets. */
    VIRTUAL
  }

  /**
   * One filter of a dataset's pipeline.
   *
   * @param id the HDF5 filter id (1 deflate/gzip, 2 shuffle, 3 fletcher32, 4 szip, 32000 lzf, ...)
   * @param name h5py's name for it ({@code gzip}, {@code shuffle}, {@code fletcher32}, {@code szip},
   *     {@code lzf}, {@code scaleoffset}, {@code nbit}) or, for others, the name stored in the file
   * @param options the filter's client values (for gzip: the level)
   */
  public record Filter(int id, String name, int[] options) {
    public Filter {
      Objects.requireNonNull(name, "name");
      options = options.clone();
    }

    @Override
    public int[] options() {
      return options.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Filter f && f.id == id && f.name.equals(name) && Arrays.equals(f.options, options);
    }

    @Override
    public int hashCode() {
      return 31 * (31 * id + name.hashCode()) + Arrays.hashCode(options);
    }

    @Override
    public String toString() {
      return options.length == 0 ? name : name + Arrays.toString(options);
    }
  }

  public DatasetInfo {
    Objects.requireNonNull(name, "name");
    shape = shape.clone();
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(storedType, "storedType");
    Objects.requireNonNull(layout, "layout");
    chunks = chunks.clone();
    filters = List.copyOf(filters);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public long[] chunks() {
    return chunks.clone();
  }

  /** Number of dimensions; 0 for a scalar. */
  public int rank() {
    return shape.length;
  }

  /** Number of elements (1 for a scalar, 0 when any dimension is 0). */
  public long elementCount() {
    long n = 1;
    for (long d : shape) {
      n *= d; // cannot overflow: Hdf5File checked the product when it read the shape
    }
    return n;
  }

  /** Bytes the elements take in memory as {@link #dtype()}. */
  public long byteSize() {
    return elementCount() * dtype.byteSize();
  }

  /** True when the data is chunked. */
  public boolean isChunked() {
    return layout == Layout.CHUNKED;
  }

  /**
   * The compression filter, as h5py's {@code Dataset.compression}: {@code gzip}, {@code lzf}, {@code szip}, or
   * the name of another compressor; empty when the data is not compressed (shuffle, fletcher32, scaleoffset
   * and nbit do not count).
   */
  public Optional<String> compression() {
    return compressionFilter().map(Filter::name);
  }

  /** The gzip level, as h5py's {@code compression_opts} for gzip; empty without gzip. */
  public OptionalInt gzipLevel() {
    for (Filter f : filters) {
      if (f.id() == Hdf5Native.FILTER_DEFLATE && f.options.length > 0) {
        return OptionalInt.of(f.options[0]);
      }
    }
    return OptionalInt.empty();
  }

  /** True when the byte-shuffle filter is applied (h5py's {@code shuffle}). */
  public boolean shuffle() {
    return filters.stream().anyMatch(f -> f.id() == Hdf5Native.FILTER_SHUFFLE);
  }

  private Optional<Filter> compressionFilter() {
    return filters.stream()
        .filter(f -> f.id() != Hdf5Native.FILTER_SHUFFLE && f.id() != Hdf5Native.FILTER_FLETCHER32
            && f.id() != Hdf5Native.FILTER_SCALEOFFSET && f.id() != Hdf5Native.FILTER_NBIT)
        .findFirst();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DatasetInfo d && d.name.equals(name) && Arrays.equals(d.shape, shape) && d.dtype == dtype
        && d.storedType.equals(storedType) && d.layout == layout && Arrays.equals(d.chunks, chunks)
        && d.filters.equals(filters) && d.storageBytes == storageBytes;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, Arrays.hashCode(shape), dtype, storedType, layout, Arrays.hashCode(chunks), filters,
        storageBytes);
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("DatasetInfo[").append(name).append(' ').append(Arrays.toString(shape))
        .append(' ').append(storedType);
    if (!storedType.equals(dtype.pythonName())) {
      s.append(" read as ").append(dtype.pythonName());
    }
    s.append(", ").append(layout.name().toLowerCase(java.util.Locale.ROOT));
    if (chunks.length > 0) {
      s.append(' ').append(Arrays.toString(chunks));
    }
    if (!filters.isEmpty()) {
      s.append(", filters ").append(filters);
    }
    return s.append(", ").append(storageBytes).append(" bytes stored]").toString();
  }
}
