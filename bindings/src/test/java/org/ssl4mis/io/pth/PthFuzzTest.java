package org.ssl4mis.io.pth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded mutation fuzzing of the reader: valid checkpoints (written by the Java writer, so no Python is
 * needed) get random bit flips, overwrites with interesting values, truncations, duplicated and deleted
 * chunks, either in the raw file or in the {@code data.pkl} inside the zip (re-zipped, stored or deflated,
 * so the mutation gets past the CRC). Each input must either parse or throw
 * {@link CheckpointFormatException}; what parses must survive writing and reading again unchanged.
 *
 * <p>System properties: {@code ssl4mis.fuzz.iterations} (default 20000) and {@code ssl4mis.fuzz.seed}.
 * A failure prints the iteration, its seed and mutations, which replay with the same base seed.
 */
class PthFuzzTest {
  private static final int ITERATIONS = Integer.getInteger("ssl4mis.fuzz.iterations", 20_000);
  private static final long BASE_SEED = Long.getLong("ssl4mis.fuzz.seed", 0x55L << 40 | 0x4d15L);
  /** Longest a single input may take before it counts as a hang. */
  private static final long INPUT_TIMEOUT_SECONDS = 20;
  /** Parsed trees whose tensors would materialise more than this are not described (expand() views can be huge). */
  private static final long DESCRIBE_LIMIT_BYTES = 1 << 26;

