package org.ssl4mis.io.hdf5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.tensor.DType;

/** Java writes, Java reads: every dtype, ranks 0 to 4, empty data, each storage option. */
class Hdf5RoundTripTest {
  @TempDir
  Path dir;

  private static final WriteOptions[] OPTIONS = {WriteOptions.DEFAULT, WriteOptions.gzip(),
      WriteOptions.gzip(9).withShuffle(true), WriteOptions.DEFAULT.withChunking(), WriteOptions.gzip(1)};
  private static final String[] OPTION_NAMES = {"plain", "gzip", "gzip9shuffle", "chunked", "gzip1"};

  @Test
  void everyDtypeShapeAndOptionReadsBackIdentically() throws Exception {
    Path file = dir.resolve("all.h5");
    List<String> names = new ArrayList<>();
    List<Hdf5Array> arrays = new ArrayList<>();
    List<Integer> optionIndex = new ArrayList<>();
    long seed = 1;
    try (Hdf5File f = Hdf5File.create(file)) {
      for (DType dtype : Hdf5TestData.DTYPES) {
        for (long[] shape : Hdf5TestData.SHAPES) {
          for (int o = 0; o < OPTIONS.length; o++) {
            Hdf5Array a = Hdf5TestData.array(dtype, shape, seed++);
            String name = dtype.pythonName() + "/" + Hdf5TestData.shapeName(shape) + "/" + OPTION_NAMES[o];
            if (shape.length == 0 && OPTIONS[o].isChunked()) {
              WriteOptions opts = OPTIONS[o];
              assertThrows(IllegalArgumentException.class, () -> f.write(name, a, opts), "scalars cannot be chunked");
              continue;
            }
            f.write(name, a, OPTIONS[o]);
            names.add(name);
            arrays.add(a);
            optionIndex.add(o);
          }
        }
      }
    }
    try (Hdf5File f = Hdf5File.openRead(file)) {
      assertEquals(names.stream().sorted().toList(), f.datasetNames().stream().sorted().toList());
      for (int i = 0; i < names.size(); i++) {
        String name = names.get(i);
        Hdf5Array expected = arrays.get(i);
        WriteOptions opts = OPTIONS[optionIndex.get(i)];
        Hdf5Array got = f.read(name);
        assertEquals(expected, got, name);
        assertArrayEquals(Hdf5TestData.bytes(expected), Hdf5TestData.bytes(got), name);

        DatasetInfo info = f.info(name);
        assertEquals(name, info.name());
        assertArrayEquals(expected.shape(), info.shape(), name);
        assertEquals(expected.dtype(), info.dtype(), name);
        assertEquals(expected.dtype().pythonName(), info.storedType(), name);
        if (opts.isChunked()) {
          assertEquals(DatasetInfo.Layout.CHUNKED, info.layout(), name);
          assertArrayEquals(WriteOptions.guessChunks(expected.shape(), expected.dtype().byteSize()), info.chunks(),
              name);
        } else {
          assertEquals(DatasetInfo.Layout.CONTIGUOUS, info.layout(), name);
          assertEquals(0, info.chunks().length, name);
        }
        assertEquals(opts.gzipLevel() >= 0 ? Optional.of("gzip") : Optional.empty(), info.compression(), name);
        assertEquals(opts.gzipLevel() >= 0 ? OptionalInt.of(opts.gzipLevel()) : OptionalInt.empty(), info.gzipLevel(),
            name);
        assertEquals(opts.shuffle(), info.shuffle(), name);
      }
    }
  }

  @Test
  void explicitChunksAndNestedNames() throws Exception {
    Path file = dir.resolve("chunks.h5");
    Hdf5Array a = Hdf5TestData.array(DType.FLOAT32, new long[] {10, 20, 30}, 7);
    try (Hdf5File f = Hdf5File.create(file)) {
      f.write("/volumes/case1/image", a, WriteOptions.gzip(6).withChunks(5, 20, 7));
      f.write("label", new byte[] {0, 1, 2}, new long[] {3}, DType.UINT8);
      assertThrows(IllegalArgumentException.class,
          () -> f.write("bad", a, WriteOptions.DEFAULT.withChunks(11, 20, 30)), "chunk larger than the data");
      assertThrows(IllegalArgumentException.class,
          () -> f.write("bad", a, WriteOptions.DEFAULT.withChunks(5, 5)), "chunk rank differs");
    }
    try (Hdf5File f = Hdf5File.openRead(file)) {
      assertEquals(List.of("label", "volumes/case1/image"), f.datasetNames());
      assertTrue(f.has("volumes/case1/image"));
      assertTrue(f.has("/volumes/case1/image"));
      assertFalse(f.has("volumes/case1"), "a group is not a dataset");
      assertFalse(f.has("volumes/case2/image"));
      assertFalse(f.has("label/x"), "below a dataset");
      DatasetInfo info = f.info("volumes/case1/image");
      assertArrayEquals(new long[] {5, 20, 7}, info.chunks());
      assertEquals(OptionalInt.of(6), info.gzipLevel());
      assertTrue(info.storageBytes() > 0);
      assertEquals(a, f.read("volumes/case1/image"));
    }
  }

