package org.ssl4mis.metrics;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.ssl4mis.testing.PythonReference;

/**
 * Shared pieces of the metrics tests: mask generators (deterministic), the raw-file exchange with the Python
 * reference, and medpy's {@code metric.binary} definitions written with {@code scipy.ndimage} and NumPy for that
 * reference (medpy itself is not installed).
 */
final class MetricsTestSupport {

  private MetricsTestSupport() {}

  /** Relative tolerance of every comparison with the Python reference. */
  static final double REL = 1e-9;

  /**
   * medpy 0.4's {@code metric.binary} definitions in plain SciPy/NumPy. {@code Empty(which)} stands for
   * medpy's RuntimeError ("first"/"second" array without object) and for jc's ZeroDivisionError ("both").
   * {@code run_case(kind, a, b, spacing, conn)} returns {name: float or 'raise:which'}.
   */
  static final String MEDPY_PY = """
      import os, sys
      import numpy as np
      from scipy.ndimage import binary_erosion, generate_binary_structure, distance_transform_edt

      class Empty(Exception):
          def __init__(self, which):
              super().__init__(which)
              self.which = which

      def as_bool(x):
          return np.atleast_1d(np.asarray(x).astype(bool))

      def border(m, conn):
          # the voxels of m that one erosion by the connectivity-conn cross removes
          st = generate_binary_structure(m.ndim, conn)
          return np.logical_xor(m, binary_erosion(m, structure=st, iterations=1))

      def directed(a, b, spacing=None, conn=1):
          # distances from every border voxel of a (C order) to the nearest border voxel of b
          a = as_bool(a)
          b = as_bool(b)
          if np.count_nonzero(a) == 0:
              raise Empty('first')
          if np.count_nonzero(b) == 0:
              raise Empty('second')
          if spacing is not None:
              spacing = np.asarray(spacing, dtype=np.float64)
          ab = border(a, conn)
          bb = border(b, conn)
          field = distance_transform_edt(np.logical_not(bb), sampling=spacing)
          return field[ab]

      def dc(a, b):
          a = as_bool(a); b = as_bool(b)
          both = np.count_nonzero(a & b)
          total = np.count_nonzero(a) + np.count_nonzero(b)
          if total == 0:
              return 0.0
          return 2 * both / float(total)

      def jc(a, b):
          a = as_bool(a); b = as_bool(b)
          inter = np.count_nonzero(a & b)
          union = np.count_nonzero(a | b)
          if union == 0:
              raise Empty('both')
          return float(inter) / float(union)

      def ravd(a, b):
          a = as_bool(a); b = as_bool(b)
          va = np.count_nonzero(a); vb = np.count_nonzero(b)
          if vb == 0:
              raise Empty('second')
          return (va - vb) / float(vb)

      def hd(a, b, spacing=None, conn=1):
          return max(directed(a, b, spacing, conn).max(), directed(b, a, spacing, conn).max())

      def hd95(a, b, spacing=None, conn=1):
          return np.percentile(np.hstack((directed(a, b, spacing, conn), directed(b, a, spacing, conn))), 95)

      def asd(a, b, spacing=None, conn=1):
          return directed(a, b, spacing, conn).mean()

      def assd(a, b, spacing=None, conn=1):
          return np.mean((asd(a, b, spacing, conn), asd(b, a, spacing, conn)))

      def surface_metrics(a, b, spacing=None, conn=1):
          # hd, hd95, asd, assd as above, from one pair of directed distance arrays
          ab = directed(a, b, spacing, conn)
          ba = directed(b, a, spacing, conn)
          return ab, ba, {'hd': max(ab.max(), ba.max()), 'hd95': np.percentile(np.hstack((ab, ba)), 95),
                          'asd': ab.mean(), 'assd': np.mean((ab.mean(), ba.mean()))}

      def guarded(f):
          try:
              return repr(float(f()))
          except Empty as e:
              return 'raise:' + e.which

      def load_mask(d, name, shape):
          return np.fromfile(os.path.join(d, name), dtype=np.uint8).reshape(shape)

      def ints(s):
          return tuple(int(x) for x in s.split(','))

      def floats(s):
          return None if s == 'none' else tuple(float(x) for x in s.split(','))
      """;

