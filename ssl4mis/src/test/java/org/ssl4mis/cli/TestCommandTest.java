package org.ssl4mis.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.data.Volume;
import org.ssl4mis.data.synth.AcdcPhantoms;
import org.ssl4mis.data.synth.LaPhantoms;
import org.ssl4mis.evaluation.CaseMetrics;
import org.ssl4mis.evaluation.PredictionFiles;
import org.ssl4mis.evaluation.TestReport;
import org.ssl4mis.evaluation.TestRun;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.io.nifti.Nifti;
import org.ssl4mis.metrics.SegmentationMetrics;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.train.TrainConfig;

/**
 * {@code ssl4mis test} end to end on small synthetic ACDC- and LA-like sets with random-initialised weights
 * saved where training would put them: exit code, CSV against metrics computed directly, NIfTI files read back
 * with nibabel, pictures, and the sliding-window options.
 */
class TestCommandTest {
  private static final String SMALL_UNET = "feature_chns=2,4,8,8,16";
  private static final String SMALL_VNET = "n_filters=2;has_dropout=false";

  @TempDir
  Path tmp;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    out.reset();
    err.reset();
    return new Main().run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String output() {
    return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void acdcLikeSetEndToEnd() throws Exception {
    NativeRuntime.seed(11);
    Path data = tmp.resolve("ACDC");
    AcdcPhantoms.write(data, new AcdcPhantoms.Spec(4, 5, 3, 72, 64));
    Path snapshot = TrainConfig.snapshotPath(tmp.resolve("model").toString(), "ACDC/eval_test", 7, "unet", null);
    Files.createDirectories(snapshot);
    Networks.Network net = Networks.create("unet", 1, 4, Networks.Options.parse(SMALL_UNET));
    Checkpoints.saveStateDict(net.module(), snapshot.resolve("unet_best_model.pth"));
    String[] args = {"test", "--root_path", data.toString(), "--exp", "ACDC/eval_test", "--labeled_num", "7", "--patch_size",
        "32,32", "--snapshot_root", tmp.resolve("model").toString(), "--model_options", SMALL_UNET, "--device", "cpu",
        "--pictures", "2"};

    assertEquals(0, run(args), output());
    Path predictions = snapshot.getParent().resolve("unet_predictions");
    assertTrue(output().contains("RV") && output().contains("metrics.csv"), output());

    // the metrics equal SegmentationMetrics on the predictions made directly
    CaseDataset cases = CaseDataset.open(DatasetLayout.detect(data), Split.TEST, Integer.MAX_VALUE, 4, false);
    net.module().eval();
    TestRun.Settings settings = new TestRun.Settings(4, TestReport.defaultClassNames(4), new int[] {32, 32}, 1, null,
        new Device("cpu"), new double[] {10, 1, 1}, false, tmp.resolve("unused"), false, 0);
    Map<String, long[]> predicted = new TreeMap<>();
    Map<String, double[][]> direct = new TreeMap<>();
    for (int i = 0; i < cases.size(); i++) {
      Volume v = cases.get(i);
      long[] p = TestRun.predict(net, v, settings);
      predicted.put(v.name(), p);
      direct.put(v.name(), directMetrics(p, v, 4));
    }
    Map<String, double[][]> csv = readCsv(predictions.resolve("metrics.csv"), List.of("RV", "Myo", "LV"));
    assertEquals(direct.keySet(), csv.keySet());
    for (String name : direct.keySet()) {
      for (int c = 0; c < 3; c++) {
        assertArrayEquals(direct.get(name)[c], csv.get(name)[c], 0.0, name + " class " + (c + 1));
      }
    }
    assertTrue(Files.readString(predictions.resolve("summary.txt")).contains("mean ± std"));

    checkPictures(predictions, predicted.keySet());
    checkNiftiWithNibabel(predictions, data, cases, predicted, "_gt", "float32", "10,1,1");

    // options that do not fit: one line and a hint, exit 2 or 1
    assertEquals(2, run("test", "--root_path", data.toString(), "--gaussian"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("sliding-window options (3D)"), output());
    assertEquals(1, run("test", "--root_path", data.toString(), "--exp", "nope", "--snapshot_root", tmp.toString()));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("no snapshot folder"), output());
    assertEquals(1, run("test", "--root_path", data.toString(), "--checkpoint", tmp.resolve("missing.pth").toString()));
  }

  @Test
  void laLikeSetEndToEndWithSlidingWindowOptions() throws Exception {
    NativeRuntime.seed(12);
    Path data = tmp.resolve("LA");
    LaPhantoms.write(data, new LaPhantoms.Spec(3, 7, 40, 36, 32));
    Networks.Network net = Networks.create("vnet", 1, 2, Networks.Options.parse(SMALL_VNET));
    Path checkpoint = tmp.resolve("vnet_random.pth");
    Checkpoints.saveStateDict(net.module(), checkpoint);
    // patch wider than the volume along x: padded and cropped back as test_single_case does
    List<String> common = List.of("test", "--dim", "3", "--root_path", data.toString(), "--model", "vnet", "--model_options",
        SMALL_VNET, "--patch_size", "48,32,16", "--checkpoint", checkpoint.toString(), "--device", "cpu", "--pictures", "3");

    Path one = tmp.resolve("one");
    assertEquals(0, run(with(common, "--out", one.toString())), output());
    assertTrue(output().contains("stride_xy 18, stride_z 4"), "LA's reference strides by default: " + output());
    Path batched = tmp.resolve("batched");
    assertEquals(0, run(with(common, "--out", batched.toString(), "--sw_batch_size", "4", "--no_nifti")), output());
    assertEquals(Files.readString(one.resolve("metrics.csv")), Files.readString(batched.resolve("metrics.csv")),
        "windows in batches give the same predictions as one at a time");
    assertFalse(Files.exists(batched.resolve(cases(data).get(0).name() + "_pred.nii.gz")));

    CaseDataset cases = CaseDataset.open(DatasetLayout.detect(data), Split.TEST, Integer.MAX_VALUE, 2, false);
    net.module().eval();
    SlidingWindow.Config window = SlidingWindow.Config.of(new int[] {48, 32, 16}, 18, 4, 2);
    Map<String, long[]> predicted = new TreeMap<>();
    for (int i = 0; i < cases.size(); i++) {
      Volume v = cases.get(i);
      long[] p = SlidingWindow.predict(net, v, window, new Device("cpu"));
      predicted.put(v.name(), p);
      Map<String, double[][]> csv = readCsv(one.resolve("metrics.csv"), List.of("class_1"));
      assertArrayEquals(directMetrics(p, v, 2)[0], csv.get(v.name())[0], 0.0, v.name());
    }
    checkPictures(one, predicted.keySet());
    checkNiftiWithNibabel(one, data, cases, predicted, "_lab", "uint8", "1,1,1");

    // Gaussian weighting, flips and overlap give valid outputs (labels in range, metrics parse)
    Path options = tmp.resolve("options");
    assertEquals(0, run(with(common, "--out", options.toString(), "--gaussian", "--tta_flips", "0,1,2", "--overlap", "0.5",
        "--sw_batch_size", "3", "--spacing", "1.5,1.5,2", "--spacing_in_metrics")), output());
    assertTrue(output().contains("stride_xy 16, stride_z 8") && output().contains("Gaussian 0.125")
        && output().contains("flips [0, 1, 2]"), output());
    assertEquals(cases.size(), readCsv(options.resolve("metrics.csv"), List.of("class_1")).size());
    for (String name : predicted.keySet()) {
      var image = Nifti.read(options.resolve(name + "_pred.nii.gz"));
      assertArrayEquals(new double[] {2, 1.5, 1.5}, java.util.Arrays.copyOf(image.zooms(), 3), 1e-6);
      for (byte b : image.bytes()) {
        assertTrue(b == 0 || b == 1, "labels are classes 0..1");
      }
    }
    assertEquals(2, run(with(common, "--overlap", "0.5", "--stride_xy", "8")));
    assertEquals(2, run(with(common, "--tta_flips", "0,3")));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("flip axes"), output());
  }

