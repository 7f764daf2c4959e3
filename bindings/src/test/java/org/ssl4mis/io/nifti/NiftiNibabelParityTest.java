package org.ssl4mis.io.nifti;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.testing.PythonReference;

/**
 * Parity with nibabel (Debian's python3-nibabel): files nibabel writes (every supported dtype, both byte orders,
 * {@code .nii}/{@code .nii.gz}/pairs, scaling, qform-only, sform-only and pixdim-only affines, 2D to 5D,
 * extensions) read in Java with bit-identical {@code get_fdata()} values, raw values, shape, zooms and affine; and
 * files Java writes read in nibabel with the values, header fields and affine Java meant.
 */
class NiftiNibabelParityTest {
  @TempDir
  Path dir;

  /** Writes the files with nibabel, loads each back and prints one manifest line per file. */
  private static final String NIBABEL_WRITER = """
      import sys, os, struct, gzip, shutil, logging, numpy as np, nibabel as nib
      logging.getLogger('nibabel').setLevel(logging.CRITICAL)
      out = sys.argv[1]
      rng = np.random.default_rng(20240611)
      DTYPES = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float32', 'float64']

      def values(dt, shape):
          n = int(np.prod(shape))
          dt = np.dtype(dt)
          if dt.kind in 'iu':
              info = np.iinfo(dt)
              v = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
              v[:3] = [info.min, info.max, 0]
          else:
              v = (rng.standard_normal(n) * 1000).astype(dt)
              fi = np.finfo(dt)
              v[:7] = [np.nan, np.inf, -np.inf, -0.0, fi.max, fi.tiny / 2, 1.5]
          return v.reshape(shape, order='F')

      def rotation(rng):
          q = rng.standard_normal(4)
          q /= np.linalg.norm(q)
          w, x, y, z = q
          return np.array([[1 - 2*(y*y + z*z), 2*(x*y - z*w), 2*(x*z + y*w)],
                           [2*(x*y + z*w), 1 - 2*(x*x + z*z), 2*(y*z - x*w)],
                           [2*(x*z - y*w), 2*(y*z + x*w), 1 - 2*(x*x + y*y)]])

      def rotated_affine(spacing, flip=False):
          a = np.eye(4)
          r = rotation(rng)
          if flip:
              r[:, 2] *= -1
          a[:3, :3] = r @ np.diag(spacing)
          a[:3, 3] = rng.uniform(-120, 120, 3)
          return a

      def header(order):
          return nib.Nifti1Header(endianness=order)

      def make(data, affine, order, dtype=None, hdr=None):
          h = hdr if hdr is not None else header(order)
          h.set_data_dtype(np.dtype(dtype or data.dtype).newbyteorder(order))
          return nib.Nifti1Image(data, affine, h)

      def patch(path, fields):
          # fields: list of (offset, struct format without order, value); the file must be uncompressed
          b = bytearray(open(path, 'rb').read())
          order = '<' if struct.unpack('<i', bytes(b[:4]))[0] == 348 else '>'
          for off, fmt, val in fields:
              struct.pack_into(order + fmt, b, off, val)
          open(path, 'wb').write(bytes(b))

      def gz(path, newname):
          with open(path, 'rb') as f, gzip.open(newname, 'wb') as g:
              g.write(f.read())

      written = []
      # every dtype x byte order x compression
      for dt in DTYPES:
          for order in '<>':
              for ext in ['.nii', '.nii.gz']:
                  data = values(dt, (5, 4, 3))
                  img = make(data, rotated_affine([0.7, 1.3, 5.0]), order, dt)
                  if order == '>':
                      img.set_qform(img.affine, code=1)
                  name = os.path.join(out, f'dtype_{dt}_{"le" if order == "<" else "be"}{ext}')
                  nib.save(img, name)
                  written.append(name)
      # scaling computed by nibabel itself (float data stored as int16)
      img = nib.Nifti1Image(rng.uniform(-3, 7, (6, 5, 4)), np.diag([1.5, 1.5, 8, 1]))
      img.set_data_dtype(np.int16)
      nib.save(img, os.path.join(out, 'scaled_by_nibabel.nii.gz'))
      written.append(os.path.join(out, 'scaled_by_nibabel.nii.gz'))
      # scaling patched into the header
      for i, (dt, slope, inter, order) in enumerate([('int16', 2.5, -7.0, '<'), ('uint8', 0.5, 0.0, '<'),
                                                      ('float32', 1.0, 10.0, '<'), ('int16', 0.0, 5.0, '<'),
                                                      ('int16', float('nan'), 3.0, '<'), ('int32', 0.1, 0.3, '>'),
                                                      ('int64', 3.0, 1.0, '<'), ('float64', -2.0, 0.5, '>')]):
          name = os.path.join(out, f'scaled_patch_{i}_{dt}.nii')
          nib.save(make(values(dt, (4, 3, 2)), np.eye(4), order, dt), name)
          patch(name, [(112, 'f', slope), (116, 'f', inter)])
          written.append(name)
          if i % 2 == 0:
              gz(name, name + '.gz')
              written.append(name + '.gz')
      # qform only (sform_code 0), rotations with qfac +1 and -1
      for i in range(8):
          a = rotated_affine(rng.uniform(0.3, 6, 3), flip=(i % 2 == 1))
          img = make(values('float32', (4, 5, 6)), a, '<' if i < 6 else '>')
          img.set_sform(None, code=0)
          img.set_qform(a, code=1 + i % 4)
          name = os.path.join(out, f'qform_only_{i}.nii' + ('.gz' if i % 3 == 0 else ''))
          nib.save(img, name)
          written.append(name)
      # sform only with shear
      a = np.array([[0.8, 0.3, -0.2, 10], [0.1, 1.7, 0.4, -20], [-0.3, 0.2, 4.5, 33], [0, 0, 0, 1]])
      img = make(values('int16', (4, 5, 6)), a, '<')
      img.set_qform(None, code=0)
      img.set_sform(a, code=3)
      nib.save(img, os.path.join(out, 'sform_only_shear.nii'))
      written.append(os.path.join(out, 'sform_only_shear.nii'))
      # neither: the affine nibabel derives from pixdim, 3D and 2D
      for shape, zooms in [((6, 5, 4), (0.7, 1.3, 5.0)), ((6, 5), (0.9, 2.5))]:
          h = header('<')
          h.set_data_dtype(np.float32)
          img = nib.Nifti1Image(values('float32', shape), None, h)
          img.header.set_zooms(zooms)
          name = os.path.join(out, f'no_codes_{len(shape)}d.nii')
          nib.save(img, name)
          written.append(name)
      # odd pixdims fixed on load: negative and zero spacing, qfac 0
      name = os.path.join(out, 'odd_pixdim.nii')
      h = header('<'); h.set_data_dtype(np.int16)
      img = nib.Nifti1Image(values('int16', (3, 4, 5)), None, h)
      nib.save(img, name)
      patch(name, [(76, 'f', 0.0), (80, 'f', -2.0), (84, 'f', 0.0), (88, 'f', 3.0)])
      written.append(name)
      # 4D with one time point, true 4D, 5D
      for shape in [(5, 4, 3, 1), (3, 4, 2, 2), (2, 3, 2, 1, 2)]:
          name = os.path.join(out, 'nd_' + 'x'.join(map(str, shape)) + '.nii.gz')
          img = make(values('int16', shape), np.diag([1.1, 1.2, 1.3, 1]), '<')
          img.header.set_zooms((1.1, 1.2, 1.3) + (2.0,) * (len(shape) - 3))
          nib.save(img, name)
          written.append(name)
      # an extension moves vox_offset past 352
      img = make(values('float32', (4, 3, 2)), np.eye(4), '<')
      img.header.extensions.append(nib.nifti1.Nifti1Extension('comment', b'written by the parity test' * 3))
      nib.save(img, os.path.join(out, 'with_extension.nii'))
      written.append(os.path.join(out, 'with_extension.nii'))
      # .hdr/.img pairs, plain and gzipped
      for ext in ['.hdr', '.hdr.gz']:
          pair = nib.Nifti1Pair(values('int16', (4, 3, 2)), rotated_affine([1, 2, 3]))
          name = os.path.join(out, 'pair' + ('_gz' if ext.endswith('gz') else '') + ext)
          nib.save(pair, name)
          written.append(name)
      # gzip recognised by content, not by name
      shutil.copy(os.path.join(out, 'dtype_int16_le.nii.gz'), os.path.join(out, 'gzip_named_plain.nii'))
      # (nibabel goes by the name, so the expected values come from the original)
      aliases = {os.path.join(out, 'gzip_named_plain.nii'): os.path.join(out, 'dtype_int16_le.nii.gz')}
      written.append(os.path.join(out, 'gzip_named_plain.nii'))

      for name in written:
          img = nib.load(aliases.get(name, name))
          hdr = img.header
          raw = np.asanyarray(img.dataobj.get_unscaled())
          f = img.get_fdata()
          dt = img.get_data_dtype()
          raw.ravel(order='F').astype(dt.newbyteorder('<')).tofile(name + '.raw')
          f.ravel(order='F').astype('<f8').tofile(name + '.fdata')
          hexes = lambda xs: ','.join(float(x).hex() for x in xs)
          print('|'.join([os.path.basename(name), ','.join(str(s) for s in img.shape), dt.name,
                          hexes(hdr.get_zooms()), hexes(img.affine.ravel()), str(int(hdr['qform_code'])),
                          str(int(hdr['sform_code'])), hdr.endianness]))
      """;

