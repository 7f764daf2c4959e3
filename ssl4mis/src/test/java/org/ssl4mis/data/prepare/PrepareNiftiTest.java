package org.ssl4mis.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.testing.PythonReference;

/**
 * {@code prepare nifti} on image/label pairs written by nibabel (nnU-Net style names, mixed dtypes, anisotropic
 * spacing), in both layouts, checked with h5py against numpy re-implementations (SSL4MIS's min-max for the ACDC
 * layout, UA-MT's z-score for the LA layout); split sizes and seed repeatability.
 */
class PrepareNiftiTest {
  @TempDir
  Path dir;

  private static final int CASES = 10;

  private static final String WRITER = """
      import sys, os, numpy as np, nibabel as nib
      root = sys.argv[1]
      n = int(sys.argv[2])
      os.makedirs(os.path.join(root, 'imagesTr'))
      os.makedirs(os.path.join(root, 'labelsTr'))
      rng = np.random.default_rng(5)
      dtypes = ['int16', 'float32', 'uint8', 'float64', 'int32']
      for i in range(n):
          shape = tuple(int(s) for s in rng.integers(3, 9, 3))
          zooms = (0.8 + 0.1 * i, 0.8 + 0.1 * i, 2.5)
          dt = dtypes[i % len(dtypes)]
          if dt == 'uint8':
              image = rng.integers(0, 256, shape).astype(dt)
          elif dt.startswith('int'):
              image = rng.integers(-1000, 3000, shape).astype(dt)
          else:
              image = (rng.standard_normal(shape) * 50 + 100).astype(dt)
          aff = np.diag([*zooms, 1.0])
          img = nib.Nifti1Image(image, aff)
          ext = '.nii.gz' if i % 2 == 0 else '.nii'
          nib.save(img, os.path.join(root, 'imagesTr', f'case{i:02d}_0000{ext}'))
          label = rng.integers(0, 3, shape).astype(np.uint8)
          nib.save(nib.Nifti1Image(label, aff), os.path.join(root, 'labelsTr', f'case{i:02d}{ext}'))
      print('ok')
      """;

  private static final String CHECKER = """
      import sys, os, glob, numpy as np, nibabel as nib, h5py
      root, out, layout = sys.argv[1], sys.argv[2], sys.argv[3]

      def load(case):
          image = glob.glob(os.path.join(root, 'imagesTr', case + '_0000.nii*'))[0]
          label = glob.glob(os.path.join(root, 'labelsTr', case + '.nii*'))[0]
          return nib.load(image).get_fdata(), nib.load(label).get_fdata()

      def read(path):
          with h5py.File(path, 'r') as f:
              assert sorted(f.keys()) == ['image', 'label'], path
              assert f['image'].dtype == np.float32 and f['label'].dtype == np.uint8, path
              return f['image'][:], f['label'][:]

      lists = {name: open(os.path.join(out, name)).read().split() for name in os.listdir(out) if name.endswith('.list')}
      cases = set(lists['train.list']) | set(lists.get('val.list', [])) | set(lists['test.list'])
      checked = 0
      for case in sorted(cases):
          image, label = load(case)
          if layout == 'acdc':
              ref = np.transpose(image, (2, 1, 0))
              ref = ((ref - ref.min()) / (ref.max() - ref.min())).astype(np.float32)
              lab = np.transpose(label, (2, 1, 0)).astype(np.uint8)
              got, got_label = read(os.path.join(out, 'data', case + '.h5'))
              assert got.shape == ref.shape and np.array_equal(got, ref), case
              assert np.array_equal(got_label, lab), case
              for z in range(ref.shape[0]):
                  path = os.path.join(out, 'data', 'slices', f'{case}_slice_{z}.h5')
                  if os.path.exists(path):
                      s, sl = read(path)
                      assert np.array_equal(s, ref[z]) and np.array_equal(sl, lab[z]), path
                      checked += 1
          else:
              # UA-MT: (image - np.mean(image)) / np.std(image), (x, y, z) as pynrrd reads it
              ref = ((image - np.mean(image)) / np.std(image)).astype(np.float32)
              got, got_label = read(os.path.join(out, '2018LA_Seg_Training Set', case, 'mri_norm2.h5'))
              assert got.shape == ref.shape, (case, got.shape, ref.shape)
              np.testing.assert_allclose(got, ref, rtol=2e-7, atol=2e-7, err_msg=case)
              assert np.array_equal(got_label, label.astype(np.uint8)), case
          checked += 1
      print('checked', checked)
      """;

