package org.ssl4mis.io.pth;

import java.io.IOException;

/**
 * A checkpoint file is not a valid, safe PyTorch checkpoint: it is truncated or corrupt, declares sizes
 * its bytes cannot hold, refers to a missing storage, or its pickle asks for something other than plain
 * data and tensors (a forbidden global such as {@code os.system}).
 *
 * <p>The message is {@code "<source>: <reason>"}, where the source names the file.
 */
public final class CheckpointFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final String reason;

  /**
   * @param source the file (or other source) being read
   * @param reason what is wrong with it
   * @param cause the underlying error, or null
   */
  public CheckpointFormatException(String source, String reason, Throwable cause) {
    super(source + ": " + reason, cause);
    this.source = source;
    this.reason = reason;
  }

  public CheckpointFormatException(String source, String reason) {
    this(source, reason, null);
  }

  /** The file (or other source) that was read. */
  public String source() {
    return source;
  }

  /** What is wrong, without the source. */
  public String reason() {
    return reason;
  }
}
