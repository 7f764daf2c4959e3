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
import org.ssl4mis.testing.SharedData;

class LaPhantomsTest {
  @TempDir
  Path dir;

  @Test
  void writesTheLaLayout() throws Exception {
    LaPhantoms.Spec spec = new LaPhantoms.Spec(3, 7);
    LaPhantoms.Written w = LaPhantoms.write(dir, spec);
    List<String> train = readList(dir.resolve("train.list"));
    List<String> test = readList(dir.resolve("test.list"));
    assertEquals(w.train(), train);
    assertEquals(w.test(), test);
    assertEquals(2, train.size());
    assertEquals(1, test.size());
    List<String> all = new ArrayList<>(train);
    all.addAll(test);
    assertEquals(Set.copyOf(LaPhantoms.caseNames(spec)), Set.copyOf(all));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(Set.of("2018LA_Seg_Training Set", "train.list", "test.list"),
          Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
    }
    for (String name : all) {
      Path caseDir = dir.resolve("2018LA_Seg_Training Set").resolve(name);
      try (Stream<Path> files = Files.list(caseDir)) {
        assertEquals(List.of("mri_norm2.h5"), files.map(p -> p.getFileName().toString()).toList());
      }
      try (Hdf5File f = Hdf5File.openRead(caseDir.resolve("mri_norm2.h5"))) {
        assertEquals(List.of("image", "label"), f.datasetNames());
        DatasetInfo image = f.info("image");
        DatasetInfo label = f.info("label");
        assertEquals(DType.FLOAT32, image.dtype());
        assertEquals(DType.UINT8, label.dtype());
        assertArrayEquals(new long[] {128, 128, 88}, image.shape());
        assertArrayEquals(new long[] {128, 128, 88}, label.shape());
        assertEquals("gzip", image.compression().orElse("none"));
        assertEquals(4, image.gzipLevel().orElse(-1));
        assertEquals("gzip", label.compression().orElse("none"));
        assertFalse(image.shuffle());
        double sum = 0;
        double sq = 0;
        float[] img = f.readFloats("image");
        for (float v : img) {
          sum += v;
          sq += (double) v * v;
        }
        double mean = sum / img.length;
        assertEquals(0, mean, 1e-4, "z-score normalised");
        assertEquals(1, Math.sqrt(sq / img.length - mean * mean), 1e-3, "z-score normalised");
        for (byte b : f.readBytes("label")) {
          assertTrue(b == 0 || b == 1);
        }
      }
    }
  }

  @Test
  void theFilesMatchTheRealLaDataAsH5pySeesThem() throws Exception {
    Path real = SharedData.require("la_mini");
    PythonReference.require("h5py", "numpy");
    LaPhantoms.write(dir, new LaPhantoms.Spec(2, 3, 112, 112, 80));
    // The list files: one 20-character upper-case name per line, each line ending in a newline, as the real ones.
    for (String list : List.of("train.list", "test.list")) {
      String text = Files.readString(real.resolve(list), StandardCharsets.UTF_8);
      assertTrue(text.endsWith("\n") && !text.contains("\r"), "the real " + list + " format changed?");
      for (String line : text.lines().toList()) {
        assertTrue(line.matches("[0-9A-Z]{20}"), line);
      }
      readList(dir.resolve(list));
    }
    String realCase = Files.readString(real.resolve("train.list")).lines().findFirst().orElseThrow();
    String ourCase = Files.readString(dir.resolve("train.list")).lines().findFirst().orElseThrow();
    String script = """
        import sys, h5py, numpy as np
        from h5py._hl.filters import guess_chunk
        for path in sys.argv[1:]:
            with h5py.File(path, "r") as f:
                items = []
                for k in sorted(f.keys()):
                    d = f[k]
                    items.append("%s:%s:%d:%s:%s:shuffle=%s:fletcher=%s:chunks_guessed=%s:attrs=%d" % (
                        k, d.dtype, d.ndim, d.compression, d.compression_opts, d.shuffle, d.fletcher32,
                        d.chunks == guess_chunk(d.shape, None, d.dtype.itemsize), len(d.attrs)))
                print(" ".join(items), "file_attrs=%d" % len(f.attrs))
        """;
    String out = PythonReference.run(script, Duration.ofSeconds(60),
        real.resolve("2018LA_Seg_Training Set").resolve(realCase).resolve("mri_norm2.h5").toString(),
        dir.resolve("2018LA_Seg_Training Set").resolve(ourCase).resolve("mri_norm2.h5").toString());
    List<String> lines = out.strip().lines().toList();
    assertEquals(2, lines.size(), out);
    assertEquals("image:float32:3:gzip:4:shuffle=False:fletcher=False:chunks_guessed=True:attrs=0"
        + " label:uint8:3:gzip:4:shuffle=False:fletcher=False:chunks_guessed=True:attrs=0 file_attrs=0", lines.get(0),
        "the real file");
    assertEquals(lines.get(0), lines.get(1), "the phantom has the real file's structure");
  }

