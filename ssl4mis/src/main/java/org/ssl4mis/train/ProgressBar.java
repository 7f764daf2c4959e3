package org.ssl4mis.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line console progress bar: iteration, loss, learning rate and iterations per second, redrawn in
 * place (carriage return) at most a few times per second.
 */
public final class ProgressBar {
  private final PrintStream out;
  private final long total;
  private long lastDraw;
  private long firstIteration = -1;
  private long firstIterationTime;

  public ProgressBar(PrintStream out, long total) {
    this.out = out;
    this.total = total;
  }

  public void update(long iteration, double loss, double lr) {
    long now = System.nanoTime();
    if (firstIteration < 0) {
      firstIteration = iteration;
      firstIterationTime = now;
    }
    if (now - lastDraw < 250_000_000L && iteration < total) {
      return;
    }
    lastDraw = now;
    double seconds = (now - firstIterationTime) / 1e9;
    double rate = seconds > 0 ? (iteration - firstIteration) / seconds : 0;
    int width = 30;
    int filled = (int) Math.min(width, width * iteration / Math.max(1, total));
    String bar = "#".repeat(filled) + "-".repeat(width - filled);
    String eta = rate > 0 ? formatDuration((total - iteration) / rate) : "?";
    out.printf(Locale.ROOT, "\r[%s] %d/%d loss %.4f lr %.2e %.2f it/s eta %s   ", bar, iteration, total, loss, lr, rate, eta);
    if (iteration >= total) {
      out.printf(Locale.ROOT, "%n");
    }
    out.flush();
  }

  static String formatDuration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