  @Test
  void conversionsFollowNumpyAstypeAndRefuseWhatDoesNotFit() throws Exception {
    Path file = dir.resolve("conv.h5");
    try (Hdf5File f = Hdf5File.create(file)) {
      f.write("u8", new byte[] {0, 1, (byte) 255}, new long[] {3}, DType.UINT8);
      f.write("i8", new byte[] {-1, 5}, new long[] {2}, DType.INT8);
      f.write("f64", new double[] {1e300, -1e300, 0.1, 2.9, -2.9, Double.NaN}, new long[] {6}, WriteOptions.DEFAULT);
      f.write("i64", new long[] {(1L << 24) + 1, 3, -7}, new long[] {3}, WriteOptions.gzip());
      f.write("i32", new int[] {300, 2}, new long[] {2}, WriteOptions.DEFAULT);
      f.write("labels", new int[] {0, 1, 2, 3}, new long[] {2, 2}, WriteOptions.DEFAULT);
      f.write("flabels", new float[] {0f, 1f, 2.5f, 255.9f}, new long[] {4});
      f.write("bool", new byte[] {0, 5, -1}, new long[] {3}, DType.BOOL);
    }
    try (Hdf5File f = Hdf5File.openRead(file)) {
      assertArrayEquals(new float[] {0, 1, 255}, f.readFloats("u8"));
      assertArrayEquals(new int[] {0, 1, 255}, f.readInts("u8"));
      assertArrayEquals(new byte[] {-1, 5}, f.readBytes("i8"), "int8 bytes come raw");
      assertArrayEquals(new float[] {-1, 5}, f.readFloats("i8"));
      float[] f32 = f.readFloats("f64");
      assertEquals(Float.POSITIVE_INFINITY, f32[0]);
      assertEquals(Float.NEGATIVE_INFINITY, f32[1]);
      assertEquals(0.1f, f32[2]);
      assertTrue(Float.isNaN(f32[5]));
      assertArrayEquals(new float[] {16_777_216f, 3, -7}, f.readFloats("i64"), "rounded to nearest even");
      assertArrayEquals(new double[] {16_777_217, 3, -7}, f.readDoubles("i64"));
      assertArrayEquals(new int[] {16_777_217, 3, -7}, f.readInts("i64"));
      assertArrayEquals(new long[] {0, 1, 2, 3}, f.readLongs("labels"));
      assertArrayEquals(new byte[] {0, 1, 2, 3}, f.readBytes("labels"));
      assertArrayEquals(new byte[] {0, 1, 2, (byte) 255}, f.readBytes("flabels"), "truncated toward zero");
      assertArrayEquals(new byte[] {0, 1, 1}, f.readBytes("bool"), "bools are stored as 0 or 1");
      assertArrayEquals(new float[] {0, 1, 1}, f.readFloats("bool"));
      Hdf5Array asBool = f.read("i32", DType.BOOL);
      assertArrayEquals(new byte[] {1, 1}, asBool.bytes());

      Hdf5Exception e = assertThrows(Hdf5Exception.class, () -> f.readBytes("i32"));
      assertTrue(e.getMessage().contains("'i32'") && e.getMessage().contains("300"), e.getMessage());
      e = assertThrows(Hdf5Exception.class, () -> f.readInts("f64"));
      assertTrue(e.getMessage().contains("1.0E300"), e.getMessage());
      assertThrows(Hdf5Exception.class, () -> f.read("f64", DType.FLOAT16), "float16 only from float16");
      assertThrows(IllegalStateException.class, () -> f.read("u8").floats(), "typed accessor of the wrong type");
    }
  }

