package org.ssl4mis.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.metrics.MetricsTestSupport.blobs;
import static org.ssl4mis.metrics.MetricsTestSupport.csv;
import static org.ssl4mis.metrics.MetricsTestSupport.ellipsoid;
import static org.ssl4mis.metrics.MetricsTestSupport.full;
import static org.ssl4mis.metrics.MetricsTestSupport.noisy;
import static org.ssl4mis.metrics.MetricsTestSupport.random;
import static org.ssl4mis.metrics.MetricsTestSupport.ring;
import static org.ssl4mis.metrics.MetricsTestSupport.shift;
import static org.ssl4mis.metrics.MetricsTestSupport.single;
import static org.ssl4mis.metrics.MetricsTestSupport.walk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link Binary} against medpy's {@code metric.binary} definitions written with SciPy/NumPy in the test's Python
 * ({@link MetricsTestSupport#MEDPY_PY}): surfaces exactly, directed surface distances element by element and
 * dc, jc, ravd, hd, hd95, asd, assd within 1e-9 relative, including medpy's errors for empty masks; on synthetic
 * 1-D/2-D/3-D pairs (blobs, rings, thin walks, single voxels, masks touching the border, noise, empty masks) with
 * isotropic and anisotropic spacing and connectivity 1 to 3, and on a real left-atrium label of la_mini.
 */
class BinaryTest {

  private static final String SCRIPT = MetricsTestSupport.MEDPY_PY + """

      d = sys.argv[1]
      out = open(os.path.join(d, 'all.out'), 'wb')
      count = 0
      def emit(cid, key, arr):
          global count
          arr = np.ascontiguousarray(arr, dtype='<f8')
          out.write(arr.tobytes())
          print(cid, key, '%d:%d' % (count, arr.size))
          count += arr.size
      for line in open(os.path.join(d, 'cases.txt')):
          cid, shape, spacing, conn, ra, rb = line.split()
          shape = ints(shape); spacing = floats(spacing); conn = int(conn)
          a = load_mask(d, ra, shape).astype(bool)
          b = load_mask(d, rb, shape).astype(bool)
          print(cid, 'dc', guarded(lambda: dc(a, b)))
          print(cid, 'jc', guarded(lambda: jc(a, b)))
          print(cid, 'ravd', guarded(lambda: ravd(a, b)))
          emit(cid, 'border', border(a, conn))
          try:
              ab, ba, values = surface_metrics(a, b, spacing, conn)
              emit(cid, 'ab', ab)
              emit(cid, 'ba', ba)
              for key, value in values.items():
                  print(cid, key, repr(float(value)))
          except Empty as e:
              for key in ('hd', 'hd95', 'asd', 'assd'):
                  print(cid, key, 'raise:' + e.which)
      out.close()
      """;

  private record Case(String id, int[] shape, double[] spacing, int conn, boolean[] a, boolean[] b) {}

  private static List<Case> syntheticCases() {
    List<Case> cs = new ArrayList<>();
    long seed = 100;
    // 1-D
    int[] s1 = {60};
    cs.add(new Case("1d", s1, null, 1, random(s1, 0.3, seed++), random(s1, 0.4, seed++)));
    cs.add(new Case("1d-aniso", s1, new double[] {0.3}, 1, random(s1, 0.1, seed++), single(s1, 59)));
    // 2-D
    int[] s2 = {64, 72};
    double[][] sp2 = {null, {0.7, 1.3}, {2.0, 2.0}};
    for (double[] sp : sp2) {
      boolean[] blob = ellipsoid(s2, new double[] {30, 35}, new double[] {14, 20});
      cs.add(new Case("2d-blob-shift", s2, sp, 1, shift(blob, s2, new int[] {3, -2}), blob));
      cs.add(new Case("2d-blob-noisy", s2, sp, 1, noisy(blob, 0.02, seed++), blob));
      boolean[] ring = ring(s2, new double[] {32, 36}, new double[] {25, 28}, 0.75);
      cs.add(new Case("2d-ring", s2, sp, 1, ring, noisy(ring, 0.05, seed++)));
      cs.add(new Case("2d-ring-vs-blob", s2, sp, 1, ring, blob));
      boolean[] w = walk(s2, 300, seed++);
      cs.add(new Case("2d-thin", s2, sp, 1, w, shift(w, s2, new int[] {1, 1})));
      cs.add(new Case("2d-single-single", s2, sp, 1, single(s2, 3, 4), single(s2, 60, 70)));
      cs.add(new Case("2d-single-blob", s2, sp, 1, single(s2, 0, 0), blob));
      boolean[] corner = ellipsoid(s2, new double[] {0, 71}, new double[] {20, 25});
      cs.add(new Case("2d-border", s2, sp, 1, corner, shift(corner, s2, new int[] {4, -3})));
      cs.add(new Case("2d-full-blob", s2, sp, 1, full(s2), blob));
      cs.add(new Case("2d-random", s2, sp, 1, random(s2, 0.3, seed++), random(s2, 0.3, seed++)));
      cs.add(new Case("2d-blobs", s2, sp, 1, blobs(s2, 3, seed++), blobs(s2, 4, seed++)));
      cs.add(new Case("2d-same", s2, sp, 1, blob, blob.clone()));
      cs.add(new Case("2d-conn2", s2, sp, 2, noisy(blob, 0.03, seed++), ring));
    }
    cs.add(new Case("2d-empty-result", s2, null, 1, new boolean[64 * 72], random(s2, 0.1, seed++)));
    cs.add(new Case("2d-empty-reference", s2, null, 1, random(s2, 0.1, seed++), new boolean[64 * 72]));
    cs.add(new Case("2d-empty-both", s2, null, 1, new boolean[64 * 72], new boolean[64 * 72]));
    // 3-D
    int[] s3 = {30, 40, 36};
    double[][] sp3 = {null, {2.5, 0.625, 0.625}, {1.1, 0.9, 1.7}};
    for (double[] sp : sp3) {
      boolean[] ball = ellipsoid(s3, new double[] {15, 20, 17}, new double[] {9, 12, 11});
      cs.add(new Case("3d-ball-shift", s3, sp, 1, ball, shift(ball, s3, new int[] {1, 2, -3})));
      cs.add(new Case("3d-ball-noisy", s3, sp, 1, noisy(ball, 0.01, seed++), ball));
      boolean[] shell = ring(s3, new double[] {15, 20, 18}, new double[] {13, 17, 15}, 0.8);
      cs.add(new Case("3d-shell", s3, sp, 1, shell, ball));
      boolean[] w = walk(s3, 700, seed++);
      cs.add(new Case("3d-thin", s3, sp, 1, w, walk(s3, 700, seed++)));
      cs.add(new Case("3d-single", s3, sp, 1, single(s3, 29, 0, 35), single(s3, 0, 39, 0)));
      cs.add(new Case("3d-single-ball", s3, sp, 1, ball, single(s3, 15, 20, 17)));
      boolean[] corner = ellipsoid(s3, new double[] {29, 0, 0}, new double[] {12, 15, 14});
      cs.add(new Case("3d-border", s3, sp, 1, corner, noisy(corner, 0.02, seed++)));
      cs.add(new Case("3d-full", s3, sp, 1, full(s3), ball));
      cs.add(new Case("3d-random", s3, sp, 1, random(s3, 0.2, seed++), random(s3, 0.25, seed++)));
      cs.add(new Case("3d-blobs", s3, sp, 1, blobs(s3, 3, seed++), blobs(s3, 3, seed++)));
      cs.add(new Case("3d-conn2", s3, sp, 2, noisy(ball, 0.02, seed++), shell));
      cs.add(new Case("3d-conn3", s3, sp, 3, noisy(ball, 0.02, seed++), blobs(s3, 2, seed++)));
    }
    cs.add(new Case("3d-empty-result", s3, null, 1, new boolean[30 * 40 * 36], random(s3, 0.01, seed++)));
    cs.add(new Case("3d-empty-reference", s3, null, 1, random(s3, 0.01, seed++), new boolean[30 * 40 * 36]));
    return cs;
  }

  @Test
  void syntheticMatchesMedpyDefinitions() throws IOException {
    compare(syntheticCases());
  }

  /** A real LA label (la_mini) against perturbed copies of itself, as a segmentation would differ from it. */
  @Test
  void realLeftAtriumLabel() throws IOException {
    PythonReference.require("scipy", "numpy");
    MetricsTestSupport.LaLabel la = MetricsTestSupport.laMiniTestLabel(0);
    byte[] label = la.label();
    int[] shape = la.shape();
    String caseName = la.caseName();
    assertEquals(3, shape.length);
    boolean[] gt = Binary.mask(label);
    boolean[] shifted = shift(gt, shape, new int[] {2, -1, 1});
    boolean[] rough = noisy(shifted, 0.002, 9);
    boolean[] partial = gt.clone();
    int len = shape[2];
    for (int i = 0; i < partial.length; i++) {
      if (i % len < len / 2) {
        partial[i] = false; // half of the atrium missed
      }
    }
    List<Case> cs = List.of(
        new Case("la-shift", shape, null, 1, shifted, gt),
        new Case("la-rough-aniso", shape, new double[] {0.625, 0.625, 2.5}, 1, rough, gt),
        new Case("la-partial", shape, new double[] {0.625, 0.625, 0.625}, 1, partial, gt));
    System.out.printf(Locale.ROOT, "la_mini case %s label shape %s, %d foreground voxels%n", caseName, csv(shape),
        countTrue(gt));
    compare(cs);
  }

  private static void compare(List<Case> cs) throws IOException {
    PythonReference.require("scipy", "numpy");
    Path dir = Files.createTempDirectory("medpy-parity");
    try {
      StringBuilder manifest = new StringBuilder();
      for (int k = 0; k < cs.size(); k++) {
        Case c = cs.get(k);
        MetricsTestSupport.writeMask(dir, k + "a.u8", c.a());
        MetricsTestSupport.writeMask(dir, k + "b.u8", c.b());
        manifest.append(k).append(' ').append(csv(c.shape())).append(' ').append(csv(c.spacing())).append(' ')
            .append(c.conn()).append(' ').append(k).append("a.u8 ").append(k).append("b.u8\n");
      }
      Files.writeString(dir.resolve("cases.txt"), manifest);
      Map<String, String> ref = MetricsTestSupport.run(SCRIPT, dir, Duration.ofMinutes(2));
      Path all = dir.resolve("all.out");
      List<String> failures = new ArrayList<>();
      double worst = 0;
      int scalars = 0;
      int raises = 0;
      for (int k = 0; k < cs.size(); k++) {
        Case c = cs.get(k);
        String label = k + " " + c.id() + " spacing " + csv(c.spacing()) + " conn " + c.conn();
        // surfaces, exactly
        double[] border = array(ref, all, k + " border");
        boolean[] surface = Binary.surface(c.a(), c.shape(), c.conn());
        for (int i = 0; i < surface.length; i++) {
          if (surface[i] != (border[i] != 0)) {
            failures.add(label + ": surface differs at voxel " + i);
            break;
          }
        }
        // directed distances, element by element
        if (ref.containsKey(k + " ab")) {
          Binary.SurfaceDistances sd = Binary.surfaceDistances(c.a(), c.b(), c.shape(), c.spacing(), c.conn());
          worst = Math.max(worst, compareArrays(label + " a->b", array(ref, all, k + " ab"), sd.resultToReference(),
              failures));
          worst = Math.max(worst, compareArrays(label + " b->a", array(ref, all, k + " ba"), sd.referenceToResult(),
              failures));
          assertArrayEquals(sd.resultToReference(),
              Binary.directedSurfaceDistances(c.a(), c.b(), c.shape(), c.spacing(), c.conn()));
        }
        Map<String, Supplier<Double>> metrics = new LinkedHashMap<>();
        metrics.put("dc", () -> Binary.dc(c.a(), c.b()));
        metrics.put("jc", () -> Binary.jc(c.a(), c.b()));
        metrics.put("ravd", () -> Binary.ravd(c.a(), c.b()));
        metrics.put("hd", () -> Binary.hd(c.a(), c.b(), c.shape(), c.spacing(), c.conn()));
        metrics.put("hd95", () -> Binary.hd95(c.a(), c.b(), c.shape(), c.spacing(), c.conn()));
        metrics.put("asd", () -> Binary.asd(c.a(), c.b(), c.shape(), c.spacing(), c.conn()));
        metrics.put("assd", () -> Binary.assd(c.a(), c.b(), c.shape(), c.spacing(), c.conn()));
        for (Map.Entry<String, Supplier<Double>> e : metrics.entrySet()) {
          String expected = ref.get(k + " " + e.getKey());
          String actual;
          double value = Double.NaN;
          try {
            value = e.getValue().get();
            actual = Double.toString(value);
          } catch (EmptyMaskException ex) {
            actual = "raise:" + switch (ex.operand()) {
              case RESULT -> "first";
              case REFERENCE -> "second";
              case BOTH -> "both";
            };
          }
          scalars++;
          if (expected.startsWith("raise:") || actual.startsWith("raise:")) {
            raises += expected.startsWith("raise:") ? 1 : 0;
            if (!expected.equals(actual)) {
              failures.add(label + " " + e.getKey() + ": reference " + expected + ", java " + actual);
            }
            continue;
          }
          double want = Double.parseDouble(expected);
          worst = Math.max(worst, MetricsTestSupport.relErr(want, value));
          if (!MetricsTestSupport.close(want, value)) {
            failures.add(String.format(Locale.ROOT, "%s %s: reference %.17g, java %.17g", label, e.getKey(), want,
                value));
          }
        }
      }
      System.out.printf(Locale.ROOT, "Binary vs medpy definitions: %d cases, %d values (%d raising),"
          + " largest relative error %.3g%n", cs.size(), scalars, raises, worst);
      assertTrue(failures.isEmpty(), String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : (Iterable<Path>) files::iterator) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  private static int countTrue(boolean[] m) {
    int n = 0;
    for (boolean b : m) {
      n += b ? 1 : 0;
    }
    return n;
  }

  private static double[] array(Map<String, String> ref, Path all, String key) throws IOException {
    String[] at = ref.get(key).split(":");
    return MetricsTestSupport.readDoubles(all, Long.parseLong(at[0]), Integer.parseInt(at[1]));
  }

  private static double compareArrays(String label, double[] expected, double[] actual, List<String> failures) {
    if (expected.length != actual.length) {
      failures.add(label + ": " + expected.length + " reference distances, " + actual.length + " in java");
      return 0;
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, MetricsTestSupport.relErr(expected[i], actual[i]));
      if (!MetricsTestSupport.close(expected[i], actual[i])) {
        failures.add(String.format(Locale.ROOT, "%s [%d]: reference %.17g, java %.17g", label, i, expected[i],
            actual[i]));
        break;
      }
    }
    return worst;
  }

  @Test
  void conventionsWithoutPython() {
    int[] shape = {4, 5};
    boolean[] empty = new boolean[20];
    boolean[] one = single(shape, 1, 1);
    assertEquals(0.0, Binary.dc(empty, empty));
    assertEquals(0.0, Binary.dc(one, empty));
    assertEquals(EmptyMaskException.Operand.BOTH,
        assertThrows(EmptyMaskException.class, () -> Binary.jc(empty, empty)).operand());
    assertEquals(0.0, Binary.jc(one, empty));
    assertEquals(EmptyMaskException.Operand.REFERENCE,
        assertThrows(EmptyMaskException.class, () -> Binary.ravd(one, empty)).operand());
    assertEquals(-1.0, Binary.ravd(empty, one));
    for (var metric : List.<java.util.function.BiConsumer<boolean[], boolean[]>>of(
        (a, b) -> Binary.hd(a, b, shape, null), (a, b) -> Binary.hd95(a, b, shape, null),
        (a, b) -> Binary.asd(a, b, shape, null), (a, b) -> Binary.assd(a, b, shape, null))) {
      EmptyMaskException first = assertThrows(EmptyMaskException.class, () -> metric.accept(empty, empty));
      assertEquals(EmptyMaskException.Operand.RESULT, first.operand());
      assertEquals("The first supplied array does not contain any binary object.", first.getMessage());
      assertEquals(EmptyMaskException.Operand.RESULT,
          assertThrows(EmptyMaskException.class, () -> metric.accept(empty, one)).operand());
      assertEquals(EmptyMaskException.Operand.REFERENCE,
          assertThrows(EmptyMaskException.class, () -> metric.accept(one, empty)).operand());
    }
    // byte masks: any non-zero byte (uint8 128..255 included) is foreground
    byte[] b = new byte[20];
    b[6] = (byte) 200;
    byte[] c = new byte[20];
    c[6] = 1;
    c[19] = 3;
    assertEquals(2.0 / 3.0, Binary.dc(b, c));
    assertEquals(0.5, Binary.jc(b, c));
    assertEquals(Math.sqrt(13), Binary.hd(b, c, shape, null));
    assertEquals(Math.sqrt(37), Binary.hd(b, c, shape, new double[] {0.5, 2.0}));
    // single voxels: the surface is the voxel itself
    assertEquals(0.0, Binary.hd95(one, one, shape, null));
    assertArrayEquals(one, Binary.surface(one, shape, 1));
  }

  @Test
  void numpyPercentileAndMean() {
    double[] v = {5, 1, 4, 2, 3};
    assertEquals(4.8, Binary.percentile(v, 95), 1e-15);
    assertEquals(1.0, Binary.percentile(v, 0));
    assertEquals(5.0, Binary.percentile(v, 100));
    assertEquals(7.0, Binary.percentile(new double[] {7}, 95));
    assertEquals(3.0, Binary.mean(v));
    double[] many = new double[1000];
    for (int i = 0; i < many.length; i++) {
      many[i] = 0.1 * i;
    }
    assertEquals(49.95, Binary.mean(many), 1e-12);
    assertThrows(IllegalArgumentException.class, () -> Binary.percentile(new double[0], 95));
  }
}
