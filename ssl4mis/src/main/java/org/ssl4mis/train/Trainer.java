package org.ssl4mis.train;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.data.Augment;
import org.ssl4mis.data.BatchLoader;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.LabeledSlices;
import org.ssl4mis.data.Split;
import org.ssl4mis.data.TwoStreamBatchSampler;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * The one training engine: everything the reference scripts share, around a {@link Method}'s loss step.
 *
 * <p>Per iteration, as the scripts do: the method's loss, {@code zero_grad}, {@code backward}, SGD step,
 * EMA update ({@code alpha = min(1 - 1/(iter+1), ema_decay)}) when the method has a teacher, then the poly
 * learning rate {@code base_lr * (1 - iter/max)^0.9} for the next step, {@code iter_num += 1}, the
 * TensorBoard scalars and the {@code log.txt} line; every 200 iterations validation and, on improvement,
 * {@code iter_{n}_dice_{d}.pth} and {@code {model}_best_model.pth}; every 3000 {@code iter_{n}.pth}. A NaN or
 * infinite loss stops the run naming the iteration, the loss terms and the last good checkpoint.
 *
 * <p>Several networks ({@link Method#students}: {@code model1}, {@code model2}), as the CPS, cross-teaching and
 * R-Drop scripts have them: each its own SGD and rate, each validated in turn with its name in the scalars
 * ({@code info/model1_val_mean_dice}), the log line ({@code model1_mean_dice}) and the checkpoints
 * ({@code model1_iter_{n}_dice_{d}.pth}, {@code {model}_best_model1.pth}, {@code model1_iter_{n}.pth}).
 * {@code --resume} restores all of them, their momentum and the method's own state.
 *
 * <p>3D ({@link TrainConfig#dim()} 3, LA or BraTS layout), as the {@code *_3D.py} scripts do it:
 * <ul>
 *   <li>transform {@code Compose([RandomRotFlip(), RandomCrop(patch_size), ToTensor()])}: rot90/flip first,
 *       then the crop, for BraTS ({@code brats2019.py}, every SSL4MIS 3D script) and for LA alike (UA-MT's
 *       {@code train_LA*.py} compose the same two in the same order);
 *   <li>{@code labeled_num} counts volumes: the first {@code labeled_num} cases of the training list are the
 *       labelled ones;
 *   <li>validation is logged as {@code iteration N : dice_score : D hd95 : H} with the scalars
 *       {@code info/val_dice_score} and {@code info/val_hd95} (class 1: the scripts' {@code avg_metric[0, :]}),
 *       the best model is chosen on the mean Dice over the classes (URPC: per class and means,
 *       {@link Method#perClassValidation3d}), and {@link Method#iterationLossTag} ({@code loss/loss}) is written
 *       every iteration where the script does; there is no {@code Total silices} line;
 *   <li>the first log line is the script's {@code Namespace(...)} ({@link Method#scriptArguments}), and the
 *       unlabelled volumes stop at {@link Method#unlabeledEnd} where the script cuts them short.
 * </ul>
 *
 * <p>A method with its own training data ({@link Method#trainingData}: FixMatch's weak and strong views,
 * CTAugment's per-epoch policies) supplies the per-sample transform, whose extra images reach
 * {@link Method#step(TrainingContext, Tensor, Tensor, Map)}, and its script's batch-level steps: before a
 * batch is fetched (an epoch boundary), whether to train on it (a script's {@code continue}) and after the step.
 * {@link Method#validatedNetwork} and {@link Method#studentPrefix} let a script validate its teacher and name
 * its files {@code model_...}.
 *
 * <p>Settings the command line passes in {@link TrainConfig#extra()} besides {@code model_options} and
 * {@code stop_at}:
 * <ul>
 *   <li>{@code sampler}: {@code two_stream} (default: the {@code TwoStreamBatchSampler} of the semi-supervised
 *       scripts) or {@code labeled} (the fully supervised scripts' {@code DataLoader(batch_size, shuffle=True)}
 *       over the labelled cases: a fresh permutation per epoch, the last batch of an epoch holding the
 *       remainder; in 3D only the first {@code labeled_num} cases are read, as {@code BraTS2019(num=labeled_num)});
 *   <li>{@code snapshot_name}: the snapshot folder under {@code snapshot_root}, with {@code {exp}} and
 *       {@code {labeled_num}} substituted (the 3D scripts: {@code {exp}_{labeled_num}}, fully supervised
 *       {@code {exp}}); {@link TrainConfig#snapshotPath()} resolves it (absent: {@code {exp}_{labeled_num}_labeled}).
 * </ul>
 */
public final class Trainer {
  private final TrainConfig config;
  private final Method method;
  private final PrintStream console;

  public Trainer(TrainConfig config, Method method, PrintStream console) {
    this.config = config;
    this.method = method;
    this.console = console;
  }

  /** The outcome of a run; {@code phaseSeconds}: where the loop's time went ({@link PhaseTimes}). */
  public record Result(Path snapshotPath, int iterations, double bestPerformance, Path bestModel, double seconds,
      Map<PhaseTimes.Phase, Double> phaseSeconds) {}

  /** A run stopped because the loss was not finite. */
  public static final class NonFiniteLossException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    NonFiniteLossException(String message) {
      super(message);
    }
  }

  public Result run(Validator validator, SummarySink summaries) throws Exception {
    // The process-wide settings a run changes are put back when it ends (a library must not leave them).
    boolean cudnnDeterministicBefore = NativeRuntime.isCudnnDeterministic();
    int threadsBefore = NativeRuntime.threads();
    if (config.threads() > 0) {
      NativeRuntime.setThreads(config.threads());
    }
    org.ssl4mis.runtime.Device device = NativeRuntime.resolveAuto(config.device());
    NativeRuntime.seed(config.seed());
    NativeRuntime.setCudnnDeterministic(config.deterministic());
    try {
      return train(device, validator, summaries);
    } finally {
      NativeRuntime.setCudnnDeterministic(cudnnDeterministicBefore);
      NativeRuntime.setThreads(threadsBefore);
    }
  }

  @SuppressWarnings("try") // the method's training data is a resource only to be closed before the loader
  private Result train(org.ssl4mis.runtime.Device device, Validator validator, SummarySink summaries) throws Exception {
    Path snapshot = config.snapshotPath();
    Files.createDirectories(snapshot);
    try (TrainLog log = new TrainLog(snapshot.resolve("log.txt"), config.quiet() ? null : console)) {
      log.info(config.namespace(method.scriptArguments(config.dim())));
      Device torchDevice = new Device(device.toString());

      Networks.Options netOptions = Networks.Options.parse(config.extra().getOrDefault("model_options", ""));
      List<Method.Student> studentSpecs = method.students(config);
      List<String> names = TrainingState.names(studentSpecs);
      List<Networks.Network> students = new ArrayList<>();
      for (Method.Student spec : studentSpecs) {
        Networks.Network net = Networks.create(spec.network(), 1, config.numClasses(),
            spec.options() == null ? netOptions : Networks.Options.parse(spec.options()));
        if (spec.init() != null) {
          spec.init().accept(net.module());
        }
        net.module().to(torchDevice, false);
        students.add(net);
      }
      Networks.Network ema = null;
      if (method.usesEmaModel()) {
        ema = Networks.create(studentSpecs.get(0).network(), 1, config.numClasses(), netOptions);
        ema.module().to(torchDevice, false);
        for (Tensor p : org.ssl4mis.nn.StateDict.parameters(ema.module()).values()) {
          p.detach_(); // the teacher is never trained by the optimizer (param.detach_() in the scripts)
        }
      }
      Optimization optimization = new Optimization(config, method, students, ema);
      method.setUp(optimization.context(0), torchDevice);

      DatasetLayout layout = DatasetLayout.detect(Path.of(config.rootPath()));
      boolean threeD = config.dim() == 3;
      if (threeD == layout.isTwoDimensional()) {
        throw new IllegalArgumentException(config.dim() + "D training does not fit the " + layout
            + " (2D: ACDC layout; 3D: LA or BraTS)");
      }
      boolean labeledOnly = labeledOnly(config);
      int limit = labeledOnly && threeD ? Math.max(1, config.labeledNum()) : Integer.MAX_VALUE;
      CaseDataset train = CaseDataset.open(layout, Split.TRAIN, limit, config.numClasses(), true);
      train.validateAll(); // every bad file is reported before the first iteration, not in the middle of a run
      int labeled = layout.isTwoDimensional()
          ? LabeledSlices.resolve(config.rootPath(), config.labeledNum(), config.labeledSlices())
          : Math.min(config.labeledNum(), train.size());
      // range(labeled_num, end): some scripts stop the unlabelled indices short of the list (--total_labeled_num)
      int total = Math.min(train.size(), method.unlabeledEnd(config));
      if (!labeledOnly && labeled >= total) {
        throw new IllegalArgumentException(labeled + " labelled samples leave no unlabelled ones among the " + total
            + " training samples of " + layout);
      }
      if (!threeD) {
        log.info(String.format(Locale.ROOT, "Total silices is: %d, labeled slices is: %d", total, labeled));
      }
      java.util.Iterator<int[]> batches;
      int batchesPerEpoch;
      if (labeledOnly) {
        batches = shuffledBatches(labeled, config.batchSize(), NativeRuntime.random("sampler"));
        batchesPerEpoch = Math.ceilDiv(labeled, config.batchSize());
      } else {
        TwoStreamBatchSampler sampler = new TwoStreamBatchSampler(TwoStreamBatchSampler.range(0, labeled),
            TwoStreamBatchSampler.range(labeled, total), config.batchSize(), config.batchSize() - config.labeledBs(),
            NativeRuntime.random("sampler"));
        batches = sampler.forever();
        batchesPerEpoch = sampler.batchesPerEpoch();
      }
      int[] patch = config.patchSize();
      BatchLoader.Transform transform = layout.isTwoDimensional()
          ? (v, r) -> Augment.randomGenerator(v, patch, r)
          : (v, r) -> Augment.randomCrop(Augment.randomRotFlip(v, r), patch, r); // RandomRotFlip, then RandomCrop
      log.info(batchesPerEpoch + " iterations per epoch");
      TrainingData data = method.trainingData(config, batchesPerEpoch);
      BatchLoader.SampleTransform sampleTransform = data != null ? data.transform()
          : (v, number, r) -> new BatchLoader.Sample(transform.apply(v, r), Map.of());

      int iterNum = 0;
      int n = students.size();
      double[] best = new double[n];
      Path[] bestModel = new Path[n];
      Path lastCheckpoint = null;
      Path stateFile = snapshot.resolve(TrainingState.FILE_NAME);
      if (config.resume()) {
        if (!Files.exists(stateFile)) {
          throw new IllegalArgumentException("--resume: there is no " + stateFile + " to resume from");
        }
        TrainingState.Restored r = TrainingState.load(stateFile, names, optimization);
        iterNum = r.iterNum();
        for (int i = 0; i < n; i++) {
          best[i] = r.bestPerformance()[i];
          bestModel[i] = r.bestModel()[i] == null ? null : snapshot.resolve(r.bestModel()[i]);
        }
        lastCheckpoint = stateFile;
        optimization.restoreLearningRate(iterNum);
        log.info("resumed from " + stateFile + " at iteration " + iterNum);
      }
      int stopAt = Integer.parseInt(config.extra().getOrDefault("stop_at", "0"));
      for (int skipped = 0; skipped < iterNum; skipped++) {
        batches.next(); // the sampler's order depends only on its seed: replay it to where the run stopped
      }
      ProgressBar bar = config.quiet() ? null : new ProgressBar(console, config.maxIterations());
      long started = System.nanoTime();
      for (Networks.Network net : students) {
        net.module().train(true);
      }
      try (BatchLoader loader = new BatchLoader(train, batches, sampleTransform, config.seed(), config.workers(),
          Math.max(2, config.workers() * 2), device, iterNum);
          TrainingData closedFirst = data) { // a transform waiting for the loop gives up before the loader waits
        while (iterNum < config.maxIterations()) {
          if (data != null && !data.beforeBatch(loader.nextNumber(), log::info)) {
            break;
          }
          double lr;
          double lossValue;
          long epoch; // the script's epoch_num, for checkpoints that record it
          Map<String, Double> scalars;
          long waitStarted = System.nanoTime();
          try (MemoryScope scope = MemoryScope.open(); BatchLoader.Batch batch = loader.next()) {
            optimization.times().add(PhaseTimes.Phase.DATA, System.nanoTime() - waitStarted);
            if (data != null && !data.accept(batch, log::info)) {
              continue;
            }
            Optimization.Outcome outcome;
            try {
              outcome = optimization.iterate(iterNum, batch.image(), batch.label(), batch.extras());
            } catch (Optimization.NonFiniteLoss e) {
              throw new NonFiniteLossException(e.getMessage() + "; stopping. Last good checkpoint: "
                  + (lastCheckpoint == null ? "none yet" : lastCheckpoint));
            }
            lossValue = outcome.loss();
            epoch = batch.number() / batchesPerEpoch;
            if (data != null) {
              data.afterStep(batch, lossValue);
            }
            scalars = outcome.scalars();
            lr = outcome.learningRate();
            iterNum++;
            summaries.scalar(method.learningRateTag(), lr, iterNum);
            if (method.totalLossTag() != null) {
              summaries.scalar(method.totalLossTag(), lossValue, iterNum);
            }
            for (Map.Entry<String, Double> e : scalars.entrySet()) {
              summaries.scalar(e.getKey(), e.getValue(), iterNum);
            }
            String iterationLossTag = method.iterationLossTag(config.dim());
            if (iterationLossTag != null) {
              summaries.scalar(iterationLossTag, lossValue, iterNum);
            }
            if (iterNum % 20 == 0 && outcome.step().outputs() != null) {
              summaries.images(batch.image(), outcome.step().outputs(), batch.label(), iterNum);
            }
          }
          String line = method.logLine(iterNum, lossValue, scalars);
          if (bar != null) {
            log.fileOnly(line); // the bar shows the loss; the console keeps the validation lines
            bar.update(iterNum, lossValue, lr);
          } else {
            log.info(line);
          }
          if (iterNum > 0 && iterNum % config.validateEvery() == 0 && validator != null) {
            for (int i = 0; i < n; i++) {
              Path saved = validate(validator, summaries, log, snapshot, names, i,
                  method.validatedNetwork(optimization.context(iterNum), i), saved(optimization, i, epoch, lossValue),
                  iterNum, best, bestModel, threeD);
              lastCheckpoint = saved == null ? lastCheckpoint : saved;
            }
          }
          if (iterNum % config.saveEvery() == 0) {
            for (int i = 0; i < n; i++) {
              String prefix = method.studentPrefix(names.get(i), n);
              Path file = snapshot.resolve(prefix + "iter_" + iterNum + ".pth");
              method.saveCheckpoint(file, saved(optimization, i, epoch, lossValue));
              lastCheckpoint = file;
              log.info("save " + names.get(i) + " to " + file);
            }
          }
          if (iterNum % config.saveEvery() == 0 || iterNum == config.maxIterations() || iterNum == stopAt) {
            TrainingState.save(stateFile, names, optimization, iterNum, best, bestModel);
          }
          if (iterNum == stopAt) {
            log.info("stopped at iteration " + iterNum + " (--stop_at); continue with --resume");
            break;
          }
        }
      } finally {
        summaries.close();
      }
      long loopNanos = System.nanoTime() - started;
      double seconds = loopNanos / 1e9;
      PhaseTimes times = optimization.times();
      times.add(PhaseTimes.Phase.OTHER, Math.max(0, loopNanos - times.recordedNanos()));
      log.info(times.report());
      try {
        // the losses, learning rate and validation scores of the run as a picture (from log/ or log.txt)
        log.info("training curves: " + org.ssl4mis.evaluation.TrainingCurves.write(snapshot));
      } catch (java.io.IOException | RuntimeException e) {
        log.info("no training curves picture: " + e.getMessage()); // a picture never fails a finished run
      }
      return new Result(snapshot, iterNum, best[0], bestModel[0], seconds, times.seconds());
    }
  }

  private static Method.SavedStudent saved(Optimization optimization, int i, long epoch, double loss) {
    return new Method.SavedStudent(optimization.students().get(i).module(), optimization.optimizers().get(i), epoch,
        loss);
  }

  /**
   * Validates student {@code i} as the scripts do after every {@code validateEvery} iterations: the scalars,
   * the log line and, on improvement, the two checkpoints (prefixed with the student's name when there are
   * several). Returns the best checkpoint written, or null.
   */
  private Path validate(Validator validator, SummarySink summaries, TrainLog log, Path snapshot, List<String> names,
      int i, Networks.Network evaluated, Method.SavedStudent student, int iterNum, double[] best, Path[] bestModel,
      boolean threeD) throws Exception {
    String tagPrefix = method.studentPrefix(names.get(i), names.size());
    evaluated.module().eval();
    double[][] metrics;
    try {
      metrics = validator.validate(evaluated);
    } finally {
      evaluated.module().train(true);
    }
    double meanDice = 0;
    double meanHd95 = 0;
    for (int c = 0; c < metrics.length; c++) {
      if (!threeD) {
        summaries.scalar("info/" + tagPrefix + "val_" + (c + 1) + "_dice", metrics[c][0], iterNum);
        summaries.scalar("info/" + tagPrefix + "val_" + (c + 1) + "_hd95", metrics[c][1], iterNum);
      }
      meanDice += metrics[c][0] / metrics.length;
      meanHd95 += metrics[c][1] / metrics.length;
    }
    if (!threeD) {
      summaries.scalar("info/" + tagPrefix + "val_mean_dice", meanDice, iterNum);
      summaries.scalar("info/" + tagPrefix + "val_mean_hd95", meanHd95, iterNum);
    }
    Path saved = null;
    if (meanDice > best[i]) {
      best[i] = meanDice;
      Path iterFile = snapshot.resolve(method.improvementCheckpointName(tagPrefix, iterNum, best[i]));
      bestModel[i] = snapshot.resolve(config.model() + "_best_" + names.get(i) + ".pth");
      method.saveCheckpoint(iterFile, student);
      method.saveCheckpoint(bestModel[i], student);
      saved = bestModel[i];
    }
    if (threeD && method.perClassValidation3d()) {
      for (int c = 0; c < metrics.length; c++) {
        summaries.scalar("info/" + tagPrefix + "val_cls_" + (c + 1) + "_dice_score", metrics[c][0], iterNum);
        summaries.scalar("info/" + tagPrefix + "val_cls_" + (c + 1) + "_hd95", metrics[c][1], iterNum);
      }
      summaries.scalar("info/" + tagPrefix + "val_mean_dice_score", meanDice, iterNum);
      summaries.scalar("info/" + tagPrefix + "val_mean_hd95", meanHd95, iterNum);
      log.info(String.format(Locale.ROOT, "iteration %d : %sdice_score : %f %shd95 : %f", iterNum, tagPrefix,
          meanDice, tagPrefix, meanHd95));
    } else if (threeD) {
      summaries.scalar("info/" + tagPrefix + "val_dice_score", metrics[0][0], iterNum);
      summaries.scalar("info/" + tagPrefix + "val_hd95", metrics[0][1], iterNum);
      log.info(String.format(Locale.ROOT, "iteration %d : %sdice_score : %f %shd95 : %f", iterNum, tagPrefix,
          metrics[0][0], tagPrefix, metrics[0][1]));
    } else {
      log.info(String.format(Locale.ROOT, "iteration %d : %smean_dice : %f %smean_hd95 : %f", iterNum, tagPrefix,
          meanDice, tagPrefix, meanHd95));
    }
    return saved;
  }

  /** Whether the run samples labelled cases only ({@code extra.sampler = labeled}: the fully supervised scripts). */
  public static boolean labeledOnly(TrainConfig config) {
    String sampler = config.extra().getOrDefault("sampler", "two_stream");
    return switch (sampler) {
      case "labeled" -> true;
      case "two_stream" -> false;
      default -> throw new IllegalArgumentException("sampler '" + sampler + "' is not two_stream or labeled");
    };
  }

  /**
   * {@code DataLoader(range(n), batch_size, shuffle=True)} without end: every epoch a fresh permutation of
   * {@code 0 .. n-1} cut into batches, the last one holding the remainder.
   */
  static java.util.Iterator<int[]> shuffledBatches(int n, int batchSize, java.util.SplittableRandom random) {
    if (n < 1 || batchSize < 1) {
      throw new IllegalArgumentException("need at least one labelled case and a batch size of at least 1, got " + n
          + " cases and batch size " + batchSize);
    }
    return new java.util.Iterator<>() {
      private int[] order = new int[0];
      private int pos;

      @Override
      public boolean hasNext() {
        return true;
      }

      @Override
      public int[] next() {
        if (pos >= order.length) {
          order = TwoStreamBatchSampler.range(0, n);
          for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
          }
          pos = 0;
        }
        int m = Math.min(batchSize, order.length - pos);
        int[] batch = java.util.Arrays.copyOfRange(order, pos, pos + m);
        pos += m;
        return batch;
      }
    };
  }
}