  /** Runs a Python script with the exchange folder as its argument; returns {@code "id key" -> value}. */
  static Map<String, String> run(String script, Path dir, Duration timeout) throws IOException {
    String out = PythonReference.run(script, timeout, dir.toString());
    Map<String, String> values = new HashMap<>();
    for (String line : out.split("\n")) {
      String[] p = line.trim().split(" ");
      if (p.length == 3) {
        values.put(p[0] + " " + p[1], p[2]);
      } else if (!line.isBlank()) {
        fail("unexpected reference output: " + line);
      }
    }
    return values;
  }

  /** A left-atrium label of {@code ../shared/la_mini} (the {@code index}-th case of its test list), with its case and shape. */
  record LaLabel(String caseName, byte[] label, int[] shape) {}

  static LaLabel laMiniTestLabel(int index) throws IOException {
    Path root = org.ssl4mis.testing.SharedData.require("la_mini");
    String caseName = java.nio.file.Files.readAllLines(root.resolve("test.list")).get(index).trim();
    Path h5 = root.resolve("2018LA_Seg_Training Set").resolve(caseName).resolve("mri_norm2.h5");
    try (org.ssl4mis.io.hdf5.Hdf5File f = org.ssl4mis.io.hdf5.Hdf5File.openRead(h5)) {
      return new LaLabel(caseName, f.readBytes("label"),
          java.util.Arrays.stream(f.info("label").shape()).mapToInt(Math::toIntExact).toArray());
    }
  }

  static void writeMask(Path dir, String name, boolean[] m) throws IOException {
    byte[] b = new byte[m.length];
    for (int i = 0; i < m.length; i++) {
      b[i] = (byte) (m[i] ? 1 : 0);
    }
    Files.write(dir.resolve(name), b);
  }

  static void writeBytes(Path dir, String name, byte[] b) throws IOException {
    Files.write(dir.resolve(name), b);
  }

