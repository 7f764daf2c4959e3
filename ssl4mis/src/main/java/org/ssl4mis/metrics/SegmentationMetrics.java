package org.ssl4mis.metrics;

import java.util.Objects;
import java.util.function.BiFunction;

/**
 * The per-case and per-class evaluation functions of the SSL4MIS reference, each with the reference's own
 * conventions for empty predictions and ground truths, on top of {@link Binary} (medpy's metrics).
 *
 * <p>Masks and label maps are flat C-order arrays with an explicit shape (2-D or 3-D; SSL4MIS evaluates 2-D
 * models on whole volumes, slice stacks of shape {@code (slices, h, w)}). Every method takes the prediction
 * first and the ground truth second (the reference's {@code cal_metric(gt, pred)} is the only one that takes
 * them the other way round; its Java twin still takes {@code (prediction, groundTruth)}). The reference never
 * passes a voxel spacing, so the methods without {@code spacing} use 1 along every axis; the overloads with
 * {@code spacing} ({@code null} = 1) are an extension. Binary masks are {@code pred > 0} / {@code gt > 0}, as the
 * reference's {@code pred[pred > 0] = 1}; label maps are split into {@code prediction == i} / {@code label == i}
 * for the classes {@code i = 1 .. numClasses - 1}.
 *
 * <p>Results are {@code double[]} in the order of the reference's return value (a tuple or a NumPy array),
 * and {@code double[numClasses - 1][k]} per class, so that they can be accumulated and averaged like the
 * reference's {@code total_metric}.
 *
 * <table>
 *   <caption>Reference functions and their Java twins</caption>
 *   <tr><th>SSL4MIS</th><th>returns</th><th>empty prediction / ground truth</th><th>Java</th></tr>
 *   <tr><td>{@code val_2D.calculate_metric_percase(pred, gt)}</td><td>dice, hd95</td>
 *       <td>{@code (0, 0)} if {@code pred.sum() == 0}; empty gt with non-empty pred: medpy raises</td>
 *       <td>{@link #val2D}, per class {@link #val2DPerClass} ({@code test_single_volume})</td></tr>
 *   <tr><td>{@code test_2D_fully.calculate_metric_percase(pred, gt)}</td><td>dice, hd95, asd</td>
 *       <td>none: medpy raises on either</td>
 *       <td>{@link #test2DFully}, {@link #test2DFullyPerClass}</td></tr>
 *   <tr><td>{@code val_3D.cal_metric(gt, pred)} = {@code test_3D_util.cal_metric}</td><td>dice, hd95</td>
 *       <td>{@code (0, 0)} unless both are non-empty</td>
 *       <td>{@link #calMetric}, per class {@link #val3DPerClass} ({@code val_3D.test_all_case})</td></tr>
 *   <tr><td>{@code test_3D_util.calculate_metric_percase(pred, gt)}</td><td>dice, |ravd|, hd95, asd</td>
 *       <td>none: medpy raises on either</td><td>{@link #test3D}, {@link #test3DPerClass}</td></tr>
 *   <tr><td>{@code utils.metrics.calculate_metric_percase(pred, gt)}</td><td>dice, jaccard, hd95, asd</td>
 *       <td>none: medpy raises on either (jc: both)</td><td>{@link #diceJaccardHd95Asd}, {@link #diceJaccardHd95AsdPerClass}</td></tr>
 *   <tr><td>{@code utils.metrics.cal_dice(prediction, label, num)} / {@code test_3D_util.cal_dice}</td>
 *       <td>dice per class</td><td>NaN when both are empty (NumPy's 0/0)</td><td>{@link #calDice}</td></tr>
 * </table>
 *
 * <p>"medpy raises" is an {@link EmptyMaskException} here, thrown out of the per-class methods as the Python
 * error escapes the reference's loops.
 */
public final class SegmentationMetrics {

  private SegmentationMetrics() {}

  // ---------------------------------------------------------------- val_2D

