package org.ssl4mis.nn;

import java.util.Locale;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * How image batches and convolution weights lie in memory: PyTorch's default {@code contiguous} (N, C, spatial
 * in C order) or {@code channels_last} (channels innermost: NHWC / NDHWC), as {@code model.to(memory_format=...)}
 * and {@code x.contiguous(memory_format=...)} choose in Python.
 *
 * <p>Why it matters: oneDNN's CPU convolutions work on channels-innermost layouts. Given contiguous tensors,
 * libtorch reorders every convolution's input and output to a blocked layout and back on every call; with
 * channels-last weights and inputs the reorders go away and batch norm, pooling and upsampling run their
 * channels-last kernels (benchmarks/README.md: a UA-MT 2D iteration and a mean-teacher 3D iteration on 2 cores
 * both about 30 % faster). The values are the same tensors; only the order of the floating-point sums inside
 * a convolution changes, so results differ from the contiguous layout by rounding (about 1e-6 relative).
 *
 * <p>Shapes, {@code state_dict} keys and values are unchanged: checkpoints are written in logical (C) order
 * whatever the layout, and loading into a channels-last module copies into its layout.
 */
public enum MemoryFormat {
  /** PyTorch's default: {@code torch.contiguous_format}. */
  CONTIGUOUS("contiguous"),
  /** {@code torch.channels_last} for 4-D tensors, {@code torch.channels_last_3d} for 5-D tensors. */
  CHANNELS_LAST("channels_last");

  private final String optionValue;

  MemoryFormat(String optionValue) {
    this.optionValue = optionValue;
  }

  /** The name used on command lines and in logs: {@code contiguous} or {@code channels_last}. */
  public String optionValue() {
    return optionValue;
  }

  /**
   * Parses {@code contiguous} or {@code channels_last}; {@code auto} (and a blank value) is
   * {@code channels_last} on the CPU and {@code contiguous} elsewhere (the CUDA layouts are not measured yet).
   *
   * @param option the option's name, for the error message
   * @param onCpu whether the tensors live on the CPU (what {@code auto} resolves against)
   */
  public static MemoryFormat parse(String option, String value, boolean onCpu) {
    String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "", "auto" -> onCpu ? CHANNELS_LAST : CONTIGUOUS;
      case "contiguous" -> CONTIGUOUS;
      case "channels_last" -> CHANNELS_LAST;
      default -> throw new IllegalArgumentException(option + " must be auto, contiguous or channels_last, got '"
          + value + "'");
    };
  }

  /**
   * {@code t} in this layout when it is a 4-D or 5-D tensor (a copy only where the layout differs); other
   * tensors are returned as they are.
   */
  public Tensor apply(Tensor t) {
    long dim = t.dim();
    if (dim != 4 && dim != 5) {
      return t;
    }
    return t.contiguous(torchFormat(dim));
  }

  /**
   * Re-lays every 4-D and 5-D parameter and buffer of {@code module} in this layout, in place, as
   * {@code module.to(memory_format=...)} does: the parameters stay the same objects (optimizers and EMA
   * references to them stay valid) and keep their gradient requirement; only their storage is replaced.
   * Call it before an optimizer has state for the module (momentum buffers keep the old layout otherwise,
   * which is correct but slower).
   */
  public void apply(Module module) {
    for (Tensor t : StateDict.of(module).values()) {
      long dim = t.dim();
      if (dim == 4 || dim == 5) {
        Tensor laid = apply(t);
        t.__dispatch_set_data(laid); // Tensor.set_data (param.data = ...): the same parameter, new storage
      }
    }
  }

  /**
   * Whether {@code t} covers its elements without gaps in this layout's order (tensors other than 4-D and 5-D:
   * whether they are contiguous). Two tensors of one shape that are both in one layout pair element by element
   * through their flat storage.
   */
  public boolean isIn(Tensor t) {
    long dim = t.dim();
    return dim == 4 || dim == 5 ? t.is_contiguous(torchFormat(dim)) : t.is_contiguous();
  }

  private torch.MemoryFormat torchFormat(long dim) {
    return this == CONTIGUOUS ? torch.MemoryFormat.Contiguous
        : dim == 4 ? torch.MemoryFormat.ChannelsLast : torch.MemoryFormat.ChannelsLast3d;
  }
}
