package org.ssl4mis.networks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.networks.GenericUNetBlocks.Ops;
import org.ssl4mis.networks.GenericUNetBlocks.StackedConvLayers;
import org.ssl4mis.networks.GenericUNetBlocks.Upsample;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Layers;
import org.ssl4mis.nn.ModuleList;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;

/**
 * SSL4MIS's {@code nnUNet} network: nnU-Net's {@code Generic_UNet} (Isensee et al., "nnU-Net: a
 * self-configuring method for deep learning-based biomedical image segmentation", Nature Methods 2021) as in
 * {@code networks/nnunet.py}, for any {@link GenericUNetConfig}; {@link #nnUNet(boolean, long)} is the
 * reference's {@code initialize_network(threeD, num_classes)}, which both of its factories call for
 * {@code net_type="nnUNet"} (always 3D, one input channel).
 *
 * <p>Members, in the reference's registration order (which is the state-dict order):
 * <ul>
 *   <li>{@code conv_blocks_localization}: per decoder stage, coarse to fine, a Sequential of two
 *       {@link StackedConvLayers} ({@code max(1, n-1)} convolutions from the concatenation's {@code 2 * skip}
 *       channels to {@code skip}, then one more to the stage's output); decoder stage {@code u} takes
 *       {@code conv_kernel_sizes[-(u + 1)]}, so the stage at encoder stage {@code d}'s resolution uses kernel
 *       {@code d + 1} (the reference's indexing, kept);
 *   <li>{@code conv_blocks_context}: the {@code num_pool} encoder stages ({@link StackedConvLayers}), then the
 *       bottleneck, a Sequential of two {@link StackedConvLayers} like a decoder stage's;
 *   <li>{@code td}: the max poolings (empty with convolutional pooling, where each stage but the first
 *       starts with a convolution strided by the previous pooling kernel, and the bottleneck by the last);
 *   <li>{@code tu}: per decoder stage, a transposed convolution (kernel = stride = pooling kernel, no bias)
 *       with convolutional upsampling, else a parameter-free linear {@link Upsample};
 *   <li>{@code seg_outputs}: per decoder stage, a 1x1(x1) convolution to {@code num_classes};
 *   <li>{@code upscale_logits_ops} (only with {@code upscale_logits}): {@link Upsample}s bringing the
 *       coarser outputs to the input size; without it, identities that Python does not register either.
 * </ul>
 *
 * <p>Forward, as the reference's: every decoder stage's segmentation output goes through the final
 * nonlinearity (identity for nnUNet, channel softmax by default). With {@code deep_supervision} and
 * {@link #doDs()} both set, {@link #forward} returns all {@code num_pool} outputs, the reference's tuple
 * {@code (seg_outputs[-1], up_k(seg_outputs[-2]), ..., up_0(seg_outputs[0]))}: full resolution first, then
 * ever coarser (each upscaled to the input size when {@code upscale_logits}); otherwise only the
 * full-resolution output. Training or evaluation mode does not change this (Python's {@code do_ds} flag
 * does, see {@link #setDoDs}); the nnUNet plan has no deep supervision, so its forward gives one output.
 *
 * <p>Inputs are (N, C, H, W) or (N, C, D, H, W) with every spatial size a multiple of
 * {@link GenericUNetConfig#inputShapeMustBeDivisibleBy()} (4 x 64 x 64 for the 3D plan); as in PyTorch, instance
 * norm also needs more than one element per channel at the bottleneck (batch norm: in training mode, over the
 * batch), so the 3D plan's smallest inputs are 4 x 64 x 128, 4 x 128 x 64 and 8 x 64 x 64. Both are checked
 * before anything runs.
 */
public final class GenericUNet extends JModule {
  private final GenericUNetConfig config;
  private final ModuleList<Sequential> convBlocksLocalization;
  private final ModuleList<Module> convBlocksContext;
  private final ModuleList<Module> td;
  private final ModuleList<Module> tu;
  private final ModuleList<Module> segOutputs;
  private final ModuleList<Upsample> upscaleLogitsOps;

  private final List<Layer> context = new ArrayList<>();
  private final List<Layer> pools = new ArrayList<>();
  private final List<Layer> ups = new ArrayList<>();
  private final List<Layer> heads = new ArrayList<>();
  private final long[] divisibleBy;
  private boolean doDs;

