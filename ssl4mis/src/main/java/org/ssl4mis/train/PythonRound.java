package org.ssl4mis.train;

import java.math.BigDecimal;

/** Python's {@code round(x, 4)} and {@code str()} of the result, as the checkpoint file names use them. */
final class PythonRound {
  private PythonRound() {}

  /**
   * {@code str(round(x, 4))}: rounds the exact binary value half-to-even at 4 decimals (Python rounds the
   * double's exact decimal expansion), then prints the shortest repr ({@code 0.8}, {@code 0.8125}, {@code 1.0}).
   */
  static String round4(double x) {
    double r = new BigDecimal(x).setScale(4, java.math.RoundingMode.HALF_EVEN).doubleValue();
    String s = Double.toString(r);
    return s.contains("E") ? new BigDecimal(r).stripTrailingZeros().toPlainString() : s;
  }
}
