package org.ssl4mis.losses;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.SharedData;

/**
 * Every loss output of the reference fixture {@code losses.io.pth} (written by SSL4MIS's own
 * {@code utils/losses.py}, torch 1.13, one thread) recomputed from its inputs: scalars within 1e-5 relative
 * (1e-6 absolute below 0.1), maps within 1e-6 elementwise. Also checks that the losses back-propagate and the
 * documented fixes.
 */
class LossesParityTest {
  private static Map<?, ?> io;
  private static int savedThreads;
  /** name -> max |java - python| (0 = bit-identical), printed at the end. */
  private static final Map<String, Double> DIFFS = new TreeMap<>();

  private MemoryScope scope;

  @BeforeAll
  static void load() throws Exception {
    io = (Map<?, ?>) Checkpoints.loadTree(SharedData.parity().resolve("losses.io.pth"));
    savedThreads = NativeRuntime.threads();
    NativeRuntime.setThreads(1); // the fixture was written with one thread: same reduction order
  }

  @AfterAll
  static void restore() {
    NativeRuntime.setThreads(savedThreads);
    long exact = DIFFS.values().stream().filter(d -> d == 0).count();
    System.out.println("losses parity: " + exact + " of " + DIFFS.size()
        + " outputs bit-identical; max |diff| per output:");
    DIFFS.forEach((k, v) -> System.out.println("  " + k + " " + v));
  }

  @BeforeEach
  void open() {
    scope = MemoryScope.open();
  }

  @AfterEach
  void close() {
    scope.close();
  }

  private static Tensor in(String key) {
    Object o = io.get(key);
    assertNotNull(o, "fixture key " + key);
    return (Tensor) o;
  }

  private static double[] weights(String key) {
    List<?> list = (List<?>) io.get(key);
    double[] w = new double[list.size()];
    for (int i = 0; i < w.length; i++) {
      w[i] = ((Number) list.get(i)).doubleValue();
    }
    return w;
  }

  /** A loss value (0-dim or a small vector): relative 1e-5, or absolute 1e-6 where |ref| < 0.1. */
  private static void assertValue(String key, Tensor actual) {
    Tensor ref = in(key);
    assertArrayEquals(Tensors.shape(ref), Tensors.shape(actual), key + ": shape");
    assertEquals(Tensors.dtype(ref), Tensors.dtype(actual), key + ": dtype");
    float[] r = Tensors.toFloats(ref);
    float[] a = Tensors.toFloats(actual);
    double worst = 0;
    for (int i = 0; i < r.length; i++) {
      double d = Math.abs((double) a[i] - r[i]);
      worst = Math.max(worst, d);
      double allowed = Math.abs(r[i]) < 0.1 ? 1e-6 : 1e-5 * Math.abs(r[i]);
      assertTrue(d <= allowed, key + "[" + i + "]: java " + a[i] + ", python " + r[i] + ", |diff| " + d);
    }
    DIFFS.put(key, worst);
  }

  /** A loss map: elementwise max |diff| <= 1e-6. */
  private static void assertMap(String key, Tensor actual) {
    Tensor ref = in(key);
    assertArrayEquals(Tensors.shape(ref), Tensors.shape(actual), key + ": shape");
    assertEquals(Tensors.dtype(ref), Tensors.dtype(actual), key + ": dtype");
    double worst = Tensors.item(actual.sub(ref).abs().max());
    assertTrue(worst <= 1e-6, key + ": max |java - python| = " + worst);
    DIFFS.put(key, worst);
  }

  private static Tensor stack(List<Tensor> values) {
    TensorVector v = new TensorVector();
    for (Tensor t : values) {
      v.push_back(t);
    }
    return torch.stack(v, 0);
  }

  private static Tensor labelIs(Tensor label, long c) {
    return label.eq(new Scalar(c));
  }

