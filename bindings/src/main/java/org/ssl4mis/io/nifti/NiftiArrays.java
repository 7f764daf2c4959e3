package org.ssl4mis.io.nifti;

import java.util.Arrays;

/**
 * Moves voxel arrays between the two orders of an image of shape {@code (d0, d1, ..., dn-1)}:
 *
 * <ul>
 *   <li><b>NIfTI order</b> (numpy's Fortran order, {@code d0} fastest): what files store and
 *       {@link NiftiImage} holds; the same as the C order of the reversed shape, so a NIfTI-order array of an
 *       {@code (x, y, z)} image is directly a C-order {@code (z, y, x)} array (SimpleITK's
 *       {@code GetArrayFromImage}, SSL4MIS's ACDC HDF5 files).
 *   <li><b>C order</b> (numpy's default, {@code dn-1} fastest): {@code img.get_fdata().ravel()} for an
 *       {@code (x, y, z)} image; UA-MT's LA {@code mri_norm2.h5} files store volumes this way.
 * </ul>
 */
public final class NiftiArrays {
  private NiftiArrays() {}

  /** The reversed shape: C-order dimensions of a NIfTI-order array, and back. */
  public static int[] reversed(int[] shape) {
    int[] r = new int[shape.length];
    for (int i = 0; i < shape.length; i++) {
      r[i] = shape[shape.length - 1 - i];
    }
    return r;
  }

  /** As {@link #reversed(int[])}, as longs (HDF5 dataset shapes). */
  public static long[] reversedLong(int[] shape) {
    long[] r = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      r[i] = shape[shape.length - 1 - i];
    }
    return r;
  }

  public static double[] toCOrder(double[] nifti, int... shape) {
    double[] out = new double[check(nifti.length, shape)];
    walk(shape, (f, c) -> out[c] = nifti[f]);
    return out;
  }

  public static float[] toCOrder(float[] nifti, int... shape) {
    float[] out = new float[check(nifti.length, shape)];
    walk(shape, (f, c) -> out[c] = nifti[f]);
    return out;
  }

  public static byte[] toCOrder(byte[] nifti, int... shape) {
    byte[] out = new byte[check(nifti.length, shape)];
    walk(shape, (f, c) -> out[c] = nifti[f]);
    return out;
  }

  public static short[] toCOrder(short[] nifti, int... shape) {
    short[] out = new short[check(nifti.length, shape)];
    walk(shape, (f, c) -> out[c] = nifti[f]);
    return out;
  }

  public static int[] toCOrder(int[] nifti, int... shape) {
    int[] out = new int[check(nifti.length, shape)];
    walk(shape, (f, c) -> out[c] = nifti[f]);
    return out;
  }

  public static long[] toCOrder(long[] nifti, int... shape) {
    long[] out = new long[check(nifti.length, shape)];
    walk(shape, (f, c) -> out[c] = nifti[f]);
    return out;
  }

  /** A C-order array of {@code shape} in NIfTI order (the inverse of {@code toCOrder}). */
  public static double[] fromCOrder(double[] c, int... shape) {
    double[] out = new double[check(c.length, shape)];
    walk(shape, (f, ci) -> out[f] = c[ci]);
    return out;
  }

  public static float[] fromCOrder(float[] c, int... shape) {
    float[] out = new float[check(c.length, shape)];
    walk(shape, (f, ci) -> out[f] = c[ci]);
    return out;
  }

  public static byte[] fromCOrder(byte[] c, int... shape) {
    byte[] out = new byte[check(c.length, shape)];
    walk(shape, (f, ci) -> out[f] = c[ci]);
    return out;
  }

  public static short[] fromCOrder(short[] c, int... shape) {
    short[] out = new short[check(c.length, shape)];
    walk(shape, (f, ci) -> out[f] = c[ci]);
    return out;
  }

  public static int[] fromCOrder(int[] c, int... shape) {
    int[] out = new int[check(c.length, shape)];
    walk(shape, (f, ci) -> out[f] = c[ci]);
    return out;
  }

  public static long[] fromCOrder(long[] c, int... shape) {
    long[] out = new long[check(c.length, shape)];
    walk(shape, (f, ci) -> out[f] = c[ci]);
    return out;
  }

  private static int check(int length, int[] shape) {
    long n = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
      }
      n *= d;
    }
    if (n != length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements, the array "
          + length);
    }
    return length;
  }

  private interface Pair {
    void accept(int fortranIndex, int cIndex);
  }

  /** Calls {@code p} for every element with its index in both orders, in NIfTI order. */
  private static void walk(int[] shape, Pair p) {
    int r = shape.length;
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    if (n == 0) {
      return;
    }
    int[] cStride = new int[r];
    int s = 1;
    for (int k = r - 1; k >= 0; k--) {
      cStride[k] = s;
      s *= shape[k];
    }
    int[] counter = new int[r];
    int c = 0;
    int d0 = shape[0];
    int stride0 = cStride[0];
    for (int f = 0; f < n; ) {
      // The innermost run along dimension 0.
      int ci = c;
      for (int i = 0; i < d0; i++, f++, ci += stride0) {
        p.accept(f, ci);
      }
      // Carry into the higher dimensions.
      int k = 1;
      while (k < r) {
        counter[k]++;
        c += cStride[k];
        if (counter[k] < shape[k]) {
          break;
        }
        c -= cStride[k] * shape[k];
        counter[k] = 0;
        k++;
      }
    }
  }
}
