package org.ssl4mis.data.prepare;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A train/val/test split by shares ({@code 70/10/20}, {@code 80/20}), applied with a seed.
 *
 * <p><b>Sizes</b> of {@code n} cases: each part's exact share {@code n * part / total} is rounded down, and the
 * cases left over go one each to the parts with the largest remainders (ties to the earlier part: train, then
 * val, then test). 100 cases at 70/10/20 give 70/10/20; 5 give 4/0/1; 10 give 7/1/2.
 *
 * <p><b>Order</b>: the case names sorted, shuffled by {@code java.util.Collections.shuffle} with
 * {@code new java.util.Random(seed)} (the same on every JVM), then cut into train, val and test in that order;
 * each list keeps the shuffled order, so the first cases of {@code train} are a random choice (the reference
 * takes the labelled cases from the start of its training list).
 *
 * @param train the train share
 * @param val the val share (0 for a two-part split)
 * @param test the test share
 */
public record SplitPlan(double train, double val, double test) {
  public SplitPlan {
    for (double d : new double[] {train, val, test}) {
      if (!(d >= 0) || !Double.isFinite(d)) {
        throw new IllegalArgumentException("split shares must be >= 0, got " + train + "/" + val + "/" + test);
      }
    }
    if (train + val + test <= 0) {
      throw new IllegalArgumentException("split shares must not all be 0");
    }
  }

  /** The three lists. */
  public record Parts(List<String> train, List<String> val, List<String> test) {
    public Parts {
      train = List.copyOf(train);
      val = List.copyOf(val);
      test = List.copyOf(test);
    }

    public int size() {
      return train.size() + val.size() + test.size();
    }
  }

  /**
   * Parses {@code TRAIN/VAL/TEST} or {@code TRAIN/TEST} (val 0); numbers may have decimals, {@code :} or
   * {@code ,} may separate them.
   */
  public static SplitPlan parse(String text) {
    String[] parts = text.strip().split("\\s*[/:,]\\s*");
    double[] v = new double[parts.length];
    try {
      for (int i = 0; i < parts.length; i++) {
        v[i] = Double.parseDouble(parts[i]);
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("split '" + text + "' is not TRAIN/VAL/TEST or TRAIN/TEST shares, e.g. 70/10/20");
    }
    return switch (v.length) {
      case 2 -> new SplitPlan(v[0], 0, v[1]);
      case 3 -> new SplitPlan(v[0], v[1], v[2]);
      default -> throw new IllegalArgumentException("split '" + text + "' has " + v.length
          + " parts; give TRAIN/VAL/TEST or TRAIN/TEST, e.g. 70/10/20");
    };
  }

  /** The number of cases in train, val and test for {@code n} cases. */
  public int[] sizes(int n) {
    double[] shares = {train, val, test};
    double total = train + val + test;
    int[] out = new int[3];
    double[] remainder = new double[3];
    int used = 0;
    for (int i = 0; i < 3; i++) {
      double exact = n * shares[i] / total;
      out[i] = (int) Math.floor(exact);
      remainder[i] = exact - out[i];
      used += out[i];
    }
    for (int left = n - used; left > 0; left--) {
      int best = 0;
      for (int i = 1; i < 3; i++) {
        if (remainder[i] > remainder[best]) {
          best = i;
        }
      }
      out[best]++;
      remainder[best] = -1;
    }
    return out;
  }

  /** Sorts, shuffles with the seed, and cuts the names into the three parts. */
  public Parts apply(List<String> names, long seed) {
    List<String> order = new ArrayList<>(names);
    Collections.sort(order);
    Collections.shuffle(order, new Random(seed));
    int[] s = sizes(order.size());
    return new Parts(order.subList(0, s[0]), order.subList(s[0], s[0] + s[1]), order.subList(s[0] + s[1], order.size()));
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s/%s/%s", fmt(train), fmt(val), fmt(test));
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }
}