  private static List<Volume> cases(Path data) throws Exception {
    CaseDataset cases = CaseDataset.open(DatasetLayout.detect(data), Split.TEST, Integer.MAX_VALUE, 2, false);
    List<Volume> out = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      out.add(cases.get(i));
    }
    return out;
  }

  private static String[] with(List<String> common, String... more) {
    List<String> all = new ArrayList<>(common);
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  /** Dice, Jaccard, HD95, ASD per class straight from SegmentationMetrics where both masks are non-empty. */
  private static double[][] directMetrics(long[] prediction, Volume v, int numClasses) {
    double[][] rows = new double[numClasses - 1][];
    for (int c = 1; c < numClasses; c++) {
      boolean[] p = new boolean[prediction.length];
      boolean[] g = new boolean[prediction.length];
      boolean anyP = false;
      boolean anyG = false;
      for (int i = 0; i < p.length; i++) {
        p[i] = prediction[i] == c;
        g[i] = v.labelAt(i) == c;
        anyP |= p[i];
        anyG |= g[i];
      }
      rows[c - 1] = anyP && anyG ? SegmentationMetrics.diceJaccardHd95Asd(p, g, v.shape())
          : anyP || anyG ? new double[] {0, 0, Double.NaN, Double.NaN}
          : new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
    }
    return rows;
  }

  /** case -> class rows of dice, jaccard, hd95, asd, parsed from metrics.csv (checking its header and names). */
  private static Map<String, double[][]> readCsv(Path file, List<String> classes) throws IOException {
    List<String> lines = Files.readAllLines(file);
    assertEquals("case,class," + String.join(",", CaseMetrics.METRICS), lines.getFirst());
    Map<String, double[][]> out = new TreeMap<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",");
      assertEquals(6, f.length, line);
      int c = classes.indexOf(f[1]);
      assertTrue(c >= 0, "class name in " + line);
      double[] row = new double[4];
      for (int k = 0; k < 4; k++) {
        row[k] = f[2 + k].equals("nan") ? Double.NaN : Double.parseDouble(f[2 + k]);
      }
      out.computeIfAbsent(f[0], n -> new double[classes.size()][])[c] = row;
    }
    return out;
  }

  private static void checkPictures(Path dir, Iterable<String> names) throws IOException {
    for (String name : names) {
      BufferedImage png = ImageIO.read(dir.resolve(name + "_overlay.png").toFile());
      assertNotNull(png, name);
      assertTrue(png.getWidth() >= 2 * 256 && png.getHeight() >= 256, png.getWidth() + "x" + png.getHeight());
    }
  }

  private static void checkNiftiWithNibabel(Path outDir, Path data, CaseDataset cases, Map<String, long[]> predicted,
      String labelSuffix, String labelDtype, String spacing) throws Exception {
    PythonReference.require("numpy", "h5py", "nibabel");
    List<String> args = new ArrayList<>(List.of(outDir.toString(), labelSuffix, labelDtype, spacing));
    for (int i = 0; i < cases.size(); i++) {
      args.add(cases.caseFile(i).name() + "=" + cases.caseFile(i).file());
    }
    String printed = PythonReference.runResource(TestCommandTest.class, "/evaluation/check_nifti_outputs.py",
        Duration.ofMinutes(3), args.toArray(String[]::new));
    for (Map.Entry<String, long[]> e : predicted.entrySet()) {
      assertTrue(printed.contains(e.getKey() + " " + md5(e.getValue())), "prediction of " + e.getKey() + " read back by nibabel: "
          + printed);
    }
  }

  private static String md5(long[] values) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : values) {
      b.putLong(v);
    }
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b.array()));
  }

  @Test
  void referenceSpacingIsTheScriptsOne() {
    assertArrayEquals(new double[] {10, 1, 1}, PredictionFiles.referenceSpacing(PredictionFiles.Style.SLICES_2D));
    assertArrayEquals(new double[] {1, 1, 1}, PredictionFiles.referenceSpacing(PredictionFiles.Style.VOLUME_3D));
  }
}
