package org.ssl4mis.evaluation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The metrics of a test set: per case and class ({@link #writeCsv}) and their mean and standard deviation per
 * class ({@link #summary}). Means and standard deviations (population, as {@code np.std}) leave NaN entries out
 * (see {@link CaseMetrics} for when a metric is NaN) and report how many cases they cover.
 */
public final class TestReport {
  private final List<String> classNames;
  private final List<CaseMetrics> cases = new ArrayList<>();

  /** @param classNames names of the foreground classes 1.. (for the tables) */
  public TestReport(List<String> classNames) {
    this.classNames = List.copyOf(classNames);
  }

  /** Names for classes 1 .. numClasses - 1: ACDC's RV, Myo, LV for four classes, else class_1, class_2, .... */
  public static List<String> defaultClassNames(int numClasses) {
    if (numClasses == 4) {
      return List.of("RV", "Myo", "LV");
    }
    List<String> names = new ArrayList<>();
    for (int c = 1; c < numClasses; c++) {
      names.add("class_" + c);
    }
    return names;
  }

  public void add(CaseMetrics m) {
    if (m.foregroundClasses() != classNames.size()) {
      throw new IllegalArgumentException(m.name() + " has " + m.foregroundClasses() + " classes scored; the report has "
          + classNames.size());
    }
    cases.add(m);
  }

  public List<CaseMetrics> cases() {
    return List.copyOf(cases);
  }

  public List<String> classNames() {
    return classNames;
  }

  /** Mean, standard deviation and count of the finite values of one metric of one class (1-based). */
  public record Stat(double mean, double std, int n) {}

  public Stat stat(int c, int metric) {
    double sum = 0;
    int n = 0;
    for (CaseMetrics m : cases) {
      double v = m.value(c, metric);
      if (!Double.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    if (n == 0) {
      return new Stat(Double.NaN, Double.NaN, 0);
    }
    double mean = sum / n;
    double squares = 0;
    for (CaseMetrics m : cases) {
      double v = m.value(c, metric);
      if (!Double.isNaN(v)) {
        squares += (v - mean) * (v - mean);
      }
    }
    return new Stat(mean, Math.sqrt(squares / n), n);
  }

  /**
   * {@code case,class,dice,jaccard,hd95,asd}: one row per case and foreground class, class by name; {@code nan}
   * where a metric is undefined; full double precision.
   */
  public void writeCsv(Path file) throws IOException {
    StringBuilder sb = new StringBuilder("case,class,").append(String.join(",", CaseMetrics.METRICS)).append('\n');
    for (CaseMetrics m : cases) {
      for (int c = 1; c <= classNames.size(); c++) {
        sb.append(m.name()).append(',').append(classNames.get(c - 1));
        for (int k = 0; k < CaseMetrics.METRICS.size(); k++) {
          double v = m.value(c, k);
          sb.append(',').append(Double.isNaN(v) ? "nan" : Double.toString(v));
        }
        sb.append('\n');
      }
    }
    Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
  }

  /** The summary table: one row per class and a mean row, each metric as {@code mean ± std (n)}. */
  public String summary() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%d cases; mean ± std over the cases where a metric is defined (n when fewer)%n",
        cases.size()));
    sb.append(String.format(Locale.ROOT, "%-10s", "class"));
    for (String metric : CaseMetrics.METRICS) {
      sb.append(String.format(Locale.ROOT, " %-22s", metric));
    }
    sb.append('\n');
    for (int c = 1; c <= classNames.size(); c++) {
      sb.append(String.format(Locale.ROOT, "%-10s", classNames.get(c - 1)));
      for (int k = 0; k < CaseMetrics.METRICS.size(); k++) {
        sb.append(String.format(Locale.ROOT, " %-22s", format(stat(c, k), k)));
      }
      sb.append('\n');
    }
    if (classNames.size() > 1) {
      sb.append(String.format(Locale.ROOT, "%-10s", "mean"));
      for (int k = 0; k < CaseMetrics.METRICS.size(); k++) {
        double sum = 0;
        int n = 0;
        for (int c = 1; c <= classNames.size(); c++) {
          Stat s = stat(c, k);
          if (s.n() > 0) {
            sum += s.mean();
            n++;
          }
        }
        String cell = n == 0 ? "n/a" : String.format(Locale.ROOT, k < 2 ? "%.4f" : "%.2f", sum / n);
        sb.append(String.format(Locale.ROOT, " %-22s", cell));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  private String format(Stat s, int metric) {
    if (s.n() == 0) {
      return "n/a";
    }
    String pattern = metric < 2 ? "%.4f ± %.4f" : "%.2f ± %.2f";
    String text = String.format(Locale.ROOT, pattern, s.mean(), s.std());
    return s.n() < cases.size() ? text + " (" + s.n() + ")" : text;
  }
}
