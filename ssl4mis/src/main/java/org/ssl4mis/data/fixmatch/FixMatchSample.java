package org.ssl4mis.data.fixmatch;

import java.util.Objects;
import org.ssl4mis.data.Volume;

/**
 * One FixMatch training sample, the dictionary the reference's {@code WeakStrongAugment} or {@code CTATransform}
 * returns, without the channel axis of its image tensors ({@code (1, H, W)} there, {@code (H, W)} here).
 *
 * @param weak {@code image_weak} ({@code float32}) with {@code label_aug} (class indices) as one {@link Volume}
 * @param strong {@code image_strong} ({@code float32}), the shape of {@code weak}
 * @param resized the input after resizing to the patch size, before any augmentation: the reference's
 *     {@code "image"} for {@code WeakStrongAugment} (its label is the resized label); {@code CTATransform} returns
 *     no such key, and here it is the same resized input, for inspection
 */
public record FixMatchSample(Volume weak, float[] strong, Volume resized) {
  public FixMatchSample {
    Objects.requireNonNull(weak, "weak");
    Objects.requireNonNull(strong, "strong");
    Objects.requireNonNull(resized, "resized");
    if (strong.length != weak.image().length) {
      throw new IllegalArgumentException("the strong image has " + strong.length + " values, the weak one "
          + weak.image().length);
    }
  }

  /** The {@code (H, W)} shape of {@link #weak()} and {@link #strong()}. */
  public int[] shape() {
    return weak.shape();
  }
}
