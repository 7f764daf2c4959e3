package org.ssl4mis.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.openjdk.jmh.annotations.*;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.tensor.Tensors;

/**
 * Java array to tensor and back: the FFM bulk copy of {@link Tensors} against JavaCPP's pointer copy
 * ({@code FloatPointer.put(float[])}), for a 24x1x256x256 float batch (6 MiB).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TensorCopyBenchmark {
  private static final long[] SHAPE = {24, 1, 256, 256};
  private float[] data;
  private Tensor tensor;

  @Setup
  public void setUp() {
    data = new float[(int) Tensors.numel(SHAPE)];
    for (int i = 0; i < data.length; i++) {
      data[i] = i * 1e-3f;
    }
    tensor = Tensors.fromFloats(data, SHAPE);
  }

  @Benchmark
  public long ffmArrayToTensor() {
    try (MemoryScope scope = MemoryScope.open()) {
      return Tensors.fromFloats(data, SHAPE).numel();
    }
  }

  @Benchmark
  public long javacppArrayToTensor() {
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor t = Tensors.empty(org.ssl4mis.tensor.DType.FLOAT32, SHAPE);
      FloatPointer p = t.data_ptr_float();
      p.capacity(data.length).put(data);
      return t.numel();
    }
  }

  @Benchmark
  public float[] ffmTensorToArray() {
    return Tensors.toFloats(tensor);
  }

  @Benchmark
  public float[] javacppTensorToArray() {
    try (MemoryScope scope = MemoryScope.open()) {
      float[] out = new float[data.length];
      tensor.data_ptr_float().capacity(out.length).get(out);
      return out;
    }
  }
}
