package org.ssl4mis.train.methods;

import java.util.Map;

/** Reading a method's script options from {@link org.ssl4mis.train.TrainConfig#extra()}, with clear errors. */
final class MethodOptions {
  private MethodOptions() {}

  /**
   * The end of the unlabelled range a 3D script declares as option {@code key} ({@code --total_labeled_num},
   * {@code --total_num}): {@code extra[key]} in 3D, no end in 2D or when absent.
   */
  static int unlabeledEnd3d(org.ssl4mis.train.TrainConfig config, String key) {
    return config.dim() == 3 ? positiveInt(config.extra(), key, Integer.MAX_VALUE) : Integer.MAX_VALUE;
  }

  /** The whole number {@code extra[key]}, at least 1, or {@code fallback} when absent. */
  static int positiveInt(Map<String, String> extra, String key, int fallback) {
    String v = extra.get(key);
    if (v == null) {
      return fallback;
    }
    int n;
    try {
      n = Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number, got '" + v + "'");
    }
    if (n < 1) {
      throw new IllegalArgumentException(key + " must be at least 1, got " + n);
    }
    return n;
  }
}