  @Test
  void diceLossClass() {
    DiceLoss dice4 = new DiceLoss(4);
    Tensor label2 = in("label_2d").unsqueeze(1);
    assertValue("DiceLoss_2d_softmaxTrue", dice4.forward(in("logits_2d"), label2, true));
    assertValue("DiceLoss_2d_softmaxFalse", dice4.forward(in("prob_2d"), label2));
    double[] w2 = weights("dice_weight_2d");
    assertValue("DiceLoss_2d_softmaxTrue_weighted", dice4.forward(in("logits_2d"), label2, w2, true));
    assertValue("DiceLoss_2d_softmaxFalse_weighted", dice4.forward(in("prob_2d"), label2, w2, false));
    Tensor oneHot2 = dice4.one_hot_encoder(label2);
    List<Tensor> perClass = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      perClass.add(dice4.dice_loss(in("prob_2d").select(1, c), oneHot2.select(1, c)));
    }
    assertValue("DiceLoss_2d_per_class", stack(perClass));

    DiceLoss dice2 = new DiceLoss(2);
    Tensor label3 = in("label_3d").unsqueeze(1);
    assertValue("DiceLoss_3d_softmaxTrue", dice2.forward(in("logits_3d"), label3, true));
    assertValue("DiceLoss_3d_softmaxFalse", dice2.forward(in("prob_3d"), label3));
    double[] w3 = weights("dice_weight_3d");
    assertValue("DiceLoss_3d_softmaxTrue_weighted", dice2.forward(in("logits_3d"), label3, w3, true));
    Tensor oneHot3 = dice2.one_hot_encoder(label3);
    List<Tensor> perClass3 = new ArrayList<>();
    for (int c = 0; c < 2; c++) {
      perClass3.add(dice2.dice_loss(in("prob_3d").select(1, c), oneHot3.select(1, c)));
    }
    assertValue("DiceLoss_3d_per_class", stack(perClass3));
  }

  @Test
  void diceWeightsAreDividedByTheClassCountNotTheirSum() {
    DiceLoss dice = new DiceLoss(4);
    Tensor label = in("label_2d").unsqueeze(1);
    double unweighted = Tensors.item(dice.forward(in("prob_2d"), label));
    double quarter = Tensors.item(dice.forward(in("prob_2d"), label, new double[] {0.25, 0.25, 0.25, 0.25}, false));
    assertEquals(unweighted / 4, quarter, 1e-6, "weights summing to 1 shrink the loss by n_classes");
    var e = assertThrows(IllegalArgumentException.class, () -> dice.forward(in("prob_2d"), in("label_2d")));
    assertTrue(e.getMessage().contains("predict & target shape do not match"), e.getMessage());
  }

  @Test
  void diceFunctions() {
    List<Tensor> dl = new ArrayList<>();
    List<Tensor> dl1 = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      Tensor p = in("prob_2d").select(1, c);
      dl.add(Losses.dice_loss(p, labelIs(in("label_2d"), c)));
      dl1.add(Losses.dice_loss1(p, labelIs(in("label_2d"), c)));
    }
    assertValue("dice_loss_2d_per_class", stack(dl));
    assertValue("dice_loss1_2d_per_class", stack(dl1));
    assertValue("dice_loss_3d_class1", Losses.dice_loss(in("prob_3d").select(1, 1), labelIs(in("label_3d"), 1)));
    assertValue("dice_loss1_3d_class1", Losses.dice_loss1(in("prob_3d").select(1, 1), labelIs(in("label_3d"), 1)));
    assertValue("softmax_dice_loss_2d", Losses.softmax_dice_loss(in("logits_2d"), in("logits_2d_b")));
    assertValue("softmax_dice_loss_3d", Losses.softmax_dice_loss(in("logits_3d"), in("logits_3d_b")));
  }

  @Test
  void consistencyLosses() {
    Tensor mse2 = Losses.softmax_mse_loss(in("logits_2d"), in("logits_2d_b"));
    assertMap("softmax_mse_loss_2d_map", mse2);
    assertValue("softmax_mse_loss_2d_mean", mse2.mean());
    assertMap("softmax_mse_loss_2d_sigmoid_map", Losses.softmax_mse_loss(in("logits_2d"), in("logits_2d_b"), true));
    Tensor mse3 = Losses.softmax_mse_loss(in("logits_3d"), in("logits_3d_b"));
    assertMap("softmax_mse_loss_3d_map", mse3);
    assertValue("softmax_mse_loss_3d_mean", mse3.mean());

    assertValue("softmax_kl_loss_2d", Losses.softmax_kl_loss(in("logits_2d"), in("logits_2d_b")));
    assertValue("softmax_kl_loss_2d_sigmoid", Losses.softmax_kl_loss(in("logits_2d"), in("logits_2d_b"), true));
    assertValue("softmax_kl_loss_3d", Losses.softmax_kl_loss(in("logits_3d"), in("logits_3d_b")));

    assertValue("symmetric_mse_loss_2d", Losses.symmetric_mse_loss(in("logits_2d"), in("logits_2d_b")));
    assertValue("symmetric_mse_loss_3d", Losses.symmetric_mse_loss(in("logits_3d"), in("logits_3d_b")));
  }

  @Test
  void entropyLosses() {
    assertValue("entropy_loss_2d_C4", Losses.entropy_loss(in("prob_2d"), 4));
    assertValue("entropy_loss_2d_C2default", Losses.entropy_loss(in("prob_2d")));
    assertMap("entropy_loss_map_2d_C4", Losses.entropy_loss_map(in("prob_2d"), 4));
    assertValue("entropy_minmization_2d", Losses.entropy_minmization(in("prob_2d")));
    assertMap("entropy_map_2d", Losses.entropy_map(in("prob_2d")));
    assertValue("entropy_loss_3d_C2", Losses.entropy_loss(in("prob_3d"), 2));
    assertMap("entropy_loss_map_3d_C2", Losses.entropy_loss_map(in("prob_3d"), 2));
  }

  @Test
  void rDropKlOverTheLastAxisAndItsFix() {
    assertValue("compute_kl_loss_2d", Losses.compute_kl_loss(in("logits_2d"), in("logits_2d_b")));
    assertValue("compute_kl_loss_3d", Losses.compute_kl_loss(in("logits_3d"), in("logits_3d_b")));
    // The fix, over classes, is the symmetric mean-reduced KL that softmax_kl_loss computes in each direction.
    for (String d : new String[] {"2d", "3d"}) {
      Tensor a = in("logits_" + d);
      Tensor b = in("logits_" + d + "_b");
      double fixed = Tensors.item(Losses.compute_kl_loss(a, b, Losses.CLASS_DIM));
      double symmetric = (Tensors.item(Losses.softmax_kl_loss(a, b)) + Tensors.item(Losses.softmax_kl_loss(b, a))) / 2;
      assertEquals(symmetric, fixed, 1e-6 * symmetric, d);
      double reference = Tensors.item(Losses.compute_kl_loss(a, b));
      assertTrue(Math.abs(reference - fixed) > 1e-3, d + ": the last-axis KL differs from the class-axis one");
    }
  }

  @Test
  void focalAndCrossEntropy() {
    Tensor logits = in("logits_2d");
    Tensor label = in("label_2d");
    assertValue("FocalLoss_2d_gamma2", new FocalLoss(2).forward(logits, label));
    assertValue("FocalLoss_2d_gamma2_alpha", new FocalLoss(2, weights("dice_weight_2d"), true).forward(logits, label));
    assertValue("FocalLoss_2d_gamma2_sum", new FocalLoss(2, null, false).forward(logits, label));
    assertValue("CrossEntropyLoss_2d", Losses.cross_entropy(logits, label));
    assertValue("CrossEntropyLoss_3d", Losses.cross_entropy(in("logits_3d"), in("label_3d")));
    // uint8 labels (what the data loaders give) are converted like label.long() in the scripts
    assertEquals(Tensors.item(in("CrossEntropyLoss_2d")),
        Tensors.item(Losses.cross_entropy(logits, label.to(torch.ScalarType.Byte))), 0.0);
    // gamma 0 without weights is the cross-entropy
    assertEquals(Tensors.item(in("CrossEntropyLoss_2d")), Tensors.item(new FocalLoss(0).forward(logits, label)), 1e-6);
  }

  @Test
  void focalLossFactorGradientFixKeepsTheValueButChangesTheGradient() {
    Tensor detached = in("logits_2d").clone().requires_grad_(true);
    Tensor attached = in("logits_2d").clone().requires_grad_(true);
    Tensor label = in("label_2d");
    Tensor l1 = new FocalLoss(2).forward(detached, label);
    Tensor l2 = new FocalLoss(2).withFactorGradient(true).forward(attached, label);
    assertEquals(Tensors.item(l1), Tensors.item(l2), 0.0);
    l1.backward();
    l2.backward();
    double diff = Tensors.item(detached.grad().sub(attached.grad()).abs().max());
    assertTrue(diff > 1e-6, "the paper's gradient differs from the reference's detached one: " + diff);
  }

  @Test
  void lossesBackPropagate() {
    Tensor a = in("logits_2d").clone().requires_grad_(true);
    Tensor b = in("logits_2d_b").clone().requires_grad_(true);
    Tensor label = in("label_2d");
    Tensor total = new DiceLoss(4).forward(a, label.unsqueeze(1), true)
        .add(Losses.cross_entropy(a, label))
        .add(new FocalLoss(2).forward(a, label))
        .add(Losses.softmax_mse_loss(a, b).mean())
        .add(Losses.softmax_kl_loss(a, b))
        .add(Losses.softmax_dice_loss(a, b))
        .add(Losses.symmetric_mse_loss(a, b))
        .add(Losses.entropy_loss(a.softmax(1), 4))
        .add(Losses.entropy_minmization(a.softmax(1)))
        .add(Losses.compute_kl_loss(a, b));
    total.backward();
    for (Tensor g : new Tensor[] {a.grad(), b.grad()}) {
      assertTrue(g.defined());
      assertTrue(Tensors.item(g.isfinite().all()) == 1.0, "finite gradient");
      assertTrue(Tensors.item(g.abs().max()) > 0, "non-zero gradient");
    }
    // symmetric_mse_loss: d/da mean((a-b)^2) = 2(a-b)/n, exactly what autograd gives in float32 (to rounding)
    Tensor x = in("logits_3d").clone().requires_grad_(true);
    Losses.symmetric_mse_loss(x, in("logits_3d_b")).backward();
    Tensor expected = x.detach().sub(in("logits_3d_b")).mul(new Scalar(2.0 / x.numel()));
    assertTrue(Tensors.item(x.grad().sub(expected).abs().max()) < 1e-9);
  }

  @Test
  void consistencyTargetsAreNotDetached() {
    Tensor a = in("logits_2d").clone().requires_grad_(true);
    Tensor b = in("logits_2d_b").clone().requires_grad_(true);
    Losses.softmax_mse_loss(a, b).mean().add(Losses.softmax_kl_loss(a, b)).backward();
    assertTrue(b.grad().defined() && Tensors.item(b.grad().abs().max()) > 0,
        "despite the docstrings, the target logits receive a gradient (as in the reference)");
  }

  @Test
  void shapeMismatchesAreRefused() {
    Tensor a = in("logits_2d");
    Tensor b = in("logits_3d");
    assertThrows(IllegalArgumentException.class, () -> Losses.softmax_mse_loss(a, b));
    assertThrows(IllegalArgumentException.class, () -> Losses.softmax_kl_loss(a, b));
    assertThrows(IllegalArgumentException.class, () -> Losses.softmax_dice_loss(a, b));
    assertThrows(IllegalArgumentException.class, () -> Losses.symmetric_mse_loss(a, b));
    assertThrows(IllegalArgumentException.class, () -> Losses.compute_kl_loss(a, b));
    assertThrows(IllegalArgumentException.class,
        () -> new DiceLoss(4).forward(a, in("label_2d").unsqueeze(1), new double[] {1, 1}, false));
    assertThrows(IllegalArgumentException.class, () -> new FocalLoss().forward(a, in("label_2d").select(0, 0)));
    assertFalse(Losses.entropy_loss(in("prob_2d"), 4).requires_grad());
  }
}
