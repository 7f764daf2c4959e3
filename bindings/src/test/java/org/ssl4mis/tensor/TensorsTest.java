package org.ssl4mis.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.ssl4mis.memory.MemoryScope;

class TensorsTest {

  @Test
  void floatsRoundTripWithShape() {
    float[] data = {1.5f, -2f, 3.25f, Float.MAX_VALUE, Float.MIN_VALUE, Float.NaN};
    Tensor t = Tensors.fromFloats(data, 2, 3);
    assertArrayEquals(new long[] {2, 3}, Tensors.shape(t));
    assertEquals(DType.FLOAT32, Tensors.dtype(t));
    assertArrayEquals(data, Tensors.toFloats(t));
  }

  @Test
  void everyDtypeRoundTripsBitForBit() {
    double[] d = {Math.PI, -0.0, Double.MIN_VALUE, 1e300};
    assertArrayEquals(d, Tensors.toDoubles(Tensors.fromDoubles(d, 4)));
    assertEquals(DType.FLOAT64, Tensors.dtype(Tensors.fromDoubles(d, 2, 2)));

    int[] i = {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE};
    assertArrayEquals(i, Tensors.toInts(Tensors.fromInts(i, 2, 1, 2)));

    long[] l = {Long.MIN_VALUE, 42, Long.MAX_VALUE};
    assertArrayEquals(l, Tensors.toLongs(Tensors.fromLongs(l, 3)));

    short[] s = {Short.MIN_VALUE, -7, Short.MAX_VALUE};
    Tensor st = Tensors.fromShorts(s, 3);
    assertEquals(DType.INT16, Tensors.dtype(st));
    assertArrayEquals(s, Tensors.toShorts(st));

    short[] halfBits = {0x3C00, (short) 0xC000, 0x7BFF}; // 1.0, -2.0, 65504 in IEEE half
    Tensor h = Tensors.fromShorts(halfBits, DType.FLOAT16, 3);
    assertEquals(DType.FLOAT16, Tensors.dtype(h));
    assertArrayEquals(halfBits, Tensors.toShorts(h));
    assertArrayEquals(new float[] {1f, -2f, 65504f}, Tensors.toFloats(h));

    short[] bf16Bits = {0x3F80, (short) 0xC040}; // 1.0, -3.0 in bfloat16
    Tensor b = Tensors.fromShorts(bf16Bits, DType.BFLOAT16, 2);
    assertArrayEquals(new float[] {1f, -3f}, Tensors.toFloats(b));
    assertArrayEquals(bf16Bits, Tensors.toShorts(b));

    byte[] u = {0, 1, (byte) 255, (byte) 128};
    Tensor ut = Tensors.fromBytes(u, DType.UINT8, 4);
    assertArrayEquals(u, Tensors.toBytes(ut));
    assertArrayEquals(new int[] {0, 1, 255, 128}, Tensors.toInts(ut), "uint8 is unsigned in libtorch");

    byte[] s8 = {-128, -1, 0, 127};
    Tensor s8t = Tensors.fromBytes(s8, DType.INT8, 2, 2);
    assertArrayEquals(new int[] {-128, -1, 0, 127}, Tensors.toInts(s8t));

    boolean[] z = {true, false, false, true, true};
    Tensor zt = Tensors.fromBooleans(z, 5);
    assertEquals(DType.BOOL, Tensors.dtype(zt));
    assertArrayEquals(z, Tensors.toBooleans(zt));
    assertArrayEquals(new byte[] {1, 0, 0, 1, 1}, Tensors.toBytes(zt));
  }

