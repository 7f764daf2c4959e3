package org.ssl4mis.train;

/**
 * SSL4MIS's {@code code/utils/ramps.py} (multipliers in [0, 1] for ramping hyper-parameters up or down), in
 * double precision, and the scripts' {@code get_current_consistency_weight}.
 *
 * <p>The arithmetic is the reference's, operation for operation, so results agree with Python to the last
 * bit or two (NumPy's {@code exp}/{@code cos} and Java's {@link StrictMath} may round the last bit differently).
 */
public final class Ramps {

  /**
   * The divisor the scripts apply to {@code iter_num} before the ramp: they call
   * {@code get_current_consistency_weight(iter_num // 150)}, so {@code consistency_rampup} (200 by default) is
   * counted in blocks of 150 iterations (30,000 iterations), whatever the real epoch length.
   */
  public static final int ITERATIONS_PER_RAMP_EPOCH = 150;

  private Ramps() {}

  /**
   * {@code sigmoid_rampup(current, rampup_length)}: 1 when the length is 0, else
   * {@code exp(-5 * (1 - clip(current, 0, L) / L)^2)}, from {@code exp(-5)} at 0 up to 1 at {@code L}.
   */
  public static double sigmoid_rampup(double current, double rampupLength) {
    if (rampupLength == 0) {
      return 1.0;
    }
    double c = clip(current, 0.0, rampupLength);
    double phase = 1.0 - c / rampupLength;
    return StrictMath.exp(-5.0 * phase * phase);
  }

  /**
   * {@code linear_rampup(current, rampup_length)}: 1 when {@code current >= L}, else {@code current / L}.
   *
   * @throws IllegalArgumentException where the reference's {@code assert current >= 0 and rampup_length >= 0}
   *     fails
   */
  public static double linear_rampup(double current, double rampupLength) {
    if (!(current >= 0 && rampupLength >= 0)) {
      throw new IllegalArgumentException("linear_rampup needs current >= 0 and rampup_length >= 0, got "
          + current + " and " + rampupLength);
    }
    if (current >= rampupLength) {
      return 1.0;
    }
    return current / rampupLength;
  }

  /**
   * {@code cosine_rampdown(current, rampdown_length)}: {@code 0.5 * (cos(pi * current / L) + 1)}, from 1 at 0
   * down to 0 at {@code L}.
   *
   * @throws IllegalArgumentException where the reference's {@code assert 0 <= current <= rampdown_length}
   *     fails, or for {@code L = 0} (a ZeroDivisionError in Python; {@code current = L = 0} passes the assert)
   */
  public static double cosine_rampdown(double current, double rampdownLength) {
    if (!(0 <= current && current <= rampdownLength)) {
      throw new IllegalArgumentException("cosine_rampdown needs 0 <= current <= rampdown_length, got "
          + current + " and " + rampdownLength);
    }
    if (rampdownLength == 0) {
      throw new IllegalArgumentException("cosine_rampdown: rampdown_length 0 divides by zero");
    }
    return 0.5 * (StrictMath.cos(Math.PI * current / rampdownLength) + 1);
  }

  /**
   * The scripts' {@code get_current_consistency_weight(epoch)}:
   * {@code consistency * sigmoid_rampup(epoch, consistency_rampup)}. Pass what the scripts pass,
   * {@code iter_num // 150}, or use {@link #consistencyWeightAtIteration}.
   */
  public static double consistencyWeight(double consistency, double rampupLength, double epochOrIter) {
    return consistency * sigmoid_rampup(epochOrIter, rampupLength);
  }

  /**
   * {@code get_current_consistency_weight(iter_num // 150)} as every semi-supervised script calls it: the
   * floor division by {@link #ITERATIONS_PER_RAMP_EPOCH} happens before the ramp.
   */
  public static double consistencyWeightAtIteration(double consistency, double rampupLength, long iterNum) {
    return consistencyWeight(consistency, rampupLength, Math.floorDiv(iterNum, ITERATIONS_PER_RAMP_EPOCH));
  }

  /** {@code np.clip(x, lo, hi)}, i.e. {@code minimum(maximum(x, lo), hi)}: NaN propagates, {@code hi} wins. */
  private static double clip(double x, double lo, double hi) {
    return Math.min(Math.max(x, lo), hi);
  }
}
