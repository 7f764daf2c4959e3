package org.ssl4mis.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Zero-copy views of tensor memory as FFM {@link MemorySegment}s.
 *
 * <p><b>Lifetime rule.</b> {@link #view(Tensor, Arena)} takes its own reference to the tensor's storage
 * and releases it when {@code arena} closes, so the segment stays valid until then even if every other
 * handle of the tensor is freed (by a {@link org.ssl4mis.memory.MemoryScope} or {@code close()}). What it
 * cannot protect against: in-place operations that reallocate the storage ({@code resize_}, {@code set_})
 * leave the segment pointing at the old memory, which the view keeps alive but which the tensor no
 * longer uses. Writes through the segment are writes to the tensor (autograd does not see them).
 */
public final class TensorMemory {

  private TensorMemory() {}

  /**
   * A read-write view of a contiguous CPU tensor's elements (native byte order, C order), valid until
   * {@code arena} closes.
   *
   * @throws IllegalArgumentException for CUDA or non-contiguous tensors (copy with {@link Tensors} instead)
   */
  public static MemorySegment view(Tensor t, Arena arena) {
    if (!t.defined()) {
      throw new IllegalArgumentException("cannot view an undefined tensor");
    }
    if (!t.device().is_cpu()) {
      throw new IllegalArgumentException("only CPU tensors can be viewed without copying; this one is on " + t.device().str().getString());
    }
    if (!t.is_contiguous()) {
      throw new IllegalArgumentException("only contiguous tensors can be viewed without copying; shape "
          + Arrays.toString(Tensors.shape(t)) + " strides " + Arrays.toString(Tensors.strides(t))
          + " is not (call contiguous() first)");
    }
    long bytes = t.nbytes();
    if (bytes == 0) {
      return MemorySegment.NULL.reinterpret(0, arena, null);
    }
    // A second handle to the same TensorImpl keeps the storage alive; it must not belong to any
    // PointerScope, or closing that scope would free it while the segment is still in use.
    Tensor keeper = new Tensor(t);
    PointerScope scope = PointerScope.getInnerScope();
    if (scope != null) {
      keeper.retainReference();
      scope.detach(keeper);
    }
    long address = t.data_ptr().address();
    return MemorySegment.ofAddress(address).reinterpret(bytes, arena, segment -> keeper.deallocate());
  }
}