  @Test
  void theAtriumTakesASaneShareLiesInTheCentralPatchAndNoSingleThresholdSegmentsIt() {
    LaPhantoms.Spec spec = new LaPhantoms.Spec(4, 21);
    StringBuilder shares = new StringBuilder();
    StringBuilder dice = new StringBuilder();
    double worst = 0;
    double sum = 0;
    for (int c = 0; c < spec.cases(); c++) {
      LaPhantoms.Volume v = LaPhantoms.generate(spec, c);
      int nx = v.sizeX();
      int ny = v.sizeY();
      int nz = v.sizeZ();
      int x0 = (nx - LaPhantoms.PATCH[0]) / 2;
      int y0 = (ny - LaPhantoms.PATCH[1]) / 2;
      int z0 = (nz - LaPhantoms.PATCH[2]) / 2;
      long fg = 0;
      long central = 0;
      for (int x = 0; x < nx; x++) {
        for (int y = 0; y < ny; y++) {
          for (int z = 0; z < nz; z++) {
            if (v.label()[(x * ny + y) * nz + z] != 0) {
              fg++;
              if (x >= x0 && x < x0 + LaPhantoms.PATCH[0] && y >= y0 && y < y0 + LaPhantoms.PATCH[1] && z >= z0
                  && z < z0 + LaPhantoms.PATCH[2]) {
                central++;
              }
            }
          }
        }
      }
      double share = fg / (double) v.label().length;
      double inside = central / (double) fg;
      shares.append(String.format(Locale.ROOT, " %.3f (%.2f central)", share, inside));
      assertTrue(share > 0.03 && share < 0.15, "atrium share " + share);
      assertTrue(inside > 0.85, "share of the atrium inside the central patch " + inside);
      double d = SynthTestSupport.bestThresholdDice(v.image(), v.label(), 1);
      worst = Math.max(worst, d);
      sum += d;
      dice.append(String.format(Locale.ROOT, " %.3f", d));
    }
    System.out.println("LA phantom atrium shares:" + shares);
    System.out.printf(Locale.ROOT, "LA phantom best single-threshold Dice of the atrium: mean %.3f, max %.3f;%s%n",
        sum / spec.cases(), worst, dice);
    assertTrue(worst < 0.8, "a global threshold reaches Dice " + worst + " on the atrium:" + dice);
  }

  @Test
  void sameSeedSameDataOtherSeedOtherData(@TempDir Path other) throws Exception {
    LaPhantoms.Spec spec = new LaPhantoms.Spec(2, 42, 112, 112, 80);
    LaPhantoms.write(dir.resolve("a"), spec);
    LaPhantoms.write(dir.resolve("b"), spec);
    LaPhantoms.write(other, new LaPhantoms.Spec(2, 43, 112, 112, 80));
    String a = SynthTestSupport.hashTree(dir.resolve("a"));
    assertEquals(a, SynthTestSupport.hashTree(dir.resolve("b")));
    assertNotEquals(a, SynthTestSupport.hashTree(other));
    assertNotEquals(LaPhantoms.caseNames(spec), LaPhantoms.caseNames(new LaPhantoms.Spec(2, 43)));
    assertThrows(IllegalArgumentException.class, () -> new LaPhantoms.Spec(1, 1));
    assertThrows(IllegalArgumentException.class, () -> new LaPhantoms.Spec(2, 1, 16, 128, 88));
  }

  @Test
  void savesAPreviewMontage() throws Exception {
    Path file = SynthTestSupport.save(SynthTestSupport.laMontage(new LaPhantoms.Spec(3, 1337), 3, 4, 192), "la.png");
    System.out.println("LA phantom preview: " + file);
    assertTrue(Files.size(file) > 10_000);
  }

  private static List<String> readList(Path file) throws Exception {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    assertTrue(text.endsWith("\n"), file + " ends with a newline");
    assertFalse(text.contains("\r") || text.contains("\n\n"), file + " has one name a line");
    List<String> names = text.lines().toList();
    for (String n : names) {
      assertTrue(n.matches("[0-9A-Z]{20}"), n);
    }
    return names;
  }
}
