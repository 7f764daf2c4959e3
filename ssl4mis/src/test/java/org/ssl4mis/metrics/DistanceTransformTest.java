package org.ssl4mis.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.metrics.MetricsTestSupport.blobs;
import static org.ssl4mis.metrics.MetricsTestSupport.csv;
import static org.ssl4mis.metrics.MetricsTestSupport.ellipsoid;
import static org.ssl4mis.metrics.MetricsTestSupport.full;
import static org.ssl4mis.metrics.MetricsTestSupport.not;
import static org.ssl4mis.metrics.MetricsTestSupport.random;
import static org.ssl4mis.metrics.MetricsTestSupport.ring;
import static org.ssl4mis.metrics.MetricsTestSupport.single;
import static org.ssl4mis.metrics.MetricsTestSupport.walk;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link DistanceTransform} against {@code scipy.ndimage.distance_transform_edt} (SciPy 1.10 of Debian's
 * python3-scipy), run in the test: every distance within 1e-9 relative, on 1-D to 4-D masks of many kinds, with
 * isotropic and anisotropic sampling; plus determinism across pools and a timing print.
 */
class DistanceTransformTest {

  private static final String SCRIPT = """
      import os, sys
      import numpy as np
      from scipy.ndimage import distance_transform_edt
      d = sys.argv[1]
      out = open(os.path.join(d, 'all.out'), 'wb')
      count = 0
      for line in open(os.path.join(d, 'cases.txt')):
          cid, shape, spacing, name = line.split()
          shape = tuple(int(x) for x in shape.split(','))
          sampling = None if spacing == 'none' else tuple(float(x) for x in spacing.split(','))
          m = np.fromfile(os.path.join(d, name), dtype=np.uint8).reshape(shape)
          r = np.ascontiguousarray(distance_transform_edt(m, sampling=sampling), dtype='<f8')
          out.write(r.tobytes())
          print(cid, 'offset', count)
          count += r.size
      out.close()
      """;

  private record Case(String id, boolean[] mask, int[] shape, double[] spacing) {}

  private static List<Case> cases() {
    List<Case> cs = new ArrayList<>();
    double[][] sp1 = {null, {0.7}};
    int[][] s1 = {{1}, {7}, {50}};
    for (int[] s : s1) {
      for (double[] sp : sp1) {
        cs.add(new Case("1d", random(s, 0.7, s[0]), s, sp));
      }
    }
    double[][] sp2 = {null, {1, 1}, {0.7, 1.3}, {2.5, 0.3}, {0.1, 0.35}};
    int[][] s2 = {{1, 1}, {1, 9}, {9, 1}, {37, 53}, {128, 96}};
    double[] densities = {0.05, 0.5, 0.9, 0.995};
    long seed = 1;
    for (int[] s : s2) {
      for (double p : densities) {
        for (double[] sp : sp2) {
          cs.add(new Case("2d-random", random(s, p, seed++), s, sp));
        }
      }
    }
    int[] b2 = {96, 80};
    for (double[] sp : sp2) {
      cs.add(new Case("2d-blob", not(blobs(b2, 4, seed++)), b2, sp));
      cs.add(new Case("2d-blob-inside", blobs(b2, 4, seed++), b2, sp));
      cs.add(new Case("2d-ring", not(ring(b2, new double[] {40, 45}, new double[] {30, 25}, 0.8)), b2, sp));
      cs.add(new Case("2d-walk", not(walk(b2, 400, seed++)), b2, sp));
      cs.add(new Case("2d-single", not(single(b2, 0, 79)), b2, sp));
      cs.add(new Case("2d-single-mid", not(single(b2, 50, 33)), b2, sp));
      cs.add(new Case("2d-all-true", full(b2), b2, sp));
      cs.add(new Case("2d-all-false", new boolean[96 * 80], b2, sp));
    }
    double[][] sp3 = {null, {2.5, 0.625, 0.625}, {1.1, 0.9, 1.7}, {0.3, 3.0, 1.0}};
    int[][] s3 = {{20, 30, 25}, {1, 30, 30}, {30, 1, 30}, {30, 30, 1}, {2, 3, 4}};
    for (int[] s : s3) {
      for (double p : new double[] {0.1, 0.9, 0.999}) {
        for (double[] sp : sp3) {
          cs.add(new Case("3d-random", random(s, p, seed++), s, sp));
        }
      }
    }
    int[] b3 = {40, 48, 36};
    for (double[] sp : sp3) {
      cs.add(new Case("3d-blob", not(blobs(b3, 5, seed++)), b3, sp));
      cs.add(new Case("3d-blob-inside", blobs(b3, 3, seed++), b3, sp));
      cs.add(new Case("3d-shell", not(ring(b3, new double[] {20, 24, 18}, new double[] {15, 18, 14}, 0.7)), b3, sp));
      cs.add(new Case("3d-walk", not(walk(b3, 900, seed++)), b3, sp));
      cs.add(new Case("3d-single-corner", not(single(b3, 39, 47, 35)), b3, sp));
      cs.add(new Case("3d-ball", ellipsoid(b3, new double[] {20, 24, 18}, new double[] {19, 23, 17}), b3, sp));
      cs.add(new Case("3d-all-true", full(b3), b3, sp));
    }
    int[] s4 = {5, 6, 7, 8};
    cs.add(new Case("4d", random(s4, 0.9, seed++), s4, null));
    cs.add(new Case("4d-aniso", random(s4, 0.97, seed++), s4, new double[] {1.5, 0.5, 2, 1}));
    cs.add(new Case("4d-all-true", full(s4), s4, new double[] {1.5, 0.5, 2, 1}));
    int[] empty = {0, 5};
    cs.add(new Case("empty", new boolean[0], empty, null));
    return cs;
  }

