package org.ssl4mis.cli;

/**
 * The command was well formed but cannot do its work (a file it needs is missing, ...): exit code 1, one line,
 * plus a hint that says what to do about it.
 */
public final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String hint;

  public CommandFailure(String message, String hint) {
    super(message);
    this.hint = hint;
  }

  public String hint() {
    return hint;
  }
}
