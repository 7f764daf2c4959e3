package org.ssl4mis.networks;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.memory.MemoryScope;

/**
 * The training scripts' re-initialisations of a built network, {@code kaiming_normal_init_weight} and
 * {@code xavier_normal_init_weight} (CPS 3D, R-Drop 3D; defined but unused in the 2D CPS and cross-teaching
 * scripts).
 */
public final class ScriptInits {
  private ScriptInits() {}

  /**
   * The scripts' {@code kaiming_normal_init_weight}: every {@code nn.Conv2d} ({@code dim} 2) or {@code nn.Conv3d}
   * (3) weight from {@code kaiming_normal_} with its defaults ({@code a=0}, fan in, leaky-ReLU gain sqrt(2)), every
   * {@code BatchNorm2d}/{@code 3d} weight 1 and bias 0. Convolution biases, transposed convolutions, linear
   * layers and other norms are left as they are, since {@code isinstance} matches neither.
   */
  public static void kaimingNormalInitWeight(Module root, int dim) {
    initWeights(root, dim, true);
  }

  /** The scripts' {@code xavier_normal_init_weight}: as {@link #kaimingNormalInitWeight} with {@code xavier_normal_} (gain 1). */
  public static void xavierNormalInitWeight(Module root, int dim) {
    initWeights(root, dim, false);
  }

  @SuppressWarnings("try") // the scope and the guard act while open
  private static void initWeights(Module root, int dim, boolean kaiming) {
    if (dim != 2 && dim != 3) {
      throw new IllegalArgumentException("dim must be 2 or 3, got " + dim);
    }
    String conv = "torch::nn::Conv" + dim + "dImpl";
    String batchNorm = "torch::nn::BatchNorm" + dim + "dImpl";
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      // model.modules(): every module once, depth first in registration order, as Python visits them.
      org.bytedeco.pytorch.SharedModuleVector modules = root.modules(true);
      for (long i = 0; i < modules.size(); i++) {
        Module m = modules.get(i);
        String type = m.name().getString();
        if (type.equals(conv)) {
          Tensor w = m.named_parameters(false).get("weight");
          if (kaiming) {
            torch.kaiming_normal_(w, 0.0, new org.bytedeco.pytorch.FanModeType(new org.bytedeco.pytorch.kFanIn()),
                new org.bytedeco.pytorch.Nonlinearity(new org.bytedeco.pytorch.kLeakyReLU()));
          } else {
            torch.xavier_normal_(w, 1.0);
          }
        } else if (type.equals(batchNorm)) {
          org.bytedeco.pytorch.StringTensorDict p = m.named_parameters(false);
          if (!p.contains("weight")) { // Python fails too: m.weight is None without affine parameters
            throw new IllegalArgumentException(type + " without affine parameters cannot take the init's weight 1");
          }
          p.get("weight").fill_(new Scalar(1.0));
          p.get("bias").zero_();
        }
      }
    }
  }
}