  private static final int[] INTERESTING_BYTES = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0xfe, '(', '.', ')', ']', '}',
      'q', 'h', 'j', 'r', 'R', 'b', 'c', 'X', 'K', 'J', 'M', 'N', 's', 'u', 'a', 'e', 't', 'Q', 0x85, 0x86, 0x87,
      0x88, 0x89, 0x8a, 0x8b, 0x93, 0x94, 0x95, 'P', 'K'};
  private static final int[] INTERESTING_INTS = {0, 1, -1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff,
      0x80000000, 0xfffffff0, 64, 1024};

  private record Seed(String name, byte[] file, boolean zip) {
  }

  private static List<Seed> seeds() {
    Map<Object, Object> small = PthSamples.mapOf("model", PthSamples.stateDict(1), "epoch", 3L, "lr", 0.5,
        "flags", PyTuple.of(true, null, "x"), "bytes", new byte[] {1, 2});
    return List.of(
        new Seed("state_dict.zip", PthWriter.toBytes(PthSamples.stateDict(1), "archive"), true),
        new Seed("views.zip", PthWriter.toBytes(PthSamples.views(), "archive"), true),
        new Seed("small_checkpoint.zip", PthWriter.toBytes(small, "archive"), true),
        new Seed("views.zip64", PthWriter.toBytes(PthSamples.views(), "archive", true), true),
        new Seed("state_dict.legacy", PthSamples.legacyBytes(PthSamples.stateDict(2)), false),
        new Seed("small_checkpoint.legacy", PthSamples.legacyBytes(small), false));
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void mutatedCheckpointsParseOrFailCleanly() throws Exception {
    List<Seed> seeds = seeds();
    int parsed = 0;
    int rejected = 0;
    long start = System.nanoTime();
    ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "pth-fuzz");
      t.setDaemon(true);
      return t;
    });
    try {
      for (int i = 0; i < ITERATIONS; i++) {
        long seed = BASE_SEED + i * 0x9e3779b97f4a7c15L;
        Random random = new Random(seed);
        Seed base = seeds.get(random.nextInt(seeds.size()));
        List<String> mutations = new ArrayList<>();
        byte[] input = mutate(base, random, mutations);
        String context = "iteration " + i + " (base seed " + BASE_SEED + ", seed " + seed + ") of " + base.name()
            + " with " + mutations;
        Future<Boolean> outcome = worker.submit(() -> check(input, context));
        try {
          if (outcome.get(INPUT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            parsed++;
          } else {
            rejected++;
          }
        } catch (TimeoutException e) {
          outcome.cancel(true);
          fail("no result within " + INPUT_TIMEOUT_SECONDS + " s (a hang?): " + context);
        } catch (ExecutionException e) {
          fail(context + ": " + e.getCause(), e.getCause());
        }
      }
    } finally {
      worker.shutdownNow();
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    System.out.printf("pth fuzz: tried %d mutated inputs (%d parsed, %d rejected) in %d ms, base seed %d%n",
        ITERATIONS, parsed, rejected, millis, BASE_SEED);
    assertEquals(ITERATIONS, parsed + rejected);
    assertTrue(rejected > 0 && parsed > 0, "the mutations exercise both outcomes");
  }

  /** Returns whether the input parsed; fails the test on anything but a clean CheckpointFormatException. */
  private static boolean check(byte[] input, String context) {
    Checkpoint checkpoint;
    try {
      checkpoint = PthReader.read("fuzz.pth", input);
    } catch (CheckpointFormatException e) {
      if (!e.getMessage().startsWith("fuzz.pth: ")) {
        fail(context + ": message does not name the file: " + e.getMessage());
      }
      if (e.getCause() instanceof RuntimeException unexpected) {
        fail(context + ": an unchecked exception escaped the format checks: " + e.getMessage(), unexpected);
      }
      return false;
    } catch (Throwable t) {
      fail(context + ": " + t, t);
      return false;
    }
    // What parses must be complete and consistent: it writes back and reads again the same.
    try {
      Object root = checkpoint.root();
      byte[] rewritten = PthWriter.toBytes(root, "archive");
      Checkpoint again = PthReader.read("rewritten.pth", rewritten);
      if (materialisedSize(root) <= DESCRIBE_LIMIT_BYTES) {
        assertEquals(TreeDescription.of(root), TreeDescription.of(again.root()), context);
      }
    } catch (Throwable t) {
      fail(context + ": parsed, but writing it back and reading again failed: " + t, t);
    }
    return true;
  }

  /** Bytes that describing the tree would materialise (tensor copies), without materialising them. */
  private static long materialisedSize(Object root) {
    long total = 0;
    IdentityHashMap<Object, Boolean> seen = new IdentityHashMap<>();
    List<Object> pending = new ArrayList<>();
    pending.add(new Object[] {root});
    while (!pending.isEmpty()) {
      Object value = ((Object[]) pending.removeLast())[0];
      if (value instanceof RawTensor t) {
        total += t.numel() * t.dtype().byteSize();
      } else if (value instanceof StorageRef s) {
        total += s.byteSize();
      }
      if (value == null || seen.put(value, Boolean.TRUE) != null) {
        continue;
      }
      if (value instanceof Map<?, ?> map) {
        map.forEach((k, v) -> {
          pending.add(new Object[] {k});
          pending.add(new Object[] {v});
        });
        if (value instanceof PyOrderedDict od) {
          od.attributes().values().forEach(v -> pending.add(new Object[] {v}));
        }
      } else if (value instanceof List<?> list) {
        list.forEach(v -> pending.add(new Object[] {v}));
      }
      if (total > DESCRIBE_LIMIT_BYTES) {
        return total;
      }
    }
    return total;
  }

  // ---- mutations

  private static byte[] mutate(Seed base, Random random, List<String> log) throws IOException {
    if (base.zip() && random.nextBoolean()) {
      return mutatePickleInside(base.file(), random, log);
    }
    log.add("raw file");
    return mutateBytes(base.file(), random, log);
  }

  /** Mutates data.pkl and zips the archive again (stored or deflated), so the CRCs match the mutation. */
  private static byte[] mutatePickleInside(byte[] file, Random random, List<String> log) throws IOException {
    ZipReader zip = ZipReader.open(MemorySegment.ofArray(file));
    boolean deflate = random.nextInt(4) == 0;
    log.add("data.pkl re-zipped " + (deflate ? "deflated" : "stored"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (deflate) {
      try (ZipOutputStream zipOut = new ZipOutputStream(out)) {
        for (ZipReader.Entry e : zip.entries()) {
          zipOut.putNextEntry(new ZipEntry(e.name()));
          zipOut.write(entryBytes(zip, e, random, log));
          zipOut.closeEntry();
        }
      }
    } else {
      ZipWriter writer = new ZipWriter(Channels.newChannel(out), random.nextInt(4) == 0);
      for (ZipReader.Entry e : zip.entries()) {
        writer.add(e.name(), entryBytes(zip, e, random, log));
      }
      writer.finish();
    }
    return out.toByteArray();
  }

  private static byte[] entryBytes(ZipReader zip, ZipReader.Entry entry, Random random, List<String> log) {
    byte[] data = zip.contents(entry).toArray(ValueLayout.JAVA_BYTE);
    return entry.name().endsWith("/data.pkl") ? mutateBytes(data, random, log) : data;
  }

  private static byte[] mutateBytes(byte[] original, Random random, List<String> log) {
    byte[] data = original.clone();
    int count = 1 + random.nextInt(4);
    for (int m = 0; m < count && data.length > 0; m++) {
      int at = random.nextInt(data.length);
      switch (random.nextInt(7)) {
        case 0 -> {
          int bit = random.nextInt(8);
          data[at] ^= (byte) (1 << bit);
          log.add("flip bit " + bit + " at " + at);
        }
        case 1 -> {
          int value = INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)];
          data[at] = (byte) value;
          log.add("byte " + value + " at " + at);
        }
        case 2 -> {
          int value = INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)];
          for (int b = 0; b < 4 && at + b < data.length; b++) {
            data[at + b] = (byte) (value >>> (8 * b));
          }
          log.add("int " + value + " at " + at);
        }
        case 3 -> {
          data = Arrays.copyOf(data, at);
          log.add("truncate to " + at);
        }
        case 4 -> {
          int length = 1 + random.nextInt(Math.min(64, data.length - at));
          int to = random.nextInt(data.length + 1);
          byte[] grown = new byte[data.length + length];
          System.arraycopy(data, 0, grown, 0, to);
          System.arraycopy(data, at, grown, to, length);
          System.arraycopy(data, to, grown, to + length, data.length - to);
          data = grown;
          log.add("duplicate " + length + " bytes from " + at + " to " + to);
        }
        case 5 -> {
          int length = 1 + random.nextInt(Math.min(64, data.length - at));
          byte[] shrunk = new byte[data.length - length];
          System.arraycopy(data, 0, shrunk, 0, at);
          System.arraycopy(data, at + length, shrunk, at, data.length - at - length);
          data = shrunk;
          log.add("delete " + length + " bytes at " + at);
        }
        default -> {
          int length = 1 + random.nextInt(8);
          byte[] grown = new byte[data.length + length];
          System.arraycopy(data, 0, grown, 0, at);
          for (int b = 0; b < length; b++) {
            grown[at + b] = (byte) random.nextInt(256);
          }
          System.arraycopy(data, at, grown, at + length, data.length - at);
          data = grown;
          log.add("insert " + length + " random bytes at " + at);
        }
      }
    }
    return data;
  }
}