  /**
   * {@code val_2D.calculate_metric_percase(pred, gt)}: {@code {dc(pred, gt), hd95(pred, gt)}} when the
   * prediction is not empty, else {@code {0, 0}} (whatever the ground truth).
   *
   * @throws EmptyMaskException when the prediction is not empty but the ground truth is (medpy raises)
   */
  public static double[] val2D(boolean[] pred, boolean[] gt, int[] shape) {
    return val2D(pred, gt, shape, null);
  }

  /** {@link #val2D(boolean[], boolean[], int[])} with a voxel spacing (the reference uses none). */
  public static double[] val2D(boolean[] pred, boolean[] gt, int[] shape, double[] spacing) {
    if (!any(pred)) {
      return new double[] {0, 0};
    }
    double dice = Binary.dc(pred, gt);
    double hd95 = Binary.hd95(pred, gt, shape, spacing);
    return new double[] {dice, hd95};
  }

  /**
   * The {@code metric_list} of {@code val_2D.test_single_volume} (and {@code test_single_volume_ds}) once the
   * prediction is made: {@code calculate_metric_percase(prediction == i, label == i)} for
   * {@code i = 1 .. classes - 1}; row {@code i - 1} is {@code {dice, hd95}}.
   */
  public static double[][] val2DPerClass(LabelMap prediction, LabelMap label, int numClasses) {
    return perClass(prediction, label, numClasses, (p, g) -> val2D(p, g, prediction.shape()));
  }

  // ---------------------------------------------------------------- test_2D_fully

  /**
   * {@code test_2D_fully.calculate_metric_percase(pred, gt)}: {@code {dc, hd95, asd}} of {@code (pred, gt)},
   * in that order (the reference returns {@code dice, hd95, asd}), with no guard.
   *
   * @throws EmptyMaskException when the prediction or the ground truth is empty (medpy raises in {@code asd})
   */
  public static double[] test2DFully(boolean[] pred, boolean[] gt, int[] shape) {
    return test2DFully(pred, gt, shape, null);
  }

  /** {@link #test2DFully(boolean[], boolean[], int[])} with a voxel spacing (the reference uses none). */
  public static double[] test2DFully(boolean[] pred, boolean[] gt, int[] shape, double[] spacing) {
    double dice = Binary.dc(pred, gt);
    Binary.SurfaceDistances sd = Binary.surfaceDistances(pred, gt, shape, spacing, 1);
    double asd = sd.asd();
    double hd95 = sd.hd95();
    return new double[] {dice, hd95, asd};
  }

  /**
   * The three {@code calculate_metric_percase(prediction == i, label == i)} of
   * {@code test_2D_fully.test_single_volume} ({@code i = 1, 2, 3}), generalised to {@code i = 1 .. numClasses - 1};
   * rows {@code {dice, hd95, asd}}.
   */
  public static double[][] test2DFullyPerClass(LabelMap prediction, LabelMap label, int numClasses) {
    return perClass(prediction, label, numClasses, (p, g) -> test2DFully(p, g, prediction.shape()));
  }

  // ---------------------------------------------------------------- val_3D / test_3D_util

  /**
   * {@code val_3D.cal_metric(gt, pred)} (identical to {@code test_3D_util.cal_metric}): {@code {dc(pred, gt),
   * hd95(pred, gt)}} if both masks are non-empty, else {@code {0, 0}}. Note the Java argument order
   * {@code (pred, gt)}.
   */
  public static double[] calMetric(boolean[] pred, boolean[] gt, int[] shape) {
    return calMetric(pred, gt, shape, null);
  }

  /** {@link #calMetric(boolean[], boolean[], int[])} with a voxel spacing (the reference uses none). */
  public static double[] calMetric(boolean[] pred, boolean[] gt, int[] shape, double[] spacing) {
    if (any(pred) && any(gt)) {
      double dice = Binary.dc(pred, gt);
      double hd95 = Binary.hd95(pred, gt, shape, spacing);
      return new double[] {dice, hd95};
    }
    return new double[] {0, 0};
  }

