package org.ssl4mis.data.fixmatch;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.ssl4mis.data.Augment;
import org.ssl4mis.data.Volume;
import org.ssl4mis.data.fixmatch.CTAugment.OpChoice;

/**
 * The reference's {@code CTATransform(output_size, cta)} called with the current weak and strong policies:
 *
 * <ol>
 *   <li>image and label resized with {@code zoom(order=0)} ({@link Augment#resize});</li>
 *   <li>the image to an 8-bit PIL image with {@code ToPILImage()} ({@link GrayImage#fromFloatTensor}:
 *       {@code uint8(x * 255)}, truncating), the label as its bytes ({@link GrayImage#fromLabel});</li>
 *   <li>{@code image_weak = cta_apply(image, ops_weak)}, {@code image_strong = cta_apply(image_weak, ops_strong)},
 *       {@code label_aug = cta_apply(label, ops_weak)} (the label gets the weak ops too, including
 *       {@code rescale}'s interpolating filters and a {@code cutout} at its own random position, as in the
 *       reference);</li>
 *   <li>outputs: {@code to_tensor(image_weak)} and {@code to_tensor(image_strong)}, i.e. {@code b / 255} in
 *       {@code float32}, and {@code round(255 * to_tensor(label_aug))}, which is the label byte itself.</li>
 * </ol>
 *
 * <p>Random draws (only {@code cutout}'s positions) come from the given {@link SplittableRandom} in the
 * reference's order: weak ops on the image, strong ops, weak ops on the label.
 */
public final class CTATransform {
  private final int[] outputSize;

  /** {@code CTATransform(output_size, cta)} (the policies come with each call, as the dataset passes them). */
  public CTATransform(int[] outputSize) {
    if (outputSize.length != 2 || outputSize[0] < 1 || outputSize[1] < 1) {
      throw new IllegalArgumentException("a 2D patch size has two positive sides, got " + Arrays.toString(outputSize));
    }
    this.outputSize = outputSize.clone();
  }

  public int[] outputSize() {
    return outputSize.clone();
  }

  /** Augments one 2-D slice with the given policies ({@code null} policies apply nothing). */
  public FixMatchSample apply(Volume slice, List<OpChoice> opsWeak, List<OpChoice> opsStrong,
      SplittableRandom random) {
    if (slice.rank() != 2) {
      throw new IllegalArgumentException("CTATransform takes 2D slices; " + slice.name() + " has shape "
          + Arrays.toString(slice.shape()));
    }
    Volume resized = Augment.resize(slice, outputSize);
    int h = resized.shape()[0];
    int w = resized.shape()[1];
    GrayImage image = GrayImage.fromFloatTensor(resized.image(), h, w);
    GrayImage label = GrayImage.fromLabel(resized.label(), h, w);
    GrayImage imageWeak = CTAugment.apply(image, opsWeak, random);
    GrayImage imageStrong = CTAugment.apply(imageWeak, opsStrong, random);
    GrayImage labelAug = CTAugment.apply(label, opsWeak, random);
    // round(255 * (b / 255f)) == b for every byte, so label_aug is the label image's bytes
    Volume weak = new Volume(slice.name(), imageWeak.toTensor(), labelAug.pixels().clone(), new int[] {h, w});
    return new FixMatchSample(weak, imageStrong.toTensor(), resized);
  }
}
