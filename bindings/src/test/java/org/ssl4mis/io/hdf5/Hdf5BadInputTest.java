package org.ssl4mis.io.hdf5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.testing.PythonReference;

/** Missing, foreign, truncated and corrupt files; missing datasets; element types and sizes that cannot be read. */
class Hdf5BadInputTest {
  @TempDir
  Path dir;

  /** Asserts that {@code action} throws an {@link Hdf5Exception} whose message names the file and says {@code what}. */
  private static Hdf5Exception fails(Path file, String what, Executable action) {
    Hdf5Exception e = assertThrows(Hdf5Exception.class, action);
    assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
    assertEquals(file, e.file());
    assertTrue(e.getMessage().contains(what), "expected '" + what + "' in: " + e.getMessage());
    return e;
  }

  @Test
  void missingFileDirectoryTextAndEmptyFiles() throws Exception {
    Path missing = dir.resolve("missing.h5");
    fails(missing, "no such file", () -> Hdf5File.openRead(missing));
    fails(dir, "not a regular file", () -> Hdf5File.openRead(dir));
    Path text = dir.resolve("notes.h5");
    Files.writeString(text, "image,label\n1,2\n".repeat(100));
    Hdf5Exception e = fails(text, "not an HDF5 file", () -> Hdf5File.openRead(text));
    assertTrue(e.getMessage().contains("HDF5:"), "carries HDF5's own account: " + e.getMessage());
    assertEquals(Optional.empty(), e.dataset());
    Path empty = dir.resolve("empty.h5");
    Files.write(empty, new byte[0]);
    fails(empty, "not an HDF5 file", () -> Hdf5File.openRead(empty));
  }

  @Test
  void truncatedFilesFailCleanlyAtEveryLength() throws Exception {
    Path whole = dir.resolve("whole.h5");
    Hdf5Array image = Hdf5TestData.array(DType.FLOAT32, new long[] {16, 32, 32}, 5);
    try (Hdf5File f = Hdf5File.create(whole)) {
      f.write("image", image, WriteOptions.gzip());
      f.write("label", new byte[16 * 32 * 32], new long[] {16, 32, 32}, DType.UINT8, WriteOptions.gzip());
    }
    byte[] bytes = Files.readAllBytes(whole);
    int n = bytes.length;
    Path cut = dir.resolve("cut.h5");
    for (int len : new int[] {1, 8, 64, 512, 2048, n / 4, n / 2, n - 100, n - 1}) {
      Files.write(cut, Arrays.copyOf(bytes, len));
      fails(cut, "HDF5", () -> {
        try (Hdf5File f = Hdf5File.openRead(cut)) {
          f.readFloats("image");
          f.readBytes("label");
        }
      });
    }
    try (Hdf5File f = Hdf5File.openRead(whole)) {
      assertEquals(image, f.read("image"), "the intact file still reads");
    }
  }

  @Test
  void corruptCompressedDataFailsCleanly() throws Exception {
    Path whole = dir.resolve("whole.h5");
    Hdf5Array image = Hdf5TestData.array(DType.FLOAT32, new long[] {32, 32, 32}, 6);
    try (Hdf5File f = Hdf5File.create(whole)) {
      f.write("image", image, WriteOptions.gzip());
    }
    byte[] bytes = Files.readAllBytes(whole);
    SplittableRandom r = new SplittableRandom(11);
    Path bad = dir.resolve("bad.h5");
    int failed = 0;
    for (int trial = 0; trial < 12; trial++) {
      byte[] c = bytes.clone();
      int at = bytes.length / 3 + r.nextInt(bytes.length / 2);
      for (int i = 0; i < 32; i++) {
        c[at + i] ^= (byte) (1 + r.nextInt(255));
      }
      Files.write(bad, c);
      try (Hdf5File f = Hdf5File.openRead(bad)) {
        f.read("image");
      } catch (Hdf5Exception e) {
        assertTrue(e.getMessage().startsWith(bad + ": dataset 'image': "), e.getMessage());
        failed++;
      }
    }
    assertTrue(failed > 0, "corrupting compressed chunks is noticed");
  }

  @Test
  void missingDatasetsNameTheFileAndListWhatIsThere() throws Exception {
    Path file = dir.resolve("case.h5");
    try (Hdf5File f = Hdf5File.create(file)) {
      f.write("image", new float[4], new long[] {2, 2});
      f.write("label", new byte[4], new long[] {2, 2}, DType.UINT8);
      f.write("extra/scribble", new byte[4], new long[] {2, 2}, DType.UINT8);
    }
    try (Hdf5File f = Hdf5File.openRead(file)) {
      Hdf5Exception e = fails(file, "dataset 'scribble': no such dataset; the file has datasets "
          + "[extra/scribble, image, label]", () -> f.readBytes("scribble"));
      assertEquals(Optional.of("scribble"), e.dataset());
      fails(file, "dataset 'extra': is a group, not a dataset", () -> f.info("extra"));
      fails(file, "no such dataset", () -> f.read("image/x"));
      fails(file, "no such dataset", () -> f.readInto("nope/deeper/still", MemorySegment.ofArray(new byte[8])));
      assertFalse(f.has("scribble"));
      assertThrows(IllegalArgumentException.class, () -> f.read(""));
      assertThrows(IllegalArgumentException.class, () -> f.read("/"));
      assertThrows(IllegalArgumentException.class, () -> f.read("extra/../image"));
      assertThrows(NullPointerException.class, () -> f.read(null));
    }
  }

