package org.ssl4mis.networks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.tensor.Tensors;

/**
 * {@code SwinUnet.load_from(config)} of {@code networks/vision_transformer.py}: ImageNet Swin-T weights
 * ({@code MODEL.PRETRAIN_CKPT}, e.g. {@code pretrained_ckpt/swin_tiny_patch4_window7_224.pth}) loaded into the
 * Swin-UNet's encoder AND mirrored into its decoder.
 *
 * <ul>
 *   <li>A file whose root has a {@code "model"} entry (the published Swin checkpoints): every key of it is kept,
 *       and each {@code layers.<i>...} key is also copied to {@code layers_up.<3 - i>...} (encoder stage
 *       {@code i} initialises decoder stage {@code 3 - i}); keys of the network whose shape differs are dropped
 *       (the classification head, patch-merging/expansion sizes), then {@code load_state_dict(strict=False)}
 *       into {@code swin_unet}: unknown keys are ignored, missing ones keep their values.
 *   <li>Otherwise the root is a state dict of a whole wrapped model: the first 17 characters of every key are cut
 *       ({@code "module.swin_unet."}, a DataParallel-saved SwinUnet), keys containing {@code output} are dropped,
 *       and the rest is loaded non-strictly (a shape mismatch fails, as in Python).
 * </ul>
 * The file is never downloaded; a missing one is an error naming the path.
 */
public final class SwinUNetPretrained {
  private SwinUNetPretrained() {}

  public static StateDictLoader.Report loadFrom(SwinUNet net, Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("the Swin-UNet pretrained checkpoint " + file.toAbsolutePath() + " does not"
          + " exist (the reference's MODEL.PRETRAIN_CKPT; download swin_tiny_patch4_window7_224.pth as the reference's"
          + " README says and pass its path, or none to start from random weights)");
    }
    Object root = Checkpoints.loadTree(file);
    if (!(root instanceof Map<?, ?> top)) {
      throw new IllegalArgumentException(file + " does not hold a dictionary (a state dict or {'model': ...})");
    }
    StateDictLoader.Options nonStrict = StateDictLoader.Options.strictLoading().withStrict(false);
    if (!top.containsKey("model")) {
      Map<String, Tensor> cut = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : top.entrySet()) {
        String k = (String) e.getKey();
        String key = k.length() > 17 ? k.substring(17) : ""; // k[17:]
        if (!key.contains("output")) {
          cut.put(key, tensor(file, k, e.getValue()));
        }
      }
      return StateDictLoader.load(net.swinUnet(), cut, nonStrict);
    }
    if (!(top.get("model") instanceof Map<?, ?> pretrained)) {
      throw new IllegalArgumentException(file + ": its 'model' entry is not a state dict");
    }
    Map<String, Tensor> full = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : pretrained.entrySet()) {
      full.put((String) e.getKey(), tensor(file, (String) e.getKey(), e.getValue()));
    }
    for (Map.Entry<?, ?> e : pretrained.entrySet()) {
      String k = (String) e.getKey();
      if (k.contains("layers.")) {
        char stage = k.length() > 7 ? k.charAt(7) : '?';
        if (!Character.isDigit(stage)) {
          throw new IllegalArgumentException(file + ": key '" + k + "' has no stage digit after 'layers.'");
        }
        full.put("layers_up." + (3 - (stage - '0')) + k.substring(8), full.get(k));
      }
    }
    Map<String, Tensor> model = StateDict.of(net.swinUnet());
    for (String k : new ArrayList<>(full.keySet())) {
      if (model.containsKey(k) && !Arrays.equals(Tensors.shape(full.get(k)), Tensors.shape(model.get(k)))) {
        full.remove(k);
      }
    }
    return StateDictLoader.load(net.swinUnet(), full, nonStrict);
  }

  private static Tensor tensor(Path file, String key, Object value) {
    if (!(value instanceof Tensor t)) {
      throw new IllegalArgumentException(file + ": entry '" + key + "' is not a tensor");
    }
    return t;
  }
}
