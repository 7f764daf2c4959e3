package org.ssl4mis.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.nn.StateDictLoader;
import org.ssl4mis.runtime.NativeRuntime;

/** The engine's SGD updates parameters exactly as libtorch's SGD (the optimizer of the train-step fixture). */
class SgdTest {
  @Test
  void sameBitsAsLibtorchSgdOverSeveralSteps() {
    NativeRuntime.seed(3);
    Networks.Options small = Networks.Options.of("feature_chns", "4,8,16,32,64", "dropout", "0,0,0,0,0");
    Networks.Network a = Networks.create("unet", 1, 4, small);
    Networks.Network b = Networks.create("unet", 1, 4, small);
    StateDictLoader.load(b.module(), StateDict.of(a.module()));
    SGD reference = PolyLr.sgd(a.module(), 0.01, 0.9, 1e-4);
    Sgd ours = new Sgd(b.module(), 0.01, 0.9, 1e-4);
    Tensor x = torch.randn(2, 1, 32, 32);
    Tensor y = torch.randint(4, new long[] {2, 32, 32});
    for (int step = 0; step < 3; step++) {
      reference.zero_grad(false);
      torch.cross_entropy_loss(a.logits(x), y).backward();
      reference.step();
      ours.zeroGrad();
      torch.cross_entropy_loss(b.logits(x), y).backward();
      ours.step();
      double lr = PolyLr.at(0.01, step, 10);
      PolyLr.setLearningRate(reference, lr);
      ours.setLearningRate(lr);
    }
    Map<String, Tensor> sa = StateDict.of(a.module());
    Map<String, Tensor> sb = StateDict.of(b.module());
    for (String k : sa.keySet()) {
      assertTrue(sa.get(k).equal(sb.get(k)), k + " differs after three steps");
    }
    assertEquals(StateDict.parameters(b.module()).size(), ours.momentumBuffers().size());
  }
}
