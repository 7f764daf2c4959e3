package org.ssl4mis.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.UNet;
import org.ssl4mis.networks.UNetParams;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.SharedData;

/**
 * The fixture {@code train_step}: two supervised SGD steps of {@code train_fully_supervised_2D.py} on UNet(1, 4)
 * from {@code train_step_before.pth} ({@code loss = 0.5 * (DiceLoss(4)(softmax(out), label.unsqueeze(1)) +
 * CrossEntropyLoss()(out, label))}, SGD lr 0.01, momentum 0.9, weight decay 1e-4, dropout off), compared with
 * the losses of both steps, the logits of the first, the gradient norms, the state after the steps and the
 * eval output after them. Also the poly learning rate and the learning-rate setter.
 */
class TrainStepParityTest {
  private static int savedThreads;

  @BeforeAll
  static void oneThread() {
    savedThreads = NativeRuntime.threads();
    NativeRuntime.setThreads(1); // the fixture was made with one thread
  }

  @AfterAll
  static void restore() {
    NativeRuntime.setThreads(savedThreads);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  private static void assertRelative(double expected, double actual, double rel, String what) {
    double diff = Math.abs(actual - expected);
    assertTrue(diff <= rel * Math.abs(expected), what + ": java " + actual + ", python " + expected + ", rel diff "
        + diff / Math.abs(expected));
  }

  @Test
  @SuppressWarnings("try") // the scopes and the NoGradGuard act while open; the bodies never name them
  void twoSupervisedStepsMatchTheReference() throws Exception {
    Path parity = SharedData.parity();
    Map<String, Object> io = map(Checkpoints.loadTree(parity.resolve("train_step.io.pth")));
    Map<String, Tensor> before = Checkpoints.loadStateDict(parity.resolve("train_step_before.pth"));
    Map<String, Tensor> after = Checkpoints.loadStateDict(parity.resolve("train_step_after.pth"));
    assertEquals(0.01, ((Number) io.get("lr")).doubleValue(), 0.0);
    assertEquals(PolyLr.MOMENTUM, ((Number) io.get("momentum")).doubleValue(), 0.0);
    assertEquals(PolyLr.WEIGHT_DECAY, ((Number) io.get("weight_decay")).doubleValue(), 0.0);
    assertEquals(2L, ((Number) io.get("steps")).longValue());
    Tensor image = (Tensor) io.get("image");
    Tensor label = (Tensor) io.get("label");

    // every Dropout's p set to 0, as the fixture did, so the step is deterministic
    UNet model = new UNet(UNetParams.reference(1, 4).withDropout(0, 0, 0, 0, 0));
    assertEquals(before.size(), StateDictLoader.load(model, before).loaded());
    model.train(true);
    SGD optimizer = PolyLr.sgd(model, 0.01);
    DiceLoss diceLoss = new DiceLoss(4);

    List<String> names = List.copyOf(StateDict.parameters(model).keySet());
    List<String> report = new ArrayList<>();
    for (int step = 1; step <= 2; step++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Tensor outputs = model.forward(image);
        Tensor outputsSoft = torch.softmax(outputs, 1);
        Tensor lossCe = Losses.cross_entropy(outputs, label);
        Tensor lossDice = diceLoss.forward(outputsSoft, label.unsqueeze(1));
        Tensor loss = lossDice.add(lossCe).mul(new Scalar(0.5));
        optimizer.zero_grad();
        loss.backward();
        String s = "_step" + step;
        assertRelative(Tensors.item((Tensor) io.get("loss_ce" + s)), Tensors.item(lossCe), 1e-5, "loss_ce" + s);
        assertRelative(Tensors.item((Tensor) io.get("loss_dice" + s)), Tensors.item(lossDice), 1e-5, "loss_dice" + s);
        assertRelative(Tensors.item((Tensor) io.get("loss" + s)), Tensors.item(loss), 1e-5, "loss" + s);
        report.add(String.format(Locale.ROOT, "loss%s |diff| %.3g", s,
            Math.abs(Tensors.item(loss) - Tensors.item((Tensor) io.get("loss" + s)))));
        if (step == 1) {
          double logitDiff = Tensors.item(outputs.sub((Tensor) io.get("logits_step1")).abs().max());
          assertTrue(logitDiff <= 1e-5, "logits_step1: max |diff| " + logitDiff);
          report.add(String.format(Locale.ROOT, "logits_step1 max |diff| %.3g", logitDiff));
        }
        // Gradient norms, the fixture's aid for localising a mismatch. Gradients of conv biases feeding a
        // BatchNorm are float32 noise (~1e-9) in both implementations; the others must agree closely.
        Map<String, Object> norms = map(io.get("grad_l2" + s));
        Map<String, Tensor> params = StateDict.parameters(model);
        double worstRel = 0;
        for (String name : names) {
          double ref = ((Number) norms.get(name)).doubleValue();
          Tensor g = params.get(name).grad();
          assertNotNull(g, name);
          double norm = Math.sqrt(Tensors.item(g.to(torch.ScalarType.Double).square().sum()));
          if (ref > 1e-6) {
            double rel = Math.abs(norm - ref) / ref;
            worstRel = Math.max(worstRel, rel);
            assertTrue(rel <= 1e-3, "grad_l2" + s + " " + name + ": java " + norm + ", python " + ref);
          } else {
            assertTrue(norm <= 1e-6, "grad_l2" + s + " " + name + " is noise in the reference but " + norm + " here");
          }
        }
        report.add(String.format(Locale.ROOT, "grad_l2%s max rel diff %.3g", s, worstRel));
        optimizer.step();
      }
    }

    Map<String, Tensor> state = StateDict.of(model);
    assertEquals(List.copyOf(after.keySet()), List.copyOf(state.keySet()));
    double worstParam = 0;
    double worstBuffer = 0;
    double maxChange = 0;
    for (Map.Entry<String, Tensor> e : after.entrySet()) {
      String key = e.getKey();
      Tensor actual = state.get(key);
      Tensor expected = e.getValue();
      assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), key);
      if (key.endsWith("num_batches_tracked")) {
        assertTrue(actual.equal(expected), key + ": " + Tensors.item(actual) + " vs " + Tensors.item(expected));
        assertEquals(Tensors.item(before.get(key)) + 2, Tensors.item(actual), 0.0, key);
        continue;
      }
      double diff = Tensors.item(actual.sub(expected).abs().max());
      assertTrue(diff <= 1e-5, key + ": max |java - python| " + diff);
      if (names.contains(key)) {
        worstParam = Math.max(worstParam, diff);
        maxChange = Math.max(maxChange, Tensors.item(expected.sub(before.get(key)).abs().max()));
      } else {
        worstBuffer = Math.max(worstBuffer, diff);
      }
    }
    report.add(String.format(Locale.ROOT,
        "after-state params max |diff| %.3g (largest reference change %.3g), buffers %.3g",
        worstParam, maxChange, worstBuffer));

    model.eval();
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard guard = new NoGradGuard()) {
      Tensor expected = (Tensor) io.get("eval_output_after");
      double diff = Tensors.item(model.forward(image).sub(expected).abs().max());
      double allowed = 1e-5 * Math.max(1, Tensors.item(expected.abs().max()));
      assertTrue(diff <= allowed, "eval_output_after: max |diff| " + diff);
      report.add(String.format(Locale.ROOT, "eval_output_after max |diff| %.3g", diff));
    }
    System.out.println("train step parity: " + report);
  }

  @Test
  void polyLearningRateAsTheScripts() {
    PolyLr poly = new PolyLr(0.01, 30_000);
    assertEquals(0.01, poly.at(0), 0.0);
    assertEquals(0.01 * Math.pow(0.5, 0.9), poly.at(15_000), 1e-18);
    assertEquals(0.01 * Math.pow(1.0 / 30_000, 0.9), poly.at(29_999), 1e-18);
    assertEquals(0.0, poly.at(30_000), 0.0);
    assertEquals(poly.at(123), PolyLr.at(0.01, 123, 30_000), 0.0);
    assertThrows(IllegalArgumentException.class, () -> poly.at(30_001));
    assertThrows(IllegalArgumentException.class, () -> poly.at(-1));
  }

  @Test
  @SuppressWarnings("try") // the scope acts while open; the body never names it
  void learningRateIsSetOnEveryGroupAndUsedByTheNextStep() {
    UNet model = new UNet(UNetParams.reference(1, 2).withFeatureChannels(2, 2, 2, 2, 2).withDropout(0, 0, 0, 0, 0));
    SGD optimizer = PolyLr.sgd(model, 0.01);
    assertEquals(0.01, PolyLr.learningRate(optimizer), 0.0);
    PolyLr poly = new PolyLr(0.01, 100);
    assertEquals(poly.at(50), poly.apply(optimizer, 50), 0.0);
    assertEquals(poly.at(50), PolyLr.learningRate(optimizer), 0.0);
    PolyLr.setLearningRate(optimizer, 0.0);
    model.train(true);
    try (MemoryScope scope = MemoryScope.open()) {
      Map<String, Tensor> before = new java.util.LinkedHashMap<>();
      StateDict.parameters(model).forEach((k, v) -> before.put(k, v.clone()));
      Tensor x = Tensors.fromFloats(new float[2 * 16 * 16], 2, 1, 16, 16).add(new Scalar(0.5));
      Tensor loss = model.forward(x).square().mean();
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      StateDict.parameters(model).forEach((k, v) -> assertTrue(v.equal(before.get(k)), k + " unchanged with lr 0"));
      PolyLr.setLearningRate(optimizer, 0.1);
      optimizer.zero_grad();
      model.forward(x).square().mean().backward();
      optimizer.step();
      long changed = StateDict.parameters(model).entrySet().stream()
          .filter(e -> !e.getValue().equal(before.get(e.getKey()))).count();
      assertTrue(changed > 0, "a step with lr 0.1 moves the parameters");
    }
  }
}
