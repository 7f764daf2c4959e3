package org.ssl4mis.tensor;

/**
 * A libtorch call failed. The message starts with what the project was doing, then libtorch's own first
 * line (its C++ back trace is dropped from the message but kept in the cause).
 */
public class TorchException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TorchException(String context, Throwable cause) {
    super(context + ": " + firstLine(cause), cause);
  }

  private static String firstLine(Throwable cause) {
    String m = cause.getMessage();
    if (m == null) {
      return cause.getClass().getSimpleName();
    }
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).strip();
  }

  /** Runs a libtorch call, rethrowing native errors with {@code context} in front. */
  public static <T> T call(String context, java.util.function.Supplier<T> body) {
    try {
      return body.get();
    } catch (TorchException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new TorchException(context, e);
    }
  }

  /** Runs a libtorch call that returns nothing, rethrowing native errors with {@code context} in front. */
  public static void run(String context, Runnable body) {
    try {
      body.run();
    } catch (TorchException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new TorchException(context, e);
    }
  }
}
