package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.data.BatchLoader;
import org.ssl4mis.data.fixmatch.FixMatchSample;
import org.ssl4mis.data.fixmatch.WeakStrongAugment;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;
import org.ssl4mis.train.TrainingData;

/**
 * {@code train_fixmatch_standard_augs.py}: FixMatch (Sohn et al., NeurIPS 2020) with the dataset transform
 * {@code WeakStrongAugment(patch_size)} ({@link WeakStrongAugment}: resize, weak = {@code random_rot_flip} of image
 * and label, strong = {@code ColorJitter(0.8, 0.8, 0.8, 0.2)} of the weak image), plus the script's complementary
 * loss. One iteration, with {@code lb = labeled_bs}, {@code o_w = model(image_weak)}, {@code o_s =
 * model(image_strong)}, {@code p = softmax(o, 1)}:
 * <ol>
 *   <li>pseudo-labels: {@code mask = (normalize(p_w) > conf_thresh)}, {@code pseudo = argmax((p_w * mask)[lb:], 1)},
 *       with {@code normalize(x) = (x - min_c x) / max_c x} over the class axis;
 *   <li>{@code sup = CE(o_w[:lb], label[:lb]) + Dice(p_w[:lb], label[:lb])} (no 1/2);
 *   <li>complementary: {@code as_weight = mean(1 - H(Categorical(probs = p_s.reshape(B, C, H*W))) / ln(H*W))},
 *       {@code comp = as_weight * CE(1 - p_s, argmin(p_w, 1))} over the whole batch;
 *   <li>{@code unsup = CE(o_s[lb:], pseudo) + Dice(p_s[lb:], pseudo) + as_weight * comp};
 *   <li>{@code loss = sup + w * unsup}, {@code w = consistency * sigmoid_rampup(iter_num // 150, consistency_rampup)}.
 * </ol>
 * The learning rate is set before {@code iter_num += 1} (the common schedule); scalars {@code lr},
 * {@code consistency_weight/consistency_weight}, {@code loss/model_loss}; validation of {@code model} (see
 * {@link FixMatchScript} for the names). Option {@code conf_thresh} (default 0.8) through {@code --extra}.
 *
 * <p><b>Reference quirks (kept).</b>
 * <ul>
 *   <li>{@code normalize} divides by the maximum, not by {@code max - min}, so the threshold applies to
 *       {@code (p - min) / max}; where no class passes it the masked probabilities are all 0 and the
 *       pseudo-label is class 0 (argmax of zeros), so low-confidence pixels teach background.
 *   <li>The pseudo-labels come from the student's own weak prediction (no teacher); the script builds and
 *       updates an EMA model that nothing reads, so it is not kept here (no effect on any output).
 *   <li>The "entropy" of {@code as_weight} is over the pixels of each class map ({@code Categorical} on the last
 *       axis of {@code (B, C, H*W)}), not over classes; {@code as_weight} is not detached and enters twice, so
 *       the complementary term is {@code as_weight^2 * CE(1 - p_s, argmin p_w)}, and it covers the labelled
 *       samples too. {@code CE} takes {@code 1 - p_s} as logits.
 *   <li>The reshape uses {@code args.batch_size}: a batch of another size fails ({@code batch_size} is every
 *       batch's size under the two-stream sampler).
 *   <li>The images every 50 iterations ({@code train/Image}, {@code train/model_Prediction},
 *       {@code train/GroundTruth}) are the engine's every 20 ({@code train/Image}, {@code train/Prediction},
 *       {@code train/GroundTruth}) of the weak batch.
 * </ul>
 */
public final class FixMatchStandardAugs extends FixMatchScript {

  @Override
  public String name() {
    return "fixmatch";
  }

  @Override
  public String referenceScript(int dim) {
    return "train_fixmatch_standard_augs.py";
  }

