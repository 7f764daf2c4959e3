package org.ssl4mis.io.pth;

/**
 * Internal signal of a format problem, thrown deep inside the parsers (also from lambdas) and turned into
 * a {@link CheckpointFormatException} naming the file at the reader's entry point.
 */
final class Malformed extends RuntimeException {
  private static final long serialVersionUID = 1L;

  Malformed(String reason) {
    super(reason, null, false, false);
  }

  Malformed(String reason, Throwable cause) {
    super(reason, cause, false, false);
  }
}
