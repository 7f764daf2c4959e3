package org.ssl4mis.train;

import java.util.Objects;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.Volume;
import org.ssl4mis.inference.SlidingWindow;
import org.ssl4mis.metrics.SegmentationMetrics;
import org.ssl4mis.networks.Networks;

/**
 * The 3D scripts' validation: {@code val_3D.test_all_case(model, root_path, test_list="val.txt", num_classes=2,
 * patch_size=args.patch_size, stride_xy=64, stride_z=64)}. For every case of the validation split, the
 * sliding-window prediction ({@link SlidingWindow}, {@code test_single_case}), then per foreground class
 * {@code i} {@code cal_metric(label == i, prediction == i)} ({@code [dice, hd95]}, {@code [0, 0]} unless both
 * masks are non-empty); the rows are summed over the cases and divided by their number.
 *
 * <p>The validation cases are those of {@link org.ssl4mis.data.Split#VAL}: BraTS's {@code val.txt}, as the
 * scripts read it; LA has no validation list, so UA-MT's {@code test.list} (see
 * {@link org.ssl4mis.data.DatasetLayout}).
 */
public final class VolumeValidator implements Validator {
  private final CaseDataset val;
  private final SlidingWindow.Config window;
  private final org.bytedeco.pytorch.Device device;

  /**
   * @param window the sliding-window settings (the scripts': {@link SlidingWindow.Config#validation}); its
   *     {@code numClasses} is the number of classes evaluated
   * @param device where the network runs ({@code cpu}, {@code cuda:0}, ...)
   */
  public VolumeValidator(CaseDataset val, SlidingWindow.Config window, String device) {
    this.val = Objects.requireNonNull(val, "val");
    this.window = Objects.requireNonNull(window, "window");
    this.device = new org.bytedeco.pytorch.Device(device);
  }

  /** The scripts' settings: {@code patch_size}, stride_xy 64, stride_z 64. */
  public static VolumeValidator ofScripts(CaseDataset val, int[] patchSize, int numClasses, String device) {
    return new VolumeValidator(val, SlidingWindow.Config.validation(patchSize, numClasses), device);
  }

  public SlidingWindow.Config window() {
    return window;
  }

  @Override
  public double[][] validate(Networks.Network model) throws Exception {
    int classes = window.numClasses();
    double[][] total = new double[Math.max(0, classes - 1)][2];
    for (int i = 0; i < val.size(); i++) {
      Volume v = val.get(i);
      long[] prediction = SlidingWindow.predict(model, v, window, device);
      double[][] m = SegmentationMetrics.val3DPerClass(SegmentationMetrics.LabelMap.of(prediction, v.shape()),
          SegmentationMetrics.LabelMap.of(v.label(), v.shape()), classes);
      for (int c = 0; c < m.length; c++) {
        total[c][0] += m[c][0];
        total[c][1] += m[c][1];
      }
    }
    for (double[] row : total) {
      row[0] /= val.size();
      row[1] /= val.size();
    }
    return total;
  }
}
