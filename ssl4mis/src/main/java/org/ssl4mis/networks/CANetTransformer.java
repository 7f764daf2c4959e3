package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.DropoutImpl;
import org.bytedeco.pytorch.GELUImpl;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.ModuleList;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.tensor.Tensors;

/**
 * The transformer bottleneck of {@link CANet}, in the style of TransUNet (Chen et al., "TransUNet: Transformers
 * Make Strong Encoders for Medical Image Segmentation", 2021) but volumetric: a 3D feature map becomes a sequence
 * of patch tokens, passes {@code num_layers} pre-norm transformer layers and is folded back into a 3D map.
 *
 * <p>Module tree (the Python attribute names, so state-dict keys match the reference
 * {@code canet_reference.py}):
 *
 * <pre>
 * embeddings                  {@link Embeddings}
 *   position_embeddings       parameter (1, tokens, hidden), zero at construction (as TransUNet)
 *   patch_embeddings          Conv3d(in_channels, hidden, kernel = stride = patch_size)
 *   dropout                   Dropout(dropout_rate)
 * encoder                     {@link Encoder}
 *   layer.0 .. layer.(L-1)    {@link EncoderLayer}
 *     attention_norm          LayerNorm(hidden, eps=1e-6)
 *     attn                    {@link Attention}: qkv Linear(hidden, 3 hidden), proj Linear(hidden, hidden),
 *                             attn_dropout Dropout(attention_dropout_rate), proj_dropout Dropout(dropout_rate)
 *     ffn_norm                LayerNorm(hidden, eps=1e-6)
 *     ffn                     {@link Mlp}: fc1 Linear(hidden, mlp_dim), act GELU (exact), fc2 Linear(mlp_dim,
 *                             hidden), dropout Dropout(dropout_rate) after the activation and after fc2
 *   encoder_norm              LayerNorm(hidden, eps=1e-6), after the last layer (as TransUNet and ViT)
 * </pre>
 *
 * <p>Each layer computes {@code x = x + attn(attention_norm(x)); x = x + ffn(ffn_norm(x))}; the attention is
 * multi-head scaled dot-product self-attention over all tokens (scale head_dim^-1/2, softmax over the keys).
 * Apart from the position embeddings, PyTorch's default initialisation. The dropouts act in training mode only.
 *
 * <p>{@link #forward} takes (N, in_channels, D, H, W) with (D, H, W) equal to the {@code gridSize} given at
 * construction (the position embeddings fix the number of tokens) and returns (N, hidden, D/p, H/p, W/p);
 * {@link #tokens} gives the (N, tokens, hidden) sequence before folding, tokens in C order of (d, h, w).
 */
public final class CANetTransformer extends JModule implements Layer {

  /** LayerNorm epsilon of every norm in the transformer (TransUNet's 1e-6; PyTorch's default is 1e-5). */
  public static final double LAYER_NORM_EPS = 1e-6;

  /** Patch embedding: strided convolution, flattening to tokens, learned position embeddings, dropout. */
  public static final class Embeddings extends JModule {
    final Conv3dImpl patchEmbeddings;
    final Tensor positionEmbeddings;
    final DropoutImpl dropout;

    public Embeddings(long inChannels, long[] tokenGrid, long patchSize, long hiddenSize, double dropoutRate) {
      long tokens = Arrays.stream(tokenGrid).reduce(1, (a, b) -> a * b);
      patchEmbeddings = register("patch_embeddings", Nn.conv3d(inChannels, hiddenSize, patchSize).stride(patchSize)
          .build());
      // our own handle on the registered tensor: the returned one is a reference into the module's dictionary
      positionEmbeddings = new Tensor(registerParameter("position_embeddings", torch.zeros(1, tokens, hiddenSize)));
      dropout = register("dropout", Nn.dropout(dropoutRate));
    }

    /** (N, C, D, H, W) to (N, tokens, hidden). */
    public Tensor forward(Tensor x) {
      Tensor patches = patchEmbeddings.forward(x).flatten(2, -1).transpose(1, 2);
      return dropout.forward(patches.add(positionEmbeddings));
    }

    /** The learned position embeddings (1, tokens, hidden): the registered parameter itself. */
    public Tensor positionEmbeddings() {
      return positionEmbeddings;
    }
  }

