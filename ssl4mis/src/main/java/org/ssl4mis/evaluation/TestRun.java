package org.ssl4mis.evaluation;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.pytorch.Device;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DataException;
import org.ssl4mis.data.Volume;
import org.ssl4mis.inference.SliceInference;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.networks.Networks;

/**
 * Tests a network on a set of cases as the reference's test scripts do, and writes what they write and more:
 * per case, the prediction (2D models slice by slice, {@link SliceInference}; 3D models by sliding window,
 * {@link SlidingWindow}), its {@link CaseMetrics}, the NIfTI files ({@link PredictionFiles}) and a picture
 * ({@link OverlayPicture}); at the end {@code metrics.csv} and {@code summary.txt} ({@link TestReport}).
 */
public final class TestRun {
  /** Name of the per-case metrics file in the output folder. */
  public static final String CSV = "metrics.csv";
  /** Name of the summary table in the output folder. */
  public static final String SUMMARY = "summary.txt";

  private TestRun() {}

  /**
   * How to test.
   *
   * @param numClasses network output channels
   * @param classNames names of classes 1 .. numClasses - 1
   * @param slicePatch 2D models: the size each slice is zoomed to; null for 3D
   * @param sliceBatch 2D models: slices per network call
   * @param window 3D models: the sliding-window settings; null for 2D
   * @param device where the network runs
   * @param spacing voxel sizes along the volumes' array axes, for the NIfTI headers (and the metrics when
   *     {@code spacingInMetrics})
   * @param spacingInMetrics whether HD95 and ASD are in units of {@code spacing} (false: voxels, as the reference)
   * @param outputDir where files go (created)
   * @param writeNifti whether to write {@code {case}_pred/_img/_gt.nii.gz}
   * @param pictureSlices slices per case picture; 0: no pictures
   */
  public record Settings(int numClasses, List<String> classNames, int[] slicePatch, int sliceBatch,
      SlidingWindow.Config window, Device device, double[] spacing, boolean spacingInMetrics, Path outputDir,
      boolean writeNifti, int pictureSlices) {
    public Settings {
      Objects.requireNonNull(outputDir, "outputDir");
      classNames = List.copyOf(classNames);
      spacing = spacing.clone();
      if ((slicePatch == null) == (window == null)) {
        throw new IllegalArgumentException("give a slice patch (2D) or a sliding window (3D), not both or neither");
      }
      if (classNames.size() != numClasses - 1) {
        throw new IllegalArgumentException(numClasses + " classes need " + (numClasses - 1) + " foreground names, got "
            + classNames);
      }
      if (window != null && window.numClasses() != numClasses) {
        throw new IllegalArgumentException("the sliding window has " + window.numClasses() + " classes, the test "
            + numClasses);
      }
    }

    boolean twoDimensional() {
      return slicePatch != null;
    }
  }

  /** What a run wrote. */
  public record Result(TestReport report, Path csv, Path summary, List<Path> pictures, List<Path> predictions,
      double seconds) {}

  /** Predicts, scores and writes every case of {@code cases}; progress lines go to {@code log} (may be null). */
  public static Result run(Networks.Network net, CaseDataset cases, Settings settings, PrintStream log)
      throws IOException, DataException {
    long start = System.nanoTime();
    Files.createDirectories(settings.outputDir());
    net.module().eval();
    TestReport report = new TestReport(settings.classNames());
    List<Path> pictures = new ArrayList<>();
    List<Path> predictions = new ArrayList<>();
    PredictionFiles.Style style = settings.twoDimensional() ? PredictionFiles.Style.SLICES_2D : PredictionFiles.Style.VOLUME_3D;
    for (int i = 0; i < cases.size(); i++) {
      long caseStart = System.nanoTime();
      Volume volume = cases.get(i);
      long[] prediction = predict(net, volume, settings);
      CaseMetrics metrics = CaseMetrics.of(volume.name(), prediction, volume.label(), volume.shape(), settings.numClasses(),
          settings.spacingInMetrics() ? settings.spacing() : null);
      report.add(metrics);
      if (settings.writeNifti()) {
        predictions.add(PredictionFiles.write(settings.outputDir(), volume, prediction, style, settings.spacing()));
      }
      if (settings.pictureSlices() > 0) {
        Path png = settings.outputDir().resolve(volume.name() + "_overlay.png");
        OverlayPicture.write(png, volume, prediction, settings.classNames(), settings.twoDimensional() ? 0 : 2,
            settings.pictureSlices());
        pictures.add(png);
      }
      if (log != null) {
        StringBuilder dice = new StringBuilder();
        for (int c = 1; c < settings.numClasses(); c++) {
          dice.append(String.format(Locale.ROOT, " %s %.4f", settings.classNames().get(c - 1), metrics.value(c, 0)));
        }
        log.printf(Locale.ROOT, "[%d/%d] %s: dice%s (%.1f s)%n", i + 1, cases.size(), volume.name(), dice,
            (System.nanoTime() - caseStart) / 1e9);
      }
    }
    Path csv = settings.outputDir().resolve(CSV);
    report.writeCsv(csv);
    Path summary = settings.outputDir().resolve(SUMMARY);
    Files.writeString(summary, report.summary(), StandardCharsets.UTF_8);
    return new Result(report, csv, summary, pictures, predictions, (System.nanoTime() - start) / 1e9);
  }

  /** The label map of one volume, by slices (2D) or sliding window (3D). */
  public static long[] predict(Networks.Network net, Volume volume, Settings settings) {
    if (settings.twoDimensional()) {
      return SliceInference.predict(net, volume, settings.slicePatch(), settings.sliceBatch(), settings.device());
    }
    return SlidingWindow.predict(net, volume, settings.window(), settings.device());
  }
}
