package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.Objects;

/**
 * The constructor arguments of SSL4MIS's {@code Generic_UNet} ({@code networks/nnunet.py}, from nnU-Net),
 * one component per Python argument, and the plan {@code initialize_network(threeD, num_classes)} builds
 * from the module's {@code default_dict} ({@link #nnUNet(boolean, long)}).
 *
 * <p>Python passes layer classes ({@code conv_op}, {@code norm_op}, {@code dropout_op}, {@code nonlin},
 * {@code basic_block}) and their keyword dictionaries; here they are {@link #dims} (2: {@code nn.Conv2d},
 * 3: {@code nn.Conv3d}) and the small records {@link Norm}, {@link Dropout}, {@link Nonlin}, with the
 * operations Generic_UNet is used with. {@code max_num_features=None} resolves to 320 in 3D and 480 in 2D
 * ({@code MAX_NUM_FILTERS_3D}, {@code MAX_FILTERS_2D}) when the configuration is built.
 *
 * <p>Start from {@link #nnUNet} or {@link #defaults} and change what differs with {@link #toBuilder()}:
 *
 * <pre>{@code
 * GenericUNetConfig plan = GenericUNetConfig.nnUNet(true, 4).toBuilder().deepSupervision(true).build();
 * }</pre>
 *
 * @param inputChannels {@code input_channels}
 * @param baseNumFeatures {@code base_num_features}: channels of the first stage
 * @param numClasses {@code num_classes}: channels of every segmentation output
 * @param numConvPerStage {@code num_conv_per_stage} (at least 1; the bottleneck and every decoder stage have
 *     {@code max(1, n - 1) + 1} convolutions, so 1 gives them two, as in Python)
 * @param featMapMulOnDownscale {@code feat_map_mul_on_downscale}: channels grow by this factor per stage,
 *     rounded half to even ({@code np.round}) and capped at {@code maxNumFeatures}
 * @param dims {@code conv_op}: 2 for {@code nn.Conv2d}, 3 for {@code nn.Conv3d}; also picks max pooling,
 *     transposed convolution, and bilinear or trilinear upsampling
 * @param norm {@code norm_op} and {@code norm_op_kwargs}
 * @param dropout {@code dropout_op} and {@code dropout_op_kwargs}
 * @param nonlin {@code nonlin} and {@code nonlin_kwargs}
 * @param deepSupervision {@code deep_supervision}: forward returns every decoder output (see
 *     {@link GenericUNet#forward})
 * @param dropoutInLocalization {@code dropout_in_localization}: false builds the decoder without dropout
 * @param finalNonlin {@code final_nonlin}, applied to every segmentation output
 * @param weightInit {@code weightInitializer}
 * @param poolOpKernelSizes {@code pool_op_kernel_sizes}: one kernel (= stride) of {@code dims} sizes per
 *     pooling; their number is {@code num_pool}
 * @param convKernelSizes {@code conv_kernel_sizes}: {@code num_pool + 1} kernels, one per resolution
 *     (encoder stages, then the bottleneck; the decoder reuses them from coarse to fine); padding is 1 where
 *     a size is 3 and 0 otherwise, as in Python
 * @param upscaleLogits {@code upscale_logits}: deep-supervision outputs upsampled to the input size
 * @param convolutionalPooling {@code convolutional_pooling}: downsampling by the stride of each stage's first
 *     convolution instead of max pooling
 * @param convolutionalUpsampling {@code convolutional_upsampling}: transposed convolutions (no bias) instead
 *     of linear interpolation
 * @param maxNumFeatures {@code max_num_features}, resolved
 * @param basicBlock {@code basic_block}
 * @param segOutputUseBias {@code seg_output_use_bias}
 */
