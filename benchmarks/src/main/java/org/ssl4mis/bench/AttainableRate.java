package org.ssl4mis.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Layers;
import org.ssl4mis.nn.MemoryFormat;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * The floating-point rate this machine attains through libtorch on the threads a run uses: a large matrix
 * product (4096^2 float32, 2*4096^3 operations) and the convolutions that dominate the benchmarked networks (a
 * UNet-like 3x3 convolution, 64 to 64 channels on 8x128x128, and a VNet-like 3x3x3 convolution, 32 to 32
 * channels on 2x56x56x40), each in the contiguous and the channels-last layout. The whole-run benchmark divides
 * its counted work per iteration by the best of these rates.
 *
 * <p>Usage: {@code AttainableRate THREADS [REPEATS=7]}; prints one JSON line of GFLOP/s (median of the repeats
 * after one warm-up).
 */
public final class AttainableRate {
  private AttainableRate() {}

  public static void main(String[] args) {
    int threads = Integer.parseInt(args[0]);
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    NativeRuntime.init();
    NativeRuntime.setThreads(threads);
    NativeRuntime.seed(1);
    double matmul = rate(2.0 * 4096 * 4096 * 4096, repeats, () -> {
      Tensor a = torch.randn(4096, 4096);
      Tensor b = torch.randn(4096, 4096);
      return () -> a.matmul(b);
    });
    double conv2d = convolution(Nn.conv2d(64, 64, 3).padding(1).bias(false).build(), MemoryFormat.CONTIGUOUS,
        repeats, 8, 64, 128, 128);
    double conv3d = convolution(Nn.conv3d(32, 32, 3).padding(1).bias(false).build(), MemoryFormat.CONTIGUOUS,
        repeats, 2, 32, 56, 56, 40);
    // The same convolutions channels-last (weights and input), the layout training uses on the CPU.
    double conv2dChannelsLast = convolution(Nn.conv2d(64, 64, 3).padding(1).bias(false).build(),
        MemoryFormat.CHANNELS_LAST, repeats, 8, 64, 128, 128);
    double conv3dChannelsLast = convolution(Nn.conv3d(32, 32, 3).padding(1).bias(false).build(),
        MemoryFormat.CHANNELS_LAST, repeats, 2, 32, 56, 56, 40);
    System.out.printf(Locale.ROOT, "{\"threads\": %d, \"matmul_gflops\": %.1f, \"conv2d_gflops\": %.1f, "
        + "\"conv3d_gflops\": %.1f, \"conv2d_channels_last_gflops\": %.1f, \"conv3d_channels_last_gflops\": %.1f}%n",
        threads, matmul, conv2d, conv3d, conv2dChannelsLast, conv3dChannelsLast);
  }

  /**
   * GFLOP/s of a 3x3 (or 3x3x3) same-padded convolution with as many output as input channels on a random
   * input of {@code shape}, weights and input laid out in {@code format}.
   */
  private static double convolution(org.bytedeco.pytorch.Module conv, MemoryFormat format, int repeats,
      long... shape) {
    long outputs = 1;
    for (long side : shape) {
      outputs *= side;
    }
    long kernel = shape.length == 4 ? 9 : 27;
    return rate(2.0 * outputs * (shape[1] * kernel), repeats, () -> {
      format.apply(conv);
      Layer layer = Layers.of(conv);
      Tensor x = format.apply(torch.randn(shape));
      return () -> layer.forward(x);
    });
  }

  /** GFLOP/s of {@code op} (made once by {@code setup}), median over {@code repeats} timed calls after a warm-up. */
  private static double rate(double flops, int repeats, Supplier<Supplier<Tensor>> setup) {
    try (MemoryScope outer = MemoryScope.open(); InferenceMode inference = new InferenceMode()) {
      Supplier<Tensor> op = setup.get();
      double[] seconds = new double[repeats];
      for (int i = -1; i < repeats; i++) {
        try (MemoryScope scope = MemoryScope.open()) {
          long t0 = System.nanoTime();
          op.get().sum().item_double(); // the sum forces nothing extra on CPU; it keeps the result observed
          if (i >= 0) {
            seconds[i] = (System.nanoTime() - t0) / 1e9;
          }
        }
      }
      Arrays.sort(seconds);
      return flops / seconds[repeats / 2] / 1e9;
    }
  }
}
