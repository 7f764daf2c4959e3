package org.ssl4mis.train.methods;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.networks.SwinUNet;
import org.ssl4mis.networks.SwinUNetConfig;
import org.ssl4mis.networks.SwinUNetPretrained;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.TrainConfig;
import org.ssl4mis.train.TrainingContext;

/**
 * {@code train_cross_teaching_between_cnn_transformer_2D.py} (Luo et al., "Semi-Supervised Medical Image
 * Segmentation via Cross Teaching between CNN and Transformer", MIDL 2022): a CNN ({@code model1 =
 * net_factory(--model)}, a UNet by default) and a Swin-UNet ({@code model2 = ViT_seg(config)}) teach each other
 * on the unlabelled part with hard pseudo labels through the Dice loss.
 *
 * <p>One iteration, with {@code lb = labeled_bs}: {@code o1 = model1(volume)}, {@code o2 = model2(volume)},
 * {@code loss1 = 0.5 * (CE + Dice)(o1[:lb])}, {@code loss2} likewise, {@code p1 = argmax(softmax(o1)[lb:])} and
 * {@code p2} (detached), {@code ps1 = Dice(softmax(o1)[lb:], p2)}, {@code ps2 = Dice(softmax(o2)[lb:], p1)},
 * {@code model1_loss = loss1 + w * ps1}, {@code model2_loss = loss2 + w * ps2}, {@code loss = model1_loss +
 * model2_loss}, each network stepped by its own SGD, {@code w = consistency * sigmoid_rampup(iter_num // 150,
 * consistency_rampup)}. Scalars {@code consistency_weight/consistency_weight}, {@code loss/model1_loss},
 * {@code loss/model2_loss}; log line {@code model1 loss : %f model2 loss : %f}; checkpoints and validation of
 * both networks under {@code model1_}/{@code model2_} by the engine (the Swin-UNet's best file is also
 * {@code {--model}_best_model2.pth}, as the script names it).
 *
 * <p><b>The Swin-UNet</b> is {@code SwinUnet(config)} with the configuration of
 * {@code configs/swin_tiny_patch4_window7_224_lite.yaml} ({@link SwinUNetConfig#reference()}: 224x224 input,
 * patch 4, embed dim 96, depths 2,2,2,2, heads 3,6,12,24, window 7, drop path 0.2); the script's default
 * {@code --patch_size 224,224} is this size, and validation passes it ({@code test_single_volume(...,
 * patch_size=args.patch_size)}: slices resized to 224, not 256). {@code extra ct_model2_options} sets its
 * options (SwinTransformerSys's argument names, separated by {@code |} inside {@code --extra}:
 * {@code ct_model2_options=img_size=32|embed_dim=8|...}); the YAML file itself
 * ({@code --cfg}) is not read. The script then calls {@code model2.load_from(config)}, which loads
 * {@code MODEL.PRETRAIN_CKPT = ../code/pretrained_ckpt/swin_tiny_patch4_window7_224.pth}
 * ({@link SwinUNetPretrained}); here {@code extra swin_pretrained=<path>} (default that relative path, as the
 * script resolves it from its working folder) or {@code none} (load_from's "none pretrain" branch: random
 * weights). A missing file stops the run before training with a message naming it; nothing is downloaded.
 *
 * <p>{@code extra ct_model2=<factory name>} replaces the Swin-UNet by another network (e.g. {@code unet}: cross
 * teaching between two CNNs); the model2 then takes {@code ct_model2_options} if given, else the run's
 * {@code model_options}, and no pretrained file.
 *
 * <p><b>Reference quirks.</b> The script defines {@code kaiming_normal_init_weight}/{@code xavier_normal_init_weight}
 * and never calls them; the learning rate is set after {@code iter_num += 1} ({@code lr}, one ahead); no total
 * loss scalar; images every 50 iterations (here 20, engine tags); snapshot {@code ../model/{exp}_{labeled_num}/{model}};
 * {@code --ema_decay}, {@code --consistency_type} and the Swin training options ({@code --zip}, {@code --cache-mode},
 * {@code --resume}, {@code --accumulation-steps}, {@code --use-checkpoint}, {@code --amp-opt-level}, {@code --tag},
 * {@code --eval}, {@code --throughput}) are parsed and unused, except that {@code --use-checkpoint} would set
 * {@code TRAIN.USE_CHECKPOINT} (gradient checkpointing; not implemented, {@code use_checkpoint=true} is rejected).
 */
