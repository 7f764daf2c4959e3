package org.ssl4mis.data.synth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.io.hdf5.WriteOptions;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;

/**
 * Synthetic left-atrium MR volumes in the folder layout of the 2018 Atrial Segmentation Challenge data as the
 * UA-MT / SSL4MIS 3D code reads it, for running and testing the 3D pipelines without the real data.
 *
 * <p><b>Layout:</b>
 * <pre>
 * DIR/2018LA_Seg_Training Set/&lt;case&gt;/mri_norm2.h5   image float32 (X, Y, Z) z-scored, label uint8 (X, Y, Z) 0/1
 * DIR/train.list, DIR/test.list                        one case name per line (about 80/20, at least one each)
 * </pre>
 * with gzip-compressed datasets chunked as h5py chooses, like the real files; case names are 20 random
 * upper-case letters and digits, as the challenge's. Volumes are 128 x 128 x 88 by default, at least the
 * 112 x 112 x 80 training patch of the reference.
 *
 * <p><b>Content.</b> The atrium is a union of a main ellipsoid and a few lobes, with four pulmonary veins
 * (curved, tapering tubes, two on each side) and an appendage, all bent by a smooth random deformation.
 * Around it lie structures of blood-pool brightness that touch it only through a thin dark wall: the
 * ascending and descending aorta, the pulmonary artery and its branches running over the atrial roof, the
 * right atrium and the left ventricle with a thick dark myocardium. The rest is textured tissue with organ
 * blobs, dark lungs and bright fat. A blur, a smooth multiplicative bias field and Rician noise are added and
 * the volume is z-score normalised. A single intensity threshold therefore cannot separate the atrium (see
 * the tests for the measured best threshold Dice).
 *
 * <p><b>Determinism.</b> Each volume and its name come from {@link SplittableRandom}s seeded by
 * {@link NativeRuntime#mix(long, String)} of the seed and the case index: same spec, same bytes. The
 * elementary functions used are {@link StrictMath}'s, so the values should not depend on the processor either
 * (only the JDK's own {@code nextGaussian} uses {@code Math.exp}, in rare rejection tests).
 */
public final class LaPhantoms {
  /** The default volume size (x, y, z). */
  public static final int[] DEFAULT_SIZE = {128, 128, 88};

  /** The reference's 3D training patch; the command line insists on volumes at least this large. */
  public static final int[] PATCH = {112, 112, 80};

  /** The folder holding the case folders, as in the challenge data. */
  public static final String CASES_FOLDER = "2018LA_Seg_Training Set";

  /** The file name of every case. */
  public static final String FILE_NAME = "mri_norm2.h5";

  /**
   * What to generate.
   *
   * @param cases number of volumes (at least 2: train and test)
   * @param seed seed of everything random
   * @param sizeX volume size along the first axis, and so on (each at least 32)
   */
  public record Spec(int cases, long seed, int sizeX, int sizeY, int sizeZ) {
    public Spec {
      if (cases < 2) {
        throw new IllegalArgumentException("LA phantoms need at least 2 cases (train, test), got " + cases);
      }
      if (sizeX < 32 || sizeY < 32 || sizeZ < 32 || (long) sizeX * sizeY * sizeZ > 64L << 20) {
        throw new IllegalArgumentException("volume size must be at least 32 per axis and at most 64 Mi voxels, got "
            + sizeX + "x" + sizeY + "x" + sizeZ);
      }
    }

    /** {@code cases} volumes of the default size. */
    public Spec(int cases, long seed) {
      this(cases, seed, DEFAULT_SIZE[0], DEFAULT_SIZE[1], DEFAULT_SIZE[2]);
    }
  }

  /** One generated volume, row-major with shape (x, y, z); {@code label} is 0/1. */
  public record Volume(String name, int sizeX, int sizeY, int sizeZ, float[] image, byte[] label) {
    public long[] shape() {
      return new long[] {sizeX, sizeY, sizeZ};
    }
  }

  /** What {@link #write} wrote: the train and test case names (each sorted). */
  public record Written(Path root, List<String> train, List<String> test) {}