  @Test
  void nibabelWrittenFilesReadIdentically() throws IOException {
    PythonReference.require("nibabel", "numpy");
    String manifest = PythonReference.run(NIBABEL_WRITER, Duration.ofSeconds(120), dir.toString());
    List<String> lines = manifest.lines().filter(l -> l.contains("|")).toList();
    assertTrue(lines.size() > 60, "too few files: " + lines.size());
    List<String> failures = new ArrayList<>();
    for (String line : lines) {
      String[] f = line.split("\\|");
      Path file = dir.resolve(f[0]);
      try {
        check(file, f);
      } catch (AssertionError | IOException | RuntimeException e) {
        failures.add(f[0] + ": " + e.getMessage());
      }
    }
    if (!failures.isEmpty()) {
      fail(failures.size() + " of " + lines.size() + " files differ:\n" + String.join("\n", failures));
    }
  }

  private static void check(Path file, String[] f) throws IOException {
    NiftiImage img = Nifti.read(file);
    int[] nibShape = Arrays.stream(f[1].split(",")).mapToInt(Integer::parseInt).toArray();
    int rank = nibShape.length;
    while (rank > 3 && nibShape[rank - 1] == 1) {
      rank--;
    }
    assertArrayEquals(Arrays.copyOf(nibShape, rank), img.shape(), "shape");
    assertEquals(f[2], img.datatype().numpyName(), "dtype");
    double[] zooms = Arrays.stream(f[3].split(",")).mapToDouble(Double::parseDouble).toArray();
    assertArrayEquals(Arrays.copyOf(zooms, rank), img.zooms(), "zooms");
    double[] affine = Arrays.stream(f[4].split(",")).mapToDouble(Double::parseDouble).toArray();
    double[][] a = img.affine();
    for (int r = 0; r < 4; r++) {
      for (int c = 0; c < 4; c++) {
        if (Double.doubleToLongBits(affine[4 * r + c] + 0.0) != Double.doubleToLongBits(a[r][c] + 0.0)) {
          fail("affine[" + r + "][" + c + "] is " + a[r][c] + " (" + Double.toHexString(a[r][c]) + "), nibabel "
              + Double.toHexString(affine[4 * r + c]) + "\njava:    " + Arrays.deepToString(a) + "\nnibabel: "
              + Arrays.toString(affine));
        }
      }
    }
    assertEquals(Integer.parseInt(f[5]), img.qformCode(), "qform_code");
    assertEquals(Integer.parseInt(f[6]), img.sformCode(), "sform_code");
    assertEquals(f[7].equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN, img.sourceByteOrder(), "order");
    byte[] raw = Files.readAllBytes(Path.of(file + ".raw"));
    assertArrayEquals(raw, encodeLittleEndian(img), "stored values");
    double[] expected = doubles(Files.readAllBytes(Path.of(file + ".fdata")));
    double[] actual = img.fdata();
    assertEquals(expected.length, actual.length, "voxels");
    for (int i = 0; i < expected.length; i++) {
      if (Double.doubleToLongBits(expected[i]) != Double.doubleToLongBits(actual[i])) {
        fail("get_fdata()[" + i + "] (F order) is " + actual[i] + ", nibabel " + expected[i]);
      }
    }
    double[] c = img.fdataCOrder();
    int[] s = img.shape();
    if (s.length == 3) {
      // numpy C order of (x, y, z): index (i*Y + j)*Z + k holds voxel (i, j, k)
      int i = s[0] - 1;
      int j = s[1] / 2;
      int k = s[2] - 1;
      assertEquals(Double.doubleToLongBits(actual[(int) img.index(i, j, k)]),
          Double.doubleToLongBits(c[(i * s[1] + j) * s[2] + k]), "C order");
    }
  }

