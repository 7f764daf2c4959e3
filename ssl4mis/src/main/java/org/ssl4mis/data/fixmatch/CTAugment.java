package org.ssl4mis.data.fixmatch;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.StringJoiner;

/**
 * The CTAugment policy object of {@code ctaugment.py} ({@code CTAugment(depth=2, th=0.85, decay=0.99)}) as the
 * reference's {@code train_fixmatch_cta.py} uses it.
 *
 * <ul>
 *   <li><b>Rates</b>: one {@code float32} array of ones per argument of each op ({@code np.ones(bins, "f")}).</li>
 *   <li>{@link #rateToP}: {@code p = rate + (1 - decay)}; {@code p /= p.max()}; {@code p[p < th] = 0}, all in
 *       {@code float32} as NumPy 1.24 computes it (the Python floats become {@code float32} scalars).</li>
 *   <li>{@link #policy}{@code (probe, weak)}: {@code depth} times, an op drawn uniformly
 *       ({@code random.choice}) from the weak ops or the strong ops ({@link CtaOp#isWeak}), then one uniform
 *       {@code r} per argument; a probe policy uses {@code r} as the argument, otherwise each argument is
 *       {@code (bin + r) / nbins} with {@code bin} drawn from {@code p / p.sum()}
 *       ({@code np.random.choice}: {@code float32} pairwise sum and division, then a {@code float64} cumulative
 *       sum, normalised by its last entry, searched on the right for a uniform draw). The draws happen in the
 *       reference's order (all {@code r} of an op, then its bins), from one {@link SplittableRandom} instead of
 *       Python's and NumPy's generators.</li>
 *   <li>{@link #updateRates}{@code (policy, proximity)}: for each argument {@code a} of each op in the policy,
 *       bin {@code int(a * nbins * 0.999)} becomes {@code rate * decay + proximity * (1 - decay)}, evaluated in
 *       {@code float64} (a NumPy {@code float32} scalar times a Python float is a {@code float64} in NumPy 1.x)
 *       and stored back as {@code float32}. The FixMatch-CTA script calls it once per epoch, after the last
 *       batch, with the epoch's current weak policy and then its strong policy, and
 *       {@code proximity = 1 - 0.5 * mean(epoch_errors)} where each batch appended {@code 0.5 * loss.item()}
 *       ({@link #proximity}).</li>
 *   <li>{@link #stats}: the reference's text, {@code "%-16s    %s"} per op in sorted name order, the arguments'
 *       {@code rate_to_p} values as {@code "%.2f"} (Python's exact half-even formatting) joined by spaces, the
 *       arguments joined by {@code " / "}.</li>
 * </ul>
 *
 * <p>The reference has no {@code confidence} parameter in CTAugment (the {@code --conf_thresh} of the FixMatch
 * scripts is the pseudo-label threshold); the parameters are {@code depth}, {@code th} and {@code decay}. Not
 * thread-safe: the training loop samples and updates from one thread, as the reference does.
 */
public final class CTAugment {
  /** {@code num_strong_ops} in the reference's {@code policy}: the first 11 ops of {@link CtaOp}. */
  public static final int NUM_STRONG_OPS = 11;

  /** One sampled op with its arguments in {@code [0, 1)} (the reference's {@code OP(f=name, bins=[...])}). */
  public record OpChoice(CtaOp op, double[] args) {
    public OpChoice {
      Objects.requireNonNull(op, "op");
      args = args.clone();
      if (args.length != op.arity()) {
        throw new IllegalArgumentException(op.key() + " takes " + op.arity() + " argument(s), got "
            + Arrays.toString(args));
      }
    }

    @Override
    public double[] args() {
      return args.clone();
    }

    /** The reference's repr, e.g. {@code OP(f='rotate', bins=[0.4141])} (arguments with Python's repr). */
    @Override
    public String toString() {
      StringJoiner j = new StringJoiner(", ", "[", "]");
      for (double a : args) {
        j.add(pyRepr(a));
      }
      return "OP(f='" + op.key() + "', bins=" + j + ")";
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof OpChoice c && c.op == op && Arrays.equals(c.args, args);
    }

    @Override
    public int hashCode() {
      return 31 * op.hashCode() + Arrays.hashCode(args);
    }
  }

  private final int depth;
  private final double th;
  private final double decay;
  private final EnumMap<CtaOp, float[][]> rates = new EnumMap<>(CtaOp.class);

  /** {@code CTAugment()}: depth 2, threshold 0.85, decay 0.99. */
  public CTAugment() {
    this(2, 0.85, 0.99);
  }

