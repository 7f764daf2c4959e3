package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.EventSummarySink;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Methods;
import org.ssl4mis.train.SliceValidator;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.Trainer;

/**
 * {@code ssl4mis train --method uamt --dim 2 ...}: the reference training scripts, with their argument
 * names and defaults (a method's script defaults override the common ones).
 */
public final class TrainCommand implements Command {
  @Override
  public String name() {
    return "train";
  }

  @Override
  public String summary() {
    return "train a segmentation network with a semi-supervised method (" + String.join(", ", Methods.names()) + ")";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("method", "uamt", "training method: " + String.join(", ", Methods.names()))
        .option("dim", "2", "2 (slices) or 3 (volumes)")
        .option("root_path", "../data/ACDC", "dataset folder (ACDC, LA or BraTS layout)")
        .option("exp", null, "experiment name (default: the method's, e.g. ACDC/Uncertainty_Aware_Mean_Teacher)")
        .option("model", "unet", "network name of net_factory / net_factory_3d")
        .option("max_iterations", "30000", "iterations to train")
        .option("batch_size", "24", "images per batch")
        .option("deterministic", "1", "1: deterministic algorithms and cuDNN")
        .option("base_lr", "0.01", "SGD learning rate before the poly decay")
        .option("patch_size", "256,256", "network input size")
        .option("seed", "1337", "random seed")
        .option("num_classes", "4", "output classes")
        .option("labeled_bs", "12", "labelled images per batch")
        .option("labeled_num", null, "labelled patients (2D, via the reference's table) or volumes (3D)")
        .option("labeled_slices", "0", "labelled slices directly (2D; overrides the table)")
        .option("ema_decay", "0.99", "EMA decay of the teacher")
        .option("consistency_type", "mse", "consistency loss type")
        .option("consistency", "0.1", "consistency weight at the end of the ramp-up")
        .option("consistency_rampup", "200.0", "ramp-up length (in units of 150 iterations)")
        .option("device", "auto", "cpu, cuda, cuda:N or auto")
        .option("workers", "4", "data loader threads")
        .option("threads", "0", "intra-op threads (0: all cores)")
        .option("snapshot_root", "../model", "where model/{exp}_{labeled_num}_labeled/{model} goes")
        .option("validate_every", "200", "validation period in iterations")
        .option("save_every", "3000", "iter_N.pth period in iterations")
        .option("model_options", "", "network constructor arguments by Python name, e.g. feature_chns=4,8,16,32,64;dropout=0,0,0,0,0")
        .option("stop_at", "0", "stop after this iteration, saving training_state.pth (continue with --resume)")
        .flag("resume", "continue from training_state.pth in the snapshot folder (weights, EMA, momentum, iteration, RNG)")
        .flag("quiet", "no progress bar or console log lines (log.txt is still written)");
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    Method method;
    try {
      method = Methods.create(o.get("method"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "ssl4mis train --help");
    }
    int dim = o.getInt("dim");
    if (dim != 2) {
      throw new UsageException("--dim " + dim + ": only 2D training is available so far", "use --dim 2");
    }
    Map<String, String> defaults = method.defaults(dim);
    String exp = o.isSet("exp") ? o.get("exp") : defaults.getOrDefault("exp", "ACDC/" + method.name());
    int labeledNum = o.isSet("labeled_num") ? o.getInt("labeled_num") : Integer.parseInt(defaults.getOrDefault("labeled_num", "7"));
    int[] patch = Arrays.stream(o.get("patch_size").replace("[", "").replace("]", "").split(","))
        .map(String::strip).mapToInt(Integer::parseInt).toArray();
    TrainConfig config;
    try {
      config = new TrainConfig(method.name(), dim, o.get("root_path"), exp, o.get("model"), o.getInt("max_iterations"),
          o.getInt("batch_size"), o.getInt("deterministic") != 0, o.getDouble("base_lr"), patch, o.getLong("seed"),
          o.getInt("num_classes"), o.getInt("labeled_bs"), labeledNum, o.getInt("labeled_slices"), o.getDouble("ema_decay"),
          o.get("consistency_type"), o.getDouble("consistency"), o.getDouble("consistency_rampup"), o.get("device"),
          o.getInt("workers"), o.getInt("threads"), o.getFlag("resume"), o.getFlag("quiet"), o.get("snapshot_root"),
          o.getInt("validate_every"), o.getInt("save_every"),
          Map.of("model_options", o.get("model_options"), "stop_at", o.get("stop_at")));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "ssl4mis train --help");
    }
    out.println("training " + config.describe() + " (" + method.referenceScript(dim) + ")");
    DatasetLayout layout = DatasetLayout.detect(Path.of(config.rootPath()));
    CaseDataset val = CaseDataset.open(layout, Split.VAL, Integer.MAX_VALUE, config.numClasses(), true);
    val.validateAll();
    String device = NativeRuntime.resolveAuto(config.device()).toString();
    SliceValidator validator = new SliceValidator(val, config.numClasses(), new int[] {256, 256}, device);
    Trainer.Result r = new Trainer(config, method, out).run(validator,
        new EventSummarySink(config.snapshotPath().resolve("log")));
    out.printf(Locale.ROOT, "done: %d iterations in %.0f s; best val mean dice %.4f; snapshot %s%n", r.iterations(), r.seconds(),
        r.bestPerformance(), r.snapshotPath());
    return 0;
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "Snapshot folder: {snapshot_root}/{exp}_{labeled_num}_labeled/{model} with log.txt, log/ (TensorBoard),",
        "iter_{n}_dice_{d}.pth and {model}_best_model.pth on improvement, iter_{n}.pth every save_every iterations.");
  }
}
