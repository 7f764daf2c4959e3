package org.ssl4mis.networks;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.DropoutImpl;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Layers;
import org.ssl4mis.nn.ModuleList;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.networks.SwinUNetBlocks.BasicLayer;
import org.ssl4mis.networks.SwinUNetBlocks.BasicLayerUp;
import org.ssl4mis.networks.SwinUNetBlocks.FinalPatchExpandX4;
import org.ssl4mis.networks.SwinUNetBlocks.PatchEmbed;
import org.ssl4mis.networks.SwinUNetBlocks.PatchExpand;
import org.ssl4mis.networks.SwinUNetBlocks.StageSpec;
import org.ssl4mis.tensor.Tensors;

/**
 * SSL4MIS's {@code ViT_Seg}: {@code SwinUnet} of {@code networks/vision_transformer.py} (Cao et al., "Swin-Unet:
 * Unet-like Pure Transformer for Medical Image Segmentation", 2021), built from a {@link SwinUNetConfig} as the
 * reference builds it from its yacs config; {@link SwinUNetConfig#reference()} is the
 * {@code swin_tiny_patch4_window7_224_lite.yaml} network every reference experiment uses (27.17 M parameters at
 * 4 classes).
 *
 * <p>Weight-compatible with the Python module: the same state-dict keys in the same order with the same shapes,
 * everything under {@code swin_unet.}, including the {@code relative_position_index} buffers of every attention
 * and the {@code attn_mask} buffers of the shifted blocks (which the reference registers, so they are in its
 * checkpoints). {@link #forward} repeats a 1-channel input to 3 channels as the wrapper does, then runs
 * {@link SwinTransformerSys}.
 *
 * <p>Input (N, C, img_size, img_size) with C = 1 or {@code in_chans}; output logits (N, classes, 4 * img_size /
 * patch_size, same) (the image size for the reference's patch size 4).
 */
public final class SwinUNet extends JModule implements Layer {
  private final SwinUNetConfig config;
  private final long numClasses;
  final SwinTransformerSys swinUnet;

  /** {@code SwinUnet(config, num_classes=numClasses)}. */
  public SwinUNet(SwinUNetConfig config, long numClasses) {
    this.config = Objects.requireNonNull(config, "config");
    this.numClasses = numClasses;
    swinUnet = register("swin_unet", new SwinTransformerSys(config, numClasses));
  }

  /** {@link SwinUNetConfig#reference()} with {@code numClasses} outputs. */
  public SwinUNet(long numClasses) {
    this(SwinUNetConfig.reference(), numClasses);
  }

  /**
   * What {@code Networks.create("ViT_Seg", inChannels, classes, options)} builds: the reference configuration with
   * {@code options} (SwinTransformerSys's argument names, {@link SwinUNetConfig#OPTION_NAMES}) applied.
   *
   * @throws IllegalArgumentException for an unknown option, or {@code inChannels} neither 1 (repeated to 3 by the
   *     wrapper, when {@code in_chans} is 3) nor {@code in_chans}
   */
  public static SwinUNet create(long inChannels, long classes, Networks.Options options) {
    SwinUNetConfig c = SwinUNetConfig.fromOptions(options);
    boolean repeated = inChannels == 1 && c.inChans() == 3;
    if (inChannels != c.inChans() && !repeated) {
      throw new IllegalArgumentException("ViT_Seg takes " + c.inChans() + "-channel inputs"
          + (c.inChans() == 3 ? " or 1-channel ones, which it repeats to 3," : "") + " not " + inChannels);
    }
    return new SwinUNet(c, classes);
  }

  public SwinUNetConfig config() {
    return config;
  }

  public long numClasses() {
    return numClasses;
  }

  /** The network itself ({@code self.swin_unet}). */
  public SwinTransformerSys swinUnet() {
    return swinUnet;
  }

  @Override
  public Tensor forward(Tensor x) {
    Tensor in = x.size(1) == 1 ? x.repeat(1, 3, 1, 1) : x;
    return swinUnet.forward(in);
  }

