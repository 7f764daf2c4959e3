package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Device;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.evaluation.PredictionFiles;
import org.ssl4mis.evaluation.TestReport;
import org.ssl4mis.evaluation.TestRun;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * {@code ssl4mis test}: the reference's test scripts ({@code test_2D_fully.py}, {@code test_urpc.py},
 * {@code test_3D.py}) for any network of the factory. It resolves the run options as {@code train} does, so the
 * same command line with {@code test} instead of {@code train} finds the run's {@code {model}_best_model.pth}
 * (or takes {@code --checkpoint}), predicts every test case (2D models slice by slice, 3D models by sliding
 * window), and writes per-case metrics, a summary, NIfTI files and pictures into the reference's prediction
 * folder.
 */
final class TestCommand implements Command {
  /** UA-MT's {@code test_LA.py} strides; SSL4MIS's {@code test_3D.py} uses 64, 64 (BraTS). */
  private static final int[] LA_STRIDES = {18, 4};
  private static final int[] BRATS_STRIDES = {64, 64};

  @Override
  public String name() {
    return "test";
  }

  @Override
  public String summary() {
    return "test a trained network: metrics per case (CSV), summary, NIfTI predictions, pictures";
  }

  @Override
  public Options options() {
    return TrainCommand.runOptions(new Options(name()))
        .option("checkpoint", "", "weights to test (.pth from Java or Python, .safetensors); default {snapshot}/{model}_best_model.pth")
        .option("out", "", "output folder; default the reference's: {snapshot}/../{model}_predictions (3D: {snapshot}/../Prediction)")
        .option("split", "test", "cases to test: test, val or train (the list files of the layout)")
        .option("limit", "0", "test only the first N cases (0: all)")
        .option("stride_xy", "auto", "3D: sliding-window step along the first two axes (auto: LA 18, else 64, as the reference)")
        .option("stride_z", "auto", "3D: sliding-window step along the third axis (auto: LA 4, else 64)")
        .option("overlap", "", "3D: window overlap in [0, 1) instead of strides (stride = patch * (1 - overlap))")
        .option("sw_batch_size", "1", "windows (3D) or slices (2D) per network call (1 = the reference)")
        .flag("gaussian", "3D: weight each window's probabilities by a Gaussian (nnU-Net) instead of uniformly")
        .option("gaussian_sigma", "0.125", "3D: sigma of --gaussian as a fraction of the patch side")
        .option("tta_flips", "", "3D: average test-time flips along these axes, e.g. 0,1,2 (none: the reference)")
        .option("spacing", "auto", "voxel size along the volume's array axes, e.g. 10,1,1 (auto: the reference's 10,1,1 for 2D, 1,1,1 for 3D)")
        .flag("spacing_in_metrics", "HD95 and ASD in units of --spacing (default: voxels, as the reference)")
        .option("pictures", "4", "slices per case picture {case}_overlay.png (0: no pictures)")
        .flag("no_nifti", "do not write {case}_pred/_img/_gt.nii.gz");
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    String help = "ssl4mis test --help";
    TrainCommand.RunSettings run = TrainCommand.runSettings(o, name());
    Path snapshot = run.snapshotPath(o.get("snapshot_root"));
    Split split;
    try {
      split = Split.parse(o.get("split"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), help);
    }
    Path outDir = o.get("out").isBlank()
        ? snapshot.getParent().resolve(run.dim() == 2 ? run.model() + "_predictions" : "Prediction")
        : Path.of(o.get("out"));
    int limit = o.getInt("limit");
    if (limit < 0) {
      throw new UsageException("--limit must be 0 (all) or positive, got " + limit, help);
    }
    int swBatch = o.getInt("sw_batch_size");
    if (swBatch < 1) {
      throw new UsageException("--sw_batch_size must be at least 1, got " + swBatch, help);
    }
    int pictures = o.getInt("pictures");
    if (pictures < 0) {
      throw new UsageException("--pictures must be 0 (none) or positive, got " + pictures, help);
    }
    double[] spacing = spacing(o, run.dim(), help);
    SlidingWindow.Config window = run.dim() == 3 ? window(o, run, help) : null;
    if (run.dim() == 2 && (o.getFlag("gaussian") || !o.get("tta_flips").isBlank() || !o.get("overlap").isBlank())) {
      throw new UsageException("--gaussian, --tta_flips and --overlap are sliding-window options (3D)",
          "2D models are tested slice by slice, as test_2D_fully.py does");
    }

    Path checkpoint = checkpoint(o, snapshot, run.model());
    int threadsBefore = NativeRuntime.threads();
    if (o.getInt("threads") > 0) {
      NativeRuntime.setThreads(o.getInt("threads"));
    }
    try {
      String deviceName;
      try {
        deviceName = NativeRuntime.resolveAuto(o.get("device")).toString();
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage(), "use --device cpu");
      }
      Device device = new Device(deviceName);
      Networks.Network net;
      try {
        net = Networks.create(run.model(), 1, run.numClasses(), Networks.Options.parse(o.get("model_options")));
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage(), help);
      }
      Checkpoints.loadInto(net.module(), checkpoint);
      net.module().to(device, false);
      CaseDataset cases = CaseDataset.open(run.layout(), split, limit == 0 ? Integer.MAX_VALUE : limit, run.numClasses(), false);
      if (cases.size() == 0) {
        throw new CommandFailure("no " + split + " cases in " + run.layout().root(), "check the list files with ssl4mis check-data "
            + run.layout().root());
      }
      out.printf(Locale.ROOT, "testing %s (%s) on %d %s cases of %s, %s, %s%n", run.model(), checkpoint, cases.size(), split.name().toLowerCase(Locale.ROOT),
          run.layout().root(), run.dim() == 2 ? "slices zoomed to " + Arrays.toString(run.patchSize())
              : "sliding window " + describe(window), deviceName);
      TestRun.Settings settings = new TestRun.Settings(run.numClasses(), TestReport.defaultClassNames(run.numClasses()),
          run.dim() == 2 ? run.patchSize() : null, swBatch, window, device, spacing, o.getFlag("spacing_in_metrics"), outDir,
          !o.getFlag("no_nifti"), pictures);
      TestRun.Result r = TestRun.run(net, cases, settings, out);
      out.println();
      out.print(r.report().summary());
      out.println();
      out.printf(Locale.ROOT, "tested %d cases in %.1f s%n", cases.size(), r.seconds());
      out.println("metrics      " + r.csv());
      out.println("summary      " + r.summary());
      if (!r.predictions().isEmpty()) {
        out.println("predictions  " + outDir.resolve("{case}_pred.nii.gz") + ", _img, "
            + (run.dim() == 2 ? PredictionFiles.Style.SLICES_2D : PredictionFiles.Style.VOLUME_3D).labelSuffix());
      }
      if (!r.pictures().isEmpty()) {
        out.println("pictures     " + outDir.resolve("{case}_overlay.png"));
      }
      return 0;
    } finally {
      NativeRuntime.setThreads(threadsBefore);
    }
  }

  /** {@code --checkpoint}, else the run's best model; a missing file fails with what the folder has. */
  private static Path checkpoint(Options o, Path snapshot, String model) throws java.io.IOException {
    if (!o.get("checkpoint").isBlank()) {
      Path file = Path.of(o.get("checkpoint"));
      if (!Files.isRegularFile(file)) {
        throw new CommandFailure("no checkpoint file " + file, "give an existing .pth or .safetensors file to --checkpoint");
      }
      return file;
    }
    Path best = snapshot.resolve(model + "_best_model.pth");
    if (Files.isRegularFile(best)) {
      return best;
    }
    if (!Files.isDirectory(snapshot)) {
      throw new CommandFailure("no snapshot folder " + snapshot + " (from --snapshot_root, --exp, --labeled_num, --model)",
          "use the options the run was trained with, or --checkpoint FILE");
    }
    List<String> found;
    try (Stream<Path> files = Files.list(snapshot)) {
      found = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pth")).sorted().toList();
    }
    throw new CommandFailure("no " + best.getFileName() + " in " + snapshot,
        found.isEmpty() ? "the run saved no checkpoint yet; train longer or give --checkpoint FILE"
            : "give one of " + String.join(", ", found) + " as --checkpoint " + snapshot.resolve(found.getLast()));
  }

  private static double[] spacing(Options o, int dim, String help) {
    String text = o.get("spacing").strip();
    if (text.equals("auto")) {
      return PredictionFiles.referenceSpacing(dim == 2 ? PredictionFiles.Style.SLICES_2D : PredictionFiles.Style.VOLUME_3D);
    }
    double[] s;
    try {
      s = Arrays.stream(text.split(",")).map(String::strip).mapToDouble(Double::parseDouble).toArray();
    } catch (NumberFormatException e) {
      throw new UsageException("--spacing expects three numbers like 10,1,1, got '" + text + "'", help);
    }
    if (s.length != 3 || Arrays.stream(s).anyMatch(v -> !(v > 0) || !Double.isFinite(v))) {
      throw new UsageException("--spacing expects three positive numbers like 10,1,1, got '" + text + "'", help);
    }
    return s;
  }

  /** The sliding-window settings of the options: the reference's unless batching, Gaussian, flips or overlap ask. */
  private static SlidingWindow.Config window(Options o, TrainCommand.RunSettings run, String help) {
    int[] patch = run.patchSize();
    int[] defaults = run.layout().kind() == DatasetLayout.Kind.LA ? LA_STRIDES : BRATS_STRIDES;
    int strideXy;
    int strideZ;
    String overlap = o.get("overlap").strip();
    if (!overlap.isEmpty()) {
      if (!o.get("stride_xy").equals("auto") || !o.get("stride_z").equals("auto")) {
        throw new UsageException("give --overlap or --stride_xy/--stride_z, not both", help);
      }
      double f;
      try {
        f = Double.parseDouble(overlap);
      } catch (NumberFormatException e) {
        throw new UsageException("--overlap expects a number in [0, 1), got '" + overlap + "'", help);
      }
      if (!(f >= 0 && f < 1)) {
        throw new UsageException("--overlap expects a number in [0, 1), got '" + overlap + "'", help);
      }
      strideXy = Math.max(1, (int) Math.round(Math.min(patch[0], patch[1]) * (1 - f)));
      strideZ = Math.max(1, (int) Math.round(patch[2] * (1 - f)));
    } else {
      strideXy = o.get("stride_xy").equals("auto") ? defaults[0] : o.getInt("stride_xy");
      strideZ = o.get("stride_z").equals("auto") ? defaults[1] : o.getInt("stride_z");
    }
    int[] flips;
    try {
      String text = o.get("tta_flips").strip();
      flips = text.isEmpty() ? new int[0] : Arrays.stream(text.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
    } catch (NumberFormatException e) {
      throw new UsageException("--tta_flips expects axes like 0,1,2, got '" + o.get("tta_flips") + "'", help);
    }
    try {
      return SlidingWindow.Config.of(patch, strideXy, strideZ, run.numClasses()).withBatchSize(o.getInt("sw_batch_size"))
          .withGaussian(o.getFlag("gaussian") ? o.getDouble("gaussian_sigma") : 0).withFlips(flips);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), help);
    }
  }

  private static String describe(SlidingWindow.Config w) {
    return String.format(Locale.ROOT, "patch %s, stride_xy %d, stride_z %d, %d per call%s%s", Arrays.toString(w.patchSize()),
        w.strideXy(), w.strideZ(), w.batchSize(), w.gaussianSigmaScale() > 0 ? ", Gaussian " + w.gaussianSigmaScale() : "",
        w.flipAxes().length > 0 ? ", flips " + Arrays.toString(w.flipAxes()) : "");
  }

  @Override
  public List<String> helpNotes() {
    return List.of("",
        "Give the options the run was trained with (as for train); the checkpoint is {snapshot}/{model}_best_model.pth,",
        "the snapshot folder that of train ({snapshot_root}/{exp}_{labeled_num}_labeled/{model}; 3D {exp}_{labeled_num}/{model}).",
        "Writes metrics.csv (case, class, dice, jaccard, hd95, asd), summary.txt (mean ± std per class), {case}_pred/_img/_gt",
        ".nii.gz (3D: _lab; named, typed and spaced as the reference's SimpleITK files) and {case}_overlay.png.",
        "Metrics: medpy's; where medpy raises on an empty mask, Dice/Jaccard are 0 (one empty) or nan (both), HD95/ASD nan;",
        "means leave nan out. Defaults reproduce the reference's predictions (test_2D_fully.py, test_3D.py, UA-MT test_LA.py).");
  }
}
