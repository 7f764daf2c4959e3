package org.ssl4mis.nn;

import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.Module;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * Builders for the standard layers, with PyTorch's default arguments, so that network code reads like the
 * Python it mirrors:
 *
 * <pre>{@code
 * nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)   # Python
 * Nn.conv2d(inChannels, outChannels, 3).padding(1).build()        // Java
 * }</pre>
 *
 * <p>Sizes given as one number expand to every spatial dimension, as in Python. Each builder returns the
 * libtorch module itself (registered parameters {@code weight}, {@code bias}, ... as in Python); wrap it in
 * {@link Layers#of} or put it in a {@link Sequential} to call it generically.
 */
public final class Nn {
  static {
    NativeRuntime.init();
  }

  private Nn() {}

  // ---- convolutions ----------------------------------------------------------------------------------

  public static ConvBuilder<Conv1dImpl> conv1d(long in, long out, long... kernel) {
    return new ConvBuilder<>(1, in, out, kernel);
  }

  public static ConvBuilder<Conv2dImpl> conv2d(long in, long out, long... kernel) {
    return new ConvBuilder<>(2, in, out, kernel);
  }

  public static ConvBuilder<Conv3dImpl> conv3d(long in, long out, long... kernel) {
    return new ConvBuilder<>(3, in, out, kernel);
  }

  public static ConvTransposeBuilder<ConvTranspose2dImpl> convTranspose2d(long in, long out, long... kernel) {
    return new ConvTransposeBuilder<>(2, in, out, kernel);
  }

  public static ConvTransposeBuilder<ConvTranspose3dImpl> convTranspose3d(long in, long out, long... kernel) {
    return new ConvTransposeBuilder<>(3, in, out, kernel);
  }

  /** {@code nn.Conv*d}: stride 1, padding 0, dilation 1, groups 1, bias true, padding mode zeros. */
  public static final class ConvBuilder<M extends Module> {
    private final int dims;
    private final long in;
    private final long out;
    private final long[] kernel;
    private long[] stride;
    private long[] padding;
    private String paddingKeyword;
    private long[] dilation;
    private long groups = 1;
    private boolean bias = true;
    private String paddingMode = "zeros";

    ConvBuilder(int dims, long in, long out, long[] kernel) {
      this.dims = dims;
      this.in = positive("in_channels", in);
      this.out = positive("out_channels", out);
      this.kernel = expand("kernel_size", dims, kernel);
      this.stride = expand("stride", dims, 1);
      this.padding = expandNonNegative("padding", dims, 0);
      this.dilation = expand("dilation", dims, 1);
    }

    public ConvBuilder<M> stride(long... s) {
      stride = expand("stride", dims, s);
      return this;
    }

    public ConvBuilder<M> padding(long... p) {
      padding = expandNonNegative("padding", dims, p);
      paddingKeyword = null;
      return this;
    }

    /** {@code padding='same'} or {@code padding='valid'}. */
    public ConvBuilder<M> padding(String keyword) {
      String k = keyword.toLowerCase(Locale.ROOT);
      if (!k.equals("same") && !k.equals("valid")) {
        throw new IllegalArgumentException("padding '" + keyword + "' is not 'same' or 'valid'");
      }
      paddingKeyword = k;
      return this;
    }

    public ConvBuilder<M> dilation(long... d) {
      dilation = expand("dilation", dims, d);
      return this;
    }

    public ConvBuilder<M> groups(long g) {
      groups = positive("groups", g);
      return this;
    }

    public ConvBuilder<M> bias(boolean b) {
      bias = b;
      return this;
    }

    /** {@code zeros}, {@code reflect}, {@code replicate} or {@code circular}. */
    public ConvBuilder<M> paddingMode(String mode) {
      paddingMode = mode.toLowerCase(Locale.ROOT);
      convPaddingMode(paddingMode); // validates
      return this;
    }

    @SuppressWarnings("unchecked")
    public M build() {
      if (in % groups != 0 || out % groups != 0) {
        throw new IllegalArgumentException("in_channels " + in + " and out_channels " + out
            + " must be divisible by groups " + groups);
      }
      return (M) switch (dims) {
        case 1 -> {
          var o = new Conv1dOptions(in, out, new LongPointer(kernel));
          o.stride().put(stride);
          o.dilation().put(dilation);
          o.groups().put(groups);
          o.bias().put(bias);
          o.padding_mode().put(convPaddingMode(paddingMode));
          setPadding(o.padding());
          yield new Conv1dImpl(o);
        }
        case 2 -> {
          var o = new Conv2dOptions(in, out, new LongPointer(kernel));
          o.stride().put(stride);
          o.dilation().put(dilation);
          o.groups().put(groups);
          o.bias().put(bias);
          o.padding_mode().put(convPaddingMode(paddingMode));
          setPadding(o.padding());
          yield new Conv2dImpl(o);
        }
        case 3 -> {
          var o = new Conv3dOptions(in, out, new LongPointer(kernel));
          o.stride().put(stride);
          o.dilation().put(dilation);
          o.groups().put(groups);
          o.bias().put(bias);
          o.padding_mode().put(convPaddingMode(paddingMode));
          setPadding(o.padding());
          yield new Conv3dImpl(o);
        }
        default -> throw new IllegalStateException("dims " + dims);
      };
    }

    private void setPadding(Conv1dPadding p) {
      if ("same".equals(paddingKeyword)) {
        p.put(new kSame());
      } else if ("valid".equals(paddingKeyword)) {
        p.put(new kValid());
      } else {
        p.put(new LongPointer(padding));
      }
    }

    private void setPadding(Conv2dPadding p) {
      if ("same".equals(paddingKeyword)) {
        p.put(new kSame());
      } else if ("valid".equals(paddingKeyword)) {
        p.put(new kValid());
      } else {
        p.put(new LongPointer(padding));
      }
    }

    private void setPadding(Conv3dPadding p) {
      if ("same".equals(paddingKeyword)) {
        p.put(new kSame());
      } else if ("valid".equals(paddingKeyword)) {
        p.put(new kValid());
      } else {
        p.put(new LongPointer(padding));
      }
    }
  }

  /** {@code nn.ConvTranspose*d}: stride 1, padding 0, output_padding 0, groups 1, bias true, dilation 1. */
  public static final class ConvTransposeBuilder<M extends Module> {
    private final int dims;
    private final long in;
    private final long out;
    private final long[] kernel;
    private long[] stride;
    private long[] padding;
    private long[] outputPadding;
    private long[] dilation;
    private long groups = 1;
    private boolean bias = true;

    ConvTransposeBuilder(int dims, long in, long out, long[] kernel) {
      this.dims = dims;
      this.in = positive("in_channels", in);
      this.out = positive("out_channels", out);
      this.kernel = expand("kernel_size", dims, kernel);
      this.stride = expand("stride", dims, 1);
      this.padding = expandNonNegative("padding", dims, 0);
      this.outputPadding = expandNonNegative("output_padding", dims, 0);
      this.dilation = expand("dilation", dims, 1);
    }

    public ConvTransposeBuilder<M> stride(long... s) {
      stride = expand("stride", dims, s);
      return this;
    }

    public ConvTransposeBuilder<M> padding(long... p) {
      padding = expandNonNegative("padding", dims, p);
      return this;
    }

    public ConvTransposeBuilder<M> outputPadding(long... p) {
      outputPadding = expandNonNegative("output_padding", dims, p);
      return this;
    }

    public ConvTransposeBuilder<M> dilation(long... d) {
      dilation = expand("dilation", dims, d);
      return this;
    }

    public ConvTransposeBuilder<M> groups(long g) {
      groups = positive("groups", g);
      return this;
    }

    public ConvTransposeBuilder<M> bias(boolean b) {
      bias = b;
      return this;
    }

    @SuppressWarnings("unchecked")
    public M build() {
      return (M) switch (dims) {
        case 2 -> {
          var o = new ConvTranspose2dOptions(in, out, new LongPointer(kernel));
          o.stride().put(stride);
          o.padding().put(padding);
          o.output_padding().put(outputPadding);
          o.dilation().put(dilation);
          o.groups().put(groups);
          o.bias().put(bias);
          yield new ConvTranspose2dImpl(o);
        }
        case 3 -> {
          var o = new ConvTranspose3dOptions(in, out, new LongPointer(kernel));
          o.stride().put(stride);
          o.padding().put(padding);
          o.output_padding().put(outputPadding);
          o.dilation().put(dilation);
          o.groups().put(groups);
          o.bias().put(bias);
          yield new ConvTranspose3dImpl(o);
        }
        default -> throw new IllegalStateException("dims " + dims);
      };
    }
  }

  // ---- normalisation ---------------------------------------------------------------------------------

  public static NormBuilder<BatchNorm1dImpl> batchNorm1d(long features) {
    return new NormBuilder<>(NormKind.BATCH, 1, features);
  }

  public static NormBuilder<BatchNorm2dImpl> batchNorm2d(long features) {
    return new NormBuilder<>(NormKind.BATCH, 2, features);
  }

  public static NormBuilder<BatchNorm3dImpl> batchNorm3d(long features) {
    return new NormBuilder<>(NormKind.BATCH, 3, features);
  }

  public static NormBuilder<InstanceNorm2dImpl> instanceNorm2d(long features) {
    return new NormBuilder<>(NormKind.INSTANCE, 2, features);
  }

  public static NormBuilder<InstanceNorm3dImpl> instanceNorm3d(long features) {
    return new NormBuilder<>(NormKind.INSTANCE, 3, features);
  }

  /** {@code nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)}. */
  public static GroupNormImpl groupNorm(long groups, long channels) {
    positive("num_groups", groups);
    positive("num_channels", channels);
    if (channels % groups != 0) {
      throw new IllegalArgumentException("num_channels " + channels + " must be divisible by num_groups " + groups);
    }
    return new GroupNormImpl(new GroupNormOptions(groups, channels));
  }

  /**
   * {@code nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True)} over the last
   * {@code normalizedShape.length} dimensions (parameters {@code weight} and {@code bias}).
   */
  public static LayerNormImpl layerNorm(long... normalizedShape) {
    return layerNorm(1e-5, true, normalizedShape);
  }

  /** {@code nn.LayerNorm(normalized_shape, eps, elementwise_affine)}. */
  public static LayerNormImpl layerNorm(double eps, boolean elementwiseAffine, long... normalizedShape) {
    if (normalizedShape == null || normalizedShape.length == 0) {
      throw new IllegalArgumentException("normalized_shape needs at least one dimension");
    }
    for (long d : normalizedShape) {
      positive("normalized_shape", d);
    }
    if (!(eps > 0)) {
      throw new IllegalArgumentException("eps must be > 0, got " + eps);
    }
    var o = new LayerNormOptions(new LongVector(normalizedShape));
    o.eps().put(eps);
    o.elementwise_affine().put(elementwiseAffine);
    return new LayerNormImpl(o);
  }

  enum NormKind {
    BATCH,
    INSTANCE
  }

  /**
   * {@code nn.BatchNorm*d} (eps 1e-5, momentum 0.1, affine true, track_running_stats true) and
   * {@code nn.InstanceNorm*d} (eps 1e-5, momentum 0.1, affine false, track_running_stats false).
   */
  public static final class NormBuilder<M extends Module> {
    private final NormKind kind;
    private final int dims;
    private final long features;
    private double eps = 1e-5;
    private double momentum = 0.1;
    private boolean affine;
    private boolean trackRunningStats;

    NormBuilder(NormKind kind, int dims, long features) {
      this.kind = kind;
      this.dims = dims;
      this.features = positive("num_features", features);
      this.affine = kind == NormKind.BATCH;
      this.trackRunningStats = kind == NormKind.BATCH;
    }

    public NormBuilder<M> eps(double e) {
      if (!(e > 0)) {
        throw new IllegalArgumentException("eps must be > 0, got " + e);
      }
      eps = e;
      return this;
    }

    public NormBuilder<M> momentum(double m) {
      if (!(m >= 0 && m <= 1)) {
        throw new IllegalArgumentException("momentum must be in [0, 1], got " + m);
      }
      momentum = m;
      return this;
    }

    public NormBuilder<M> affine(boolean a) {
      affine = a;
      return this;
    }

    public NormBuilder<M> trackRunningStats(boolean t) {
      trackRunningStats = t;
      return this;
    }

    @SuppressWarnings("unchecked")
    public M build() {
      if (kind == NormKind.BATCH) {
        var o = new BatchNormOptions(features);
        o.eps().put(eps);
        o.momentum().put(momentum);
        o.affine().put(affine);
        o.track_running_stats().put(trackRunningStats);
        return (M) switch (dims) {
          case 1 -> new BatchNorm1dImpl(o);
          case 2 -> new BatchNorm2dImpl(o);
          case 3 -> new BatchNorm3dImpl(o);
          default -> throw new IllegalStateException("dims " + dims);
        };
      }
      var o = new InstanceNormOptions(features);
      o.eps().put(eps);
      o.momentum().put(momentum);
      o.affine().put(affine);
      o.track_running_stats().put(trackRunningStats);
      return (M) switch (dims) {
        case 2 -> new InstanceNorm2dImpl(o);
        case 3 -> new InstanceNorm3dImpl(o);
        default -> throw new IllegalStateException("dims " + dims);
      };
    }
  }

  // ---- dropout ---------------------------------------------------------------------------------------

  /** {@code nn.Dropout(p)}: zeroes single elements with probability p in training mode. */
  public static DropoutImpl dropout(double p) {
    return new DropoutImpl(new DropoutOptions(probability(p)));
  }

  /** {@code nn.Dropout2d(p)}: zeroes whole channels. */
  public static Dropout2dImpl dropout2d(double p) {
    return new Dropout2dImpl(new DropoutOptions(probability(p)));
  }

  /** {@code nn.Dropout3d(p)}: zeroes whole channels. */
  public static Dropout3dImpl dropout3d(double p) {
    return new Dropout3dImpl(new DropoutOptions(probability(p)));
  }

  // ---- pooling and resampling ------------------------------------------------------------------------

  public static PoolBuilder<MaxPool2dImpl> maxPool2d(long... kernel) {
    return new PoolBuilder<>(true, 2, kernel);
  }

  public static PoolBuilder<MaxPool3dImpl> maxPool3d(long... kernel) {
    return new PoolBuilder<>(true, 3, kernel);
  }

  public static PoolBuilder<AvgPool2dImpl> avgPool2d(long... kernel) {
    return new PoolBuilder<>(false, 2, kernel);
  }

  public static PoolBuilder<AvgPool3dImpl> avgPool3d(long... kernel) {
    return new PoolBuilder<>(false, 3, kernel);
  }

  /** {@code nn.MaxPool*d} / {@code nn.AvgPool*d}: stride = kernel size, padding 0, ceil_mode false. */
  public static final class PoolBuilder<M extends Module> {
    private final boolean max;
    private final int dims;
    private final long[] kernel;
    private long[] stride;
    private long[] padding;
    private boolean ceilMode;

    PoolBuilder(boolean max, int dims, long[] kernel) {
      this.max = max;
      this.dims = dims;
      this.kernel = expand("kernel_size", dims, kernel);
      this.stride = this.kernel.clone();
      this.padding = expandNonNegative("padding", dims, 0);
    }

    public PoolBuilder<M> stride(long... s) {
      stride = expand("stride", dims, s);
      return this;
    }

    public PoolBuilder<M> padding(long... p) {
      padding = expandNonNegative("padding", dims, p);
      return this;
    }

    public PoolBuilder<M> ceilMode(boolean c) {
      ceilMode = c;
      return this;
    }

    @SuppressWarnings("unchecked")
    public M build() {
      if (max) {
        if (dims == 2) {
          var o = new MaxPool2dOptions(new LongPointer(kernel));
          o.stride().put(stride);
          o.padding().put(padding);
          o.ceil_mode().put(ceilMode);
          return (M) new MaxPool2dImpl(o);
        }
        var o = new MaxPool3dOptions(new LongPointer(kernel));
        o.stride().put(stride);
        o.padding().put(padding);
        o.ceil_mode().put(ceilMode);
        return (M) new MaxPool3dImpl(o);
      }
      if (dims == 2) {
        var o = new AvgPool2dOptions(new LongPointer(kernel));
        o.stride().put(stride);
        o.padding().put(padding);
        o.ceil_mode().put(ceilMode);
        return (M) new AvgPool2dImpl(o);
      }
      var o = new AvgPool3dOptions(new LongPointer(kernel));
      o.stride().put(stride);
      o.padding().put(padding);
      o.ceil_mode().put(ceilMode);
      return (M) new AvgPool3dImpl(o);
    }
  }

  /**
   * {@code nn.MaxUnpool2d(kernel_size)}: stride = kernel size, padding 0. It takes two tensors (values and
   * the indices of a {@code MaxPool2dImpl.forward_with_indices}), so call its {@code forward} directly
   * rather than through {@link Layers#of}.
   */
  public static UnpoolBuilder maxUnpool2d(long... kernel) {
    return new UnpoolBuilder(kernel);
  }

  /** {@code nn.MaxUnpool2d}: stride = kernel size, padding 0. */
  public static final class UnpoolBuilder {
    private final long[] kernel;
    private long[] stride;
    private long[] padding;

    UnpoolBuilder(long[] kernel) {
      this.kernel = expand("kernel_size", 2, kernel);
      this.stride = this.kernel.clone();
      this.padding = expandNonNegative("padding", 2, 0);
    }

    public UnpoolBuilder stride(long... s) {
      stride = expand("stride", 2, s);
      return this;
    }

    public UnpoolBuilder padding(long... p) {
      padding = expandNonNegative("padding", 2, p);
      return this;
    }

    public MaxUnpool2dImpl build() {
      var o = new MaxUnpool2dOptions(new LongPointer(kernel));
      o.stride().put(stride);
      o.padding().put(padding);
      return new MaxUnpool2dImpl(o);
    }
  }

  /**
   * {@code nn.Upsample(scale_factor=scale, mode=mode, align_corners=alignCorners)} for 4-D (N, C, H, W)
   * inputs; mode is one of {@code nearest}, {@code bilinear}, {@code bicubic}; a null
   * {@code alignCorners} leaves it unset, as Python's default {@code None}.
   */
  public static UpsampleImpl upsample2d(double scale, String mode, Boolean alignCorners) {
    return upsample(2, scale, mode, alignCorners);
  }

  /** {@code nn.Upsample} for 5-D (N, C, D, H, W) inputs; mode {@code nearest} or {@code trilinear}. */
  public static UpsampleImpl upsample3d(double scale, String mode, Boolean alignCorners) {
    return upsample(3, scale, mode, alignCorners);
  }

  private static UpsampleImpl upsample(int dims, double scale, String mode, Boolean alignCorners) {
    if (!(scale > 0)) {
      throw new IllegalArgumentException("scale_factor must be > 0, got " + scale);
    }
    var o = new UpsampleOptions();
    // libtorch wants one factor per spatial dimension where Python broadcasts a single number.
    double[] factors = new double[dims];
    Arrays.fill(factors, scale);
    o.scale_factor().put(new DoubleVector(factors));
    o.mode().put(upsampleMode(mode));
    if (alignCorners != null) {
      if (mode.equalsIgnoreCase("nearest")) {
        throw new IllegalArgumentException("align_corners is only for the linear modes, not 'nearest'");
      }
      o.align_corners().put(alignCorners);
    }
    return new UpsampleImpl(o);
  }

  // ---- activations and linear ------------------------------------------------------------------------

  public static ReLUImpl relu() {
    return new ReLUImpl();
  }

  /** {@code nn.LeakyReLU(negative_slope)} (Python's default slope is 0.01). */
  public static LeakyReLUImpl leakyRelu(double negativeSlope) {
    var o = new LeakyReLUOptions();
    o.negative_slope().put(negativeSlope);
    return new LeakyReLUImpl(o);
  }

  /** {@code nn.PReLU(num_parameters=1, init=0.25)}. */
  public static PReLUImpl prelu(long numParameters, double init) {
    var o = new PReLUOptions();
    o.num_parameters().put(positive("num_parameters", numParameters));
    o.init().put(init);
    return new PReLUImpl(o);
  }

  /** {@code nn.ELU(alpha=1.0)}. */
  public static ELUImpl elu(double alpha) {
    var o = new ELUOptions();
    o.alpha().put(alpha);
    return new ELUImpl(o);
  }

  /** {@code nn.GELU()}: the exact (erf) form, {@code approximate='none'}. */
  public static GELUImpl gelu() {
    return new GELUImpl();
  }

  /** {@code nn.GELU(approximate)}: {@code none} or {@code tanh}. */
  public static GELUImpl gelu(String approximate) {
    String a = approximate.toLowerCase(Locale.ROOT);
    if (!a.equals("none") && !a.equals("tanh")) {
      throw new IllegalArgumentException("GELU approximate '" + approximate + "' is not 'none' or 'tanh'");
    }
    return new GELUImpl(new GELUOptions().approximate(a));
  }

  public static SigmoidImpl sigmoid() {
    return new SigmoidImpl();
  }

  public static TanhImpl tanh() {
    return new TanhImpl();
  }

  public static SoftmaxImpl softmax(long dim) {
    return new SoftmaxImpl(new SoftmaxOptions(dim));
  }

  public static IdentityImpl identity() {
    return new IdentityImpl();
  }

  /** {@code nn.Linear(in_features, out_features, bias)}. */
  public static LinearImpl linear(long in, long out, boolean bias) {
    var o = new LinearOptions(positive("in_features", in), positive("out_features", out));
    o.bias().put(bias);
    return new LinearImpl(o);
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  static long[] expand(String what, int dims, long... values) {
    long[] v = expandNonNegative(what, dims, values);
    for (long x : v) {
      if (x < 1) {
        throw new IllegalArgumentException(what + " must be >= 1, got " + Arrays.toString(values));
      }
    }
    return v;
  }

  static long[] expandNonNegative(String what, int dims, long... values) {
    if (values == null || (values.length != 1 && values.length != dims)) {
      throw new IllegalArgumentException(what + " takes 1 or " + dims + " values, got "
          + (values == null ? "none" : Arrays.toString(values)));
    }
    long[] v = values.length == 1 ? filled(dims, values[0]) : values.clone();
    for (long x : v) {
      if (x < 0) {
        throw new IllegalArgumentException(what + " must be >= 0, got " + Arrays.toString(values));
      }
    }
    return v;
  }

  private static long[] filled(int n, long v) {
    long[] a = new long[n];
    Arrays.fill(a, v);
    return a;
  }

  static long positive(String what, long v) {
    if (v < 1) {
      throw new IllegalArgumentException(what + " must be >= 1, got " + v);
    }
    return v;
  }

  static double probability(double p) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
    }
    return p;
  }

  static ConvPaddingMode convPaddingMode(String mode) {
    return switch (mode.toLowerCase(Locale.ROOT)) {
      case "zeros" -> new ConvPaddingMode(new kZeros());
      case "reflect" -> new ConvPaddingMode(new kReflect());
      case "replicate" -> new ConvPaddingMode(new kReplicate());
      case "circular" -> new ConvPaddingMode(new kCircular());
      default -> throw new IllegalArgumentException("padding_mode '" + mode
          + "' is not one of zeros, reflect, replicate, circular");
    };
  }

  static UpsampleMode upsampleMode(String mode) {
    return switch (mode.toLowerCase(Locale.ROOT)) {
      case "nearest" -> new UpsampleMode(new kNearest());
      case "linear" -> new UpsampleMode(new kLinear());
      case "bilinear" -> new UpsampleMode(new kBilinear());
      case "bicubic" -> new UpsampleMode(new kBicubic());
      case "trilinear" -> new UpsampleMode(new kTrilinear());
      default -> throw new IllegalArgumentException("upsample mode '" + mode
          + "' is not one of nearest, linear, bilinear, bicubic, trilinear");
    };
  }
}