  public GenericUNet(GenericUNetConfig config) {
    this.config = config;
    int numPool = config.numPool();
    int dims = config.dims();
    long[][] poolKernels = config.poolOpKernelSizes();
    long[][] convKernels = config.convKernelSizes();
    long[] features = config.stageFeatures();
    int n = config.numConvPerStage();
    Ops encoderOps = Ops.of(config, false);
    Ops decoderOps = Ops.of(config, true);

    // encoder
    List<StackedConvLayers> stages = new ArrayList<>();
    ModuleList<Module> contextList = new ModuleList<>();
    ModuleList<Module> tdList = new ModuleList<>();
    long in = config.inputChannels();
    for (int d = 0; d < numPool; d++) {
      long[] firstStride = d > 0 && config.convolutionalPooling() ? poolKernels[d - 1] : null;
      StackedConvLayers stage = new StackedConvLayers(in, features[d], n, convKernels[d], firstStride, encoderOps);
      stages.add(stage);
      contextList.add(stage);
      if (!config.convolutionalPooling()) {
        tdList.add(dims == 3 ? Nn.maxPool3d(poolKernels[d]).build() : Nn.maxPool2d(poolKernels[d]).build());
      }
      in = features[d];
    }
    // bottleneck: with convolutional upsampling the transposed convolution reduces the features, otherwise
    // the bottleneck's last convolution must already give the skip connection's count
    long bottleneckFeatures = features[numPool];
    long bottleneckOut = config.convolutionalUpsampling() ? bottleneckFeatures : stages.getLast().outputChannels();
    long[] bottleneckStride = config.convolutionalPooling() ? poolKernels[numPool - 1] : null;
    contextList.add(new Sequential(
        new StackedConvLayers(in, bottleneckFeatures, n - 1, convKernels[numPool], bottleneckStride, encoderOps),
        new StackedConvLayers(bottleneckFeatures, bottleneckOut, 1, convKernels[numPool], null, encoderOps)));

    // decoder, coarse to fine
    ModuleList<Sequential> localization = new ModuleList<>();
    ModuleList<Module> tuList = new ModuleList<>();
    ModuleList<Module> segList = new ModuleList<>();
    long fromDown = bottleneckOut;
    for (int u = 0; u < numPool; u++) {
      long skip = stages.get(numPool - 1 - u).outputChannels();
      boolean finest = u == numPool - 1;
      long out = finest || config.convolutionalUpsampling() ? skip : stages.get(numPool - 2 - u).outputChannels();
      long[] pool = poolKernels[numPool - 1 - u];
      long[] kernel = convKernels[numPool - u];
      if (config.convolutionalUpsampling()) {
        tuList.add(dims == 3
            ? Nn.convTranspose3d(fromDown, skip, pool).stride(pool).bias(false).build()
            : Nn.convTranspose2d(fromDown, skip, pool).stride(pool).bias(false).build());
      } else {
        tuList.add(Upsample.of(pool));
      }
      localization.add(new Sequential(
          new StackedConvLayers(2 * skip, skip, n - 1, kernel, null, decoderOps),
          new StackedConvLayers(skip, out, 1, kernel, null, decoderOps)));
      long[] one = new long[dims];
      Arrays.fill(one, 1);
      long[] zero = new long[dims];
      segList.add(encoderOps.newConv(out, config.numClasses(), one, one, zero, config.segOutputUseBias()));
      fromDown = out;
    }

    // logit upscaling: op k brings seg_outputs[k] (k + 1 levels below the top) to the input size
    ModuleList<Upsample> upscale = null;
    if (config.upscaleLogits()) {
      upscale = new ModuleList<>();
      for (int k = 0; k < numPool - 1; k++) {
        long[] factor = new long[dims];
        Arrays.fill(factor, 1);
        for (int p = 0; p < numPool - 1 - k; p++) {
          for (int i = 0; i < dims; i++) {
            factor[i] *= poolKernels[p][i];
          }
        }
        upscale.add(Upsample.of(factor));
      }
    }

    convBlocksLocalization = register("conv_blocks_localization", localization);
    convBlocksContext = register("conv_blocks_context", contextList);
    td = register("td", tdList);
    tu = register("tu", tuList);
    segOutputs = register("seg_outputs", segList);
    upscaleLogitsOps = upscale == null ? null : register("upscale_logits_ops", upscale);

    for (Module m : contextList) {
      context.add(Layers.of(m));
    }
    for (Module m : tdList) {
      pools.add(Layers.of(m));
    }
    for (Module m : tuList) {
      ups.add(Layers.of(m));
    }
    for (Module m : segList) {
      heads.add(Layers.of(m));
    }
    divisibleBy = config.inputShapeMustBeDivisibleBy();
    doDs = config.deepSupervision();
    if (config.weightInit().he()) {
      GenericUNetBlocks.initHe(this, config.weightInit().negativeSlope());
    }
  }

  /** {@code initialize_network(threeD, num_classes)}: see {@link GenericUNetConfig#nnUNet(boolean, long)}. */
  public static GenericUNet nnUNet(boolean threeD, long numClasses) {
    return new GenericUNet(GenericUNetConfig.nnUNet(threeD, numClasses));
  }

  public GenericUNetConfig config() {
    return config;
  }

  /** Python's {@code do_ds}: starts as {@code deep_supervision}; only matters when that is set. */
  public boolean doDs() {
    return doDs;
  }

