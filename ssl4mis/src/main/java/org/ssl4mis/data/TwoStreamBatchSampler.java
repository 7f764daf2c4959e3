package org.ssl4mis.data;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * The reference's {@code TwoStreamBatchSampler}: each batch is {@code batchSize - secondaryBatchSize}
 * primary (labelled) indices followed by {@code secondaryBatchSize} secondary (unlabelled) ones. An epoch
 * is one pass over a fresh permutation of the primary indices (a trailing partial batch is dropped); the
 * secondary indices run through fresh permutations as long as the epoch needs, restarting each epoch as
 * the reference's iterator does.
 *
 * <p>The shuffles come from the {@link SplittableRandom} given, so a run repeats with the same seed; the
 * numbers differ from numpy's (its Mersenne Twister stream is not reproduced).
 */
public final class TwoStreamBatchSampler {
  private final int[] primary;
  private final int[] secondary;
  private final int primaryBatchSize;
  private final int secondaryBatchSize;
  private final SplittableRandom random;

  public TwoStreamBatchSampler(int[] primaryIndices, int[] secondaryIndices, int batchSize, int secondaryBatchSize,
      SplittableRandom random) {
    this.primary = primaryIndices.clone();
    this.secondary = secondaryIndices.clone();
    this.secondaryBatchSize = secondaryBatchSize;
    this.primaryBatchSize = batchSize - secondaryBatchSize;
    this.random = random;
    if (!(primary.length >= primaryBatchSize && primaryBatchSize > 0)) {
      throw new IllegalArgumentException("labelled part of the batch is " + primaryBatchSize + " (batch_size "
          + batchSize + " - secondary " + secondaryBatchSize + ") but there are " + primary.length
          + " labelled samples; need 0 < part <= samples");
    }
    if (!(secondary.length >= secondaryBatchSize && secondaryBatchSize > 0)) {
      throw new IllegalArgumentException("unlabelled part of the batch is " + secondaryBatchSize + " but there are "
          + secondary.length + " unlabelled samples; need 0 < part <= samples");
    }
  }

  /** A range of indices {@code [from, to)}. */
  public static int[] range(int from, int to) {
    int[] r = new int[Math.max(0, to - from)];
    Arrays.setAll(r, i -> from + i);
    return r;
  }

  /** Batches per epoch ({@code len(sampler)}). */
  public int batchesPerEpoch() {
    return primary.length / primaryBatchSize;
  }

  public int batchSize() {
    return primaryBatchSize + secondaryBatchSize;
  }

  public int primaryBatchSize() {
    return primaryBatchSize;
  }

  /** One epoch of batches. */
  public Iterator<int[]> epoch() {
    int[] primaryOrder = permutation(primary);
    return new Iterator<>() {
      int batch;
      int[] secondaryOrder = permutation(secondary);
      int secondaryPos;

      @Override
      public boolean hasNext() {
        return batch < batchesPerEpoch();
      }

      @Override
      public int[] next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        int[] out = new int[primaryBatchSize + secondaryBatchSize];
        System.arraycopy(primaryOrder, batch * primaryBatchSize, out, 0, primaryBatchSize);
        for (int i = 0; i < secondaryBatchSize; i++) {
          if (secondaryPos == secondaryOrder.length) {
            secondaryOrder = permutation(secondary);
            secondaryPos = 0;
          }
          out[primaryBatchSize + i] = secondaryOrder[secondaryPos++];
        }
        batch++;
        return out;
      }
    };
  }

  /** Batches without end: epoch after epoch, as the training loops consume them. */
  public Iterator<int[]> forever() {
    return new Iterator<>() {
      Iterator<int[]> current = epoch();

      @Override
      public boolean hasNext() {
        return true;
      }

      @Override
      public int[] next() {
        if (!current.hasNext()) {
          current = epoch();
        }
        return current.next();
      }
    };
  }

  private int[] permutation(int[] values) {
    int[] p = values.clone();
    for (int i = p.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
