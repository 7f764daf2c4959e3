package org.ssl4mis.data.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.hdf5.DatasetInfo;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.testing.PythonReference;

class AcdcPhantomsTest {
  @TempDir
  Path dir;

  @Test
  void writesTheAcdcLayoutWithListsVolumesAndSlices() throws Exception {
    AcdcPhantoms.Spec spec = new AcdcPhantoms.Spec(7, 11);
    AcdcPhantoms.Written w = AcdcPhantoms.write(dir, spec);

    List<String> all = AcdcPhantoms.caseNames(spec);
    assertEquals(List.of("patient001_frame01", "patient001_frame02", "patient002_frame01", "patient002_frame02",
        "patient003_frame01", "patient003_frame02", "patient004_frame01"), all);
    List<String> train = readList(dir.resolve("train.list"));
    List<String> val = readList(dir.resolve("val.list"));
    List<String> test = readList(dir.resolve("test.list"));
    assertEquals(w.train(), train);
    assertEquals(w.val(), val);
    assertEquals(w.test(), test);
    assertFalse(train.isEmpty() || val.isEmpty() || test.isEmpty());
    Set<String> union = new HashSet<>();
    union.addAll(train);
    union.addAll(val);
    union.addAll(test);
    assertEquals(Set.copyOf(all), union);
    assertEquals(all.size(), train.size() + val.size() + test.size(), "the splits are disjoint");
    Set<String> trainPatients = patients(train);
    assertTrue(disjoint(trainPatients, patients(val)) && disjoint(trainPatients, patients(test))
        && disjoint(patients(val), patients(test)), "a patient's frames stay in one split");

    List<String> expectedSlices = new ArrayList<>();
    Set<String> sizes = new HashSet<>();
    for (String name : all) {
      Path volume = dir.resolve("data").resolve(name + ".h5");
      try (Hdf5File f = Hdf5File.openRead(volume)) {
        assertEquals(List.of("image", "label"), f.datasetNames());
        DatasetInfo image = f.info("image");
        DatasetInfo label = f.info("label");
        assertEquals(DType.FLOAT32, image.dtype());
        assertEquals(DType.UINT8, label.dtype());
        assertEquals("gzip", image.compression().orElse("none"));
        assertEquals("gzip", label.compression().orElse("none"));
        long[] shape = image.shape();
        assertEquals(3, shape.length);
        assertArrayEquals(shape, label.shape());
        int k = (int) shape[0];
        int h = (int) shape[1];
        int wd = (int) shape[2];
        assertTrue(k >= AcdcPhantoms.MIN_SLICES && k <= AcdcPhantoms.MAX_SLICES, "slices " + k);
        assertTrue(h >= 216 && h <= 256 && wd >= 200 && wd <= 256, h + "x" + wd);
        sizes.add(h + "x" + wd);
        float[] img = f.readFloats("image");
        byte[] lab = f.readBytes("label");
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float v : img) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        assertEquals(0f, lo, "min-max normalised per volume");
        assertEquals(1f, hi, "min-max normalised per volume");
        for (byte b : lab) {
          assertTrue(b >= 0 && b <= 3, "label " + b);
        }
        int plane = h * wd;
        for (int s = 1; s <= k; s++) {
          Path slice = dir.resolve("data/slices/" + name + "_slice_" + s + ".h5");
          try (Hdf5File sf = Hdf5File.openRead(slice)) {
            assertEquals(List.of("image", "label"), sf.datasetNames());
            assertArrayEquals(new long[] {h, wd}, sf.info("image").shape());
            assertEquals(DType.FLOAT32, sf.info("image").dtype());
            assertEquals(DType.UINT8, sf.info("label").dtype());
            assertEquals("gzip", sf.info("image").compression().orElse("none"));
            assertArrayEquals(Arrays.copyOfRange(img, (s - 1) * plane, s * plane), sf.readFloats("image"),
                "slice " + s + " of " + name + " is plane " + (s - 1) + " of the volume");
            assertArrayEquals(Arrays.copyOfRange(lab, (s - 1) * plane, s * plane), sf.readBytes("label"));
          }
          if (train.contains(name)) {
            expectedSlices.add(name + "_slice_" + s);
          }
        }
        assertFalse(Files.exists(dir.resolve("data/slices/" + name + "_slice_0.h5")), "slices count from 1");
        assertFalse(Files.exists(dir.resolve("data/slices/" + name + "_slice_" + (k + 1) + ".h5")));
      }
    }
    assertTrue(sizes.size() > 1, "sizes vary per patient: " + sizes);
    // train_slices.list: the slices of the train cases, case by case in train.list order.
    assertEquals(expectedSlices, readList(dir.resolve("train_slices.list")));
    assertEquals(expectedSlices, w.trainSlices());
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(Set.of("data", "train.list", "val.list", "test.list", "train_slices.list"),
          Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
    }
  }

  @Test
  void fixedSizeAndSliceCountAndOneFramePerPatientForFewCases() throws Exception {
    AcdcPhantoms.Spec spec = new AcdcPhantoms.Spec(3, 5, 9, 256, 256);
    assertEquals(List.of("patient001_frame01", "patient002_frame01", "patient003_frame01"),
        AcdcPhantoms.caseNames(spec));
    List<List<String>> splits = AcdcPhantoms.splits(spec);
    for (List<String> part : splits) {
      assertEquals(1, part.size(), "one case each for train, val and test: " + splits);
    }
    AcdcPhantoms.Volume v = AcdcPhantoms.generate(spec, 2);
    assertArrayEquals(new long[] {9, 256, 256}, v.shape());
    assertEquals("patient003_frame01", v.name());
    assertThrows(IllegalArgumentException.class, () -> new AcdcPhantoms.Spec(2, 1));
    assertThrows(IllegalArgumentException.class, () -> new AcdcPhantoms.Spec(5, 1, 1, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new AcdcPhantoms.Spec(5, 1, 0, 32, 0));
    // Bigger sets split about 70/10/20 by patient.
    List<List<String>> big = AcdcPhantoms.splits(new AcdcPhantoms.Spec(200, 1));
    assertEquals(List.of(140, 20, 40), big.stream().map(List::size).toList());
  }

  @Test
  void classesArePresentInSaneProportionsAndTheRightVentricleEndsBeforeTheApex() {
    AcdcPhantoms.Spec spec = new AcdcPhantoms.Spec(12, 3);
    long[] counts = new long[4];
    long voxels = 0;
    int slices = 0;
    int lvSlices = 0;
    int apicalWithoutRv = 0;
    int basalWithRv = 0;
    double[] cavity = new double[2];
    for (int i = 0; i < spec.cases(); i++) {
      AcdcPhantoms.Volume v = AcdcPhantoms.generate(spec, i);
      long[] volumeCounts = new long[4];
      int plane = v.height() * v.width();
      for (int s = 0; s < v.slices(); s++) {
        long[] c = new long[4];
        for (int p = 0; p < plane; p++) {
          c[v.label()[s * plane + p]]++;
        }
        slices++;
        if (c[3] > 0) {
          lvSlices++;
        }
        if (s == v.slices() - 2 && c[1] == 0 && c[2] > 0) {
          apicalWithoutRv++;
        }
        if (s == 0 && c[1] > 0) {
          basalWithRv++;
        }
        for (int k = 0; k < 4; k++) {
          volumeCounts[k] += c[k];
        }
      }
      for (int k = 1; k < 4; k++) {
        assertTrue(volumeCounts[k] > 0, v.name() + " has class " + k);
      }
      cavity[i % 2] += volumeCounts[3];
      for (int k = 0; k < 4; k++) {
        counts[k] += volumeCounts[k];
      }
      voxels += v.label().length;
    }
    String fractions = String.format(Locale.ROOT, "RV %.4f, MYO %.4f, LV %.4f", counts[1] / (double) voxels,
        counts[2] / (double) voxels, counts[3] / (double) voxels);
    System.out.println("ACDC phantom class fractions: " + fractions);
    for (int k = 1; k < 4; k++) {
      double f = counts[k] / (double) voxels;
      assertTrue(f > 0.004 && f < 0.05, "class " + k + ": " + fractions);
    }
    assertTrue(lvSlices > 0.7 * slices, lvSlices + " of " + slices + " slices show the LV cavity");
    assertEquals(spec.cases(), basalWithRv, "every basal slice shows the right ventricle");
    assertTrue(apicalWithoutRv >= spec.cases() / 2, apicalWithoutRv + " volumes lack the RV before the apex");
    assertTrue(cavity[1] < 0.7 * cavity[0], "end systole (frame02) has smaller cavities than end diastole");
  }

  @Test
  void noSingleThresholdSegmentsTheLeftVentricle() {
    AcdcPhantoms.Spec spec = new AcdcPhantoms.Spec(12, 21);
    double worst = 0;
    double sum = 0;
    StringBuilder all = new StringBuilder();
    for (int i = 0; i < spec.cases(); i++) {
      AcdcPhantoms.Volume v = AcdcPhantoms.generate(spec, i);
      double lv = SynthTestSupport.bestThresholdDice(v.image(), v.label(), 3);
      worst = Math.max(worst, lv);
      sum += lv;
      all.append(String.format(Locale.ROOT, " %.3f", lv));
    }
    System.out.printf(Locale.ROOT, "ACDC phantom best single-threshold Dice of the LV cavity: mean %.3f, max %.3f;"
        + "%s%n", sum / spec.cases(), worst, all);
    assertTrue(worst < 0.75, "a global threshold reaches Dice " + worst + " on the LV cavity:" + all);
  }

  @Test
  void sameSeedSameDataOtherSeedOtherData(@TempDir Path other) throws Exception {
    AcdcPhantoms.Spec spec = new AcdcPhantoms.Spec(3, 42, 4, 0, 0);
    AcdcPhantoms.write(dir.resolve("a"), spec);
    AcdcPhantoms.write(dir.resolve("b"), spec);
    AcdcPhantoms.write(other, new AcdcPhantoms.Spec(3, 43, 4, 0, 0));
    String a = SynthTestSupport.hashTree(dir.resolve("a"));
    assertEquals(a, SynthTestSupport.hashTree(dir.resolve("b")));
    assertNotEquals(a, SynthTestSupport.hashTree(other));
    AcdcPhantoms.Volume v1 = AcdcPhantoms.generate(spec, 1);
    AcdcPhantoms.Volume v2 = AcdcPhantoms.generate(spec, 1);
    assertArrayEquals(v1.image(), v2.image());
    assertArrayEquals(v1.label(), v2.label());
    // A volume depends on its patient only, not on how many cases are generated.
    AcdcPhantoms.Volume larger = AcdcPhantoms.generate(new AcdcPhantoms.Spec(5, 42, 4, 0, 0), 1);
    assertEquals(v1.name(), larger.name());
    assertArrayEquals(v1.image(), larger.image());
    // With pairs, both frames of a patient share the anatomy around the heart but are different images.
    AcdcPhantoms.Spec paired = new AcdcPhantoms.Spec(6, 42, 4, 0, 0);
    AcdcPhantoms.Volume ed = AcdcPhantoms.generate(paired, 0);
    AcdcPhantoms.Volume es = AcdcPhantoms.generate(paired, 1);
    assertArrayEquals(ed.shape(), es.shape());
    assertFalse(Arrays.equals(ed.label(), es.label()));
  }

  @Test
  void h5pyReadsTheFilesAsTheReferenceWouldWriteThem() throws Exception {
    PythonReference.require("h5py", "numpy");
    AcdcPhantoms.Spec spec = new AcdcPhantoms.Spec(3, 8, 8, 0, 0);
    AcdcPhantoms.write(dir, spec);
    String script = """
        import sys, h5py, numpy as np
        root = sys.argv[1]
        case = open(root + "/train.list").read().splitlines()[0]
        first = open(root + "/train_slices.list").readline().rstrip("\\n")
        for path in (root + "/data/" + case + ".h5", root + "/data/slices/" + first + ".h5"):
            with h5py.File(path, "r") as f:
                for k in sorted(f.keys()):
                    d = f[k]
                    a = d[:]
                    print(k, len(d.shape), d.dtype, d.compression, d.compression_opts,
                          float(a.min()), float(a.max()))
        """;
    String out = PythonReference.run(script, Duration.ofSeconds(60), dir.toString());
    List<String> lines = out.strip().lines().toList();
    assertEquals(4, lines.size(), out);
    assertEquals("image 3 float32 gzip 4 0.0 1.0", lines.get(0), out);
    assertTrue(lines.get(1).startsWith("label 3 uint8 gzip 4 0.0 3.0"), out);
    assertTrue(lines.get(2).startsWith("image 2 float32 gzip 4 "), out);
    assertTrue(lines.get(3).startsWith("label 2 uint8 gzip 4 "), out);
  }

  @Test
  void savesAPreviewMontage() throws Exception {
    Path file = SynthTestSupport.save(SynthTestSupport.acdcMontage(new AcdcPhantoms.Spec(6, 1337), 4, 6, 200),
        "acdc.png");
    System.out.println("ACDC phantom preview: " + file);
    assertTrue(Files.size(file) > 10_000);
  }

  static List<String> readList(Path file) throws Exception {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    assertTrue(text.endsWith("\n"), file + " ends with a newline");
    assertFalse(text.contains("\r") || text.contains("\n\n") || text.contains(" "), file + " has one name a line");
    List<String> names = text.lines().toList();
    for (String n : names) {
      assertTrue(n.matches("patient\\d{3}_frame0[12](_slice_\\d+)?"), n);
    }
    return names;
  }

  private static Set<String> patients(List<String> names) {
    Set<String> p = new HashSet<>();
    for (String n : names) {
      p.add(n.substring(0, "patient000".length()));
    }
    return p;
  }

  private static boolean disjoint(Set<String> a, Set<String> b) {
    return a.stream().noneMatch(b::contains);
  }
}
