package org.ssl4mis.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.ssl4mis.tensor.Tensors;

class MemoryScopeTest {

  @Test
  void temporariesAreFreedWhenTheScopeCloses() {
    Tensor inside;
    try (MemoryScope scope = MemoryScope.open()) {
      inside = Tensors.fromFloats(new float[] {1, 2}, 2).add(Tensors.fromFloats(new float[] {3, 4}, 2));
      assertFalse(inside.isNull());
    }
    assertTrue(inside.isNull(), "the tensor handle is freed with its scope");
  }

  @Test
  void keptResultsEscapeToTheCaller() {
    Tensor kept;
    Tensor dropped;
    try (MemoryScope scope = MemoryScope.open()) {
      dropped = Tensors.fromFloats(new float[] {1}, 1);
      kept = scope.keep(dropped.mul(Tensors.fromFloats(new float[] {5}, 1)));
      scope.keep(kept); // keeping twice is harmless
    }
    assertTrue(dropped.isNull());
    assertFalse(kept.isNull());
    assertArrayEquals(new float[] {5}, Tensors.toFloats(kept));
    kept.close();
    assertTrue(kept.isNull(), "the caller owns the kept tensor");
  }

  @Test
  void keptResultsMoveToTheEnclosingScope() {
    Tensor kept;
    try (MemoryScope outer = MemoryScope.open()) {
      try (MemoryScope inner = MemoryScope.open()) {
        kept = inner.keep(Tensors.fromFloats(new float[] {2}, 1));
      }
      assertFalse(kept.isNull(), "alive after the inner scope");
      assertEquals(2.0, Tensors.item(kept));
    }
    assertTrue(kept.isNull(), "freed with the outer scope");
  }

  @Test
  void detachedObjectsOutliveEveryScope() {
    Tensor detached;
    try (MemoryScope outer = MemoryScope.open()) {
      try (MemoryScope inner = MemoryScope.open()) {
        detached = inner.detach(Tensors.fromFloats(new float[] {4}, 1));
      }
    }
    assertFalse(detached.isNull(), "no scope frees a detached object");
    assertEquals(4.0, Tensors.item(detached));
    detached.close();
  }

  @Test
  void callAndRunHelpers() {
    Tensor r = MemoryScope.call(() -> Tensors.fromFloats(new float[] {1, 2}, 2).sum());
    assertEquals(3.0, Tensors.item(r));
    Tensor[] seen = new Tensor[1];
    MemoryScope.run(() -> seen[0] = Tensors.fromFloats(new float[] {1}, 1));
    assertTrue(seen[0].isNull());
  }

  @Test
  void scopesArePerThreadAndMustBeClosedInOrderOnTheirThread() throws Exception {
    MemoryScope outer = MemoryScope.open();
    MemoryScope inner = MemoryScope.open();
    assertThrows(IllegalStateException.class, outer::close, "outer closed before inner");
    AtomicReference<Throwable> fromOtherThread = new AtomicReference<>();
    AtomicReference<Boolean> otherThreadSawNoScope = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        otherThreadSawNoScope.set(org.bytedeco.javacpp.PointerScope.getInnerScope() == null);
        inner.close();
      } catch (Throwable e) {
        fromOtherThread.set(e);
      }
    });
    t.start();
    t.join();
    assertTrue(otherThreadSawNoScope.get(), "another thread does not see this thread's scopes");
    assertInstanceOf(IllegalStateException.class, fromOtherThread.get());
    inner.close();
    outer.close();
    outer.close(); // idempotent
    assertThrows(IllegalStateException.class, () -> inner.keep(Tensors.fromFloats(new float[1], 1)));
  }
}
