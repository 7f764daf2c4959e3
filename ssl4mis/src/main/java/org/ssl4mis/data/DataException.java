package org.ssl4mis.data;

import java.io.IOException;
import java.nio.file.Path;

/** A dataset file or list is wrong; the message names the file and the problem. */
public class DataException extends IOException {
  private static final long serialVersionUID = 1L;
  private final transient Path file;

  public DataException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  public DataException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
    this.file = file;
  }

  public Path file() {
    return file;
  }
}
