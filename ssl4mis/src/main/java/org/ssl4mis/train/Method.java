package org.ssl4mis.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A semi-supervised training method: what one iteration of its reference script computes from a batch.
 * The {@link Trainer} does everything the scripts share (models, EMA creation and update, sampler, SGD,
 * the poly learning rate, validation, checkpoints, logs), so a method is one class. The defaults below are
 * those of the single-network scripts; methods whose script does otherwise override them.
 */
public interface Method {

  /** The name used by {@code --method} (e.g. {@code uamt}). */
  String name();

  /** The reference script this method reproduces for {@code dim} (2 or 3), e.g. {@code train_mean_teacher_2D.py}. */
  String referenceScript(int dim);

  /** Whether the method keeps an EMA teacher of the first student, updated after every optimizer step. */
  boolean usesEmaModel();

  /** The script's argparse defaults that differ from the common ones ({@code exp}, {@code labeled_num}, ...). */
  Map<String, String> defaults(int dim);

  /**
   * The segmentation networks the engine creates, trains with one SGD optimizer each (the scripts'
   * {@code optim.SGD(..., momentum=0.9, weight_decay=0.0001)} and poly rate), validates and checkpoints.
   * One network is the scripts' {@code model}; two are {@code model1} and {@code model2} (CPS, cross
   * teaching, the two-network R-Drop), validated and saved under those prefixes as the scripts do.
   */
  default List<Student> students(TrainConfig config) {
    return List.of(Student.of("model", config.model()));
  }

  /**
   * Called once before the first iteration, outside any memory scope, with the networks already on the
   * device: where a method builds what lives for the whole run (a discriminator and its optimizer).
   */
  default void setUp(TrainingContext ctx, org.bytedeco.pytorch.Device device) {}

