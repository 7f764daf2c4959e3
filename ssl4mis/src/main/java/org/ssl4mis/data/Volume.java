package org.ssl4mis.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * An image and its label map of the same shape, in C order: 2D slices (H, W) or 3D volumes in the axis
 * order of the HDF5 file (e.g. (x, y, z) for LA, as h5py returns it). Labels are class indices 0..255.
 */
public record Volume(String name, float[] image, byte[] label, int[] shape) {
  public Volume {
    Objects.requireNonNull(name, "name");
    shape = shape.clone();
    long n = 1;
    for (int d : shape) {
      if (d < 1) {
        throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " has an empty axis");
      }
      n *= d;
    }
    if (image.length != n || label.length != n) {
      throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " holds " + n
          + " voxels but the image has " + image.length + " and the label " + label.length);
    }
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  public int voxels() {
    return image.length;
  }

  /** Label value at flat index {@code i} as a class index. */
  public int labelAt(int i) {
    return label[i] & 0xFF;
  }
}
