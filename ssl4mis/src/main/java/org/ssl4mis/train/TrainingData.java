package org.ssl4mis.train;

import java.util.function.Consumer;
import org.ssl4mis.data.BatchLoader;

/**
 * A method's own training data, for scripts whose dataset transform is not the common one (FixMatch's weak and
 * strong views, CTAugment's learned policies): the per-sample transform the loader threads run, and the
 * script's batch-level steps around the iteration, which the {@link Trainer} calls on its own thread in this
 * order: {@link #beforeBatch} (before the batch is fetched), {@link #accept}, the iteration, {@link #afterStep}.
 * See {@link Method#trainingData}.
 */
public interface TrainingData extends AutoCloseable {

  /** The per-sample transform; it runs on loader threads, a few batches ahead of the loop. */
  BatchLoader.SampleTransform transform();

  /**
   * Before batch {@code batchNumber} is fetched (where a script's epoch loop acts: CTAugment's rate update and
   * new policies). Returns false to end the run there (the script's last epoch is over).
   */
  default boolean beforeBatch(long batchNumber, Consumer<String> log) {
    return true;
  }

  /** Whether to train on this batch; false skips it without a step (a script's {@code continue}). */
  default boolean accept(BatchLoader.Batch batch, Consumer<String> log) {
    return true;
  }

  /** After the iteration on {@code batch} with total loss {@code loss}. */
  default void afterStep(BatchLoader.Batch batch, double loss) {}

  /**
   * When the loop ends, before the loader closes: a transform that waits for something the loop would have
   * provided (the next epoch's policies) must give up here.
   */
  @Override
  default void close() {}
}
