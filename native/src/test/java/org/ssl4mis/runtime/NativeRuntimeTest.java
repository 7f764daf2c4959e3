package org.ssl4mis.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class NativeRuntimeTest {

  /** Prints {@link NativeRuntime#allocator()} of a fresh JVM (run by {@link #allocatorIsTheOneTheLauncherPreloads}). */
  public static final class PrintAllocator {
    public static void main(String[] args) {
      NativeRuntime.init();
      // libtorch on that malloc: a 64 MiB tensor (above glibc's mmap threshold) and a matrix product
      double big = torch.ones(16L << 20).sum().item_double();
      double product = torch.ones(256, 256).mm(torch.ones(256, 256)).sum().item_double();
      NativeRuntime.Allocator a = NativeRuntime.allocator();
      System.out.println(a.name() + " " + a.library() + " " + (long) big + " " + (long) product);
    }
  }

  private record Output(int exit, String text) {}

  private static Output run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().remove("LD_PRELOAD");
    pb.environment().remove("SSL4MIS_ALLOCATOR");
    pb.environment().putAll(env);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
    return new Output(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip());
  }

  @Test
  void allocatorIsTheOneTheLauncherPreloads() throws Exception {
    String preloaded = System.getenv().getOrDefault("LD_PRELOAD", "");
    assertEquals(preloaded.contains("tcmalloc") ? "tcmalloc" : preloaded.contains("jemalloc") ? "jemalloc"
        : preloaded.contains("mimalloc") ? "mimalloc" : "system", NativeRuntime.allocator().name(),
        "this JVM, LD_PRELOAD='" + preloaded + "'");
    assertTrue(NativeRuntime.report().stream().anyMatch(l -> l.startsWith("allocator  ")));

    Path script = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent().resolve("bin/native-allocator");
    assertTrue(Files.isExecutable(script), script + " is the launcher's allocator choice");
    Output system = run(List.of(script.toString()), Map.of("SSL4MIS_ALLOCATOR", "system"));
    assertEquals(new Output(0, ""), system, "system: nothing preloaded");
    Output bad = run(List.of(script.toString()), Map.of("SSL4MIS_ALLOCATOR", "tcmallocc"));
    assertEquals(1, bad.exit());
    assertTrue(bad.text().contains("SSL4MIS_ALLOCATOR=tcmallocc") && bad.text().contains("expected auto"), bad.text());
    Output missing = run(List.of(script.toString()), Map.of("SSL4MIS_ALLOCATOR", "/no/such/libmalloc.so"));
    assertEquals(1, missing.exit());
    assertTrue(missing.text().contains("no such file"), missing.text());

    Output auto = run(List.of(script.toString()), Map.of());
    assertEquals(0, auto.exit(), auto.text());
    boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
    if (auto.text().isEmpty()) {
      String message = "libtcmalloc_minimal.so.4 is not installed (apt-get install libtcmalloc-minimal4; CI installs it"
          + " with .ci/install-native-libraries), so the preloaded allocator cannot be checked";
      if (ci) {
        fail("CI=true, so this test may not be skipped: " + message);
      }
      Assumptions.assumeTrue(false, message);
    }
    // A JVM started as bin/ssl4mis starts it runs on that library, and libtorch works on it.
    List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))));
    java.add(PrintAllocator.class.getName());
    Output child = run(java, Map.of("LD_PRELOAD", auto.text()));
    String mapped = Path.of(auto.text()).toRealPath().toString(); // the process maps the file the link names
    assertEquals(new Output(0, "tcmalloc " + mapped + " " + (16L << 20) + " " + 256L * 256 * 256), child);
  }

  @Test
  void reportsVersionsAndDevices() {
    assertEquals("2.10.0", NativeRuntime.torchVersion());
    assertEquals("1.5.13", NativeRuntime.javacppVersion());
    assertEquals("2.10.0-1.5.13", NativeRuntime.presetVersion("pytorch"));
    assertEquals(Device.CPU, NativeRuntime.devices().get(0));
    assertEquals(NativeRuntime.cudaDeviceCount() + 1, NativeRuntime.devices().size());
    assertEquals(NativeRuntime.cudaDeviceCount() == 0, NativeRuntime.cudaUnavailableReason().isPresent());
    assertTrue(NativeRuntime.report().stream().anyMatch(l -> l.startsWith("libtorch   2.10.0")));
  }

  @Test
  void hdf5LoadsQuietly() {
    NativeRuntime.Hdf5Status h = NativeRuntime.hdf5();
    assertTrue(h.loaded(), h.detail());
    assertEquals("1.14.3", h.version());
    assertDoesNotThrow(NativeRuntime::requireHdf5);
  }

  @Test
  void devicesParseAndResolve() {
    assertEquals(Device.CPU, Device.parse(" CPU "));
    assertEquals(Device.cuda(0), Device.parse("cuda"));
    assertEquals(Device.cuda(3), Device.parse("cuda:3"));
    assertEquals("cuda:3", Device.cuda(3).toString());
    for (String bad : new String[] {"", "tpu", "cuda:", "cuda:-1", "cuda:x", "cpu:0"}) {
      var e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad));
      assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
    }
    assertEquals(Device.CPU, NativeRuntime.resolve("cpu"));
    assertEquals(NativeRuntime.cudaDeviceCount() > 0 ? Device.cuda(0) : Device.CPU, NativeRuntime.resolveAuto("auto"));
    if (NativeRuntime.cudaDeviceCount() == 0) {
      var e = assertThrows(IllegalArgumentException.class, () -> NativeRuntime.resolve("cuda:0"));
      assertTrue(e.getMessage().contains("not available"), e.getMessage());
    }
  }

  @Test
  void seedingRepeatsLibtorchAndJavaStreams() {
    NativeRuntime.seed(42);
    float a = torch.randn(1).item_float();
    long ja = NativeRuntime.random("loader").nextLong();
    long jb = NativeRuntime.random("augment").nextLong();
    NativeRuntime.seed(42);
    assertEquals(a, torch.randn(1).item_float());
    assertEquals(ja, NativeRuntime.random("loader").nextLong());
    assertNotEquals(ja, jb, "streams with different purposes differ");
    assertEquals(42L, NativeRuntime.currentSeed().orElseThrow());
  }

  @Test
  void threadsAndDeterminismCanBeSet() {
    int before = NativeRuntime.threads();
    try {
      NativeRuntime.setThreads(1);
      assertEquals(1, NativeRuntime.threads());
      assertThrows(IllegalArgumentException.class, () -> NativeRuntime.setThreads(0));
    } finally {
      NativeRuntime.setThreads(before);
    }
    NativeRuntime.setDeterministic(true);
    assertTrue(NativeRuntime.isDeterministic());
    Tensor t = torch.ones(3);
    assertEquals(3f, t.sum().item_float());
    NativeRuntime.setDeterministic(false);
    assertFalse(NativeRuntime.isDeterministic());
  }
}