  static double[] doubles(byte[] bytes) {
    double[] d = new double[bytes.length / 8];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(d);
    return d;
  }

  static byte[] encodeLittleEndian(NiftiImage img) {
    int n = Math.toIntExact(img.voxelCount());
    ByteBuffer b = ByteBuffer.allocate(n * img.datatype().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    switch (img.datatype()) {
      case UINT8, INT8 -> b.put(img.bytes());
      case INT16, UINT16 -> b.asShortBuffer().put(img.shorts());
      case INT32, UINT32 -> b.asIntBuffer().put(img.ints());
      case INT64 -> b.asLongBuffer().put(img.longs());
      case FLOAT32 -> b.asFloatBuffer().put(img.floats());
      case FLOAT64 -> b.asDoubleBuffer().put(img.doubles());
    }
    return b.array();
  }

  /** nibabel's get_qform() for many random quaternions, pixdims and qfacs, computed through a header. */
  private static final String QFORM_CASES = """
      import sys, logging, numpy as np, nibabel as nib
      logging.getLogger('nibabel').setLevel(logging.CRITICAL)
      rng = np.random.default_rng(int(sys.argv[1]))
      hexes = lambda xs: ','.join(float(x).hex() for x in xs)
      n = 0
      while n < 400:
          bcd = (rng.standard_normal(3) * rng.choice([0.01, 0.3, 0.6])).astype(np.float32)
          if n % 50 == 0:
              bcd = np.array([1, 0, 0], np.float32) if n % 100 == 0 else np.array([0.6, 0.8, 0], np.float32)
          if float(bcd @ bcd) > 1:
              continue
          pix = rng.uniform(0.1, 10, 3).astype(np.float32)
          qfac = np.float32(rng.choice([-1, 1]))
          off = rng.uniform(-300, 300, 3).astype(np.float32)
          h = nib.Nifti1Header()
          h['quatern_b'], h['quatern_c'], h['quatern_d'] = bcd
          h['qoffset_x'], h['qoffset_y'], h['qoffset_z'] = off
          h['pixdim'][0] = qfac
          h['pixdim'][1:4] = pix
          print('|'.join([hexes(bcd), hexes(off), hexes([qfac, *pix]), hexes(h.get_qform().ravel())]))
          n += 1
      """;

  @Test
  void qformAffinesMatchNibabelBitForBit() throws IOException {
    PythonReference.require("nibabel", "numpy");
    String out = PythonReference.run(QFORM_CASES, Duration.ofSeconds(60), "77");
    List<String> lines = out.lines().filter(l -> l.contains("|")).toList();
    assertEquals(400, lines.size());
    int bad = 0;
    StringBuilder first = new StringBuilder();
    for (String line : lines) {
      String[] f = line.split("\\|");
      double[] bcd = parse(f[0]);
      double[] off = parse(f[1]);
      double[] pix = parse(f[2]);
      double[] want = parse(f[3]);
      float[] pixdim = {(float) pix[0], (float) pix[1], (float) pix[2], (float) pix[3], 1, 1, 1, 1};
      double[][] got = NiftiHeader.qformAffine(new float[] {(float) bcd[0], (float) bcd[1], (float) bcd[2]},
          new float[] {(float) off[0], (float) off[1], (float) off[2]}, pixdim);
      for (int i = 0; i < 16; i++) {
        if (Double.doubleToLongBits(got[i / 4][i % 4] + 0.0) != Double.doubleToLongBits(want[i] + 0.0)) {
          if (bad++ == 0) {
            first.append(line).append("\njava: ").append(Arrays.deepToString(got));
          }
          break;
        }
      }
    }
    assertEquals(0, bad, bad + " of 400 qform affines differ from nibabel's; first:\n" + first);
  }

  private static double[] parse(String csv) {
    return Arrays.stream(csv.split(",")).mapToDouble(Double::parseDouble).toArray();
  }

  // ---------------------------------------------------------------- Java writes, nibabel reads

  /** Loads every file named on the command line; prints header fields and dumps values. */
  private static final String NIBABEL_READER = """
      import sys, os, struct, gzip, logging, numpy as np, nibabel as nib
      logging.getLogger('nibabel').setLevel(logging.CRITICAL)
      hexes = lambda xs: ','.join(float(x).hex() for x in xs)
      for name in sys.argv[1:]:
          img = nib.load(name)
          hdr = img.header
          opener = gzip.open if open(name, 'rb').read(2) == b'\\x1f\\x8b' else open
          with opener(name, 'rb') as fh:
              block = fh.read(352)
          order = '<' if struct.unpack('<i', block[:4])[0] == 348 else '>'
          vox_offset = struct.unpack(order + 'f', block[108:112])[0]
          units = block[123]
          img.get_fdata().ravel(order='F').astype('<f8').tofile(name + '.fdata')
          print('|'.join([os.path.basename(name), ','.join(str(s) for s in img.shape), img.get_data_dtype().name,
                          hexes(hdr.get_zooms()), hexes(img.affine.ravel()), hexes(hdr.get_qform().ravel()),
                          str(int(hdr['qform_code'])), str(int(hdr['sform_code'])), order, repr(vox_offset),
                          str(int(hdr['sizeof_hdr'])), hdr['magic'].item().decode(), str(units),
                          str(int(hdr['bitpix'])), hdr['descrip'].item().decode(),
                          float(img.dataobj.slope).hex(), float(img.dataobj.inter).hex()]))
      """;

  @Test
  void javaWrittenFilesReadIdenticallyInNibabel() throws IOException {
    PythonReference.require("nibabel", "numpy");
    Random rnd = new Random(42);
    Map<String, NiftiImage> images = new LinkedHashMap<>();
    double[][] rotated = rotatedAffine(rnd, new double[] {0.7, 1.3, 5.0}, false);
    double[][] leftHanded = rotatedAffine(rnd, new double[] {2.0, 0.5, 1.5}, true);
    for (NiftiDataType t : NiftiDataType.values()) {
      for (ByteOrder order : List.of(ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN)) {
        for (String ext : List.of(".nii", ".nii.gz")) {
          NiftiImage img = NiftiImage.of(t, randomArray(t, 5 * 4 * 3, rnd), 5, 4, 3)
              .withAffine(order == ByteOrder.LITTLE_ENDIAN ? rotated : leftHanded, 1, 2)
              .withDescription("java " + t.numpyName());
          images.put("java_" + t.numpyName() + "_" + (order == ByteOrder.LITTLE_ENDIAN ? "le" : "be") + ext, img);
        }
      }
    }
    images.put("java_scaled.nii.gz", NiftiImage.ofInt16(new short[] {-32768, -1, 0, 1, 2, 32767}, 3, 2, 1)
        .withScaling(0.25, -3.5));
    images.put("java_qform_only.nii", NiftiImage.ofFloats(new float[24], 2, 3, 4).withAffine(leftHanded, 1, 0));
    images.put("java_spacing.nii", NiftiImage.ofUint8(new byte[60], 5, 4, 3).withSpacing(0.625, 0.625, 10));
    images.put("java_2d.nii", NiftiImage.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2).withSpacing(0.5, 2));
    images.put("java_4d.nii.gz", NiftiImage.ofInt32(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 1, 2)
        .withSpacing(1, 1, 3, 2.5));
    List<String> args = new ArrayList<>();
    Map<String, ByteOrder> orders = new LinkedHashMap<>();
    for (Map.Entry<String, NiftiImage> e : images.entrySet()) {
      Path p = dir.resolve(e.getKey());
      ByteOrder order = e.getKey().contains("_be") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
      orders.put(e.getKey(), order);
      Nifti.write(p, e.getValue(), order);
      args.add(p.toString());
      // Java reads its own file back exactly.
      NiftiImage back = Nifti.read(p);
      assertArrayEquals(encodeLittleEndian(e.getValue()), encodeLittleEndian(back), e.getKey() + " re-read");
      assertArrayEquals(e.getValue().shape(), back.shape(), e.getKey());
    }
    try (var listing = Files.list(dir)) {
      assertTrue(listing.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files left");
    }
    String out = PythonReference.run(NIBABEL_READER, Duration.ofSeconds(120), args.toArray(String[]::new));
    List<String> lines = out.lines().filter(l -> l.contains("|")).toList();
    assertEquals(images.size(), lines.size(), out);
    List<String> failures = new ArrayList<>();
    for (String line : lines) {
      String[] f = line.split("\\|", -1);
      NiftiImage img = images.get(f[0]);
      try {
        checkNibabelView(dir.resolve(f[0]), img, orders.get(f[0]), f);
      } catch (AssertionError | IOException | RuntimeException e) {
        failures.add(f[0] + ": " + e.getMessage());
      }
    }
    if (!failures.isEmpty()) {
      fail(failures.size() + " of " + lines.size() + " files differ:\n" + String.join("\n", failures));
    }
  }

  private static void checkNibabelView(Path file, NiftiImage img, ByteOrder order, String[] f) throws IOException {
    int[] nibShape = Arrays.stream(f[1].split(",")).mapToInt(Integer::parseInt).toArray();
    assertArrayEquals(img.shape(), nibShape, "shape");
    assertEquals(img.datatype().numpyName(), f[2], "dtype");
    double[] zooms = Arrays.stream(f[3].split(",")).mapToDouble(Double::parseDouble).toArray();
    double[] expectedZooms = img.zooms();
    for (int i = 0; i < expectedZooms.length; i++) {
      expectedZooms[i] = (float) expectedZooms[i];
    }
    assertArrayEquals(expectedZooms, zooms, "zooms");
    double[] affine = Arrays.stream(f[4].split(",")).mapToDouble(Double::parseDouble).toArray();
    double[] qform = Arrays.stream(f[5].split(",")).mapToDouble(Double::parseDouble).toArray();
    double[][] a = img.affine();
    boolean sformUsed = img.sformCode() != 0;
    for (int r = 0; r < 4; r++) {
      for (int c = 0; c < 4; c++) {
        double want = r < 3 ? (float) a[r][c] : a[r][c];
        if (sformUsed) {
          assertEquals(want, affine[4 * r + c], 0.0, "affine[" + r + "][" + c + "] (sform)");
        } else {
          assertEquals(a[r][c], affine[4 * r + c], 2e-6 * (1 + Math.abs(a[r][c])), "affine[" + r + "][" + c + "] (qform)");
        }
        assertEquals(a[r][c], qform[4 * r + c], 2e-6 * (1 + Math.abs(a[r][c])), "qform[" + r + "][" + c + "]");
      }
    }
    assertEquals(img.qformCode(), Integer.parseInt(f[6]), "qform_code");
    assertEquals(img.sformCode(), Integer.parseInt(f[7]), "sform_code");
    assertEquals(order == ByteOrder.BIG_ENDIAN ? ">" : "<", f[8], "byte order");
    assertEquals("352.0", f[9], "vox_offset");
    assertEquals("348", f[10], "sizeof_hdr");
    assertEquals("n+1", f[11], "magic");
    assertEquals(String.valueOf(img.xyztUnits()), f[12], "xyzt_units");
    assertEquals(String.valueOf(img.datatype().bitpix()), f[13], "bitpix");
    assertEquals(img.description(), f[14], "descrip");
    assertEquals(img.hasScaling() ? img.sclSlope() : 1.0, Double.parseDouble(f[15]), "slope");
    assertEquals(img.hasScaling() ? img.sclInter() : 0.0, Double.parseDouble(f[16]), "inter");
    double[] expected = img.fdata();
    double[] actual = doubles(Files.readAllBytes(Path.of(file + ".fdata")));
    assertEquals(expected.length, actual.length, "voxels");
    for (int i = 0; i < expected.length; i++) {
      if (Double.doubleToLongBits(expected[i]) != Double.doubleToLongBits(actual[i])) {
        fail("nibabel's get_fdata()[" + i + "] (F order) is " + actual[i] + ", Java's " + expected[i]);
      }
    }
  }

  static double[][] rotatedAffine(Random rnd, double[] spacing, boolean flip) {
    double w = rnd.nextGaussian();
    double x = rnd.nextGaussian();
    double y = rnd.nextGaussian();
    double z = rnd.nextGaussian();
    double n = Math.sqrt(w * w + x * x + y * y + z * z);
    w /= n;
    x /= n;
    y /= n;
    z /= n;
    double[][] r = {
        {1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
        {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
        {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}};
    double[][] a = new double[4][4];
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        a[i][j] = r[i][j] * spacing[j] * (flip && j == 2 ? -1 : 1);
      }
      a[i][3] = rnd.nextDouble() * 200 - 100;
    }
    a[3][3] = 1;
    return a;
  }

  static Object randomArray(NiftiDataType t, int n, Random rnd) {
    return switch (t) {
      case UINT8, INT8 -> {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        b[0] = Byte.MIN_VALUE;
        b[1] = Byte.MAX_VALUE;
        yield b;
      }
      case INT16, UINT16 -> {
        short[] s = new short[n];
        for (int i = 0; i < n; i++) {
          s[i] = (short) rnd.nextInt();
        }
        s[0] = Short.MIN_VALUE;
        s[1] = Short.MAX_VALUE;
        s[2] = -1;
        yield s;
      }
      case INT32, UINT32 -> {
        int[] v = rnd.ints(n).toArray();
        v[0] = Integer.MIN_VALUE;
        v[1] = Integer.MAX_VALUE;
        v[2] = -1;
        yield v;
      }
      case INT64 -> {
        long[] v = rnd.longs(n).toArray();
        v[0] = Long.MIN_VALUE;
        v[1] = Long.MAX_VALUE;
        yield v;
      }
      case FLOAT32 -> {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
          v[i] = (float) (rnd.nextGaussian() * 1000);
        }
        v[0] = Float.NaN;
        v[1] = Float.NEGATIVE_INFINITY;
        v[2] = -0.0f;
        v[3] = Float.MIN_VALUE;
        yield v;
      }
      case FLOAT64 -> {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
          v[i] = rnd.nextGaussian() * 1e6;
        }
        v[0] = Double.NaN;
        v[1] = Double.POSITIVE_INFINITY;
        v[2] = -0.0;
        v[3] = Double.MIN_VALUE;
        yield v;
      }
    };
  }
}
