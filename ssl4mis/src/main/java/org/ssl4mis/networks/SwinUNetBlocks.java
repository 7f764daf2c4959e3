package org.ssl4mis.networks;

import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.DropoutImpl;
import org.bytedeco.pytorch.GELUImpl;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Layers;
import org.ssl4mis.nn.ModuleList;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * The building blocks of SSL4MIS's Swin-UNet ({@code networks/swin_transformer_unet_skip_expand_decoder_sys.py}),
 * with the Python class structure and attribute names, so that state-dict keys, their order and shapes are the
 * reference's: {@link Mlp}, {@link WindowAttention}, {@link SwinTransformerBlock}, {@link PatchMerging},
 * {@link PatchExpand}, {@link FinalPatchExpandX4}, {@link BasicLayer}, {@link BasicLayerUp}, {@link PatchEmbed},
 * and timm's {@link DropPath}.
 *
 * <p>Tokens travel as (B, L, C) with L = H * W in row-major order, as in Python. Every random number (dropout,
 * drop path, initialisation) comes from libtorch's generator, so {@code NativeRuntime.seed} makes it repeatable.
 * Initialisation follows the reference's distributions: linear weights and the relative position bias tables are
 * truncated normal (std 0.02, absolute bounds [-2, 2] as timm's {@code trunc_normal_}), linear biases zero, layer
 * norms one and zero, convolutions PyTorch's default.
 */
public final class SwinUNetBlocks {
  private SwinUNetBlocks() {}

  /** Python's {@code nn.LayerNorm} default epsilon. */
  static final double LAYER_NORM_EPS = 1e-5;
  /** Standard deviation of the reference's truncated-normal initialisation. */
  static final double INIT_STD = 0.02;
  /** Value added to attention logits between tokens of different regions of a shifted window. */
  static final double MASK_VALUE = -100.0;

  // ---- initialisation --------------------------------------------------------------------------------

  /**
   * timm's {@code trunc_normal_(t, mean=0, std, a=-2, b=2)}: normal values restricted to the absolute interval
   * [-2, 2]. When both bounds lie more than 8 standard deviations out (always so for the reference's std 0.02,
   * where they are 100 out) the truncation removes less than 1e-15 of the mass, so a plain normal draw, clamped,
   * has the same distribution; it skips the inverse error function timm evaluates on every value (seconds for
   * the 27 M parameters of the reference network). Otherwise the values are drawn as timm draws them, by
   * inverting the normal CDF of uniform draws.
   */
  @SuppressWarnings("try")
  static void truncNormal(Tensor t, double std) {
    double a = -2.0;
    double b = 2.0;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      if (-a / std > 8 && b / std > 8) {
        t.normal_(0.0, std, new GeneratorOptional());
      } else {
        double lo = normalCdf(a / std);
        double hi = normalCdf(b / std);
        t.uniform_(2 * lo - 1, 2 * hi - 1, new GeneratorOptional());
        t.erfinv_();
        t.mul_(new Scalar(std * Math.sqrt(2.0)));
      }
      t.clamp_(new ScalarOptional(new Scalar(a)), new ScalarOptional(new Scalar(b)));
    }
  }

  private static double normalCdf(double x) {
    return 0.5 * (1.0 + Tensors.item(Tensors.scalar(x / Math.sqrt(2.0), DType.FLOAT64).erf()));
  }

  /** {@code nn.Linear} with the reference's {@code _init_weights}: truncated-normal weight, zero bias. */
  @SuppressWarnings("try")
  static LinearImpl linear(long in, long out, boolean bias) {
    LinearImpl l = Nn.linear(in, out, bias);
    truncNormal(l.weight(), INIT_STD);
    if (bias) {
      try (NoGradGuard noGrad = new NoGradGuard()) {
        l.bias().zero_();
      }
    }
    return l;
  }

  /** {@code nn.LayerNorm(dim)}: weight one, bias zero (libtorch's default, and the reference's init). */
  static LayerNormImpl layerNorm(long dim) {
    return Nn.layerNorm(LAYER_NORM_EPS, true, dim);
  }

  // ---- window helpers --------------------------------------------------------------------------------

  /** {@code window_partition}: (B, H, W, C) to (B * nW, ws, ws, C), windows row-major per image. */
  static Tensor windowPartition(Tensor x, long ws) {
    long b = x.size(0);
    long h = x.size(1);
    long w = x.size(2);
    long c = x.size(3);
    return x.view(b, h / ws, ws, w / ws, ws, c).permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c);
  }

  /** {@code window_reverse}: (B * nW, ws, ws, C) back to (B, H, W, C). */
  static Tensor windowReverse(Tensor windows, long ws, long h, long w) {
    long b = windows.size(0) / ((h / ws) * (w / ws));
    return windows.view(b, h / ws, w / ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1);
  }

  /**
   * einops' {@code 'b h w (p1 p2 c) -> b (h p1) (w p2) c'} with p1 = p2 = {@code p}, flattened to tokens:
   * (B, H, W, p*p*c) to (B, H*p * W*p, c).
   */
  static Tensor unfoldChannels(Tensor x, long p, long c) {
    long b = x.size(0);
    long h = x.size(1);
    long w = x.size(2);
    return x.reshape(b, h, w, p, p, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h * p * w * p, c);
  }

  /** {@code relative_position_index} of a wh x ww window: (N, N) int64 indices into the bias table. */
  static Tensor relativePositionIndex(long wh, long ww) {
    int n = Math.toIntExact(wh * ww);
    long[] index = new long[n * n];
    for (int i = 0; i < n; i++) {
      long ri = i / ww;
      long ci = i % ww;
      for (int j = 0; j < n; j++) {
        long rj = j / ww;
        long cj = j % ww;
        index[i * n + j] = (ri - rj + wh - 1) * (2 * ww - 1) + (ci - cj + ww - 1);
      }
    }
    return Tensors.fromLongs(index, n, n);
  }

  /**
   * The shifted-window attention mask (nW, ws*ws, ws*ws): 0 between tokens of the same region of the rolled
   * image, -100 between tokens of different regions. Regions split each axis at size - ws and size - shift.
   */
  static Tensor shiftedWindowMask(long h, long w, long ws, long shift) {
    long nWh = h / ws;
    long nWw = w / ws;
    int n = Math.toIntExact(ws * ws);
    int windows = Math.toIntExact(nWh * nWw);
    float[] mask = new float[windows * n * n];
    int[] labels = new int[n];
    for (int win = 0; win < windows; win++) {
      long y0 = (win / nWw) * ws;
      long x0 = (win % nWw) * ws;
      for (int p = 0; p < n; p++) {
        labels[p] = 3 * region(y0 + p / ws, h, ws, shift) + region(x0 + p % ws, w, ws, shift);
      }
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          mask[(win * n + i) * n + j] = labels[i] == labels[j] ? 0f : (float) MASK_VALUE;
        }
      }
    }
    return Tensors.fromFloats(mask, windows, n, n);
  }

  private static int region(long coord, long size, long ws, long shift) {
    if (coord < size - ws) {
      return 0;
    }
    return coord < size - shift ? 1 : 2;
  }

  // ---- modules ---------------------------------------------------------------------------------------

  /**
   * timm's {@code DropPath(p)} (stochastic depth): in training mode, each sample's input is zeroed with
   * probability p and the others scaled by 1 / (1 - p); identity in eval mode or for p = 0.
   */
  public static final class DropPath extends JModule implements Layer {
    private final double dropProb;

    public DropPath(double dropProb) {
      if (!(dropProb >= 0 && dropProb <= 1)) {
        throw new IllegalArgumentException("drop path probability must be in [0, 1], got " + dropProb);
      }
      this.dropProb = dropProb;
    }

    public double dropProb() {
      return dropProb;
    }

    @Override
    public Tensor forward(Tensor x) {
      if (dropProb == 0.0 || !is_training()) {
        return x;
      }
      double keep = 1.0 - dropProb;
      long[] shape = new long[(int) x.dim()];
      java.util.Arrays.fill(shape, 1);
      shape[0] = x.size(0);
      Tensor mask = x.new_empty(shape).bernoulli_(keep, new GeneratorOptional());
      if (keep > 0.0) {
        mask.div_(new Scalar(keep));
      }
      return x.mul(mask);
    }
  }

  /** {@code Mlp}: fc1, GELU, dropout, fc2, dropout. */
  public static final class Mlp extends JModule implements Layer {
    final LinearImpl fc1;
    final GELUImpl act;
    final LinearImpl fc2;
    final DropoutImpl drop;

    public Mlp(long inFeatures, long hiddenFeatures, long outFeatures, double drop) {
      fc1 = register("fc1", linear(inFeatures, hiddenFeatures, true));
      act = register("act", Nn.gelu());
      fc2 = register("fc2", linear(hiddenFeatures, outFeatures, true));
      this.drop = register("drop", Nn.dropout(drop));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor h = drop.forward(act.forward(fc1.forward(x)));
      return drop.forward(fc2.forward(h));
    }
  }

  /**
   * {@code WindowAttention}: multi-head self-attention inside (possibly shifted) windows with a learned relative
   * position bias ({@code relative_position_bias_table}, indexed by the {@code relative_position_index} buffer).
   */
  public static final class WindowAttention extends JModule {
    final long dim;
    final long windowH;
    final long windowW;
    final long numHeads;
    final double scale;
    final Tensor relativePositionBiasTable;
    final Tensor relativePositionIndex;
    final LinearImpl qkv;
    final DropoutImpl attnDrop;
    final LinearImpl proj;
    final DropoutImpl projDrop;

    public WindowAttention(long dim, long windowH, long windowW, long numHeads, boolean qkvBias, Double qkScale,
        double attnDrop, double projDrop) {
      if (dim % numHeads != 0) {
        throw new IllegalArgumentException("dim " + dim + " is not divisible by num_heads " + numHeads);
      }
      this.dim = dim;
      this.windowH = windowH;
      this.windowW = windowW;
      this.numHeads = numHeads;
      long headDim = dim / numHeads;
      // Python: qk_scale or head_dim ** -0.5 (a zero scale counts as unset)
      this.scale = qkScale != null && qkScale != 0.0 ? qkScale : Math.pow(headDim, -0.5);
      Tensor table = torch.zeros(new long[] {(2 * windowH - 1) * (2 * windowW - 1), numHeads});
      truncNormal(table, INIT_STD);
      relativePositionBiasTable = registerParameter("relative_position_bias_table", table);
      relativePositionIndex = registerBuffer("relative_position_index", relativePositionIndex(windowH, windowW));
      qkv = register("qkv", linear(dim, dim * 3, qkvBias));
      this.attnDrop = register("attn_drop", Nn.dropout(attnDrop));
      proj = register("proj", linear(dim, dim, true));
      this.projDrop = register("proj_drop", Nn.dropout(projDrop));
      register("softmax", Nn.softmax(-1));
    }

    /** Attention over windows: x (B * nW, N, C); mask (nW, N, N) of 0 / -100, or null for none. */
    public Tensor forward(Tensor x, Tensor mask) {
      long bw = x.size(0);
      long n = x.size(1);
      long c = x.size(2);
      Tensor qkvOut = qkv.forward(x).reshape(bw, n, 3, numHeads, c / numHeads).permute(2, 0, 3, 1, 4);
      Tensor q = qkvOut.select(0, 0).mul(new Scalar(scale));
      Tensor k = qkvOut.select(0, 1);
      Tensor v = qkvOut.select(0, 2);
      Tensor attn = q.matmul(k.transpose(-2, -1));
      Tensor index = relativePositionIndex.view(-1);
      if (Tensors.dtype(index) != DType.INT64) {
        index = index.to(DType.INT64.scalarType()); // after a whole-module dtype cast, which converts buffers too
      }
      Tensor bias = relativePositionBiasTable.index_select(0, index)
          .view(windowH * windowW, windowH * windowW, -1)
          .permute(2, 0, 1)
          .contiguous();
      attn = attn.add(bias.unsqueeze(0));
      if (mask != null && mask.defined()) {
        long nW = mask.size(0);
        attn = attn.view(bw / nW, nW, numHeads, n, n).add(mask.unsqueeze(1).unsqueeze(0)).view(-1, numHeads, n, n);
      }
      attn = attnDrop.forward(torch.softmax(attn, -1));
      Tensor out = attn.matmul(v).transpose(1, 2).reshape(bw, n, c);
      return projDrop.forward(proj.forward(out));
    }
  }

  /**
   * {@code SwinTransformerBlock}: (shifted) window attention and an MLP, each pre-normed and residual, with drop
   * path on both branches. As in the reference, a resolution no larger than the window disables the shift and
   * shrinks the window to the resolution; a shifted block registers its mask as the {@code attn_mask} buffer.
   */
  public static final class SwinTransformerBlock extends JModule implements Layer {
    final long dim;
    final long resH;
    final long resW;
    final long numHeads;
    final long windowSize;
    final long shiftSize;
    final LayerNormImpl norm1;
    final WindowAttention attn;
    final Layer dropPath;
    final LayerNormImpl norm2;
    final Mlp mlp;
    final Tensor attnMask;

    public SwinTransformerBlock(long dim, long resH, long resW, long numHeads, long windowSize, long shiftSize,
        double mlpRatio, boolean qkvBias, Double qkScale, double drop, double attnDrop, double dropPath) {
      this.dim = dim;
      this.resH = resH;
      this.resW = resW;
      this.numHeads = numHeads;
      long ws = windowSize;
      long shift = shiftSize;
      if (Math.min(resH, resW) <= ws) {
        shift = 0;
        ws = Math.min(resH, resW);
      }
      if (!(shift >= 0 && shift < ws)) {
        throw new IllegalArgumentException("shift_size " + shift + " must be in [0, window_size " + ws + ")");
      }
      if (resH % ws != 0 || resW % ws != 0) {
        throw new IllegalArgumentException("resolution " + resH + "x" + resW + " is not a multiple of the window "
            + ws);
      }
      this.windowSize = ws;
      this.shiftSize = shift;
      norm1 = register("norm1", layerNorm(dim));
      attn = register("attn", new WindowAttention(dim, ws, ws, numHeads, qkvBias, qkScale, attnDrop, drop));
      Module dp = dropPath > 0.0 ? new DropPath(dropPath) : Nn.identity();
      this.dropPath = Layers.of(register("drop_path", dp));
      norm2 = register("norm2", layerNorm(dim));
      mlp = register("mlp", new Mlp(dim, (long) (dim * mlpRatio), dim, drop));
      attnMask = shift > 0 ? registerBuffer("attn_mask", shiftedWindowMask(resH, resW, ws, shift)) : null;
    }

    public long windowSize() {
      return windowSize;
    }

    public long shiftSize() {
      return shiftSize;
    }

    @Override
    public Tensor forward(Tensor x) {
      long b = x.size(0);
      long l = x.size(1);
      long c = x.size(2);
      if (l != resH * resW) {
        throw new IllegalArgumentException("input feature has wrong size: " + l + " tokens for a " + resH + "x"
            + resW + " resolution");
      }
      long ws = windowSize;
      long s = shiftSize;
      Tensor shortcut = x;
      Tensor h = norm1.forward(x).view(b, resH, resW, c);
      if (s > 0) {
        h = torch.roll(h, new long[] {-s, -s}, 1, 2);
      }
      Tensor windows = windowPartition(h, ws).view(-1, ws * ws, c);
      Tensor attended = attn.forward(windows, attnMask).view(-1, ws, ws, c);
      h = windowReverse(attended, ws, resH, resW);
      if (s > 0) {
        h = torch.roll(h, new long[] {s, s}, 1, 2);
      }
      Tensor y = shortcut.add(dropPath.forward(h.view(b, resH * resW, c)));
      return y.add(dropPath.forward(mlp.forward(norm2.forward(y))));
    }
  }

  /** {@code PatchMerging}: 2x2 neighbouring tokens concatenated (4C), layer norm, linear to 2C; halves H and W. */
  public static final class PatchMerging extends JModule implements Layer {
    final long resH;
    final long resW;
    final long dim;
    final LinearImpl reduction;
    final LayerNormImpl norm;

    public PatchMerging(long resH, long resW, long dim) {
      if (resH % 2 != 0 || resW % 2 != 0) {
        throw new IllegalArgumentException("x size (" + resH + "*" + resW + ") are not even.");
      }
      this.resH = resH;
      this.resW = resW;
      this.dim = dim;
      reduction = register("reduction", linear(4 * dim, 2 * dim, false));
      norm = register("norm", layerNorm(4 * dim));
    }

    @Override
    public Tensor forward(Tensor x) {
      long b = x.size(0);
      long l = x.size(1);
      long c = x.size(2);
      if (l != resH * resW) {
        throw new IllegalArgumentException("input feature has wrong size: " + l + " tokens for " + resH + "x" + resW);
      }
      // (b, H/2, r, W/2, s, c) -> (b, H/2, W/2, s, r, c): channel blocks in the reference's x0, x1, x2, x3 order
      // (r, s) = (0, 0), (1, 0), (0, 1), (1, 1)
      Tensor merged = x.view(b, resH / 2, 2, resW / 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(b, -1, 4 * c);
      return reduction.forward(norm.forward(merged));
    }
  }

  /** {@code PatchExpand} (dim_scale 2): linear C to 2C, then each token unfolds into 2x2 tokens of C/2. */
  public static final class PatchExpand extends JModule implements Layer {
    final long resH;
    final long resW;
    final long dim;
    final Layer expand;
    final LayerNormImpl norm;

    public PatchExpand(long resH, long resW, long dim, long dimScale) {
      this.resH = resH;
      this.resW = resW;
      this.dim = dim;
      Module e = dimScale == 2 ? linear(dim, 2 * dim, false) : Nn.identity();
      expand = Layers.of(register("expand", e));
      norm = register("norm", layerNorm(dim / dimScale));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor e = expand.forward(x);
      long b = e.size(0);
      long l = e.size(1);
      long c = e.size(2);
      if (l != resH * resW) {
        throw new IllegalArgumentException("input feature has wrong size: " + l + " tokens for " + resH + "x" + resW);
      }
      return norm.forward(unfoldChannels(e.view(b, resH, resW, c), 2, c / 4));
    }
  }

  /** {@code FinalPatchExpand_X4}: linear C to 16C, then each token unfolds into 4x4 tokens of C. */
  public static final class FinalPatchExpandX4 extends JModule implements Layer {
    final long resH;
    final long resW;
    final long dim;
    final long dimScale;
    final LinearImpl expand;
    final LayerNormImpl norm;

    public FinalPatchExpandX4(long resH, long resW, long dim, long dimScale) {
      this.resH = resH;
      this.resW = resW;
      this.dim = dim;
      this.dimScale = dimScale;
      expand = register("expand", linear(dim, 16 * dim, false));
      norm = register("norm", layerNorm(dim));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor e = expand.forward(x);
      long b = e.size(0);
      long l = e.size(1);
      long c = e.size(2);
      if (l != resH * resW) {
        throw new IllegalArgumentException("input feature has wrong size: " + l + " tokens for " + resH + "x" + resW);
      }
      Tensor unfolded = unfoldChannels(e.view(b, resH, resW, c), dimScale, c / (dimScale * dimScale));
      return norm.forward(unfolded.view(b, -1, dim));
    }
  }

  /** Block settings shared by the encoder and decoder stages. */
  record StageSpec(long dim, long resH, long resW, int depth, long numHeads, long windowSize, double mlpRatio,
      boolean qkvBias, Double qkScale, double drop, double attnDrop, double[] dropPath) {}

  private static ModuleList<SwinTransformerBlock> buildBlocks(StageSpec s) {
    if (s.dropPath().length != s.depth()) {
      throw new IllegalArgumentException(s.depth() + " blocks but " + s.dropPath().length + " drop path rates");
    }
    ModuleList<SwinTransformerBlock> list = new ModuleList<>();
    for (int i = 0; i < s.depth(); i++) {
      list.add(new SwinTransformerBlock(s.dim(), s.resH(), s.resW(), s.numHeads(), s.windowSize(),
          i % 2 == 0 ? 0 : s.windowSize() / 2, s.mlpRatio(), s.qkvBias(), s.qkScale(), s.drop(), s.attnDrop(),
          s.dropPath()[i]));
    }
    return list;
  }

  /** {@code BasicLayer}: an encoder stage, {@code depth} blocks alternating plain and shifted windows, then an
   * optional {@link PatchMerging} ({@code downsample}). */
  public static final class BasicLayer extends JModule implements Layer {
    final ModuleList<SwinTransformerBlock> blocks;
    final PatchMerging downsample;

    BasicLayer(StageSpec s, boolean downsample) {
      blocks = register("blocks", buildBlocks(s));
      this.downsample = downsample ? register("downsample", new PatchMerging(s.resH(), s.resW(), s.dim())) : null;
    }

    public ModuleList<SwinTransformerBlock> blocks() {
      return blocks;
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor h = x;
      for (SwinTransformerBlock blk : blocks) {
        h = blk.forward(h);
      }
      return downsample != null ? downsample.forward(h) : h;
    }
  }

  /** {@code BasicLayer_up}: a decoder stage, {@code depth} blocks then an optional {@link PatchExpand}
   * ({@code upsample}). */
  public static final class BasicLayerUp extends JModule implements Layer {
    final ModuleList<SwinTransformerBlock> blocks;
    final PatchExpand upsample;

    BasicLayerUp(StageSpec s, boolean upsample) {
      blocks = register("blocks", buildBlocks(s));
      this.upsample = upsample ? register("upsample", new PatchExpand(s.resH(), s.resW(), s.dim(), 2)) : null;
    }

    public ModuleList<SwinTransformerBlock> blocks() {
      return blocks;
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor h = x;
      for (SwinTransformerBlock blk : blocks) {
        h = blk.forward(h);
      }
      return upsample != null ? upsample.forward(h) : h;
    }
  }

  /** {@code PatchEmbed}: a patch-size-strided convolution to {@code embed_dim}, flattened to tokens, optional
   * layer norm. */
  public static final class PatchEmbed extends JModule implements Layer {
    final long imgSize;
    final long patchSize;
    final Conv2dImpl proj;
    final LayerNormImpl norm;

    public PatchEmbed(long imgSize, long patchSize, long inChans, long embedDim, boolean patchNorm) {
      this.imgSize = imgSize;
      this.patchSize = patchSize;
      proj = register("proj", Nn.conv2d(inChans, embedDim, patchSize).stride(patchSize).build());
      norm = patchNorm ? register("norm", layerNorm(embedDim)) : null;
    }

    /** Tokens per side: {@code img_size // patch_size}. */
    public long patchesResolution() {
      return imgSize / patchSize;
    }

    @Override
    public Tensor forward(Tensor x) {
      if (x.dim() != 4 || x.size(2) != imgSize || x.size(3) != imgSize) {
        throw new IllegalArgumentException("Input image size (" + (x.dim() == 4 ? x.size(2) + "*" + x.size(3)
            : x.dim() + "-d tensor") + ") doesn't match model (" + imgSize + "*" + imgSize + ").");
      }
      Tensor tokens = proj.forward(x).flatten(2, -1).transpose(1, 2);
      return norm != null ? norm.forward(tokens) : tokens;
    }
  }
}
