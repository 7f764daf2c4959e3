package org.ssl4mis.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.data.DataException;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.io.nifti.Nifti;
import org.ssl4mis.io.nifti.NiftiImage;

/**
 * Input problems of {@code prepare} give one clear line naming the file; pairing, globbing and split sizes; the
 * exact values and orders written (without Python).
 */
class PrepareErrorsTest {
  @TempDir
  Path dir;

  private Path images;
  private Path labels;

  private void folders() throws IOException {
    images = Files.createDirectories(dir.resolve("images"));
    labels = Files.createDirectories(dir.resolve("labels"));
  }

  private static float[] ramp(int n) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (i * 7919) % 101;
    }
    return f;
  }

  private void image(String name, int... shape) throws IOException {
    int n = 1;
    for (int s : shape) {
      n *= s;
    }
    Nifti.write(images.resolve(name), NiftiImage.ofFloats(ramp(n), shape));
  }

  private void label(String name, byte[] values, int... shape) throws IOException {
    Nifti.write(labels.resolve(name), NiftiImage.ofUint8(values, shape));
  }

  private DataException fails(String layout) {
    NiftiPairPreparer.Options o = new NiftiPairPreparer.Options(images.toString(), labels.toString(),
        dir.resolve("out"), NiftiPairPreparer.Layout.parse(layout), SplitPlan.parse("70/10/20"), 1, true, false);
    return assertThrows(DataException.class,
        () -> NiftiPairPreparer.run(o, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
  }

  private static void assertOneLine(Exception e, String... words) {
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    for (String w : words) {
      assertTrue(e.getMessage().contains(w), "'" + w + "' not in: " + e.getMessage());
    }
  }

  @Test
  void missingFoldersAndNoFiles() throws IOException {
    images = dir.resolve("nope");
    labels = dir.resolve("nope2");
    assertOneLine(fails("acdc"), "nope", "no such folder");
    folders();
    assertOneLine(fails("acdc"), "images", "no NIfTI files");
    DataException e = assertThrows(DataException.class, () -> AcdcPreparer.run(new AcdcPreparer.Options(
        dir.resolve("raw"), dir.resolve("out"), true, SplitPlan.parse("70/10/20"), 1, true, true), System.out));
    assertOneLine(e, "raw", "no such folder");
    Files.createDirectories(dir.resolve("raw/patient001"));
    Nifti.write(dir.resolve("raw/patient001/patient001_frame01.nii.gz"), NiftiImage.ofFloats(ramp(8), 2, 2, 2));
    e = assertThrows(DataException.class, () -> AcdcPreparer.run(new AcdcPreparer.Options(
        dir.resolve("raw"), dir.resolve("out"), true, SplitPlan.parse("70/10/20"), 1, true, true), System.out));
    assertOneLine(e, "no ACDC frames with ground truth");
  }

  @Test
  void unpairedFilesAreListed() throws IOException {
    folders();
    image("a_0000.nii.gz", 2, 2, 2);
    image("b_0000.nii.gz", 2, 2, 2);
    image("c.nii", 2, 2, 2);
    label("a.nii.gz", new byte[8], 2, 2, 2);
    label("b_seg.nii.gz", new byte[8], 2, 2, 2);
    label("d_gt.nii.gz", new byte[8], 2, 2, 2);
    assertOneLine(fails("acdc"), "unpaired", "1 image(s) without a label", "c.nii", "1 label(s) without an image",
        "d_gt.nii.gz");
  }

  @Test
  void shapeMismatchNamesTheLabel() throws IOException {
    folders();
    image("a.nii.gz", 3, 2, 2);
    label("a_gt.nii.gz", new byte[8], 2, 2, 2);
    assertOneLine(fails("acdc"), "a_gt.nii.gz", "label shape [2, 2, 2] differs from the image shape [3, 2, 2]");
  }

  @Test
  void nonIntegerAndOutOfRangeLabels() throws IOException {
    folders();
    image("a.nii.gz", 2, 2, 2);
    Nifti.write(labels.resolve("a.nii.gz"), NiftiImage.ofFloats(new float[] {0, 1, 2, 0.5f, 0, 0, 0, 0}, 2, 2, 2));
    assertOneLine(fails("la"), "labels/a.nii.gz", "label value 0.5 at voxel (1, 1, 0) is not an integer");
    Nifti.write(labels.resolve("a.nii.gz"), NiftiImage.ofInt16(new short[] {0, 1, 2, 300, 0, 0, 0, 0}, 2, 2, 2));
    assertOneLine(fails("acdc"), "labels/a.nii.gz", "label value 300", "outside 0..255");
    Nifti.write(labels.resolve("a.nii.gz"), NiftiImage.ofInt16(new short[] {0, 1, 2, -1, 0, 0, 0, 0}, 2, 2, 2));
    assertOneLine(fails("acdc"), "label value -1");
  }

  @Test
  void badImages() throws IOException {
    folders();
    label("a.nii.gz", new byte[8], 2, 2, 2);
    Nifti.write(images.resolve("a.nii.gz"), NiftiImage.ofFloats(new float[8], 2, 2, 2));
    assertOneLine(fails("acdc"), "images/a.nii.gz", "constant");
    Nifti.write(images.resolve("a.nii.gz"), NiftiImage.ofFloats(new float[] {1, 2, Float.NaN, 4, 5, 6, 7, 8}, 2, 2, 2));
    assertOneLine(fails("acdc"), "images/a.nii.gz", "NaN at voxel (0, 1, 0)");
    Nifti.write(images.resolve("a.nii.gz"), NiftiImage.ofFloats(ramp(16), 2, 2, 2, 2));
    assertOneLine(fails("acdc"), "images/a.nii.gz", "3D");
    Files.write(images.resolve("a.nii.gz"), new byte[] {1, 2, 3});
    assertOneLine(fails("acdc"), "images/a.nii.gz", "truncated header");
  }

  @Test
  void duplicateKeysAreRefused() throws IOException {
    folders();
    image("a.nii.gz", 2, 2, 2);
    image("a_0000.nii", 2, 2, 2);
    label("a.nii.gz", new byte[8], 2, 2, 2);
    assertOneLine(fails("acdc"), "both pair as case 'a'");
  }

  @Test
  void splitSizes() {
    SplitPlan p = SplitPlan.parse("70/10/20");
    assertArrayEquals(new int[] {70, 10, 20}, p.sizes(100));
    assertArrayEquals(new int[] {7, 1, 2}, p.sizes(10));
    assertArrayEquals(new int[] {4, 0, 1}, p.sizes(5));
    assertArrayEquals(new int[] {1, 0, 0}, p.sizes(1));
    assertArrayEquals(new int[] {0, 0, 0}, p.sizes(0));
    assertArrayEquals(new int[] {16, 4, 0}, SplitPlan.parse("80/20/0").sizes(20));
    assertArrayEquals(new int[] {80, 0, 20}, SplitPlan.parse("0.8:0.2").sizes(100));
    assertArrayEquals(new int[] {1, 1, 1}, SplitPlan.parse("1/1/1").sizes(3));
    assertThrows(IllegalArgumentException.class, () -> SplitPlan.parse("70/30/10/5"));
    assertThrows(IllegalArgumentException.class, () -> SplitPlan.parse("a/b"));
    assertThrows(IllegalArgumentException.class, () -> SplitPlan.parse("0/0"));
    assertThrows(IllegalArgumentException.class, () -> SplitPlan.parse("-1/2"));
    List<String> names = List.of("c", "a", "b", "e", "d");
    assertEquals(p.apply(names, 9), p.apply(List.of("e", "d", "c", "b", "a"), 9), "input order does not matter");
  }

  @Test
  void valuesAndOrdersWritten() throws IOException {
    folders();
    // image (x, y, z) = (3, 2, 2) with values = NIfTI position, label = position % 3
    float[] values = new float[12];
    byte[] lab = new byte[12];
    for (int i = 0; i < 12; i++) {
      values[i] = i;
      lab[i] = (byte) (i % 3);
    }
    Nifti.write(images.resolve("v.nii"), NiftiImage.ofFloats(values, 3, 2, 2));
    label("v.nii", lab, 3, 2, 2);
    NiftiPairPreparer.Options o = new NiftiPairPreparer.Options(images.toString(), labels.toString(),
        dir.resolve("acdc"), NiftiPairPreparer.Layout.ACDC, SplitPlan.parse("1/0/0"), 1, true, false);
    NiftiPairPreparer.run(o, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    try (Hdf5File h5 = Hdf5File.openRead(dir.resolve("acdc/data/v.h5"))) {
      assertArrayEquals(new long[] {2, 2, 3}, h5.info("image").shape());
      float[] img = h5.readFloats("image");
      for (int i = 0; i < 12; i++) {
        assertEquals(i / 11f, img[i], 0f, "min-max of the NIfTI-ordered values");
      }
      assertArrayEquals(lab, h5.readBytes("label"));
    }
    try (Hdf5File h5 = Hdf5File.openRead(dir.resolve("acdc/data/slices/v_slice_1.h5"))) {
      assertArrayEquals(new long[] {2, 3}, h5.info("image").shape());
      assertEquals(6 / 11f, h5.readFloats("image")[0], 0f);
    }
    assertEquals(List.of("v_slice_0", "v_slice_1"), Files.readAllLines(dir.resolve("acdc/train_slices.list")));
    assertEquals("v\n", Files.readString(dir.resolve("acdc/train.list")));
    assertEquals("", Files.readString(dir.resolve("acdc/test.list")));

    o = new NiftiPairPreparer.Options(images.toString(), labels.toString(), dir.resolve("la"),
        NiftiPairPreparer.Layout.LA, SplitPlan.parse("0/1"), 1, false, true);
    NiftiPairPreparer.run(o, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    try (Hdf5File h5 = Hdf5File.openRead(dir.resolve("la/2018LA_Seg_Training Set/v/mri_norm2.h5"))) {
      assertArrayEquals(new long[] {3, 2, 2}, h5.info("image").shape());
      float[] img = h5.readFloats("image");
      double mean = 5.5;
      double std = Math.sqrt(143.0 / 12);
      // C order of (x, y, z): z fastest; element (x=1, y=0, z=1) is NIfTI position 1 + 6 = 7
      assertEquals((float) ((7 - mean) / std), img[(1 * 2 + 0) * 2 + 1], 0f);
      byte[] bin = h5.readBytes("label");
      assertEquals(1, bin[(1 * 2 + 0) * 2 + 1], "binarized: 7 % 3 = 1");
      assertEquals(0, bin[0]);
    }
    assertEquals("", Files.readString(dir.resolve("la/train.list")));
    assertEquals("v\n", Files.readString(dir.resolve("la/test.list")));
  }
}
