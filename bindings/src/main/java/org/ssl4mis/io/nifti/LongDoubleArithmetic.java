package org.ssl4mis.io.nifti;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * Binary floating-point arithmetic with a chosen significand width, each operation rounded to nearest-even, on
 * exact {@link BigDecimal} values: the C {@code long double} that numpy's {@code np.longdouble} uses, so that
 * the qform affine comes out bit for bit as nibabel computes it (nibabel builds the rotation from the
 * quaternion in {@code np.longdouble}: 64-bit significands on x86-64, 113 on Linux/aarch64, 53 where
 * {@code long double} is {@code double}). Exponent range limits (overflow, subnormals) are not modelled; the
 * header values this is used for are far from them.
 */
final class LongDoubleArithmetic {
  /** Decimal digits for the inexact steps (division, square root) before the final binary rounding. */
  private static final MathContext WIDE = new MathContext(200, RoundingMode.HALF_EVEN);
  private static final double LOG2_10 = Math.log(10) / Math.log(2);

  private final int bits;

  LongDoubleArithmetic(int bits) {
    if (bits < 24 || bits > 200) {
      throw new IllegalArgumentException("significand bits " + bits);
    }
    this.bits = bits;
  }

  /** numpy's {@code np.longdouble} on this machine, judged from the operating system and architecture. */
  static LongDoubleArithmetic platformLongDouble() {
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("x86") || arch.equals("i386")) {
      return os.contains("windows") ? new LongDoubleArithmetic(53) : new LongDoubleArithmetic(64);
    }
    if ((arch.equals("aarch64") || arch.equals("s390x") || arch.equals("riscv64")) && os.contains("linux")) {
      return new LongDoubleArithmetic(113);
    }
    return new LongDoubleArithmetic(53);
  }

  int bits() {
    return bits;
  }

  /** The exact value of a double (or float widened to double). */
  BigDecimal of(double v) {
    return new BigDecimal(v);
  }

  BigDecimal add(BigDecimal a, BigDecimal b) {
    return round(a.add(b), bits);
  }

  BigDecimal sub(BigDecimal a, BigDecimal b) {
    return round(a.subtract(b), bits);
  }

  BigDecimal mul(BigDecimal a, BigDecimal b) {
    return round(a.multiply(b), bits);
  }

  BigDecimal div(BigDecimal a, BigDecimal b) {
    return round(a.divide(b, WIDE), bits);
  }

  BigDecimal sqrt(BigDecimal a) {
    return round(a.sqrt(WIDE), bits);
  }

  /** The value rounded to the nearest double (ties to even), as a cast of the long double to double does. */
  static double toDouble(BigDecimal x) {
    return round(x, 53).doubleValue();
  }

  /** {@code x} rounded to {@code p} significant bits, ties to even. */
  static BigDecimal round(BigDecimal x, int p) {
    int sign = x.signum();
    if (sign == 0) {
      return BigDecimal.ZERO;
    }
    BigDecimal a = x.abs();
    // Estimate the binary exponent e with 2^e <= a < 2^(e+1), then correct it exactly.
    BigInteger unscaled = a.unscaledValue();
    long e = (long) Math.floor((unscaled.bitLength() - 1) - a.scale() * LOG2_10);
    BigDecimal low = new BigDecimal(BigInteger.ONE.shiftLeft(p - 1));
    BigDecimal high = new BigDecimal(BigInteger.ONE.shiftLeft(p));
    BigDecimal m;
    while (true) {
      m = scaleByPowerOfTwo(a, p - 1 - e); // in [2^(p-1), 2^p) when e is right
      if (m.compareTo(low) < 0) {
        e--;
      } else if (m.compareTo(high) >= 0) {
        e++;
      } else {
        break;
      }
    }
    BigDecimal r = m.setScale(0, RoundingMode.HALF_EVEN);
    BigDecimal out = scaleByPowerOfTwo(r, -(p - 1 - e));
    return sign < 0 ? out.negate() : out;
  }

  /** {@code a * 2^k}, exactly. */
  private static BigDecimal scaleByPowerOfTwo(BigDecimal a, long k) {
    if (k == 0) {
      return a;
    }
    if (Math.abs(k) > 100_000) {
      throw new ArithmeticException("exponent out of range: " + k);
    }
    int n = (int) Math.abs(k);
    if (k > 0) {
      return a.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(n)));
    }
    // 2^-n = 5^n / 10^n, exact in decimal.
    return a.multiply(new BigDecimal(BigInteger.valueOf(5).pow(n), n));
  }
}
