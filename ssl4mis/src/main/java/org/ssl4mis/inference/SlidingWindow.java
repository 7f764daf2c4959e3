package org.ssl4mis.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.data.Volume;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.tensor.Tensors;

/**
 * Sliding-window inference of a whole 3D volume, as {@code test_single_case(net, image, stride_xy, stride_z,
 * patch_size, num_classes)} of the reference's {@code test_3D_util.py} / {@code val_3D.py} (and UA-MT's
 * {@code test_util.py}, which is the same function) computes it:
 *
 * <ol>
 *   <li>an axis shorter than the patch is zero-padded to the patch size, {@code pad // 2} before and the rest
 *       after (the other axes are not padded);
 *   <li>the window grid has {@code sx = ceil((ww - patch[0]) / stride_xy) + 1} positions along the first axis,
 *       likewise {@code sy} with {@code stride_xy} and {@code sz} with {@code stride_z}; window {@code i} starts
 *       at {@code min(stride * i, ww - patch)}, so the last window is clamped to the border;
 *   <li>windows are visited x-major, then y, then z; each adds the softmax of the network's logits to a
 *       float32 score map and 1 to a float32 count map;
 *   <li>{@code score_map / cnt} (float32; a voxel no window covered, possible only when a stride exceeds the
 *       patch, is 0/0 = NaN, as in NumPy), argmax over the classes (ties and NaN: the first, as
 *       {@code np.argmax}), and the padding cropped off.
 * </ol>
 *
 * <p>The image is in the axis order of the HDF5 file ({@code (w, h, d)} in the reference's names; (x, y, z) for
 * LA): the patch and {@code stride_xy} apply to the first two axes, {@code stride_z} to the third. The network runs
 * in {@link InferenceMode} (the caller puts it in eval mode, as the reference's callers do); each batch of windows
 * runs in its own {@link MemoryScope}.
 *
 * <p>The reference's settings: UA-MT's {@code test_LA.py} uses patch 112x112x80, stride_xy 18, stride_z 4
 * ({@link Config#la}); SSL4MIS's {@code test_3D.py} on BraTS 96x96x96, 64, 64 ({@link Config#brats}); the 3D
 * training scripts validate with their {@code patch_size} and 64, 64 ({@link Config#validation}).
 *
 * <p><b>Beyond the reference</b> (all off in the presets, which reproduce the reference exactly):
 * <ul>
 *   <li>{@link Config#withBatchSize window batches}: several windows per network call. The accumulation order
 *       is unchanged, so with a network whose output for a window does not depend on the other windows of the
 *       batch (eval mode) the result is the same as one window at a time, up to the floating-point differences
 *       a backend may show between batch sizes.
 *   <li>{@link Config#withGaussian Gaussian importance weighting} (as nnU-Net does it): each window's
 *       probabilities are multiplied by {@code g(v) = exp(-sum_i (v_i - c_i)^2 / (2 (s p_i)^2))}, with
 *       {@code c_i = (p_i - 1) / 2} the patch centre, {@code p_i} the patch size and {@code s} the sigma scale
 *       (nnU-Net's 1/8), normalised to a maximum of 1 and floored at 1e-6; the count map accumulates
 *       {@code g} instead of 1. Voxels near a window's border, where the network sees least context, then
 *       count less than central ones.
 *   <li>{@link Config#withFlips test-time flips}: each window is also evaluated flipped along every non-empty
 *       subset of the given axes (0, 1, 2 = the volume's axes); the probabilities, flipped back, are averaged
 *       (identity first, then the subsets in a fixed order) before they enter the score map.
 * </ul>
 */
public final class SlidingWindow {
  private SlidingWindow() {}

