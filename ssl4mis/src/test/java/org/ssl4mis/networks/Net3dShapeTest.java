package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.pytorch.DropoutImpl;
import org.bytedeco.pytorch.Dropout3dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.MemoryFormat;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.tensor.Tensors;

/**
 * Shapes, gradients, training-mode behaviour and input errors of the 3D networks and the discriminators, at
 * several input sizes and with narrow widths so the class runs in seconds. Needs no Python.
 */
class Net3dShapeTest {

  @BeforeEach
  void seed() {
    torch.manual_seed(20240611); // dropout masks and random inputs are the same on every run
  }

  // ---- forward and backward at several sizes, train and eval ---------------------------------------

  @Test
  void unet3dKeepsTheInputSize() {
    UNet3D net = new UNet3D(32, 3, 2);
    for (long[] size : sizes3d()) {
      exercise(net, in -> List.of(net.forward(in.get(0))), List.of(shape(2, 2, size)), List.of(shape(2, 3, size)),
          bottleneckHasSeveralVoxels(size, 16));
    }
    UNet3D plain = new UNet3D(32, 2, true, 1, false); // is_batchnorm=false: no normalisation at all
    exercise(plain, in -> List.of(plain.forward(in.get(0))), List.of(shape(1, 1, 16, 16, 32)),
        List.of(shape(1, 2, 16, 16, 32)), true);
  }

  @Test
  void attentionUnetKeepsTheInputSize() {
    AttentionUNet3D net = new AttentionUNet3D(32, 3, 2);
    for (long[] size : sizes3d().subList(0, 2)) {
      exercise(net, in -> List.of(net.forward(in.get(0))), List.of(shape(2, 2, size)), List.of(shape(2, 3, size)),
          bottleneckHasSeveralVoxels(size, 16));
    }
    // the other options: no normalisation, anisotropic attention subsampling, the softmax mode (whose softmax
    // is blind to psi's bias: that gradient is exactly zero, in PyTorch too, hence no non-zero check)
    AttentionUNet3D variant = new AttentionUNet3D(32, 2, true, 1, GridAttention3D.Mode.CONCATENATION_RESIDUAL,
        new long[] {1, 2, 2}, false);
    exercise(variant, in -> List.of(variant.forward(in.get(0))), List.of(shape(1, 1, 16, 32, 16)),
        List.of(shape(1, 2, 16, 32, 16)), false);
  }

  @Test
  void gridAttentionGatesAndReturnsTheAttentionMap() {
    // the reference's own smoke test: x (2, 16, 10, 10, 10), g (2, 64, 4, 4, 4)
    for (GridAttention3D.Mode mode : GridAttention3D.Mode.values()) {
      GridAttention3D gate = new GridAttention3D(16, 64, 16L, mode, 2, 2, 2);
      exercise(gate, in -> {
        GridAttention3D.Gated g = gate.forward(in.get(0), in.get(1));
        return List.of(g.output(), g.attention());
      }, List.of(shape(2, 16, 10, 10, 10), shape(2, 64, 4, 4, 4)), List.of(shape(2, 16, 10, 10, 10),
          shape(2, 1, 10, 10, 10)), mode != GridAttention3D.Mode.CONCATENATION_RESIDUAL);
    }
    assertEquals(3, new GridAttention3D(7, 4).interChannels(), "inter_channels=None -> in_channels // 2");
    assertEquals(1, new GridAttention3D(1, 4).interChannels(), "... but at least 1");
  }

  @Test
  void unet3dDvSemiReturnsFourFullSizeOutputs() {
    UNet3DDvSemi net = new UNet3DDvSemi(32, 3, 2);
    for (long[] size : sizes3d().subList(0, 2)) {
      long[] out = shape(2, 3, size);
      exercise(net, in -> net.forward(in.get(0)), List.of(shape(2, 2, size)), List.of(out, out, out, out),
          bottleneckHasSeveralVoxels(size, 16));
    }
  }

