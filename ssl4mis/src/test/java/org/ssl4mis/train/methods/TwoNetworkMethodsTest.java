package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.networks.SwinUNet;
import org.ssl4mis.networks.SwinUNetPretrained;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.Method;
import org.ssl4mis.train.TrainConfig;

/** The scripts' weight inits, Swin-UNet's load_from, and the two-network methods' options and names. */
@SuppressWarnings("try") // the no-grad guard acts while open
@ExtendWith(OneIntraOpThread.class)
class TwoNetworkMethodsTest {

  private static double std(Tensor t) {
    float[] v = Tensors.toFloats(t);
    double m = 0;
    for (float x : v) {
      m += x;
    }
    m /= v.length;
    double s = 0;
    for (float x : v) {
      s += (x - m) * (x - m);
    }
    return Math.sqrt(s / v.length);
  }

  @Test
  void kaimingAndXavierInitsTouchConvolutionsAndBatchNormsOnlyAsTheScriptsDo() {
    MethodTestSupport.seed(71);
    // 2D UNet, reference widths: encoder.down4's second conv is 256 -> 256, 3x3 (fan in = fan out = 2304)
    String conv = "encoder.down4.maxpool_conv.1.conv_conv.4.weight";
    String convBias = "encoder.down4.maxpool_conv.1.conv_conv.4.bias";
    String bnWeight = "encoder.down4.maxpool_conv.1.conv_conv.5.weight";
    String bnBias = "encoder.down4.maxpool_conv.1.conv_conv.5.bias";
    String upTransposed = "decoder.up1.conv1x1.weight"; // a Conv2d too (1x1): re-initialised
    for (boolean kaiming : new boolean[] {true, false}) {
      Networks.Network net = Networks.create("unet", 1, 4);
      Map<String, Tensor> p = StateDict.of(net.module());
      try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
        p.get(bnWeight).fill_(new Scalar(3.0));
        p.get(bnBias).fill_(new Scalar(2.0));
      }
      float[] biasBefore = Tensors.toFloats(p.get(convBias));
      if (kaiming) {
        org.ssl4mis.networks.ScriptInits.kaimingNormalInitWeight(net.module(), 2);
      } else {
        org.ssl4mis.networks.ScriptInits.xavierNormalInitWeight(net.module(), 2);
      }
      double expected = kaiming ? Math.sqrt(2.0 / 2304) : Math.sqrt(2.0 / (2304 + 2304));
      assertEquals(expected, std(p.get(conv)), 0.03 * expected, kaiming ? "kaiming fan in" : "xavier");
      assertTrue(Tensors.toFloats(p.get(bnWeight))[0] == 1f && Tensors.toFloats(p.get(bnBias))[0] == 0f, "BN 1/0");
      assertArrayEquals(biasBefore, Tensors.toFloats(p.get(convBias)), "conv bias untouched");
      assertTrue(std(p.get(upTransposed)) > 0);
    }
    // dim 3 leaves 2D layers alone
    Networks.Network net = Networks.create("unet", 1, 4);
    float[] before = Tensors.toFloats(StateDict.of(net.module()).get(conv));
    org.ssl4mis.networks.ScriptInits.kaimingNormalInitWeight(net.module(), 3);
    assertArrayEquals(before, Tensors.toFloats(StateDict.of(net.module()).get(conv)), "no Conv3d in a 2D UNet");
    // unet_3D: Conv3d weights re-drawn with xavier (its own init is kaiming)
    Networks.Network unet3d = Networks.create("unet_3D", 1, 2, Networks.Options.of("feature_scale", "4"));
    Module m = unet3d.module();
    Map<String, Tensor> p3 = StateDict.of(m);
    String last = p3.keySet().stream().filter(k -> k.startsWith("center") && k.endsWith("weight")
        && p3.get(k).dim() == 5).findFirst().orElseThrow();
    long[] s = Tensors.shape(p3.get(last));
    long k3 = s[2] * s[3] * s[4];
    org.ssl4mis.networks.ScriptInits.xavierNormalInitWeight(m, 3);
    double xavier = Math.sqrt(2.0 / ((s[0] + s[1]) * k3));
    assertEquals(xavier, std(p3.get(last)), 0.05 * xavier, last + " xavier");
  }

  @Test
  void cpsStudentsAndTheModel2RoundQuirk() {
    CrossPseudoSupervision cps = new CrossPseudoSupervision();
    TrainConfig c2 = MethodTestSupport.config("cps", "unet", 6, 3, 0.1, Map.of());
    List<Method.Student> s2 = cps.students(c2);
    assertEquals(List.of("model1", "model2"), s2.stream().map(Method.Student::name).toList());
    assertTrue(s2.stream().allMatch(s -> s.init() == null), "the 2D script never calls its init functions");
    assertEquals("model2_iter_200_dice_1.pth", cps.improvementCheckpointName("model2_", 200, 0.7312));
    assertEquals("model2_iter_200_dice_0.pth", cps.improvementCheckpointName("model2_", 200, 0.5)); // half even
    assertEquals("model1_iter_200_dice_0.7312.pth", cps.improvementCheckpointName("model1_", 200, 0.73124));
    cps.students(MethodTestSupport.config("cps", "unet", 6, 3, 0.1, Map.of("cps_model2_round", "4")));
    assertEquals("model2_iter_200_dice_0.7312.pth", cps.improvementCheckpointName("model2_", 200, 0.73124));
    assertThrows(IllegalArgumentException.class, () -> CrossPseudoSupervision.roundsToInteger(
        Map.of("cps_model2_round", "2"), 2));
    assertEquals("{exp}_{labeled_num}", cps.defaults(3).get("snapshot_name"));
    assertEquals("BraTs2019_Cross_Pseudo_Supervision", cps.defaults(3).get("exp"));
    assertThrows(IllegalArgumentException.class, () -> new DeepCoTraining().defaults(3));
    assertThrows(IllegalArgumentException.class, () -> new CrossTeaching().defaults(3));
  }

  @Test
  void crossTeachingChecksThePatchAndThePretrainedFile(@TempDir Path dir) {
    CrossTeaching ct = new CrossTeaching();
    TrainConfig wrongPatch = MethodTestSupport.config("ct", "unet", 6, 3, 0.1, Map.of("swin_pretrained", "none"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ct.students(wrongPatch));
    assertTrue(e.getMessage().contains("224x224"), e.getMessage());
    TrainConfig missing = MethodTestSupport.config("ct", "unet", 6, 3, 0.1, Map.of("ct_model2_options",
        TwoNetworkMethodsTraceTest.TINY_SWIN, "swin_pretrained", dir.resolve("absent.pth").toString()));
    e = assertThrows(IllegalArgumentException.class, () -> ct.students(missing));
    assertTrue(e.getMessage().contains("absent.pth") && e.getMessage().contains("swin_pretrained"), e.getMessage());
    TrainConfig two = MethodTestSupport.config("ct", "unet", 6, 3, 0.1, Map.of("ct_model2", "unet"));
    assertEquals(List.of("unet", "unet"), ct.students(two).stream().map(Method.Student::network).toList());
    assertArrayEquals(new int[] {32, 32}, ct.validationPatchSize(two), "test_single_volume(..., patch_size)");
  }

  @Test
  void loadFromMirrorsEncoderStagesIntoTheDecoderAndDropsMismatchedShapes(@TempDir Path dir) throws Exception {
    MethodTestSupport.seed(72);
    Networks.Options tiny = Networks.Options.parse(TwoNetworkMethodsTraceTest.TINY_SWIN);
    SwinUNet source = (SwinUNet) Networks.create("ViT_Seg", 1, 4, tiny).module();
    SwinUNet target = (SwinUNet) Networks.create("ViT_Seg", 1, 4, tiny).module();
    Map<String, Tensor> encoder = StateDict.of(source.swinUnet());
    Map<String, Object> model = new LinkedHashMap<>();
    String block = "layers.1.blocks.0.norm1.weight";
    model.put(block, encoder.get(block));
    model.put("patch_embed.proj.weight", encoder.get("patch_embed.proj.weight"));
    model.put("norm.weight", Tensors.fromFloats(new float[] {1, 2, 3}, 3)); // wrong shape: dropped, not fatal
    model.put("head.weight", Tensors.fromFloats(new float[] {1}, 1)); // not in the Swin-UNet: ignored
    Path file = dir.resolve("swin_pretrained.pth");
    Checkpoints.saveTree(file, Map.of("model", model));
    float[] normBefore = Tensors.toFloats(StateDict.of(target.swinUnet()).get("norm.weight"));
    SwinUNetPretrained.loadFrom(target, file);
    Map<String, Tensor> loaded = StateDict.of(target.swinUnet());
    assertArrayEquals(Tensors.toFloats(encoder.get(block)), Tensors.toFloats(loaded.get(block)));
    assertArrayEquals(Tensors.toFloats(encoder.get(block)), Tensors.toFloats(loaded.get("layers_up.2.blocks.0.norm1.weight")),
        "encoder stage 1 initialises decoder stage 3 - 1");
    assertArrayEquals(Tensors.toFloats(encoder.get("patch_embed.proj.weight")),
        Tensors.toFloats(loaded.get("patch_embed.proj.weight")));
    assertArrayEquals(normBefore, Tensors.toFloats(loaded.get("norm.weight")));

    // no 'model' entry: a DataParallel-saved SwinUnet, 17 characters cut ("module.swin_unet."), 'output' dropped
    Map<String, Object> wrapped = new LinkedHashMap<>();
    wrapped.put("module.swin_unet.norm_up.weight", encoder.get("norm_up.weight"));
    wrapped.put("module.swin_unet.output.weight", Tensors.fromFloats(new float[] {1}, 1));
    Path flat = dir.resolve("wrapped.pth");
    Checkpoints.saveTree(flat, wrapped);
    SwinUNetPretrained.loadFrom(target, flat);
    assertArrayEquals(Tensors.toFloats(encoder.get("norm_up.weight")),
        Tensors.toFloats(StateDict.of(target.swinUnet()).get("norm_up.weight")));
    assertThrows(IllegalArgumentException.class, () -> SwinUNetPretrained.loadFrom(target, dir.resolve("none.pth")));
  }
}
