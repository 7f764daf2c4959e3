package org.ssl4mis.train.methods;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.MemoryFormat;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.train.Methods;
import org.ssl4mis.train.Optimization;
import org.ssl4mis.train.TrainConfig;

/**
 * {@code --memory_format}: the same mean-teacher iterations (student, EMA teacher, SGD, consistency ramp) from
 * the same weights and batches in the reference's contiguous layout and in channels-last. The two runs must
 * agree to float rounding (the layout changes only the order of the sums inside convolutions), and the
 * setting must reach the networks: channels-last weights, momentum and EMA in that layout.
 */
@SuppressWarnings("try") // memory scopes act while open; bodies never name them
class MemoryFormatTrainingTest {
  private static final int ITERATIONS = 6;

  private record Run(List<Double> losses, Map<String, Tensor> student, Map<String, Tensor> teacher) {}

  private static Run train(String memoryFormat, boolean expectChannelsLast) {
    MethodTestSupport.seed(5);
    Networks.Network student = MethodTestSupport.deterministicUnet();
    Networks.Network teacher = MethodTestSupport.deterministicUnet();
    TrainConfig config = MethodTestSupport.config("mt", "unet", 4, 2, 1.0, Map.of("memory_format", memoryFormat));
    Optimization optimization = new Optimization(config, Methods.create("mt"), List.of(student), teacher);
    assertEquals(expectChannelsLast ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS,
        optimization.memoryFormat());
    Tensor weight = StateDict.parameters(student.module()).get("encoder.in_conv.conv_conv.4.weight");
    assertNotNull(weight, "the second convolution of the UNet's first block");
    assertEquals(expectChannelsLast, weight.is_contiguous(torch.MemoryFormat.ChannelsLast)
        && !weight.is_contiguous(), "student weights re-laid as configured");
    Tensor teacherWeight = StateDict.parameters(teacher.module()).get("encoder.in_conv.conv_conv.4.weight");
    assertEquals(expectChannelsLast, !teacherWeight.is_contiguous(), "teacher weights re-laid as configured");
    List<Double> losses = new ArrayList<>();
    for (int i = 0; i < ITERATIONS; i++) {
      try (MemoryScope scope = MemoryScope.open()) {
        Tensor[] batch = MethodTestSupport.batch(4, 100 + i);
        losses.add(optimization.iterate(MethodTestSupport.ITER + i, batch[0], batch[1]).loss());
      }
    }
    return new Run(losses, copy(student), copy(teacher));
  }

  private static Map<String, Tensor> copy(Networks.Network n) {
    Map<String, Tensor> out = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : StateDict.of(n.module()).entrySet()) {
      out.put(e.getKey(), e.getValue().detach().contiguous().clone());
    }
    return out;
  }

  @Test
  void channelsLastTrainsLikeTheContiguousLayout() {
    Run contiguous = train("contiguous", false);
    Run channelsLast = train("channels_last", true);
    double worst = 0;
    for (int i = 0; i < ITERATIONS; i++) {
      double a = contiguous.losses().get(i);
      double b = channelsLast.losses().get(i);
      worst = Math.max(worst, Math.abs(a - b) / Math.max(1e-12, Math.abs(a)));
    }
    System.out.printf("memory formats: worst relative loss difference over %d iterations %.2e%n", ITERATIONS, worst);
    assertTrue(worst < 1e-4, "losses agree to float rounding: " + worst);
    for (String key : contiguous.student().keySet()) {
      Tensor a = contiguous.student().get(key);
      Tensor b = channelsLast.student().get(key);
      assertTrue(a.allclose(b, 1e-3, 1e-5, false), "student " + key + " after " + ITERATIONS + " iterations");
      assertTrue(contiguous.teacher().get(key).allclose(channelsLast.teacher().get(key), 1e-3, 1e-5, false),
          "teacher (EMA) " + key);
    }
    assertNotEquals(0.0, contiguous.losses().get(0) - contiguous.losses().get(ITERATIONS - 1), "the runs trained");
  }

  @Test
  void autoIsChannelsLastOnTheCpuAndABadValueNamesTheOption() {
    TrainConfig auto = MethodTestSupport.config("mt", "unet", 4, 2, 1.0, Map.of("memory_format", "auto"));
    assertEquals(MemoryFormat.CHANNELS_LAST, auto.memoryFormat(true));
    assertEquals(MemoryFormat.CONTIGUOUS, auto.memoryFormat(false));
    TrainConfig bad = MethodTestSupport.config("mt", "unet", 4, 2, 1.0, Map.of("memory_format", "nchw"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bad.memoryFormat(true));
    assertTrue(e.getMessage().contains("--memory_format"), e.getMessage());
  }
}