  /** {@code CTAugment(depth, th, decay)} with every rate 1. */
  public CTAugment(int depth, double th, double decay) {
    if (depth < 0) {
      throw new IllegalArgumentException("depth must be >= 0, got " + depth);
    }
    this.depth = depth;
    this.th = th;
    this.decay = decay;
    for (CtaOp op : CtaOp.values()) {
      int[] bins = op.bins();
      float[][] r = new float[bins.length][];
      for (int i = 0; i < bins.length; i++) {
        r[i] = new float[bins[i]];
        Arrays.fill(r[i], 1f);
      }
      rates.put(op, r);
    }
  }

  public int depth() {
    return depth;
  }

  public double th() {
    return th;
  }

  public double decay() {
    return decay;
  }

  /** A copy of the rates of {@code op}, one array per argument. */
  public float[][] rates(CtaOp op) {
    float[][] r = rates.get(op);
    float[][] copy = new float[r.length][];
    for (int i = 0; i < r.length; i++) {
      copy[i] = r[i].clone();
    }
    return copy;
  }

  /** A copy of every op's rates ({@code state_dict()["rates"]}). */
  public Map<CtaOp, float[][]> rates() {
    Map<CtaOp, float[][]> m = new EnumMap<>(CtaOp.class);
    for (CtaOp op : CtaOp.values()) {
      m.put(op, rates(op));
    }
    return Collections.unmodifiableMap(m);
  }

  /** Replaces the rates of {@code op} (as {@code load_state_dict} does); the shapes must match the op's bins. */
  public void setRates(CtaOp op, float[][] newRates) {
    int[] bins = op.bins();
    if (newRates.length != bins.length) {
      throw new IllegalArgumentException(op.key() + " has " + bins.length + " argument(s), got " + newRates.length
          + " rate arrays");
    }
    float[][] r = rates.get(op);
    for (int i = 0; i < bins.length; i++) {
      if (newRates[i].length != bins[i]) {
        throw new IllegalArgumentException(op.key() + " argument " + i + " has " + bins[i] + " bins, got "
            + newRates[i].length + " rates");
      }
      r[i] = newRates[i].clone();
    }
  }