  /**
   * Sets {@code do_ds} (nnU-Net's trainers clear it for validation and inference): with deep supervision
   * built in, false makes {@link #forward} return the full-resolution output only.
   */
  public void setDoDs(boolean doDs) {
    this.doDs = doDs;
  }

  /** Whether {@link #forward} now returns every deep-supervision output ({@code _deep_supervision and do_ds}). */
  public boolean returnsDeepSupervision() {
    return config.deepSupervision() && doDs;
  }

  public ModuleList<Sequential> convBlocksLocalization() {
    return convBlocksLocalization;
  }

  public ModuleList<Module> convBlocksContext() {
    return convBlocksContext;
  }

  public ModuleList<Module> td() {
    return td;
  }

  public ModuleList<Module> tu() {
    return tu;
  }

  public ModuleList<Module> segOutputs() {
    return segOutputs;
  }

  /** The registered logit upscaling ops; null without {@code upscale_logits} (Python's identities). */
  public ModuleList<Upsample> upscaleLogitsOps() {
    return upscaleLogitsOps;
  }

  /**
   * The reference's forward: the {@code num_pool} deep-supervision outputs, full resolution first, when
   * {@link #returnsDeepSupervision()}, else a one-element list with the full-resolution output, each after
   * the final nonlinearity.
   */
  public List<Tensor> forward(Tensor x) {
    long[] shape = NetworkInputs.requireShape("Generic_UNet", "input", x, config.dims(), config.inputChannels());
    long[] spatial = NetworkInputs.spatial(shape);
    for (int i = 0; i < spatial.length; i++) {
      if (spatial[i] % divisibleBy[i] != 0) {
        throw new IllegalArgumentException("Generic_UNet needs spatial sizes that are multiples of "
            + Arrays.toString(divisibleBy) + " (the products of its pooling kernels per axis), got "
            + Arrays.toString(spatial) + " in input shape " + Arrays.toString(shape));
      }
    }
    requireNormalisableBottleneck(shape);
    boolean all = returnsDeepSupervision();
    int numPool = config.numPool();
    List<Tensor> skips = new ArrayList<>(numPool);
    Tensor h = x;
    for (int d = 0; d < numPool; d++) {
      h = context.get(d).forward(h);
      skips.add(h);
      if (!config.convolutionalPooling()) {
        h = pools.get(d).forward(h);
      }
    }
    h = context.get(numPool).forward(h);
    List<Tensor> segs = new ArrayList<>(numPool);
    for (int u = 0; u < numPool; u++) {
      Tensor up = ups.get(u).forward(h);
      h = convBlocksLocalization.get(u).forward(torch.cat(new TensorVector(up, skips.get(numPool - 1 - u)), 1));
      // the coarser heads only matter for deep supervision (Python computes them anyway; nothing uses them)
      segs.add(all || u == numPool - 1 ? finalNonlin(heads.get(u).forward(h)) : null);
    }
    if (!all) {
      return List.of(segs.getLast());
    }
    List<Tensor> out = new ArrayList<>(numPool);
    out.add(segs.getLast());
    for (int k = numPool - 2; k >= 0; k--) {
      out.add(upscaleLogitsOps == null ? segs.get(k) : upscaleLogitsOps.get(k).forward(segs.get(k)));
    }
    return out;
  }

  /** The full-resolution output alone, whatever the deep-supervision setting. */
  public Tensor forwardMain(Tensor x) {
    boolean saved = doDs;
    doDs = false;
    try {
      return forward(x).getFirst();
    } finally {
      doDs = saved;
    }
  }

  /**
   * PyTorch refuses to normalise a single value per channel: instance norm without running statistics
   * (in either mode) needs more than one spatial element, batch norm in training mode more than one value
   * over the batch and space. The bottleneck is the smallest map, so checking it covers every layer.
   */
  private void requireNormalisableBottleneck(long[] shape) {
    GenericUNetConfig.Norm norm = config.norm();
    long spatial = 1;
    for (int i = 0; i < divisibleBy.length; i++) {
      spatial *= shape[2 + i] / divisibleBy[i];
    }
    boolean instance = norm.kind() == GenericUNetConfig.Norm.Kind.INSTANCE_NORM
        && (is_training() || !norm.trackRunningStats());
    boolean batch = norm.kind() == GenericUNetConfig.Norm.Kind.BATCH_NORM && is_training();
    if ((instance && spatial <= 1) || (batch && spatial * shape[0] <= 1)) {
      throw new IllegalArgumentException("Generic_UNet's bottleneck would be " + spatial + " element(s) per channel"
          + (batch ? " over a batch of " + shape[0] : "") + " for input shape " + Arrays.toString(shape) + ", and its "
          + (instance ? "instance" : "batch") + " norm needs more than one element; give a larger input");
    }
  }

  private Tensor finalNonlin(Tensor logits) {
    return switch (config.finalNonlin()) {
      case IDENTITY -> logits;
      case SOFTMAX -> torch.softmax(logits, 1);
    };
  }
}
