package org.ssl4mis.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Methods;
import org.ssl4mis.train.PhaseTimes;
import org.ssl4mis.train.SummarySink;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.Trainer;

/**
 * A whole training run through the real engine ({@link Trainer}: loader threads, method step, SGD, EMA, poly
 * rate, {@code log.txt}, checkpoints of the run's end), timed per iteration, for the side-by-side runs of
 * {@code benchmarks/whole-run.sh} against {@code benchmarks/python/whole_run.py}:
 * <ul>
 *   <li>{@code uamt2d}: UA-MT 2D, UNet, batch 8 of which 4 labelled, patch 128x128, validation off;
 *   <li>{@code mt3d}: mean teacher 3D, VNet, batch 2+2, patch 112x112x80, validation off.
 * </ul>
 * A quarter of the training samples are labelled on both sides. Iteration times are the gaps between the
 * engine's per-iteration {@code info/lr} scalars (written right after each optimizer step); the peak resident
 * set is the process's {@code VmHWM}.
 *
 * <p>Usage: {@code WholeRun uamt2d|mt3d ROOT ITERATIONS THREADS WORKERS OUT_DIR [MEMORY_FORMAT]} (the
 * {@code --memory_format} of training: auto, channels_last or contiguous); prints one JSON line.
 */
public final class WholeRun {
  private WholeRun() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 6 && args.length != 7) {
      throw new IllegalArgumentException(
          "usage: WholeRun uamt2d|mt3d ROOT ITERATIONS THREADS WORKERS OUT_DIR [MEMORY_FORMAT]");
    }
    String kase = args[0];
    Path root = Path.of(args[1]);
    int iterations = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    int workers = Integer.parseInt(args[4]);
    Path out = Path.of(args[5]);
    String memoryFormat = args.length == 7 ? args[6] : "auto";
    Map<String, String> extra = Map.of("memory_format", memoryFormat);
    boolean twoD = switch (kase) {
      case "uamt2d" -> true;
      case "mt3d" -> false;
      default -> throw new IllegalArgumentException("case must be uamt2d or mt3d, got " + kase);
    };
    Method method = Methods.create(twoD ? "uamt" : "mt");
    TrainConfig config;
    if (twoD) {
      long slices = Files.readAllLines(root.resolve("train_slices.list")).stream().filter(s -> !s.isBlank()).count();
      int labeled = (int) Math.max(4, slices / 4);
      config = new TrainConfig("uamt", 2, root.toString(), "bench/uamt2d", "unet", iterations, 8, true, 0.01,
          new int[] {128, 128}, 1337, 4, 4, 7, labeled, 0.99, "mse", 0.1, 200.0, "cpu", workers, threads, false, true,
          out.toString(), Integer.MAX_VALUE, Integer.MAX_VALUE, extra);
    } else {
      long cases = Files.readAllLines(root.resolve("train.list")).stream().filter(s -> !s.isBlank()).count();
      int labeled = (int) Math.max(2, cases / 4);
      config = new TrainConfig("mt", 3, root.toString(), "bench/mt3d", "vnet", iterations, 4, true, 0.01,
          new int[] {112, 112, 80}, 1337, 2, 2, labeled, 0, 0.99, "mse", 0.1, 200.0, "cpu", workers, threads, false,
          true, out.toString(), Integer.MAX_VALUE, Integer.MAX_VALUE, extra);
    }
    List<Long> stamps = new ArrayList<>();
    SummarySink timing = new SummarySink() {
      @Override
      public void scalar(String tag, double value, long step) {
        if (tag.equals(method.learningRateTag())) {
          stamps.add(System.nanoTime());
        }
      }

      @Override
      public void images(Tensor volumeBatch, Tensor outputs, Tensor labelBatch, long step) {}

      @Override
      public void close() {}
    };
    long started = System.nanoTime();
    Trainer.Result result = new Trainer(config, method, new PrintStream(PrintStream.nullOutputStream())).run(null, timing);
    StringBuilder seconds = new StringBuilder();
    long previous = started;
    for (long t : stamps) {
      seconds.append(seconds.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", (t - previous) / 1e9));
      previous = t;
    }
    StringBuilder phases = new StringBuilder();
    for (Map.Entry<PhaseTimes.Phase, Double> e : result.phaseSeconds().entrySet()) {
      phases.append(phases.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "\"%s\": %.4f",
          e.getKey().name().toLowerCase(Locale.ROOT), e.getValue()));
    }
    System.out.printf(Locale.ROOT,
        "{\"case\": \"%s\", \"side\": \"java\", \"memory_format\": \"%s\", \"threads\": %d, \"workers\": %d, \"iterations\": %d, "
            + "\"seconds_per_iteration\": [%s], \"peak_rss_bytes\": %d, \"phase_seconds\": {%s}}%n",
        kase, config.memoryFormat(true).optionValue(), threads, workers, iterations, seconds, peakRssBytes(), phases);
  }

  /** {@code VmHWM} of {@code /proc/self/status}: the peak resident set of this process. */
  static long peakRssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IOException("/proc/self/status has no VmHWM line");
  }
}