  /** {@code rate_to_p(rate)} in {@code float32}. */
  public float[] rateToP(float[] rate) {
    float add = (float) (1 - decay);
    float thf = (float) th;
    float[] p = new float[rate.length];
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < p.length; i++) {
      p[i] = rate[i] + add;
      max = Math.max(max, p[i]); // NaN propagates, as in np.max
    }
    for (int i = 0; i < p.length; i++) {
      p[i] = p[i] / max;
      if (p[i] < thf) {
        p[i] = 0f;
      }
    }
    return p;
  }

  /** {@code policy(probe, weak)}: {@link #depth()} ops with their arguments (see the class doc). */
  public List<OpChoice> policy(boolean probe, boolean weak, SplittableRandom random) {
    List<CtaOp> candidates = new ArrayList<>();
    for (CtaOp op : CtaOp.values()) {
      if (op.isWeak() == weak) {
        candidates.add(op);
      }
    }
    List<OpChoice> v = new ArrayList<>(depth);
    for (int d = 0; d < depth; d++) {
      CtaOp k = candidates.get(random.nextInt(candidates.size()));
      float[][] bins = rates.get(k);
      double[] rnd = new double[bins.length];
      for (int i = 0; i < rnd.length; i++) {
        rnd[i] = random.nextDouble();
      }
      if (probe) {
        v.add(new OpChoice(k, rnd));
        continue;
      }
      double[] vt = new double[bins.length];
      for (int i = 0; i < bins.length; i++) {
        float[] p = rateToP(bins[i]);
        int value = choice(normalized(p), random);
        vt[i] = (value + rnd[i]) / p.length;
      }
      v.add(new OpChoice(k, vt));
    }
    return Collections.unmodifiableList(v);
  }

  /** {@code p / p.sum()} in {@code float32} with NumPy's pairwise sum. */
  static float[] normalized(float[] p) {
    float sum = pairwiseSum(p, 0, p.length);
    float[] q = new float[p.length];
    for (int i = 0; i < q.length; i++) {
      q[i] = p[i] / sum;
    }
    return q;
  }

  /**
   * {@code np.random.choice(len(p), p=p)} given the probabilities: the index of the first entry of the
   * normalised {@code float64} cumulative sum that exceeds one uniform draw.
   */
  static int choice(float[] p, SplittableRandom random) {
    double[] cdf = new double[p.length];
    double acc = 0;
    for (int i = 0; i < p.length; i++) {
      if (!(p[i] >= 0)) {
        throw new IllegalStateException(Float.isNaN(p[i]) ? "probabilities contain NaN"
            : "probabilities are not non-negative");
      }
      acc += p[i];
      cdf[i] = acc;
    }
    double last = cdf[cdf.length - 1];
    for (int i = 0; i < cdf.length; i++) {
      cdf[i] /= last;
    }
    double u = random.nextDouble();
    int idx = 0;
    while (idx < cdf.length && cdf[idx] <= u) {
      idx++;
    }
    return Math.min(idx, cdf.length - 1);
  }

  /**
   * {@code update_rates(policy, proximity)}: moves the bin each argument of each op fell in towards
   * {@code proximity} (see the class doc).
   */
  public void updateRates(List<OpChoice> policy, double proximity) {
    for (OpChoice c : policy) {
      float[][] r = rates.get(c.op());
      double[] args = c.args;
      for (int i = 0; i < Math.min(args.length, r.length); i++) {
        float[] rate = r[i];
        int p = (int) (args[i] * rate.length * 0.999);
        rate[p] = (float) ((double) rate[p] * decay + proximity * (1 - decay));
      }
    }
  }

  /**
   * The proximity the FixMatch-CTA script feeds back after an epoch: {@code 1.0 - 0.5 * np.mean(epochErrors)},
   * where each labelled-and-unlabelled batch appended {@code 0.5 * loss.item()} to {@code epochErrors} (NumPy's
   * pairwise {@code float64} mean; NaN for an empty epoch).
   */
  public static double proximity(double[] epochErrors) {
    return 1.0 - 0.5 * npMean(epochErrors);
  }

  /** {@code np.mean(x)} of a {@code float64} vector: NumPy's pairwise sum divided by the count. */
  static double npMean(double[] x) {
    return org.ssl4mis.metrics.Binary.mean(x);
  }

  /** NumPy's {@code pairwise_sum} for {@code float32} (8 accumulators in blocks of up to 128, halves above). */
  static float pairwiseSum(float[] a, int from, int n) {
    if (n < 8) {
      float res = 0f;
      for (int i = 0; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    if (n <= 128) {
      float[] r = new float[8];
      System.arraycopy(a, from, r, 0, 8);
      int i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (int j = 0; j < 8; j++) {
          r[j] += a[from + i + j];
        }
      }
      float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    int n2 = n / 2;
    n2 -= n2 % 8;
    return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
  }

  /** {@code stats()}: the reference's text (see the class doc). */
  public String stats() {
    List<CtaOp> sorted = new ArrayList<>(List.of(CtaOp.values()));
    sorted.sort((a, b) -> a.key().compareTo(b.key()));
    StringJoiner lines = new StringJoiner("\n");
    for (CtaOp op : sorted) {
      StringJoiner args = new StringJoiner(" / ");
      for (float[] rate : rates.get(op)) {
        StringJoiner values = new StringJoiner(" ");
        for (float x : rateToP(rate)) {
          values.add(format2(x));
        }
        args.add(values.toString());
      }
      lines.add(String.format(Locale.ROOT, "%-16s    %s", op.key(), args));
    }
    return lines.toString();
  }

  /** {@code cta_apply(img, ops)}: the ops in order; {@code null} ops leave the image as it is. */
  public static GrayImage apply(GrayImage img, List<OpChoice> ops, SplittableRandom random) {
    if (ops == null) {
      return img;
    }
    GrayImage x = img;
    for (OpChoice c : ops) {
      x = c.op().apply(x, c.args, random);
    }
    return x;
  }

  /** Python's {@code "%.2f" % x}: the exact binary value rounded half to even, with Python's sign and specials. */
  static String format2(double x) {
    if (Double.isNaN(x)) {
      return "nan";
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? "inf" : "-inf";
    }
    String s = new BigDecimal(x).setScale(2, RoundingMode.HALF_EVEN).abs().toPlainString();
    boolean negative = x < 0 || (x == 0 && 1 / x < 0);
    return negative ? "-" + s : s;
  }

  /** Python's {@code repr} of a float (shortest round-trip digits; exponent form outside [1e-4, 1e16)). */
  static String pyRepr(double x) {
    if (Double.isNaN(x)) {
      return "nan";
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? "inf" : "-inf";
    }
    if (x == 0) {
      return 1 / x < 0 ? "-0.0" : "0.0";
    }
    BigDecimal shortest = new BigDecimal(Double.toString(x)).stripTrailingZeros();
    double ax = Math.abs(x);
    if (ax >= 1e-4 && ax < 1e16) {
      String s = shortest.toPlainString();
      return s.contains(".") ? s : s + ".0";
    }
    String digits = shortest.unscaledValue().abs().toString();
    int exp = digits.length() - 1 - shortest.scale();
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    return (x < 0 ? "-" : "") + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "")
        + Math.abs(exp);
  }
}
