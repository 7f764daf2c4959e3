package org.ssl4mis.train;

import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.train.tensorboard.EventFileWriter;

/** TensorBoard event files in {@code snapshot/log}, with the reference scripts' tags. */
public final class EventSummarySink implements SummarySink {
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
    if (volumeBatch.size(0) < 2 || volumeBatch.dim() != 4) {
      return; // the scripts show sample 1 of a 2D batch
    }
    Tensor image = volumeBatch.select(0, 1).slice(0, new LongOptional(0), new LongOptional(1), 1);
    writer.addImage("train/Image", image.cpu(), step);
    Tensor prediction = torch.argmax(torch.softmax(outputs.detach(), 1), new LongOptional(1), true).select(0, 1);
    writer.addImage("train/Prediction", prediction.mul(new Scalar(50L)).cpu(), step);
    writer.addImage("train/GroundTruth", labelBatch.select(0, 1).unsqueeze(0).mul(new Scalar(50L)).cpu(), step);
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }
}
