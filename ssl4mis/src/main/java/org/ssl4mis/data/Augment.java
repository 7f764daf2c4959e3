package org.ssl4mis.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The reference's training transforms, on {@link Volume}s, with one {@link SplittableRandom} per sample.
 * Each method draws its random numbers in the same order as the Python (so a reader can follow it), from
 * Java's generator rather than numpy's.
 *
 * <ul>
 *   <li>2D ({@code dataset.py}): {@link #randomGenerator} = {@code RandomGenerator(output_size)}: with
 *       probability 1/2 {@link #randomRotFlip}, else {@link #randomRotate} by an integer angle in [-20, 20)
 *       (nearest neighbour, no reshape), then {@link #resize} to the patch size (nearest neighbour), exactly
 *       as {@code scipy.ndimage} computes them.
 *   <li>3D ({@code brats2019.py}, UA-MT's {@code la_heart.py}): {@link #randomCrop} (pads small volumes),
 *       {@link #centerCrop}, {@link #randomRotFlip} (over the first two axes), {@link #randomNoise}.
 * </ul>
 */
public final class Augment {
  private Augment() {}

  // ---- 2D -------------------------------------------------------------------------------------------

  /** {@code RandomGenerator(output_size)}: rot/flip or rotate with equal probability, then resize. */
  public static Volume randomGenerator(Volume v, int[] outputSize, SplittableRandom random) {
    requireRank(v, 2, "RandomGenerator");
    Volume augmented = random.nextDouble() < 0.5 ? randomRotFlip(v, random) : randomRotate(v, random);
    return resize(augmented, outputSize);
  }

  /** {@code random_rotate}: {@code ndimage.rotate(x, angle, order=0, reshape=False)}, angle in [-20, 20). */
  public static Volume randomRotate(Volume v, SplittableRandom random) {
    requireRank(v, 2, "random_rotate");
    return rotate(v, random.nextInt(-20, 20));
  }

  /** {@code ndimage.rotate(x, angle, order=0, reshape=False)} on image and label. */
  public static Volume rotate(Volume v, double angle) {
    requireRank(v, 2, "rotate");
    int[] s = v.shape();
    float[] image = Ndimage.rotate(v.image(), s[0], s[1], angle, 0, false).data();
    byte[] label = Ndimage.rotate(v.label(), s[0], s[1], angle, 0, false).data();
    return new Volume(v.name(), image, label, s);
  }

  /** {@code zoom(x, (out_h / h, out_w / w), order=0)} on image and label. */
  public static Volume resize(Volume v, int[] outputSize) {
    int[] s = v.shape();
    if (outputSize.length != s.length) {
      throw new IllegalArgumentException("patch size " + Arrays.toString(outputSize) + " does not match the "
          + s.length + "D sample " + v.name());
    }
    double[] factors = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      factors[i] = (double) outputSize[i] / s[i];
    }
    Ndimage.Volume image = Ndimage.zoom(v.image(), s, factors, 0);
    Ndimage.ByteVolume label = Ndimage.zoom(v.label(), s, factors, 0);
    return new Volume(v.name(), image.data(), label.data(), image.shape());
  }

  // ---- shared 2D/3D ---------------------------------------------------------------------------------

  /**
   * {@code random_rot_flip} / {@code RandomRotFlip}: {@code np.rot90(x, k)} over the first two axes with k in
   * 0..3, then {@code np.flip(x, axis)} with axis 0 or 1.
   */
  public static Volume randomRotFlip(Volume v, SplittableRandom random) {
    int k = random.nextInt(4);
    int axis = random.nextInt(2);
    return rotFlip(v, k, axis);
  }

  /** {@code np.flip(np.rot90(x, k), axis)} over the first two axes. */
  public static Volume rotFlip(Volume v, int k, int axis) {
    if (k < 0 || k > 3 || axis < 0 || axis > 1) {
      throw new IllegalArgumentException("rot90 k must be 0..3 and flip axis 0 or 1, got " + k + ", " + axis);
    }
    int[] s = v.shape();
    int a = s[0];
    int b = s[1];
    int c = v.voxels() / (a * b); // trailing axes move together
    int outA = (k % 2 == 0) ? a : b;
    int outB = (k % 2 == 0) ? b : a;
    float[] image = new float[v.voxels()];
    byte[] label = new byte[v.voxels()];
    float[] srcImage = v.image();
    byte[] srcLabel = v.label();
    for (int i = 0; i < outA; i++) {
      for (int j = 0; j < outB; j++) {
        // flip first, in output coordinates
        int fi = axis == 0 ? outA - 1 - i : i;
        int fj = axis == 1 ? outB - 1 - j : j;
        // then where rot90 took that element from
        int si;
        int sj;
        switch (k) {
          case 0 -> {
            si = fi;
            sj = fj;
          }
          case 1 -> {
            si = fj;
            sj = b - 1 - fi;
          }
          case 2 -> {
            si = a - 1 - fi;
            sj = b - 1 - fj;
          }
          default -> {
            si = a - 1 - fj;
            sj = fi;
          }
        }
        System.arraycopy(srcImage, (si * b + sj) * c, image, (i * outB + j) * c, c);
        System.arraycopy(srcLabel, (si * b + sj) * c, label, (i * outB + j) * c, c);
      }
    }
    int[] outShape = s.clone();
    outShape[0] = outA;
    outShape[1] = outB;
    return new Volume(v.name(), image, label, outShape);
  }

  // ---- 3D -------------------------------------------------------------------------------------------

  /**
   * {@code RandomCrop(output_size)}: when any axis is not larger than the patch, pads every axis by
   * {@code max((out - n) // 2 + 3, 0)} zeros on both sides; then crops at offsets drawn from
   * {@code randint(0, n - out)} (the upper bound excluded, as numpy's {@code randint}).
   */
  public static Volume randomCrop(Volume v, int[] outputSize, SplittableRandom random) {
    requireRank(v, 3, "RandomCrop");
    Volume p = padIfNeeded(v, outputSize);
    int[] s = p.shape();
    int[] start = new int[3];
    for (int i = 0; i < 3; i++) {
      start[i] = random.nextInt(0, s[i] - outputSize[i]);
    }
    return crop(p, start, outputSize);
  }

  /** The crop of {@link #randomCrop} at given offsets into the padded volume (for tests and replays). */
  public static Volume cropAt(Volume v, int[] outputSize, int[] start) {
    requireRank(v, 3, "crop");
    Volume p = padIfNeeded(v, outputSize);
    int[] s = p.shape();
    for (int i = 0; i < 3; i++) {
      if (start[i] < 0 || start[i] + outputSize[i] > s[i]) {
        throw new IllegalArgumentException("crop at " + Arrays.toString(start) + " of size " + Arrays.toString(outputSize)
            + " leaves the padded volume " + Arrays.toString(s));
      }
    }
    return crop(p, start, outputSize);
  }

  /** {@code CenterCrop(output_size)}: the same padding, then the centred patch ({@code round((n - out) / 2)}). */
  public static Volume centerCrop(Volume v, int[] outputSize) {
    requireRank(v, 3, "CenterCrop");
    Volume p = padIfNeeded(v, outputSize);
    int[] s = p.shape();
    int[] start = new int[3];
    for (int i = 0; i < 3; i++) {
      start[i] = (int) Math.rint((s[i] - outputSize[i]) / 2.0); // Python round(): half to even
    }
    return crop(p, start, outputSize);
  }

  /** {@code RandomNoise(mu, sigma)}: adds {@code clip(sigma * N(0,1), -2 sigma, 2 sigma) + mu} per voxel. */
  public static Volume randomNoise(Volume v, double mu, double sigma, SplittableRandom random) {
    float[] image = v.image().clone();
    for (int i = 0; i < image.length; i++) {
      double n = Math.max(-2 * sigma, Math.min(2 * sigma, sigma * random.nextGaussian()));
      image[i] = (float) (image[i] + (n + mu));
    }
    return new Volume(v.name(), image, v.label(), v.shape());
  }

  /**
   * {@code CreateOnehotLabel(num_classes)}: a float32 {@code (num_classes, *shape)} array with 1 where the
   * label equals the channel's class, in C order.
   */
  public static float[] oneHot(Volume v, int numClasses) {
    if (numClasses < 1) {
      throw new IllegalArgumentException("num_classes must be >= 1, got " + numClasses);
    }
    int n = v.voxels();
    float[] out = new float[numClasses * n];
    for (int i = 0; i < n; i++) {
      int c = v.labelAt(i);
      if (c < numClasses) {
        out[c * n + i] = 1f;
      }
    }
    return out;
  }

  private static Volume padIfNeeded(Volume v, int[] out) {
    int[] s = v.shape();
    if (out.length != 3) {
      throw new IllegalArgumentException("a 3D patch size has three sides, got " + Arrays.toString(out));
    }
    if (s[0] > out[0] && s[1] > out[1] && s[2] > out[2]) {
      return v;
    }
    int[] pad = new int[3];
    for (int i = 0; i < 3; i++) {
      pad[i] = Math.max(Math.floorDiv(out[i] - s[i], 2) + 3, 0);
    }
    int[] ns = {s[0] + 2 * pad[0], s[1] + 2 * pad[1], s[2] + 2 * pad[2]};
    float[] image = new float[ns[0] * ns[1] * ns[2]];
    byte[] label = new byte[image.length];
    for (int x = 0; x < s[0]; x++) {
      for (int y = 0; y < s[1]; y++) {
        int src = (x * s[1] + y) * s[2];
        int dst = ((x + pad[0]) * ns[1] + (y + pad[1])) * ns[2] + pad[2];
        System.arraycopy(v.image(), src, image, dst, s[2]);
        System.arraycopy(v.label(), src, label, dst, s[2]);
      }
    }
    return new Volume(v.name(), image, label, ns);
  }

  private static Volume crop(Volume v, int[] start, int[] size) {
    int[] s = v.shape();
    float[] image = new float[size[0] * size[1] * size[2]];
    byte[] label = new byte[image.length];
    for (int x = 0; x < size[0]; x++) {
      for (int y = 0; y < size[1]; y++) {
        int src = ((start[0] + x) * s[1] + (start[1] + y)) * s[2] + start[2];
        int dst = (x * size[1] + y) * size[2];
        System.arraycopy(v.image(), src, image, dst, size[2]);
        System.arraycopy(v.label(), src, label, dst, size[2]);
      }
    }
    return new Volume(v.name(), image, label, size);
  }

  private static void requireRank(Volume v, int rank, String transform) {
    if (v.rank() != rank) {
      throw new IllegalArgumentException(transform + " takes " + rank + "D samples; " + v.name() + " has shape "
          + Arrays.toString(v.shape()));
    }
  }
}