  /** Writes datasets of types and sizes this package does not read, with h5py. */
  private static final String UNSUPPORTED = """
      import sys, h5py, numpy as np
      with h5py.File(sys.argv[1], 'w') as f:
          f['ok'] = np.arange(6, dtype=np.float32).reshape(2, 3)
          f.create_dataset('vstr', data=['a', 'bc'], dtype=h5py.string_dtype())
          f.create_dataset('fstr', data=np.array([b'ab', b'cd']))
          f.create_dataset('compound', data=np.zeros(2, dtype=[('x', '<i4'), ('y', '<f8')]))
          f.create_dataset('c64', data=np.zeros(2, dtype=np.complex64))
          f.create_dataset('opaque', data=np.zeros(3, dtype='V4'))
          f.create_dataset('ld', data=np.zeros(2, dtype=np.longdouble))
          f.create_dataset('lzf', data=np.arange(100.0), compression='lzf')
          f.create_dataset('empty', data=h5py.Empty('f4'))
          f.create_dataset('huge', shape=(1 << 16, 1 << 16), dtype='u1', chunks=(256, 256), compression='gzip')
          f.create_dataset('big', shape=(1 << 22,), dtype='f4', chunks=(1 << 16,), compression='gzip')
          f.create_group('grp').create_dataset('x', data=[1, 2])
          f['soft'] = h5py.SoftLink('/ok')
          f['dangling'] = h5py.SoftLink('/nowhere')
          f['external'] = h5py.ExternalLink('missing.h5', '/x')
      """;

  @Test
  void unsupportedTypesLinksAndOversizedDatasets() throws Exception {
    PythonReference.require("h5py", "numpy");
    Path file = dir.resolve("odd.h5");
    PythonReference.run(UNSUPPORTED, Duration.ofMinutes(1), file.toString());
    try (Hdf5File f = Hdf5File.openRead(file)) {
      assertEquals(List.of("big", "c64", "compound", "empty", "fstr", "grp/x", "huge", "ld", "lzf", "ok", "opaque",
          "vstr"), f.datasetNames(), "soft and external links are not listed");

      fails(file, "dataset 'vstr': element type variable-length UTF-8 string is not supported", () -> f.read("vstr"));
      fails(file, "element type fixed-length ASCII string of 2 bytes", () -> f.info("fstr"));
      fails(file, "element type compound {x, y}", () -> f.readFloats("compound"));
      fails(file, "element type compound {r, i}", () -> f.readFloats("c64"));
      fails(file, "element type opaque of 4 bytes", () -> f.readBytes("opaque"));
      fails(file, "floating point of 16 bytes is not supported", () -> f.readDoubles("ld"));
      fails(file, "null dataspace", () -> f.read("empty"));

      assertEquals(Optional.of("lzf"), f.info("lzf").compression());
      fails(file, "dataset 'lzf': is stored with the lzf filter (HDF5 filter id 32000), which this HDF5 library",
          () -> f.readDoubles("lzf"));

      DatasetInfo huge = f.info("huge");
      assertArrayEquals(new long[] {1 << 16, 1 << 16}, huge.shape());
      assertEquals(1L << 32, huge.elementCount());
      fails(file, "more than a Java array holds", () -> f.readBytes("huge"));
      assertThrows(IllegalArgumentException.class, () -> f.readInto("huge", MemorySegment.ofArray(new byte[1024])));

      assertTrue(f.has("soft"));
      assertEquals(f.read("ok"), f.read("soft"));
      assertFalse(f.has("dangling"));
      fails(file, "dataset 'dangling': is a link that does not resolve", () -> f.read("dangling"));
      fails(file, "dataset 'external': is a link that does not resolve", () -> f.read("external"));
      fails(file, "is a group", () -> f.read("grp"));
      assertArrayEquals(new int[] {1, 2}, f.readInts("grp/x"));
    }
    try (Hdf5File f = Hdf5File.openRead(file, 1 << 20)) {
      fails(file, "dataset 'big': is 16777216 bytes", () -> f.readFloats("big"));
      try (Arena arena = Arena.ofConfined()) {
        // Straight into caller memory nothing is allocated, so the limit does not apply.
        MemorySegment dst = arena.allocate(4L << 22);
        assertEquals(1 << 22, f.readInto("big", dst));
        assertEquals(0f, dst.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 12345), "fill value");
      }
    }
  }
}
