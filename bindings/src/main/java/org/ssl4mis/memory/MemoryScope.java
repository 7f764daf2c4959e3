package org.ssl4mis.memory;

import java.util.Objects;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * Frees every native object (tensors, options, temporary vectors) created inside a block when the block
 * ends, except the results the block lets {@linkplain #keep escape}.
 *
 * <pre>{@code
 * for (int it = 0; it < iterations; it++) {
 *   try (MemoryScope scope = MemoryScope.open()) {
 *     Tensor loss = step(batch);          // every temporary of the step lives in the scope
 *     lastLoss = scope.keep(loss);        // survives the scope; owned by the enclosing scope, if any
 *   }                                     // everything else is freed here, deterministically
 * }
 * }</pre>
 *
 * <p>Scopes are per thread (a data-loader thread opens its own) and nest: a kept object moves to the
 * enclosing scope of the same thread, or, at the outermost level, is owned by the caller, who frees it
 * with {@code close()} or leaves it to the garbage collector. A scope must be closed on the thread that
 * opened it, innermost first.
 *
 * <p>Without scopes each JavaCPP temporary lives until the garbage collector finds it: a training loop
 * then grows by about 1 MB per iteration and runs several times slower (see benchmarks/README.md).
 *
 * <p>Do not create long-lived objects (networks, optimizers) inside a scope unless they are kept: closing
 * the scope would free them.
 */
public final class MemoryScope implements AutoCloseable {

  private final PointerScope scope;
  private final PointerScope parent;
  private final Thread owner;
  private final java.util.Set<Pointer> kept = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private boolean closed;

  private MemoryScope() {
    this.owner = Thread.currentThread();
    this.parent = PointerScope.getInnerScope();
    this.scope = new PointerScope();
  }

  /** Opens a scope on the current thread; close it with try-with-resources. */
  public static MemoryScope open() {
    return new MemoryScope();
  }

  /** Runs {@code body} in a new scope and lets its result escape. */
  public static <T extends Pointer> T call(Supplier<T> body) {
    try (MemoryScope s = open()) {
      return s.keep(body.get());
    }
  }

  /** Runs {@code body} in a new scope; everything it creates is freed when it returns. */
  public static void run(Runnable body) {
    try (MemoryScope s = open()) {
      body.run();
    }
  }

  /**
   * Lets {@code p} outlive this scope: it moves to the enclosing scope of this thread, or, when there is
   * none, to the caller, who owns it from now on. Keeping the same object twice is harmless. Keep only
   * objects created while this scope is the innermost one.
   */
  public <T extends Pointer> T keep(T p) {
    checkOpen();
    Objects.requireNonNull(p, "pointer");
    if (!kept.add(p)) {
      return p; // already moved out
    }
    // Take the new owner's reference before dropping ours, so the count never touches zero.
    if (parent != null) {
      parent.attach(p);
    } else {
      p.retainReference();
    }
    scope.detach(p);
    return p;
  }

  /**
   * Takes {@code p} out of every scope: no scope will free it, the caller owns it (frees it with
   * {@code close()} or leaves it to the garbage collector). For long-lived state created inside an iteration,
   * such as an optimizer's momentum buffers. Keep only objects created while this scope is the innermost one.
   */
  public <T extends Pointer> T detach(T p) {
    checkOpen();
    Objects.requireNonNull(p, "pointer");
    if (!kept.add(p)) {
      return p;
    }
    p.retainReference();
    scope.detach(p);
    return p;
  }

  /** Whether this scope is the innermost open scope of the current thread. */
  public boolean isInnermost() {
    return PointerScope.getInnerScope() == scope;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException("a MemoryScope must be closed on the thread that opened it ("
          + owner.getName() + "), not on " + Thread.currentThread().getName());
    }
    if (!isInnermost()) {
      throw new IllegalStateException("MemoryScopes must be closed innermost first; an inner scope is still open");
    }
    closed = true;
    scope.close();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this MemoryScope is closed");
    }
  }
}