  @Test
  void readIntoSegmentsZeroCopyConvertingAndChecked() throws Exception {
    Path file = dir.resolve("seg.h5");
    Hdf5Array image = Hdf5TestData.array(DType.FLOAT32, new long[] {8, 9, 10}, 3);
    byte[] label = new byte[720];
    for (int i = 0; i < label.length; i++) {
      label[i] = (byte) (i % 4);
    }
    try (Hdf5File f = Hdf5File.create(file)) {
      f.write("image", image, WriteOptions.gzip());
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment native8 = arena.allocate(720);
        native8.copyFrom(MemorySegment.ofArray(label));
        f.write("label", native8, DType.UINT8, new long[] {8, 9, 10}, WriteOptions.gzip());
      }
    }
    try (Hdf5File f = Hdf5File.openRead(file); Arena arena = Arena.ofConfined()) {
      MemorySegment dst = arena.allocate(720 * 4L);
      assertEquals(720, f.readInto("image", dst));
      assertArrayEquals(image.floats(), dst.toArray(ValueLayout.JAVA_FLOAT));

      MemorySegment longs = arena.allocate(720 * 8L);
      assertEquals(720, f.readInto("label", longs, DType.INT64));
      long[] expected = new long[720];
      for (int i = 0; i < 720; i++) {
        expected[i] = label[i];
      }
      assertArrayEquals(expected, longs.toArray(ValueLayout.JAVA_LONG));

      float[] heap = new float[720];
      f.readInto("label", MemorySegment.ofArray(heap), DType.FLOAT32);
      assertEquals(3f, heap[3]);

      assertThrows(IllegalArgumentException.class, () -> f.readInto("image", arena.allocate(100)));
      assertThrows(IllegalArgumentException.class, () -> f.readInto("image", dst.asReadOnly()));
    }
  }

  @Test
  void readLimitStopsLargeReadsBeforeAllocating() throws Exception {
    Path file = dir.resolve("limit.h5");
    try (Hdf5File f = Hdf5File.create(file)) {
      f.write("x", new float[1000], new long[] {10, 100});
    }
    try (Hdf5File f = Hdf5File.openRead(file, 3999)) {
      assertEquals(3999, f.maxReadBytes());
      Hdf5Exception e = assertThrows(Hdf5Exception.class, () -> f.readFloats("x"));
      assertTrue(e.getMessage().contains("4000 bytes") && e.getMessage().contains("read limit"), e.getMessage());
      assertEquals(Optional.of("x"), e.dataset());
      assertEquals(file, e.file());
      assertEquals(List.of(10L, 100L), java.util.Arrays.stream(f.info("x").shape()).boxed().toList());
    }
    try (Hdf5File f = Hdf5File.openRead(file, 4000)) {
      assertEquals(1000, f.readFloats("x").length);
    }
  }

  @Test
  void fileModesAndLifecycle() throws Exception {
    Path file = dir.resolve("modes.h5");
    try (Hdf5File f = Hdf5File.create(file)) {
      f.write("a", new float[] {1}, new long[] {1});
      Hdf5Exception e = assertThrows(Hdf5Exception.class, () -> f.write("a", new float[] {2}, new long[] {1}));
      assertTrue(e.getMessage().contains("already exists"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> f.write("b", new float[] {1, 2}, new long[] {3}));
      assertThrows(IllegalArgumentException.class, () -> f.write("", new float[] {1}, new long[] {1}));
      assertThrows(IllegalArgumentException.class, () -> f.write("a//b", new float[] {1}, new long[] {1}));
      assertThrows(IllegalArgumentException.class,
          () -> f.write("bf", new short[] {1}, new long[] {1}, DType.BFLOAT16, WriteOptions.DEFAULT));
    }
    assertThrows(Hdf5Exception.class, () -> Hdf5File.createNew(file), "createNew refuses an existing file");
    try (Hdf5File f = Hdf5File.openReadWrite(file)) {
      f.write("b", new double[] {2}, new long[] {1}, WriteOptions.DEFAULT);
    }
    Hdf5File f = Hdf5File.openRead(file);
    assertEquals(List.of("a", "b"), f.datasetNames());
    assertFalse(f.isWritable());
    assertThrows(IllegalStateException.class, () -> f.write("c", new float[] {1}, new long[] {1}));
    f.close();
    f.close();
    assertFalse(f.isOpen());
    assertThrows(IllegalStateException.class, () -> f.readFloats("a"));
    try (Hdf5File again = Hdf5File.create(file)) {
      assertEquals(List.of(), again.datasetNames(), "create truncates");
    }
    assertThrows(Hdf5Exception.class, () -> Hdf5File.create(dir.resolve("no/such/dir/x.h5")));
    assertTrue(Files.size(file) > 0);
  }

  @Test
  void guessedChunksMatchH5pyOnTheLaVolumes() {
    // h5py's choices for the LA mri_norm2.h5 datasets (see shared/la_mini).
    assertArrayEquals(new long[] {25, 18, 22}, WriteOptions.guessChunks(new long[] {199, 143, 88}, 4));
    assertArrayEquals(new long[] {25, 36, 22}, WriteOptions.guessChunks(new long[] {199, 143, 88}, 1));
    assertArrayEquals(new long[] {22, 17, 22}, WriteOptions.guessChunks(new long[] {175, 132, 88}, 4));
    assertArrayEquals(new long[] {512, 3}, WriteOptions.guessChunks(new long[] {0, 3}, 4));
  }
}
