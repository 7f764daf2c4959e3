package org.ssl4mis.train;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where a run's time goes, per phase of an iteration (wall clock; libtorch's CPU kernels run synchronously, so
 * a phase's time is its kernels' plus the Java around them). The {@link Trainer} logs {@link #report} at the
 * end of a run; the whole-run benchmark reads it.
 */
public final class PhaseTimes {
  /** The phases of an iteration, in order. */
  public enum Phase {
    /** waiting for the loader's next batch (the loader works ahead on its own threads) */
    DATA,
    /** the method's forward passes and loss ({@code Method.step}) */
    FORWARD_LOSS,
    /** {@code zero_grad} and {@code loss.backward()} */
    BACKWARD,
    /** the optimizer steps */
    OPTIMIZER,
    /** the teacher's EMA update */
    EMA,
    /** the method's after-step work (a discriminator's update) */
    AFTER_STEP,
    /** everything else of the loop: scalars, image summaries, log lines, validation, checkpoints */
    OTHER
  }

  private final EnumMap<Phase, Long> nanos = new EnumMap<>(Phase.class);
  private long iterations;

  public void add(Phase phase, long elapsedNanos) {
    nanos.merge(phase, elapsedNanos, Long::sum);
  }

  void countIteration() {
    iterations++;
  }

  public long iterations() {
    return iterations;
  }

  /** The nanoseconds recorded so far over all phases. */
  public long recordedNanos() {
    long total = 0;
    for (long v : nanos.values()) {
      total += v;
    }
    return total;
  }

  /** Seconds spent per phase so far. */
  public Map<Phase, Double> seconds() {
    EnumMap<Phase, Double> out = new EnumMap<>(Phase.class);
    for (Phase p : Phase.values()) {
      out.put(p, nanos.getOrDefault(p, 0L) / 1e9);
    }
    return out;
  }

  /**
   * One line: milliseconds per iteration and share of the measured total for each phase, e.g.
   * {@code time per iteration 812.3 ms: data 1.2 ms (0.1%), forward+loss 301.0 ms (37.1%), ...}.
   */
  public String report() {
    long total = recordedNanos();
    long n = Math.max(1, iterations);
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "time per iteration %.1f ms over %d iterations:",
        total / 1e6 / n, iterations));
    String sep = " ";
    for (Phase p : Phase.values()) {
      long v = nanos.getOrDefault(p, 0L);
      sb.append(sep).append(p.name().toLowerCase(Locale.ROOT).replace('_', '+'))
          .append(String.format(Locale.ROOT, " %.1f ms (%.1f%%)", v / 1e6 / n, total == 0 ? 0 : 100.0 * v / total));
      sep = ", ";
    }
    return sb.toString();
  }
}
