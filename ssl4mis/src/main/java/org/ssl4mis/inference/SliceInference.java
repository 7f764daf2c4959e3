package org.ssl4mis.inference;

import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.data.Ndimage;
import org.ssl4mis.data.Volume;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.tensor.Tensors;

/**
 * Slice-wise 2D inference of a volume as {@code val_2D.test_single_volume} and {@code test_2D_fully} do it:
 * each slice zoomed to the patch size (nearest neighbour, scipy-exact), the network's argmax, zoomed back
 * to the slice size. Slices are run in batches (eval mode makes that equal to one at a time).
 */
public final class SliceInference {
  private SliceInference() {}

  /** The predicted label map of a (D, H, W) volume, as int64 class indices in C order. */
  public static long[] predict(Networks.Network net, Volume volume, int[] patchSize, int sliceBatch,
      org.bytedeco.pytorch.Device device) {
    int[] s = volume.shape();
    if (s.length != 3) {
      throw new IllegalArgumentException("slice-wise inference takes a (D, H, W) volume; " + volume.name() + " is "
          + java.util.Arrays.toString(s));
    }
    int depth = s[0];
    int h = s[1];
    int w = s[2];
    int sliceVoxels = h * w;
    int patchVoxels = patchSize[0] * patchSize[1];
    double[] down = {(double) patchSize[0] / h, (double) patchSize[1] / w};
    long[] prediction = new long[volume.voxels()];
    float[] image = volume.image();
    for (int start = 0; start < depth; start += sliceBatch) {
      int n = Math.min(sliceBatch, depth - start);
      float[] batch = new float[n * patchVoxels];
      for (int i = 0; i < n; i++) {
        float[] slice = java.util.Arrays.copyOfRange(image, (start + i) * sliceVoxels, (start + i + 1) * sliceVoxels);
        float[] zoomed = Ndimage.zoom(slice, new int[] {h, w}, down, 0).data();
        System.arraycopy(zoomed, 0, batch, i * patchVoxels, patchVoxels);
      }
      long[] labels;
      try (MemoryScope scope = MemoryScope.open(); InferenceMode inference = new InferenceMode()) {
        Tensor input = Tensors.fromFloats(batch, n, 1, patchSize[0], patchSize[1]).to(device, torch.ScalarType.Float);
        Tensor out = torch.argmax(torch.softmax(net.logits(input), 1), new org.bytedeco.pytorch.LongOptional(1), false);
        labels = Tensors.toLongs(out);
      }
      for (int i = 0; i < n; i++) {
        long[] small = java.util.Arrays.copyOfRange(labels, i * patchVoxels, (i + 1) * patchVoxels);
        long[] back = Ndimage.zoomTo(small, patchSize, new int[] {h, w}, 0);
        System.arraycopy(back, 0, prediction, (start + i) * sliceVoxels, sliceVoxels);
      }
    }
    return prediction;
  }
}