  /** One iteration's loss, with the terms the script logs, from a batch already on the device. */
  StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch);

  /**
   * One iteration on a batch whose samples carry further images by name ({@link TrainingData}: FixMatch's
   * {@code image_strong}); the default ignores them.
   */
  default StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch, Map<String, Tensor> extras) {
    return step(ctx, volumeBatch, labelBatch);
  }

  /**
   * The method's own training data (transform and batch-level steps), or null for the engine's: the 2D
   * scripts' {@code RandomGenerator}, the 3D ones' {@code RandomRotFlip} and {@code RandomCrop}. Called once,
   * on the training thread, before the loader starts.
   *
   * @param batchesPerEpoch the sampler's batches per epoch ({@code len(trainloader)})
   */
  default TrainingData trainingData(TrainConfig config, int batchesPerEpoch) {
    return null;
  }

  /**
   * The network validation evaluates for student {@code i}: the student itself, or (FixMatch-CTA) the EMA
   * teacher; the improvement checkpoints hold the student either way.
   */
  default org.ssl4mis.networks.Networks.Network validatedNetwork(TrainingContext ctx, int i) {
    return ctx.student(i);
  }

  /**
   * The prefix of student {@code name}'s validation scalars ({@code info/{p}val_mean_dice}), validation log
   * line and checkpoints ({@code {p}iter_{n}.pth}): empty for one student, {@code {name}_} for several; the
   * FixMatch scripts write {@code model_} for their one network.
   */
  default String studentPrefix(String name, int students) {
    return students == 1 ? "" : name + "_";
  }

  /**
   * After the optimizer steps (and the EMA update) of the iteration {@code ctx.iterNum()}, inside its memory
   * scope: where an adversarial method trains its discriminator. Returns scalars to log (may be empty).
   */
  default Map<String, Double> afterStep(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch, StepLoss step) {
    return Map.of();
  }

  /**
   * Whether the script sets the learning rate AFTER {@code iter_num += 1} ({@code base_lr * (1 - (k + 1) /
   * max)^0.9} after step {@code k}, one iteration ahead of the other scripts): CPS, cross teaching, R-Drop.
   */
  default boolean learningRateOneAhead() {
    return false;
  }

  /** The tag of the learning rate scalar: {@code info/lr}, or {@code lr} in the two-network scripts. */
  default String learningRateTag() {
    return "info/lr";
  }

  /** The tag of the total loss scalar, or null where the script writes none. */
  default String totalLossTag() {
    return "info/total_loss";
  }

  /**
   * The tag under which the script writes the loss a second time after its log line ({@code loss/loss} in most
   * 3D scripts), or null where it does not.
   */
  default String iterationLossTag(int dim) {
    return dim == 3 && totalLossTag() != null ? "loss/loss" : null; // CPS 3D writes neither total loss scalar
  }

  /**
   * The script's argparse options in declaration order, as its first log line {@code Namespace(...)} lists them
   * ({@link TrainConfig#namespace(List)}); options that are no {@link TrainConfig} field come from its extra map.
   */
  default List<String> scriptArguments(int dim) {
    return dim == 3 ? TrainConfig.ARGUMENTS_3D : TrainConfig.ARGUMENTS_2D;
  }

  /**
   * The end of the unlabelled indices {@code range(labeled_num, end)} where the script cuts the training list
   * short (e.g. {@code --total_labeled_num}); the engine takes the smaller of this and the list's length.
   */
  default int unlabeledEnd(TrainConfig config) {
    return Integer.MAX_VALUE;
  }

  /**
   * Whether the 3D validation is reported per foreground class and as means ({@code info/val_cls_{c}_dice_score},
   * {@code info/val_mean_dice_score}, the log line with the means), as the URPC 3D script does, rather than as
   * class 1 alone ({@code info/val_dice_score}).
   */
  default boolean perClassValidation3d() {
    return false;
  }

  /** The iteration's {@code log.txt} line. */
  default String logLine(int iterNum, double loss, Map<String, Double> scalars) {
    return String.format(Locale.ROOT, "iteration %d : loss : %f, loss_ce: %f, loss_dice: %f", iterNum, loss,
        scalars.getOrDefault("info/loss_ce", Double.NaN), scalars.getOrDefault("info/loss_dice", Double.NaN));
  }

  /**
   * The file name of a checkpoint saved on a validation improvement: {@code iter_{n}_dice_{d}.pth} with
   * {@code d = round(best, 4)}, prefixed with {@code {student}_} when there are several students.
   */
  default String improvementCheckpointName(String prefix, int iterNum, double best) {
    return prefix + "iter_" + iterNum + "_dice_" + PythonRound.round4(best) + ".pth";
  }

  /**
   * Writes the checkpoint of a student: by default its bare state dict, {@code torch.save(model.state_dict(),
   * path)}, as most scripts do; a method whose script saves a whole dictionary (the FixMatch scripts'
   * {@code util.save_checkpoint}) overrides this. Called for the improvement, best and periodic checkpoints.
   */
  default void saveCheckpoint(java.nio.file.Path file, SavedStudent student) throws java.io.IOException {
    org.ssl4mis.io.Checkpoints.saveStateDict(student.model(), file);
  }

  /**
   * What a checkpoint may hold of a student when the engine saves it.
   *
   * @param model the student's network
   * @param optimizer its SGD
   * @param epoch the script's {@code epoch_num}: the epoch of the batch of the last step (batches of the
   *     sampler, skipped ones included, over its batches per epoch)
   * @param loss the last step's total loss
   */
  record SavedStudent(Module model, Sgd optimizer, long epoch, double loss) {}

  /**
   * The slice size 2D validation resizes to: {@code test_single_volume}'s default 256x256, which the scripts
   * keep by not passing their {@code patch_size}; cross teaching passes it (its Swin-UNet takes 224x224 only).
   */
  default int[] validationPatchSize(TrainConfig config) {
    return new int[] {256, 256};
  }

  /** Method-owned state that {@code --resume} must restore (a discriminator, its optimizer), by name. */
  default Map<String, Object> state() {
    return Map.of();
  }

  /** Restores what {@link #state()} saved; called after {@link #setUp}. */
  default void restoreState(Map<String, Object> state) {}

  /**
   * A network the engine trains.
   *
   * @param name the script's variable ({@code model}, {@code model1}, {@code model2}): the prefix of its
   *     checkpoints and validation tags when there are several
   * @param network the factory name ({@code --model}, or e.g. {@code ViT_Seg} for cross teaching)
   * @param init applied once after creation (the scripts' {@code kaiming_normal_init_weight}), or null
   * @param options the network's constructor options ({@code name=value;...}), or null for the run's
   *     {@code model_options} (cross teaching's Swin-UNet takes its own)
   */
  record Student(String name, String network, Consumer<Module> init, String options) {
    public Student(String name, String network, Consumer<Module> init) {
      this(name, network, init, null);
    }

    public static Student of(String name, String network) {
      return new Student(name, network, null, null);
    }
  }

  /**
   * The loss of an iteration and its parts.
   *
   * @param total the loss to back-propagate
   * @param scalars TensorBoard scalars under their reference tags ({@code info/loss_ce}, ...), in log order
   * @param outputs the first student's logits on the batch (for the image summaries), or null
   */
  record StepLoss(Tensor total, LinkedHashMap<String, Double> scalars, Tensor outputs) {
    public StepLoss {
      scalars = new LinkedHashMap<>(scalars);
    }

    public Map<String, Double> scalarView() {
      return java.util.Collections.unmodifiableMap(scalars);
    }
  }
}
