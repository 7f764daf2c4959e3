package org.ssl4mis.train;

import org.bytedeco.pytorch.Tensor;

/** Where a run's TensorBoard summaries go: event files, or nowhere. */
public interface SummarySink extends AutoCloseable {
  void scalar(String tag, double value, long step);

  /**
   * The scripts' image summaries every 20 iterations. 2D: {@code train/Image} (sample 1 of the batch),
   * {@code train/Prediction} (argmax of the logits times 50) and {@code train/GroundTruth} (label times 50). 3D:
   * grids of depth slices of sample 0, {@code train/Image}, {@code train/Predicted_label} (class-1 probability) and
   * {@code train/Groundtruth_label} (see {@link EventSummarySink}).
   */
  void images(Tensor volumeBatch, Tensor outputs, Tensor labelBatch, long step);

  @Override
  void close() throws java.io.IOException;

  /** A sink that drops everything. */
  static SummarySink none() {
    return new SummarySink() {
      @Override
      public void scalar(String tag, double value, long step) {}

      @Override
      public void images(Tensor volumeBatch, Tensor outputs, Tensor labelBatch, long step) {}

      @Override
      public void close() {}
    };
  }
}
