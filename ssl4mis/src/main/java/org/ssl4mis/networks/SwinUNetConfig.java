package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Every value of SSL4MIS's yacs config ({@code code/config.py}) that {@code SwinUnet} (ViT_Seg) reads, with the
 * defaults of {@code configs/swin_tiny_patch4_window7_224_lite.yaml} merged over {@code config.py}'s: the
 * configuration every ViT_Seg experiment of the reference trains.
 *
 * <table>
 *   <caption>Fields and where the reference reads them</caption>
 *   <tr><th>field</th><th>yacs key</th><th>reference value</th></tr>
 *   <tr><td>imgSize</td><td>DATA.IMG_SIZE</td><td>224 (SwinUnet's own {@code img_size} argument is ignored)</td></tr>
 *   <tr><td>patchSize</td><td>MODEL.SWIN.PATCH_SIZE</td><td>4</td></tr>
 *   <tr><td>inChans</td><td>MODEL.SWIN.IN_CHANS</td><td>3 (a 1-channel input is repeated to 3 by the wrapper)</td></tr>
 *   <tr><td>embedDim</td><td>MODEL.SWIN.EMBED_DIM</td><td>96</td></tr>
 *   <tr><td>depths</td><td>MODEL.SWIN.DEPTHS</td><td>[2, 2, 2, 2] (encoder, and decoder in reverse)</td></tr>
 *   <tr><td>decoderDepths</td><td>MODEL.SWIN.DECODER_DEPTHS</td><td>[2, 2, 2, 1]; <b>unused</b>: SwinUnet never
 *       passes it and SwinTransformerSys builds its decoder from {@code depths}; kept for completeness</td></tr>
 *   <tr><td>numHeads</td><td>MODEL.SWIN.NUM_HEADS</td><td>[3, 6, 12, 24]</td></tr>
 *   <tr><td>windowSize</td><td>MODEL.SWIN.WINDOW_SIZE</td><td>7</td></tr>
 *   <tr><td>mlpRatio</td><td>MODEL.SWIN.MLP_RATIO</td><td>4.0</td></tr>
 *   <tr><td>qkvBias</td><td>MODEL.SWIN.QKV_BIAS</td><td>true</td></tr>
 *   <tr><td>qkScale</td><td>MODEL.SWIN.QK_SCALE</td><td>null: head_dim<sup>-1/2</sup> (so is 0, as Python's
 *       {@code or})</td></tr>
 *   <tr><td>dropRate</td><td>MODEL.DROP_RATE</td><td>0.0</td></tr>
 *   <tr><td>attnDropRate</td><td>(none)</td><td>0.0: SwinTransformerSys's {@code attn_drop_rate}, which the config
 *       cannot reach</td></tr>
 *   <tr><td>dropPathRate</td><td>MODEL.DROP_PATH_RATE</td><td>0.2 (yaml; config.py says 0.1)</td></tr>
 *   <tr><td>ape</td><td>MODEL.SWIN.APE</td><td>false</td></tr>
 *   <tr><td>patchNorm</td><td>MODEL.SWIN.PATCH_NORM</td><td>true</td></tr>
 *   <tr><td>useCheckpoint</td><td>TRAIN.USE_CHECKPOINT</td><td>false (gradient checkpointing: not implemented here,
 *       {@link SwinUNet} rejects true)</td></tr>
 *   <tr><td>finalUpsample</td><td>MODEL.SWIN.FINAL_UPSAMPLE</td><td>"expand_first" (the only value with an output
 *       head)</td></tr>
 * </table>
 *
 * <p>The number of classes is not part of it: as in the reference, it is the network's constructor argument.
 * Arrays are copied in and out; equality is by value.
 */
public record SwinUNetConfig(
    long imgSize,
    long patchSize,
    long inChans,
    long embedDim,
    long[] depths,
    long[] decoderDepths,
    long[] numHeads,
    long windowSize,
    double mlpRatio,
    boolean qkvBias,
    Double qkScale,
    double dropRate,
    double attnDropRate,
    double dropPathRate,
    boolean ape,
    boolean patchNorm,
    boolean useCheckpoint,
    String finalUpsample) {

  /** The option names {@link #fromOptions} accepts: SwinTransformerSys's Python argument names. */
  public static final Set<String> OPTION_NAMES = Set.of("img_size", "patch_size", "in_chans", "embed_dim", "depths",
      "depths_decoder", "num_heads", "window_size", "mlp_ratio", "qkv_bias", "qk_scale", "drop_rate",
      "attn_drop_rate", "drop_path_rate", "ape", "patch_norm", "use_checkpoint", "final_upsample");

  public SwinUNetConfig {
    depths = Objects.requireNonNull(depths, "depths").clone();
    decoderDepths = Objects.requireNonNull(decoderDepths, "decoderDepths").clone();
    numHeads = Objects.requireNonNull(numHeads, "numHeads").clone();
    Objects.requireNonNull(finalUpsample, "finalUpsample");
    positive("img_size", imgSize);
    positive("patch_size", patchSize);
    positive("in_chans", inChans);
    positive("embed_dim", embedDim);
    positive("window_size", windowSize);
    if (depths.length == 0) {
      throw new IllegalArgumentException("depths is empty");
    }
    for (long d : depths) {
      positive("depths", d);
    }
    if (numHeads.length != depths.length) {
      throw new IllegalArgumentException("num_heads " + Arrays.toString(numHeads) + " needs one entry per stage of"
          + " depths " + Arrays.toString(depths));
    }
    for (long h : numHeads) {
      positive("num_heads", h);
    }
    if (!(mlpRatio > 0)) {
      throw new IllegalArgumentException("mlp_ratio must be > 0, got " + mlpRatio);
    }
    probability("drop_rate", dropRate);
    probability("attn_drop_rate", attnDropRate);
    probability("drop_path_rate", dropPathRate);
  }

  /** The reference's configuration: swin_tiny_patch4_window7_224_lite.yaml over config.py's defaults. */
  public static SwinUNetConfig reference() {
    return new SwinUNetConfig(224, 4, 3, 96, new long[] {2, 2, 2, 2}, new long[] {2, 2, 2, 1},
        new long[] {3, 6, 12, 24}, 7, 4.0, true, null, 0.0, 0.0, 0.2, false, true, false, "expand_first");
  }

  @Override
  public long[] depths() {
    return depths.clone();
  }

  @Override
  public long[] decoderDepths() {
    return decoderDepths.clone();
  }

  @Override
  public long[] numHeads() {
    return numHeads.clone();
  }

  /** Number of encoder stages ({@code len(depths)}). */
  public int numLayers() {
    return depths.length;
  }

  /** Tokens per side after the patch embedding ({@code img_size // patch_size}). */
  public long patchesResolution() {
    return imgSize / patchSize;
  }

  public SwinUNetConfig withImgSize(long v) {
    return new SwinUNetConfig(v, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withPatchSize(long v) {
    return new SwinUNetConfig(imgSize, v, inChans, embedDim, depths, decoderDepths, numHeads, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withInChans(long v) {
    return new SwinUNetConfig(imgSize, patchSize, v, embedDim, depths, decoderDepths, numHeads, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withEmbedDim(long v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, v, depths, decoderDepths, numHeads, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withDepths(long... v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, v, decoderDepths, numHeads, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withDecoderDepths(long... v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, v, numHeads, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withNumHeads(long... v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, v, windowSize, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withWindowSize(long v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, v, mlpRatio,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withMlpRatio(double v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize, v,
        qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withQkvBias(boolean v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, v, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  /** {@code qk_scale}; null (or 0) for the default head_dim<sup>-1/2</sup>. */
  public SwinUNetConfig withQkScale(Double v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, v, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withDropRate(double v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, v, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withAttnDropRate(double v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, dropRate, v, dropPathRate, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withDropPathRate(double v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, dropRate, attnDropRate, v, ape, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withApe(boolean v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, v, patchNorm, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withPatchNorm(boolean v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, v, useCheckpoint, finalUpsample);
  }

  public SwinUNetConfig withUseCheckpoint(boolean v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, v, finalUpsample);
  }

  public SwinUNetConfig withFinalUpsample(String v) {
    return new SwinUNetConfig(imgSize, patchSize, inChans, embedDim, depths, decoderDepths, numHeads, windowSize,
        mlpRatio, qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape, patchNorm, useCheckpoint, v);
  }

  /**
   * {@link #reference()} with factory options (SwinTransformerSys's Python argument names, see
   * {@link #OPTION_NAMES}) applied; {@code qk_scale=none} keeps the default scale.
   *
   * @throws IllegalArgumentException for an unknown option or a value that does not parse
   */
  public static SwinUNetConfig fromOptions(Networks.Options o) {
    o.requireOnly("ViT_Seg", OPTION_NAMES);
    SwinUNetConfig r = reference();
    String qk = o.string("qk_scale", null);
    Double qkScale = qk == null || qk.isBlank() || Set.of("none", "null").contains(qk.strip().toLowerCase(Locale.ROOT))
        ? r.qkScale() : Double.valueOf(o.doubles("qk_scale", null)[0]);
    return new SwinUNetConfig(
        o.integer("img_size", r.imgSize()),
        o.integer("patch_size", r.patchSize()),
        o.integer("in_chans", r.inChans()),
        o.integer("embed_dim", r.embedDim()),
        o.longs("depths", r.depths()),
        o.longs("depths_decoder", r.decoderDepths()),
        o.longs("num_heads", r.numHeads()),
        o.integer("window_size", r.windowSize()),
        single(o, "mlp_ratio", r.mlpRatio()),
        o.bool("qkv_bias", r.qkvBias()),
        qkScale,
        single(o, "drop_rate", r.dropRate()),
        single(o, "attn_drop_rate", r.attnDropRate()),
        single(o, "drop_path_rate", r.dropPathRate()),
        o.bool("ape", r.ape()),
        o.bool("patch_norm", r.patchNorm()),
        o.bool("use_checkpoint", r.useCheckpoint()),
        o.string("final_upsample", r.finalUpsample()));
  }

  private static double single(Networks.Options o, String name, double fallback) {
    double[] v = o.doubles(name, new double[] {fallback});
    if (v.length != 1) {
      throw new IllegalArgumentException("network option " + name + " takes one number, got " + Arrays.toString(v));
    }
    return v[0];
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SwinUNetConfig c
        && imgSize == c.imgSize && patchSize == c.patchSize && inChans == c.inChans && embedDim == c.embedDim
        && Arrays.equals(depths, c.depths) && Arrays.equals(decoderDepths, c.decoderDepths)
        && Arrays.equals(numHeads, c.numHeads) && windowSize == c.windowSize
        && Double.compare(mlpRatio, c.mlpRatio) == 0 && qkvBias == c.qkvBias && Objects.equals(qkScale, c.qkScale)
        && Double.compare(dropRate, c.dropRate) == 0 && Double.compare(attnDropRate, c.attnDropRate) == 0
        && Double.compare(dropPathRate, c.dropPathRate) == 0 && ape == c.ape && patchNorm == c.patchNorm
        && useCheckpoint == c.useCheckpoint && finalUpsample.equals(c.finalUpsample);
  }

  @Override
  public int hashCode() {
    return Objects.hash(imgSize, patchSize, inChans, embedDim, Arrays.hashCode(depths), Arrays.hashCode(decoderDepths),
        Arrays.hashCode(numHeads), windowSize, mlpRatio, qkvBias, qkScale, dropRate, attnDropRate, dropPathRate, ape,
        patchNorm, useCheckpoint, finalUpsample);
  }

  @Override
  public String toString() {
    return "SwinUNetConfig[img_size=" + imgSize + ", patch_size=" + patchSize + ", in_chans=" + inChans
        + ", embed_dim=" + embedDim + ", depths=" + Arrays.toString(depths) + ", depths_decoder="
        + Arrays.toString(decoderDepths) + ", num_heads=" + Arrays.toString(numHeads) + ", window_size=" + windowSize
        + ", mlp_ratio=" + mlpRatio + ", qkv_bias=" + qkvBias + ", qk_scale=" + qkScale + ", drop_rate=" + dropRate
        + ", attn_drop_rate=" + attnDropRate + ", drop_path_rate=" + dropPathRate + ", ape=" + ape + ", patch_norm="
        + patchNorm + ", use_checkpoint=" + useCheckpoint + ", final_upsample=" + finalUpsample + "]";
  }

  private static void positive(String what, long v) {
    if (v < 1) {
      throw new IllegalArgumentException(what + " must be >= 1, got " + v);
    }
  }

  private static void probability(String what, double p) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException(what + " must be in [0, 1], got " + p);
    }
  }
}
