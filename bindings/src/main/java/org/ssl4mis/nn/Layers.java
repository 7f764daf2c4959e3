package org.ssl4mis.nn;

import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.Module;

/** Adapts the presets' native modules, whose {@code forward} methods share no Java type, to {@link Layer}. */
public final class Layers {
  private Layers() {}

  /**
   * The forward function of {@code m}.
   *
   * @throws IllegalArgumentException when {@code m} is neither a {@link Layer} nor a native one-tensor module
   *     this adapter knows; the message names its class
   */
  public static Layer of(Module m) {
    return switch (m) {
      case Layer l -> l;
      case Conv1dImpl c -> c::forward;
      case Conv2dImpl c -> c::forward;
      case Conv3dImpl c -> c::forward;
      case ConvTranspose1dImpl c -> c::forward;
      case ConvTranspose2dImpl c -> c::forward;
      case ConvTranspose3dImpl c -> c::forward;
      case BatchNorm1dImpl b -> b::forward;
      case BatchNorm2dImpl b -> b::forward;
      case BatchNorm3dImpl b -> b::forward;
      case InstanceNorm1dImpl b -> b::forward;
      case InstanceNorm2dImpl b -> b::forward;
      case InstanceNorm3dImpl b -> b::forward;
      case GroupNormImpl g -> g::forward;
      case LayerNormImpl g -> g::forward;
      case DropoutImpl d -> d::forward;
      case Dropout2dImpl d -> d::forward;
      case Dropout3dImpl d -> d::forward;
      case FeatureAlphaDropoutImpl d -> d::forward;
      case MaxPool1dImpl p -> p::forward;
      case MaxPool2dImpl p -> p::forward;
      case MaxPool3dImpl p -> p::forward;
      case AvgPool1dImpl p -> p::forward;
      case AvgPool2dImpl p -> p::forward;
      case AvgPool3dImpl p -> p::forward;
      case AdaptiveAvgPool2dImpl p -> p::forward;
      case AdaptiveAvgPool3dImpl p -> p::forward;
      case UpsampleImpl u -> u::forward;
      case ReLUImpl a -> a::forward;
      case ReLU6Impl a -> a::forward;
      case LeakyReLUImpl a -> a::forward;
      case PReLUImpl a -> a::forward;
      case ELUImpl a -> a::forward;
      case GELUImpl a -> a::forward;
      case SigmoidImpl a -> a::forward;
      case TanhImpl a -> a::forward;
      case SoftmaxImpl a -> a::forward;
      case LogSoftmaxImpl a -> a::forward;
      case SoftplusImpl a -> a::forward;
      case LinearImpl l -> l::forward;
      case IdentityImpl i -> i::forward;
      case FlattenImpl f -> f::forward;
      default -> throw new IllegalArgumentException(m.getClass().getName()
          + " has no one-tensor forward known to Layers.of; implement org.ssl4mis.nn.Layer in a Java module instead");
    };
  }
}
