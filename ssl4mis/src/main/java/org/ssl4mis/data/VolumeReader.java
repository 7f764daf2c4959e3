package org.ssl4mis.data;

import java.util.Arrays;
import java.util.List;
import org.ssl4mis.io.hdf5.DatasetInfo;
import org.ssl4mis.io.hdf5.Hdf5Exception;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.tensor.DType;

/**
 * Reads a case's HDF5 file ({@code image} and {@code label} datasets, as every reference layout stores
 * them) into a {@link Volume}, checking what training relies on: both datasets present, same shape, a
 * floating-point or integer image without NaN or infinity, integer labels in 0..numClasses-1.
 */
public final class VolumeReader {
  private VolumeReader() {}

  /**
   * Reads and validates one case.
   *
   * @param numClasses labels must lie in {@code [0, numClasses)}; 0 or less skips that check
   * @throws DataException naming the file and the problem
   */
  public static Volume read(DatasetLayout.CaseFile c, int numClasses) throws DataException {
    try (Hdf5File h5 = Hdf5File.openRead(c.file())) {
      for (String required : List.of("image", "label")) {
        if (!h5.has(required)) {
          throw new DataException(c.file(), "has no '" + required + "' dataset (it has " + h5.datasetNames() + ")");
        }
      }
      DatasetInfo imageInfo = h5.info("image");
      DatasetInfo labelInfo = h5.info("label");
      if (!Arrays.equals(imageInfo.shape(), labelInfo.shape())) {
        throw new DataException(c.file(), "image shape " + Arrays.toString(imageInfo.shape()) + " differs from label shape "
            + Arrays.toString(labelInfo.shape()));
      }
      if (imageInfo.shape().length < 2 || imageInfo.shape().length > 3) {
        throw new DataException(c.file(), "image has shape " + Arrays.toString(imageInfo.shape())
            + "; expected a 2D slice or a 3D volume");
      }
      DType labelType = labelInfo.dtype();
      if (labelType.isFloatingPoint()) {
        throw new DataException(c.file(), "label is " + labelInfo.storedType() + "; expected integer class indices");
      }
      float[] image = h5.readFloats("image");
      for (int i = 0; i < image.length; i++) {
        if (!Float.isFinite(image[i])) {
          throw new DataException(c.file(), "image has " + image[i] + " at flat index " + i);
        }
      }
      long[] labels = h5.readLongs("label");
      byte[] label = new byte[labels.length];
      for (int i = 0; i < labels.length; i++) {
        long v = labels[i];
        if (v < 0 || v > 255 || (numClasses > 0 && v >= numClasses)) {
          throw new DataException(c.file(), "label value " + v + " at flat index " + i + " is outside the classes 0.."
              + (numClasses > 0 ? numClasses - 1 : 255) + (numClasses > 0 ? " (--num_classes " + numClasses + ")" : ""));
        }
        label[i] = (byte) v;
      }
      int[] shape = Arrays.stream(imageInfo.shape()).mapToInt(Math::toIntExact).toArray();
      return new Volume(c.name(), image, label, shape);
    } catch (Hdf5Exception e) {
      throw new DataException(c.file(), e.reason() == null ? e.getMessage() : e.reason(), e);
    }
  }
}
