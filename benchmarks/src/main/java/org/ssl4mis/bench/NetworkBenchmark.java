package org.ssl4mis.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.*;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * Forward and forward+backward of the reference networks at the sizes training uses, in eval and train
 * mode. {@code benchmarks/python/network_timing.py} times the same cases with Python PyTorch; the two are
 * compared in benchmarks/README.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class NetworkBenchmark {

  /** network:batch:shape, e.g. {@code unet:24:1x256x256}. */
  @Param({"unet:1:1x256x256", "unet:24:1x256x256", "vnet:2:1x112x112x80"})
  public String testCase;

  private Module net;
  private Layer forward;
  private Tensor input;

  @Setup(Level.Trial)
  public void setUp() {
    NativeRuntime.seed(1);
    String[] parts = testCase.split(":");
    String name = parts[0];
    long batch = Long.parseLong(parts[1]);
    String[] dims = parts[2].split("x");
    long[] shape = new long[dims.length + 1];
    shape[0] = batch;
    for (int i = 0; i < dims.length; i++) {
      shape[i + 1] = Long.parseLong(dims[i]);
    }
    int classes = name.equals("vnet") ? 2 : 4;
    Networks.Network network = Networks.create(name, shape[1], classes);
    net = network.module();
    forward = network.asLayer();
    input = torch.randn(shape);
  }

  @Benchmark
  public double evalForward() {
    net.eval();
    try (MemoryScope scope = MemoryScope.open(); InferenceMode inference = new InferenceMode()) {
      return forward.forward(input).sum().item_double();
    }
  }

  @Benchmark
  public double trainForward() {
    net.train(true);
    try (MemoryScope scope = MemoryScope.open()) {
      return forward.forward(input).sum().item_double();
    }
  }

  @Benchmark
  public double trainForwardBackward() {
    net.train(true);
    try (MemoryScope scope = MemoryScope.open()) {
      net.zero_grad(true);
      Tensor loss = forward.forward(input).square().mean();
      loss.backward();
      return loss.item_double();
    }
  }
}