  /**
   * The per-class loop of {@code val_3D.test_all_case}: {@code cal_metric(label == i, prediction == i)} for
   * {@code i = 1 .. numClasses - 1}; rows {@code {dice, hd95}} (the reference sums them over cases in
   * {@code total_metric[i - 1, :]}).
   */
  public static double[][] val3DPerClass(LabelMap prediction, LabelMap label, int numClasses) {
    return perClass(prediction, label, numClasses, (p, g) -> calMetric(p, g, prediction.shape()));
  }

  /**
   * {@code test_3D_util.calculate_metric_percase(pred, gt)}: {@code {dc, abs(ravd), hd95, asd}} of
   * {@code (pred, gt)}, with no guard.
   *
   * @throws EmptyMaskException when the ground truth (ravd, checked first) or the prediction is empty
   */
  public static double[] test3D(boolean[] pred, boolean[] gt, int[] shape) {
    return test3D(pred, gt, shape, null);
  }

  /** {@link #test3D(boolean[], boolean[], int[])} with a voxel spacing (the reference uses none). */
  public static double[] test3D(boolean[] pred, boolean[] gt, int[] shape, double[] spacing) {
    double dice = Binary.dc(pred, gt);
    double ravd = Math.abs(Binary.ravd(pred, gt));
    Binary.SurfaceDistances sd = Binary.surfaceDistances(pred, gt, shape, spacing, 1);
    return new double[] {dice, ravd, sd.hd95(), sd.asd()};
  }

  /**
   * {@code test_3D_util.test_all_case} evaluates only class 1 ({@code calculate_metric_percase(prediction == 1,
   * label == 1)}); this generalises it to {@code i = 1 .. numClasses - 1}; rows {@code {dice, |ravd|, hd95, asd}}.
   */
  public static double[][] test3DPerClass(LabelMap prediction, LabelMap label, int numClasses) {
    return perClass(prediction, label, numClasses, (p, g) -> test3D(p, g, prediction.shape()));
  }

  // ---------------------------------------------------------------- utils/metrics.py

  /**
   * {@code utils.metrics.calculate_metric_percase(pred, gt)}: {@code {dc, jc, hd95, asd}} of {@code (pred, gt)}
   * (Dice, Jaccard, 95% Hausdorff, average surface distance), with no guard.
   *
   * @throws EmptyMaskException when the prediction or the ground truth is empty (jc raises only when both are;
   *     hd95 raises for either)
   */
  public static double[] diceJaccardHd95Asd(boolean[] pred, boolean[] gt, int[] shape) {
    return diceJaccardHd95Asd(pred, gt, shape, null);
  }

  /** {@link #diceJaccardHd95Asd(boolean[], boolean[], int[])} with a voxel spacing (the reference uses none). */
  public static double[] diceJaccardHd95Asd(boolean[] pred, boolean[] gt, int[] shape, double[] spacing) {
    double dice = Binary.dc(pred, gt);
    double jaccard = Binary.jc(pred, gt);
    Binary.SurfaceDistances sd = Binary.surfaceDistances(pred, gt, shape, spacing, 1);
    return new double[] {dice, jaccard, sd.hd95(), sd.asd()};
  }

  /** {@link #diceJaccardHd95Asd} for {@code prediction == i, label == i}, {@code i = 1 .. numClasses - 1}. */
  public static double[][] diceJaccardHd95AsdPerClass(LabelMap prediction, LabelMap label, int numClasses) {
    return perClass(prediction, label, numClasses, (p, g) -> diceJaccardHd95Asd(p, g, prediction.shape()));
  }

  /**
   * {@code utils.metrics.cal_dice(prediction, label, num)} (also in {@code test_3D_util}): for
   * {@code i = 1 .. num - 1}, {@code 2 sum(p * l) / (sum(p) + sum(l))} in float64, which is NaN (NumPy's 0/0)
   * when class {@code i} is in neither map.
   */
  public static double[] calDice(LabelMap prediction, LabelMap label, int num) {
    checkPair(prediction, label, num);
    double[] out = new double[num - 1];
    for (int i = 1; i < num; i++) {
      boolean[] p = prediction.mask(i);
      boolean[] l = label.mask(i);
      long inter = 0;
      long sp = 0;
      long sl = 0;
      for (int k = 0; k < p.length; k++) {
        if (p[k]) {
          sp++;
        }
        if (l[k]) {
          sl++;
        }
        if (p[k] && l[k]) {
          inter++;
        }
      }
      out[i - 1] = 2 * (double) inter / ((double) sp + (double) sl);
    }
    return out;
  }

