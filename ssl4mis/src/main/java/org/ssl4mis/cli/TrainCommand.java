package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.MemoryFormat;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.EventSummarySink;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.Methods;
import org.ssl4mis.train.SliceValidator;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.Trainer;
import org.ssl4mis.train.Validator;
import org.ssl4mis.train.VolumeValidator;

/**
 * {@code ssl4mis train --method uamt --dim 2|3 ...}: the reference training scripts, with their argument
 * names and defaults (a method's script defaults override the common ones).
 *
 * <p>An option not given takes, in this order: the method's {@link Method#defaults(int) defaults for the
 * dimension}; in 3D, the defaults the SSL4MIS {@code *_3D.py} scripts share ({@link #COMMON_3D}: BraTS2019,
 * {@code unet_3D}, batch 4 with 2 labelled, patch 96x96x96, 25 labelled volumes, 2 classes); the option's own
 * (2D) default. On an LA dataset ({@code 2018LA_Seg_Training Set}) in 3D, {@code patch_size} and
 * {@code labeled_num} default to UA-MT's {@code 112,112,80} and 16 volumes instead ({@link #LA_3D}), since the
 * SSL4MIS 3D scripts' values are BraTS's.
 *
 * <p>2D validation is {@link SliceValidator} ({@code val_2D.test_single_volume}): slices zoomed to
 * {@code --val_patch_size}, by default the script's ({@link Method#validationPatchSize}: the function's 256x256,
 * which most scripts never override, so a network trained on smaller patches sees its structures larger than in
 * training).
 *
 * <p>3D validation is {@link VolumeValidator} ({@code val_3D.test_all_case}) with the training patch,
 * {@code --stride_xy 64 --stride_z 64} as the scripts pass, and {@code --sw_batch_size} windows per network call.
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

  /** Keys of method defaults that are ordinary options of this command (the rest go to {@code extra}). */
  private static final java.util.Set<String> COMMON_KEYS = java.util.Set.of("root_path", "exp", "model", "max_iterations",
      "batch_size", "deterministic", "base_lr", "patch_size", "seed", "num_classes", "labeled_bs", "labeled_num",
      "labeled_slices", "ema_decay", "consistency_type", "consistency", "consistency_rampup", "sampler", "snapshot_name", "stride_xy", "stride_z");

  @Override
  public Options options() {
    return runOptions(new Options(name()))
        .option("max_iterations", "30000", "iterations to train")
        .option("batch_size", "24", "images per batch (3D default 4; fully supervised 2)")
        .option("deterministic", "1", "1: deterministic algorithms and cuDNN")
        .option("base_lr", "0.01", "SGD learning rate before the poly decay")
        .option("seed", "1337", "random seed")
        .option("labeled_bs", "12", "labelled images per batch (3D default 2)")
        .option("labeled_slices", "0", "labelled slices directly (2D; overrides the table)")
        .option("ema_decay", "0.99", "EMA decay of the teacher")
        .option("consistency_type", "mse", "consistency loss type")
        .option("consistency", "0.1", "consistency weight at the end of the ramp-up")
        .option("consistency_rampup", "200.0", "ramp-up length (in units of 150 iterations)")
        .option("workers", "4", "data loader threads")
        .option("validate_every", "200", "validation period in iterations")
        .option("save_every", "3000", "iter_N.pth period in iterations")
        .option("val_patch_size", "", "2D validation: slices are zoomed to this H,W for the network (default: the "
            + "script's, test_single_volume's 256,256 whatever --patch_size; pass the training patch when training on a "
            + "smaller one)")
        .option("stride_xy", "64", "3D validation: sliding-window step along the first two axes (ict: 32)")
        .option("stride_z", "64", "3D validation: sliding-window step along the third axis (ict: 32)")
        .option("sw_batch_size", "1", "3D validation: windows per network call (1 = the reference)")
        .option("memory_format", "auto", "layout of the networks' weights and batches: channels_last (faster CPU "
            + "convolutions), contiguous (the reference's layout) or auto (channels_last on the CPU, contiguous on CUDA)")
        .option("extra", "", "method options and reference-bug fixes, name=value;name=value (see the method's Javadoc)")
        .option("stop_at", "0", "stop after this iteration, saving training_state.pth (continue with --resume)")
        .flag("resume", "continue from training_state.pth in the snapshot folder (weights, EMA, momentum, iteration, RNG)")
        .flag("quiet", "no progress bar or console log lines (log.txt is still written)");
  }

  /**
   * The options that say which run it is and where it runs, shared with {@code test} so that both resolve
   * them the same way ({@link #runSettings}) and {@code test} finds what {@code train} wrote.
   */
  static Options runOptions(Options options) {
    return options
        .option("method", "uamt", "training method: " + String.join(", ", Methods.names()))
        .option("dim", "2", "2 (slices) or 3 (volumes)")
        .option("root_path", "../data/ACDC", "dataset folder (ACDC, LA or BraTS layout; 3D default ../data/BraTS2019)")
        .option("exp", null, "experiment name (default: the method's, e.g. ACDC/Uncertainty_Aware_Mean_Teacher)")
        .option("model", "unet", "network name of net_factory / net_factory_3d (3D default unet_3D)")
        .option("model_options", "", "network constructor arguments by Python name, e.g. feature_chns=4,8,16,32,64;dropout=0,0,0,0,0")
        .option("num_classes", "4", "output classes (3D default 2)")
        .option("labeled_num", null, "labelled patients (2D, via the reference's table) or volumes (3D; default 25, on LA 16)")
        .option("patch_size", "256,256", "network input size (3D default 96,96,96; on LA 112,112,80)")
        .option("snapshot_root", "../model", "where model/{exp}_{labeled_num}_labeled/{model} goes")
        .option("device", "auto", "cpu, cuda, cuda:N or auto")
        .option("threads", "0", "intra-op threads (0: all cores)");
  }

  /**
   * What a run with these options is, resolved as {@code train} resolves it (given option, LA default, method
   * default, common 3D default, option default): the method, dimension, dataset, names and patch. The
   * {@code test} command finds a run's snapshot folder with it, declaring the same option names.
   */
  record RunSettings(Method method, int dim, String rootPath, DatasetLayout layout, Map<String, String> methodDefaults, String exp,
      String model, int labeledNum, int numClasses, int[] patchSize, String snapshotName) {
    /** {@link TrainConfig#snapshotPath(String, String, int, String, String)} of these settings. */
    Path snapshotPath(String snapshotRoot) {
      return TrainConfig.snapshotPath(snapshotRoot, exp, labeledNum, model, snapshotName);
    }
  }

  static RunSettings runSettings(Options o, String command) throws org.ssl4mis.data.DataException {
    String help = "ssl4mis " + command + " --help";
    Method method;
    try {
      method = Methods.create(o.get("method"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), help);
    }
    int dim = o.getInt("dim");
    if (dim != 2 && dim != 3) {
      throw new UsageException("--dim " + dim + " is neither 2 nor 3", "use --dim 2 (slices) or --dim 3 (volumes)");
    }
    Map<String, String> methodDefaults;
    try {
      methodDefaults = method.defaults(dim);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "the methods with " + dim + "D scripts are "
          + String.join(", ", methodsFor(dim)));
    }
    String rootPath = resolve(o, "root_path", methodDefaults, dim, null);
    DatasetLayout layout = DatasetLayout.detect(Path.of(rootPath));
    if ((dim == 2) != layout.isTwoDimensional()) {
      throw new UsageException("--dim " + dim + " does not fit the " + layout, dim == 3
          ? "3D reads the LA or BraTS layout; use --dim 2 for ACDC"
          : "use --dim 3 for the LA and BraTS layouts");
    }
    DatasetLayout.Kind kind = layout.kind();
    String exp = o.isSet("exp") ? o.get("exp")
        : methodDefaults.getOrDefault("exp", (dim == 3 ? "BraTs2019_" : "ACDC/") + method.name());
    try {
      int labeledNum = Integer.parseInt(o.isSet("labeled_num") ? o.get("labeled_num").strip()
          : resolve(o, "labeled_num", methodDefaults, dim, kind, "7"));
      int[] patch = Arrays.stream(resolve(o, "patch_size", methodDefaults, dim, kind).replace("[", "").replace("]", "")
          .split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
      if (patch.length != dim) {
        throw new UsageException("--patch_size " + Arrays.toString(patch) + " must have " + dim + " sides in " + dim + "D", help);
      }
      String snapshotName = methodDefaults.getOrDefault("snapshot_name", dim == 3 ? COMMON_3D.get("snapshot_name") : null);
      return new RunSettings(method, dim, rootPath, layout, methodDefaults, exp, resolve(o, "model", methodDefaults, dim, kind),
          labeledNum, integer(o, "num_classes", methodDefaults, dim, kind, help), patch, snapshotName);
    } catch (NumberFormatException e) {
      throw new UsageException("a numeric option has a value that is not a number: " + e.getMessage(), help);
    }
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    int[] valPatchSize = o.get("val_patch_size").isBlank() ? null : valPatchSize(o.get("val_patch_size"));
    RunSettings run = runSettings(o, name());
    Method method = run.method();
    int dim = run.dim();
    Map<String, String> methodDefaults = run.methodDefaults();
    DatasetLayout layout = run.layout();
    DatasetLayout.Kind kind = layout.kind();
    TrainConfig config;
    try {
      Map<String, String> extra = new LinkedHashMap<>();
      extra.put("model_options", o.get("model_options"));
      extra.put("stop_at", o.get("stop_at"));
      MemoryFormat.parse("--memory_format", o.get("memory_format"), true); // a bad value fails before any work
      extra.put("memory_format", o.get("memory_format"));
      for (String key : List.of("sampler", "snapshot_name")) {
        String v = methodDefaults.getOrDefault(key, dim == 3 ? COMMON_3D.get(key) : null);
        if (v != null) {
          extra.put(key, v);
        }
      }
      // Method-specific script options (e.g. ict_alpha) and fixes of reference bugs (e.g. rdrop_kl_dim=class):
      // the method's defaults first, then --extra name=value;name=value.
      for (Map.Entry<String, String> d : methodDefaults.entrySet()) {
        if (!COMMON_KEYS.contains(d.getKey())) {
          extra.putIfAbsent(d.getKey(), d.getValue());
        }
      }
      extra.putAll(Networks.Options.parse(o.get("extra")).values());
      int batchSize = integer(o, "batch_size", methodDefaults, dim, kind);
      // Labelled-only sampling (the fully supervised scripts) has no unlabelled part: the whole batch is labelled.
      int labeledBs = "labeled".equals(extra.get("sampler")) && !o.isSet("labeled_bs") ? batchSize
          : integer(o, "labeled_bs", methodDefaults, dim, kind);
      config = new TrainConfig(method.name(), dim, run.rootPath(), run.exp(), run.model(),
          integer(o, "max_iterations", methodDefaults, dim, kind), batchSize,
          integer(o, "deterministic", methodDefaults, dim, kind) != 0,
          Double.parseDouble(resolve(o, "base_lr", methodDefaults, dim, kind)), run.patchSize(), o.getLong("seed"),
          run.numClasses(), labeledBs,
          run.labeledNum(), o.getInt("labeled_slices"), Double.parseDouble(resolve(o, "ema_decay", methodDefaults, dim, kind)),
          resolve(o, "consistency_type", methodDefaults, dim, kind),
          Double.parseDouble(resolve(o, "consistency", methodDefaults, dim, kind)),
          Double.parseDouble(resolve(o, "consistency_rampup", methodDefaults, dim, kind)), o.get("device"),
          o.getInt("workers"), o.getInt("threads"), o.getFlag("resume"), o.getFlag("quiet"), o.get("snapshot_root"),
          o.getInt("validate_every"), o.getInt("save_every"), extra);
    } catch (NumberFormatException e) {
      throw new UsageException("a numeric option has a value that is not a number: " + e.getMessage(), "ssl4mis train --help");
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "ssl4mis train --help");
    }
    out.println("training " + config.describe() + " (" + method.referenceScript(dim) + ")");
    CaseDataset val = CaseDataset.open(layout, Split.VAL, Integer.MAX_VALUE, config.numClasses(), true);
    val.validateAll();
    String device = NativeRuntime.resolveAuto(config.device()).toString();
    Validator validator;
    if (dim == 3) {
      SlidingWindow.Config window;
      try {
        // the scripts' stride (ict 3D: 32), unless given
        window = SlidingWindow.Config.of(config.patchSize(), integer(o, "stride_xy", methodDefaults, dim, kind),
            integer(o, "stride_z", methodDefaults, dim, kind), config.numClasses())
            .withBatchSize(o.getInt("sw_batch_size"));
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage(), "ssl4mis train --help");
      }
      validator = new VolumeValidator(val, window, device);
    } else {
      validator = new SliceValidator(val, config.numClasses(),
          valPatchSize != null ? valPatchSize : method.validationPatchSize(config), device);
    }
    Trainer.Result r = new Trainer(config, method, out).run(validator,
        new EventSummarySink(config.snapshotPath().resolve("log")));
    out.printf(Locale.ROOT, "done: %d iterations in %.0f s; best val mean dice %.4f; snapshot %s%n", r.iterations(), r.seconds(),
        r.bestPerformance(), r.snapshotPath());
    Path snapshot = r.snapshotPath();
    out.println("best model   " + (r.bestModel() != null ? r.bestModel() : "none (no validation improved on Dice 0)"));
    out.println("log          " + snapshot.resolve("log.txt"));
    out.println("tensorboard  " + snapshot.resolve("log") + " (tensorboard --logdir " + snapshot.resolve("log") + ")");
    return 0;
  }

  @Override
  public List<String> helpNotes() {
    String[] lines = {"", "Snapshot folder: {snapshot_root}/{exp}_{labeled_num}_labeled/{model} (3D: {exp}_{labeled_num}/{model},",
        "3D fully supervised: {exp}/{model}, as the scripts name them) with log.txt, log/ (TensorBoard),",
        "iter_{n}_dice_{d}.pth and {model}_best_model.pth on improvement, iter_{n}.pth every save_every iterations.",
        "3D (--dim 3, LA or BraTS layout): defaults of the SSL4MIS *_3D.py scripts (unet_3D, batch 4 with 2 labelled,",
        "patch 96,96,96, 25 labelled volumes, 2 classes; on LA UA-MT's patch 112,112,80 and 16 volumes), validation by",
        "sliding window (val_3D.test_all_case) with --stride_xy/--stride_z 64. Small networks: --model vnet --model_options n_filters=4."};
    List<String> notes = new java.util.ArrayList<>(List.of(lines));
    notes.add("");
    notes.add("Each method's script and the defaults it sets (over the options' own), by --dim:");
    for (String name : Methods.names()) {
      Method method = Methods.create(name);
      for (int dim : new int[] {2, 3}) {
        if (methodsFor(dim).contains(name)) {
          notes.add("  " + name + " --dim " + dim + ": " + method.referenceScript(dim) + " "
              + new java.util.TreeMap<>(method.defaults(dim)));
        }
      }
    }
    return notes;
  }

  /** {@code --val_patch_size H,W}: two positive integers (blank: the method's {@link Method#validationPatchSize}). */
  private static int[] valPatchSize(String text) {
    String[] parts = text.replace("[", "").replace("]", "").split(",");
    try {
      int[] size = Arrays.stream(parts).map(String::strip).mapToInt(Integer::parseInt).toArray();
      if (size.length == 2 && size[0] > 0 && size[1] > 0) {
        return size;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException("--val_patch_size expects H,W (two positive integers), got '" + text + "'",
        "for example --val_patch_size 256,256");
  }

  /**
   * The defaults the SSL4MIS {@code *_3D.py} scripts share (argparse defaults and the hard-coded
   * {@code num_classes = 2}), for options a method's {@code defaults(3)} does not give.
   */
  public static final Map<String, String> COMMON_3D = Map.ofEntries(Map.entry("root_path", "../data/BraTS2019"),
      Map.entry("model", "unet_3D"), Map.entry("max_iterations", "30000"), Map.entry("batch_size", "4"),
      Map.entry("deterministic", "1"), Map.entry("base_lr", "0.01"), Map.entry("patch_size", "96,96,96"),
      Map.entry("num_classes", "2"), Map.entry("labeled_bs", "2"), Map.entry("labeled_num", "25"),
      Map.entry("ema_decay", "0.99"), Map.entry("consistency_type", "mse"), Map.entry("consistency", "0.1"),
      Map.entry("consistency_rampup", "200.0"), Map.entry("snapshot_name", "{exp}_{labeled_num}"));

  /**
   * 3D defaults on the LA dataset, over the method's: UA-MT's ({@code train_LA_meanteacher_certainty_unlabel.py})
   * patch {@code (112, 112, 80)} and 16 labelled of the 80 training volumes.
   */
  public static final Map<String, String> LA_3D = Map.of("patch_size", "112,112,80", "labeled_num", "16");

  /** An option's value: given, else the LA default (3D), the method's, the common 3D one, the option's own. */
  private static String resolve(Options o, String name, Map<String, String> methodDefaults, int dim, DatasetLayout.Kind kind) {
    return resolve(o, name, methodDefaults, dim, kind, null);
  }

  private static String resolve(Options o, String name, Map<String, String> methodDefaults, int dim, DatasetLayout.Kind kind,
      String fallback) {
    if (o.isSet(name)) {
      return o.get(name);
    }
    if (dim == 3 && kind == DatasetLayout.Kind.LA && LA_3D.containsKey(name)) {
      return LA_3D.get(name);
    }
    if (methodDefaults.containsKey(name)) {
      return methodDefaults.get(name);
    }
    if (dim == 3 && COMMON_3D.containsKey(name)) {
      return COMMON_3D.get(name);
    }
    return fallback != null ? fallback : o.get(name);
  }

  private static int integer(Options o, String name, Map<String, String> methodDefaults, int dim, DatasetLayout.Kind kind) {
    return integer(o, name, methodDefaults, dim, kind, "ssl4mis train --help");
  }

  private static int integer(Options o, String name, Map<String, String> methodDefaults, int dim, DatasetLayout.Kind kind,
      String hint) {
    String v = resolve(o, name, methodDefaults, dim, kind);
    try {
      return Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " expects an integer, got '" + v + "'", hint);
    }
  }

  /** The methods whose reference has a script for {@code dim} (their {@code defaults(dim)} does not refuse it). */
  static List<String> methodsFor(int dim) {
    List<String> names = new java.util.ArrayList<>();
    for (String name : Methods.names()) {
      try {
        Methods.create(name).defaults(dim);
        names.add(name);
      } catch (IllegalArgumentException e) {
        // no script for this dimension
      }
    }
    return names;
  }
}
