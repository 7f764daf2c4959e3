package org.ssl4mis.runtime;

import java.util.Locale;
import java.util.Objects;

/**
 * A compute device as PyTorch names it: {@code cpu}, {@code cuda} (the current CUDA device, index 0) or
 * {@code cuda:N}. Parsing only checks the spelling; {@link NativeRuntime#resolve(String)} also checks that
 * the device exists on this machine.
 */
public record Device(Kind kind, int index) {

  /** Device kinds the project runs on. */
  public enum Kind {
    CPU,
    CUDA
  }

  public static final Device CPU = new Device(Kind.CPU, -1);

  public Device {
    Objects.requireNonNull(kind, "kind");
    if (kind == Kind.CPU && index != -1) {
      throw new IllegalArgumentException("the cpu device has no index, got " + index);
    }
    if (kind == Kind.CUDA && index < 0) {
      throw new IllegalArgumentException("a cuda device index must be >= 0, got " + index);
    }
  }

  public static Device cuda(int index) {
    return new Device(Kind.CUDA, index);
  }

  /**
   * Parses {@code cpu}, {@code cuda} or {@code cuda:N} (case-insensitive, surrounding blanks ignored).
   *
   * @throws IllegalArgumentException naming the text and the accepted forms
   */
  public static Device parse(String text) {
    Objects.requireNonNull(text, "device");
    String s = text.strip().toLowerCase(Locale.ROOT);
    if (s.equals("cpu")) {
      return CPU;
    }
    if (s.equals("cuda") || s.equals("gpu")) {
      return cuda(0);
    }
    if (s.startsWith("cuda:")) {
      String n = s.substring(5);
      if (!n.isEmpty() && n.chars().allMatch(Character::isDigit) && n.length() <= 4) {
        return cuda(Integer.parseInt(n));
      }
    }
    throw new IllegalArgumentException(
        "device '" + text + "' is not one of: cpu, cuda, cuda:N (N a device index such as 0)");
  }

  public boolean isCuda() {
    return kind == Kind.CUDA;
  }

  /** The PyTorch spelling: {@code cpu} or {@code cuda:N}. */
  @Override
  public String toString() {
    return kind == Kind.CPU ? "cpu" : "cuda:" + index;
  }
}