  private PrepareReport prepare(Path root, Path out, String layout, String split, long seed, boolean slices)
      throws IOException {
    NiftiPairPreparer.Options o = new NiftiPairPreparer.Options(root.resolve("imagesTr").toString(),
        root.resolve("labelsTr").toString(), out, NiftiPairPreparer.Layout.parse(layout), SplitPlan.parse(split), seed,
        slices, false);
    return NiftiPairPreparer.run(o, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  @Test
  void bothLayoutsMatchTheReferenceProcessing() throws IOException {
    PythonReference.require("nibabel", "numpy", "h5py");
    Path root = dir.resolve("in");
    PythonReference.run(WRITER, Duration.ofSeconds(60), root.toString(), String.valueOf(CASES));

    Path acdc = dir.resolve("acdc");
    PrepareReport r = prepare(root, acdc, "acdc", "70/10/20", 3, true);
    assertEquals(List.of(7, 1, 2), List.of(r.train().size(), r.val().size(), r.test().size()));
    Set<String> all = new HashSet<>(r.train());
    all.addAll(r.val());
    all.addAll(r.test());
    assertEquals(CASES, all.size(), "the lists are disjoint and cover every case");
    assertTrue(all.contains("case00") && all.contains("case09"), all.toString());
    String out = PythonReference.run(CHECKER, Duration.ofSeconds(60), root.toString(), acdc.toString(), "acdc");
    assertTrue(out.contains("checked"), out);
    DatasetLayout layout = DatasetLayout.detect(acdc);
    assertEquals(DatasetLayout.Kind.ACDC, layout.kind());
    assertEquals(r.sliceFiles() > 0, true);
    // train_slices.list: the training cases' slices, case by case in train.list order
    List<String> slices = Files.readAllLines(acdc.resolve("train_slices.list"));
    List<String> expected = new ArrayList<>();
    for (String c : r.train()) {
      for (int z = 0; Files.exists(acdc.resolve("data/slices/" + c + "_slice_" + z + ".h5")); z++) {
        expected.add(c + "_slice_" + z);
      }
    }
    assertEquals(expected, slices);
    assertEquals(slices.size(), layout.cases(Split.TRAIN).size());

    Path la = dir.resolve("la");
    PrepareReport rl = prepare(root, la, "la", "80/20", 3, false);
    assertEquals(List.of(8, 0, 2), List.of(rl.train().size(), rl.val().size(), rl.test().size()));
    assertFalse(Files.exists(la.resolve("val.list")));
    out = PythonReference.run(CHECKER, Duration.ofSeconds(60), root.toString(), la.toString(), "la");
    assertTrue(out.contains("checked " + CASES), out);
    DatasetLayout laLayout = DatasetLayout.detect(la);
    assertEquals(DatasetLayout.Kind.LA, laLayout.kind());
    assertEquals(8, laLayout.cases(Split.TRAIN).size());
  }

  @Test
  void splitSizesAndSeedRepeatability() throws IOException {
    PythonReference.require("nibabel", "numpy");
    Path root = dir.resolve("in");
    PythonReference.run(WRITER, Duration.ofSeconds(60), root.toString(), String.valueOf(CASES));
    PrepareReport a = prepare(root, dir.resolve("a"), "acdc", "70/10/20", 42, false);
    PrepareReport b = prepare(root, dir.resolve("b"), "acdc", "70/10/20", 42, false);
    PrepareReport c = prepare(root, dir.resolve("c"), "acdc", "70/10/20", 43, false);
    for (String list : List.of("train.list", "val.list", "test.list")) {
      assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(list)), Files.readAllBytes(dir.resolve("b").resolve(list)),
          list + " differs for the same seed");
    }
    assertNotEquals(a.train(), c.train(), "another seed, another order");
    assertEquals(a.train(), b.train());
    // the lists follow SplitPlan's documented rule: sorted names shuffled with java.util.Random(seed)
    List<String> names = new ArrayList<>();
    for (int i = 0; i < CASES; i++) {
      names.add(String.format("case%02d", i));
    }
    SplitPlan.Parts parts = SplitPlan.parse("70/10/20").apply(names, 42);
    assertEquals(parts.train(), a.train());
    assertEquals(parts.val(), a.val());
    assertEquals(parts.test(), a.test());
    // no slices asked: none written, no train_slices.list
    assertFalse(Files.exists(dir.resolve("a").resolve("data").resolve("slices")));
    assertFalse(Files.exists(dir.resolve("a").resolve("train_slices.list")));
    // a three-part split in the la layout also writes val.list
    PrepareReport l = prepare(root, dir.resolve("l"), "la", "6/2/2", 1, false);
    assertEquals(List.of(6, 2, 2), List.of(l.train().size(), l.val().size(), l.test().size()));
    assertTrue(Files.exists(dir.resolve("l").resolve("val.list")));
    // globs select and pair the same way as folders
    NiftiPairPreparer.Options glob = new NiftiPairPreparer.Options(root + "/imagesTr/case0[0-4]_0000.nii*",
        root + "/labelsTr/case0[0-4].nii*", dir.resolve("g"), NiftiPairPreparer.Layout.ACDC, SplitPlan.parse("60/20/20"),
        42, true, true);
    PrepareReport g = NiftiPairPreparer.run(glob, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertEquals(List.of(3, 1, 1), List.of(g.train().size(), g.val().size(), g.test().size()));
  }
}
