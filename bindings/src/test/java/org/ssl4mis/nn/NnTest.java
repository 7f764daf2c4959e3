package org.ssl4mis.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.ssl4mis.tensor.Tensors;

class NnTest {

  /** SSL4MIS's ConvBlock: the Python state_dict keys are known exactly. */
  static final class ConvBlock extends JModule implements Layer {
    final Sequential convConv;

    ConvBlock(long in, long out, double dropoutP) {
      convConv = register("conv_conv", new Sequential(
          Nn.conv2d(in, out, 3).padding(1).build(),
          Nn.batchNorm2d(out).build(),
          Nn.leakyRelu(0.01),
          Nn.dropout(dropoutP),
          Nn.conv2d(out, out, 3).padding(1).build(),
          Nn.batchNorm2d(out).build(),
          Nn.leakyRelu(0.01)));
    }

    @Override
    public Tensor forward(Tensor x) {
      return convConv.forward(x);
    }
  }

  /** Registers a child before its own parameter and buffer; Python still lists own members first. */
  static final class TwoHeads extends JModule {
    final ConvBlock block;
    final Conv2dImpl headA;
    final Conv2dImpl headB;
    final Tensor scale;

    TwoHeads() {
      block = register("block", new ConvBlock(1, 4, 0.0));
      scale = registerParameter("scale", torch.ones(1));
      registerBuffer("calls", torch.zeros(1));
      headA = register("head_a", Nn.conv2d(4, 2, 1).build());
      headB = register("head_b", Nn.conv2d(4, 3, 1).bias(false).build());
    }

    /** Several tensors in, several out: an ordinary Java method. */
    List<Tensor> forward(Tensor x, Tensor y) {
      Tensor f = block.forward(x.add(y));
      return List.of(headA.forward(f).mul(scale), headB.forward(f));
    }
  }

  @Test
  void sequentialNamesChildrenLikePython() {
    ConvBlock b = new ConvBlock(1, 8, 0.1);
    assertEquals(List.of(
        "conv_conv.0.weight", "conv_conv.0.bias",
        "conv_conv.1.weight", "conv_conv.1.bias", "conv_conv.1.running_mean", "conv_conv.1.running_var",
        "conv_conv.1.num_batches_tracked",
        "conv_conv.4.weight", "conv_conv.4.bias",
        "conv_conv.5.weight", "conv_conv.5.bias", "conv_conv.5.running_mean", "conv_conv.5.running_var",
        "conv_conv.5.num_batches_tracked"), List.copyOf(b.stateDict().keySet()));
    assertEquals(List.of("conv_conv.0.weight", "conv_conv.0.bias", "conv_conv.1.weight", "conv_conv.1.bias",
        "conv_conv.4.weight", "conv_conv.4.bias", "conv_conv.5.weight", "conv_conv.5.bias"),
        List.copyOf(StateDict.parameters(b).keySet()));
    // 1*8*9+8 + 8+8 + 8*8*9+8 + 8+8
    assertEquals(80 + 16 + 584 + 16, StateDict.parameterCount(b));
    assertArrayEquals(new long[] {8, 1, 3, 3}, Tensors.shape(b.stateDict().get("conv_conv.0.weight")));
    assertInstanceOf(LeakyReLUImpl.class, b.convConv.get(2));
  }

  @Test
  void stateDictTensorsOutliveTheNativeDictionariesTheyCameFrom() {
    ConvBlock b = new ConvBlock(1, 8, 0.1);
    Map<String, Tensor> sd;
    try (org.ssl4mis.memory.MemoryScope scope = org.ssl4mis.memory.MemoryScope.open()) {
      sd = StateDict.of(b); // libtorch's named_parameters() dictionaries are freed when the scope closes
      sd.values().forEach(scope::keep);
    }
    for (int i = 0; i < 100; i++) {
      StateDict.of(new ConvBlock(1, 8, 0.1)); // reuse the freed memory
    }
    assertArrayEquals(new long[] {8, 1, 3, 3}, Tensors.shape(sd.get("conv_conv.0.weight")));
    assertArrayEquals(new long[] {8}, Tensors.shape(sd.get("conv_conv.5.running_var")));
    assertTrue(sd.get("conv_conv.0.weight").equal(b.convConv.child("0", Conv2dImpl.class).weight()));
  }

  @Test
  void ownMembersComeBeforeChildrenAndDisabledBiasIsAbsent() {
    TwoHeads m = new TwoHeads();
    List<String> keys = List.copyOf(m.stateDict().keySet());
    assertEquals("scale", keys.get(0));
    assertEquals("calls", keys.get(1));
    assertEquals("block.conv_conv.0.weight", keys.get(2));
    assertEquals(List.of("head_a.weight", "head_a.bias", "head_b.weight"), keys.subList(keys.size() - 3, keys.size()));
    assertEquals(List.of("calls", "block.conv_conv.1.running_mean", "block.conv_conv.1.running_var",
        "block.conv_conv.1.num_batches_tracked", "block.conv_conv.5.running_mean", "block.conv_conv.5.running_var",
        "block.conv_conv.5.num_batches_tracked"), List.copyOf(StateDict.buffers(m).keySet()));
    assertSame(m.block, m.child("block", ConvBlock.class), "children keep their Java type");
    assertThrows(IllegalArgumentException.class, () -> m.child("head_a", ConvBlock.class));
    assertThrows(IllegalArgumentException.class, () -> m.child("nope", Module.class));
  }

