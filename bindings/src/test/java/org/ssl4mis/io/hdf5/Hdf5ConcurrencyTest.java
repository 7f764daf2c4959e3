package org.ssl4mis.io.hdf5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.tensor.DType;

/**
 * Data-loader style use from several threads: the HDF5 library is not thread-safe, so the package serialises
 * its native calls; reads must come back right and nothing may crash.
 */
class Hdf5ConcurrencyTest {
  private static final int THREADS = 4;
  private static final int ITERATIONS = 30;
  private static final long[] SHAPE = {16, 64, 64};

  @TempDir
  Path dir;

  @Test
  @Timeout(120)
  void fourThreadsReadAndWriteConcurrently() throws Exception {
    int files = 4;
    Path[] paths = new Path[files];
    Hdf5Array[] images = new Hdf5Array[files];
    Hdf5Array[] labels = new Hdf5Array[files];
    for (int k = 0; k < files; k++) {
      paths[k] = dir.resolve("case" + k + ".h5");
      images[k] = Hdf5TestData.array(DType.FLOAT32, SHAPE, 1000 + k);
      labels[k] = Hdf5TestData.array(DType.UINT8, SHAPE, 2000 + k);
      try (Hdf5File f = Hdf5File.create(paths[k])) {
        f.write("image", images[k], WriteOptions.gzip());
        f.write("label", labels[k], WriteOptions.gzip());
      }
    }
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try (Hdf5File shared = Hdf5File.openRead(paths[0])) {
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        results.add(pool.submit(() -> {
          start.await();
          int reads = 0;
          Path own = Files.createDirectories(dir.resolve("thread" + thread));
          for (int i = 0; i < ITERATIONS; i++) {
            int k = (thread + i) % files;
            if (k == 0) {
              // Several threads on one Hdf5File.
              assertArrayEquals(images[0].floats(), shared.readFloats("image"));
              assertArrayEquals(labels[0].bytes(), shared.readBytes("label"));
            } else {
              try (Hdf5File f = Hdf5File.openRead(paths[k])) {
                assertEquals(List.of("image", "label"), f.datasetNames());
                assertArrayEquals(SHAPE, f.info("image").shape());
                assertEquals(images[k], f.read("image"));
                try (Arena arena = Arena.ofConfined()) {
                  MemorySegment dst = arena.allocate(labels[k].numel() * 4L);
                  f.readInto("label", dst, DType.INT32);
                  int[] got = dst.toArray(ValueLayout.JAVA_INT);
                  for (int j = 0; j < got.length; j += 97) {
                    assertEquals(labels[k].bytes()[j] & 0xFF, got[j]);
                  }
                }
                assertThrows(Hdf5Exception.class, () -> f.read("missing"));
              }
            }
            reads += 2;
            if (i % 10 == thread % 10) {
              Path out = own.resolve("w" + i + ".h5");
              Hdf5Array a = Hdf5TestData.array(DType.FLOAT64, new long[] {32, 32}, thread * 100L + i);
              try (Hdf5File w = Hdf5File.create(out)) {
                w.write("x", a, WriteOptions.gzip(1));
              }
              try (Hdf5File r = Hdf5File.openRead(out)) {
                assertEquals(a, r.read("x"));
              }
            }
          }
          return reads;
        }));
      }
      start.countDown();
      int total = 0;
      for (Future<Integer> r : results) {
        total += r.get(100, TimeUnit.SECONDS); // rethrows any assertion failure of the worker
      }
      assertEquals(THREADS * ITERATIONS * 2, total);
    } finally {
      pool.shutdownNow();
    }
  }
}
