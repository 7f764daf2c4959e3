package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.ConvTranspose2dImpl;
import org.bytedeco.pytorch.ConvTranspose3dImpl;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.FanModeType;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Nonlinearity;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kFanIn;
import org.bytedeco.pytorch.kLeakyReLU;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Layers;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * The building blocks of {@link GenericUNet} (SSL4MIS's {@code networks/nnunet.py}, from nnU-Net) with the
 * Python member names, so that state-dict keys match: {@link ConvDropoutNormNonlin} ({@code conv},
 * {@code dropout}, {@code instnorm}, {@code lrelu}, whatever the operations are), {@link StackedConvLayers}
 * ({@code blocks}), the parameter-free {@link Upsample}, and {@code InitWeights_He} as {@link #initHe}.
 *
 * <p>The layers are made from a {@link GenericUNetConfig}'s choices by {@link Ops}, the counterpart of the
 * Python {@code conv_op}, {@code norm_op}, {@code dropout_op}, {@code nonlin} classes and their keyword
 * dictionaries.
 */
public final class GenericUNetBlocks {
  private GenericUNetBlocks() {}

  /**
   * The layer factories of one network: convolution ({@code stride 1, dilation 1, bias True} unless given),
   * normalisation, dropout (with the probability of the encoder or of the decoder), nonlinearity.
   */
  public record Ops(int dims, GenericUNetConfig.Norm norm, GenericUNetConfig.Dropout dropout,
      GenericUNetConfig.Nonlin nonlin, GenericUNetConfig.BasicBlock basicBlock) {

    /** The operations of {@code c}; {@code decoder} true gives the decoder's (no dropout unless enabled there). */
    public static Ops of(GenericUNetConfig c, boolean decoder) {
      GenericUNetConfig.Dropout drop = decoder && !c.dropoutInLocalization()
          ? new GenericUNetConfig.Dropout(c.dropout().kind(), 0) // Python zeroes p while building the decoder
          : c.dropout();
      return new Ops(c.dims(), c.norm(), drop, c.nonlin(), c.basicBlock());
    }

    /** {@code conv_op(in, out, kernel_size, stride, padding, dilation=1, groups=1, bias)}. */
    Module newConv(long in, long out, long[] kernel, long[] stride, long[] padding, boolean bias) {
      return dims == 3
          ? Nn.conv3d(in, out, kernel).stride(stride).padding(padding).bias(bias).build()
          : Nn.conv2d(in, out, kernel).stride(stride).padding(padding).bias(bias).build();
    }

    /** {@code norm_op(channels, **norm_op_kwargs)}. */
    Module newNorm(long channels) {
      var b = switch (norm.kind()) {
        case BATCH_NORM -> dims == 3 ? Nn.batchNorm3d(channels) : Nn.batchNorm2d(channels);
        case INSTANCE_NORM -> dims == 3 ? Nn.instanceNorm3d(channels) : Nn.instanceNorm2d(channels);
      };
      return b.eps(norm.eps()).momentum(norm.momentum()).affine(norm.affine())
          .trackRunningStats(norm.trackRunningStats()).build();
    }

    /** {@code dropout_op(**dropout_op_kwargs)}; null where Python leaves {@code self.dropout = None}. */
    Module newDropout() {
      if (!dropout.active()) {
        return null;
      }
      return switch (dropout.kind()) {
        case DROPOUT -> Nn.dropout(dropout.p());
        case CHANNEL -> dims == 3 ? Nn.dropout3d(dropout.p()) : Nn.dropout2d(dropout.p());
        case NONE -> throw new IllegalStateException("inactive dropout");
      };
    }

    /** {@code nonlin(**nonlin_kwargs)}. */
    Module newNonlin() {
      return switch (nonlin.kind()) {
        case LEAKY_RELU -> Nn.leakyRelu(nonlin.negativeSlope());
        case RELU -> Nn.relu();
      };
    }
  }

  /**
   * {@code ConvDropoutNormNonlin}: convolution, dropout (only when its p is positive), normalisation,
   * nonlinearity, as members {@code conv}, {@code dropout}, {@code instnorm} (whatever the norm) and
   * {@code lrelu} (whatever the nonlinearity). {@code ConvDropoutNonlinNorm} is the same module applying the
   * nonlinearity before the normalisation ({@link #nonlinBeforeNorm()}).
   */
  public static final class ConvDropoutNormNonlin extends JModule implements Layer {
    private final Layer conv;
    private final Layer dropout;
    private final Layer instnorm;
    private final Layer lrelu;
    private final boolean nonlinBeforeNorm;
    private final long outputChannels;

    /**
     * @param kernel the kernel size; the padding is 1 where it is 3 and 0 elsewhere ({@code conv_pad_sizes})
     * @param stride the convolution's stride (the first block of a strided stage; ones elsewhere)
     */
    public ConvDropoutNormNonlin(long inputChannels, long outputChannels, long[] kernel, long[] stride, Ops ops) {
      this.outputChannels = outputChannels;
      conv = Layers.of(register("conv",
          ops.newConv(inputChannels, outputChannels, kernel, stride, padding(kernel), true)));
      Module drop = ops.newDropout();
      dropout = drop == null ? null : Layers.of(register("dropout", drop));
      instnorm = Layers.of(register("instnorm", ops.newNorm(outputChannels)));
      lrelu = Layers.of(register("lrelu", ops.newNonlin()));
      nonlinBeforeNorm = ops.basicBlock() == GenericUNetConfig.BasicBlock.CONV_DROPOUT_NONLIN_NORM;
    }

    /** True for Python's {@code ConvDropoutNonlinNorm}. */
    public boolean nonlinBeforeNorm() {
      return nonlinBeforeNorm;
    }

    public long outputChannels() {
      return outputChannels;
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor y = conv.forward(x);
      if (dropout != null) {
        y = dropout.forward(y);
      }
      return nonlinBeforeNorm ? instnorm.forward(lrelu.forward(y)) : lrelu.forward(instnorm.forward(y));
    }
  }

  /**
   * {@code StackedConvLayers}: {@code blocks}, a Sequential of {@code max(1, numConvs)} basic blocks, the
   * first from {@code input_channels} to {@code output_channels} with stride {@code firstStride} (null: 1),
   * the others keeping {@code output_channels}.
   */
  public static final class StackedConvLayers extends JModule implements Layer {
    private final Sequential blocks;
    private final long inputChannels;
    private final long outputChannels;

    public StackedConvLayers(long inputChannels, long outputChannels, int numConvs, long[] kernel, long[] firstStride,
        Ops ops) {
      this.inputChannels = inputChannels;
      this.outputChannels = outputChannels;
      long[] ones = new long[ops.dims()];
      Arrays.fill(ones, 1);
      Sequential s = new Sequential(new ConvDropoutNormNonlin(inputChannels, outputChannels, kernel,
          firstStride == null ? ones : firstStride, ops));
      for (int i = 1; i < numConvs; i++) {
        s.add(new ConvDropoutNormNonlin(outputChannels, outputChannels, kernel, ones, ops));
      }
      blocks = register("blocks", s);
    }

    /** {@code input_channels}. */
    public long inputChannels() {
      return inputChannels;
    }

    /** {@code output_channels}. */
    public long outputChannels() {
      return outputChannels;
    }

    /** The number of basic blocks. */
    public int size() {
      return blocks.size();
    }

    @Override
    public Tensor forward(Tensor x) {
      return blocks.forward(x);
    }
  }

  /**
   * The reference's {@code Upsample} module: {@code F.interpolate(x, scale_factor, mode, align_corners=False)}
   * with one scale factor per spatial axis, bilinear for 4-D and trilinear for 5-D input. The output size is
   * {@code floor(size * factor)} and the factors themselves set the sampling grid, as in Python.
   */
  public static final class Upsample extends JModule implements Layer {
    private final double[] scaleFactors;

    public Upsample(double... scaleFactors) {
      if (scaleFactors.length != 2 && scaleFactors.length != 3) {
        throw new IllegalArgumentException("Upsample takes 2 or 3 scale factors, got " + Arrays.toString(scaleFactors));
      }
      for (double f : scaleFactors) {
        if (!(f > 0)) {
          throw new IllegalArgumentException("scale factors must be > 0, got " + Arrays.toString(scaleFactors));
        }
      }
      this.scaleFactors = scaleFactors.clone();
    }

    /** One factor per axis from integer kernel sizes, as Python passes {@code pool_op_kernel_sizes}. */
    static Upsample of(long[] factors) {
      return new Upsample(Arrays.stream(factors).asDoubleStream().toArray());
    }

    public double[] scaleFactors() {
      return scaleFactors.clone();
    }

    /** {@code bilinear} or {@code trilinear}: the mode Generic_UNet picks for its dimensionality. */
    public String mode() {
      return scaleFactors.length == 3 ? "trilinear" : "bilinear";
    }

    @Override
    public Tensor forward(Tensor x) {
      int dims = scaleFactors.length;
      if (x.dim() != dims + 2) {
        throw new IllegalArgumentException(mode() + " Upsample needs a " + (dims + 2) + "-D input, got "
            + x.dim() + "-D");
      }
      long[] size = new long[dims];
      for (int i = 0; i < dims; i++) {
        size[i] = (long) Math.floor(x.size(2 + i) * scaleFactors[i]);
      }
      if (dims == 3) {
        return torch.upsample_trilinear3d(x, size, false, new DoubleOptional(scaleFactors[0]),
            new DoubleOptional(scaleFactors[1]), new DoubleOptional(scaleFactors[2]));
      }
      return torch.upsample_bilinear2d(x, size, false, new DoubleOptional(scaleFactors[0]),
          new DoubleOptional(scaleFactors[1]));
    }
  }

  /** {@code conv_pad_sizes}: 1 where the kernel size is 3, else 0 (also for 5, 7, ...: the reference's rule). */
  static long[] padding(long[] kernel) {
    return Arrays.stream(kernel).map(k -> k == 3 ? 1 : 0).toArray();
  }

  /**
   * {@code InitWeights_He(neg_slope)} applied to every module below {@code root}: the weights of 2D/3D
   * convolutions and transposed convolutions from {@code kaiming_normal_(a=neg_slope)} (fan in, leaky-ReLU
   * gain), their biases zeroed. Norm layers keep PyTorch's init (weight 1, bias 0). Draws from libtorch's
   * generator.
   */
  @SuppressWarnings("try") // the scope and the guard act while open
  public static void initHe(Module root, double negativeSlope) {
    try (MemoryScope scope = MemoryScope.open(); NoGradGuard noGrad = new NoGradGuard()) {
      visitHe(root, negativeSlope);
    }
  }

  private static void visitHe(Module m, double a) {
    switch (m) {
      case Conv2dImpl c -> he(c.weight(), c.bias(), a);
      case Conv3dImpl c -> he(c.weight(), c.bias(), a);
      case ConvTranspose2dImpl c -> he(c.weight(), c.bias(), a);
      case ConvTranspose3dImpl c -> he(c.weight(), c.bias(), a);
      case JModule j -> j.childModules().values().forEach(child -> visitHe(child, a));
      default -> { } // norms, nonlinearities, dropout, pooling: nothing to do
    }
  }

  private static void he(Tensor weight, Tensor bias, double a) {
    torch.kaiming_normal_(weight, a, new FanModeType(new kFanIn()), new Nonlinearity(new kLeakyReLU()));
    if (bias != null && bias.defined()) {
      torch.zeros_(bias);
    }
  }
}
