package org.ssl4mis.io.hdf5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.testing.SharedData;

/**
 * Parity with h5py (Debian's python3-h5py over its own HDF5): files h5py writes read identically in Java, with
 * numpy's {@code astype} conversions; files Java writes read in h5py with the same values, dtypes, shapes, chunks
 * and filters; the real LA cases read with the shapes and checksums h5py sees.
 */
class Hdf5PythonParityTest {
  @TempDir
  Path dir;

  /**
   * Writes one dataset per dtype x shape x storage with h5py, plus the expected results of Java's reads (numpy's
   * astype of the data) into a blob; prints one manifest line per dataset.
   */
  private static final String H5PY_WRITER = """
      import sys, h5py, numpy as np
      out, blob_path = sys.argv[1], sys.argv[2]
      rng = np.random.default_rng(1234)
      dtypes = ['bool', 'uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
                'float16', 'float32', 'float64', '>i2', '>u4', '>i8', '>f2', '>f4', '>f8']
      shapes = [(), (0,), (17,), (6, 7), (3, 0, 2), (4, 5, 6), (2, 3, 4, 5)]
      storages = {'plain': {}, 'gzip': dict(compression='gzip'),
                  'gzip9shuffle': dict(compression='gzip', compression_opts=9, shuffle=True),
                  'chunked': dict(chunks=True), 'fletcher': dict(compression='gzip', fletcher32=True)}
      READ_AS = {'u2': '<i4', 'u4': '<i8', 'u8': '<i8'}

      def values(dt, shape, extreme):
          n = int(np.prod(shape))
          dt = np.dtype(dt)
          if dt.kind == 'b':
              return rng.integers(0, 2, n).astype(bool).reshape(shape)
          if dt.kind in 'iu':
              if not extreme:
                  return rng.integers(0, 5, n).astype(dt).reshape(shape)
              info = np.iinfo(dt)
              v = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder('='), endpoint=True)
              sp = [info.min, info.max, 0]
              v[:min(n, 3)] = sp[:min(n, 3)]
              return v.astype(dt).reshape(shape)
          if not extreme:
              return (rng.random(n) * 250).astype(dt).reshape(shape)
          v = (rng.standard_normal(n) * 1e4).astype(np.float64)
          fi = np.finfo(dt)
          sp = [np.nan, np.inf, -np.inf, -0.0, float(fi.max), float(fi.tiny) / 2]
          if dt.itemsize == 8:
              sp += [1e300, 3.4028235677973366e38, 5e-324, 16777217.0]
          k = min(n, len(sp))
          v[:k] = sp[:k]
          with np.errstate(all='ignore'):
              return v.astype(dt).reshape(shape)

      def fits(a, lo, hi):
          if a.size == 0:
              return True
          if a.dtype.kind == 'f':
              a64 = a.astype(np.float64)
              if not np.all(np.isfinite(a64)):
                  return False
              t = np.trunc(a64)
              return float(t.min()) >= float(lo) and float(t.max()) < float(hi) + 1.0
          return int(a.min()) >= lo and int(a.max()) <= hi

      blob = bytearray()
      def put(b):
          off = len(blob)
          blob.extend(b)
          return '%d:%d' % (off, len(b))

      def expectations(a):
          e = {}
          key = a.dtype.kind + str(a.dtype.itemsize)
          if a.dtype.kind == 'u' and a.dtype.itemsize == 8 and not fits(a, 0, 2**63 - 1):
              e['read'] = 'FAIL'
          else:
              e['read'] = put(a.astype(READ_AS.get(key, a.dtype.newbyteorder('<'))).tobytes())
          with np.errstate(all='ignore'):
              e['f32'] = put(a.astype('<f4').tobytes())
              e['f64'] = put(a.astype('<f8').tobytes())
              e['i32'] = put(a.astype('<i4').tobytes()) if fits(a, -2**31, 2**31 - 1) else 'FAIL'
              e['i64'] = put(a.astype('<i8').tobytes()) if fits(a, -2**63, 2**63 - 1) else 'FAIL'
              if a.dtype.kind == 'b' or a.dtype.itemsize == 1 and a.dtype.kind in 'iu':
                  e['u8'] = put(a.astype(np.uint8).tobytes())
              else:
                  e['u8'] = put(a.astype(np.uint8).tobytes()) if fits(a, 0, 255) else 'FAIL'
          return e

      def described(dt, enum=False):
          dt = np.dtype(dt)
          return dt.name + (' (big-endian)' if dt.byteorder == '>' else '') + (' (enum)' if enum else '')

      lines = []
      def record(f, name, a, desc):
          d = f[name]
          e = expectations(a)
          lines.append('\\t'.join([name, desc, ','.join(map(str, d.shape)),
              'none' if d.chunks is None else ','.join(map(str, d.chunks)),
              str(d.compression), str(d.compression_opts), str(d.shuffle)]
              + ['%s=%s' % kv for kv in e.items()]))

      with h5py.File(out, 'w') as f:
          i = 0
          for dt in dtypes:
              for si, shape in enumerate(shapes):
                  for sname, kw in storages.items():
                      if shape == () and kw:
                          continue
                      a = values(dt, shape, (si + i) % 2 == 1)
                      i += 1
                      name = '%s/%s/%s' % (np.dtype(dt).str, 'x'.join(map(str, shape)) or 'scalar', sname)
                      f.create_dataset(name, data=a, **kw)
                      record(f, name, a, described(dt))
          et = h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 300}, basetype='>i2')
          f.create_dataset('enum', data=np.array([[0, 1], [300, 0]], dtype='>i2'), dtype=et)
          record(f, 'enum', np.array([[0, 1], [300, 0]], dtype='>i2'), described('>i2', True))
      with open(blob_path, 'wb') as b:
          b.write(blob)
      print('\\n'.join(lines))
      """;

