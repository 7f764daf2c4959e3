package org.ssl4mis.evaluation;

import java.io.IOException;
import java.nio.file.Path;
import org.ssl4mis.data.Volume;
import org.ssl4mis.io.nifti.Nifti;
import org.ssl4mis.io.nifti.NiftiImage;

/**
 * The prediction, image and label of a test case as {@code .nii.gz}, named and typed as the reference's test
 * scripts write them with SimpleITK:
 *
 * <ul>
 *   <li>2D ({@code test_2D_fully.py}): {@code {case}_pred.nii.gz}, {@code {case}_img.nii.gz},
 *       {@code {case}_gt.nii.gz}, all float32, SimpleITK spacing {@code (1, 1, 10)};
 *   <li>3D ({@code test_3D_util.py}): {@code {case}_pred.nii.gz} and {@code {case}_lab.nii.gz} uint8,
 *       {@code {case}_img.nii.gz} float32, spacing {@code (1, 1, 1)}.
 * </ul>
 *
 * <p>{@code sitk.GetImageFromArray(a)} keeps {@code a}'s C-order buffer and makes the last array axis the image's
 * x axis, so nibabel reads these files back as {@code a.T}: the NIfTI dimensions are the array's reversed and the
 * voxel sizes too. The spacing here is given along the array's axes ({@code (10, 1, 1)} for an ACDC
 * {@code (slices, h, w)} stack is the reference's {@code SetSpacing((1, 1, 10))}). SimpleITK writes its identity
 * direction (LPS) as the RAS affine {@code diag(-sx, -sy, sz)} with qform and sform code 1 (scanner); so do these.
 */
public final class PredictionFiles {
  private PredictionFiles() {}

  /** The reference's file conventions of one dimension. */
  public enum Style {
    /** {@code test_2D_fully.py}: ground truth {@code _gt}, everything float32. */
    SLICES_2D("_gt", false),
    /** {@code test_3D_util.py}: ground truth {@code _lab}, labels uint8. */
    VOLUME_3D("_lab", true);

    private final String labelSuffix;
    private final boolean labelsAsBytes;

    Style(String labelSuffix, boolean labelsAsBytes) {
      this.labelSuffix = labelSuffix;
      this.labelsAsBytes = labelsAsBytes;
    }

    public String labelSuffix() {
      return labelSuffix;
    }
  }

  /** The reference's spacing along the array axes: {@code (10, 1, 1)} for 2D slice stacks, 1 for volumes. */
  public static double[] referenceSpacing(Style style) {
    return style == Style.SLICES_2D ? new double[] {10, 1, 1} : new double[] {1, 1, 1};
  }

  /** Writes {@code {case}_pred}, {@code _img} and the ground truth into {@code dir}; returns the prediction file. */
  public static Path write(Path dir, Volume volume, long[] prediction, Style style, double[] spacing) throws IOException {
    int[] shape = volume.shape();
    if (shape.length != 3 || spacing.length != 3) {
      throw new IllegalArgumentException("NIfTI outputs are 3D; " + volume.name() + " has shape "
          + java.util.Arrays.toString(shape) + " and spacing " + java.util.Arrays.toString(spacing));
    }
    if (prediction.length != volume.voxels()) {
      throw new IllegalArgumentException(volume.name() + ": the prediction has " + prediction.length + " voxels, the volume "
          + volume.voxels());
    }
    Path pred = dir.resolve(volume.name() + "_pred.nii.gz");
    Nifti.write(pred, image(labels(prediction, style), shape, spacing));
    Nifti.write(dir.resolve(volume.name() + "_img.nii.gz"), image(volume.image(), shape, spacing));
    byte[] label = volume.label();
    long[] labelValues = new long[label.length];
    for (int i = 0; i < label.length; i++) {
      labelValues[i] = label[i] & 0xFF;
    }
    Nifti.write(dir.resolve(volume.name() + style.labelSuffix + ".nii.gz"), image(labels(labelValues, style), shape, spacing));
    return pred;
  }

  /** Labels as the style stores them: uint8 bytes or float32 values. */
  private static Object labels(long[] values, Style style) {
    if (style.labelsAsBytes) {
      byte[] out = new byte[values.length];
      for (int i = 0; i < values.length; i++) {
        if (values[i] < 0 || values[i] > 255) {
          throw new IllegalArgumentException("label " + values[i] + " does not fit uint8");
        }
        out[i] = (byte) values[i];
      }
      return out;
    }
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  private static NiftiImage image(Object cOrderData, int[] shape, double[] spacing) {
    int[] dims = {shape[2], shape[1], shape[0]};
    NiftiImage image = cOrderData instanceof byte[] b ? NiftiImage.ofUint8(b, dims) : NiftiImage.ofFloats((float[]) cOrderData, dims);
    double sx = spacing[2];
    double sy = spacing[1];
    double sz = spacing[0];
    double[][] affine = {{-sx, 0, 0, 0}, {0, -sy, 0, 0}, {0, 0, sz, 0}, {0, 0, 0, 1}};
    return image.withAffine(affine, 1, 1);
  }
}