  /** Multi-head self-attention with one fused {@code qkv} projection and an output projection {@code proj}. */
  public static final class Attention extends JModule implements Layer {
    final LinearImpl qkv;
    final LinearImpl proj;
    final DropoutImpl attnDropout;
    final DropoutImpl projDropout;
    private final long numHeads;
    private final long headDim;
    private final double scale;

    public Attention(long hiddenSize, long numHeads, double attentionDropoutRate, double dropoutRate) {
      if (numHeads < 1 || hiddenSize % numHeads != 0) {
        throw new IllegalArgumentException("hidden_size " + hiddenSize + " must be a multiple of num_heads "
            + numHeads);
      }
      this.numHeads = numHeads;
      this.headDim = hiddenSize / numHeads;
      this.scale = Math.pow(headDim, -0.5);
      qkv = register("qkv", Nn.linear(hiddenSize, 3 * hiddenSize, true));
      proj = register("proj", Nn.linear(hiddenSize, hiddenSize, true));
      attnDropout = register("attn_dropout", Nn.dropout(attentionDropoutRate));
      projDropout = register("proj_dropout", Nn.dropout(dropoutRate));
    }

    /** (N, tokens, hidden) to (N, tokens, hidden). */
    @Override
    public Tensor forward(Tensor x) {
      long[] s = Tensors.shape(x);
      long batch = s[0];
      long tokens = s[1];
      long hidden = s[2];
      // (N, T, 3, heads, head_dim) -> (3, N, heads, T, head_dim)
      Tensor parts = qkv.forward(x).reshape(batch, tokens, 3, numHeads, headDim).permute(2, 0, 3, 1, 4);
      Tensor q = parts.select(0, 0);
      Tensor k = parts.select(0, 1);
      Tensor v = parts.select(0, 2);
      Tensor weights = q.matmul(k.transpose(-2, -1)).mul(new Scalar(scale)).softmax(-1);
      weights = attnDropout.forward(weights);
      Tensor out = weights.matmul(v).transpose(1, 2).reshape(batch, tokens, hidden);
      return projDropout.forward(proj.forward(out));
    }

    public long numHeads() {
      return numHeads;
    }
  }

  /** The feed-forward block: fc1, GELU, dropout, fc2, dropout. */
  public static final class Mlp extends JModule implements Layer {
    final LinearImpl fc1;
    final GELUImpl act;
    final LinearImpl fc2;
    final DropoutImpl dropout;

    public Mlp(long hiddenSize, long mlpDim, double dropoutRate) {
      fc1 = register("fc1", Nn.linear(hiddenSize, mlpDim, true));
      act = register("act", Nn.gelu());
      fc2 = register("fc2", Nn.linear(mlpDim, hiddenSize, true));
      dropout = register("dropout", Nn.dropout(dropoutRate));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor h = dropout.forward(act.forward(fc1.forward(x)));
      return dropout.forward(fc2.forward(h));
    }
  }

  /** One pre-norm layer: attention and MLP, each behind a LayerNorm and inside a residual connection. */
  public static final class EncoderLayer extends JModule implements Layer {
    final LayerNormImpl attentionNorm;
    final Attention attn;
    final LayerNormImpl ffnNorm;
    final Mlp ffn;

    public EncoderLayer(long hiddenSize, long numHeads, long mlpDim, double dropoutRate,
        double attentionDropoutRate) {
      attentionNorm = register("attention_norm", layerNorm(hiddenSize));
      attn = register("attn", new Attention(hiddenSize, numHeads, attentionDropoutRate, dropoutRate));
      ffnNorm = register("ffn_norm", layerNorm(hiddenSize));
      ffn = register("ffn", new Mlp(hiddenSize, mlpDim, dropoutRate));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor h = x.add(attn.forward(attentionNorm.forward(x)));
      return h.add(ffn.forward(ffnNorm.forward(h)));
    }
  }

  /** The stack of layers and the final LayerNorm. */
  public static final class Encoder extends JModule implements Layer {
    final ModuleList<EncoderLayer> layer;
    final LayerNormImpl encoderNorm;

    public Encoder(long hiddenSize, long numHeads, long mlpDim, int numLayers, double dropoutRate,
        double attentionDropoutRate) {
      ModuleList<EncoderLayer> layers = new ModuleList<>();
      for (int i = 0; i < numLayers; i++) {
        layers.add(new EncoderLayer(hiddenSize, numHeads, mlpDim, dropoutRate, attentionDropoutRate));
      }
      layer = register("layer", layers);
      encoderNorm = register("encoder_norm", layerNorm(hiddenSize));
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor h = x;
      for (EncoderLayer l : layer) {
        h = l.forward(h);
      }
      return encoderNorm.forward(h);
    }

