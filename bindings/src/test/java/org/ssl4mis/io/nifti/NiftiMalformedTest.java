package org.ssl4mis.io.nifti;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed files give a {@link NiftiFormatException} naming the file and the problem, quickly and without
 * allocating what a lying header claims; plus the pure-Java round trip, layouts and the long double rounding.
 */
class NiftiMalformedTest {
  @TempDir
  Path dir;

  private byte[] valid;
  private byte[] validGz;

  @BeforeEach
  void writeValid() throws IOException {
    short[] data = new short[7 * 6 * 5];
    for (int i = 0; i < data.length; i++) {
      data[i] = (short) (i * 37 - 500);
    }
    Path p = dir.resolve("valid.nii");
    Nifti.write(p, NiftiImage.ofInt16(data, 7, 6, 5).withSpacing(1.5, 1.5, 4));
    valid = Files.readAllBytes(p);
    Path g = dir.resolve("valid.nii.gz");
    Nifti.write(g, Nifti.read(p));
    validGz = Files.readAllBytes(g);
    assertEquals(352 + 2 * 7 * 6 * 5, valid.length);
  }

  private NiftiFormatException fails(String name, byte[] content, String... expectedWords) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    NiftiFormatException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
        () -> assertThrows(NiftiFormatException.class, () -> Nifti.read(p)));
    assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
    for (String w : expectedWords) {
      assertTrue(e.getMessage().contains(w), "'" + w + "' not in: " + e.getMessage());
    }
    return e;
  }

  private byte[] patched(Consumer<ByteBuffer> change) {
    byte[] b = valid.clone();
    change.accept(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN));
    return b;
  }

  static byte[] gzip(byte[] b) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(b);
    }
    return bytes.toByteArray();
  }

  @Test
  void truncatedPlainFiles() throws IOException {
    fails("empty.nii", new byte[0], "truncated header", "0 bytes");
    fails("t1.nii", Arrays.copyOf(valid, 1), "truncated header");
    fails("t100.nii", Arrays.copyOf(valid, 100), "truncated header", "100 bytes");
    fails("t347.nii", Arrays.copyOf(valid, 347), "truncated header");
    fails("t348.nii", Arrays.copyOf(valid, 348), "vox_offset 352", "beyond the end");
    fails("t351.nii", Arrays.copyOf(valid, 351), "beyond the end");
    fails("t352.nii", Arrays.copyOf(valid, 352), "truncated", "420 bytes of voxel data");
    fails("t500.nii", Arrays.copyOf(valid, 500), "truncated", "148 of them data");
    fails("tminus1.nii", Arrays.copyOf(valid, valid.length - 1), "truncated");
  }

  @Test
  void truncatedGzipFiles() throws IOException {
    byte[] full = gzip(valid);
    for (int n : new int[] {1, 2, 10, 30, full.length / 2, full.length - 9, full.length - 1}) {
      fails("tgz" + n + ".nii.gz", Arrays.copyOf(full, n));
    }
    // a complete gzip stream holding a truncated image
    fails("short.nii.gz", gzip(Arrays.copyOf(valid, 400)), "truncated", "decompressed");
    fails("shorthdr.nii.gz", gzip(Arrays.copyOf(valid, 200)), "truncated header", "decompressed");
    // corrupt deflate data after an intact gzip header
    byte[] corrupt = validGz.clone();
    for (int i = 12; i < corrupt.length - 8; i++) {
      corrupt[i] = (byte) 0xFF;
    }
    fails("corrupt.nii.gz", corrupt);
    // a wrong CRC in the trailer is noticed
    byte[] badCrc = validGz.clone();
    badCrc[badCrc.length - 8] ^= 0x5A;
    fails("badcrc.nii.gz", badCrc, "gzip");
  }

  @Test
  void absurdDimensions() throws IOException {
    fails("dim0zero.nii", patched(b -> b.putShort(40, (short) 0)), "dim[0] is 0");
    fails("dim0big.nii", patched(b -> b.putShort(40, (short) 8)), "dim[0] is 8");
    fails("dim0neg.nii", patched(b -> b.putShort(40, (short) -3)), "dim[0] is -3");
    fails("dimzero.nii", patched(b -> b.putShort(44, (short) 0)), "dim[2] is 0");
    fails("dimneg.nii", patched(b -> b.putShort(42, (short) -7)), "dim[1] is -7");
    // 32767^3 int16 voxels: far more than a Java array
    fails("huge.nii", patched(b -> {
      b.putShort(42, Short.MAX_VALUE).putShort(44, Short.MAX_VALUE).putShort(46, Short.MAX_VALUE);
    }), "more than a Java array");
    // 7D of 32767: the voxel count overflows nothing and is refused
    fails("huge7.nii", patched(b -> {
      b.putShort(40, (short) 7);
      for (int i = 1; i <= 7; i++) {
        b.putShort(40 + 2 * i, Short.MAX_VALUE);
      }
    }), "more than a Java array");
    // 1000^3 float64: 8 GB, beyond the 4 GiB read limit, in a tiny gzip file: refused before reading
    byte[] big = patched(b -> {
      b.putShort(42, (short) 1000).putShort(44, (short) 1000).putShort(46, (short) 1000);
      b.putShort(70, (short) 64).putShort(72, (short) 64);
    });
    fails("bomb.nii.gz", gzip(big), "read limit");
    // 1200x1200x1000 uint8 (1.4 GB) in a tiny gzip file: within the limits, so it is read until the data ends
    byte[] claim = patched(b -> {
      b.putShort(42, (short) 1200).putShort(44, (short) 1200).putShort(46, (short) 1000);
      b.putShort(70, (short) 2).putShort(72, (short) 8);
    });
    fails("claim.nii.gz", gzip(claim), "truncated", "decompressed");
    // with a smaller explicit limit the same file is refused up front
    Path p = dir.resolve("claim.nii.gz");
    NiftiFormatException e = assertThrows(NiftiFormatException.class, () -> Nifti.read(p, 1 << 20));
    assertTrue(e.getMessage().contains("read limit"), e.getMessage());
  }

  @Test
  void badVoxOffset() throws IOException {
    fails("offbeyond.nii", patched(b -> b.putFloat(108, 100_000f)), "vox_offset 100000", "beyond the end");
    fails("offhuge.nii", patched(b -> b.putFloat(108, 1e30f)), "beyond the end");
    fails("offneg.nii", patched(b -> b.putFloat(108, -352f)), "vox_offset is -352");
    fails("offnan.nii", patched(b -> b.putFloat(108, Float.NaN)), "vox_offset is NaN");
    fails("offinf.nii", patched(b -> b.putFloat(108, Float.POSITIVE_INFINITY)), "vox_offset is Infinity");
    fails("offfrac.nii", patched(b -> b.putFloat(108, 352.5f)), "not a whole number");
    fails("offdata.nii", patched(b -> b.putFloat(108, 400f)), "truncated");
    fails("offbeyond.nii.gz", gzip(patched(b -> b.putFloat(108, 1e9f))), "beyond the end");
    // below 352 is read as 352, as nibabel does
    Path p = dir.resolve("offlow.nii");
    Files.write(p, patched(b -> b.putFloat(108, 0f)));
    assertArrayEquals(Nifti.read(dir.resolve("valid.nii")).shorts(), Nifti.read(p).shorts());
  }

  @Test
  void wrongMagicAndHeaderSize() throws IOException {
    fails("magic.nii", patched(b -> b.put(346, (byte) '2')), "bad magic", "n+2");
    fails("magic0.nii", patched(b -> b.put(344, (byte) 0).put(345, (byte) 0).put(346, (byte) 0)), "bad magic",
        "Analyze");
    fails("magic4.nii", patched(b -> b.put(347, (byte) 'x')), "bad magic");
    fails("magicpair.nii", patched(b -> b.put(345, (byte) 'i')), "\"ni1\"", ".hdr");
    fails("sizeof.nii", patched(b -> b.putInt(0, 349)), "sizeof_hdr is 349");
    fails("nifti2.nii", patched(b -> b.putInt(0, 540)), "NIfTI-2");
    byte[] text = "this is not an image at all, just some text that is long enough to look like a header"
        .repeat(6).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    fails("text.nii", text, "sizeof_hdr");
    fails("text.nii.gz", gzip(text), "sizeof_hdr");
  }

  @Test
  void unsupportedDatatypesAreNamed() throws IOException {
    fails("complex.nii", patched(b -> b.putShort(70, (short) 32)), "COMPLEX64");
    fails("rgb.nii", patched(b -> b.putShort(70, (short) 128)), "RGB24");
    fails("u64.nii", patched(b -> b.putShort(70, (short) 1280)), "UINT64");
    fails("f128.nii", patched(b -> b.putShort(70, (short) 1536)), "FLOAT128");
    fails("rgba.nii", patched(b -> b.putShort(70, (short) 2304)), "RGBA32");
    fails("binary.nii", patched(b -> b.putShort(70, (short) 1)), "BINARY");
    fails("unknown.nii", patched(b -> b.putShort(70, (short) 0)), "UNKNOWN");
    fails("weird.nii", patched(b -> b.putShort(70, (short) 9999)), "code 9999");
  }

  @Test
  void invalidScalingAndQuaternion() throws IOException {
    fails("inter.nii", patched(b -> b.putFloat(112, 2f).putFloat(116, Float.POSITIVE_INFINITY)), "scl_inter");
    // qform in use (sform_code 0) with b^2+c^2+d^2 > 1
    fails("quat.nii", patched(b -> {
      b.putShort(252, (short) 1).putShort(254, (short) 0);
      b.putFloat(256, 1f).putFloat(260, 1f).putFloat(264, 0f);
    }), "not a unit quaternion");
    // the same quaternion is harmless while the sform is in use (nibabel does not compute the qform then)
    Path p = dir.resolve("quatok.nii");
    Files.write(p, patched(b -> {
      b.putShort(252, (short) 1).putShort(254, (short) 2);
      b.putFloat(256, 1f).putFloat(260, 1f).putFloat(264, 0f);
    }));
    assertEquals(2, Nifti.read(p).sformCode());
    assertThrows(IllegalStateException.class, () -> Nifti.read(p).header().qform());
  }

  @Test
  void missingFilesAndPairs() throws IOException {
    NiftiFormatException e = assertThrows(NiftiFormatException.class, () -> Nifti.read(dir.resolve("none.nii")));
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    e = assertThrows(NiftiFormatException.class, () -> Nifti.read(dir));
    assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    Files.write(dir.resolve("lonely.hdr"), valid);
    e = assertThrows(NiftiFormatException.class, () -> Nifti.read(dir.resolve("lonely.hdr")));
    assertTrue(e.getMessage().contains("lonely.img"), e.getMessage());
    // a pair made by hand: header with magic ni1 and vox_offset 0, voxels in the .img
    byte[] hdr = patched(b -> b.put(345, (byte) 'i').putFloat(108, 0f));
    Files.write(dir.resolve("pair.hdr"), Arrays.copyOf(hdr, 348));
    Files.write(dir.resolve("pair.img"), Arrays.copyOfRange(valid, 352, valid.length));
    NiftiImage fromHdr = Nifti.read(dir.resolve("pair.hdr"));
    NiftiImage fromImg = Nifti.read(dir.resolve("pair.img"));
    short[] expected = Nifti.read(dir.resolve("valid.nii")).shorts();
    assertArrayEquals(expected, fromHdr.shorts());
    assertArrayEquals(expected, fromImg.shorts());
    Files.write(dir.resolve("pair.img"), Arrays.copyOfRange(valid, 352, valid.length - 2));
    e = assertThrows(NiftiFormatException.class, () -> Nifti.read(dir.resolve("pair.hdr")));
    assertTrue(e.getMessage().startsWith(dir.resolve("pair.img") + ": truncated"), e.getMessage());
    // a single-file header named .hdr is refused
    Files.write(dir.resolve("single.img"), new byte[0]);
    fails("single.hdr", valid, "\"n+1\"");
  }

  @Test
  void bigEndianAndGzipRoundTrip() throws IOException {
    float[] data = {1.5f, -2f, Float.NaN, 0f, 3e38f, -0f};
    NiftiImage img = NiftiImage.ofFloats(data, 3, 2).withSpacing(0.5, 2).withScaling(2, 1).withDescription("be");
    Path p = dir.resolve("be.nii.gz");
    Nifti.write(p, img, ByteOrder.BIG_ENDIAN);
    assertTrue(Nifti.isGzip(p));
    byte[] raw;
    try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(p))) {
      raw = in.readAllBytes();
    }
    assertEquals(348, ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN).getInt(0));
    NiftiImage back = Nifti.read(p);
    assertEquals(ByteOrder.BIG_ENDIAN, back.sourceByteOrder());
    assertArrayEquals(data, back.floats());
    assertArrayEquals(new double[] {0.5, 2}, back.spacing());
    assertEquals(2.0, back.sclSlope());
    assertEquals(1.0, back.sclInter());
    assertEquals(4.0, back.value(0));
    assertEquals("be", back.description());
    // rewriting what was read keeps the file's qform parameters and affine
    Path again = dir.resolve("again.nii");
    Nifti.write(again, back);
    NiftiImage twice = Nifti.read(again);
    assertArrayEquals(back.affine(), twice.affine());
    assertArrayEquals(back.header().quaternion(), twice.header().quaternion());
  }

  @Test
  void fourDimensionalWithOneTimePointReadsAs3D() throws IOException {
    Path p = dir.resolve("t1.nii");
    Files.write(p, patched(b -> b.putShort(40, (short) 4).putShort(48, (short) 1).putFloat(92, 2.5f)));
    NiftiImage img = Nifti.read(p);
    assertArrayEquals(new int[] {7, 6, 5}, img.shape());
    assertEquals(4, img.header().dim()[0]);
  }

  @Test
  void layouts() {
    // shape (2, 3, 4): NIfTI order is x fastest, C order z fastest
    double[] f = new double[24];
    for (int k = 0; k < 4; k++) {
      for (int j = 0; j < 3; j++) {
        for (int i = 0; i < 2; i++) {
          f[i + 2 * (j + 3 * k)] = 100 * i + 10 * j + k;
        }
      }
    }
    double[] c = NiftiArrays.toCOrder(f, 2, 3, 4);
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < 3; j++) {
        for (int k = 0; k < 4; k++) {
          assertEquals(100 * i + 10 * j + k, c[(i * 3 + j) * 4 + k]);
        }
      }
    }
    assertArrayEquals(f, NiftiArrays.fromCOrder(c, 2, 3, 4));
    byte[] b5 = new byte[2 * 3 * 1 * 2 * 2];
    for (int i = 0; i < b5.length; i++) {
      b5[i] = (byte) i;
    }
    assertArrayEquals(b5, NiftiArrays.fromCOrder(NiftiArrays.toCOrder(b5, 2, 3, 1, 2, 2), 2, 3, 1, 2, 2));
    assertArrayEquals(new int[] {4, 3, 2}, NiftiArrays.reversed(new int[] {2, 3, 4}));
    NiftiImage img = NiftiImage.ofDoubles(f, 2, 3, 4);
    assertEquals(1 + 2 * (2 + 3 * 3), img.index(1, 2, 3));
  }

  @Test
  void longDoubleRounding() {
    LongDoubleArithmetic ext = new LongDoubleArithmetic(64);
    LongDoubleArithmetic dbl = new LongDoubleArithmetic(53);
    java.math.BigDecimal three = java.math.BigDecimal.valueOf(3);
    assertEquals(1.0 / 3, LongDoubleArithmetic.toDouble(dbl.div(java.math.BigDecimal.ONE, three)));
    assertEquals(Math.sqrt(2), LongDoubleArithmetic.toDouble(dbl.sqrt(java.math.BigDecimal.valueOf(2))));
    assertEquals(0.1 + 0.2, LongDoubleArithmetic.toDouble(dbl.add(dbl.of(0.1), dbl.of(0.2))));
    // 1 + 2^-60 survives in 64 bits but not in 53
    java.math.BigDecimal tiny = new java.math.BigDecimal(Math.scalb(1.0, -60));
    assertTrue(ext.add(java.math.BigDecimal.ONE, tiny).compareTo(java.math.BigDecimal.ONE) > 0);
    assertEquals(0, dbl.add(java.math.BigDecimal.ONE, tiny).compareTo(java.math.BigDecimal.ONE));
    // ties go to even
    assertEquals(1.0, LongDoubleArithmetic.toDouble(new java.math.BigDecimal(1.0).add(
        new java.math.BigDecimal(Math.scalb(1.0, -53)))));
    assertEquals(-1.0 - Math.scalb(1.0, -51), LongDoubleArithmetic.toDouble(new java.math.BigDecimal(-1.0).subtract(
        new java.math.BigDecimal(Math.scalb(3.0, -53)))));
  }

  @Test
  void writerRefusesPairsAndKeepsNoTemporaryFiles() throws IOException {
    NiftiImage img = NiftiImage.ofUint8(new byte[8], 2, 2, 2);
    assertThrows(IllegalArgumentException.class, () -> Nifti.write(dir.resolve("x.hdr"), img));
    assertThrows(IllegalArgumentException.class, () -> NiftiImage.ofUint8(new byte[7], 2, 2, 2));
    assertThrows(IllegalArgumentException.class, () -> NiftiImage.of(NiftiDataType.INT16, new byte[8], 2, 2, 2));
    assertThrows(java.nio.file.NoSuchFileException.class, () -> Nifti.write(dir.resolve("no/such/dir/x.nii"), img));
    Path target = dir.resolve("x.nii");
    Nifti.write(target, img);
    Nifti.write(target, img.withData(NiftiDataType.UINT8, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
    assertEquals(8, Nifti.read(target).bytes()[7]);
    try (var s = Files.list(dir)) {
      assertTrue(s.noneMatch(x -> x.getFileName().toString().endsWith(".tmp")));
    }
  }
}