  @Test
  void nonContiguousTensorsAreReadInLogicalOrder() {
    Tensor t = Tensors.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Tensor tt = t.t();
    assertFalse(tt.is_contiguous());
    assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, Tensors.toFloats(tt));
    Tensor strided = Tensors.fromFloats(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 8).slice(0, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional(8), 3);
    assertArrayEquals(new float[] {1, 4, 7}, Tensors.toFloats(strided));
  }

  @Test
  void emptyTensorsAndScalars() {
    Tensor e = Tensors.fromFloats(new float[0], 2, 0, 3);
    assertEquals(0, e.numel());
    assertArrayEquals(new long[] {2, 0, 3}, Tensors.shape(e));
    assertArrayEquals(new float[0], Tensors.toFloats(e));
    assertArrayEquals(new long[0], Tensors.toLongs(Tensors.fromLongs(new long[0], 0)));

    Tensor s = Tensors.fromFloats(new float[] {7.5f});
    assertEquals(0, s.dim(), "no shape means a 0-dimensional tensor");
    assertEquals(7.5, Tensors.item(s));
    Tensor sc = Tensors.scalar(3, DType.INT64);
    assertEquals(0, sc.dim());
    assertEquals(DType.INT64, Tensors.dtype(sc));
    assertEquals(3.0, Tensors.item(sc));
  }

  @Test
  void shapeAndLengthMismatchesAreClearErrors() {
    var e = assertThrows(IllegalArgumentException.class, () -> Tensors.fromFloats(new float[5], 2, 3));
    assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("5"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Tensors.fromFloats(new float[0], -1));
    assertThrows(IllegalArgumentException.class, () -> Tensors.fromBytes(new byte[1], DType.BOOL, 1));
    assertThrows(IllegalArgumentException.class, () -> Tensors.toShorts(Tensors.fromFloats(new float[1], 1)));
    assertThrows(IllegalArgumentException.class, () -> Tensors.item(Tensors.fromFloats(new float[2], 2)));
  }

  @Test
  void nativeErrorsCarryContext() {
    Tensor a = Tensors.fromFloats(new float[6], 2, 3);
    Tensor b = Tensors.fromFloats(new float[6], 2, 3);
    var e = assertThrows(TorchException.class, () -> TorchException.call("multiplying a by b", () -> a.matmul(b)));
    assertTrue(e.getMessage().startsWith("multiplying a by b: "), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "only libtorch's first line goes in the message");
  }

  @Test
  void segmentsCopyBothWays() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment src = arena.allocate(ValueLayout.JAVA_LONG, 6);
      for (int i = 0; i < 6; i++) {
        src.setAtIndex(ValueLayout.JAVA_LONG, i, i * 10L);
      }
      Tensor t = Tensors.fromSegment(src, DType.INT64, 3, 2);
      assertArrayEquals(new long[] {0, 10, 20, 30, 40, 50}, Tensors.toLongs(t));
      MemorySegment dst = arena.allocate(ValueLayout.JAVA_LONG, 6);
      Tensors.copyTo(t.t(), dst); // non-contiguous source: copied in logical order
      assertEquals(20, dst.getAtIndex(ValueLayout.JAVA_LONG, 1));
      assertThrows(IllegalArgumentException.class, () -> Tensors.fromSegment(src, DType.INT64, 5));
      assertThrows(IllegalArgumentException.class, () -> Tensors.copyTo(t, arena.allocate(8)));
    }
  }

  @Test
  void zeroCopyViewWritesThroughAndOutlivesTheHandle() {
    try (Arena arena = Arena.ofConfined()) {
      Tensor t = Tensors.fromFloats(new float[] {1, 2, 3, 4}, 4);
      MemorySegment view = TensorMemory.view(t, arena);
      view.setAtIndex(ValueLayout.JAVA_FLOAT, 2, 30f);
      assertEquals(30f, Tensors.toFloats(t)[2], "the view is the tensor's memory");
      t.mul_(new org.bytedeco.pytorch.Scalar(2.0));
      assertEquals(8f, view.getAtIndex(ValueLayout.JAVA_FLOAT, 3));
      t.close(); // the view keeps its own reference to the storage
      assertEquals(60f, view.getAtIndex(ValueLayout.JAVA_FLOAT, 2));
    }
  }

  @Test
  void viewInsideAScopeSurvivesTheScope() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment view;
      try (MemoryScope scope = MemoryScope.open()) {
        Tensor t = torch.arange(new org.bytedeco.pytorch.Scalar(5.0)).to(DType.FLOAT32.scalarType());
        view = TensorMemory.view(t, arena);
      }
      assertEquals(4f, view.getAtIndex(ValueLayout.JAVA_FLOAT, 4));
    }
  }

  @Test
  void viewRefusesWhatCannotBeViewed() {
    try (Arena arena = Arena.ofConfined()) {
      Tensor t = Tensors.fromFloats(new float[6], 2, 3);
      var e = assertThrows(IllegalArgumentException.class, () -> TensorMemory.view(t.t(), arena));
      assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
      assertEquals(0, TensorMemory.view(Tensors.fromFloats(new float[0], 0), arena).byteSize());
    }
  }
}
