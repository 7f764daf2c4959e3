package org.ssl4mis.losses;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.metrics.DistanceTransform;
import org.ssl4mis.tensor.Tensors;

/**
 * SASSNet's {@code compute_sdf} ({@code utils/util.py} of Li et al., "Shape-aware Semi-supervised 3D Semantic
 * Segmentation for Medical Images", MICCAI 2020): the normalised signed distance map of a binary mask, negative
 * inside, positive outside, 0 on the mask's inner boundary, in [-1, 1]:
 * {@code (negdis - min(negdis)) / (max(negdis) - min(negdis)) - (posdis - min(posdis)) / (max(posdis) -
 * min(posdis))} with {@code posdis = distance_transform_edt(mask)}, {@code negdis = distance_transform_edt(~mask)},
 * then 0 on {@code skimage.segmentation.find_boundaries(mask, mode='inner')} (mask voxels with a face neighbour
 * outside the mask; the array edge is no boundary, as skimage's reflecting morphology has it). The distances are
 * the exact EDT of {@link DistanceTransform}, computed in double precision like NumPy's.
 *
 * <p>Degenerate masks: an empty mask gives 0 everywhere (SASSNet's {@code if posmask.any()}); a mask with no
 * outside voxel gives -1 everywhere (SASSNet divides 0 by 0 there and returns NaN; the fix keeps a training loss
 * finite on a patch that lies wholly inside one class).
 */
public final class SignedDistanceMaps {
  private SignedDistanceMaps() {}

  /** The normalised signed distance map of one C-order mask of {@code shape}. */
  public static double[] normalizedSdf(boolean[] mask, int[] shape) {
    int n = mask.length;
    double[] sdf = new double[n];
    boolean any = false;
    boolean all = true;
    for (boolean b : mask) {
      any |= b;
      all &= b;
    }
    if (!any) {
      return sdf;
    }
    if (all) {
      Arrays.fill(sdf, -1.0);
      return sdf;
    }
    boolean[] outside = new boolean[n];
    for (int i = 0; i < n; i++) {
      outside[i] = !mask[i];
    }
    double[] posdis = DistanceTransform.distances(mask, shape, null, null);
    double[] negdis = DistanceTransform.distances(outside, shape, null, null);
    double posMin = Arrays.stream(posdis).min().orElseThrow();
    double posMax = Arrays.stream(posdis).max().orElseThrow();
    double negMin = Arrays.stream(negdis).min().orElseThrow();
    double negMax = Arrays.stream(negdis).max().orElseThrow();
    boolean[] boundary = innerBoundary(mask, shape);
    for (int i = 0; i < n; i++) {
      sdf[i] = boundary[i] ? 0.0
          : (negdis[i] - negMin) / (negMax - negMin) - (posdis[i] - posMin) / (posMax - posMin);
    }
    return sdf;
  }

  /**
   * {@code find_boundaries(mask, connectivity=1, mode='inner')}: the mask voxels with at least one face
   * neighbour (inside the array) that is not in the mask.
   */
  public static boolean[] innerBoundary(boolean[] mask, int[] shape) {
    int n = mask.length;
    int[] strides = new int[shape.length];
    int stride = 1;
    for (int a = shape.length - 1; a >= 0; a--) {
      strides[a] = stride;
      stride *= shape[a];
    }
    if (stride != n) {
      throw new IllegalArgumentException("mask of " + n + " voxels does not have shape " + Arrays.toString(shape));
    }
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      if (!mask[i]) {
        continue;
      }
      for (int a = 0; a < shape.length && !out[i]; a++) {
        int coord = (i / strides[a]) % shape[a];
        if ((coord > 0 && !mask[i - strides[a]]) || (coord < shape[a] - 1 && !mask[i + strides[a]])) {
          out[i] = true;
        }
      }
    }
    return out;
  }

  /**
   * The ground-truth SDF of a label batch, one channel per class: channel {@code c} of sample {@code b} is
   * {@link #normalizedSdf} of {@code labels[b] == c}. Labels (B, *spatial) of class indices; the result (B,
   * classes, *spatial) float32 on the labels' device, without gradient (SASSNet computes it under
   * {@code no_grad} on the CPU).
   */
  public static Tensor compute_sdf(Tensor labels, int classes) {
    long[] shape = Tensors.shape(labels);
    if (shape.length < 2) {
      throw new IllegalArgumentException("compute_sdf expects labels (B, *spatial), got " + Arrays.toString(shape));
    }
    int batch = Math.toIntExact(shape[0]);
    int[] spatial = new int[shape.length - 1];
    int voxels = 1;
    for (int a = 1; a < shape.length; a++) {
      spatial[a - 1] = Math.toIntExact(shape[a]);
      voxels *= spatial[a - 1];
    }
    long[] values = Tensors.toLongs(labels.to(torch.ScalarType.Long));
    float[] out = new float[batch * classes * voxels];
    boolean[] mask = new boolean[voxels];
    for (int b = 0; b < batch; b++) {
      for (int c = 0; c < classes; c++) {
        for (int i = 0; i < voxels; i++) {
          mask[i] = values[b * voxels + i] == c;
        }
        double[] sdf = normalizedSdf(mask, spatial);
        int base = (b * classes + c) * voxels;
        for (int i = 0; i < voxels; i++) {
          out[base + i] = (float) sdf[i];
        }
      }
    }
    long[] outShape = new long[shape.length + 1];
    outShape[0] = batch;
    outShape[1] = classes;
    System.arraycopy(shape, 1, outShape, 2, shape.length - 1);
    return Tensors.fromFloats(out, outShape).to(labels.device(), torch.ScalarType.Float);
  }
}
