package org.ssl4mis.train.methods;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The input noise of the mean-teacher scripts' teacher passes, {@code torch.clamp(torch.randn_like(x) * 0.1,
 * -0.2, 0.2)}. The standard normal draws come from {@link #randnLike}: libtorch's generator in a run, precomputed
 * tensors in the trace tests (so that the Python side can be given the same draws).
 */
@FunctionalInterface
interface TeacherInputNoise {
  /** Draws from libtorch's generator of {@code x}'s device, as the scripts do. */
  TeacherInputNoise LIBTORCH = torch::randn_like;

  /** Standard normal draws with the shape, dtype and device of {@code x}. */
  Tensor randnLike(Tensor x);

  /** {@code clamp(0.1 * randn_like(x), -0.2, 0.2)}. */
  default Tensor noiseLike(Tensor x) {
    return torch.clamp(randnLike(x).mul(new Scalar(0.1)), new ScalarOptional(new Scalar(-0.2)),
        new ScalarOptional(new Scalar(0.2)));
  }
}
