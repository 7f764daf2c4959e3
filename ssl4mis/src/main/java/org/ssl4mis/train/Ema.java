package org.ssl4mis.train;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.nn.MemoryFormat;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;

/**
 * The mean-teacher weight average of the SSL4MIS scripts, {@code update_ema_variables(model, ema_model, alpha,
 * global_step)}: {@code alpha = min(1 - 1/(global_step + 1), alpha)}, then for every parameter
 * {@code ema = alpha * ema + (1 - alpha) * param}. Only {@code parameters()} are averaged: buffers (BatchNorm
 * running statistics, {@code num_batches_tracked}) of the EMA model keep whatever the EMA model's own forwards
 * put there, as in the reference.
 *
 * <p>Float32 arithmetic, bit for bit as PyTorch's CPU kernels do {@code ema.mul_(alpha).add_(param,
 * alpha=1 - alpha)}: {@code t = fl32(ema * (float) alpha)}, then {@code ema = fma((float) (1 - alpha), param,
 * t)} with ONE rounding (PyTorch's vectorised add-with-alpha is a fused multiply-add; an unfused
 * {@code t + b*param} differs by up to one ulp); {@code 1 - alpha} is computed in double before the cast.
 *
 * <p>Pairs of float32 CPU tensors laid out alike (both contiguous or both channels-last), the usual case, are
 * updated in one pass over all parameters from Java through the FFM API with {@link Math#fma}: bit-exact on every CPU, with or without FMA
 * instructions, and split over threads for large models (which changes no result); about as fast as
 * libtorch's own vectorised {@code mul_} + {@code add_} pair, with one pass over memory instead of two (the
 * presets expose no {@code _foreach_} ops). Any other pair (CUDA, other dtypes, two different layouts) falls back
 * to libtorch's {@code ema.mul_(alpha).add_(param, 1 - alpha)} under no-grad; libtorch 2.10's vectorised
 * CPU kernels fuse that multiply-add too (bit-identical to the fast path on an AVX-512 CPU), and CUDA
 * tensors get what the CUDA kernel computes.
 *
 * <p>The EMA parameters are written in place without bumping their autograd version counters, like the
 * reference's writes through {@code .data}.
 */
public final class Ema {

  /** Elements per parallel work item; below two of these the update runs on the calling thread. */
  private static final int CHUNK = 1 << 16;
  /** Elements per block of the arithmetic loop: two 8 KiB buffers stay in the L1 cache. */
  private static final int BLOCK = 2048;
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

  static {
    NativeRuntime.init();
  }

  private Ema() {}

  /**
   * The decay actually used: {@code min(1 - 1/(global_step + 1), alpha)}, the true average over the steps so far
   * until the exponential average is the better estimate.
   */
  public static double effectiveAlpha(double alpha, long globalStep) {
    double warmup = 1.0 - 1.0 / (globalStep + 1);
    return alpha < warmup ? alpha : warmup; // Python's min(a, b) returns a unless b is smaller
  }

  /**
   * {@code update_ema_variables(model, ema_model, alpha, global_step)}: averages every parameter of
   * {@code emaModel} towards the same-position parameter of {@code model}, in place, without autograd.
   *
   * @param alpha the EMA decay ({@code args.ema_decay}, 0.99 by default)
   * @param globalStep the script's {@code iter_num} (before its increment)
   * @return the decay used, {@link #effectiveAlpha}
   * @throws IllegalArgumentException when the two models' parameter lists differ in length or shape (the
   *     reference's {@code zip} would silently stop at the shorter list)
   */
  @SuppressWarnings("try") // the scope acts while open; the body never names it
  public static double update_ema_variables(Module model, Module emaModel, double alpha, long globalStep) {
    double used = effectiveAlpha(alpha, globalStep);
    try (MemoryScope scope = MemoryScope.open()) {
      TensorVector emaParams = emaModel.parameters(true);
      TensorVector params = model.parameters(true);
      blend(toList(emaParams), toList(params), used);
      Reference.reachabilityFence(emaParams); // the listed tensors are references into the vectors
      Reference.reachabilityFence(params);
    }
    return used;
  }

