package org.ssl4mis.train;

import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.Volume;
import org.ssl4mis.inference.SliceInference;
import org.ssl4mis.metrics.SegmentationMetrics;
import org.ssl4mis.networks.Networks;

/**
 * The 2D scripts' validation: {@code test_single_volume(image, label, model, classes)} over every case of
 * the val list, averaged. Reference quirk kept: the scripts do not pass their {@code patch_size}, so
 * validation zooms slices to the function's default 256x256 whatever the training patch.
 */
public final class SliceValidator implements Validator {
  private final CaseDataset val;
  private final int numClasses;
  private final int[] patchSize;
  private final org.bytedeco.pytorch.Device device;

  public SliceValidator(CaseDataset val, int numClasses, int[] patchSize, String device) {
    this.val = val;
    this.numClasses = numClasses;
    this.patchSize = patchSize.clone();
    this.device = new org.bytedeco.pytorch.Device(device);
  }

  @Override
  public double[][] validate(Networks.Network model) throws Exception {
    double[][] sum = new double[numClasses - 1][2];
    for (int i = 0; i < val.size(); i++) {
      Volume v = val.get(i);
      long[] prediction = SliceInference.predict(model, v, patchSize, 16, device);
      double[][] m = SegmentationMetrics.val2DPerClass(SegmentationMetrics.LabelMap.of(prediction, v.shape()),
          SegmentationMetrics.LabelMap.of(v.label(), v.shape()), numClasses);
      for (int c = 0; c < m.length; c++) {
        sum[c][0] += m[c][0];
        sum[c][1] += m[c][1];
      }
    }
    for (double[] row : sum) {
      row[0] /= val.size();
      row[1] /= val.size();
    }
    return sum;
  }
}