  private LaPhantoms() {}

  /** The case names in generation order: 20 characters from {@code 0-9A-Z}, distinct. */
  public static List<String> caseNames(Spec spec) {
    SplittableRandom r = new SplittableRandom(NativeRuntime.mix(spec.seed(), "synth/la/names"));
    String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    Set<String> names = new LinkedHashSet<>();
    while (names.size() < spec.cases()) {
      StringBuilder sb = new StringBuilder(20);
      for (int i = 0; i < 20; i++) {
        sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
      }
      names.add(sb.toString());
    }
    return List.copyOf(names);
  }

  /** The train and test case names (each sorted): a seeded random fifth (at least one) is the test set. */
  public static List<List<String>> splits(Spec spec) {
    List<String> names = new ArrayList<>(caseNames(spec));
    Collections.shuffle(names, new SplittableRandom(NativeRuntime.mix(spec.seed(), "synth/la/split")));
    int[] counts = SynthFields.split(names.size(), 0.8, 0.2);
    List<String> train = new ArrayList<>(names.subList(0, counts[0]));
    List<String> test = new ArrayList<>(names.subList(counts[0], names.size()));
    Collections.sort(train);
    Collections.sort(test);
    return List.of(List.copyOf(train), List.copyOf(test));
  }

  /** Writes the whole folder; files of the same names are replaced, others left alone. */
  public static Written write(Path root, Spec spec) throws IOException {
    Path cases = root.resolve(CASES_FOLDER);
    Files.createDirectories(cases);
    try {
      IntStream.range(0, spec.cases()).parallel().forEach(i -> {
        Volume v = generate(spec, i);
        try {
          Path dir = cases.resolve(v.name());
          Files.createDirectories(dir);
          try (Hdf5File f = Hdf5File.create(dir.resolve(FILE_NAME))) {
            f.write("image", v.image(), v.shape(), WriteOptions.gzip());
            f.write("label", v.label(), v.shape(), DType.UINT8, WriteOptions.gzip());
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    List<List<String>> parts = splits(spec);
    SynthFields.writeList(root.resolve("train.list"), parts.get(0));
    SynthFields.writeList(root.resolve("test.list"), parts.get(1));
    return new Written(root, parts.get(0), parts.get(1));
  }

  /** Generates volume {@code index} (0-based, in the order of {@link #caseNames}) in memory. */
  public static Volume generate(Spec spec, int index) {
    if (index < 0 || index >= spec.cases()) {
      throw new IndexOutOfBoundsException("case " + index + " of " + spec.cases());
    }
    SplittableRandom r = new SplittableRandom(NativeRuntime.mix(spec.seed(), "synth/la/case/" + index));
    return new Scene(r, spec).render(caseNames(spec).get(index), r);
  }

  /** A solid whose (optionally grown) inside can be tested point by point. */
  private abstract static class Solid {
    double minX;
    double minY;
    double minZ;
    double maxX;
    double maxY;
    double maxZ;

    /** True when the point lies inside the solid grown by {@code grow} voxels (grow at most {@link #MAX_GROW}). */
    final boolean contains(double x, double y, double z, double grow) {
      if (x < minX || x > maxX || y < minY || y > maxY || z < minZ || z > maxZ) {
        return false;
      }
      return inside(x, y, z, grow);
    }

    abstract boolean inside(double x, double y, double z, double grow);

    static final double MAX_GROW = 9;
  }

  /** An ellipsoid with semi-axes {@code r} along the rows of a rotation matrix. */
  private static final class Ellipsoid extends Solid {
    final double[] c;
    final double[] rot;
    final double[] r;

    Ellipsoid(double[] center, double[] rot, double[] radii) {
      this.c = center;
      this.rot = rot;
      this.r = radii;
      double reach = Math.max(radii[0], Math.max(radii[1], radii[2])) + MAX_GROW + 1;
      minX = c[0] - reach;
      maxX = c[0] + reach;
      minY = c[1] - reach;
      maxY = c[1] + reach;
      minZ = c[2] - reach;
      maxZ = c[2] + reach;
    }

    @Override
    boolean inside(double x, double y, double z, double grow) {
      return norm(x, y, z, grow) < 1;
    }

    /** The squared ellipsoidal norm of a point (below 1 inside). */
    double norm(double x, double y, double z, double grow) {
      double dx = x - c[0];
      double dy = y - c[1];
      double dz = z - c[2];
      double q = 0;
      for (int a = 0; a < 3; a++) {
        double u = (rot[3 * a] * dx + rot[3 * a + 1] * dy + rot[3 * a + 2] * dz) / (r[a] + grow);
        q += u * u;
      }
      return q;
    }
  }

  /** A tube along a polyline, its radius interpolated linearly between the points. */
  private static final class Tube extends Solid {
    final double[] p;
    final double[] radius;
    /** Per segment: min x, y, z and max x, y, z of its points, widened by its radius and the largest growth. */
    final double[] box;

    Tube(double[] points, double[] radius) {
      this.p = points;
      this.radius = radius;
      double rmax = 0;
      for (double v : radius) {
        rmax = Math.max(rmax, v);
      }
      box = new double[6 * (radius.length - 1)];
      for (int i = 0; i + 1 < radius.length; i++) {
        double pad = Math.max(radius[i], radius[i + 1]) + MAX_GROW + 1;
        for (int k = 0; k < 3; k++) {
          box[6 * i + k] = Math.min(p[3 * i + k], p[3 * i + 3 + k]) - pad;
          box[6 * i + 3 + k] = Math.max(p[3 * i + k], p[3 * i + 3 + k]) + pad;
        }
      }
      minX = minY = minZ = Double.POSITIVE_INFINITY;
      maxX = maxY = maxZ = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < radius.length; i++) {
        minX = Math.min(minX, p[3 * i] - rmax - MAX_GROW - 1);
        maxX = Math.max(maxX, p[3 * i] + rmax + MAX_GROW + 1);
        minY = Math.min(minY, p[3 * i + 1] - rmax - MAX_GROW - 1);
        maxY = Math.max(maxY, p[3 * i + 1] + rmax + MAX_GROW + 1);
        minZ = Math.min(minZ, p[3 * i + 2] - rmax - MAX_GROW - 1);
        maxZ = Math.max(maxZ, p[3 * i + 2] + rmax + MAX_GROW + 1);
      }
    }

    /** A quadratic Bezier curve from {@code a} over {@code control} to {@code b} in {@code segments} pieces. */
    static Tube curved(double[] a, double[] control, double[] b, double r0, double r1, int segments) {
      double[] pts = new double[3 * (segments + 1)];
      double[] rad = new double[segments + 1];
      for (int i = 0; i <= segments; i++) {
        double t = i / (double) segments;
        for (int k = 0; k < 3; k++) {
          pts[3 * i + k] = (1 - t) * (1 - t) * a[k] + 2 * t * (1 - t) * control[k] + t * t * b[k];
        }
        rad[i] = r0 + (r1 - r0) * t;
      }
      return new Tube(pts, rad);
    }

    @Override
    boolean inside(double x, double y, double z, double grow) {
      for (int i = 0; i + 1 < radius.length; i++) {
        int b = 6 * i;
        if (x < box[b] || y < box[b + 1] || z < box[b + 2] || x > box[b + 3] || y > box[b + 4] || z > box[b + 5]) {
          continue;
        }
        double ax = p[3 * i];
        double ay = p[3 * i + 1];
        double az = p[3 * i + 2];
        double sx = p[3 * i + 3] - ax;
        double sy = p[3 * i + 4] - ay;
        double sz = p[3 * i + 5] - az;
        double len2 = sx * sx + sy * sy + sz * sz;
        double t = len2 > 0 ? ((x - ax) * sx + (y - ay) * sy + (z - az) * sz) / len2 : 0;
        t = Math.clamp(t, 0.0, 1.0);
        double ex = x - ax - t * sx;
        double ey = y - ay - t * sy;
        double ez = z - az - t * sz;
        double rr = radius[i] + (radius[i + 1] - radius[i]) * t + grow;
        if (ex * ex + ey * ey + ez * ez < rr * rr) {
          return true;
        }
      }
      return false;
    }
  }

  /** A blood-filled structure beside the atrium, with its own wall. */
  private record Neighbour(Solid solid, double blood, double wall) {}

  /** One case: the atrium, its neighbours, the tissue around them and the imaging parameters. */
  private static final class Scene {
    final int nx;
    final int ny;
    final int nz;
    final List<Solid> atrium = new ArrayList<>();
    final Ellipsoid body;
    final List<Neighbour> neighbours = new ArrayList<>();
    final double atriumWall;
    final double blood;
    final double wallValue;
    final double myocardium;
    final double tissue;
    final double organ;
    final double lung;
    final double fat;
    final double deformation;

    Scene(SplittableRandom r, Spec spec) {
      nx = spec.sizeX();
      ny = spec.sizeY();
      nz = spec.sizeZ();
      // Axes: x from the patient's right to left, y from anterior to posterior, z from inferior to superior.
      double[] c = {nx / 2.0 + u(r, -5, 5), ny / 2.0 + u(r, -4, 6), nz / 2.0 + u(r, -4, 4)};
      double[] radii = {u(r, 33, 40), u(r, 22, 28), u(r, 21, 27)};
      body = new Ellipsoid(c, rotation(r, 0.35), radii);
      atrium.add(body);
      int lobes = 2 + r.nextInt(2);
      for (int i = 0; i < lobes; i++) {
        double[] d = direction(r);
        double reach = u(r, 0.4, 0.6);
        double[] lc = {c[0] + d[0] * radii[0] * reach, c[1] + d[1] * radii[1] * reach, c[2] + d[2] * radii[2] * reach};
        double s = u(r, 0.45, 0.7);
        atrium.add(new Ellipsoid(lc, rotation(r, Math.PI),
            new double[] {radii[0] * s * u(r, 0.8, 1.2), radii[1] * s * u(r, 0.8, 1.2),
                radii[2] * s * u(r, 0.8, 1.2)}));
      }
      // Pulmonary veins: superior and inferior on each side, leaving the posterior wall.
      for (int side = -1; side <= 1; side += 2) {
        for (int level = -1; level <= 1; level += 2) {
          double[] d = normalise(new double[] {side * u(r, 0.7, 1.0), u(r, 0.35, 0.75), level * u(r, 0.25, 0.6)});
          double[] start = {c[0] + d[0] * radii[0] * 0.6, c[1] + d[1] * radii[1] * 0.6, c[2] + d[2] * radii[2] * 0.6};
          double length = u(r, 26, 38);
          double[] end = {start[0] + d[0] * length, start[1] + d[1] * length + u(r, 0, 8), start[2] + d[2] * length};
          double[] mid = jitter(r, midpoint(start, end), 5);
          double r0 = u(r, 3.5, 5.5);
          atrium.add(Tube.curved(start, mid, end, r0 * 1.25, r0 * 0.75, 6));
        }
      }
      // Appendage: a short finger pointing left, anterior and up.
      double[] aStart = {c[0] + radii[0] * 0.6, c[1] - radii[1] * 0.55, c[2] + radii[2] * 0.3};
      double[] aEnd = jitter(r,
          new double[] {aStart[0] + u(r, 8, 14), aStart[1] - u(r, 8, 14), aStart[2] + u(r, 0, 8)}, 3);
      atrium.add(Tube.curved(aStart, jitter(r, midpoint(aStart, aEnd), 4), aEnd, u(r, 5, 7), u(r, 2.5, 3.5), 4));

      blood = u(r, 0.9, 1.05);
      atriumWall = u(r, 1.5, 3.0);
      wallValue = u(r, 0.3, 0.45);
      myocardium = u(r, 0.2, 0.3);
      tissue = u(r, 0.3, 0.42);
      organ = u(r, 0.42, 0.55);
      lung = u(r, 0.04, 0.1);
      fat = u(r, 0.65, 0.85);
      deformation = u(r, 3.5, 6.0);

      // Ascending aorta in front of the atrium, descending aorta behind it, both running along z.
      double ax = c[0] - u(r, 0, 10);
      double ay = c[1] - radii[1] - u(r, 12, 18);
      double ra = u(r, 9, 12);
      neighbours.add(new Neighbour(Tube.curved(new double[] {ax + u(r, -4, 4), ay + u(r, -4, 4), -12},
          new double[] {ax, ay, nz / 2.0}, new double[] {ax + u(r, -8, 8), ay + u(r, -6, 6), nz + 12}, ra, ra, 6),
          blood * u(r, 0.85, 1.15), 1.5));
      double dx = c[0] + u(r, 12, 22);
      double dy = c[1] + radii[1] + u(r, 14, 20);
      double rd = u(r, 7, 9.5);
      neighbours.add(new Neighbour(new Tube(new double[] {dx, dy, -12, dx + u(r, -4, 4), dy + u(r, -3, 3), nz + 12},
          new double[] {rd, rd}), blood * u(r, 0.85, 1.15), 1.5));
      // Pulmonary artery over the roof, forking into branches to both sides.
      double[] trunk = {c[0] + u(r, 0, 10), c[1] - radii[1] - u(r, 18, 26), c[2] + radii[2] + u(r, 6, 12)};
      double[] fork = {c[0] + u(r, -4, 4), c[1] - u(r, 0, 6), c[2] + radii[2] + u(r, 9, 14)};
      double rp = u(r, 7, 9);
      double pa = blood * u(r, 0.85, 1.15);
      neighbours.add(new Neighbour(Tube.curved(trunk, jitter(r, midpoint(trunk, fork), 3), fork, rp, rp, 4), pa, 1.5));
      for (int side = -1; side <= 1; side += 2) {
        double[] tip = {fork[0] + side * u(r, 35, 50), fork[1] + u(r, 0, 10), fork[2] + u(r, -6, 4)};
        neighbours.add(new Neighbour(Tube.curved(fork, jitter(r, midpoint(fork, tip), 4), tip, rp * 0.8, rp * 0.6, 5),
            pa, 1.5));
      }
      // Right atrium to the right, left ventricle below and in front (mostly outside the field of view).
      neighbours.add(new Neighbour(new Ellipsoid(
          new double[] {c[0] - radii[0] - u(r, 12, 20), c[1] - u(r, 6, 14), c[2] + u(r, -6, 6)}, rotation(r, 0.5),
          new double[] {u(r, 15, 19), u(r, 13, 17), u(r, 16, 20)}), blood * u(r, 0.85, 1.15), 1.5));
      neighbours.add(new Neighbour(new Ellipsoid(
          new double[] {c[0] + u(r, 8, 20), c[1] - radii[1] - u(r, 14, 22), c[2] - radii[2] - u(r, 12, 20)},
          rotation(r, 0.5),
          new double[] {u(r, 24, 30), u(r, 20, 26), u(r, 20, 26)}), blood * u(r, 0.85, 1.1), u(r, 5, 8)));
    }

    Volume render(String name, SplittableRandom r) {
      int[] shape = {nx, ny, nz};
      int n = nx * ny * nz;
      float[] warpX = SynthFields.smooth(r, shape, 22, 22, 22);
      float[] warpY = SynthFields.smooth(r, shape, 22, 22, 22);
      float[] warpZ = SynthFields.smooth(r, shape, 22, 22, 22);
      float[] texture = SynthFields.smooth(r, shape, 4, 4, 4);
      float[] organs = SynthFields.fractal(r, shape, 2, 25, 25, 25);
      float[] lungs = SynthFields.fractal(r, shape, 3, 40, 40, 40);
      float[] fats = SynthFields.smooth(r, shape, 8, 8, 8);
      float[] flow = SynthFields.smooth(r, shape, 12, 12, 12);
      float[] image = new float[n];
      byte[] label = new byte[n];
      for (int x = 0; x < nx; x++) {
        for (int y = 0; y < ny; y++) {
          for (int z = 0; z < nz; z++) {
            int i = (x * ny + y) * nz + z;
            double px = x + deformation * warpX[i];
            double py = y + deformation * warpY[i];
            double pz = z + deformation * warpZ[i];
            double v;
            if (inAtrium(px, py, pz, atriumWall)) {
              if (inAtrium(px, py, pz, 0)) {
                label[i] = 1;
                v = blood * (1 + 0.06 * flow[i]);
              } else {
                v = wallValue * (1 + 0.1 * texture[i]);
              }
            } else {
              v = -1;
              for (Neighbour nb : neighbours) {
                if (nb.solid().contains(px, py, pz, nb.wall())) {
                  v = nb.solid().contains(px, py, pz, 0) ? nb.blood() * (1 + 0.06 * flow[i])
                      : myocardium * (1 + 0.08 * texture[i]);
                  break;
                }
              }
              if (v < 0) {
                // Lungs and fat keep away from the atrium (far is 0 inside 1.4 of its main ellipsoid).
                double far = SynthFields.smoothstep(1.4 * 1.4, 2.0 * 2.0, body.norm(px, py, pz, 0));
                v = tissue * (1 + 0.12 * texture[i]);
                v += (organ * (1 + 0.08 * texture[i]) - v) * SynthFields.smoothstep(0.3, 0.7, organs[i]);
                v += (lung * (1 + 0.3 * texture[i]) - v) * SynthFields.smoothstep(0.6, 0.9, lungs[i]) * far;
                v += (fat * (1 + 0.05 * texture[i]) - v) * SynthFields.smoothstep(1.7, 2.1, fats[i]) * far;
              }
            }
            image[i] = (float) v;
          }
        }
      }
      float[] biasField = SynthFields.smooth(r, shape, 60, 60, 60);
      SynthFields.blur(image, shape, 0.8, 0.8, 0.8);
      SynthFields.bias(image, biasField, u(r, 0.15, 0.3));
      SynthFields.rician(image, blood * u(r, 0.05, 0.1), r);
      SynthFields.standardise(image);
      return new Volume(name, nx, ny, nz, image, label);
    }

    private boolean inAtrium(double x, double y, double z, double grow) {
      for (Solid s : atrium) {
        if (s.contains(x, y, z, grow)) {
          return true;
        }
      }
      return false;
    }
  }

  private static double u(SplittableRandom r, double lo, double hi) {
    return SynthFields.uniform(r, lo, hi);
  }

  /** A random rotation matrix (row-major) from three angles in [-max, max]. */
  private static double[] rotation(SplittableRandom r, double max) {
    double a = u(r, -max, max);
    double b = u(r, -max, max);
    double g = u(r, -max, max);
    double ca = StrictMath.cos(a);
    double sa = StrictMath.sin(a);
    double cb = StrictMath.cos(b);
    double sb = StrictMath.sin(b);
    double cg = StrictMath.cos(g);
    double sg = StrictMath.sin(g);
    // Rz(a) * Ry(b) * Rx(g)
    return new double[] {
      ca * cb, ca * sb * sg - sa * cg, ca * sb * cg + sa * sg,
      sa * cb, sa * sb * sg + ca * cg, sa * sb * cg - ca * sg,
      -sb, cb * sg, cb * cg
    };
  }

  private static double[] direction(SplittableRandom r) {
    double[] d = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
    return normalise(d);
  }

  private static double[] normalise(double[] d) {
    double len = Math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    return len == 0 ? new double[] {1, 0, 0} : new double[] {d[0] / len, d[1] / len, d[2] / len};
  }

  private static double[] midpoint(double[] a, double[] b) {
    return new double[] {(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2};
  }

  private static double[] jitter(SplittableRandom r, double[] p, double amount) {
    return new double[] {p[0] + u(r, -amount, amount), p[1] + u(r, -amount, amount), p[2] + u(r, -amount, amount)};
  }
}
