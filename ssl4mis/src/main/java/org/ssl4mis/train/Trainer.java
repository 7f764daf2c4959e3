package org.ssl4mis.train;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.ssl4mis.io.Checkpoints;
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
 * <p>3D ({@link TrainConfig#dim()} 3, LA or BraTS layout), as the {@code *_3D.py} scripts do it:
 * <ul>
 *   <li>transform {@code Compose([RandomRotFlip(), RandomCrop(patch_size), ToTensor()])}: rot90/flip first,
 *       then the crop, for BraTS ({@code brats2019.py}, every SSL4MIS 3D script) and for LA alike (UA-MT's
 *       {@code train_LA*.py} compose the same two in the same order);
 *   <li>{@code labeled_num} counts volumes: the first {@code labeled_num} cases of the training list are the
 *       labelled ones;
 *   <li>validation is logged as {@code iteration N : dice_score : D hd95 : H} with the scalars
 *       {@code info/val_dice_score} and {@code info/val_hd95} (class 1: the scripts' {@code avg_metric[0, :]}),
 *       the best model is chosen on the mean Dice over the classes, and {@code loss/loss} is written every
 *       iteration; there is no {@code Total silices} line.
 * </ul>
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

  /** The outcome of a run. */
  public record Result(Path snapshotPath, int iterations, double bestPerformance, Path bestModel, double seconds) {}

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

  private Result train(org.ssl4mis.runtime.Device device, Validator validator, SummarySink summaries) throws Exception {
    Path snapshot = config.snapshotPath();
    Files.createDirectories(snapshot);
    try (TrainLog log = new TrainLog(snapshot.resolve("log.txt"), config.quiet() ? null : console)) {
      log.info(config.namespace());
      Device torchDevice = new Device(device.toString());

      Networks.Options netOptions = Networks.Options.parse(config.extra().getOrDefault("model_options", ""));
      Networks.Network model = Networks.create(config.model(), 1, config.numClasses(), netOptions);
      model.module().to(torchDevice, false);
      Networks.Network ema = null;
      if (method.usesEmaModel()) {
        ema = Networks.create(config.model(), 1, config.numClasses(), netOptions);
        ema.module().to(torchDevice, false);
        for (Tensor p : org.ssl4mis.nn.StateDict.parameters(ema.module()).values()) {
          p.detach_(); // the teacher is never trained by the optimizer (param.detach_() in the scripts)
        }
      }

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
      int total = train.size();
      int labeled = layout.isTwoDimensional()
          ? LabeledSlices.resolve(config.rootPath(), config.labeledNum(), config.labeledSlices())
          : Math.min(config.labeledNum(), total);
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
      Sgd sgd = new Sgd(model.module(), config.baseLr(), 0.9, 1e-4);
      log.info(batchesPerEpoch + " iterations per epoch");

      int iterNum = 0;
      double best = 0;
      Path bestModel = null;
      Path lastCheckpoint = null;
      Path stateFile = snapshot.resolve(TrainingState.FILE_NAME);
      if (config.resume()) {
        if (!Files.exists(stateFile)) {
          throw new IllegalArgumentException("--resume: there is no " + stateFile + " to resume from");
        }
        TrainingState.Restored r = TrainingState.load(stateFile, model.module(), ema == null ? null : ema.module(), sgd);
        iterNum = r.iterNum();
        best = r.bestPerformance();
        bestModel = r.bestModel() == null ? null : snapshot.resolve(r.bestModel());
        lastCheckpoint = stateFile;
        sgd.setLearningRate(PolyLr.at(config.baseLr(), iterNum - 1, config.maxIterations()));
        log.info("resumed from " + stateFile + " at iteration " + iterNum);
      }
      int stopAt = Integer.parseInt(config.extra().getOrDefault("stop_at", "0"));
      for (int skipped = 0; skipped < iterNum; skipped++) {
        batches.next(); // the sampler's order depends only on its seed: replay it to where the run stopped
      }
      ProgressBar bar = config.quiet() ? null : new ProgressBar(console, config.maxIterations());
      long started = System.nanoTime();
      model.module().train(true);
      try (BatchLoader loader = new BatchLoader(train, batches, transform, config.seed(), config.workers(),
          Math.max(2, config.workers() * 2), device, iterNum)) {
        while (iterNum < config.maxIterations()) {
          double lr = 0;
          double lossValue;
          Map<String, Double> scalars;
          try (MemoryScope scope = MemoryScope.open(); BatchLoader.Batch batch = loader.next()) {
            Method.StepLoss step = method.step(new TrainingContext(config, model, ema, iterNum), batch.image(), batch.label());
            lossValue = step.total().item_double();
            scalars = step.scalarView();
            if (!Double.isFinite(lossValue)) {
              throw new NonFiniteLossException(String.format(Locale.ROOT,
                  "iteration %d: the loss is %s (terms %s); stopping. Last good checkpoint: %s", iterNum + 1, lossValue,
                  scalars, lastCheckpoint == null ? "none yet" : lastCheckpoint));
            }
            sgd.zeroGrad();
            step.total().backward();
            sgd.step();
            if (ema != null) {
              Ema.update_ema_variables(model.module(), ema.module(), config.emaDecay(), iterNum);
            }
            lr = PolyLr.at(config.baseLr(), iterNum, config.maxIterations());
            sgd.setLearningRate(lr);
            iterNum++;
            summaries.scalar("info/lr", lr, iterNum);
            summaries.scalar("info/total_loss", lossValue, iterNum);
            for (Map.Entry<String, Double> e : scalars.entrySet()) {
              summaries.scalar(e.getKey(), e.getValue(), iterNum);
            }
            if (threeD) {
              summaries.scalar("loss/loss", lossValue, iterNum);
            }
            if (iterNum % 20 == 0 && step.outputs() != null) {
              summaries.images(batch.image(), step.outputs(), batch.label(), iterNum);
            }
          }
          String line = String.format(Locale.ROOT, "iteration %d : loss : %f, loss_ce: %f, loss_dice: %f", iterNum, lossValue,
              scalars.getOrDefault("info/loss_ce", Double.NaN), scalars.getOrDefault("info/loss_dice", Double.NaN));
          if (bar != null) {
            log.fileOnly(line); // the bar shows the loss; the console keeps the validation lines
          } else {
            log.info(line);
          }
          if (bar != null) {
            bar.update(iterNum, lossValue, lr);
          }
          if (iterNum > 0 && iterNum % config.validateEvery() == 0 && validator != null) {
            model.module().eval();
            double[][] metrics = validator.validate(model);
            model.module().train(true);
            double meanDice = 0;
            double meanHd95 = 0;
            for (int c = 0; c < metrics.length; c++) {
              if (!threeD) {
                summaries.scalar("info/val_" + (c + 1) + "_dice", metrics[c][0], iterNum);
                summaries.scalar("info/val_" + (c + 1) + "_hd95", metrics[c][1], iterNum);
              }
              meanDice += metrics[c][0] / metrics.length;
              meanHd95 += metrics[c][1] / metrics.length;
            }
            if (!threeD) {
              summaries.scalar("info/val_mean_dice", meanDice, iterNum);
              summaries.scalar("info/val_mean_hd95", meanHd95, iterNum);
            }
            if (meanDice > best) {
              best = meanDice;
              Path iterFile = snapshot.resolve("iter_" + iterNum + "_dice_" + PythonRound.round4(best) + ".pth");
              bestModel = snapshot.resolve(config.model() + "_best_model.pth");
              Checkpoints.saveStateDict(model.module(), iterFile);
              Checkpoints.saveStateDict(model.module(), bestModel);
              lastCheckpoint = bestModel;
            }
            if (threeD) {
              summaries.scalar("info/val_dice_score", metrics[0][0], iterNum);
              summaries.scalar("info/val_hd95", metrics[0][1], iterNum);
              log.info(String.format(Locale.ROOT, "iteration %d : dice_score : %f hd95 : %f", iterNum, metrics[0][0],
                  metrics[0][1]));
            } else {
              log.info(String.format(Locale.ROOT, "iteration %d : mean_dice : %f mean_hd95 : %f", iterNum, meanDice,
                  meanHd95));
            }
          }
          if (iterNum % config.saveEvery() == 0) {
            Path file = snapshot.resolve("iter_" + iterNum + ".pth");
            Checkpoints.saveStateDict(model.module(), file);
            lastCheckpoint = file;
            log.info("save model to " + file);
          }
          if (iterNum % config.saveEvery() == 0 || iterNum == config.maxIterations() || iterNum == stopAt) {
            TrainingState.save(stateFile, model.module(), ema == null ? null : ema.module(), sgd, iterNum, best, bestModel);
          }
          if (iterNum == stopAt) {
            log.info("stopped at iteration " + iterNum + " (--stop_at); continue with --resume");
            break;
          }
        }
      } finally {
        summaries.close();
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      return new Result(snapshot, iterNum, best, bestModel, seconds);
    }
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