    public int depth() {
      return layer.size();
    }
  }

  static LayerNormImpl layerNorm(long features) {
    return Nn.layerNorm(LAYER_NORM_EPS, true, features);
  }

  final Embeddings embeddings;
  final Encoder encoder;

  private final long inChannels;
  private final long[] gridSize;
  private final long[] tokenGrid;
  private final long patchSize;
  private final long hiddenSize;

  /**
   * {@code CANetTransformer(in_channels, grid_size, patch_size, hidden_size, num_heads, mlp_dim, num_layers,
   * dropout_rate, attention_dropout_rate)}.
   *
   * @param gridSize the (D, H, W) of the feature maps it will see; each must be a multiple of {@code patchSize}
   */
  public CANetTransformer(long inChannels, long[] gridSize, long patchSize, long hiddenSize, long numHeads,
      long mlpDim, int numLayers, double dropoutRate, double attentionDropoutRate) {
    if (gridSize == null || gridSize.length != 3) {
      throw new IllegalArgumentException("grid_size must be (D, H, W), got " + Arrays.toString(gridSize));
    }
    if (patchSize < 1) {
      throw new IllegalArgumentException("patch_size must be >= 1, got " + patchSize);
    }
    for (long g : gridSize) {
      if (g < patchSize || g % patchSize != 0) {
        throw new IllegalArgumentException("every side of the feature grid " + Arrays.toString(gridSize)
            + " must be a positive multiple of patch_size " + patchSize);
      }
    }
    if (numLayers < 1) {
      throw new IllegalArgumentException("num_layers must be >= 1, got " + numLayers);
    }
    if (mlpDim < 1 || hiddenSize < 1) {
      throw new IllegalArgumentException("hidden_size and mlp_dim must be >= 1, got " + hiddenSize + ", " + mlpDim);
    }
    if (numHeads < 1 || hiddenSize % numHeads != 0) {
      throw new IllegalArgumentException("hidden_size " + hiddenSize + " must be a multiple of num_heads " + numHeads);
    }
    this.inChannels = inChannels;
    this.gridSize = gridSize.clone();
    this.tokenGrid = Arrays.stream(gridSize).map(g -> g / patchSize).toArray();
    this.patchSize = patchSize;
    this.hiddenSize = hiddenSize;
    embeddings = register("embeddings", new Embeddings(inChannels, tokenGrid, patchSize, hiddenSize, dropoutRate));
    encoder = register("encoder", new Encoder(hiddenSize, numHeads, mlpDim, numLayers, dropoutRate,
        attentionDropoutRate));
  }

  /** (N, in_channels, D, H, W) to the (N, tokens, hidden) sequence after the final LayerNorm. */
  public Tensor tokens(Tensor x) {
    long[] shape = NetworkInputs.requireShape("CANetTransformer", "input", x, 3, inChannels);
    if (!Arrays.equals(NetworkInputs.spatial(shape), gridSize)) {
      throw new IllegalArgumentException("CANetTransformer was built for " + Arrays.toString(gridSize)
          + " feature maps (its position embeddings fix the number of tokens), got input shape "
          + Arrays.toString(shape));
    }
    return encoder.forward(embeddings.forward(x));
  }

  /** (N, in_channels, D, H, W) to the (N, hidden, D/p, H/p, W/p) map of the transformed tokens. */
  @Override
  public Tensor forward(Tensor x) {
    Tensor t = tokens(x);
    long batch = Tensors.shape(t)[0];
    return t.transpose(1, 2).reshape(batch, hiddenSize, tokenGrid[0], tokenGrid[1], tokenGrid[2]);
  }

  public long hiddenSize() {
    return hiddenSize;
  }

  public long patchSize() {
    return patchSize;
  }

  /** The (D, H, W) input grid. */
  public long[] gridSize() {
    return gridSize.clone();
  }

  /** The (D/p, H/p, W/p) grid of tokens. */
  public long[] tokenGrid() {
    return tokenGrid.clone();
  }

  public int depth() {
    return encoder.depth();
  }

  public Embeddings embeddings() {
    return embeddings;
  }

  public Encoder encoder() {
    return encoder;
  }
}
