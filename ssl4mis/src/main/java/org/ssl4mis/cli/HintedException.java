package org.ssl4mis.cli;

/** An error the command line reports as one line plus a hint that says what to do about it. */
public abstract class HintedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String hint;

  protected HintedException(String message, String hint) {
    super(message);
    this.hint = hint;
  }

  public String hint() {
    return hint;
  }
}