  // ---------------------------------------------------------------- per class

  /**
   * {@code [metric(prediction == i, label == i) for i in range(1, numClasses)]}: the loop every reference
   * evaluation runs over the foreground classes.
   */
  public static double[][] perClass(LabelMap prediction, LabelMap label, int numClasses,
      BiFunction<boolean[], boolean[], double[]> metric) {
    checkPair(prediction, label, numClasses);
    Objects.requireNonNull(metric, "metric");
    double[][] rows = new double[numClasses - 1][];
    for (int i = 1; i < numClasses; i++) {
      rows[i - 1] = metric.apply(prediction.mask(i), label.mask(i));
    }
    return rows;
  }

  private static void checkPair(LabelMap prediction, LabelMap label, int numClasses) {
    Objects.requireNonNull(prediction, "prediction");
    Objects.requireNonNull(label, "label");
    if (!java.util.Arrays.equals(prediction.shape(), label.shape())) {
      throw new IllegalArgumentException("prediction shape " + java.util.Arrays.toString(prediction.shape())
          + " differs from label shape " + java.util.Arrays.toString(label.shape()));
    }
    if (numClasses < 1) {
      throw new IllegalArgumentException("numClasses must be at least 1: " + numClasses);
    }
  }

  private static boolean any(boolean[] m) {
    for (boolean b : m) {
      if (b) {
        return true;
      }
    }
    return false;
  }

  /**
   * A label map (integer class per voxel, C order) with its shape: {@code uint8} bytes (read as
   * {@code b & 0xFF}, as {@code h5py} reads the {@code label} datasets), {@code int32} or {@code int64}
   * (argmax predictions).
   */
  public static final class LabelMap {
    private final int[] shape;
    private final byte[] u8;
    private final int[] i32;
    private final long[] i64;

    private LabelMap(int[] shape, byte[] u8, int[] i32, long[] i64, int length) {
      DistanceTransform.checkShape(length, shape);
      this.shape = shape.clone();
      this.u8 = u8;
      this.i32 = i32;
      this.i64 = i64;
    }

    /** A {@code uint8} label map (values {@code b & 0xFF}); the array is used, not copied. */
    public static LabelMap of(byte[] labels, int[] shape) {
      return new LabelMap(shape, Objects.requireNonNull(labels, "labels"), null, null, labels.length);
    }

    /** An {@code int32} label map; the array is used, not copied. */
    public static LabelMap of(int[] labels, int[] shape) {
      return new LabelMap(shape, null, Objects.requireNonNull(labels, "labels"), null, labels.length);
    }

    /** An {@code int64} label map; the array is used, not copied. */
    public static LabelMap of(long[] labels, int[] shape) {
      return new LabelMap(shape, null, null, Objects.requireNonNull(labels, "labels"), labels.length);
    }

    /** The shape (a copy). */
    public int[] shape() {
      return shape.clone();
    }

    /** Number of voxels. */
    public int size() {
      return u8 != null ? u8.length : i32 != null ? i32.length : i64.length;
    }

    /** {@code labels == value}. */
    public boolean[] mask(long value) {
      int n = size();
      boolean[] m = new boolean[n];
      if (u8 != null) {
        for (int i = 0; i < n; i++) {
          m[i] = (u8[i] & 0xFF) == value;
        }
      } else if (i32 != null) {
        for (int i = 0; i < n; i++) {
          m[i] = i32[i] == value;
        }
      } else {
        for (int i = 0; i < n; i++) {
          m[i] = i64[i] == value;
        }
      }
      return m;
    }
  }
}