  /** Prints, per dataset of a file, what h5py sees; then h5py's guessed chunks for the given shapes. */
  private static final String H5PY_READER = """
      import sys, h5py, hashlib, numpy as np
      from h5py._hl.filters import guess_chunk
      names = []
      with h5py.File(sys.argv[1], 'r') as f:
          f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
          for n in names:
              d = f[n]
              a = np.asarray(d[()])
              print('\\t'.join(['ds', n, d.dtype.str, ','.join(map(str, d.shape)),
                  'none' if d.chunks is None else ','.join(map(str, d.chunks)),
                  str(d.compression), str(d.compression_opts), str(d.shuffle),
                  hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()]))
      for spec in sys.argv[2].split('|'):
          shape, size = spec.split(';')
          shape = tuple(int(s) for s in shape.split(','))
          print('\\t'.join(['guess', spec, ','.join(map(str, guess_chunk(shape, None, int(size))))]))
      """;

  /** Prints, for each LA case, each dataset's dtype, shape, chunks, filter and checksums (as stored, as float32). */
  private static final String LA_READER = """
      import sys, os, h5py, hashlib, numpy as np
      root = sys.argv[1]
      for case in sorted(os.listdir(root)):
          p = os.path.join(root, case, 'mri_norm2.h5')
          if not os.path.isfile(p):
              continue
          with h5py.File(p, 'r') as f:
              for n in sorted(f.keys()):
                  d = f[n]
                  a = d[:]
                  print('\\t'.join([case, n, a.dtype.str, ','.join(map(str, a.shape)),
                      ','.join(map(str, d.chunks)) if d.chunks else 'none', str(d.compression),
                      hashlib.sha256(a.tobytes()).hexdigest(),
                      hashlib.sha256(a.astype('<f4').tobytes()).hexdigest()]))
      """;