  /**
   * {@code SwinTransformerSys}: patch embedding, four encoder stages ({@code layers}, patch merging between them)
   * and a final norm; the decoder ({@code layers_up}: a patch expansion, then stages each fed the concatenation
   * with the matching encoder input through {@code concat_back_dim}), {@code norm_up}, and the 4x expansion
   * {@code up} with the 1x1 {@code output} convolution.
   */
  public static final class SwinTransformerSys extends JModule implements Layer {
    final SwinUNetConfig config;
    final long numClasses;
    final long patchesResolution;
    final double[] dropPathRates;
    final Tensor absolutePosEmbed;
    final PatchEmbed patchEmbed;
    final DropoutImpl posDrop;
    final ModuleList<BasicLayer> layers;
    final ModuleList<Module> layersUp;
    final ModuleList<Module> concatBackDim;
    final List<Layer> layersUpForward = new ArrayList<>();
    final List<Layer> concatForward = new ArrayList<>();
    final LayerNormImpl norm;
    final LayerNormImpl normUp;
    final FinalPatchExpandX4 up;
    final Conv2dImpl output;

    public SwinTransformerSys(SwinUNetConfig c, long numClasses) {
      Objects.requireNonNull(c, "config");
      if (numClasses < 1) {
        throw new IllegalArgumentException("num_classes must be >= 1, got " + numClasses);
      }
      if (c.useCheckpoint()) {
        throw new IllegalArgumentException("use_checkpoint (gradient checkpointing) is not implemented in Java;"
            + " it saves memory only and does not change results, so leave it false");
      }
      if (!c.finalUpsample().equals("expand_first")) {
        throw new IllegalArgumentException("final_upsample '" + c.finalUpsample() + "': only 'expand_first' gives"
            + " the reference a segmentation head");
      }
      int n = c.numLayers();
      if (n != 4) {
        // forward_up_features reads x_downsample[3 - inx]: the reference only works with four stages
        throw new IllegalArgumentException("the reference's decoder needs exactly 4 stages, got depths of length "
            + n);
      }
      this.config = c;
      this.numClasses = numClasses;
      long embed = c.embedDim();
      long res = c.patchesResolution();
      if (res < 1) {
        throw new IllegalArgumentException("img_size " + c.imgSize() + " is smaller than patch_size "
            + c.patchSize());
      }
      long[] depths = c.depths();
      for (int i = 0; i < n; i++) {
        long stageRes = res >> i;
        if (i < n - 1 && stageRes % 2 != 0) {
          throw new IllegalArgumentException("patch resolution " + res + " (img_size / patch_size) must be divisible"
              + " by " + (1L << (n - 1)) + ": stage " + i + " merges patches of a " + stageRes + "x" + stageRes
              + " grid");
        }
      }
      this.patchesResolution = res;
      this.dropPathRates = dropPathRates(c.dropPathRate(), depths);

      if (c.ape()) {
        Tensor pos = torch.zeros(new long[] {1, res * res, embed});
        SwinUNetBlocks.truncNormal(pos, SwinUNetBlocks.INIT_STD);
        absolutePosEmbed = registerParameter("absolute_pos_embed", pos);
      } else {
        absolutePosEmbed = null;
      }
      patchEmbed = register("patch_embed", new PatchEmbed(c.imgSize(), c.patchSize(), c.inChans(), embed,
          c.patchNorm()));
      posDrop = register("pos_drop", Nn.dropout(c.dropRate()));

      layers = new ModuleList<>();
      for (int i = 0; i < n; i++) {
        layers.add(new BasicLayer(stage(c, i), i < n - 1));
      }
      register("layers", layers);

      layersUp = new ModuleList<>();
      concatBackDim = new ModuleList<>();
      for (int i = 0; i < n; i++) {
        int s = n - 1 - i;
        long dim = embed << s;
        Module merge = i > 0 ? SwinUNetBlocks.linear(2 * dim, dim, true) : Nn.identity();
        Module up;
        if (i == 0) {
          up = new PatchExpand(res >> s, res >> s, dim, 2);
        } else {
          up = new BasicLayerUp(stage(c, s), i < n - 1);
        }
        layersUp.add(up);
        concatBackDim.add(merge);
        layersUpForward.add(Layers.of(up));
        concatForward.add(Layers.of(merge));
      }
      register("layers_up", layersUp);
      register("concat_back_dim", concatBackDim);

      norm = register("norm", SwinUNetBlocks.layerNorm(embed << (n - 1)));
      normUp = register("norm_up", SwinUNetBlocks.layerNorm(embed));
      up = register("up", new FinalPatchExpandX4(res, res, embed, 4));
      output = register("output", Nn.conv2d(embed, numClasses, 1).bias(false).build());
    }

