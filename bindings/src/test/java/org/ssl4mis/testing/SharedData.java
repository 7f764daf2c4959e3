package org.ssl4mis.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The read-only {@code shared/} folder beside the checkout ({@code parity/} fixtures written by the real
 * SSL4MIS, {@code la_mini/} real LA cases). Surefire passes its location as {@code ssl4mis.shared.dir};
 * tests that need it skip with a message when it is absent (and fail on CI, where it is always present).
 */
public final class SharedData {
  private SharedData() {}

  public static Path root() {
    String configured = System.getProperty("ssl4mis.shared.dir");
    Path p = configured != null ? Path.of(configured) : Path.of("..", "shared");
    return p.toAbsolutePath().normalize();
  }

  /** {@code shared/<relative>}, or skips (fails on CI) when it does not exist. */
  public static Path require(String relative) {
    Path p = root().resolve(relative);
    PythonReference.requireOrSkip(Files.exists(p), "shared data " + p + " is not present");
    return p;
  }

  public static Path parity() {
    return require("parity");
  }
}