  @Test
  void voxResNetKeepsEvenSizesAndFloorsOddOnes() {
    VoxResNet net = new VoxResNet(2, 4, 3);
    // 8^3 pools down to a single voxel, where the instance norms output zeros (see bottleneckHasSeveralVoxels)
    exercise(net, in -> List.of(net.forward(in.get(0))), List.of(shape(2, 2, 8, 8, 8)), List.of(shape(2, 3, 8, 8, 8)),
        false);
    exercise(net, in -> List.of(net.forward(in.get(0))), List.of(shape(1, 2, 16, 8, 24)),
        List.of(shape(1, 3, 16, 8, 24)), true);
    // floor(17 / 2) = 8 passes the pooling and the decoder gives back 16, as in Python
    exercise(net, in -> List.of(net.forward(in.get(0))), List.of(shape(1, 2, 17, 16, 8)),
        List.of(shape(1, 3, 16, 16, 8)), true);
  }

  @Test
  void vnetKeepsTheInputSizeWithEveryNormalisation() {
    for (VNet.Normalization norm : List.of(VNet.Normalization.BATCHNORM, VNet.Normalization.INSTANCENORM,
        VNet.Normalization.NONE)) {
      VNet net = new VNet(2, 3, 2, norm, true);
      for (long[] size : norm == VNet.Normalization.BATCHNORM ? sizes3d() : sizes3d().subList(1, 2)) {
        exercise(net, in -> List.of(net.forward(in.get(0))), List.of(shape(2, 2, size)), List.of(shape(2, 3, size)),
            bottleneckHasSeveralVoxels(size, 16));
      }
    }
    // 16 groups need 16 filters: a whole VNet would be 9.4M parameters, so the blocks are exercised alone
    VNet grouped = new VNet(1, 2, 16, VNet.Normalization.GROUPNORM, false);
    assertTrue(grouped.stateDict().containsKey("block_five.conv.1.weight"), "GroupNorm's affine weight");
    VNet.ConvBlock block = new VNet.ConvBlock(2, 16, 32, VNet.Normalization.GROUPNORM);
    VNet.DownsamplingConvBlock down = new VNet.DownsamplingConvBlock(32, 32, VNet.Normalization.GROUPNORM);
    VNet.UpsamplingDeconvBlock up = new VNet.UpsamplingDeconvBlock(32, 16, VNet.Normalization.GROUPNORM);
    exercise(block, in -> List.of(block.forward(in.get(0))), List.of(shape(1, 16, 4, 6, 8)),
        List.of(shape(1, 32, 4, 6, 8)), true);
    exercise(down, in -> List.of(down.forward(in.get(0))), List.of(shape(1, 32, 4, 6, 8)),
        List.of(shape(1, 32, 2, 3, 4)), true);
    exercise(up, in -> List.of(up.forward(in.get(0))), List.of(shape(1, 32, 2, 3, 4)),
        List.of(shape(1, 16, 4, 6, 8)), true);
  }

  @Test
  void fcDiscriminatorGivesTwoLogitsForEveryAcceptedSize() {
    FCDiscriminator net = new FCDiscriminator(4, 2, 1);
    for (long[] hw : List.of(new long[] {224, 240}, new long[] {256, 256}, new long[] {335, 224},
        new long[] {112, 448})) {
      exercise(net, in -> List.of(net.forward(in.get(0), in.get(1))),
          List.of(shape(2, 4, hw), shape(2, 1, hw)), List.of(shape(2, 2)), true);
    }
  }

  @Test
  void fc3dDiscriminatorGivesTwoLogitsForEveryAcceptedSize() {
    FC3DDiscriminator net = new FC3DDiscriminator(2, 2, 1);
    for (long[] dhw : List.of(new long[] {96, 96, 96}, new long[] {96, 112, 191})) {
      exercise(net, in -> List.of(net.forward(in.get(0), in.get(1))),
          List.of(shape(1, 2, dhw), shape(1, 1, dhw)), List.of(shape(1, 2)), true);
    }
  }

  // ---- training-mode behaviour --------------------------------------------------------------------

