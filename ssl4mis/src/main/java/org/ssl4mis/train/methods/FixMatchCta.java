package org.ssl4mis.train.methods;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.data.BatchLoader;
import org.ssl4mis.data.fixmatch.CTATransform;
import org.ssl4mis.data.fixmatch.CTAugment;
import org.ssl4mis.data.fixmatch.FixMatchSample;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;
import org.ssl4mis.train.TrainingData;

/**
 * {@code train_fixmatch_cta.py}: FixMatch with CTAugment (Sohn et al., NeurIPS 2020), the dataset transform
 * {@code CTATransform(patch_size, cta)} ({@link CTATransform}) applying the current weak and strong policies of a
 * {@link CTAugment}, and pseudo-labels from an EMA teacher. One iteration, with {@code lb = labeled_bs},
 * {@code o_w = model(image_weak)}, {@code o_s = model(image_strong)}, {@code p = softmax(o, 1)}:
 * <ol>
 *   <li>{@code pseudo = argmax(softmax(ema_model(image_weak)), 1)} without gradient (no confidence threshold);
 *   <li>{@code sup = CE(o_w[:lb], label_aug[:lb]) + Dice(p_w[:lb], label_aug[:lb])};
 *   <li>{@code unsup = CE(o_s[lb:], pseudo[lb:]) + Dice(p_s[lb:], pseudo[lb:])};
 *   <li>{@code loss = sup + w * unsup}, {@code w = consistency * sigmoid_rampup(iter_num // 150, consistency_rampup)}.
 * </ol>
 * Then SGD, the EMA update with {@code iter_num} before the increment, and the learning rate set AFTER
 * {@code iter_num += 1} ({@link #learningRateOneAhead}). Validation evaluates the EMA teacher
 * ({@code test_single_volume(..., ema_model)}) but the improvement checkpoints hold {@code model}, as the script
 * saves them; names as in {@link FixMatchScript}.
 *
 * <p><b>The policy schedule, as the script runs it</b> (it is per epoch, not per sample or per step):
 * <ul>
 *   <li>At the start of every epoch ({@code len(trainloader)} batches of the two-stream sampler)
 *       {@code refresh_policies} draws one weak and one strong policy ({@code cta.policy(probe=False)}, depth 2)
 *       and logs them ({@code \nWeak Policy: [...]}, {@code Strong Policy: [...]}); EVERY sample of the epoch is
 *       augmented with those two policies.
 *   <li>A batch whose {@code count_nonzero(label_aug) / (24 * 256 * 256)} is at most 0.02 is skipped without a
 *       step ({@code continue}), after {@code Refreshing policy...} and a refresh.
 *   <li>Each step appends {@code 0.5 * loss.item()} to the epoch's errors; after the epoch's last batch (unless
 *       the run ended in it) {@code cta.update_rates(ops_weak, p)} and {@code update_rates(ops_strong, p)} with
 *       {@code p = 1 - 0.5 * mean(errors)} ({@link CTAugment#updateRates}, {@link CTAugment#proximity}). The rates
 *       are not updated from the labelled batch per step: that is CTAugment's probe scheme in the FixMatch paper,
 *       which the script does not run.
 *   <li>The run ends after {@code max_iterations // len(trainloader) + 1} epochs even when skipped batches left
 *       it short of {@code max_iterations}.
 * </ul>
 *
 * <p><b>Reference quirks (kept; fixes as options).</b>
 * <ul>
 *   <li>The skip test divides by the constant {@code 24 * 256 * 256} (the default batch and patch), not by the
 *       batch's size: with smaller batches or patches nearly every batch is skipped (at 64x64 with batch 4 all of
 *       them, and the run ends with no step). {@code --extra fixmatch_cta_nonzero_ratio=batch} divides by
 *       {@code B * H * W} instead.
 *   <li>The script's DataLoader workers are processes that copy the dataset, with its policies, when an epoch's
 *       iterator starts: a mid-epoch refresh changes only the main process's {@code db_train.ops_*}, so the rest
 *       of the epoch keeps the epoch's policies, while the end-of-epoch {@code update_rates} credits the refreshed
 *       ones, which no sample saw. Both are reproduced.
 *   <li>An epoch whose batches were all skipped leaves no errors: the script's {@code np.mean([])} is NaN, the
 *       rates become NaN and its next policy draw fails; here that stops the run with a message naming the option.
 *   <li>{@code --conf_thresh} exists but is unused; the EMA model's forward runs in training mode, so its
 *       BatchNorm statistics follow the weak batches.
 * </ul>
 *
 * <p><b>Threads.</b> Loader threads run the transform a few batches ahead and only read the epoch's policies:
 * immutable lists published by the training thread through one future per epoch, which a sample of epoch
 * {@code e} (batch number {@code b}, {@code e = b / len(trainloader)}) waits for. The {@link CTAugment} (rates,
 * policy draws from their own generator seeded from {@code --seed}) is used by the training thread alone, so
 * the run does not depend on the number of workers. {@code --resume} is not supported (the rates, the epoch's
 * policies and errors and the skipped batches are not in the training state).
 */
