package org.ssl4mis.io.hdf5;

import java.util.Arrays;

/**
 * How {@link Hdf5File#write} stores a dataset: layout, chunk shape and filters. Immutable; build it from
 * {@link #DEFAULT}, {@link #gzip()} or {@link #gzip(int)} and the {@code with...} methods.
 *
 * <p>The defaults follow h5py's {@code create_dataset}: without options the data is stored contiguous and
 * uncompressed; with gzip (h5py's {@code compression="gzip"}, level 4 unless given) or shuffle it is chunked,
 * with the chunk shape h5py would guess ({@link #guessChunks}) unless one is given. Scalar datasets cannot be
 * chunked, so they take no filters.
 *
 * @param gzipLevel the deflate level 0..9, or -1 for no compression
 * @param shuffle whether to apply the byte-shuffle filter before compression (h5py's {@code shuffle=True})
 * @param chunked whether to chunk the data even without filters
 * @param chunks the chunk shape, or null to guess it as h5py does
 */
public record WriteOptions(int gzipLevel, boolean shuffle, boolean chunked, long[] chunks) {

  /** Contiguous, uncompressed: h5py's {@code create_dataset(name, data=...)}. */
  public static final WriteOptions DEFAULT = new WriteOptions(-1, false, false, null);

  /** h5py's default gzip level. */
  public static final int DEFAULT_GZIP_LEVEL = 4;

  // h5py's constants (h5py/_hl/filters.py).
  private static final double CHUNK_BASE = 16 * 1024;
  private static final double CHUNK_MIN = 8 * 1024;
  private static final double CHUNK_MAX = 1024 * 1024;

  public WriteOptions {
    if (gzipLevel < -1 || gzipLevel > 9) {
      throw new IllegalArgumentException("gzip level must be 0..9 (or -1 for none), got " + gzipLevel);
    }
    if (chunks != null) {
      chunks = chunks.clone();
      for (long c : chunks) {
        if (c < 1) {
          throw new IllegalArgumentException("chunk sizes must be >= 1, got " + Arrays.toString(chunks));
        }
      }
    }
  }

  /** gzip at h5py's default level 4: {@code compression="gzip"}. */
  public static WriteOptions gzip() {
    return gzip(DEFAULT_GZIP_LEVEL);
  }

  /** gzip at {@code level} (0..9): {@code compression="gzip", compression_opts=level}. */
  public static WriteOptions gzip(int level) {
    return new WriteOptions(level, false, true, null);
  }

  /** The same options with the byte-shuffle filter on or off. */
  public WriteOptions withShuffle(boolean on) {
    return new WriteOptions(gzipLevel, on, chunked || on, chunks);
  }

  /** The same options with this chunk shape (one size per dimension of the data). */
  public WriteOptions withChunks(long... chunkShape) {
    return new WriteOptions(gzipLevel, shuffle, true, chunkShape);
  }

  /** The same options, chunked with a guessed chunk shape even without filters. */
  public WriteOptions withChunking() {
    return new WriteOptions(gzipLevel, shuffle, true, chunks);
  }

  @Override
  public long[] chunks() {
    return chunks == null ? null : chunks.clone();
  }

  /** True when these options store data chunked. */
  public boolean isChunked() {
    return chunked || gzipLevel >= 0 || shuffle || chunks != null;
  }

  /**
   * The chunk shape to use for data of {@code shape} with elements of {@code elementSize} bytes, or null for
   * contiguous storage.
   *
   * @throws IllegalArgumentException when chunking was asked for a scalar, or the chunk shape does not suit
   */
  long[] resolveChunks(long[] shape, int elementSize) {
    if (!isChunked()) {
      return null;
    }
    if (shape.length == 0) {
      throw new IllegalArgumentException("a scalar dataset cannot be chunked or compressed (as in h5py)");
    }
    if (chunks == null) {
      return guessChunks(shape, elementSize);
    }
    if (chunks.length != shape.length) {
      throw new IllegalArgumentException("chunk shape " + Arrays.toString(chunks) + " does not match the rank of "
          + "shape " + Arrays.toString(shape));
    }
    long bytes = elementSize;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] > 0 && chunks[i] > shape[i]) {
        throw new IllegalArgumentException("chunk shape " + Arrays.toString(chunks) + " exceeds shape "
            + Arrays.toString(shape) + " in dimension " + i);
      }
      bytes = Math.multiplyExact(bytes, chunks[i]);
    }
    if (bytes >= 1L << 32) {
      throw new IllegalArgumentException("chunk shape " + Arrays.toString(chunks) + " makes chunks of " + bytes
          + " bytes; HDF5 allows less than 4 GiB");
    }
    return chunks.clone();
  }

  /**
   * The chunk shape h5py guesses for a dataset ({@code h5py._hl.filters.guess_chunk}): about 8 KiB to 1 MiB,
   * halving the dimensions in turn, outermost first. Sizes of 0 count as 1024 (h5py's guess for unlimited axes).
   */
  public static long[] guessChunks(long[] shape, int elementSize) {
    int ndims = shape.length;
    if (ndims == 0) {
      throw new IllegalArgumentException("chunks are not allowed for scalar datasets");
    }
    double[] chunks = new double[ndims];
    for (int i = 0; i < ndims; i++) {
      chunks[i] = shape[i] != 0 ? shape[i] : 1024;
    }
    double dsetSize = product(chunks) * elementSize;
    double targetSize = CHUNK_BASE * Math.pow(2, Math.log10(dsetSize / (1024.0 * 1024)));
    if (targetSize > CHUNK_MAX) {
      targetSize = CHUNK_MAX;
    } else if (targetSize < CHUNK_MIN) {
      targetSize = CHUNK_MIN;
    }
    int idx = 0;
    while (true) {
      double chunkBytes = product(chunks) * elementSize;
      if ((chunkBytes < targetSize || Math.abs(chunkBytes - targetSize) / targetSize < 0.5)
          && chunkBytes < CHUNK_MAX) {
        break;
      }
      if (product(chunks) == 1) {
        break;
      }
      chunks[idx % ndims] = Math.ceil(chunks[idx % ndims] / 2.0);
      idx++;
    }
    long[] out = new long[ndims];
    for (int i = 0; i < ndims; i++) {
      out[i] = (long) chunks[i];
    }
    return out;
  }

  private static double product(double[] xs) {
    double p = 1;
    for (double x : xs) {
      p *= x;
    }
    return p;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WriteOptions w && w.gzipLevel == gzipLevel && w.shuffle == shuffle && w.chunked == chunked
        && Arrays.equals(w.chunks, chunks);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * gzipLevel + Boolean.hashCode(shuffle)) + Boolean.hashCode(chunked))
        + Arrays.hashCode(chunks);
  }

  @Override
  public String toString() {
    if (!isChunked()) {
      return "WriteOptions[contiguous]";
    }
    return "WriteOptions[chunks " + (chunks == null ? "guessed" : Arrays.toString(chunks))
        + (gzipLevel >= 0 ? ", gzip " + gzipLevel : "") + (shuffle ? ", shuffle" : "") + "]";
  }
}
