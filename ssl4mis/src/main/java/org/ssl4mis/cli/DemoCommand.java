package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.data.synth.AcdcPhantoms;
import org.ssl4mis.evaluation.PredictionFiles;
import org.ssl4mis.evaluation.TestReport;
import org.ssl4mis.evaluation.TestRun;
import org.ssl4mis.evaluation.TrainingCurves;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.EventSummarySink;
import org.ssl4mis.train.SliceValidator;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.Trainer;
import org.ssl4mis.train.methods.UncertaintyAwareMeanTeacher;

/**
 * {@code ssl4mis demo}: the whole path in a few minutes on a CPU. Makes a small synthetic ACDC-like set,
 * trains UA-MT 2D on it (the reference script's loop, shorter and with smaller patches), evaluates the best
 * model slice by slice on the test cases as {@code ssl4mis test} does (metrics, NIfTI files, pictures), draws
 * the training curves, and says where all of it is.
 */
final class DemoCommand implements Command {
  @Override
  public String name() {
    return "demo";
  }

  @Override
  public String summary() {
    return "synthetic ACDC-like data, a few minutes of UA-MT training, test metrics and pictures";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("out", "ssl4mis-demo", "folder for the data, the snapshot and the logs")
        .option("cases", "12", "synthetic patients to make")
        .option("max_iterations", "200", "training iterations")
        .option("batch_size", "8", "images per batch (half labelled)")
        .option("patch_size", "96,96", "training patch")
        .option("seed", "1337", "seed for the data and the training")
        .option("device", "auto", "cpu, cuda, cuda:N or auto")
        .option("threads", "0", "intra-op threads (0: all cores)")
        .flag("quiet", "no progress bar");
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    Path root = Path.of(o.get("out")).toAbsolutePath();
    Path data = root.resolve("data/ACDC");
    int cases = o.getInt("cases");
    long seed = o.getLong("seed");
    if (cases < 6) {
      throw new UsageException("--cases must be at least 6 (train, val and test need patients)", "try --cases 12");
    }
    if (!Files.exists(data.resolve("train_slices.list"))) {
      AcdcPhantoms.write(data, new AcdcPhantoms.Spec(cases, seed, 0, 128, 128));
      out.printf(Locale.ROOT, "made %d synthetic patients in %s%n", cases, data);
    } else {
      out.println("using the synthetic data already in " + data);
    }
    int slices = DatasetLayout.detect(data).cases(Split.TRAIN).size();
    int labeledSlices = Math.max(o.getInt("batch_size") / 2, slices / 4);
    int[] patch = java.util.Arrays.stream(o.get("patch_size").split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
    int iterations = o.getInt("max_iterations");
    TrainConfig config = new TrainConfig("uamt", 2, data.toString(), "ACDC/Uncertainty_Aware_Mean_Teacher", "unet",
        iterations, o.getInt("batch_size"), true, 0.01, patch, seed, 4, o.getInt("batch_size") / 2, 7, labeledSlices, 0.99,
        "mse", 0.1, 200.0, o.get("device"), 2, o.getInt("threads"), false, o.getFlag("quiet"),
        root.resolve("model").toString(), Math.max(1, iterations / 3), iterations, Map.of());
    out.printf(Locale.ROOT, "training UA-MT 2D for %d iterations (%d of %d slices labelled, patch %s)%n", iterations,
        labeledSlices, slices, o.get("patch_size"));
    DatasetLayout layout = DatasetLayout.detect(data);
    CaseDataset val = CaseDataset.open(layout, Split.VAL, Integer.MAX_VALUE, 4, true);
    String device = NativeRuntime.resolveAuto(config.device()).toString();
    Trainer.Result r = new Trainer(config, new UncertaintyAwareMeanTeacher(), out)
        .run(new SliceValidator(val, 4, new int[] {128, 128}, device), new EventSummarySink(config.snapshotPath().resolve("log")));
    out.printf(Locale.ROOT, "trained %d iterations in %.0f s; best validation mean Dice %.3f%n", r.iterations(), r.seconds(),
        r.bestPerformance());

    Path modelFile = r.bestModel() != null ? r.bestModel() : config.snapshotPath().resolve("iter_" + iterations + ".pth");
    Networks.Network net = Networks.create("unet", 1, 4);
    Checkpoints.loadInto(net.module(), modelFile);
    org.bytedeco.pytorch.Device torchDevice = new org.bytedeco.pytorch.Device(device);
    net.module().to(torchDevice, false);
    CaseDataset test = CaseDataset.open(layout, Split.TEST, Integer.MAX_VALUE, 4, false);
    Path snapshot = config.snapshotPath();
    Path predictions = snapshot.getParent().resolve("unet_predictions");
    TestRun.Settings settings = new TestRun.Settings(4, TestReport.defaultClassNames(4), new int[] {128, 128}, 16, null,
        torchDevice, PredictionFiles.referenceSpacing(PredictionFiles.Style.SLICES_2D), false, predictions, true, 4);
    out.printf(Locale.ROOT, "%ntesting on %d cases (slice by slice, as test_2D_fully.py)%n", test.size());
    TestRun.Result tested = TestRun.run(net, test, settings, o.getFlag("quiet") ? null : out);
    out.println();
    out.print(tested.report().summary());
    Path curves = TrainingCurves.write(snapshot);
    out.println();
    out.println("checkpoint   " + modelFile + " (torch.load + load_state_dict in Python; bin/ssl4mis ckpt inspect)");
    out.println("log          " + snapshot.resolve("log.txt"));
    out.println("tensorboard  " + snapshot.resolve("log") + " (tensorboard --logdir " + snapshot.resolve("log") + ")");
    out.println("curves       " + curves);
    out.println("metrics      " + tested.csv() + " and " + tested.summary());
    out.println("predictions  " + predictions.resolve("{case}_pred.nii.gz") + ", _img, _gt");
    out.println("pictures     " + predictions.resolve("{case}_overlay.png") + " (ground truth and prediction contours)");
    out.println("data         " + data + " (bin/ssl4mis check-data " + data + ")");
    return 0;
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "Run it again to train on the same data (kept in --out); delete the folder to start over.");
  }
}
