package org.ssl4mis.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.tensor.DType;

/**
 * Seeded mutation fuzzing of the reader: valid files get bit flips, interesting bytes, digit changes in the
 * header, truncations, insertions, deletions and header-length changes. Each input must either read or throw
 * {@link CheckpointFormatException}; what reads must write and read back the same.
 *
 * <p>System properties: {@code ssl4mis.fuzz.safetensors.iterations} (default 3000) and
 * {@code ssl4mis.fuzz.seed}; a failure names the iteration and its seed.
 */
class SafetensorsFuzzTest {
  private static final int ITERATIONS = Integer.getInteger("ssl4mis.fuzz.safetensors.iterations", 3_000);
  private static final long BASE_SEED = Long.getLong("ssl4mis.fuzz.seed", 0x5afe7e5L);
  private static final byte[] INTERESTING = "{}[]\",:0123456789-. e\\u\0\u007f".getBytes(StandardCharsets.ISO_8859_1);

  private static List<byte[]> seeds() {
    LinkedHashMap<String, RawTensor> small = new LinkedHashMap<>();
    small.put("w", SafetensorsSamples.pattern(DType.FLOAT32, 2, 3));
    small.put("b", SafetensorsSamples.pattern(DType.INT64, 2));
    small.put("s", SafetensorsSamples.pattern(DType.BOOL));
    small.put("e", SafetensorsSamples.pattern(DType.FLOAT16, 0, 2));
    LinkedHashMap<String, RawTensor> every = SafetensorsSamples.everyDtype();
    every.putAll(SafetensorsSamples.specials());
    return List.of(
        Safetensors.toBytes(small, Map.of("format", "pt")),
        Safetensors.toBytes(small, SafetensorsSamples.oddMetadata()),
        Safetensors.toBytes(every, Map.of()),
        Safetensors.toBytes(Map.of(SafetensorsSamples.ODD_NAME, SafetensorsSamples.pattern(DType.UINT8, 5)), Map.of()),
        Safetensors.toBytes(Map.of(), Map.of()));
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void mutatedFilesReadOrFailCleanly() {
    List<byte[]> seeds = seeds();
    int read = 0;
    int rejected = 0;
    for (int iteration = 0; iteration < ITERATIONS; iteration++) {
      long seed = BASE_SEED + iteration;
      Random random = new Random(seed);
      byte[] input = seeds.get(random.nextInt(seeds.size()));
      int mutations = 1 + random.nextInt(4);
      for (int m = 0; m < mutations; m++) {
        input = mutate(input, random);
      }
      try {
        SafetensorsFile file = Safetensors.read("fuzz-" + iteration, input);
        read++;
        byte[] again = Safetensors.toBytes(file.tensors(), file.metadata());
        SafetensorsFile reread = Safetensors.read("rewritten", again);
        SafetensorsSamples.assertSameTensors(file.tensors(), reread.tensors(), "iteration " + iteration);
        assertEquals(file.metadata(), reread.metadata());
      } catch (CheckpointFormatException e) {
        rejected++;
        assertTrue(e.getMessage().startsWith("fuzz-" + iteration + ": "), e.getMessage());
      } catch (RuntimeException | Error e) {
        fail("iteration " + iteration + " (seed " + seed + ") threw " + e, e);
      }
    }
    assertEquals(ITERATIONS, read + rejected);
    assertTrue(read > 0 && rejected > ITERATIONS / 4, "read " + read + ", rejected " + rejected);
  }

  private static byte[] mutate(byte[] input, Random random) {
    if (input.length < 8) {
      return Arrays.copyOf(input, input.length + 1 + random.nextInt(16));
    }
    int headerEnd = (int) Math.min(input.length, 8 + Math.max(0, ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN)
        .getLong(0)));
    // Most mutations go to the header, where the structure is.
    int at = random.nextInt(4) == 0 || headerEnd <= 8 ? random.nextInt(input.length) : 8 + random.nextInt(headerEnd - 8);
    byte[] out = input.clone();
    switch (random.nextInt(9)) {
      case 0 -> out[at] ^= (byte) (1 << random.nextInt(8));
      case 1 -> out[at] = INTERESTING[random.nextInt(INTERESTING.length)];
      case 2 -> {
        // A digit of the header becomes another digit (shapes, offsets).
        for (int i = 0; i < 64; i++) {
          int j = 8 + random.nextInt(Math.max(1, headerEnd - 8));
          if (j < out.length && out[j] >= '0' && out[j] <= '9') {
            out[j] = (byte) ('0' + random.nextInt(10));
            break;
          }
        }
      }
      case 3 -> out = Arrays.copyOf(input, random.nextInt(input.length));
      case 4 -> {
        int length = 1 + random.nextInt(8);
        out = new byte[input.length + length];
        System.arraycopy(input, 0, out, 0, at);
        for (int i = 0; i < length; i++) {
          out[at + i] = INTERESTING[random.nextInt(INTERESTING.length)];
        }
        System.arraycopy(input, at, out, at + length, input.length - at);
      }
      case 5 -> {
        int length = Math.min(input.length - at, 1 + random.nextInt(8));
        out = new byte[input.length - length];
        System.arraycopy(input, 0, out, 0, at);
        System.arraycopy(input, at + length, out, at, input.length - at - length);
      }
      case 6 -> {
        long[] lengths = {0, 1, 7, 8, input.length, input.length - 8, -1, Long.MIN_VALUE, 1L << 32,
            Safetensors.MAX_HEADER_SIZE};
        long length = random.nextBoolean() ? lengths[random.nextInt(lengths.length)]
            : (headerEnd - 8) + random.nextInt(33) - 16;
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
      }
      case 7 -> {
        // Repeat a chunk of the header (duplicate keys, nesting).
        int length = Math.min(input.length - at, 1 + random.nextInt(48));
        out = new byte[input.length + length];
        System.arraycopy(input, 0, out, 0, at + length);
        System.arraycopy(input, at, out, at + length, input.length - at);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerEnd - 8 + (at < headerEnd ? length : 0));
      }
      default -> out[at] = (byte) random.nextInt(256);
    }
    return out;
  }
}