public final class CrossTeaching implements Method {
  /** {@code extra}: the second network's factory name ({@code ViT_Seg}, the script). */
  public static final String MODEL2_KEY = "ct_model2";
  /** {@code extra}: the second network's options ({@code name=value;...}). */
  public static final String MODEL2_OPTIONS_KEY = "ct_model2_options";
  /** {@code extra}: the Swin-UNet's pretrained checkpoint, or {@code none}. */
  public static final String PRETRAINED_KEY = "swin_pretrained";
  /** The yaml's {@code MODEL.PRETRAIN_CKPT}, relative to the working folder as the script resolves it. */
  public static final String REFERENCE_PRETRAINED = "../code/pretrained_ckpt/swin_tiny_patch4_window7_224.pth";

  private DiceLoss dice;

  public CrossTeaching() {}

  @Override
  public String name() {
    return "ct";
  }

  @Override
  public String referenceScript(int dim) {
    return "train_cross_teaching_between_cnn_transformer_2D.py";
  }

  @Override
  public boolean usesEmaModel() {
    return false;
  }

  @Override
  public Map<String, String> defaults(int dim) {
    if (dim != 2) {
      throw new IllegalArgumentException("ct: there is only a 2D script "
          + "(train_cross_teaching_between_cnn_transformer_2D.py); use --dim 2");
    }
    return Map.of("exp", "ACDC/Cross_Teaching_Between_CNN_Transformer", "batch_size", "16", "labeled_bs", "8",
        "labeled_num", "7", "patch_size", "224,224", "snapshot_name", "{exp}_{labeled_num}", MODEL2_KEY, "ViT_Seg",
        PRETRAINED_KEY, REFERENCE_PRETRAINED);
  }

  @Override
  public List<Student> students(TrainConfig config) {
    Map<String, String> extra = config.extra();
    String network = extra.getOrDefault(MODEL2_KEY, "ViT_Seg").strip();
    // Inside --extra (itself name=value;...) the network's pairs are separated by '|' instead of ';'.
    String options = extra.containsKey(MODEL2_OPTIONS_KEY) ? extra.get(MODEL2_OPTIONS_KEY).replace('|', ';') : null;
    if (!network.equals("ViT_Seg")) {
      return List.of(Student.of("model1", config.model()), new Student("model2", network, null, options));
    }
    options = options == null ? "" : options;
    SwinUNetConfig swin = SwinUNetConfig.fromOptions(Networks.Options.parse(options));
    int[] patch = config.patchSize();
    if (patch[0] != swin.imgSize() || patch[1] != swin.imgSize()) {
      throw new IllegalArgumentException("--patch_size " + Arrays.toString(patch) + " does not fit the Swin-UNet,"
          + " which takes " + swin.imgSize() + "x" + swin.imgSize() + " inputs (its img_size; set both, e.g."
          + " --patch_size " + swin.imgSize() + "," + swin.imgSize() + " or " + MODEL2_OPTIONS_KEY + " img_size=...)");
    }
    String pretrained = extra.getOrDefault(PRETRAINED_KEY, REFERENCE_PRETRAINED).strip();
    boolean none = Set.of("none", "null", "").contains(pretrained.toLowerCase(Locale.ROOT));
    if (!none && !java.nio.file.Files.isRegularFile(Path.of(pretrained))) {
      throw new IllegalArgumentException(PRETRAINED_KEY + ": the Swin-UNet's pretrained checkpoint "
          + Path.of(pretrained).toAbsolutePath() + " does not exist (the script's MODEL.PRETRAIN_CKPT; put "
          + "swin_tiny_patch4_window7_224.pth there, pass its path with --extra " + PRETRAINED_KEY + "=<file>, or "
          + PRETRAINED_KEY + "=none for random weights)");
    }
    return List.of(Student.of("model1", config.model()), new Student("model2", "ViT_Seg", none ? null : m -> {
      try {
        SwinUNetPretrained.loadFrom((SwinUNet) m, Path.of(pretrained));
      } catch (IOException e) {
        throw new UncheckedIOException(pretrained + ": " + e.getMessage(), e);
      }
    }, options));
  }

  @Override
  public int[] validationPatchSize(TrainConfig config) {
    return config.patchSize();
  }

  @Override
  public boolean learningRateOneAhead() {
    return true;
  }

  @Override
  public String learningRateTag() {
    return "lr";
  }

  @Override
  public String totalLossTag() {
    return null;
  }

  @Override
  public String logLine(int iterNum, double loss, Map<String, Double> scalars) {
    return CrossPseudoSupervision.twoNetworkLogLine(iterNum, scalars);
  }

  @Override
  public StepLoss step(TrainingContext ctx, Tensor volumeBatch, Tensor labelBatch) {
    if (dice == null) {
      dice = new DiceLoss(ctx.numClasses());
    }
    DiceLoss diceLoss = dice;
    return CrossPseudoSupervision.crossSupervisedStep(ctx, dice, volumeBatch, labelBatch,
        (logits, soft, pseudo) -> diceLoss.forward(soft, pseudo.unsqueeze(1)));
  }
}
