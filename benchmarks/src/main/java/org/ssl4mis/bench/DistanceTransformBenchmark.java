package org.ssl4mis.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import org.ssl4mis.metrics.Binary;
import org.ssl4mis.metrics.DistanceTransform;

/**
 * The exact Euclidean distance transform and HD95 on a 512x512x100 volume (a CT-sized case), the cost that
 * decides whether evaluating a test set takes seconds or minutes. The masks are two overlapping ellipsoids a
 * few voxels apart (a prediction close to its ground truth), with anisotropic spacing (0.7, 0.7, 2.5 mm).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx8g"})
public class DistanceTransformBenchmark {
  private static final int[] SHAPE = {512, 512, 100};
  private static final double[] SPACING = {0.7, 0.7, 2.5};

  private boolean[] prediction;
  private boolean[] truth;

  @Setup
  public void masks() {
    truth = ellipsoid(256, 256, 50, 150, 120, 35);
    prediction = ellipsoid(260, 252, 52, 146, 124, 33);
  }

  private static boolean[] ellipsoid(double cx, double cy, double cz, double rx, double ry, double rz) {
    boolean[] m = new boolean[SHAPE[0] * SHAPE[1] * SHAPE[2]];
    int k = 0;
    for (int x = 0; x < SHAPE[0]; x++) {
      for (int y = 0; y < SHAPE[1]; y++) {
        for (int z = 0; z < SHAPE[2]; z++) {
          double dx = (x - cx) / rx;
          double dy = (y - cy) / ry;
          double dz = (z - cz) / rz;
          m[k++] = dx * dx + dy * dy + dz * dz <= 1;
        }
      }
    }
    return m;
  }

  /** The distance transform of the whole volume (scipy's distance_transform_edt with sampling). */
  @Benchmark
  public double[] distanceTransform() {
    return DistanceTransform.distances(truth, SHAPE, SPACING);
  }

  /** medpy's hd95 of the two masks (surfaces, then distance transforms on their bounding box). */
  @Benchmark
  public double hd95() {
    return Binary.hd95(prediction, truth, SHAPE, SPACING);
  }
}
