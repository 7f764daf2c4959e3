package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.BatchNorm3dImpl;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.ConvTranspose3dImpl;
import org.bytedeco.pytorch.FanModeType;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Nonlinearity;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.UpsampleImpl;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kFanIn;
import org.bytedeco.pytorch.kLeakyReLU;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * The 3D building blocks of SSL4MIS's {@code networks/utils.py} (taken there from Oktay et al.'s
 * Attention-Gated-Networks) used by {@link UNet3D}, {@link UNet3DDvSemi} and {@link AttentionUNet3D}, with
 * the Python member names so that state-dict keys match; plus the reference's {@code init_weights(...,
 * init_type='kaiming')} ({@code networks/networks_other.py}) as {@link #initKaiming}.
 */
public final class UNet3DBlocks {
  private UNet3DBlocks() {}

  /** The reference's {@code filters = [64, 128, 256, 512, 1024]}, divided by {@code feature_scale}. */
  static final long[] BASE_FILTERS = {64, 128, 256, 512, 1024};

  /**
   * {@code [int(x / feature_scale) for x in [64, 128, 256, 512, 1024]]}; feature scales above 64 would give
   * zero-width layers and are refused.
   */
  static long[] filters(int featureScale) {
    if (featureScale < 1 || featureScale > 64) {
      throw new IllegalArgumentException("feature_scale must be in [1, 64] (filters are [64, 128, 256, 512, 1024]"
          + " / feature_scale, truncated), got " + featureScale);
    }
    return Arrays.stream(BASE_FILTERS).map(f -> f / featureScale).toArray();
  }

  /**
   * {@code UnetConv3}: two (convolution, normalisation, ReLU) stages named {@code conv1}, {@code conv2}.
   *
   * <p>Reference quirk, kept: {@code is_batchnorm=True} puts an {@code InstanceNorm3d} (no affine parameters,
   * no running statistics) after each convolution, not a {@code BatchNorm3d}; {@code false} leaves the
   * normalisation out ({@code Sequential(conv, relu)}, so the ReLU is then child {@code 1}).
   */
  public static final class UnetConv3 extends JModule implements Layer {
    final Sequential conv1;
    final Sequential conv2;

    /**
     * @param kernelSize {@code kernel_size}, 1 or 3 values (the reference's default is (3, 3, 1))
     * @param paddingSize {@code padding_size} (default (1, 1, 0))
     * @param initStride {@code init_stride}, the stride of the first convolution only (default (1, 1, 1))
     */
    public UnetConv3(long inSize, long outSize, boolean isBatchnorm, long[] kernelSize, long[] paddingSize,
        long[] initStride) {
      conv1 = register("conv1", stage(Nn.conv3d(inSize, outSize, kernelSize).stride(initStride).padding(paddingSize)
          .build(), outSize, isBatchnorm));
      conv2 = register("conv2", stage(Nn.conv3d(outSize, outSize, kernelSize).stride(1).padding(paddingSize).build(),
          outSize, isBatchnorm));
    }

    /** {@code UnetConv3(in, out, is_batchnorm, kernel_size=(3,3,3), padding_size=(1,1,1))}, as the nets use it. */
    public UnetConv3(long inSize, long outSize, boolean isBatchnorm) {
      this(inSize, outSize, isBatchnorm, new long[] {3, 3, 3}, new long[] {1, 1, 1}, new long[] {1, 1, 1});
    }

    private static Sequential stage(Conv3dImpl conv, long channels, boolean normalised) {
      return normalised
          ? new Sequential(conv, Nn.instanceNorm3d(channels).build(), Nn.relu())
          : new Sequential(conv, Nn.relu());
    }

    @Override
    public Tensor forward(Tensor x) {
      return conv2.forward(conv1.forward(x));
    }
  }

  /**
   * {@code UnetUp3_CT}: trilinear x2 upsampling of the coarse input ({@code nn.Upsample(scale_factor=(2,2,2),
   * mode='trilinear')}, align_corners unset, i.e. false), concatenation after the skip input, and a
   * {@link UnetConv3} with 3x3x3 kernels.
   *
   * <p>Reference quirk, kept: the skip input is padded with {@code F.pad(skip, 2 * [o // 2, o // 2, 0])}
   * where {@code o} is the depth difference only; that list pads W by (o//2, o//2), H by (0, o//2) and D by
   * (o//2, 0). It is a no-op when the sizes match, the only case in which the concatenation can succeed.
   */
  public static final class UnetUp3CT extends JModule {
    final UnetConv3 conv;
    final UpsampleImpl up;

    public UnetUp3CT(long inSize, long outSize, boolean isBatchnorm) {
      conv = register("conv", new UnetConv3(inSize + outSize, outSize, isBatchnorm));
      // align_corners=False spelled out: Python's unset value means the same, and libtorch warns on every call
      // when it is left unset
      up = register("up", Nn.upsample3d(2, "trilinear", false));
    }

    /** {@code forward(inputs1, inputs2)}: {@code skip} at the finer level, {@code coarse} one level below. */
    public Tensor forward(Tensor skip, Tensor coarse) {
      Tensor upsampled = up.forward(coarse);
      long offset = upsampled.size(2) - skip.size(2);
      long half = Math.floorDiv(offset, 2); // Python's // rounds towards minus infinity
      Tensor padded = half == 0 ? skip : torch.constant_pad_nd(skip, half, half, 0, half, half, 0);
      return conv.forward(torch.cat(new TensorVector(padded, upsampled), 1));
    }
  }

  /**
   * {@code UnetDsv3}: the deep-supervision head, {@code dsv = Sequential(Conv3d(in, out, 1), Upsample(
   * scale_factor, mode='trilinear'))} with align_corners unset (false).
   */
  public static final class UnetDsv3 extends JModule implements Layer {
    final Sequential dsv;

    public UnetDsv3(long inSize, long outSize, double scaleFactor) {
      dsv = register("dsv", new Sequential(
          Nn.conv3d(inSize, outSize, 1).stride(1).padding(0).build(),
          Nn.upsample3d(scaleFactor, "trilinear", false))); // unset in Python, which means false
    }

    @Override
    public Tensor forward(Tensor x) {
      return dsv.forward(x);
    }
  }

  /**
   * {@code UnetGridGatingSignal3}: the gating signal of the attention U-Net, {@code conv1 = Sequential(Conv3d(
   * in, out, kernel_size), InstanceNorm3d(out), ReLU)}; like {@link UnetConv3}, {@code is_batchnorm} selects
   * an instance norm, and {@code false} drops it.
   */
  public static final class UnetGridGatingSignal3 extends JModule implements Layer {
    final Sequential conv1;

    public UnetGridGatingSignal3(long inSize, long outSize, long[] kernelSize, boolean isBatchnorm) {
      Conv3dImpl conv = Nn.conv3d(inSize, outSize, kernelSize).stride(1).padding(0).build();
      conv1 = register("conv1", isBatchnorm
          ? new Sequential(conv, Nn.instanceNorm3d(outSize).build(), Nn.relu())
          : new Sequential(conv, Nn.relu()));
    }

    @Override
    public Tensor forward(Tensor x) {
      return conv1.forward(x);
    }
  }

  /**
   * The reference's {@code weights_init_kaiming} applied to every module below {@code root}: convolution
   * (also transposed) and linear weights drawn with {@code kaiming_normal_(a=0, mode='fan_in')} (gain
   * sqrt(2)), batch-norm weights from N(1, 0.02) and batch-norm biases zeroed. Convolution biases keep
   * PyTorch's default initialisation, as in Python.
   */
  @SuppressWarnings("try") // the scope and the NoGradGuard act while open; the body never names them
  public static void initKaiming(Module root) {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      visitKaiming(root);
    }
  }

  private static void visitKaiming(Module m) {
    switch (m) {
      case Conv3dImpl c -> kaimingFanIn(c.weight());
      case ConvTranspose3dImpl c -> kaimingFanIn(c.weight());
      case LinearImpl l -> kaimingFanIn(l.weight());
      case BatchNorm3dImpl b -> {
        torch.normal_(b.weight(), 1.0, 0.02);
        torch.zeros_(b.bias());
      }
      case JModule j -> j.childModules().values().forEach(UNet3DBlocks::visitKaiming);
      default -> { } // parameter-free layers and instance norms without affine parameters
    }
  }

  private static void kaimingFanIn(Tensor weight) {
    torch.kaiming_normal_(weight, 0.0, new FanModeType(new kFanIn()), new Nonlinearity(new kLeakyReLU()));
  }
}
