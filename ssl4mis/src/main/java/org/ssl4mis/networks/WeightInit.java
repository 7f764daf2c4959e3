package org.ssl4mis.networks;

import java.util.function.Consumer;
import org.bytedeco.pytorch.BatchNorm3dImpl;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.FanModeType;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Nonlinearity;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.kFanIn;
import org.bytedeco.pytorch.kLeakyReLU;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.JModule;

/**
 * The 3D training scripts' re-initialisations of a built network ({@code kaiming_normal_init_weight} and
 * {@code xavier_normal_init_weight} in {@code train_regularized_dropout_3D.py}): every {@code nn.Conv3d} weight
 * (not transposed convolutions, which are no {@code Conv3d} in Python) drawn again, every {@code nn.BatchNorm3d}
 * weight set to 1 and bias to 0; convolution biases and all other layers keep their values.
 */
public final class WeightInit {
  private WeightInit() {}

  /** {@code kaiming_normal_init_weight}: {@code kaiming_normal_(w)} (a = 0, fan_in, gain sqrt(2)). */
  public static void kaimingNormal3d(Module root) {
    apply(root, w -> torch.kaiming_normal_(w, 0.0, new FanModeType(new kFanIn()), new Nonlinearity(new kLeakyReLU())));
  }

  /** {@code xavier_normal_init_weight}: {@code xavier_normal_(w)} (gain 1). */
  public static void xavierNormal3d(Module root) {
    apply(root, w -> torch.xavier_normal_(w, 1.0));
  }

  @SuppressWarnings("try") // the scope and the NoGradGuard act while open
  private static void apply(Module root, Consumer<Tensor> convInit) {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      visit(root, convInit);
    }
  }

  private static void visit(Module m, Consumer<Tensor> convInit) {
    switch (m) {
      case Conv3dImpl c -> convInit.accept(c.weight());
      case BatchNorm3dImpl b -> {
        torch.fill_(b.weight(), new Scalar(1.0));
        torch.zeros_(b.bias());
      }
      case JModule j -> j.childModules().values().forEach(child -> visit(child, convInit));
      default -> { } // parameter-free layers, instance norms without affine parameters, transposed convolutions
    }
  }
}
