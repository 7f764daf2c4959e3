package org.ssl4mis.io.pth;

import java.io.IOException;
import java.time.Duration;
import org.ssl4mis.testing.PythonReference;

/** Runs {@code pth/pth_tool.py} (see its docstring) with the shared Python reference runner. */
final class PythonTorch {
  private PythonTorch() {}

  static void require() {
    PythonReference.require("torch", "numpy");
  }

  static void requireOrSkip(boolean condition, String message) {
    PythonReference.requireOrSkip(condition, message);
  }

  static String runTool(Duration timeout, String... args) throws IOException {
    return PythonReference.runResource(PythonTorch.class, "/pth/pth_tool.py", timeout, args);
  }
}
