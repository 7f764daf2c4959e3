package org.ssl4mis.train.methods;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.PolyLr;
import org.ssl4mis.train.Ramps;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_regularized_dropout_2D.py} (after Liang et al., "R-Drop: Regularized Dropout for Neural
 * Networks", NeurIPS 2021): two networks see the same batch, each trained on the labelled part, and a
 * symmetric KL divergence pulls their outputs on the unlabelled part together.
 *
 * <p>One iteration, with {@code lb = labeled_bs}: {@code o1 = model1(volume)}, {@code o2 = model2(volume)},
 * {@code model1_loss = 0.5 * (CE + Dice)(o1[:lb])}, {@code model2_loss} likewise,
 * {@code r_drop_loss = compute_kl_loss(o1[lb:], o2[lb:])}, {@code loss = model1_loss + model2_loss + w *
 * r_drop_loss} with {@code w = consistency * sigmoid_rampup(iter_num // 150, consistency_rampup)} and the
 * script's {@code --consistency 4.0}. Logged under the script's tags: {@code consistency_weight/consistency_weight},
 * {@code loss/model1_loss}, {@code loss/model2_loss}, {@code loss/r_drop_loss}. No randomness of its own: the
 * two outputs differ through the networks' dropout (libtorch's generator) and, in the script's form, the two
 * networks' different initial weights.
 *
 * <p><b>Two networks.</b> The script builds {@code model1} and {@code model2} from the same factory (two
 * independent initialisations) with one SGD optimizer each, rather than R-Drop's two dropout passes through ONE
 * network. That is reproduced by default: {@code model1} is the engine's model, {@code model2} is created by this
 * method on the first step (same {@code --model} and {@code --model_options}, on the batch's device, training
 * mode; see {@link #secondModel()}) with its own {@code SGD(lr=base_lr, momentum=0.9, weight_decay=1e-4)}.
 * Because the engine steps only its own optimizer, {@code model2}'s SGD step for iteration {@code k} is applied
 * at the start of iteration {@code k + 1}, before any forward pass, with the learning rate the engine used for
 * {@code model1} at iteration {@code k}; its gradients are zeroed after the update. Every forward pass
 * therefore sees the same weights as in the script; only the very last update of a run is never applied
 * (this assumes, as the engine does, that each {@code step} is followed by {@code backward} on its loss).
 * {@code extra rdrop_models=one} gives R-Drop as published: two stochastic passes through the engine's model.
 *
 * <p><b>Reference quirks.</b>
 * <ul>
 *   <li>{@code compute_kl_loss} takes its softmaxes over {@code dim=-1}, the image WIDTH, as in R-Drop's NLP
 *       code where the last axis is the vocabulary, not over the class axis: each image row is treated as a
 *       distribution. A real bug; reproduced by default, fixed with {@code extra rdrop_kl_dim=class}
 *       ({@code Losses.compute_kl_loss(p, q, Losses.CLASS_DIM)}). Both forms take the mean (not R-Drop's sum).
 *   <li>The script updates the learning rate after {@code iter_num += 1}, so its schedule runs one iteration
 *       ahead of the other scripts' ({@code base_lr * (1 - (k + 1) / max)^0.9} after step {@code k}). The engine
 *       sets {@code model1}'s rate with the common schedule; {@code model2} follows {@code model1}'s so that both
 *       networks always share one rate, as in the script.
 *   <li>The script logs {@code lr} (not {@code info/lr}) and no total loss, validates and saves both networks
 *       ({@code model1_iter_*}, {@code {model}_best_model1.pth}, {@code info/model1_val_*}, ...) into
 *       {@code ../model/{exp}_{labeled_num}/{model}} (no {@code _labeled}), writes images every 50 iterations
 *       and prints {@code model1 loss / model2 loss / r_drop_loss} on its log line; those are the engine's
 *       concern (it validates and saves {@code model1} only, and {@code --resume} restores {@code model1}, not
 *       {@code model2} and its momentum).
 *   <li>{@code --ema_decay} and {@code --consistency_type} are parsed but unused; the default
 *       {@code --labeled_num 136} is not in the ACDC table (pass {@code --labeled_num 7} or
 *       {@code --labeled_slices 136}).
 * </ul>
 * This class implements the 2D script.
 */
public final class RegularizedDropout implements Method {
  /** The {@code extra} key of the KL softmax axis: {@code last} (the script) or {@code class} (the fix). */
  public static final String KL_DIM_KEY = "rdrop_kl_dim";
  /** The {@code extra} key of the network count: {@code two} (the script) or {@code one} (R-Drop as published). */
  public static final String MODELS_KEY = "rdrop_models";

  private DiceLoss dice;
  private Networks.Network second;
  private SGD secondOptimizer;
  /** The iteration whose backward left gradients in {@code model2} that are not applied yet, or -1. */
  private long pendingIteration = -1;

  public RegularizedDropout() {}

  /** With {@code model2} given (tests: known weights); it must be built outside any memory scope. */
  RegularizedDropout(Networks.Network secondModel) {
    this.second = secondModel;
  }

  @Override
  public String name() {
    return "rdrop";
  }

  @Override
  public String referenceScript(int dim) {
    return dim == 2 ? "train_regularized_dropout_2D.py" : "train_regularized_dropout_3D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim != 2) {
      throw new IllegalArgumentException("rdrop: only the 2D script is implemented (--dim 2), not "
          + "train_regularized_dropout_3D.py");
    }
    return Map.of("exp", "ACDC/Regularized_Dropout", "labeled_num", "136", "consistency", "4.0");
  }

  /** The script's {@code model2}, once the first two-network step created it (null before, and with one network). */
  public Networks.Network secondModel() {
    return second;
  }

  static long klDim(Map<String, String> extra) {
    String v = extra.getOrDefault(KL_DIM_KEY, "last").strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "last", "-1", "reference" -> -1;
      case "class", "1", "fixed" -> Losses.CLASS_DIM;
      default -> throw new IllegalArgumentException(KL_DIM_KEY + " must be last (the script) or class (the fix), got '"
          + v + "'");
    };
  }

  static boolean twoModels(Map<String, String> extra) {
    String v = extra.getOrDefault(MODELS_KEY, "two").strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "two", "2", "reference" -> true;
      case "one", "1", "shared" -> false;
      default -> throw new IllegalArgumentException(MODELS_KEY + " must be two (the script) or one (R-Drop's single"
          + " network), got '" + v + "'");
    };
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    Map<String, String> extra = ctx.config().extra();
    long dim = klDim(extra);
    boolean two = twoModels(extra);
    Networks.Network model2 = ctx.model();
    if (two) {
      ensureSecondModel(ctx, volumeBatch);
      applyPendingUpdate(ctx);
      model2 = second;
    }
    int lb = ctx.labeledBs();
    Tensor outputs1 = ctx.model().logits(volumeBatch);
    Tensor outputs2 = model2.logits(volumeBatch);
    double weight = Ramps.consistencyWeight(ctx.config().consistency(), ctx.config().consistencyRampup(),
        ctx.iterNum() / 150);
    Tensor model1Loss = Supervised.of(dice, outputs1, labelBatch, lb).loss();
    Tensor model2Loss = Supervised.of(dice, outputs2, labelBatch, lb).loss();
    Tensor rDrop = Losses.compute_kl_loss(Slicing.tail(outputs1, lb), Slicing.tail(outputs2, lb), dim);
    Tensor loss = model1Loss.add(model2Loss).add(rDrop.mul(new Scalar(weight)));
    if (two) {
      pendingIteration = ctx.iterNum();
    }
    LinkedHashMap<String, Double> scalars = new LinkedHashMap<>();
    scalars.put("consistency_weight/consistency_weight", weight);
    scalars.put("loss/model1_loss", model1Loss.item_double());
    scalars.put("loss/model2_loss", model2Loss.item_double());
    scalars.put("loss/r_drop_loss", rDrop.item_double());
    return new StepLoss(loss, scalars, outputs1);
  }

  /** The learning rate the engine's optimizer used at iteration {@code k} (set after iteration {@code k - 1}). */
  static double engineLearningRate(double baseLr, long k, long maxIterations) {
    return k == 0 ? baseLr : PolyLr.at(baseLr, k - 1, maxIterations);
  }

  private void applyPendingUpdate(TrainingContext ctx) {
    if (pendingIteration < 0) {
      return;
    }
    double lr = engineLearningRate(ctx.config().baseLr(), pendingIteration, ctx.maxIterations());
    PolyLr.setLearningRate(secondOptimizer, lr);
    secondOptimizer.step();
    secondOptimizer.zero_grad(false);
    pendingIteration = -1;
  }

  private void ensureSecondModel(TrainingContext ctx, Tensor volumeBatch) {
    if (second != null && secondOptimizer != null) {
      return;
    }
    String device = volumeBatch.device().str().getString();
    String model = ctx.config().model();
    Networks.Options options = Networks.Options.parse(ctx.config().extra().getOrDefault("model_options", ""));
    long classes = ctx.numClasses();
    double baseLr = ctx.config().baseLr();
    // The network and its optimizer live for the whole run, so they are built on a thread without the engine's
    // per-iteration memory scope (which would free them when the iteration ends).
    if (second == null) {
      second = outsideMemoryScopes(() -> {
        Networks.Network n = Networks.create(model, 1, classes, options);
        n.module().to(new Device(device), false);
        n.module().train(true);
        return n;
      });
    }
    Networks.Network net = second;
    secondOptimizer = outsideMemoryScopes(() -> PolyLr.sgd(net.module(), baseLr));
  }

  private static <T> T outsideMemoryScopes(Supplier<T> body) {
    AtomicReference<T> result = new AtomicReference<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread worker = Thread.ofPlatform().name("rdrop-model2").unstarted(() -> {
      try {
        result.set(body.get());
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    worker.start();
    try {
      worker.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building rdrop's second network", e);
    }
    Throwable t = failure.get();
    if (t instanceof RuntimeException re) {
      throw re;
    }
    if (t instanceof Error err) {
      throw err;
    }
    if (t != null) {
      throw new IllegalStateException(t);
    }
    return result.get();
  }
}
