package org.ssl4mis.train;

import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.train.tensorboard.EventFileWriter;

/**
 * TensorBoard event files in {@code snapshot/log}, with the reference scripts' tags.
 *
 * <p>Images, every 20 iterations. 2D batches {@code (B, 1, H, W)}: sample 1 as {@code train/Image}, its argmax
 * prediction times 50 as {@code train/Prediction} and its label times 50 as {@code train/GroundTruth}. 3D batches
 * {@code (B, 1, D, H, W)}, as the {@code *_3D.py} scripts write them: slices {@code 20:61:10} of the last axis of
 * sample 0, each a 3-channel tile of a {@code make_grid(..., 5)} ({@link #makeGrid}):
 * <ul>
 *   <li>{@code train/Image}: {@code volume_batch[0, 0:1, :, :, 20:61:10]}, {@code normalize=True};
 *   <li>{@code train/Predicted_label}: {@code softmax(outputs)[0, 1:2, :, :, 20:61:10]}, the class-1 probability;
 *   <li>{@code train/Groundtruth_label}: {@code label_batch[0, :, :, 20:61:10]}, the 0/1 label (tensorboardX scales
 *       it by 255, so the foreground is white).
 * </ul>
 * A volume whose last axis has 20 voxels or fewer has no such slice and gets no images (the script would fail).
 */
public final class EventSummarySink implements SummarySink {
  /** The scripts' {@code 20:61:10} along the last axis. */
  private static final long FIRST_SLICE = 20;
  private static final long SLICE_END = 61;
  private static final long SLICE_STEP = 10;
  /** {@code make_grid(image, 5, ...)}: tiles per row. */
  private static final int GRID_ROW = 5;
  /** torchvision's default {@code padding=2} (with {@code pad_value=0}). */
  private static final int GRID_PADDING = 2;

  private final EventFileWriter writer;

  public EventSummarySink(Path logDir) throws IOException {
    this.writer = new EventFileWriter(logDir);
  }

  @Override
  public void scalar(String tag, double value, long step) {
    writer.addScalar(tag, value, step);
  }

  @Override
  public void images(Tensor volumeBatch, Tensor outputs, Tensor labelBatch, long step) {
    if (volumeBatch.dim() == 5) {
      volumeImages(volumeBatch, outputs, labelBatch, step);
      return;
    }
    if (volumeBatch.size(0) < 2 || volumeBatch.dim() != 4) {
      return; // the scripts show sample 1 of a 2D batch
    }
    Tensor image = volumeBatch.select(0, 1).slice(0, new LongOptional(0), new LongOptional(1), 1);
    writer.addImage("train/Image", image.cpu(), step);
    Tensor prediction = torch.argmax(torch.softmax(outputs.detach(), 1), new LongOptional(1), true).select(0, 1);
    writer.addImage("train/Prediction", prediction.mul(new Scalar(50L)).cpu(), step);
    writer.addImage("train/GroundTruth", labelBatch.select(0, 1).unsqueeze(0).mul(new Scalar(50L)).cpu(), step);
  }

  private void volumeImages(Tensor volumeBatch, Tensor outputs, Tensor labelBatch, long step) {
    if (volumeBatch.size(4) <= FIRST_SLICE) {
      return;
    }
    Tensor image = volumeBatch.select(0, 0).slice(0, new LongOptional(0), new LongOptional(1), 1);
    writer.addImage("train/Image", makeGrid(depthSlices(image), GRID_ROW, true).cpu(), step);
    Tensor probability = torch.softmax(outputs.detach(), 1).select(0, 0)
        .slice(0, new LongOptional(1), new LongOptional(2), 1);
    writer.addImage("train/Predicted_label", makeGrid(depthSlices(probability), GRID_ROW, false).cpu(), step);
    writer.addImage("train/Groundtruth_label", makeGrid(depthSlices(labelBatch.select(0, 0).unsqueeze(0)), GRID_ROW,
        false).cpu(), step);
  }

  /**
   * {@code x[:, :, :, 20:61:10].permute(3, 0, 1, 2).repeat(1, 3, 1, 1)} of a one-channel {@code (1, D, H, W)}
   * volume: the slices as {@code (n, 3, D, H)} tiles.
   */
  static Tensor depthSlices(Tensor volume) {
    return volume.slice(3, new LongOptional(FIRST_SLICE), new LongOptional(SLICE_END), SLICE_STEP)
        .permute(3, 0, 1, 2).repeat(1, 3, 1, 1);
  }

  /**
   * torchvision's {@code make_grid(tiles, nrow, padding=2, normalize, pad_value=0)} of {@code (n, 3, H, W)} tiles:
   * with {@code normalize}, every value is mapped by {@code (x - min) / max(max - min, 1e-5)} over all the tiles
   * together; one tile is returned as is (no padding); otherwise {@code min(nrow, n)} tiles per row on a zero
   * canvas of {@code (H + 2) * rows + 2} by {@code (W + 2) * columns + 2}, each at {@code (2 + row * (H + 2), 2 +
   * column * (W + 2))}. The result keeps the tiles' dtype.
   */
  public static Tensor makeGrid(Tensor tiles, int nrow, boolean normalize) {
    if (tiles.dim() != 4 || tiles.size(0) < 1) {
      throw new IllegalArgumentException("make_grid needs (n >= 1, C, H, W) tiles, got " + tiles.dim() + " dimensions");
    }
    Tensor t = tiles;
    if (normalize) {
      t = tiles.to(torch.ScalarType.Float);
      double low = t.min().item_double();
      double high = t.max().item_double();
      t = t.sub(new Scalar(low)).div(new Scalar(Math.max(high - low, 1e-5)));
    }
    long n = t.size(0);
    if (n == 1) {
      return t.select(0, 0);
    }
    long columns = Math.min(nrow, n);
    long rows = (n + columns - 1) / columns;
    long height = t.size(2) + GRID_PADDING;
    long width = t.size(3) + GRID_PADDING;
    Tensor grid = t.new_zeros(t.size(1), height * rows + GRID_PADDING, width * columns + GRID_PADDING);
    for (long k = 0; k < n; k++) {
      long top = (k / columns) * height + GRID_PADDING;
      long left = (k % columns) * width + GRID_PADDING;
      grid.slice(1, new LongOptional(top), new LongOptional(top + t.size(2)), 1)
          .slice(2, new LongOptional(left), new LongOptional(left + t.size(3)), 1).copy_(t.select(0, k));
    }
    return grid;
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }
}
