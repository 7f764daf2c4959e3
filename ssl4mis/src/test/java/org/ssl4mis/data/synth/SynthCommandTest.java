package org.ssl4mis.data.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.cli.SynthCommand;
import org.ssl4mis.cli.UsageException;
import org.ssl4mis.io.hdf5.Hdf5File;

class SynthCommandTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private int run(String... args) throws Exception {
    out.reset();
    SynthCommand c = new SynthCommand();
    return c.run(c.options().parse(List.of(args)), new PrintStream(out, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void writesAcdcWithFixedSizesAndLaWithTheSmallestAllowedSize() throws Exception {
    Path acdc = dir.resolve("acdc");
    assertEquals(0, run("acdc", "--out", acdc.toString(), "--cases", "3", "--seed", "5", "--slices-per-case", "4",
        "--size", "128,112"));
    assertTrue(out().contains("wrote 3 ACDC-like volumes (1 train / 1 val / 1 test, 4 training slices)"), out());
    try (Hdf5File f = Hdf5File.openRead(acdc.resolve("data/patient001_frame01.h5"))) {
      assertArrayEquals(new long[] {4, 128, 112}, f.info("image").shape());
    }
    assertEquals(4, Files.readAllLines(acdc.resolve("train_slices.list")).size());

    Path la = dir.resolve("la");
    assertEquals(0, run("la", "--out", la.toString(), "--cases", "2", "--seed", "5", "--size", "112,112,80"));
    assertTrue(out().contains("wrote 2 LA-like volumes of 112x112x80 (1 train / 1 test)"), out());
    String name = Files.readAllLines(la.resolve("test.list")).get(0);
    try (Hdf5File f = Hdf5File.openRead(la.resolve("2018LA_Seg_Training Set").resolve(name).resolve("mri_norm2.h5"))) {
      assertArrayEquals(new long[] {112, 112, 80}, f.info("label").shape());
    }
  }

  @Test
  void rejectsBadCommandLines() {
    String o = dir.toString();
    assertUsage("smaller than the 3D training patch", "la", "--out", o, "--cases", "2", "--size", "100,112,80");
    assertUsage("expects X,Y,Z", "la", "--out", o, "--cases", "2", "--size", "128,128");
    assertUsage("for acdc only", "la", "--out", o, "--cases", "2", "--slices_per_case", "4");
    assertUsage("at least 3 cases", "acdc", "--out", o, "--cases", "2");
    assertUsage("expects H,W", "acdc", "--out", o, "--cases", "3", "--size", "256");
    assertUsage("64..1024", "acdc", "--out", o, "--cases", "3", "--size", "32,256");
    assertUsage("unknown dataset kind 'brats'", "brats", "--out", o, "--cases", "3");
    assertUsage("one dataset kind", "--out", o, "--cases", "3");
    assertUsage("missing --cases", "acdc", "--out", o);
    assertUsage("missing --out", "acdc", "--cases", "3");
    assertTrue(new SynthCommand().options().help().contains("--slices_per_case"));
  }

  private void assertUsage(String message, String... args) {
    UsageException e = assertThrows(UsageException.class, () -> run(args));
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  /**
   * Speed sanity, not a timed assertion: prints the CPU time of one default-sized volume of each kind and what
   * the task's sets (20 ACDC, 8 LA volumes) would take to generate on one core, file writing not included.
   */
  @Test
  void generationIsQuick() {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long t0 = mx.getCurrentThreadCpuTime();
    AcdcPhantoms.Volume acdc = AcdcPhantoms.generate(new AcdcPhantoms.Spec(20, 1), 0);
    long t1 = mx.getCurrentThreadCpuTime();
    LaPhantoms.Volume la = LaPhantoms.generate(new LaPhantoms.Spec(8, 1), 0);
    long t2 = mx.getCurrentThreadCpuTime();
    System.out.printf(Locale.ROOT, "synth: one ACDC volume %s in %.0f ms CPU (x20: %.1f s), one LA volume in"
        + " %.0f ms CPU (x8: %.1f s), first calls, JIT warm-up included%n", Arrays.toString(acdc.shape()),
        (t1 - t0) / 1e6, 20 * (t1 - t0) / 1e9, (t2 - t1) / 1e6, 8 * (t2 - t1) / 1e9);
    assertEquals(128 * 128 * 88, la.label().length);
  }
}
