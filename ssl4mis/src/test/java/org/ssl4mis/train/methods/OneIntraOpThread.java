package org.ssl4mis.train.methods;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@code @ExtendWith(OneIntraOpThread.class)}: the class's tests run libtorch on one intra-op thread
 * ({@link MethodTestSupport#oneThread}), so sums come out in the order the single-threaded Python side uses;
 * the previous count is restored after the class.
 */
final class OneIntraOpThread implements BeforeAllCallback, AfterAllCallback {
  @Override
  public void beforeAll(ExtensionContext context) {
    MethodTestSupport.oneThread();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    MethodTestSupport.restoreThreads();
  }
}