  /**
   * The settings of a sliding-window run.
   *
   * @param patchSize the window (and network input) size, three sides
   * @param strideXy the step along the first two axes
   * @param strideZ the step along the third axis
   * @param numClasses the number of network output channels
   * @param batchSize windows per network call (1 = the reference)
   * @param gaussianSigmaScale sigma of the importance weights as a fraction of the patch side; 0 = off (the
   *     reference: every window counts 1 everywhere)
   * @param flipAxes axes (0..2) whose flips are averaged in; empty = off (the reference)
   */
  public record Config(int[] patchSize, int strideXy, int strideZ, int numClasses, int batchSize,
      double gaussianSigmaScale, int[] flipAxes) {
    public Config {
      patchSize = patchSize.clone();
      flipAxes = flipAxes.clone();
      if (patchSize.length != 3) {
        throw new IllegalArgumentException("a 3D patch has three sides, got " + Arrays.toString(patchSize));
      }
      for (int p : patchSize) {
        if (p < 1) {
          throw new IllegalArgumentException("patch sides must be positive, got " + Arrays.toString(patchSize));
        }
      }
      if (strideXy < 1 || strideZ < 1) {
        throw new IllegalArgumentException("strides must be positive, got stride_xy " + strideXy + ", stride_z " + strideZ);
      }
      if (numClasses < 1) {
        throw new IllegalArgumentException("num_classes must be at least 1, got " + numClasses);
      }
      if (batchSize < 1) {
        throw new IllegalArgumentException("the window batch size must be at least 1, got " + batchSize);
      }
      if (!(gaussianSigmaScale >= 0) || Double.isInfinite(gaussianSigmaScale)) {
        throw new IllegalArgumentException("the Gaussian sigma scale must be 0 (off) or positive, got " + gaussianSigmaScale);
      }
      boolean[] seen = new boolean[3];
      for (int a : flipAxes) {
        if (a < 0 || a > 2 || seen[a]) {
          throw new IllegalArgumentException("flip axes are distinct values among 0, 1, 2; got " + Arrays.toString(flipAxes));
        }
        seen[a] = true;
      }
    }

    /** {@code test_single_case(net, image, stride_xy, stride_z, patch_size, num_classes)}: the reference as is. */
    public static Config of(int[] patchSize, int strideXy, int strideZ, int numClasses) {
      return new Config(patchSize, strideXy, strideZ, numClasses, 1, 0, new int[0]);
    }

    /** UA-MT's {@code test_LA.py}: patch 112x112x80, stride_xy 18, stride_z 4, 2 classes. */
    public static Config la() {
      return of(new int[] {112, 112, 80}, 18, 4, 2);
    }

    /** SSL4MIS's {@code test_3D.py} (BraTS2019): patch 96x96x96, stride_xy 64, stride_z 64, 2 classes. */
    public static Config brats() {
      return of(new int[] {96, 96, 96}, 64, 64, 2);
    }

    /** The validation of the 3D training scripts: their {@code patch_size}, stride_xy 64, stride_z 64. */
    public static Config validation(int[] patchSize, int numClasses) {
      return of(patchSize, 64, 64, numClasses);
    }

    /** The same settings with {@code n} windows per network call. */
    public Config withBatchSize(int n) {
      return new Config(patchSize, strideXy, strideZ, numClasses, n, gaussianSigmaScale, flipAxes);
    }

    /** The same settings with Gaussian importance weights of sigma {@code scale * patch} (nnU-Net: 1/8); 0 = off. */
    public Config withGaussian(double scale) {
      return new Config(patchSize, strideXy, strideZ, numClasses, batchSize, scale, flipAxes);
    }

    /** The same settings with test-time flips over the given axes (none = off). */
    public Config withFlips(int... axes) {
      return new Config(patchSize, strideXy, strideZ, numClasses, batchSize, gaussianSigmaScale, axes);
    }

    @Override
    public int[] patchSize() {
      return patchSize.clone();
    }

    @Override
    public int[] flipAxes() {
      return flipAxes.clone();
    }

    /** Whether these settings are exactly the reference's computation (batching aside). */
    public boolean isReference() {
      return gaussianSigmaScale == 0 && flipAxes.length == 0;
    }
  }

