package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * The feature perturbations of UNet_CCT and UNet_URPC: what each one does to its input, when the networks
 * apply them (including UNet_CCT's reference quirk of perturbing in eval mode), and that
 * {@code NativeRuntime.seed} makes them repeat.
 */
class Net2dPerturbationTest {

  private static final UNetParams SMALL = UNetParams.reference(1, 2).withFeatureChannels(2, 4, 4, 8, 8);

  @Test
  void featureNoiseScalesEachElementByOnePlusANoiseSharedOverTheBatch() {
    NativeRuntime.seed(1);
    Tensor sample = torch.rand(1, 3, 8, 8).add(f(0.5));
    Tensor x = torch.cat(new TensorVector(sample, sample.mul(f(2))), 0);
    Tensor out = Perturbations.featureNoise(x, 0.3);
    Tensor noise = out.sub(x).div(x); // out = x * (1 + noise)
    assertTrue(Tensors.item(noise.min()) >= -0.3 - 1e-6 && Tensors.item(noise.max()) < 0.3 + 1e-6);
    assertTrue(Tensors.item(noise.max().sub(noise.min())) > 0.3, "noise spreads over the range");
    double batchSpread = Tensors.item(noise.select(0, 0).sub(noise.select(0, 1)).abs().max());
    assertTrue(batchSpread < 1e-5, "one noise map for the whole batch, got a difference of " + batchSpread);
    assertTrue(Tensors.item(Perturbations.featureNoise(x, 0.3).sub(out).abs().max()) > 0, "a new draw per call");
  }

  @Test
  void dropoutIsAlwaysActiveAndRescalesTheSurvivors() {
    NativeRuntime.seed(2);
    Tensor x = torch.rand(4, 8, 32, 32).add(f(1));
    Tensor out = Perturbations.dropout(x, 0.3);
    Tensor dropped = out.eq(f(0));
    double droppedFraction = Tensors.item(dropped.to(torch.ScalarType.Float).mean());
    assertEquals(0.3, droppedFraction, 0.02);
    Tensor kept = dropped.logical_not();
    double rescaleError = Tensors.item(out.mul(f(0.7)).sub(x).mul(kept).abs().max());
    assertTrue(rescaleError < 1e-5, "survivors are x / (1 - p): " + rescaleError);
  }

  @Test
  void featureDropoutZeroesThePositionsNearEachSamplesMaximumOverAllChannels() {
    NativeRuntime.seed(3);
    Tensor x = torch.rand(3, 4, 16, 16);
    Tensor out = Perturbations.featureDropout(x);
    Tensor attention = x.mean(new long[] {1}, true, new ScalarTypeOptional());
    Tensor keptPositions = out.ne(f(0)).any(1, true);
    for (int n = 0; n < 3; n++) {
      Tensor a = attention.select(0, n);
      Tensor kept = keptPositions.select(0, n);
      double max = Tensors.item(a.max());
      // the random threshold lies in [0.7, 0.9) * max
      assertEquals(0, Tensors.item(kept.logical_and(a.ge(f(0.9 * max))).sum()),
          "positions at or above 0.9 * max are dropped");
      Tensor low = a.lt(f(0.7 * max));
      assertEquals(Tensors.item(low.sum()), Tensors.item(kept.logical_and(low).sum()), "positions below 0.7 * max are kept");
    }
    // a position is kept or dropped in every channel together, and kept values are unchanged
    Tensor changed = out.ne(x).logical_and(out.ne(f(0)));
    assertEquals(0, Tensors.item(changed.sum()));
    Tensor partlyDropped = out.eq(f(0)).any(1, true)
        .logical_and(keptPositions);
    assertEquals(0, Tensors.item(partlyDropped.sum()));
  }

  @Test
  void cctPerturbsInTrainingAndRepeatsWithTheSameSeed() {
    UNetCCT net = new UNetCCT(SMALL);
    net.train(true);
    Tensor x = input();
    List<Tensor> a = seeded(11, () -> net.forward(x));
    List<Tensor> b = seeded(11, () -> net.forward(x));
    List<Tensor> c = seeded(12, () -> net.forward(x));
    for (int i = 0; i < 4; i++) {
      assertTrue(torch.equal(a.get(i), b.get(i)), "output " + i + " repeats with the same seed");
      assertFalse(torch.equal(a.get(i), c.get(i)), "output " + i + " differs with another seed");
    }
  }

  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  @Test
  void cctPerturbsItsAuxiliaryDecodersInEvalModeUnlessSwitchedOff() {
    UNetCCT net = new UNetCCT(SMALL);
    net.eval();
    assertTrue(net.perturbsAuxInEval(), "the reference's behaviour is the default");
    Tensor x = input();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> a = seeded(21, () -> net.forward(x));
      List<Tensor> b = seeded(21, () -> net.forward(x));
      List<Tensor> c = seeded(22, () -> net.forward(x));
      assertTrue(torch.equal(a.get(0), c.get(0)), "main_seg is deterministic in eval mode");
      List<Tensor> features = net.encode(x);
      for (int k = 1; k <= 3; k++) {
        assertTrue(torch.equal(a.get(k), b.get(k)), "aux_seg" + k + " repeats with the same seed");
        assertFalse(torch.equal(a.get(k), c.get(k)), "aux_seg" + k + " is random in eval mode, as in the reference");
        assertFalse(torch.equal(a.get(k), net.auxDecoderUnperturbed(k, features)), "aux_seg" + k + " is perturbed");
      }
      Tensor seededAux = seeded(21, () -> List.of(net.auxDecoderPerturbed(2, net.encode(x)))).get(0);
      assertFalse(torch.equal(seededAux, net.auxDecoderUnperturbed(2, features)));

      net.perturbAuxInEval(false);
      List<Tensor> clean1 = seeded(21, () -> net.forward(x));
      List<Tensor> clean2 = seeded(22, () -> net.forward(x));
      assertTrue(torch.equal(clean1.get(0), a.get(0)));
      for (int k = 1; k <= 3; k++) {
        assertTrue(torch.equal(clean1.get(k), clean2.get(k)), "aux_seg" + k + " deterministic when switched off");
        assertTrue(torch.equal(clean1.get(k), net.auxDecoderUnperturbed(k, features)));
      }
    }
    net.train(true);
    List<Tensor> training1 = seeded(31, () -> net.forward(x));
    List<Tensor> training2 = seeded(32, () -> net.forward(x));
    assertFalse(torch.equal(training1.get(1), training2.get(1)), "training always perturbs");
  }

  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  @Test
  void urpcPerturbsItsSideHeadsOnlyInTraining() {
    UNetURPC urpc = new UNetURPC(SMALL);
    Tensor x = input();
    urpc.train(true);
    List<Tensor> a = seeded(41, () -> urpc.forward(x));
    List<Tensor> b = seeded(41, () -> urpc.forward(x));
    List<Tensor> c = seeded(42, () -> urpc.forward(x));
    for (int i = 0; i < 4; i++) {
      assertTrue(torch.equal(a.get(i), b.get(i)), "output " + i + " repeats with the same seed");
      assertFalse(torch.equal(a.get(i), c.get(i)), "output " + i + " differs with another seed");
    }

    urpc.eval();
    UNetDS ds = new UNetDS(SMALL);
    StateDictLoader.load(ds, urpc.stateDict());
    ds.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> e1 = seeded(41, () -> urpc.forward(x));
      List<Tensor> e2 = seeded(42, () -> urpc.forward(x));
      List<Tensor> plain = ds.forward(x);
      for (int i = 0; i < 4; i++) {
        assertTrue(torch.equal(e1.get(i), e2.get(i)), "eval output " + i + " is deterministic");
        assertTrue(torch.equal(e1.get(i), plain.get(i)), "eval output " + i + " equals UNet_DS's");
      }
    }
  }

  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  @Test
  void urpcWithoutPerturbationsTrainsLikeUnetDs() {
    Networks.Options options = Networks.Options.of("feature_chns", "2,4,4,8,8", "dropout", "0,0,0,0,0",
        "perturbations", "false");
    Networks.Network urpc = Networks.create("unet_urpc", 1, 2, options);
    UNetDS ds = new UNetDS(SMALL.withDropout(0, 0, 0, 0, 0));
    StateDictLoader.load(ds, org.ssl4mis.nn.StateDict.of(urpc.module()));
    urpc.module().train(true);
    ds.train(true);
    Tensor x = input();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> a = seeded(51, () -> urpc.outputs(x));
      List<Tensor> b = seeded(52, () -> ds.forward(x));
      for (int i = 0; i < 4; i++) {
        assertTrue(torch.equal(a.get(i), b.get(i)), "training output " + i + " is unperturbed");
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Networks.create("unet_urpc", 1, 2, Networks.Options.of("perturbations", "no")));
    assertTrue(e.getMessage().contains("perturbations"), e.getMessage());
  }

  @SuppressWarnings("try") // a NoGradGuard acts while open; the body never names it
  @Test
  void deepSupervisionSideOutputsAreNearestNeighbourUpsampled() {
    UNetDS ds = new UNetDS(SMALL);
    ds.eval();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      List<Tensor> out = ds.forward(input());
      // dp3 comes from the 1/8-resolution stage: constant over 8x8 blocks
      Tensor dp3 = out.get(3);
      Tensor block = dp3.narrow(2, 8, 8).narrow(3, 16, 8);
      Tensor corner = block.narrow(2, 0, 1).narrow(3, 0, 1);
      assertEquals(0, Tensors.item(block.sub(corner).abs().max()));
      assertNotEquals(0, Tensors.item(dp3.narrow(2, 0, 8).sub(dp3.narrow(2, 8, 8)).abs().max()), "blocks differ");
    }
  }

  /** A float32 scalar tensor. */
  private static Tensor f(double v) {
    return Tensors.scalar(v, DType.FLOAT32);
  }

  private static Tensor input() {
    NativeRuntime.seed(99);
    return torch.randn(2, 1, 32, 48);
  }

  private static List<Tensor> seeded(long seed, Supplier<List<Tensor>> run) {
    NativeRuntime.seed(seed);
    return run.get();
  }
}