public final class FixMatchCta extends FixMatchScript {
  /** The script's constant denominator of the skip test: {@code 24 * 256 * 256}. */
  static final long REFERENCE_NONZERO_DENOMINATOR = 24L * 256 * 256;
  /** A batch is skipped when its labels' non-zero fraction is at most this. */
  static final float SKIP_RATIO = 0.02f;

  @Override
  public String name() {
    return "fixmatch_cta";
  }

  @Override
  public String referenceScript(int dim) {
    return "train_fixmatch_cta.py";
  }

  @Override
  String exp() {
    return "ACDC/FixMatch";
  }

  @Override
  public boolean usesEmaModel() {
    return true;
  }

  @Override
  public boolean learningRateOneAhead() {
    return true;
  }

  @Override
  public Networks.Network validatedNetwork(TrainingContext ctx, int i) {
    return ctx.emaModel();
  }

  @Override
  public TrainingData trainingData(TrainConfig config, int batchesPerEpoch) {
    if (config.resume()) {
      throw new IllegalArgumentException("fixmatch_cta: --resume is not supported (the CTAugment rates, the epoch's"
          + " policies and errors and the skipped batches are not in the training state)");
    }
    return new CtaData(config, batchesPerEpoch);
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor weakBatch, Tensor labelBatch, Map<String, Tensor> extras) {
    Tensor strongBatch = strongBatch(extras, name());
    int lb = ctx.labeledBs();
    Tensor outputsWeak = ctx.model().logits(weakBatch);
    Tensor outputsWeakSoft = torch.softmax(outputsWeak, 1);
    Tensor outputsStrong = ctx.model().logits(strongBatch);
    Tensor outputsStrongSoft = torch.softmax(outputsStrong, 1);
    Tensor pseudo;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      pseudo = torch.softmax(ctx.emaModel().logits(weakBatch), 1).argmax(new LongOptional(1), false);
    }
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor sup = ceDice(ctx, Slicing.head(outputsWeak, lb), Slicing.head(outputsWeakSoft, lb),
        Slicing.head(labelBatch, lb));
    Tensor unsup = ceDice(ctx, Slicing.tail(outputsStrong, lb), Slicing.tail(outputsStrongSoft, lb),
        Slicing.tail(pseudo, lb));
    Tensor loss = sup.add(unsup.mul(new org.bytedeco.pytorch.Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("consistency_weight/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputsWeak);
  }

  /** Whether a batch is skipped: {@code count_nonzero(label) / denominator <= 0.02} in float32, as torch divides. */
  static boolean unfavorable(long nonZero, long denominator) {
    return (float) nonZero / (float) denominator <= SKIP_RATIO;
  }

  /** The epoch's two policies, as the loader threads apply them. */
  record Policies(List<CTAugment.OpChoice> weak, List<CTAugment.OpChoice> strong) {}

  /** The script's CTAugment schedule around the engine's loop (see the class doc). */
  static final class CtaData implements TrainingData {
    final CTAugment cta = new CTAugment();
    private final SplittableRandom policyRandom;
    private final CTATransform transform;
    private final int batchesPerEpoch;
    private final long maxEpoch;
    private final boolean batchDenominator;
    private final ConcurrentHashMap<Long, CompletableFuture<Policies>> applied = new ConcurrentHashMap<>();
    private final List<Double> epochErrors = new ArrayList<>();
    private List<CTAugment.OpChoice> opsWeak;
    private List<CTAugment.OpChoice> opsStrong;
    private volatile boolean closed;

    CtaData(TrainConfig config, int batchesPerEpoch) {
      if (batchesPerEpoch < 1) {
        throw new IllegalArgumentException("fixmatch_cta needs at least one batch per epoch, got " + batchesPerEpoch);
      }
      String ratio = config.extra().getOrDefault("fixmatch_cta_nonzero_ratio", "reference");
      batchDenominator = switch (ratio) {
        case "reference" -> false;
        case "batch" -> true;
        default -> throw new IllegalArgumentException("fixmatch_cta_nonzero_ratio must be 'reference' (the script's"
            + " count / (24 * 256 * 256)) or 'batch' (count / (B * H * W)), got '" + ratio + "'");
      };
      this.policyRandom = new SplittableRandom(NativeRuntime.mix(config.seed(), "cta/policy"));
      this.transform = new CTATransform(config.patchSize());
      this.batchesPerEpoch = batchesPerEpoch;
      this.maxEpoch = config.maxIterations() / batchesPerEpoch + 1;
      // the script samples a first pair before building the dataset; the first epoch replaces it
      refresh(null);
    }

    @Override
    public BatchLoader.SampleTransform transform() {
      return (v, number, random) -> {
        requireSlice(v, "fixmatch_cta");
        Policies p = policiesOfEpoch(number / batchesPerEpoch);
        FixMatchSample s = transform.apply(v, p.weak(), p.strong(), random);
        return new BatchLoader.Sample(s.weak(), Map.of(IMAGE_STRONG, s.strong()));
      };
    }

    /** The epoch's policies, waiting (on a loader thread) until the training thread has drawn them. */
    Policies policiesOfEpoch(long epoch) {
      CompletableFuture<Policies> policies = applied.computeIfAbsent(epoch, e -> new CompletableFuture<>());
      if (closed) {
        policies.cancel(false); // asked after close: the epoch will not come
      }
      try {
        return policies.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for epoch " + epoch + "'s CTAugment policies", e);
      } catch (ExecutionException | CancellationException e) {
        throw new IllegalStateException("no CTAugment policies for epoch " + epoch + ": the run ended", e);
      }
    }

    @Override
    public boolean beforeBatch(long batchNumber, Consumer<String> log) {
      if (batchNumber % batchesPerEpoch != 0) {
        return true;
      }
      long epoch = batchNumber / batchesPerEpoch;
      if (epoch > 0) {
        if (epochErrors.isEmpty()) {
          throw new IllegalStateException("fixmatch_cta: every batch of epoch " + (epoch - 1) + " was skipped as"
              + " unfavorable (count_nonzero(label) / (24 * 256 * 256) <= 0.02), so the CTAugment rates would become"
              + " NaN (the script's np.mean([])) and no policy can be drawn; with batches or patches smaller than the"
              + " script's 24 x 256 x 256 use --extra fixmatch_cta_nonzero_ratio=batch");
        }
        double proximity = CTAugment.proximity(epochErrors.stream().mapToDouble(Double::doubleValue).toArray());
        cta.updateRates(opsWeak, proximity);
        cta.updateRates(opsStrong, proximity);
        epochErrors.clear();
      }
      if (epoch >= maxEpoch) {
        return false;
      }
      refresh(log);
      applied.computeIfAbsent(epoch, e -> new CompletableFuture<>()).complete(new Policies(opsWeak, opsStrong));
      return true;
    }

    @Override
    public boolean accept(BatchLoader.Batch batch, Consumer<String> log) {
      Tensor label = batch.label();
      long nonZero = torch.count_nonzero(label).item_long();
      long denominator = batchDenominator ? label.numel() : REFERENCE_NONZERO_DENOMINATOR;
      if (unfavorable(nonZero, denominator)) {
        log.accept("Refreshing policy...");
        refresh(log);
        return false;
      }
      return true;
    }

    @Override
    public void afterStep(BatchLoader.Batch batch, double loss) {
      epochErrors.add(0.5 * loss);
    }

    @Override
    public void close() {
      // loader threads still waiting for an epoch that will not come give up
      closed = true;
      applied.values().forEach(f -> f.cancel(false));
    }

    /** {@code refresh_policies}: a new weak and strong policy, logged. */
    private void refresh(Consumer<String> log) {
      opsWeak = cta.policy(false, true, policyRandom);
      opsStrong = cta.policy(false, false, policyRandom);
      if (log != null) {
        log.accept("\nWeak Policy: " + opsWeak);
        log.accept("Strong Policy: " + opsStrong);
      }
    }

    List<CTAugment.OpChoice> opsWeak() {
      return opsWeak;
    }

    List<CTAugment.OpChoice> opsStrong() {
      return opsStrong;
    }
  }
}