  @Test
  void filesWrittenByH5pyReadIdentically() throws Exception {
    PythonReference.require("h5py", "numpy");
    Path file = dir.resolve("h5py.h5");
    Path blobFile = dir.resolve("expected.bin");
    String manifest = PythonReference.run(H5PY_WRITER, Duration.ofMinutes(2), file.toString(), blobFile.toString());
    MemorySegment blob = MemorySegment.ofArray(Files.readAllBytes(blobFile));
    List<String> lines = manifest.lines().filter(l -> !l.isBlank()).toList();
    assertTrue(lines.size() > 500, "h5py wrote " + lines.size() + " datasets");
    int checkedFailures = 0;
    try (Hdf5File f = Hdf5File.openRead(file)) {
      assertEquals(lines.size(), f.datasetNames().size());
      for (String line : lines) {
        String[] c = line.split("\t");
        String name = c[0];
        Map<String, String> expect = new HashMap<>();
        for (int i = 7; i < c.length; i++) {
          String[] kv = c[i].split("=", 2);
          expect.put(kv[0], kv[1]);
        }
        DatasetInfo info = f.info(name);
        assertEquals(c[1], info.storedType(), name);
        assertArrayEquals(longs(c[2]), info.shape(), name);
        assertArrayEquals(c[3].equals("none") ? new long[0] : longs(c[3]), info.chunks(), name);
        assertEquals(c[4].equals("None") ? Optional.empty() : Optional.of(c[4]), info.compression(), name);
        assertEquals(c[5].equals("None") ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(c[5])),
            info.gzipLevel(), name);
        assertEquals(Boolean.parseBoolean(c[6].toLowerCase(java.util.Locale.ROOT)), info.shuffle(), name);

        checkedFailures += check(name, expect.get("read"), blob, () -> Hdf5TestData.bytes(f.read(name)));
        checkedFailures += check(name, expect.get("i32"), blob, () -> bytesOf(f.readInts(name)));
        checkedFailures += check(name, expect.get("i64"), blob, () -> bytesOf(f.readLongs(name)));
        checkedFailures += check(name, expect.get("u8"), blob, () -> f.readBytes(name));
        // Floats compare as values (NaN equal to NaN, whatever its payload), not as bit patterns.
        float[] f32 = f.readFloats(name);
        assertArrayEquals(slice(blob, expect.get("f32")).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), f32, name + " as float32");
        double[] f64 = f.readDoubles(name);
        assertArrayEquals(slice(blob, expect.get("f64")).toArray(ValueLayout.JAVA_DOUBLE_UNALIGNED), f64, name + " as float64");
      }
    }
    assertTrue(checkedFailures > 50, "the fixtures exercise refused conversions too (" + checkedFailures + ")");
  }

  private interface Reader {
    byte[] read() throws IOException;
  }

  /** Compares a read with the expected bytes, or checks that it fails; returns 1 for a checked failure. */
  private static int check(String name, String expected, MemorySegment blob, Reader reader) throws IOException {
    if (expected.equals("FAIL")) {
      Hdf5Exception e = assertThrows(Hdf5Exception.class, reader::read, name);
      assertTrue(e.getMessage().contains(name), e.getMessage());
      return 1;
    }
    assertArrayEquals(slice(blob, expected).toArray(ValueLayout.JAVA_BYTE), reader.read(), name);
    return 0;
  }

  private static MemorySegment slice(MemorySegment blob, String offLen) {
    String[] p = offLen.split(":");
    return blob.asSlice(Long.parseLong(p[0]), Long.parseLong(p[1]));
  }

  private static byte[] bytesOf(int[] a) {
    return MemorySegment.ofArray(a).toArray(ValueLayout.JAVA_BYTE);
  }

  private static byte[] bytesOf(long[] a) {
    return MemorySegment.ofArray(a).toArray(ValueLayout.JAVA_BYTE);
  }

  private static long[] longs(String csv) {
    return csv.isEmpty() ? new long[0] : Arrays.stream(csv.split(",")).mapToLong(Long::parseLong).toArray();
  }

  @Test
  void filesWrittenByJavaReadIdenticallyInH5py() throws Exception {
    PythonReference.require("h5py", "numpy");
    Path file = dir.resolve("java.h5");
    WriteOptions[] options = {WriteOptions.DEFAULT, WriteOptions.gzip(), WriteOptions.gzip(7).withShuffle(true),
        WriteOptions.DEFAULT.withChunking()};
    Map<String, Hdf5Array> written = new LinkedHashMap<>();
    Map<String, WriteOptions> how = new HashMap<>();
    long seed = 100;
    try (Hdf5File f = Hdf5File.create(file)) {
      for (DType dtype : Hdf5TestData.DTYPES) {
        for (long[] shape : Hdf5TestData.SHAPES) {
          for (int o = 0; o < options.length; o++) {
            if (shape.length == 0 && o > 0) {
              continue;
            }
            String name = "d/" + dtype.pythonName() + "_" + Hdf5TestData.shapeName(shape) + "_" + o;
            Hdf5Array a = Hdf5TestData.array(dtype, shape, seed++);
            f.write(name, a, options[o]);
            written.put(name, a);
            how.put(name, options[o]);
          }
        }
      }
      Hdf5Array label = Hdf5TestData.array(DType.UINT8, new long[] {4, 5, 6}, 9);
      f.write("explicit", label, WriteOptions.gzip(2).withChunks(2, 5, 3));
      written.put("explicit", label);
      how.put("explicit", WriteOptions.gzip(2).withChunks(2, 5, 3));
    }
    long[][] guessShapes = {{199, 143, 88}, {256, 216}, {10, 256, 216}, {0, 3}, {1}, {1000000}, {3, 3, 3, 3, 3},
        {240, 240, 155}, {1 << 20, 64}, {7, 0, 5}};
    int[] sizes = {1, 2, 4, 8};
    List<String> specs = new ArrayList<>();
    for (long[] s : guessShapes) {
      for (int size : sizes) {
        specs.add(Arrays.stream(s).mapToObj(Long::toString).collect(Collectors.joining(",")) + ";" + size);
      }
    }
    String out = PythonReference.run(H5PY_READER, Duration.ofMinutes(2), file.toString(), String.join("|", specs));
    Map<String, String[]> seen = new HashMap<>();
    int guesses = 0;
    for (String line : out.lines().toList()) {
      String[] c = line.split("\t");
      if (c[0].equals("ds")) {
        seen.put(c[1], c);
      } else if (c[0].equals("guess")) {
        String[] spec = c[1].split(";");
        assertArrayEquals(longs(c[2]), WriteOptions.guessChunks(longs(spec[0]), Integer.parseInt(spec[1])),
            "h5py's guess_chunk for " + c[1]);
        guesses++;
      }
    }
    assertEquals(specs.size(), guesses);
    assertEquals(written.keySet(), seen.keySet());
    for (Map.Entry<String, Hdf5Array> e : written.entrySet()) {
      String name = e.getKey();
      Hdf5Array a = e.getValue();
      WriteOptions o = how.get(name);
      String[] c = seen.get(name);
      assertEquals(Hdf5TestData.numpyStr(a.dtype()), c[2], name + " dtype");
      assertArrayEquals(a.shape(), longs(c[3]), name + " shape");
      long[] chunks = o.resolveChunks(a.shape(), a.dtype().byteSize());
      assertEquals(chunks == null ? "none" : Arrays.stream(chunks).mapToObj(Long::toString)
          .collect(Collectors.joining(",")), c[4], name + " chunks");
      assertEquals(o.gzipLevel() >= 0 ? "gzip" : "None", c[5], name + " compression");
      assertEquals(o.gzipLevel() >= 0 ? Integer.toString(o.gzipLevel()) : "None", c[6], name + " compression_opts");
      assertEquals(o.shuffle() ? "True" : "False", c[7], name + " shuffle");
      assertEquals(Hdf5TestData.sha256(Hdf5TestData.bytes(a)), c[8], name + " values");
    }
  }

  @Test
  void realLaCasesMatchH5py() throws Exception {
    Path root = SharedData.require("la_mini").resolve("2018LA_Seg_Training Set");
    PythonReference.require("h5py", "numpy");
    String out = PythonReference.run(LA_READER, Duration.ofMinutes(2), root.toString());
    List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
    List<Path> files;
    try (Stream<Path> s = Files.list(root)) {
      files = s.map(p -> p.resolve("mri_norm2.h5")).filter(Files::isRegularFile).sorted().toList();
    }
    assertTrue(files.size() >= 6, "LA cases: " + files);
    assertEquals(files.size() * 2, lines.size(), out);
    for (String line : lines) {
      String[] c = line.split("\t");
      Path file = root.resolve(c[0]).resolve("mri_norm2.h5");
      try (Hdf5File f = Hdf5File.openRead(file)) {
        assertEquals(List.of("image", "label"), f.datasetNames());
        DatasetInfo info = f.info(c[1]);
        String where = c[0] + "/" + c[1];
        assertEquals(c[2].equals("<f4") ? DType.FLOAT32 : c[2].equals("|u1") ? DType.UINT8 : null, info.dtype(), where);
        assertArrayEquals(longs(c[3]), info.shape(), where);
        assertArrayEquals(longs(c[4]), info.chunks(), where);
        assertEquals(Optional.of(c[5]), info.compression(), where);
        Hdf5Array a = f.read(c[1]);
        assertEquals(c[6], Hdf5TestData.sha256(Hdf5TestData.bytes(a)), where + " values");
        // readFloats of float32 data is read() itself; convert only the labels (uint8) a second time.
        float[] asFloats = a.dtype() == DType.FLOAT32 ? a.floats() : f.readFloats(c[1]);
        assertEquals(c[7], Hdf5TestData.sha256(bytesOfFloats(asFloats)), where + " as float32");
        if (c[1].equals("label")) {
          byte[] label = f.readBytes("label");
          assertArrayEquals(a.bytes(), label);
          for (byte b : label) {
            if (b != 0 && b != 1) {
              fail(where + " has label value " + b);
            }
          }
        }
      }
    }
  }

  private static byte[] bytesOfFloats(float[] a) {
    return MemorySegment.ofArray(a).toArray(ValueLayout.JAVA_BYTE);
  }
}
