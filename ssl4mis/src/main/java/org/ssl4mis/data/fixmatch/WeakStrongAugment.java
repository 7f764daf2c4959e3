package org.ssl4mis.data.fixmatch;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.ssl4mis.data.Augment;
import org.ssl4mis.data.Volume;

/**
 * The reference's {@code WeakStrongAugment(output_size)} (FixMatch with standard augmentations) on a 2-D slice:
 *
 * <ol>
 *   <li>image and label resized to the patch size with {@code zoom(x, (out_h / h, out_w / w), order=0)}
 *       ({@link Augment#resize}, bit-equal to SciPy);</li>
 *   <li>weak: {@code random_rot_flip} ({@code rot90} by {@code k} in 0..3, then a flip along axis 0 or 1) of image
 *       and label together ({@link Augment#randomRotFlip});</li>
 *   <li>strong: {@code ColorJitter(0.8, 0.8, 0.8, 0.2)} of the weak image ({@link ColorJitter#fixMatch()}), values
 *       in {@code [0, 1]} ({@code float32}).</li>
 * </ol>
 *
 * <p>The reference draws the weak step from NumPy's generator and the jitter from PyTorch's; here both come, in
 * that order, from the one {@link SplittableRandom} given per sample.
 */
public final class WeakStrongAugment {
  private final int[] outputSize;
  private final ColorJitter jitter;

  /** {@code WeakStrongAugment(output_size)} with the reference's jitter. */
  public WeakStrongAugment(int[] outputSize) {
    this(outputSize, ColorJitter.fixMatch());
  }

  /** The same with another {@link ColorJitter}. */
  public WeakStrongAugment(int[] outputSize, ColorJitter jitter) {
    if (outputSize.length != 2 || outputSize[0] < 1 || outputSize[1] < 1) {
      throw new IllegalArgumentException("a 2D patch size has two positive sides, got " + Arrays.toString(outputSize));
    }
    this.outputSize = outputSize.clone();
    this.jitter = jitter;
  }

  public int[] outputSize() {
    return outputSize.clone();
  }

  /** Augments one 2-D slice. */
  public FixMatchSample apply(Volume slice, SplittableRandom random) {
    if (slice.rank() != 2) {
      throw new IllegalArgumentException("WeakStrongAugment takes 2D slices; " + slice.name() + " has shape "
          + Arrays.toString(slice.shape()));
    }
    Volume resized = Augment.resize(slice, outputSize);
    Volume weak = Augment.randomRotFlip(resized, random);
    float[] strong = jitter.apply(weak.image(), random);
    return new FixMatchSample(weak, strong, resized);
  }
}