  @Override
  String exp() {
    return "ACDC/FixMatch_standard_augs";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  /** {@code --conf_thresh}: the pseudo-label threshold on the normalised weak probabilities. */
  static double confThresh(TrainConfig config) {
    String v = config.extra().getOrDefault("conf_thresh", "0.8");
    try {
      return Double.parseDouble(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("conf_thresh must be a number, got '" + v + "'");
    }
  }

  @Override
  public TrainingData trainingData(TrainConfig config, int batchesPerEpoch) {
    confThresh(config);
    WeakStrongAugment augment = new WeakStrongAugment(config.patchSize());
    return () -> (v, number, random) -> {
      requireSlice(v, name());
      FixMatchSample s = augment.apply(v, random);
      return new BatchLoader.Sample(s.weak(), Map.of(IMAGE_STRONG, s.strong()));
    };
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor weakBatch, Tensor labelBatch, Map<String, Tensor> extras) {
    Tensor strongBatch = strongBatch(extras, name());
    int lb = ctx.labeledBs();
    int[] patch = ctx.config().patchSize();
    long batch = ctx.config().batchSize();
    if (weakBatch.size(0) != batch) {
      throw new IllegalArgumentException("fixmatch: the script reshapes the strong predictions to batch_size (" + batch
          + ") samples; this batch has " + weakBatch.size(0));
    }
    Tensor outputsWeak = ctx.model().logits(weakBatch);
    Tensor outputsWeakSoft = torch.softmax(outputsWeak, 1);
    Tensor outputsStrong = ctx.model().logits(strongBatch);
    Tensor outputsStrongSoft = torch.softmax(outputsStrong, 1);

    Tensor weakSoftDetached = outputsWeakSoft.detach();
    Tensor pseudoMask = normalize(weakSoftDetached).gt(new Scalar(confThresh(ctx.config()))).to(torch.ScalarType.Float);
    Tensor pseudo = Slicing.tail(weakSoftDetached.mul(pseudoMask), lb).argmax(new org.bytedeco.pytorch.LongOptional(1),
        false);

    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor sup = ceDice(ctx, Slicing.head(outputsWeak, lb), Slicing.head(outputsWeakSoft, lb),
        Slicing.head(labelBatch, lb));

    long pixels = (long) patch[0] * patch[1];
    Tensor il = outputsStrongSoft.reshape(batch, ctx.numClasses(), pixels);
    Tensor asWeight = categoricalEntropy(il).div(new Scalar(Math.log(pixels))).neg().add(new Scalar(1.0)).mean();
    Tensor compLabels = weakSoftDetached.argmin(new org.bytedeco.pytorch.LongOptional(1), false);
    Tensor compLoss = asWeight.mul(Losses.cross_entropy(outputsStrongSoft.neg().add(new Scalar(1.0)), compLabels));

    Tensor unsup = ceDice(ctx, Slicing.tail(outputsStrong, lb), Slicing.tail(outputsStrongSoft, lb), pseudo)
        .add(asWeight.mul(compLoss));
    Tensor loss = sup.add(unsup.mul(new Scalar(weight)));
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("consistency_weight/consistency_weight", weight);
    return new StepLoss(loss, scalars, outputsWeak);
  }

  /** The script's {@code normalize}: {@code (x - min_c x) / max_c x} over the class axis. */
  static Tensor normalize(Tensor x) {
    Tensor min = x.amin(new long[] {1}, true);
    Tensor max = x.amax(new long[] {1}, true);
    return x.sub(min).div(max);
  }

  /**
   * {@code Categorical(probs=x).entropy()} over the last axis as torch computes it: {@code p = x / x.sum(-1)},
   * {@code -(p * log(clamp(p, eps, 1 - eps))).sum(-1)} with the dtype's machine epsilon.
   */
  static Tensor categoricalEntropy(Tensor x) {
    Tensor p = x.div(x.sum(new long[] {-1}, true, new ScalarTypeOptional()));
    double eps = Math.ulp(1.0f);
    Tensor logits = p.clamp(new ScalarOptional(new Scalar(eps)), new ScalarOptional(new Scalar(1 - eps))).log();
    return logits.mul(p).sum(new long[] {-1}, false, new ScalarTypeOptional()).neg();
  }
}