  /**
   * The outcome for one volume.
   *
   * @param labels the label map, int64 class indices in C order, of the input's shape
   * @param scores the averaged probabilities {@code (numClasses, *shape)} in C order (the reference's
   *     {@code score_map}, cropped), or null when not asked for
   * @param shape the input's shape
   * @param numClasses the number of classes (channels of {@code scores})
   * @param windows how many windows were evaluated
   */
  public record Prediction(long[] labels, float[] scores, int[] shape, int numClasses, int windows) {
    @Override
    public int[] shape() {
      return shape.clone();
    }
  }

  /** The label map of {@code volume}'s image ({@link #run(Networks.Network, float[], int[], Config, boolean, Device)}). */
  public static long[] predict(Networks.Network net, Volume volume, Config config, Device device) {
    return run(net, volume.image(), volume.shape(), config, false, device).labels();
  }

  /** Sliding-window inference with a network's main output ({@link Networks.Network#logits}). */
  public static Prediction run(Networks.Network net, float[] image, int[] shape, Config config, boolean withScores,
      Device device) {
    Objects.requireNonNull(net, "net");
    return run(net::logits, image, shape, config, withScores, device);
  }

  /**
   * Sliding-window inference with any function from an input batch {@code (n, 1, *patch)} to logits
   * {@code (n, numClasses, *patch)}.
   *
   * @param image the volume, C order, float32
   * @param shape its three sides
   * @param withScores whether to return the averaged probabilities too
   * @param device where the network runs (null: CPU)
   */
  public static Prediction run(UnaryOperator<Tensor> logits, float[] image, int[] shape, Config config, boolean withScores,
      Device device) {
    Objects.requireNonNull(logits, "logits");
    Objects.requireNonNull(config, "config");
    if (shape.length != 3) {
      throw new IllegalArgumentException("sliding-window inference takes a 3D volume, got shape " + Arrays.toString(shape));
    }
    long voxels = (long) shape[0] * shape[1] * shape[2];
    if (image.length != voxels) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + voxels + " voxels but the image has "
          + image.length);
    }
    int[] patch = config.patchSize();
    int[][] pad = padding(shape, patch);
    int[] padded = new int[3];
    for (int a = 0; a < 3; a++) {
      padded[a] = shape[a] + pad[a][0] + pad[a][1];
    }
    float[] source = pad[0][0] + pad[0][1] + pad[1][0] + pad[1][1] + pad[2][0] + pad[2][1] == 0 ? image
        : padImage(image, shape, pad, padded);
    List<int[]> starts = windowStarts(padded, patch, config.strideXy(), config.strideZ());
    Device where = device == null ? new Device("cpu") : device;
    int classes = config.numClasses();

    try (MemoryScope outer = MemoryScope.open(); InferenceMode inference = new InferenceMode()) {
      Tensor volume = Tensors.fromFloats(source, padded[0], padded[1], padded[2]).to(where, torch.ScalarType.Float);
      Tensor score = torch.zeros(classes, padded[0], padded[1], padded[2]).to(where, torch.ScalarType.Float);
      Tensor count = torch.zeros(padded[0], padded[1], padded[2]).to(where, torch.ScalarType.Float);
      Tensor weight = config.gaussianSigmaScale() > 0
          ? Tensors.fromFloats(gaussian(patch, config.gaussianSigmaScale()), patch[0], patch[1], patch[2])
              .to(where, torch.ScalarType.Float)
          : null;
      List<long[]> flips = flipSets(config.flipAxes());

      for (int first = 0; first < starts.size(); first += config.batchSize()) {
        int n = Math.min(config.batchSize(), starts.size() - first);
        try (MemoryScope batchScope = MemoryScope.open()) {
          TensorVector windows = new TensorVector();
          for (int i = 0; i < n; i++) {
            windows.push_back(window(volume, starts.get(first + i), patch).unsqueeze(0).unsqueeze(0));
          }
          Tensor batch = torch.cat(windows, 0); // (n, 1, *patch), contiguous
          Tensor probabilities = probabilities(logits, batch, flips, classes, patch);
          for (int i = 0; i < n; i++) {
            int[] s = starts.get(first + i);
            Tensor p = probabilities.select(0, i);
            Tensor scoreWindow = window(score, s, patch, 1);
            Tensor countWindow = window(count, s, patch, 0);
            if (weight == null) {
              scoreWindow.add_(p);
              countWindow.add_(new Scalar(1.0));
            } else {
              scoreWindow.add_(p.mul(weight));
              countWindow.add_(weight);
            }
          }
        }
      }
      score.div_(count.unsqueeze(0));
      Tensor cropped = crop(score, pad, shape);
      long[] labels = Tensors.toLongs(torch.argmax(cropped, new LongOptional(0), false));
      float[] scores = withScores ? Tensors.toFloats(cropped.contiguous()) : null;
      return new Prediction(labels, scores, shape.clone(), classes, starts.size());
    }
  }

  /**
   * The reference's padding of an axis shorter than the patch: {@code {pad // 2, pad - pad // 2}} with
   * {@code pad = patch - n}, else {@code {0, 0}}; one row per axis.
   */
  public static int[][] padding(int[] shape, int[] patch) {
    int[][] pad = new int[3][2];
    for (int a = 0; a < 3; a++) {
      int p = shape[a] < patch[a] ? patch[a] - shape[a] : 0;
      pad[a][0] = p / 2;
      pad[a][1] = p - p / 2;
    }
    return pad;
  }

  /**
   * The windows' start corners in the (padded) volume, in the reference's visiting order: x-major, then y,
   * then z; {@code min(stride * i, n - patch)} along each axis, for {@code i < ceil((n - patch) / stride) + 1}.
   */
  public static List<int[]> windowStarts(int[] paddedShape, int[] patch, int strideXy, int strideZ) {
    int[] stride = {strideXy, strideXy, strideZ};
    int[] steps = new int[3];
    for (int a = 0; a < 3; a++) {
      if (paddedShape[a] < patch[a]) {
        throw new IllegalArgumentException("axis " + a + " of " + Arrays.toString(paddedShape) + " is shorter than the patch "
            + Arrays.toString(patch) + "; pad it first");
      }
      steps[a] = Math.ceilDiv(paddedShape[a] - patch[a], stride[a]) + 1;
    }
    List<int[]> out = new ArrayList<>(steps[0] * steps[1] * steps[2]);
    for (int x = 0; x < steps[0]; x++) {
      int xs = Math.min(stride[0] * x, paddedShape[0] - patch[0]);
      for (int y = 0; y < steps[1]; y++) {
        int ys = Math.min(stride[1] * y, paddedShape[1] - patch[1]);
        for (int z = 0; z < steps[2]; z++) {
          int zs = Math.min(stride[2] * z, paddedShape[2] - patch[2]);
          out.add(new int[] {xs, ys, zs});
        }
      }
    }
    return out;
  }

  /**
   * The Gaussian importance map of {@link Config#withGaussian}: {@code exp(-sum_i (v_i - c_i)^2 / (2 (s p_i)^2))}
   * over the patch, C order, normalised to a maximum of 1 and floored at 1e-6.
   */
  public static float[] gaussian(int[] patch, double sigmaScale) {
    if (!(sigmaScale > 0)) {
      throw new IllegalArgumentException("sigma scale must be positive, got " + sigmaScale);
    }
    double[][] axis = new double[3][];
    for (int a = 0; a < 3; a++) {
      axis[a] = new double[patch[a]];
      double c = (patch[a] - 1) / 2.0;
      double sigma = sigmaScale * patch[a];
      for (int i = 0; i < patch[a]; i++) {
        double d = i - c;
        axis[a][i] = -d * d / (2 * sigma * sigma);
      }
    }
    double max = Math.exp(max(axis[0]) + max(axis[1]) + max(axis[2]));
    float[] out = new float[patch[0] * patch[1] * patch[2]];
    int k = 0;
    for (int x = 0; x < patch[0]; x++) {
      for (int y = 0; y < patch[1]; y++) {
        for (int z = 0; z < patch[2]; z++) {
          out[k++] = (float) Math.max(1e-6, Math.exp(axis[0][x] + axis[1][y] + axis[2][z]) / max);
        }
      }
    }
    return out;
  }

  private static double max(double[] v) {
    double m = Double.NEGATIVE_INFINITY;
    for (double d : v) {
      m = Math.max(m, d);
    }
    return m;
  }

  /** The flip sets averaged per window: the identity, then every non-empty subset of the axes. */
  private static List<long[]> flipSets(int[] axes) {
    List<long[]> sets = new ArrayList<>();
    sets.add(new long[0]);
    for (int mask = 1; mask < (1 << axes.length); mask++) {
      long[] dims = new long[Integer.bitCount(mask)];
      int k = 0;
      for (int i = 0; i < axes.length; i++) {
        if ((mask & (1 << i)) != 0) {
          dims[k++] = axes[i] + 2; // tensor dims of (n, c, x, y, z)
        }
      }
      sets.add(dims);
    }
    return sets;
  }

  /** {@code softmax(net(batch), dim=1)}, averaged over the flip sets when there are several. */
  private static Tensor probabilities(UnaryOperator<Tensor> logits, Tensor batch, List<long[]> flips, int classes,
      int[] patch) {
    Tensor sum = null;
    for (long[] dims : flips) {
      Tensor input = dims.length == 0 ? batch : torch.flip(batch, dims);
      Tensor out = logits.apply(input);
      checkOutput(out, batch.size(0), classes, patch);
      Tensor p = torch.softmax(out, 1);
      if (dims.length > 0) {
        p = torch.flip(p, dims);
      }
      sum = sum == null ? p : sum.add(p);
    }
    return flips.size() == 1 ? sum : sum.div(new Scalar((float) flips.size()));
  }

  private static void checkOutput(Tensor out, long n, int classes, int[] patch) {
    long[] s = Tensors.shape(out);
    long[] expected = {n, classes, patch[0], patch[1], patch[2]};
    if (!Arrays.equals(s, expected)) {
      throw new IllegalArgumentException("the network gave logits of shape " + Arrays.toString(s) + " for windows of "
          + Arrays.toString(patch) + "; expected " + Arrays.toString(expected) + " (num_classes " + classes + ")");
    }
  }

  /** The patch of a (x, y, z) tensor at {@code start}. */
  private static Tensor window(Tensor t, int[] start, int[] patch) {
    return window(t, start, patch, 0);
  }

  /** The patch at {@code start} of a tensor whose spatial axes begin at {@code firstAxis}. */
  private static Tensor window(Tensor t, int[] start, int[] patch, int firstAxis) {
    return t.narrow(firstAxis, start[0], patch[0]).narrow(firstAxis + 1, start[1], patch[1])
        .narrow(firstAxis + 2, start[2], patch[2]);
  }

  /** {@code score_map[:, wl:wl + w, hl:hl + h, dl:dl + d]}. */
  private static Tensor crop(Tensor score, int[][] pad, int[] shape) {
    return score.narrow(1, pad[0][0], shape[0]).narrow(2, pad[1][0], shape[1]).narrow(3, pad[2][0], shape[2]);
  }

  /** {@code np.pad(image, pad, mode='constant', constant_values=0)}. */
  private static float[] padImage(float[] image, int[] shape, int[][] pad, int[] padded) {
    float[] out = new float[padded[0] * padded[1] * padded[2]];
    for (int x = 0; x < shape[0]; x++) {
      for (int y = 0; y < shape[1]; y++) {
        int src = (x * shape[1] + y) * shape[2];
        int dst = ((x + pad[0][0]) * padded[1] + (y + pad[1][0])) * padded[2] + pad[2][0];
        System.arraycopy(image, src, out, dst, shape[2]);
      }
    }
    return out;
  }
}
