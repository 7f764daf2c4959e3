package org.ssl4mis.cli;

/**
 * The command was well formed but cannot do its work (a file it needs is missing, ...): exit code 1, one line,
 * plus a hint.
 */
public final class CommandFailure extends HintedException {
  private static final long serialVersionUID = 1L;

  public CommandFailure(String message, String hint) {
    super(message, hint);
  }
}
