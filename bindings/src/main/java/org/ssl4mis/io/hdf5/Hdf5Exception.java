package org.ssl4mis.io.hdf5;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reading or writing an HDF5 file failed: the file is missing, is not HDF5, is truncated or corrupt, lacks the
 * dataset asked for, holds an element type this package does not read (strings, compounds, ...), declares more
 * data than may be read, or the HDF5 library reported an error.
 *
 * <p>The message is {@code "<file>: <reason>"} or {@code "<file>: dataset '<name>': <reason>"}; where the HDF5
 * library itself failed, the reason ends with the library's own account, {@code "(HDF5: ...)"}.
 */
public final class Hdf5Exception extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final String dataset;
  private final String reason;

  /**
   * @param file the file being read or written
   * @param dataset the dataset concerned, or null when the problem is with the file as a whole
   * @param reason what went wrong
   * @param cause the underlying error, or null
   */
  public Hdf5Exception(Path file, String dataset, String reason, Throwable cause) {
    super(file + ": " + (dataset == null ? "" : "dataset '" + dataset + "': ") + reason, cause);
    this.file = file;
    this.dataset = dataset;
    this.reason = reason;
  }

  public Hdf5Exception(Path file, String dataset, String reason) {
    this(file, dataset, reason, null);
  }

  /** The file being read or written. */
  public Path file() {
    return file;
  }

  /** The dataset concerned, if the problem was with one. */
  public Optional<String> dataset() {
    return Optional.ofNullable(dataset);
  }

  /** What went wrong, without the file and dataset. */
  public String reason() {
    return reason;
  }
}
