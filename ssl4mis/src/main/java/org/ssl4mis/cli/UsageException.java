package org.ssl4mis.cli;

/** The command line is wrong: exit code 2, one line, plus a hint. */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String hint;

  public UsageException(String message, String hint) {
    super(message);
    this.hint = hint;
  }

  public String hint() {
    return hint;
  }
}
