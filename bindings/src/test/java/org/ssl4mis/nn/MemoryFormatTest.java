package org.ssl4mis.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;

class MemoryFormatTest {

  @Test
  void parsesTheOptionValuesAndNamesTheOptionOnABadOne() {
    assertEquals(MemoryFormat.CHANNELS_LAST, MemoryFormat.parse("--memory_format", "auto", true));
    assertEquals(MemoryFormat.CONTIGUOUS, MemoryFormat.parse("--memory_format", "auto", false));
    assertEquals(MemoryFormat.CHANNELS_LAST, MemoryFormat.parse("--memory_format", null, true), "absent is auto");
    assertEquals(MemoryFormat.CONTIGUOUS, MemoryFormat.parse("--memory_format", " Contiguous ", true));
    assertEquals(MemoryFormat.CHANNELS_LAST, MemoryFormat.parse("--memory_format", "channels_last", false));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryFormat.parse("--memory_format", "nhwc", true));
    assertTrue(e.getMessage().contains("--memory_format") && e.getMessage().contains("'nhwc'")
        && e.getMessage().contains("channels_last"), e.getMessage());
  }

  @Test
  void laysOutFourAndFiveDimensionalTensorsAndLeavesOthers() {
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor image = torch.randn(2, 3, 5, 7);
      Tensor laid = MemoryFormat.CHANNELS_LAST.apply(image);
      assertTrue(laid.is_contiguous(torch.MemoryFormat.ChannelsLast));
      assertFalse(laid.is_contiguous());
      assertTrue(laid.equal(image), "same values, other order in memory");
      assertTrue(MemoryFormat.CHANNELS_LAST.isIn(laid));
      assertFalse(MemoryFormat.CONTIGUOUS.isIn(laid));

      Tensor volume = torch.randn(2, 3, 4, 5, 6);
      Tensor laid3d = MemoryFormat.CHANNELS_LAST.apply(volume);
      assertTrue(laid3d.is_contiguous(torch.MemoryFormat.ChannelsLast3d));
      assertTrue(laid3d.equal(volume));
      Tensor back = MemoryFormat.CONTIGUOUS.apply(laid3d);
      assertTrue(back.is_contiguous());
      assertTrue(back.equal(volume));

      Tensor matrix = torch.randn(3, 4);
      assertSame(matrix, MemoryFormat.CHANNELS_LAST.apply(matrix), "only images and volumes are re-laid");
      assertTrue(MemoryFormat.CHANNELS_LAST.isIn(matrix));
      assertFalse(MemoryFormat.CHANNELS_LAST.isIn(matrix.t()), "a transposed matrix is in no dense layout");
    }
  }

  @Test
  void reLaysAModuleInPlaceKeepingParametersGradientsAndCheckpoints(@TempDir Path dir) throws Exception {
    NnTest.ConvBlock block = new NnTest.ConvBlock(3, 8, 0.0);
    Map<String, Tensor> before = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : StateDict.of(block).entrySet()) {
      before.put(e.getKey(), e.getValue().clone());
    }
    Tensor weightObject = StateDict.parameters(block).get("conv_conv.0.weight");
    Tensor input = torch.randn(2, 3, 9, 11);
    block.train(false);
    Tensor expected;
    try (MemoryScope scope = MemoryScope.open()) {
      expected = scope.detach(block.forward(input).detach());
    }

    MemoryFormat.CHANNELS_LAST.apply(block);

    Map<String, Tensor> params = StateDict.parameters(block);
    Tensor weight = params.get("conv_conv.0.weight");
    assertTrue(weight.is_contiguous(torch.MemoryFormat.ChannelsLast), "conv weights are channels-last now");
    assertTrue(weight.requires_grad(), "still a trainable parameter");
    assertTrue(weightObject.is_contiguous(torch.MemoryFormat.ChannelsLast),
        "the parameter object held before is the one re-laid (optimizers keep valid references)");
    for (Map.Entry<String, Tensor> e : StateDict.of(block).entrySet()) {
      assertTrue(e.getValue().equal(before.get(e.getKey())), e.getKey() + " keeps its values");
    }
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor got = block.forward(MemoryFormat.CHANNELS_LAST.apply(input));
      assertTrue(got.allclose(expected, 1e-5, 1e-5, false), "same function, rounding aside");
      got.sum().backward();
      assertTrue(weight.grad().defined(), "gradients reach the re-laid parameter");
    }

    // Checkpoints hold the logical (C) order: a contiguous module loads them to the same values.
    Path file = dir.resolve("block.pth");
    Checkpoints.saveStateDict(block, file);
    NnTest.ConvBlock fresh = new NnTest.ConvBlock(3, 8, 0.0);
    Checkpoints.loadInto(fresh, file);
    for (Map.Entry<String, Tensor> e : StateDict.of(fresh).entrySet()) {
      assertTrue(e.getValue().is_contiguous(), e.getKey());
      assertTrue(e.getValue().equal(before.get(e.getKey())), e.getKey() + " read back in logical order");
    }
    // ... and loading into a channels-last module copies into its layout.
    NnTest.ConvBlock laidFresh = new NnTest.ConvBlock(3, 8, 0.0);
    MemoryFormat.CHANNELS_LAST.apply(laidFresh);
    Checkpoints.loadInto(laidFresh, file);
    Tensor loaded = StateDict.parameters(laidFresh).get("conv_conv.4.weight");
    assertTrue(loaded.is_contiguous(torch.MemoryFormat.ChannelsLast));
    assertTrue(loaded.equal(before.get("conv_conv.4.weight")));
  }
}
