package org.ssl4mis.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Python reference code with Debian's {@code /usr/bin/python3} and its {@code python3-torch},
 * {@code python3-scipy}, {@code python3-h5py}, {@code python3-nibabel} (installed by
 * {@code .ci/install-python-reference}) for tests that compare with the reference.
 *
 * <p>{@link #require(String...)} skips the calling test when that Python or a module is missing, except
 * on CI (environment variable {@code CI=true}), where it fails instead: CI must run every parity test.
 */
public final class PythonReference {
  public static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(120);
  private static final Map<String, String> PROBED = new HashMap<>();

  private PythonReference() {}

  /** Skips (or, with CI=true, fails) the current test unless {@code import m} works for every module. */
  public static synchronized void require(String... modules) {
    String imports = modules.length == 0 ? "import sys" : "import " + String.join(", ", modules);
    String reason = PROBED.computeIfAbsent(imports, PythonReference::probe);
    if (!reason.isEmpty()) {
      requireOrSkip(false, "the Python reference is not usable (" + reason + "); install it with"
          + " .ci/install-python-reference (Debian python3-torch python3-scipy python3-h5py python3-nibabel)");
    }
  }

  /** Aborts the test with {@code message} unless {@code condition}; on CI fails it instead. */
  public static void requireOrSkip(boolean condition, String message) {
    if (condition) {
      return;
    }
    if (isCi()) {
      fail("CI=true, so this test may not be skipped: " + message);
    }
    Assumptions.assumeTrue(false, message);
  }

  public static boolean isCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /**
   * Runs a Python script (its source text) with arguments, after {@link #require} for {@code torch}; returns
   * its standard output. A non-zero exit or a run past {@code timeout} fails the test with stderr.
   */
  public static String run(String script, Duration timeout, String... args) throws IOException {
    require("torch", "numpy");
    Path file = Files.createTempFile("ssl4mis-reference", ".py");
    try {
      Files.writeString(file, script);
      List<String> command = new ArrayList<>(List.of(PYTHON.toString(), file.toString()));
      command.addAll(List.of(args));
      Result r = exec(command, timeout);
      if (r.exitCode() != 0) {
        fail("python failed (exit " + r.exitCode() + "): " + String.join(" ", command) + "\n" + r.stderr());
      }
      return r.stdout();
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** Like {@link #run} with a script read from a class-path resource. */
  public static String runResource(Class<?> anchor, String resource, Duration timeout, String... args) throws IOException {
    try (InputStream in = anchor.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("test resource " + resource + " is missing");
      }
      return run(new String(in.readAllBytes(), StandardCharsets.UTF_8), timeout, args);
    }
  }

  private static String probe(String imports) {
    if (!Files.isExecutable(PYTHON)) {
      return PYTHON + " does not exist";
    }
    try {
      Result r = exec(List.of(PYTHON.toString(), "-c", imports), PROBE_TIMEOUT);
      return r.exitCode() == 0 ? "" : "'" + imports + "' failed: " + lastLine(r.stderr());
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static String lastLine(String s) {
    String[] lines = s.strip().split("\n");
    return lines[lines.length - 1];
  }

  private record Result(int exitCode, String stdout, String stderr) {}

  private static Result exec(List<String> command, Duration timeout) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command);
    // One thread keeps PyTorch bit-reproducible (the fixtures were made so) and leaves the cores to the JVM.
    builder.environment().put("OMP_NUM_THREADS", "1");
    Process process = builder.start();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(process.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(process.getErrorStream()));
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        fail("timed out after " + timeout + ": " + String.join(" ", command));
      }
      return new Result(process.exitValue(), out.join(), err.join());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running python", e);
    }
  }

  private static String drain(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(could not read: " + e + ")";
    }
  }
}
