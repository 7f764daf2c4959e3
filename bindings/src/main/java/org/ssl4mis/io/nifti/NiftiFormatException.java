package org.ssl4mis.io.nifti;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file is not a NIfTI-1 image this package can read: too short, not a NIfTI-1 header (sizeof_hdr is not 348
 * in either byte order, wrong magic), impossible dimensions, an unsupported datatype, a voxel offset outside the
 * file, data shorter than the header declares, a corrupt gzip stream, or more data than the read limit.
 *
 * <p>The message is {@code "<file>: <problem>"}.
 */
public final class NiftiFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final String problem;

  public NiftiFormatException(Path file, String problem) {
    this(file, problem, null);
  }

  public NiftiFormatException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
    this.file = file;
    this.problem = problem;
  }

  /** The file that was read. */
  public Path file() {
    return file;
  }

  /** What is wrong with it, without the file name. */
  public String problem() {
    return problem;
  }
}
