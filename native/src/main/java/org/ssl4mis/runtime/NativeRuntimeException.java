package org.ssl4mis.runtime;

/** A native library failed to load or a native call failed; the message says what was being done. */
public class NativeRuntimeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public NativeRuntimeException(String message) {
    super(message);
  }

  public NativeRuntimeException(String message, Throwable cause) {
    super(message + (cause == null || cause.getMessage() == null ? "" : ": " + firstLine(cause.getMessage())), cause);
  }

  /** libtorch error messages carry a long C++ back trace after the first line; keep the first line. */
  static String firstLine(String message) {
    int nl = message.indexOf('\n');
    return (nl < 0 ? message : message.substring(0, nl)).strip();
  }
}