  @Test
  @SuppressWarnings("try") // the scope acts while open
  void discriminatorsTakeChannelsLastMaps() {
    // Training re-lays segmentation outputs channels-last (MemoryFormat); the flattening before the classifier
    // must still read them in logical order.
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      FCDiscriminator d2 = new FCDiscriminator(4, 8, 1);
      d2.eval();
      Tensor map = torch.randn(2, 4, 224, 224);
      Tensor image = torch.randn(2, 1, 224, 224);
      Tensor expected = d2.forward(map, image);
      Tensor got = d2.forward(MemoryFormat.CHANNELS_LAST.apply(map), MemoryFormat.CHANNELS_LAST.apply(image));
      assertTrue(got.allclose(expected, 1e-4, 1e-5, false), "FCDiscriminator on channels-last maps");

      FC3DDiscriminator d3 = new FC3DDiscriminator(2, 4, 1);
      d3.eval();
      Tensor map3 = torch.randn(1, 2, 96, 96, 96);
      Tensor image3 = torch.randn(1, 1, 96, 96, 96);
      Tensor expected3 = d3.forward(map3, image3);
      Tensor got3 = d3.forward(MemoryFormat.CHANNELS_LAST.apply(map3), MemoryFormat.CHANNELS_LAST.apply(image3));
      assertTrue(got3.allclose(expected3, 1e-4, 1e-5, false), "FC3DDiscriminator on channels-last maps");

      SEDiscriminator3D se = new SEDiscriminator3D(2, 4, 1, 4, 1);
      se.eval();
      Tensor map4 = torch.randn(1, 2, 32, 32, 32);
      Tensor image4 = torch.randn(1, 1, 32, 32, 32);
      assertTrue(se.forward(MemoryFormat.CHANNELS_LAST.apply(map4), MemoryFormat.CHANNELS_LAST.apply(image4))
          .allclose(se.forward(map4, image4), 1e-4, 1e-5, false), "SEDiscriminator3D on channels-last maps");
    }
  }

  @Test
  void dropoutLayersAndRatesAreTheReferences() {
    UNet3D unet = new UNet3D(32, 2, 1);
    assertEquals(0.3, unet.child("dropout1", DropoutImpl.class).options().p().get());
    assertEquals(0.3, unet.child("dropout2", DropoutImpl.class).options().p().get());
    UNet3DDvSemi dv = new UNet3DDvSemi(32, 2, 1);
    double[] rates = {0.5, 0.3, 0.2, 0.1};
    for (int i = 0; i < 4; i++) {
      assertEquals(rates[i], dv.child("dropout" + (i + 1), Dropout3dImpl.class).options().p().get());
    }
    assertEquals(0.5, new VNet().child("dropout", Dropout3dImpl.class).options().p().get());
    assertEquals(0.5, new FC3DDiscriminator(2, 2, 1).child("dropout", Dropout3dImpl.class).options().p().get());
  }

  @Test
  @SuppressWarnings("try") // scopes and NoGradGuards act while open; the bodies never name them
  void trainingModeIsRandomOnlyWhereTheReferenceHasDropout() {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor x = torch.randn(2, 1, 16, 16, 16);
      UNet3D unet = new UNet3D(32, 2, 1);
      assertRandomInTrainingOnly(unet, () -> unet.forward(x), true);
      UNet3DDvSemi dv = new UNet3DDvSemi(32, 2, 1);
      assertRandomInTrainingOnly(dv, () -> dv.forward(x).get(3), true);
      AttentionUNet3D attention = new AttentionUNet3D(32, 2, 1);
      assertRandomInTrainingOnly(attention, () -> attention.forward(x), false);
      VoxResNet vox = new VoxResNet(1, 4, 2);
      assertRandomInTrainingOnly(vox, () -> vox.forward(x), false);
      VNet withoutDropout = new VNet(1, 2, 2, VNet.Normalization.BATCHNORM, false);
      assertRandomInTrainingOnly(withoutDropout, () -> withoutDropout.forward(x), false);
      Tensor map = torch.randn(1, 2, 96, 96, 96).softmax(1);
      Tensor image = torch.randn(1, 1, 96, 96, 96);
      FC3DDiscriminator d3 = new FC3DDiscriminator(2, 2, 1);
      assertRandomInTrainingOnly(d3, () -> d3.forward(map, image), true);
      FCDiscriminator d2 = new FCDiscriminator(2, 2, 1);
      Tensor map2 = torch.randn(1, 2, 224, 224).softmax(1);
      Tensor image2 = torch.randn(1, 1, 224, 224);
      assertRandomInTrainingOnly(d2, () -> d2.forward(map2, image2), true);
    }
  }

  @Test
  @SuppressWarnings("try") // scopes and NoGradGuards act while open; the bodies never name them
  void vnetDropoutSwitchAndTurnoffDrop() {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor x = torch.randn(2, 1, 16, 16, 16);
      VNet net = new VNet(1, 2, 2, VNet.Normalization.BATCHNORM, true);
      net.train(true);
      assertFalse(same(net.forward(x), net.forward(x)), "has_dropout: two training forwards differ");
      assertTrue(same(net.forward(x, true), net.forward(x, true)), "turnoff_drop: no dropout in this call");
      assertTrue(net.hasDropout(), "turnoff_drop restores has_dropout");
      assertFalse(same(net.forward(x), net.forward(x)), "... so the next call drops again");
      net.setHasDropout(false);
      assertTrue(same(net.forward(x), net.forward(x)), "has_dropout=False: deterministic in training mode");
      assertEquals(5, net.encoder(x).size());
      assertArrayEquals(shape(2, 2, 16, 16, 16), Tensors.shape(net.decoder(net.encoder(x))));
    }
  }

  // ---- structure ----------------------------------------------------------------------------------

  @Test
  void stateDictKeysFollowThePythonAttributes() {
    List<String> unetKeys = List.copyOf(new UNet3D(32, 2, 1).stateDict().keySet());
    assertEquals(List.of("conv1.conv1.0.weight", "conv1.conv1.0.bias", "conv1.conv2.0.weight", "conv1.conv2.0.bias"),
        unetKeys.subList(0, 4));
    assertEquals(List.of("up_concat1.conv.conv2.0.weight", "up_concat1.conv.conv2.0.bias", "final.weight",
        "final.bias"), unetKeys.subList(unetKeys.size() - 4, unetKeys.size()));
    assertEquals(38, unetKeys.size(), "19 convolutions, instance norms have no state");

    List<String> vnetPlain = List.copyOf(new VNet(1, 2, 2, VNet.Normalization.NONE, false).stateDict().keySet());
    assertTrue(vnetPlain.containsAll(List.of("block_two.conv.2.weight", "block_one_dw.conv.0.weight",
        "block_five_up.conv.0.weight")), vnetPlain.toString());
    List<String> vnetBn = List.copyOf(new VNet(1, 2, 2, VNet.Normalization.BATCHNORM, false).stateDict().keySet());
    assertTrue(vnetBn.containsAll(List.of("block_two.conv.3.weight", "block_two.conv.4.running_var",
        "block_one_dw.conv.1.num_batches_tracked")), vnetBn.toString());

    assertEquals(List.of("conv0.weight", "conv0.bias", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
        "conv3.weight", "conv3.bias", "conv4.weight", "conv4.bias", "classifier.weight", "classifier.bias"),
        List.copyOf(new FC3DDiscriminator(2, 2, 1).stateDict().keySet()));
    assertArrayEquals(shape(2, 2 * 32), Tensors.shape(new FCDiscriminator(4, 2, 1).stateDict()
        .get("classifier.weight")), "Linear(ndf*32, 2)");
    assertEquals(List.of("conv1", "maxpool1", "conv2", "maxpool2", "conv3", "maxpool3", "conv4", "maxpool4", "center",
        "up_concat4", "up_concat3", "up_concat2", "up_concat1", "final", "dropout1", "dropout2"),
        List.copyOf(new UNet3D(32, 2, 1).childModules().keySet()));
  }

  @Test
  @SuppressWarnings("try") // scopes and NoGradGuards act while open; the bodies never name them
  void kaimingInitialisationLikeTheReference() {
    try (MemoryScope scope = MemoryScope.open()) {
      AttentionUNet3D net = new AttentionUNet3D(4, 2, 1);
      Map<String, Tensor> sd = net.stateDict();
      Tensor centerWeight = sd.get("center.conv2.0.weight"); // 256 x 256 x 3 x 3 x 3: fan_in 6912
      double std = Tensors.item(centerWeight.std());
      assertEquals(Math.sqrt(2.0 / (256 * 27)), std, 0.02 * std, "kaiming_normal_(a=0, mode='fan_in')");
      Tensor bnWeight = sd.get("attentionblock4.combine_gates.1.weight");
      assertEquals(1.0, Tensors.item(bnWeight.mean()), 0.01, "batch-norm weights ~ N(1, 0.02)");
      assertEquals(0.02, Tensors.item(bnWeight.std()), 0.01);
      assertEquals(0.0, Tensors.item(sd.get("attentionblock4.gate_block_1.W.1.bias").abs().sum()));
      // the conv biases keep PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))
      double bound = 1 / Math.sqrt(256 * 27);
      assertTrue(Tensors.item(sd.get("center.conv2.0.bias").abs().max()) <= bound);
    }
  }

  // ---- errors -------------------------------------------------------------------------------------

  @Test
  @SuppressWarnings("try") // scopes and NoGradGuards act while open; the bodies never name them
  void inputsOfTheWrongSizeAreRefusedWithTheAcceptedSizes() {
    try (MemoryScope scope = MemoryScope.open()) {
      FC3DDiscriminator d3 = new FC3DDiscriminator(2, 2, 1);
      var e = assertThrows(IllegalArgumentException.class,
          () -> d3.forward(torch.zeros(1, 2, 112, 112, 80), torch.zeros(1, 1, 112, 112, 80)));
      assertTrue(e.getMessage().contains("[96, 191]") && e.getMessage().contains("[112, 112, 80]"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> d3.forward(torch.zeros(1, 2, 192, 96, 96), torch.zeros(1, 1, 192, 96, 96)));
      var mismatch = assertThrows(IllegalArgumentException.class,
          () -> d3.forward(torch.zeros(1, 2, 96, 96, 96), torch.zeros(1, 1, 96, 96, 112)));
      assertTrue(mismatch.getMessage().contains("same batch and spatial sizes"), mismatch.getMessage());
      var channels = assertThrows(IllegalArgumentException.class,
          () -> d3.forward(torch.zeros(1, 3, 96, 96, 96), torch.zeros(1, 1, 96, 96, 96)));
      assertTrue(channels.getMessage().contains("3 channels"), channels.getMessage());

      FCDiscriminator d2 = new FCDiscriminator(4, 2, 1);
      var e2 = assertThrows(IllegalArgumentException.class,
          () -> d2.forward(torch.zeros(1, 4, 128, 128), torch.zeros(1, 1, 128, 128)));
      assertTrue(e2.getMessage().contains("[224, 335]"), e2.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> d2.forward(torch.zeros(1, 4, 336, 224), torch.zeros(1, 1, 336, 224)));

      var e3 = assertThrows(IllegalArgumentException.class, () -> new UNet3D(32, 2, 1).forward(torch.zeros(1, 1, 16,
          16, 20)));
      assertTrue(e3.getMessage().contains("multiples of 16"), e3.getMessage());
      assertThrows(IllegalArgumentException.class, () -> new UNet3D(32, 2, 1).forward(torch.zeros(1, 1, 16, 16)));
      assertThrows(IllegalArgumentException.class, () -> new AttentionUNet3D(32, 2, 1).forward(torch.zeros(1, 1, 8,
          16, 16)));
      assertThrows(IllegalArgumentException.class, () -> new UNet3DDvSemi(32, 2, 1).forward(torch.zeros(1, 2, 16,
          16, 16)));
      assertThrows(IllegalArgumentException.class, () -> new VNet(1, 2, 2, VNet.Normalization.NONE, false)
          .forward(torch.zeros(1, 1, 24, 16, 16)));
      var e4 = assertThrows(IllegalArgumentException.class, () -> new VoxResNet(1, 2, 2).forward(torch.zeros(1, 1, 12,
          16, 16)));
      assertTrue(e4.getMessage().contains("floor(S/2)"), e4.getMessage());
    }
  }

  @Test
  void invalidConstructorArgumentsAreRefused() {
    var scale = assertThrows(IllegalArgumentException.class, () -> new UNet3D(128, 2, 1));
    assertTrue(scale.getMessage().contains("feature_scale"), scale.getMessage());
    var groups = assertThrows(IllegalArgumentException.class,
        () -> new VNet(1, 2, 4, VNet.Normalization.GROUPNORM, false));
    assertTrue(groups.getMessage().contains("multiple of 16"), groups.getMessage());
    assertThrows(IllegalArgumentException.class, () -> VNet.Normalization.parse("layernorm"));
    assertEquals(VNet.Normalization.INSTANCENORM, VNet.Normalization.parse("instancenorm"));
    assertThrows(IllegalArgumentException.class, () -> GridAttention3D.Mode.parse("concatenation_softmax"));
    assertThrows(IllegalArgumentException.class, () -> new GridAttention3D(4, 4, null,
        GridAttention3D.Mode.CONCATENATION, 2, 2));
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** Spatial sizes accepted by the U-Net family and VNet (multiples of 16), cubic and not. */
  private static List<long[]> sizes3d() {
    return List.of(new long[] {16, 16, 16}, new long[] {16, 32, 48}, new long[] {32, 16, 16});
  }

  /**
   * Whether the coarsest level has more than one voxel. With a single voxel, an instance norm there outputs
   * zeros (x minus its own mean), so the layers just before it get exactly zero gradient: true of PyTorch too.
   */
  private static boolean bottleneckHasSeveralVoxels(long[] size, long totalStride) {
    return Arrays.stream(size).map(s -> s / totalStride).reduce(1, (a, b) -> a * b) > 1;
  }

  private static long[] shape(long batch, long channels, long... spatial) {
    long[] s = new long[spatial.length + 2];
    s[0] = batch;
    s[1] = channels;
    System.arraycopy(spatial, 0, s, 2, spatial.length);
    return s;
  }

  /**
   * Runs {@code forward} on random inputs of the given shapes in training and in eval mode, checks the output
   * shapes, backpropagates a random projection of all outputs and checks that every parameter received a
   * finite gradient; with {@code allNonZero}, also a non-zero one in eval mode (where no dropout can cut a path).
   */
  @SuppressWarnings("try") // the scope acts while open; the body never names it
  private static void exercise(Module net, Function<List<Tensor>, List<Tensor>> forward, List<long[]> inputShapes,
      List<long[]> expected, boolean allNonZero) {
    for (boolean training : new boolean[] {true, false}) {
      net.train(training);
      String mode = training ? "train" : "eval";
      try (MemoryScope scope = MemoryScope.open()) {
        net.zero_grad(true);
        List<Tensor> inputs = new ArrayList<>();
        for (long[] s : inputShapes) {
          inputs.add(torch.randn(s));
        }
        List<Tensor> outputs = forward.apply(inputs);
        assertEquals(expected.size(), outputs.size());
        Tensor loss = null;
        for (int i = 0; i < outputs.size(); i++) {
          Tensor out = outputs.get(i);
          assertArrayEquals(expected.get(i), Tensors.shape(out), () -> net.getClass().getSimpleName() + " " + mode
              + ": output shape for inputs " + inputShapes.stream().map(Arrays::toString).toList());
          Tensor term = out.mul(torch.randn_like(out)).sum();
          loss = loss == null ? term : loss.add(term);
        }
        loss.backward();
        for (Map.Entry<String, Tensor> p : StateDict.parameters(net).entrySet()) {
          Tensor grad = p.getValue().grad();
          String what = net.getClass().getSimpleName() + " " + mode + ": gradient of " + p.getKey();
          assertTrue(grad.defined(), what + " is missing");
          double size = Tensors.item(grad.abs().sum());
          assertTrue(Double.isFinite(size), what + " is not finite");
          if (!training && allNonZero) {
            assertTrue(size > 0, what + " is zero");
          }
        }
      }
    }
    net.zero_grad(true);
  }

  private interface Forward {
    Tensor run();
  }

  /** Two forwards on the same input differ in training mode iff {@code random}; they never differ in eval mode. */
  private static void assertRandomInTrainingOnly(Module net, Forward forward, boolean random) {
    String name = net.getClass().getSimpleName();
    net.train(true);
    assertEquals(random, !same(forward.run(), forward.run()), name + ": training mode random = " + random);
    net.eval();
    assertTrue(same(forward.run(), forward.run()), name + ": eval mode is deterministic");
  }

  private static boolean same(Tensor a, Tensor b) {
    return Tensors.item(a.sub(b).abs().max()) == 0;
  }
}