    /** Settings of encoder stage {@code i} (decoder stages reuse them in reverse). */
    private StageSpec stage(SwinUNetConfig c, int i) {
      long[] depths = c.depths();
      int from = 0;
      for (int k = 0; k < i; k++) {
        from += (int) depths[k];
      }
      double[] rates = java.util.Arrays.copyOfRange(dropPathRates, from, from + (int) depths[i]);
      long res = c.patchesResolution() >> i;
      return new StageSpec(c.embedDim() << i, res, res, (int) depths[i], c.numHeads()[i], c.windowSize(),
          c.mlpRatio(), c.qkvBias(), c.qkScale(), c.dropRate(), c.attnDropRate(), rates);
    }

    /**
     * The stochastic depth rule: {@code torch.linspace(0, drop_path_rate, sum(depths))} in float32, one rate per
     * block in encoder order (the decoder stage of the same resolution reuses the encoder stage's rates).
     */
    static double[] dropPathRates(double rate, long[] depths) {
      long total = 0;
      for (long d : depths) {
        total += d;
      }
      float[] f = Tensors.toFloats(torch.linspace(new Scalar(0.0), new Scalar(rate), total));
      double[] out = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        out[i] = f[i];
      }
      return out;
    }

    /** The per-block drop path rates, encoder order. */
    public double[] dropPathRates() {
      return dropPathRates.clone();
    }

    public ModuleList<BasicLayer> layers() {
      return layers;
    }

    public ModuleList<Module> layersUp() {
      return layersUp;
    }

    /** What {@code forward_features} returns: the normed bottleneck tokens and every encoder stage's input. */
    public record Features(Tensor bottleneck, List<Tensor> skips) {}

    /** {@code forward_features}: patch embedding and the encoder; (B, L, C) tokens throughout. */
    public Features forwardFeatures(Tensor x) {
      Tensor h = patchEmbed.forward(x);
      if (absolutePosEmbed != null) {
        h = h.add(absolutePosEmbed);
      }
      h = posDrop.forward(h);
      List<Tensor> skips = new ArrayList<>();
      for (BasicLayer layer : layers) {
        skips.add(h);
        h = layer.forward(h);
      }
      return new Features(norm.forward(h), List.copyOf(skips));
    }

    @Override
    public Tensor forward(Tensor x) {
      Features features = forwardFeatures(x);
      Tensor h = features.bottleneck();
      List<Tensor> skips = features.skips();
      for (int i = 0; i < layersUpForward.size(); i++) {
        if (i > 0) {
          h = concatForward.get(i).forward(torch.cat(new TensorVector(h, skips.get(3 - i)), -1));
        }
        h = layersUpForward.get(i).forward(h);
      }
      h = normUp.forward(h);
      long b = h.size(0);
      long l = h.size(1);
      long res = patchesResolution;
      if (l != res * res) {
        throw new IllegalArgumentException("input features has wrong size: " + l + " tokens for " + res + "x" + res);
      }
      Tensor expanded = up.forward(h).view(b, 4 * res, 4 * res, -1).permute(0, 3, 1, 2);
      return output.forward(expanded);
    }
  }
}
