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
    if (config.threads() > 0) {
      NativeRuntime.setThreads(config.threads());
    }
    org.ssl4mis.runtime.Device device = NativeRuntime.resolveAuto(config.device());
    NativeRuntime.seed(config.seed());
    NativeRuntime.setDeterministic(config.deterministic());
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
      CaseDataset train = CaseDataset.open(layout, Split.TRAIN, Integer.MAX_VALUE, config.numClasses(), true);
      train.validateAll(); // every bad file is reported before the first iteration, not in the middle of a run
      int total = train.size();
      int labeled = layout.isTwoDimensional()
          ? LabeledSlices.resolve(config.rootPath(), config.labeledNum(), config.labeledSlices())
          : Math.min(config.labeledNum(), total);
      if (labeled >= total) {
        throw new IllegalArgumentException(labeled + " labelled samples leave no unlabelled ones among the " + total
            + " training samples of " + layout);
      }
      log.info(String.format(Locale.ROOT, "Total silices is: %d, labeled slices is: %d", total, labeled));
      TwoStreamBatchSampler sampler = new TwoStreamBatchSampler(TwoStreamBatchSampler.range(0, labeled),
          TwoStreamBatchSampler.range(labeled, total), config.batchSize(), config.batchSize() - config.labeledBs(),
          NativeRuntime.random("sampler"));
      int[] patch = config.patchSize();
      BatchLoader.Transform transform = layout.isTwoDimensional()
          ? (v, r) -> Augment.randomGenerator(v, patch, r)
          : (v, r) -> Augment.randomRotFlip(Augment.randomCrop(v, patch, r), r);
      Sgd sgd = new Sgd(model.module(), config.baseLr(), 0.9, 1e-4);
      log.info(sampler.batchesPerEpoch() + " iterations per epoch");

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
      java.util.Iterator<int[]> batches = sampler.forever();
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
              Ema.update(model.module(), ema.module(), config.emaDecay(), iterNum);
            }
            lr = PolyLr.at(config.baseLr(), iterNum, config.maxIterations());
            sgd.setLearningRate(lr);
            iterNum++;
            summaries.scalar("info/lr", lr, iterNum);
            summaries.scalar("info/total_loss", lossValue, iterNum);
            for (Map.Entry<String, Double> e : scalars.entrySet()) {
              summaries.scalar(e.getKey(), e.getValue(), iterNum);
            }
            if (iterNum % 20 == 0 && step.outputs() != null) {
              summaries.images(batch.image(), step.outputs(), batch.label(), iterNum);
            }
          }
          log.info(String.format(Locale.ROOT, "iteration %d : loss : %f, loss_ce: %f, loss_dice: %f", iterNum, lossValue,
              scalars.getOrDefault("info/loss_ce", Double.NaN), scalars.getOrDefault("info/loss_dice", Double.NaN)));
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
              summaries.scalar("info/val_" + (c + 1) + "_dice", metrics[c][0], iterNum);
              summaries.scalar("info/val_" + (c + 1) + "_hd95", metrics[c][1], iterNum);
              meanDice += metrics[c][0] / metrics.length;
              meanHd95 += metrics[c][1] / metrics.length;
            }
            summaries.scalar("info/val_mean_dice", meanDice, iterNum);
            summaries.scalar("info/val_mean_hd95", meanHd95, iterNum);
            if (meanDice > best) {
              best = meanDice;
              Path iterFile = snapshot.resolve("iter_" + iterNum + "_dice_" + PythonRound.round4(best) + ".pth");
              bestModel = snapshot.resolve(config.model() + "_best_model.pth");
              Checkpoints.saveStateDict(model.module(), iterFile);
              Checkpoints.saveStateDict(model.module(), bestModel);
              lastCheckpoint = bestModel;
            }
            log.info(String.format(Locale.ROOT, "iteration %d : mean_dice : %f mean_hd95 : %f", iterNum, meanDice, meanHd95));
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
}