public record GenericUNetConfig(
    long inputChannels,
    long baseNumFeatures,
    long numClasses,
    int numConvPerStage,
    double featMapMulOnDownscale,
    int dims,
    Norm norm,
    Dropout dropout,
    Nonlin nonlin,
    boolean deepSupervision,
    boolean dropoutInLocalization,
    FinalNonlin finalNonlin,
    WeightInit weightInit,
    long[][] poolOpKernelSizes,
    long[][] convKernelSizes,
    boolean upscaleLogits,
    boolean convolutionalPooling,
    boolean convolutionalUpsampling,
    long maxNumFeatures,
    BasicBlock basicBlock,
    boolean segOutputUseBias) {

  // ---- the plan of networks/nnunet.py --------------------------------------------------------------

  /** {@code default_dict["net_conv_kernel_sizes"]}. */
  public static final long[][] DEFAULT_CONV_KERNEL_SIZES = {
    {1, 3, 3}, {1, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}
  };

  /** {@code default_dict["net_num_pool_op_kernel_sizes"]}: six poolings, 4 x 64 x 64 in all. */
  public static final long[][] DEFAULT_POOL_OP_KERNEL_SIZES = {
    {1, 2, 2}, {1, 2, 2}, {2, 2, 2}, {2, 2, 2}, {1, 2, 2}, {1, 2, 2}
  };

  /** {@code default_dict["base_num_features"]}. */
  public static final long DEFAULT_BASE_NUM_FEATURES = 16;

  /** {@code default_dict["conv_per_stage"]}. */
  public static final int DEFAULT_CONV_PER_STAGE = 2;

  /** {@code default_dict["num_input_channels"]}: initialize_network always builds a one-channel network. */
  public static final long DEFAULT_NUM_INPUT_CHANNELS = 1;

  /** {@code Generic_UNet.MAX_NUM_FILTERS_3D}. */
  public static final long MAX_NUM_FILTERS_3D = 320;

  /** {@code Generic_UNet.MAX_FILTERS_2D}. */
  public static final long MAX_FILTERS_2D = 480;

  // ---- the Python layer choices ----------------------------------------------------------------------

  /** {@code norm_op}: {@code nn.BatchNorm2d/3d} or {@code nn.InstanceNorm2d/3d}, with their keyword arguments. */
  public record Norm(Kind kind, double eps, double momentum, boolean affine, boolean trackRunningStats) {
    public enum Kind {
      BATCH_NORM,
      INSTANCE_NORM
    }

    public Norm {
      Objects.requireNonNull(kind, "norm kind");
      if (!(eps > 0)) {
        throw new IllegalArgumentException("norm eps must be > 0, got " + eps);
      }
      if (!(momentum >= 0 && momentum <= 1)) {
        throw new IllegalArgumentException("norm momentum must be in [0, 1], got " + momentum);
      }
    }

    /** Generic_UNet's default: {@code nn.BatchNorm*d} with {@code eps=1e-5, affine=True, momentum=0.1}. */
    public static Norm batchNorm() {
      return new Norm(Kind.BATCH_NORM, 1e-5, 0.1, true, true);
    }

    /** {@code nn.InstanceNorm*d(eps=1e-5, affine=affine)}, no running statistics (initialize_network: affine). */
    public static Norm instanceNorm(boolean affine) {
      return new Norm(Kind.INSTANCE_NORM, 1e-5, 0.1, affine, false);
    }
  }

  /**
   * {@code dropout_op} and its {@code p}: {@code NONE} ({@code dropout_op=None}), {@code DROPOUT}
   * ({@code nn.Dropout}) or {@code CHANNEL} ({@code nn.Dropout2d}/{@code nn.Dropout3d}). A block gets a
   * dropout layer only when {@code p > 0}.
   *
   * <p>Generic_UNet's default is {@code nn.Dropout2d} even for 3D networks; PyTorch 1.13 applies it to 5-D
   * input as channel dropout, which is what {@code CHANNEL} does in either dimensionality (libtorch's
   * Dropout2d would treat a 5-D input as unbatched instead).
   */
  public record Dropout(Kind kind, double p) {
    public enum Kind {
      NONE,
      DROPOUT,
      CHANNEL
    }

    public Dropout {
      Objects.requireNonNull(kind, "dropout kind");
      if (!(p >= 0 && p <= 1)) {
        throw new IllegalArgumentException("dropout p must be in [0, 1], got " + p);
      }
    }

    /** Generic_UNet's default: {@code nn.Dropout2d(p=0.5)} (channel dropout). */
    public static Dropout channel(double p) {
      return new Dropout(Kind.CHANNEL, p);
    }

    public static Dropout none() {
      return new Dropout(Kind.NONE, 0);
    }

    /** Whether a block gets a dropout layer, as Python decides it. */
    public boolean active() {
      return kind != Kind.NONE && p > 0;
    }
  }

  /** {@code nonlin}: {@code nn.LeakyReLU(negative_slope)} (the default, slope 1e-2) or {@code nn.ReLU}. */
  public record Nonlin(Kind kind, double negativeSlope) {
    public enum Kind {
      LEAKY_RELU,
      RELU
    }

    public Nonlin {
      Objects.requireNonNull(kind, "nonlin kind");
    }

    public static Nonlin leakyRelu(double negativeSlope) {
      return new Nonlin(Kind.LEAKY_RELU, negativeSlope);
    }

    public static Nonlin relu() {
      return new Nonlin(Kind.RELU, 0);
    }
  }

  /** {@code final_nonlin}: {@code softmax_helper} (softmax over channels, the default) or {@code lambda x: x}. */
  public enum FinalNonlin {
    IDENTITY,
    SOFTMAX
  }

  /** {@code basic_block}: conv, dropout, norm, nonlin (the default) or conv, dropout, nonlin, norm. */
  public enum BasicBlock {
    CONV_DROPOUT_NORM_NONLIN,
    CONV_DROPOUT_NONLIN_NORM
  }

  /**
   * {@code weightInitializer}: {@code InitWeights_He(neg_slope)} (kaiming-normal convolution weights with
   * {@code a=neg_slope}, zero biases; the default, slope 1e-2) or {@code None} (PyTorch's own init).
   */
  public record WeightInit(boolean he, double negativeSlope) {
    public static WeightInit he(double negativeSlope) {
      return new WeightInit(true, negativeSlope);
    }

    public static WeightInit pytorchDefault() {
      return new WeightInit(false, 0);
    }
  }

  // ---- construction ----------------------------------------------------------------------------------

  public GenericUNetConfig {
    positive("input_channels", inputChannels);
    positive("base_num_features", baseNumFeatures);
    positive("num_classes", numClasses);
    positive("max_num_features", maxNumFeatures);
    if (numConvPerStage < 1) {
      throw new IllegalArgumentException("num_conv_per_stage must be >= 1, got " + numConvPerStage);
    }
    if (!(featMapMulOnDownscale > 0) || Double.isInfinite(featMapMulOnDownscale)) {
      throw new IllegalArgumentException("feat_map_mul_on_downscale must be > 0, got " + featMapMulOnDownscale);
    }
    if (dims != 2 && dims != 3) {
      throw new IllegalArgumentException("conv_op must be 2- or 3-dimensional, got dims=" + dims);
    }
    Objects.requireNonNull(norm, "norm");
    Objects.requireNonNull(dropout, "dropout");
    Objects.requireNonNull(nonlin, "nonlin");
    Objects.requireNonNull(finalNonlin, "finalNonlin");
    Objects.requireNonNull(weightInit, "weightInit");
    Objects.requireNonNull(basicBlock, "basicBlock");
    poolOpKernelSizes = copyKernels("pool_op_kernel_sizes", poolOpKernelSizes, dims);
    convKernelSizes = copyKernels("conv_kernel_sizes", convKernelSizes, dims);
    if (poolOpKernelSizes.length < 1) {
      throw new IllegalArgumentException("Generic_UNet needs at least one pooling (num_pool >= 1)");
    }
    if (convKernelSizes.length != poolOpKernelSizes.length + 1) {
      throw new IllegalArgumentException("conv_kernel_sizes needs num_pool + 1 = " + (poolOpKernelSizes.length + 1)
          + " kernels (one per stage and the bottleneck), got " + convKernelSizes.length);
    }
    // the features of every stage must stay positive (np.round(f * mul) may reach 0 for small factors)
    long f = baseNumFeatures;
    for (int d = 0; d < poolOpKernelSizes.length; d++) {
      f = nextFeatures(f, featMapMulOnDownscale, maxNumFeatures);
      if (f < 1) {
        throw new IllegalArgumentException("feat_map_mul_on_downscale " + featMapMulOnDownscale + " shrinks the "
            + "features of stage " + (d + 1) + " to " + f);
      }
    }
  }

  /**
   * Generic_UNet's own defaults for {@code Generic_UNet(input_channels, base_num_features, num_classes,
   * num_pool)} with {@code conv_op} of {@code dims} dimensions: two convolutions per stage, features x2,
   * batch norm (eps 1e-5, momentum 0.1, affine), channel dropout p=0.5 (encoder only), LeakyReLU(1e-2),
   * deep supervision, softmax final nonlinearity, He init (1e-2), 2-kernels for pooling and 3-kernels for
   * convolutions, max pooling, linear upsampling, no logit upscaling, at most 320 (3D) or 480 (2D) features,
   * no bias on the segmentation outputs.
   */
  public static GenericUNetConfig defaults(long inputChannels, long baseNumFeatures, long numClasses, int numPool,
      int dims) {
    if (numPool < 1) {
      throw new IllegalArgumentException("num_pool must be >= 1, got " + numPool);
    }
    if (dims != 2 && dims != 3) {
      throw new IllegalArgumentException("conv_op must be 2- or 3-dimensional, got dims=" + dims);
    }
    long[][] pools = new long[numPool][];
    Arrays.setAll(pools, i -> filled(dims, 2));
    long[][] kernels = new long[numPool + 1][];
    Arrays.setAll(kernels, i -> filled(dims, 3));
    return new GenericUNetConfig(inputChannels, baseNumFeatures, numClasses, 2, 2.0, dims, Norm.batchNorm(),
        Dropout.channel(0.5), Nonlin.leakyRelu(1e-2), true, false, FinalNonlin.SOFTMAX, WeightInit.he(1e-2), pools,
        kernels, false, false, false, defaultMaxNumFeatures(dims), BasicBlock.CONV_DROPOUT_NORM_NONLIN, false);
  }

  /** {@link #nnUNet(boolean, long, long)} with the plan's one input channel. */
  public static GenericUNetConfig nnUNet(boolean threeD, long numClasses) {
    return nnUNet(threeD, DEFAULT_NUM_INPUT_CHANNELS, numClasses);
  }

  /**
   * {@code initialize_network(threeD, num_classes)}: {@code default_dict}'s plan (base 16 features, two
   * convolutions per stage, the six pooling and seven convolution kernels above) with instance norm (eps
   * 1e-5, affine), dropout p=0 (so no dropout layers), LeakyReLU(1e-2), <b>no</b> deep supervision, no
   * dropout in the decoder, identity final nonlinearity, He init (1e-2), no logit upscaling, convolutional
   * pooling and convolutional upsampling, {@code max_num_features=None} (320 in 3D, 480 in 2D), the default
   * block and no bias on the segmentation outputs. 3D: about 30.4 M parameters (30,446,256 for 2 classes).
   *
   * <p>{@code inputChannels}: the reference always uses {@code default_dict["num_input_channels"] = 1} and
   * ignores the factories' {@code in_chns}; here it can be chosen.
   *
   * <p>{@code threeD=false}: Python then builds {@code nn.Conv2d}, {@code nn.InstanceNorm2d},
   * {@code nn.Dropout2d} layers but keeps the 3-element kernel lists, so its convolutions get 5-D weights and
   * the network cannot run on any input (conv2d refuses the 3-element strides and paddings). This port takes
   * the in-plane (last two) sizes of every kernel instead: 3x3 convolutions and six 2x2 poolings (inputs
   * multiples of 64), a working 2D network (18,687,696 parameters for 4 classes, checked against PyTorch).
   */
  public static GenericUNetConfig nnUNet(boolean threeD, long inputChannels, long numClasses) {
    int dims = threeD ? 3 : 2;
    return new GenericUNetConfig(inputChannels, DEFAULT_BASE_NUM_FEATURES, numClasses, DEFAULT_CONV_PER_STAGE, 2.0,
        dims, Norm.instanceNorm(true), new Dropout(Dropout.Kind.CHANNEL, 0), Nonlin.leakyRelu(1e-2), false, false,
        FinalNonlin.IDENTITY, WeightInit.he(1e-2), lastAxes(DEFAULT_POOL_OP_KERNEL_SIZES, dims),
        lastAxes(DEFAULT_CONV_KERNEL_SIZES, dims), false, true, true, defaultMaxNumFeatures(dims),
        BasicBlock.CONV_DROPOUT_NORM_NONLIN, false);
  }

  /** {@code max_num_features=None}: 320 for 3D, 480 for 2D. */
  public static long defaultMaxNumFeatures(int dims) {
    return dims == 3 ? MAX_NUM_FILTERS_3D : MAX_FILTERS_2D;
  }

  /** {@code num_pool}. */
  public int numPool() {
    return poolOpKernelSizes.length;
  }

  @Override
  public long[][] poolOpKernelSizes() {
    return deepCopy(poolOpKernelSizes);
  }

  @Override
  public long[][] convKernelSizes() {
    return deepCopy(convKernelSizes);
  }

  /**
   * {@code input_shape_must_be_divisible_by}: per spatial axis, the product of the pooling kernels; every
   * input size must be a multiple of it for the skip connections to line up.
   */
  public long[] inputShapeMustBeDivisibleBy() {
    long[] p = filled(dims, 1);
    for (long[] k : poolOpKernelSizes) {
      for (int i = 0; i < dims; i++) {
        p[i] *= k[i];
      }
    }
    return p;
  }

  /** The output channels of the encoder stages and then of the bottleneck's first convolutions. */
  long[] stageFeatures() {
    long[] f = new long[numPool() + 1];
    f[0] = baseNumFeatures;
    for (int d = 1; d <= numPool(); d++) {
      f[d] = nextFeatures(f[d - 1], featMapMulOnDownscale, maxNumFeatures);
    }
    return f;
  }

  /** {@code min(int(np.round(f * mul)), max)}: numpy rounds halves to even, as {@link Math#rint} does. */
  static long nextFeatures(long features, double mul, long max) {
    return Math.min((long) Math.rint(features * mul), max);
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  /** A copy of a configuration with some arguments changed; see {@link #toBuilder()}. */
  public static final class Builder {
    private long inputChannels;
    private long baseNumFeatures;
    private long numClasses;
    private int numConvPerStage;
    private double featMapMulOnDownscale;
    private int dims;
    private Norm norm;
    private Dropout dropout;
    private Nonlin nonlin;
    private boolean deepSupervision;
    private boolean dropoutInLocalization;
    private FinalNonlin finalNonlin;
    private WeightInit weightInit;
    private long[][] poolOpKernelSizes;
    private long[][] convKernelSizes;
    private boolean upscaleLogits;
    private boolean convolutionalPooling;
    private boolean convolutionalUpsampling;
    private long maxNumFeatures;
    private BasicBlock basicBlock;
    private boolean segOutputUseBias;

    private Builder(GenericUNetConfig c) {
      inputChannels = c.inputChannels;
      baseNumFeatures = c.baseNumFeatures;
      numClasses = c.numClasses;
      numConvPerStage = c.numConvPerStage;
      featMapMulOnDownscale = c.featMapMulOnDownscale;
      dims = c.dims;
      norm = c.norm;
      dropout = c.dropout;
      nonlin = c.nonlin;
      deepSupervision = c.deepSupervision;
      dropoutInLocalization = c.dropoutInLocalization;
      finalNonlin = c.finalNonlin;
      weightInit = c.weightInit;
      poolOpKernelSizes = c.poolOpKernelSizes;
      convKernelSizes = c.convKernelSizes;
      upscaleLogits = c.upscaleLogits;
      convolutionalPooling = c.convolutionalPooling;
      convolutionalUpsampling = c.convolutionalUpsampling;
      maxNumFeatures = c.maxNumFeatures;
      basicBlock = c.basicBlock;
      segOutputUseBias = c.segOutputUseBias;
    }

    public Builder inputChannels(long v) {
      inputChannels = v;
      return this;
    }

    public Builder baseNumFeatures(long v) {
      baseNumFeatures = v;
      return this;
    }

    public Builder numClasses(long v) {
      numClasses = v;
      return this;
    }

    public Builder numConvPerStage(int v) {
      numConvPerStage = v;
      return this;
    }

    public Builder featMapMulOnDownscale(double v) {
      featMapMulOnDownscale = v;
      return this;
    }

    /**
     * {@code conv_op}'s dimensionality. Kernel lists of the other dimensionality must be replaced too
     * ({@link #kernels}), and {@link #maxNumFeatures} keeps its value.
     */
    public Builder dims(int v) {
      dims = v;
      return this;
    }

    public Builder norm(Norm v) {
      norm = v;
      return this;
    }

    public Builder dropout(Dropout v) {
      dropout = v;
      return this;
    }

    public Builder nonlin(Nonlin v) {
      nonlin = v;
      return this;
    }

    public Builder deepSupervision(boolean v) {
      deepSupervision = v;
      return this;
    }

    public Builder dropoutInLocalization(boolean v) {
      dropoutInLocalization = v;
      return this;
    }

    public Builder finalNonlin(FinalNonlin v) {
      finalNonlin = v;
      return this;
    }

    public Builder weightInit(WeightInit v) {
      weightInit = v;
      return this;
    }

    /** {@code pool_op_kernel_sizes} ({@code num_pool} kernels) and {@code conv_kernel_sizes} (one more). */
    public Builder kernels(long[][] poolOpKernelSizes, long[][] convKernelSizes) {
      this.poolOpKernelSizes = poolOpKernelSizes;
      this.convKernelSizes = convKernelSizes;
      return this;
    }

    public Builder upscaleLogits(boolean v) {
      upscaleLogits = v;
      return this;
    }

    public Builder convolutionalPooling(boolean v) {
      convolutionalPooling = v;
      return this;
    }

    public Builder convolutionalUpsampling(boolean v) {
      convolutionalUpsampling = v;
      return this;
    }

    public Builder maxNumFeatures(long v) {
      maxNumFeatures = v;
      return this;
    }

    public Builder basicBlock(BasicBlock v) {
      basicBlock = v;
      return this;
    }

    public Builder segOutputUseBias(boolean v) {
      segOutputUseBias = v;
      return this;
    }

    public GenericUNetConfig build() {
      return new GenericUNetConfig(inputChannels, baseNumFeatures, numClasses, numConvPerStage, featMapMulOnDownscale,
          dims, norm, dropout, nonlin, deepSupervision, dropoutInLocalization, finalNonlin, weightInit,
          poolOpKernelSizes, convKernelSizes, upscaleLogits, convolutionalPooling, convolutionalUpsampling,
          maxNumFeatures, basicBlock, segOutputUseBias);
    }
  }

  // ---- value semantics for the array components ------------------------------------------------------

  @Override
  public boolean equals(Object o) {
    return o instanceof GenericUNetConfig c
        && inputChannels == c.inputChannels
        && baseNumFeatures == c.baseNumFeatures
        && numClasses == c.numClasses
        && numConvPerStage == c.numConvPerStage
        && Double.compare(featMapMulOnDownscale, c.featMapMulOnDownscale) == 0
        && dims == c.dims
        && norm.equals(c.norm)
        && dropout.equals(c.dropout)
        && nonlin.equals(c.nonlin)
        && deepSupervision == c.deepSupervision
        && dropoutInLocalization == c.dropoutInLocalization
        && finalNonlin == c.finalNonlin
        && weightInit.equals(c.weightInit)
        && Arrays.deepEquals(poolOpKernelSizes, c.poolOpKernelSizes)
        && Arrays.deepEquals(convKernelSizes, c.convKernelSizes)
        && upscaleLogits == c.upscaleLogits
        && convolutionalPooling == c.convolutionalPooling
        && convolutionalUpsampling == c.convolutionalUpsampling
        && maxNumFeatures == c.maxNumFeatures
        && basicBlock == c.basicBlock
        && segOutputUseBias == c.segOutputUseBias;
  }

  @Override
  public int hashCode() {
    return Objects.hash(inputChannels, baseNumFeatures, numClasses, numConvPerStage, featMapMulOnDownscale, dims, norm,
        dropout, nonlin, deepSupervision, dropoutInLocalization, finalNonlin, weightInit,
        Arrays.deepHashCode(poolOpKernelSizes), Arrays.deepHashCode(convKernelSizes), upscaleLogits,
        convolutionalPooling, convolutionalUpsampling, maxNumFeatures, basicBlock, segOutputUseBias);
  }

  @Override
  public String toString() {
    return "GenericUNetConfig[input_channels=" + inputChannels + ", base_num_features=" + baseNumFeatures
        + ", num_classes=" + numClasses + ", num_conv_per_stage=" + numConvPerStage + ", feat_map_mul_on_downscale="
        + featMapMulOnDownscale + ", dims=" + dims + ", norm=" + norm + ", dropout=" + dropout + ", nonlin=" + nonlin
        + ", deep_supervision=" + deepSupervision + ", dropout_in_localization=" + dropoutInLocalization
        + ", final_nonlin=" + finalNonlin + ", weight_init=" + weightInit + ", pool_op_kernel_sizes="
        + Arrays.deepToString(poolOpKernelSizes) + ", conv_kernel_sizes=" + Arrays.deepToString(convKernelSizes)
        + ", upscale_logits=" + upscaleLogits + ", convolutional_pooling=" + convolutionalPooling
        + ", convolutional_upsampling=" + convolutionalUpsampling + ", max_num_features=" + maxNumFeatures
        + ", basic_block=" + basicBlock + ", seg_output_use_bias=" + segOutputUseBias + "]";
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  private static long[][] copyKernels(String what, long[][] kernels, int dims) {
    Objects.requireNonNull(kernels, what);
    long[][] copy = new long[kernels.length][];
    for (int i = 0; i < kernels.length; i++) {
      long[] k = Objects.requireNonNull(kernels[i], () -> what + " entry");
      if (k.length != dims) {
        throw new IllegalArgumentException(what + "[" + i + "] = " + Arrays.toString(k) + " must have " + dims
            + " sizes for a " + dims + "D network");
      }
      for (long s : k) {
        if (s < 1) {
          throw new IllegalArgumentException(what + "[" + i + "] = " + Arrays.toString(k) + " has a size below 1");
        }
      }
      copy[i] = k.clone();
    }
    return copy;
  }

  private static long[][] deepCopy(long[][] a) {
    long[][] c = new long[a.length][];
    Arrays.setAll(c, i -> a[i].clone());
    return c;
  }

  /** The last {@code dims} sizes of each kernel: the plan itself in 3D, its in-plane part in 2D. */
  private static long[][] lastAxes(long[][] kernels, int dims) {
    long[][] c = new long[kernels.length][];
    Arrays.setAll(c, i -> Arrays.copyOfRange(kernels[i], kernels[i].length - dims, kernels[i].length));
    return c;
  }

  private static long[] filled(int n, long v) {
    long[] a = new long[n];
    Arrays.fill(a, v);
    return a;
  }

  private static void positive(String what, long v) {
    if (v < 1) {
      throw new IllegalArgumentException(what + " must be >= 1, got " + v);
    }
  }
}