  /**
   * The update itself with a given decay: {@code ema[i] = alpha * ema[i] + (1 - alpha) * params[i]} for every
   * pair, in place, no autograd. A tensor listed twice in {@code ema} (a shared parameter) is updated once, as
   * Python's de-duplicated {@code parameters()} does.
   */
  @SuppressWarnings({"try", "restricted"}) // the NoGradGuard acts while open; segments over libtorch's own storage
  public static void blend(List<Tensor> ema, List<Tensor> params, double alpha) {
    if (ema.size() != params.size()) {
      throw new IllegalArgumentException("the EMA model has " + ema.size() + " parameters, the model " + params.size());
    }
    float a = (float) alpha;
    float b = (float) (1 - alpha);
    List<MemorySegment[]> fast = new ArrayList<>();
    List<Integer> slow = new ArrayList<>();
    Set<Long> seen = new HashSet<>();
    long total = 0;
    // About ten native calls per pair: with one pass over the data, metadata calls are a large part of the cost.
    for (int i = 0; i < ema.size(); i++) {
      Tensor e = ema.get(i);
      Tensor p = params.get(i);
      if (!e.is_same_size(p)) {
        throw new IllegalArgumentException("parameter " + i + ": EMA shape " + Arrays.toString(Tensors.shape(e))
            + " but model shape " + Arrays.toString(Tensors.shape(p)));
      }
      long n = e.numel();
      if (n == 0) {
        continue;
      }
      if (fastPathApplies(e, p, n)) {
        long address = e.mutable_data_ptr().address();
        if (seen.add(address)) {
          fast.add(new MemorySegment[] {
              MemorySegment.ofAddress(address).reinterpret(n * Float.BYTES),
              MemorySegment.ofAddress(p.const_data_ptr().address()).reinterpret(n * Float.BYTES)});
          total += n;
        }
      } else if (seen.add(e.unsafeGetTensorImpl().address())) {
        slow.add(i);
      }
    }
    if (!fast.isEmpty()) {
      blendSegments(fast, total, a, b);
    }
    if (!slow.isEmpty()) {
      try (NoGradGuard guard = new NoGradGuard()) {
        Scalar decay = new Scalar(alpha);
        Scalar weight = new Scalar(1 - alpha);
        for (int i : slow) {
          Tensor e = ema.get(i);
          Tensor p = params.get(i);
          Tensor src = p.device().equals(e.device()) ? p : p.to(e.device(), p.scalar_type());
          e.mul_(decay).add_(src, weight);
        }
      }
    }
  }

  private static boolean fastPathApplies(Tensor e, Tensor p, long numel) {
    return numel <= Integer.MAX_VALUE && e.is_cpu() && p.is_cpu()
        && e.scalar_type().intern() == torch.ScalarType.Float && p.scalar_type().intern() == torch.ScalarType.Float
        && sameDenseLayout(e, p);
  }

  /**
   * Whether both tensors cover their elements without gaps in the same element order (both contiguous, or
   * both channels-last: {@link MemoryFormat}), so that the i-th float of one pairs with the i-th
   * of the other.
   */
  private static boolean sameDenseLayout(Tensor e, Tensor p) {
    return MemoryFormat.CONTIGUOUS.isIn(e) && MemoryFormat.CONTIGUOUS.isIn(p)
        || MemoryFormat.CHANNELS_LAST.isIn(e) && MemoryFormat.CHANNELS_LAST.isIn(p);
  }

  /** One pass over all (ema, param) segment pairs, in chunks over the common pool when the model is large. */
  private static void blendSegments(List<MemorySegment[]> pairs, long total, float a, float b) {
    if (total < 2L * CHUNK || NativeRuntime.threads() <= 1 || Runtime.getRuntime().availableProcessors() <= 1) {
      float[] emaBuffer = new float[BLOCK];
      float[] paramBuffer = new float[BLOCK];
      for (MemorySegment[] pair : pairs) {
        blendRange(pair[0], pair[1], 0, pair[0].byteSize() / Float.BYTES, a, b, emaBuffer, paramBuffer);
      }
      return;
    }
    List<long[]> work = new ArrayList<>(); // {pair index, start, end}
    for (int k = 0; k < pairs.size(); k++) {
      long n = pairs.get(k)[0].byteSize() / Float.BYTES;
      for (long start = 0; start < n; start += CHUNK) {
        work.add(new long[] {k, start, Math.min(n, start + CHUNK)});
      }
    }
    IntStream.range(0, work.size()).parallel().forEach(w -> {
      long[] item = work.get(w);
      MemorySegment[] pair = pairs.get((int) item[0]);
      blendRange(pair[0], pair[1], item[1], item[2], a, b, new float[BLOCK], new float[BLOCK]);
    });
  }

  /**
   * {@code ema[i] = fma(b, param[i], fl32(ema[i] * a))} for {@code i} in [from, to), block by block through two
   * small heap buffers: C2 vectorises the arithmetic loop on arrays (not, in JDK 25, on two native segments that
   * might alias), and the bulk copies are memcpy; about 3x faster than element-wise segment access.
   */
  private static void blendRange(MemorySegment ema, MemorySegment param, long from, long to, float a, float b,
      float[] emaBuffer, float[] paramBuffer) {
    for (long start = from; start < to; start += BLOCK) {
      int len = (int) Math.min(BLOCK, to - start);
      long offset = start * Float.BYTES;
      MemorySegment.copy(ema, F32, offset, emaBuffer, 0, len);
      MemorySegment.copy(param, F32, offset, paramBuffer, 0, len);
      for (int i = 0; i < len; i++) {
        emaBuffer[i] = Math.fma(b, paramBuffer[i], emaBuffer[i] * a);
      }
      MemorySegment.copy(emaBuffer, 0, ema, F32, offset, len);
    }
  }

  private static List<Tensor> toList(TensorVector v) {
    List<Tensor> out = new ArrayList<>((int) v.size());
    for (long i = 0; i < v.size(); i++) {
      out.add(v.get(i));
    }
    return out;
  }
}
