package org.ssl4mis.metrics;

/**
 * A metric is undefined because a mask is empty: where medpy's {@code metric.binary} raises.
 *
 * <ul>
 *   <li>{@code hd}, {@code hd95}, {@code asd}, {@code assd} (medpy's {@code __surface_distances}): medpy raises
 *       {@code RuntimeError('The first supplied array does not contain any binary object.')} when the result
 *       (first argument) has no voxel, else {@code '... second ...'} when the reference has none:
 *       {@link Operand#RESULT} / {@link Operand#REFERENCE}, with the same message.</li>
 *   <li>{@code ravd}: {@code RuntimeError} for an empty reference ({@link Operand#REFERENCE}).</li>
 *   <li>{@code jc}: {@code ZeroDivisionError} when both masks are empty ({@link Operand#BOTH}).</li>
 * </ul>
 *
 * <p>The SSL4MIS evaluation functions that call these metrics without guarding against empty masks (for
 * example {@code test_2D_fully.calculate_metric_percase}) let that error escape, and so do their Java twins in
 * {@link SegmentationMetrics}.
 */
public final class EmptyMaskException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Which mask is empty. */
  public enum Operand {
    /** The first argument ({@code result}, the prediction). */
    RESULT,
    /** The second argument ({@code reference}, the ground truth). */
    REFERENCE,
    /** Both (their union is empty). */
    BOTH
  }

  private final Operand operand;

  public EmptyMaskException(Operand operand, String message) {
    super(message);
    this.operand = operand;
  }

  /** Which mask is empty. */
  public Operand operand() {
    return operand;
  }

  static EmptyMaskException first() {
    return new EmptyMaskException(Operand.RESULT, "The first supplied array does not contain any binary object.");
  }

  static EmptyMaskException second() {
    return new EmptyMaskException(Operand.REFERENCE,
        "The second supplied array does not contain any binary object.");
  }

  static EmptyMaskException both() {
    return new EmptyMaskException(Operand.BOTH,
        "Both supplied arrays are empty: the Jaccard coefficient is 0/0 (medpy raises ZeroDivisionError).");
  }
}
