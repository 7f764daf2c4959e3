package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.Objects;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.tensor.Tensors;

/**
 * Input checks shared by the 3D networks and the discriminators, so that a wrong shape is reported with the
 * sizes the network accepts before libtorch fails deep inside a convolution or a concatenation.
 */
final class NetworkInputs {
  private NetworkInputs() {}

  /**
   * The shape of {@code x} after checking that it is (N, channels, spatial...) with {@code spatialDims}
   * spatial dimensions and at least one sample.
   */
  static long[] requireShape(String net, String what, Tensor x, int spatialDims, long channels) {
    Objects.requireNonNull(x, () -> net + ": " + what);
    String layout = spatialDims == 3 ? "(N, C, D, H, W)" : "(N, C, H, W)";
    if (!x.defined()) {
      throw new IllegalArgumentException(net + ": " + what + " is an undefined tensor; expected " + layout);
    }
    long[] shape = Tensors.shape(x);
    if (shape.length != spatialDims + 2) {
      throw new IllegalArgumentException(net + ": " + what + " must be " + layout + ", got shape "
          + Arrays.toString(shape));
    }
    if (shape[1] != channels) {
      throw new IllegalArgumentException(net + ": " + what + " has " + shape[1] + " channels but the network was built"
          + " for " + channels + " (shape " + Arrays.toString(shape) + ")");
    }
    if (shape[0] < 1) {
      throw new IllegalArgumentException(net + ": " + what + " has an empty batch (shape " + Arrays.toString(shape)
          + ")");
    }
    return shape;
  }

  /** The spatial part of an (N, C, spatial...) shape. */
  static long[] spatial(long[] shape) {
    return Arrays.copyOfRange(shape, 2, shape.length);
  }

  /** Checks that every spatial size is a positive multiple of {@code multiple}; {@code why} explains it. */
  static void requireMultiples(String net, long[] shape, long multiple, String why) {
    long[] sizes = spatial(shape);
    for (long s : sizes) {
      if (s < multiple || s % multiple != 0) {
        throw new IllegalArgumentException(net + " accepts spatial sizes that are multiples of " + multiple + " (" + why
            + "), got " + Arrays.toString(sizes) + " in input shape " + Arrays.toString(shape));
      }
    }
  }
}