  @Test
  void matchesScipy() throws IOException {
    PythonReference.require("scipy", "numpy");
    Path dir = Files.createTempDirectory("edt-parity");
    try {
      List<Case> cs = cases();
      StringBuilder manifest = new StringBuilder();
      for (int k = 0; k < cs.size(); k++) {
        Case c = cs.get(k);
        String name = "m" + k + ".u8";
        MetricsTestSupport.writeMask(dir, name, c.mask());
        manifest.append(k).append(' ').append(csv(c.shape())).append(' ').append(csv(c.spacing())).append(' ')
            .append(name).append('\n');
      }
      Files.writeString(dir.resolve("cases.txt"), manifest);
      Map<String, String> ref = MetricsTestSupport.run(SCRIPT, dir, Duration.ofMinutes(2));
      List<String> failures = new ArrayList<>();
      double worst = 0;
      long voxels = 0;
      for (int k = 0; k < cs.size(); k++) {
        Case c = cs.get(k);
        long offset = Long.parseLong(ref.get(k + " offset"));
        double[] expected = MetricsTestSupport.readDoubles(dir.resolve("all.out"), offset, c.mask().length);
        double[] actual = DistanceTransform.distances(c.mask(), c.shape(), c.spacing());
        double[] seq = DistanceTransform.distances(c.mask(), c.shape(), c.spacing(), null);
        assertArrayEquals(actual, seq, "pool and sequential differ: " + c.id());
        for (int i = 0; i < expected.length; i++) {
          double e = MetricsTestSupport.relErr(expected[i], actual[i]);
          worst = Math.max(worst, e);
          if (!MetricsTestSupport.close(expected[i], actual[i]) && failures.size() < 20) {
            failures.add(String.format(Locale.ROOT, "case %d %s shape %s spacing %s voxel %d: scipy %.17g java %.17g",
                k, c.id(), csv(c.shape()), csv(c.spacing()), i, expected[i], actual[i]));
          }
        }
        voxels += expected.length;
      }
      System.out.printf(Locale.ROOT, "DistanceTransform vs scipy: %d cases, %d voxels, largest relative error %.3g%n",
          cs.size(), voxels, worst);
      assertTrue(failures.isEmpty(), String.join("\n", failures));
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : (Iterable<Path>) files::iterator) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  @Test
  void squaredAndFeatureFormsAgree() {
    int[] shape = {33, 41, 29};
    double[] sp = {1.25, 0.8, 2.0};
    boolean[] m = not(blobs(shape, 4, 77));
    double[] sq = DistanceTransform.squared(m, shape, sp);
    double[] d = DistanceTransform.distances(m, shape, sp);
    double[] f = DistanceTransform.squaredToFeatures(not(m), shape, sp, null);
    assertArrayEquals(sq, f);
    for (int i = 0; i < sq.length; i++) {
      assertEquals(Math.sqrt(sq[i]), d[i]);
      assertEquals(m[i], sq[i] > 0);
    }
  }

  @Test
  void deterministicOverPools() {
    int[] shape = {24, 130, 70};
    double[] sp = {3.0, 0.7, 0.7};
    boolean[] m = random(shape, 0.98, 5);
    double[] reference = DistanceTransform.squared(m, shape, sp, null);
    try (ForkJoinPool three = new ForkJoinPool(3); ForkJoinPool one = new ForkJoinPool(1)) {
      for (int i = 0; i < 3; i++) {
        assertArrayEquals(reference, DistanceTransform.squared(m, shape, sp, three));
        assertArrayEquals(reference, DistanceTransform.squared(m, shape, sp, one));
        assertArrayEquals(reference, DistanceTransform.squared(m, shape, sp));
      }
    }
  }

  @Test
  void smallHandChecked() {
    // one background voxel in the middle of a 3x5 image, sampling (2, 1)
    boolean[] m = full(new int[] {3, 5});
    m[7] = false;
    double[] d = DistanceTransform.squared(m, new int[] {3, 5}, new double[] {2, 1});
    assertArrayEquals(new double[] {8, 5, 4, 5, 8, 4, 1, 0, 1, 4, 8, 5, 4, 5, 8}, d);
    // no background at all: SciPy measures to (-1, 0, ..., 0)
    double[] none = DistanceTransform.squared(full(new int[] {2, 3}), new int[] {2, 3}, new double[] {2, 0.5});
    assertArrayEquals(new double[] {4, 4.25, 5, 16, 16.25, 17}, none);
  }

  @Test
  void rejectsBadArguments() {
    assertThrows(IllegalArgumentException.class, () -> DistanceTransform.squared(new boolean[5], new int[] {2, 3}, null));
    assertThrows(IllegalArgumentException.class, () -> DistanceTransform.squared(new boolean[6], new int[] {2, 3},
        new double[] {1}));
    assertThrows(IllegalArgumentException.class, () -> DistanceTransform.squared(new boolean[6], new int[] {2, 3},
        new double[] {1, 0}));
    assertThrows(IllegalArgumentException.class, () -> DistanceTransform.squared(new boolean[6], new int[] {2, 3},
        new double[] {1, Double.NaN}));
    assertThrows(IllegalArgumentException.class, () -> DistanceTransform.squared(new boolean[0], new int[0], null));
  }

  /** Prints the time of a 512 x 512 x 100 transform (no assertion on it: the cores are shared). */
  @Test
  void timing512x512x100() {
    int[] shape = {100, 512, 512};
    double[] sp = {2.5, 0.7, 0.7};
    boolean[] m = new boolean[100 * 512 * 512];
    boolean[] ball = ellipsoid(new int[] {100, 128, 128}, new double[] {50, 64, 64}, new double[] {40, 45, 45});
    // a coarse ball upsampled by 4 in-plane, with background around it
    for (int z = 0; z < 100; z++) {
      for (int y = 0; y < 512; y++) {
        for (int x = 0; x < 512; x++) {
          m[(z * 512 + y) * 512 + x] = ball[(z * 128 + y / 4) * 128 + x / 4];
        }
      }
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    ForkJoinPool pool = DistanceTransform.defaultPool();
    double best = Double.MAX_VALUE;
    double[] d = null;
    for (int rep = 0; rep < 3; rep++) {
      long t0 = System.nanoTime();
      d = DistanceTransform.distances(m, shape, sp, pool);
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    long c0 = threads.getCurrentThreadCpuTime();
    long t0 = System.nanoTime();
    DistanceTransform.distances(m, shape, sp, null);
    double seqWall = (System.nanoTime() - t0) / 1e9;
    double seqCpu = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
    System.out.printf(Locale.ROOT,
        "DistanceTransform 512x512x100 (spacing 2.5,0.7,0.7): %.2f s on %d workers (best of 3); sequential %.2f s"
            + " wall, %.2f s CPU; %d processors%n",
        best, pool.getParallelism(), seqWall, seqCpu, Runtime.getRuntime().availableProcessors());
    assertTrue(d[0] == 0 && d[(50 * 512 + 256) * 512 + 256] > 0);
    // medpy-style hd95 / asd of the ball against a copy moved by (1, 3, -2) voxels
    boolean[] moved = new boolean[m.length];
    for (int z = 0; z < 99; z++) {
      for (int y = 0; y < 509; y++) {
        for (int x = 2; x < 512; x++) {
          moved[((z + 1) * 512 + y + 3) * 512 + x - 2] = m[(z * 512 + y) * 512 + x];
        }
      }
    }
    long t1 = System.nanoTime();
    Binary.SurfaceDistances sd = Binary.surfaceDistances(moved, m, shape, sp, 1);
    double hd95 = sd.hd95();
    double asd = sd.asd();
    double metricWall = (System.nanoTime() - t1) / 1e9;
    System.out.printf(Locale.ROOT, "Binary hd95 + asd 512x512x100 (%d + %d surface voxels): %.2f s (hd95 %.4f, asd %.4f)%n",
        sd.resultToReference().length, sd.referenceToResult().length, metricWall, hd95, asd);
    assertTrue(hd95 > 0 && asd > 0);
  }
}
