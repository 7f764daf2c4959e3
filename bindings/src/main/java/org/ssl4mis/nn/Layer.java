package org.ssl4mis.nn;

import org.bytedeco.pytorch.Tensor;

/**
 * A module with one tensor in and one tensor out: what {@link Sequential} chains. Native libtorch modules
 * are adapted with {@link Layers#of}; Java modules implement it directly.
 */
@FunctionalInterface
public interface Layer {
  Tensor forward(Tensor input);
}
