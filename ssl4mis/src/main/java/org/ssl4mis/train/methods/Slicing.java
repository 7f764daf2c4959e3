package org.ssl4mis.train.methods;

import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;

/** {@code x[:n]} and {@code x[n:]} along the batch axis, as the scripts split labelled and unlabelled parts. */
final class Slicing {
  private Slicing() {}

  static Tensor head(Tensor x, long n) {
    return x.slice(0, new LongOptional(0), new LongOptional(n), 1);
  }

  static Tensor tail(Tensor x, long n) {
    return x.slice(0, new LongOptional(n), new LongOptional(x.size(0)), 1);
  }
}