  static double[] readDoubles(Path file, long offsetElements, int count) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    double[] d = new double[count];
    for (int i = 0; i < count; i++) {
      d[i] = buf.getDouble((int) ((offsetElements + i) * 8));
    }
    return d;
  }

  static String csv(int[] v) {
    return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(","));
  }

  static String csv(double[] v) {
    if (v == null) {
      return "none";
    }
    return Arrays.stream(v).mapToObj(x -> String.format(Locale.ROOT, "%.17g", x)).collect(Collectors.joining(","));
  }

  /** |a - b| within {@link #REL} of |b| (exact for 0 and infinities). */
  static boolean close(double expected, double actual) {
    if (expected == actual) {
      return true;
    }
    if (Double.isNaN(expected) && Double.isNaN(actual)) {
      return true;
    }
    return Math.abs(expected - actual) <= REL * Math.abs(expected);
  }

  static double relErr(double expected, double actual) {
    if (expected == actual || (Double.isNaN(expected) && Double.isNaN(actual))) {
      return 0;
    }
    return Math.abs(expected - actual) / Math.max(Math.abs(expected), Double.MIN_NORMAL);
  }

  static int size(int[] shape) {
    int n = 1;
    for (int s : shape) {
      n *= s;
    }
    return n;
  }

  // ------------------------------------------------------------------ generators

  /** Coordinates of flat index {@code i}. */
  static int[] coords(int i, int[] shape) {
    int[] c = new int[shape.length];
    for (int a = shape.length - 1; a >= 0; a--) {
      c[a] = i % shape[a];
      i /= shape[a];
    }
    return c;
  }

  static boolean[] random(int[] shape, double p, long seed) {
    Random r = new Random(seed);
    boolean[] m = new boolean[size(shape)];
    for (int i = 0; i < m.length; i++) {
      m[i] = r.nextDouble() < p;
    }
    return m;
  }

  /** Ellipsoid (ellipse) of centre {@code c} and radii {@code r}, in voxels; may reach past the border. */
  static boolean[] ellipsoid(int[] shape, double[] c, double[] r) {
    boolean[] m = new boolean[size(shape)];
    for (int i = 0; i < m.length; i++) {
      int[] x = coords(i, shape);
      double s = 0;
      for (int a = 0; a < shape.length; a++) {
        double d = (x[a] - c[a]) / r[a];
        s += d * d;
      }
      m[i] = s <= 1;
    }
    return m;
  }

  /** Shell between two ellipsoid radii scales (a ring in 2-D). */
  static boolean[] ring(int[] shape, double[] c, double[] r, double inner) {
    boolean[] outer = ellipsoid(shape, c, r);
    double[] ri = r.clone();
    for (int a = 0; a < ri.length; a++) {
      ri[a] *= inner;
    }
    boolean[] in = ellipsoid(shape, c, ri);
    for (int i = 0; i < outer.length; i++) {
      outer[i] &= !in[i];
    }
    return outer;
  }

  /** A few random ellipsoids, unioned. */
  static boolean[] blobs(int[] shape, int count, long seed) {
    Random rnd = new Random(seed);
    boolean[] m = new boolean[size(shape)];
    for (int k = 0; k < count; k++) {
      double[] c = new double[shape.length];
      double[] r = new double[shape.length];
      for (int a = 0; a < shape.length; a++) {
        c[a] = rnd.nextDouble() * shape[a];
        r[a] = 1 + rnd.nextDouble() * shape[a] / 4.0;
      }
      or(m, ellipsoid(shape, c, r));
    }
    return m;
  }

  /** A one-voxel-thick random walk (a thin structure), 6/4-connected steps. */
  static boolean[] walk(int[] shape, int steps, long seed) {
    Random rnd = new Random(seed);
    boolean[] m = new boolean[size(shape)];
    int[] x = new int[shape.length];
    for (int a = 0; a < shape.length; a++) {
      x[a] = rnd.nextInt(shape[a]);
    }
    for (int s = 0; s < steps; s++) {
      m[index(x, shape)] = true;
      int a = rnd.nextInt(shape.length);
      x[a] = Math.max(0, Math.min(shape[a] - 1, x[a] + (rnd.nextBoolean() ? 1 : -1)));
    }
    return m;
  }

  /** The mask moved by {@code d} voxels (what leaves the array is lost). */
  static boolean[] shift(boolean[] m, int[] shape, int[] d) {
    boolean[] out = new boolean[m.length];
    for (int i = 0; i < m.length; i++) {
      if (!m[i]) {
        continue;
      }
      int[] x = coords(i, shape);
      boolean inside = true;
      for (int a = 0; a < shape.length; a++) {
        x[a] += d[a];
        inside &= x[a] >= 0 && x[a] < shape[a];
      }
      if (inside) {
        out[index(x, shape)] = true;
      }
    }
    return out;
  }

  /** Flips each voxel with probability {@code p}. */
  static boolean[] noisy(boolean[] m, double p, long seed) {
    Random r = new Random(seed);
    boolean[] out = m.clone();
    for (int i = 0; i < out.length; i++) {
      if (r.nextDouble() < p) {
        out[i] = !out[i];
      }
    }
    return out;
  }

  static boolean[] single(int[] shape, int... at) {
    boolean[] m = new boolean[size(shape)];
    m[index(at, shape)] = true;
    return m;
  }

  static boolean[] full(int[] shape) {
    boolean[] m = new boolean[size(shape)];
    Arrays.fill(m, true);
    return m;
  }

  static boolean[] not(boolean[] m) {
    boolean[] o = new boolean[m.length];
    for (int i = 0; i < m.length; i++) {
      o[i] = !m[i];
    }
    return o;
  }

  static void or(boolean[] into, boolean[] m) {
    for (int i = 0; i < m.length; i++) {
      into[i] |= m[i];
    }
  }

  static int index(int[] x, int[] shape) {
    int i = 0;
    for (int a = 0; a < shape.length; a++) {
      i = i * shape[a] + x[a];
    }
    return i;
  }
}
