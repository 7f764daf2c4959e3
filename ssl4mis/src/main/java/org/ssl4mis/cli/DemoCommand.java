package org.ssl4mis.cli;

import java.io.PrintStream;
import java.util.Locale;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.runtime.Device;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * {@code ssl4mis demo}: trains SSL4MIS's 2D UNet for a short while on random images with a bright disk to
 * segment, printing the loss as it falls and the time per iteration. Nothing is written to disk.
 */
final class DemoCommand implements Command {
  @Override
  public String name() {
    return "demo";
  }

  @Override
  public String summary() {
    return "train a UNet briefly on random disk images: loss falling, time per iteration";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("iterations", "100", "training iterations")
        .option("batch_size", "4", "images per batch")
        .option("patch_size", "64", "image side in pixels (a multiple of 16)")
        .option("base_lr", "0.01", "SGD learning rate (momentum 0.9, weight decay 1e-4, as the reference)")
        .option("seed", "1337", "global seed")
        .option("device", "auto", "cpu, cuda, cuda:N or auto")
        .option("threads", "0", "intra-op threads (0: all cores)")
        .option("print_every", "10", "print a line every N iterations");
  }

  @Override
  public int run(Options o, PrintStream out) {
    int iterations = positive(o, "iterations");
    int batch = positive(o, "batch_size");
    int size = positive(o, "patch_size");
    int printEvery = positive(o, "print_every");
    if (size % 16 != 0) {
      throw new UsageException("--patch_size must be a multiple of 16 (the UNet pools four times), got " + size,
          "try --patch_size 64");
    }
    int threads = o.getInt("threads");
    if (threads > 0) {
      NativeRuntime.setThreads(threads);
    }
    Device device;
    try {
      device = NativeRuntime.resolveAuto(o.get("device"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "use --device cpu");
    }
    NativeRuntime.seed(o.getLong("seed"));
    org.bytedeco.pytorch.Device torchDevice = new org.bytedeco.pytorch.Device(device.toString());

    Networks.Network network = Networks.create("unet", 1, 2);
    org.bytedeco.pytorch.Module net = network.module();
    net.to(torchDevice, false);
    net.train(true);
    SGDOptions sgdOptions = new SGDOptions(o.getDouble("base_lr"));
    sgdOptions.momentum().put(0.9);
    sgdOptions.weight_decay().put(1e-4);
    SGD sgd = new SGD(net.parameters(), sgdOptions);

    out.printf(Locale.ROOT, "demo: UNet (%,d parameters) on %s, %d threads, batch %d x 1 x %d x %d, %d iterations%n",
        org.ssl4mis.nn.StateDict.parameterCount(net), device, NativeRuntime.threads(), batch, size, size, iterations);
    double firstLoss = Double.NaN;
    double windowLoss = 0;
    long windowStart = System.nanoTime();
    long start = windowStart;
    for (int it = 1; it <= iterations; it++) {
      double loss;
      try (MemoryScope scope = MemoryScope.open()) {
        Tensor[] batchTensors = diskBatch(batch, size, torchDevice);
        sgd.zero_grad();
        Tensor l = torch.cross_entropy_loss(network.logits(batchTensors[0]), batchTensors[1]);
        l.backward();
        sgd.step();
        loss = l.item_double();
      }
      if (!Double.isFinite(loss)) {
        out.printf(Locale.ROOT, "iteration %d: the loss is %s; stopping%n", it, loss);
        return 1;
      }
      if (it == 1) {
        firstLoss = loss;
      }
      windowLoss += loss;
      if (it % printEvery == 0 || it == iterations) {
        int n = it % printEvery == 0 ? printEvery : it % printEvery;
        double ms = (System.nanoTime() - windowStart) / 1e6 / n;
        out.printf(Locale.ROOT, "iter %5d  loss %.4f  %.1f ms/iter%n", it, windowLoss / n, ms);
        windowLoss = 0;
        windowStart = System.nanoTime();
      }
    }
    double total = (System.nanoTime() - start) / 1e9;
    out.printf(Locale.ROOT, "done in %.1f s; first loss %.4f%n", total, firstLoss);
    return 0;
  }

  /** Images of noise with one bright disk each, and the disk as the label (class 1). */
  private static Tensor[] diskBatch(int batch, int size, org.bytedeco.pytorch.Device device) {
    TensorOptions f32 = new TensorOptions(torch.ScalarType.Float);
    Tensor coords = torch.arange(new Scalar((double) size), f32).div(new Scalar((double) size));
    Tensor ys = coords.view(1, size, 1);
    Tensor xs = coords.view(1, 1, size);
    Tensor cy = torch.rand(new long[] {batch, 1, 1}, f32).mul(new Scalar(0.5)).add(new Scalar(0.25));
    Tensor cx = torch.rand(new long[] {batch, 1, 1}, f32).mul(new Scalar(0.5)).add(new Scalar(0.25));
    Tensor r = torch.rand(new long[] {batch, 1, 1}, f32).mul(new Scalar(0.15)).add(new Scalar(0.08));
    Tensor d2 = ys.sub(cy).pow(new Scalar(2.0)).add(xs.sub(cx).pow(new Scalar(2.0)));
    Tensor mask = d2.lt(r.pow(new Scalar(2.0)));
    Tensor image = torch.randn(new long[] {batch, size, size}, f32).mul(new Scalar(0.5))
        .add(mask.to(torch.ScalarType.Float)).unsqueeze(1);
    return new Tensor[] {image.to(device, torch.ScalarType.Float), mask.to(device, torch.ScalarType.Long)};
  }

  private static int positive(Options o, String name) {
    int v = o.getInt(name);
    if (v < 1) {
      throw new UsageException("--" + name + " must be >= 1, got " + v, "ssl4mis demo --help");
    }
    return v;
  }
}
