package org.ssl4mis.evaluation;

import java.util.Arrays;
import java.util.List;
import org.ssl4mis.metrics.SegmentationMetrics;

/**
 * Dice, Jaccard, HD95 and ASD of one test case, per foreground class ({@code prediction == c} against
 * {@code label == c}, {@code c = 1 .. numClasses - 1}), as {@link SegmentationMetrics#diceJaccardHd95Asd} computes
 * them (medpy's {@code dc}, {@code jc}, {@code hd95}, {@code asd}).
 *
 * <p>Where medpy raises (an empty prediction or ground truth; the reference's {@code test_2D_fully.py} stops
 * there), this records instead: Dice and Jaccard 0 when exactly one mask is empty (their value by definition),
 * NaN when both are (the class is absent: nothing to score); HD95 and ASD NaN whenever a mask is empty (no
 * surface to measure from). Summaries leave NaN out and say how many cases they averaged.
 *
 * @param name the case's name (the HDF5 file's stem)
 * @param values {@code values[c - 1][m]}: metric {@code m} ({@link #METRICS} order) of class {@code c}
 */
public record CaseMetrics(String name, double[][] values) {
  /** The metric names, in the order of each row of {@link #values()}. */
  public static final List<String> METRICS = List.of("dice", "jaccard", "hd95", "asd");

  public CaseMetrics {
    values = Arrays.stream(values).map(double[]::clone).toArray(double[][]::new);
  }

  @Override
  public double[][] values() {
    return Arrays.stream(values).map(double[]::clone).toArray(double[][]::new);
  }

  /** Metric {@code metric} ({@link #METRICS} index) of class {@code c} (1-based). */
  public double value(int c, int metric) {
    return values[c - 1][metric];
  }

  /** The foreground classes scored. */
  public int foregroundClasses() {
    return values.length;
  }

  /**
   * Scores a predicted label map against the ground truth.
   *
   * @param spacing voxel sizes along the array's axes for HD95 and ASD, or null for 1 (the reference)
   */
  public static CaseMetrics of(String name, long[] prediction, byte[] label, int[] shape, int numClasses, double[] spacing) {
    SegmentationMetrics.LabelMap p = SegmentationMetrics.LabelMap.of(prediction, shape);
    SegmentationMetrics.LabelMap g = SegmentationMetrics.LabelMap.of(label, shape);
    double[][] rows = SegmentationMetrics.perClass(p, g, numClasses, (pm, gm) -> ofMasks(pm, gm, shape, spacing));
    return new CaseMetrics(name, rows);
  }

  /** One class's row, with the empty-mask rules of this class's Javadoc. */
  static double[] ofMasks(boolean[] pred, boolean[] gt, int[] shape, double[] spacing) {
    boolean anyPred = any(pred);
    boolean anyGt = any(gt);
    if (anyPred && anyGt) {
      return SegmentationMetrics.diceJaccardHd95Asd(pred, gt, shape, spacing);
    }
    double overlap = anyPred || anyGt ? 0.0 : Double.NaN;
    return new double[] {overlap, overlap, Double.NaN, Double.NaN};
  }

  private static boolean any(boolean[] mask) {
    for (boolean b : mask) {
      if (b) {
        return true;
      }
    }
    return false;
  }
}