  @Test
  void multiTensorForwardAndBackward() {
    TwoHeads m = new TwoHeads();
    Tensor x = torch.randn(2, 1, 16, 16);
    Tensor y = torch.randn(2, 1, 16, 16);
    List<Tensor> out = m.forward(x, y);
    assertArrayEquals(new long[] {2, 2, 16, 16}, Tensors.shape(out.get(0)));
    assertArrayEquals(new long[] {2, 3, 16, 16}, Tensors.shape(out.get(1)));
    out.get(0).sum().add(out.get(1).sum()).backward();
    for (Map.Entry<String, Tensor> p : StateDict.parameters(m).entrySet()) {
      assertTrue(p.getValue().grad().defined(), "gradient reached " + p.getKey());
    }
  }

  @Test
  void trainAndEvalReachEveryChild() {
    ConvBlock b = new ConvBlock(1, 4, 0.5);
    b.eval();
    assertFalse(b.convConv.get(3).is_training());
    Tensor x = torch.randn(1, 1, 8, 8);
    assertArrayEquals(Tensors.toFloats(b.forward(x)), Tensors.toFloats(b.forward(x)), "eval mode is deterministic");
    b.train(true);
    assertTrue(b.convConv.get(3).is_training());
  }

  @Test
  void buildersUsePytorchDefaultsAndCheckArguments() {
    Conv3dImpl c = Nn.conv3d(2, 4, 3).stride(1, 2, 2).padding(1).build();
    Tensor out = c.forward(torch.randn(1, 2, 8, 8, 8));
    assertArrayEquals(new long[] {1, 4, 8, 4, 4}, Tensors.shape(out));
    ConvTranspose2dImpl up = Nn.convTranspose2d(4, 2, 2).stride(2).build();
    assertArrayEquals(new long[] {1, 2, 16, 16}, Tensors.shape(up.forward(torch.randn(1, 4, 8, 8))));
    InstanceNorm3dImpl in = Nn.instanceNorm3d(4).build();
    assertTrue(StateDict.of(in).isEmpty(), "InstanceNorm has no affine parameters and no running stats by default");
    BatchNorm3dImpl bn = Nn.batchNorm3d(4).build();
    assertEquals(5, StateDict.of(bn).size());
    MaxPool2dImpl pool = Nn.maxPool2d(2).build();
    assertArrayEquals(new long[] {1, 1, 4, 4}, Tensors.shape(pool.forward(torch.randn(1, 1, 8, 8))));
    UpsampleImpl upsample = Nn.upsample2d(2, "bilinear", true);
    assertArrayEquals(new long[] {1, 1, 16, 16}, Tensors.shape(upsample.forward(torch.randn(1, 1, 8, 8))));
    UpsampleImpl tri = Nn.upsample3d(2, "trilinear", false);
    assertArrayEquals(new long[] {1, 1, 8, 8, 8}, Tensors.shape(tri.forward(torch.randn(1, 1, 4, 4, 4))));
    Conv2dImpl same = Nn.conv2d(1, 1, 5).padding("same").build();
    assertArrayEquals(new long[] {1, 1, 7, 9}, Tensors.shape(same.forward(torch.randn(1, 1, 7, 9))));
    PReLUImpl prelu = Nn.prelu(1, 0.25);
    assertEquals(List.of("weight"), List.copyOf(StateDict.of(prelu).keySet()));

    assertThrows(IllegalArgumentException.class, () -> Nn.conv2d(1, 4, 3, 3, 3));
    assertThrows(IllegalArgumentException.class, () -> Nn.conv2d(0, 4, 3));
    assertThrows(IllegalArgumentException.class, () -> Nn.conv2d(3, 4, 3).groups(2).build());
    assertThrows(IllegalArgumentException.class, () -> Nn.dropout(1.5));
    assertThrows(IllegalArgumentException.class, () -> Nn.upsample2d(2, "cubic", null));
    assertThrows(IllegalArgumentException.class, () -> Nn.conv2d(1, 1, 3).paddingMode("mirror"));
  }

  @Test
  void sequentialRejectsModulesWithoutAOneTensorForward() {
    var e = assertThrows(IllegalArgumentException.class, () -> new Sequential(new Module()));
    assertTrue(e.getMessage().contains("org.bytedeco.pytorch.Module"), e.getMessage());
  }

  @Test
  void moduleListKeepsTypesAndPythonNames() {
    ModuleList<Conv2dImpl> heads = new ModuleList<>(Nn.conv2d(4, 2, 1).build(), Nn.conv2d(4, 2, 1).build());
    assertEquals(2, heads.size());
    assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias"), List.copyOf(heads.stateDict().keySet()));
    for (Conv2dImpl h : heads) {
      assertArrayEquals(new long[] {1, 2, 4, 4}, Tensors.shape(h.forward(torch.randn(1, 4, 4, 4))));
    }
  }
}
