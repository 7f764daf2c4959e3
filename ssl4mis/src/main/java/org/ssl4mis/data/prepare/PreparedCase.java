package org.ssl4mis.data.prepare;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.ssl4mis.data.DataException;
import org.ssl4mis.io.nifti.Nifti;
import org.ssl4mis.io.nifti.NiftiImage;

/**
 * One case read from its image and label NIfTI files and normalised, ready to be written: a float32 image and a
 * uint8 label of the same 3D shape, both in NIfTI order (x fastest, i.e. C order of {@code (z, y, x)}).
 *
 * @param name the case name
 * @param shape the NIfTI shape {@code (x, y, z)}
 * @param image the normalised image, x fastest
 * @param label the labels, x fastest
 * @param spacing the image's voxel spacing {@code (x, y, z)} (not written by the reference; kept for reports)
 */
public record PreparedCase(String name, int[] shape, float[] image, byte[] label, double[] spacing) {

  /** How an image's intensities are normalised, per volume. */
  public enum Normalization {
    /**
     * {@code (v - min) / (max - min)} over the whole volume (SSL4MIS's {@code acdc_data_processing.py}), in
     * float64 from nibabel's {@code get_fdata()} values, then rounded to float32.
     */
    MIN_MAX,
    /**
     * {@code (v - mean) / std} over the whole volume, population standard deviation (UA-MT's LA preprocessing,
     * {@code (image - np.mean(image)) / np.std(image)}), in float64, then rounded to float32. The sums are
     * plain float64 sums, not numpy's pairwise ones, so a value can differ from numpy's in the last float32 bit.
     */
    Z_SCORE
  }

  /**
   * Reads a case and normalises its image.
   *
   * @param binarize whether every non-zero label becomes 1
   * @throws DataException naming the file: unreadable NIfTI, not 3D, shapes differ, a non-finite image value, a
   *     constant image, a label value that is not an integer in 0..255
   */
  public static PreparedCase load(String name, Path imageFile, Path labelFile, Normalization normalization,
      boolean binarize) throws IOException {
    NiftiImage image = read(imageFile);
    NiftiImage label = read(labelFile);
    int[] shape = image.shape();
    if (shape.length != 3) {
      throw new DataException(imageFile, "has shape " + Arrays.toString(shape) + "; prepare expects 3D volumes");
    }
    if (!Arrays.equals(shape, label.shape())) {
      throw new DataException(labelFile, "label shape " + Arrays.toString(label.shape()) + " differs from the image"
          + " shape " + Arrays.toString(shape) + " of " + imageFile);
    }
    float[] normalized = normalize(image, imageFile, normalization);
    byte[] labels = labels(label, labelFile, binarize);
    return new PreparedCase(name, shape, normalized, labels, image.spacing());
  }

  private static NiftiImage read(Path file) throws IOException {
    try {
      return Nifti.read(file);
    } catch (DataException e) {
      throw e;
    } catch (IOException e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      // NiftiFormatException messages already start with the file
      throw new DataException(file, m.startsWith(file.toString() + ": ") ? m.substring(file.toString().length() + 2) : m, e);
    }
  }

  static float[] normalize(NiftiImage image, Path file, Normalization normalization) throws DataException {
    int n = Math.toIntExact(image.voxelCount());
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      double v = image.value(i);
      if (!Double.isFinite(v)) {
        throw new DataException(file, "image value " + v + " at voxel " + voxel(image.shape(), i)
            + "; intensities must be finite");
      }
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    float[] out = new float[n];
    if (normalization == Normalization.MIN_MAX) {
      double range = max - min;
      if (!(range > 0)) {
        throw new DataException(file, "the image is constant (" + min + "), so min-max normalisation is undefined");
      }
      for (int i = 0; i < n; i++) {
        out[i] = (float) ((image.value(i) - min) / range);
      }
      return out;
    }
    double mean = sum / n;
    double squares = 0;
    for (int i = 0; i < n; i++) {
      double d = image.value(i) - mean;
      squares += d * d;
    }
    double std = Math.sqrt(squares / n);
    if (!(std > 0)) {
      throw new DataException(file, "the image is constant (" + min + "), so z-score normalisation is undefined");
    }
    for (int i = 0; i < n; i++) {
      out[i] = (float) ((image.value(i) - mean) / std);
    }
    return out;
  }

  static byte[] labels(NiftiImage label, Path file, boolean binarize) throws DataException {
    int n = Math.toIntExact(label.voxelCount());
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      double v = label.value(i);
      if (v != Math.rint(v)) {
        throw new DataException(file, "label value " + v + " at voxel " + voxel(label.shape(), i)
            + " is not an integer; labels must be class indices");
      }
      if (binarize) {
        out[i] = (byte) (v != 0 ? 1 : 0);
      } else if (v < 0 || v > 255) {
        throw new DataException(file, "label value " + (long) v + " at voxel " + voxel(label.shape(), i)
            + " is outside 0..255 (labels are stored as uint8)");
      } else {
        out[i] = (byte) (int) v;
      }
    }
    return out;
  }

  /** "(i, j, k)" of a position in NIfTI order. */
  static String voxel(int[] shape, long position) {
    StringBuilder sb = new StringBuilder("(");
    long p = position;
    for (int d = 0; d < shape.length; d++) {
      sb.append(d == 0 ? "" : ", ").append(p % shape[d]);
      p /= shape[d];
    }
    return sb.append(')').toString();
  }

  /** The number of z slices. */
  public int slices() {
    return shape[2];
  }

  /** The image of slice {@code z}: a C-order {@code (y, x)} array. */
  public float[] imageSlice(int z) {
    int plane = shape[0] * shape[1];
    return Arrays.copyOfRange(image, z * plane, (z + 1) * plane);
  }

  /** The label of slice {@code z}: a C-order {@code (y, x)} array. */
  public byte[] labelSlice(int z) {
    int plane = shape[0] * shape[1];
    return Arrays.copyOfRange(label, z * plane, (z + 1) * plane);
  }
}
