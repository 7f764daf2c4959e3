package org.ssl4mis.cli;

/** The command line is wrong: exit code 2, one line, plus a hint. */
public final class UsageException extends HintedException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message, String hint) {
    super(message, hint);
  }
}
