package org.ssl4mis.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.testing.PythonReference;

/**
 * {@code prepare acdc} on a tiny ACDC-like raw folder written by nibabel: two patients with two annotated frames
 * each (one patient of the reference's test list, one unknown to the reference lists), a frame without ground
 * truth, 4D cine files and Info.cfg as in the release; the output is checked with h5py against a numpy
 * re-implementation of {@code acdc_data_processing.py}.
 */
class PrepareAcdcTest {
  @TempDir
  Path dir;

  private static final String RAW_WRITER = """
      import sys, os, numpy as np, nibabel as nib
      root = sys.argv[1]
      rng = np.random.default_rng(11)

      def save(arr, path, zooms, dtype=None):
          img = nib.Nifti1Image(arr, np.diag([*zooms[:3], 1.0]))
          if dtype is not None:
              img.set_data_dtype(dtype)
          img.header.set_zooms(zooms)
          nib.save(img, path)

      patients = {'patient001': ('training', (14, 12, 5), (1.5625, 1.5625, 10.0)),
                  'patient101': ('testing', (10, 9, 3), (1.37, 1.37, 6.5))}
      for name, (part, shape, zooms) in patients.items():
          d = os.path.join(root, part, name)
          os.makedirs(d)
          frames = [1, 12] if name == 'patient001' else [1, 10]
          for fr in frames:
              if name == 'patient001':
                  image = rng.integers(0, 800, shape).astype(np.int16)
                  save(image, os.path.join(d, f'{name}_frame{fr:02d}.nii.gz'), zooms)
              elif fr == 1:
                  image = (rng.standard_normal(shape) * 100 + 300).astype(np.float32)
                  save(image, os.path.join(d, f'{name}_frame{fr:02d}.nii.gz'), zooms)
              else:
                  # float intensities stored as int16 with nibabel's scl_slope/scl_inter
                  image = rng.uniform(-50, 900, shape)
                  save(image, os.path.join(d, f'{name}_frame{fr:02d}.nii.gz'), zooms, np.int16)
              label = rng.integers(0, 4, shape).astype(np.uint8)
              save(label, os.path.join(d, f'{name}_frame{fr:02d}_gt.nii.gz'), zooms)
          save(rng.integers(0, 800, shape + (3,)).astype(np.int16), os.path.join(d, f'{name}_4d.nii.gz'),
               zooms + (1.0,))
          with open(os.path.join(d, 'Info.cfg'), 'w') as f:
              f.write(f'ED: {frames[0]}\\nES: {frames[1]}\\nGroup: NOR\\n')
      # a frame without ground truth is skipped (and does not count for the frame renaming)
      save(rng.integers(0, 800, (10, 9, 3)).astype(np.int16),
           os.path.join(root, 'testing', 'patient101', 'patient101_frame05.nii.gz'), (1.37, 1.37, 6.5))
      print('ok')
      """;

  private static final String CHECKER = """
      import sys, os, numpy as np, nibabel as nib, h5py
      raw, out = sys.argv[1], sys.argv[2]
      sources = {
          'patient001_frame01': os.path.join(raw, 'training/patient001/patient001_frame01'),
          'patient001_frame02': os.path.join(raw, 'training/patient001/patient001_frame12'),
          'patient101_frame01': os.path.join(raw, 'testing/patient101/patient101_frame01'),
          'patient101_frame02': os.path.join(raw, 'testing/patient101/patient101_frame10'),
      }

      def reference(case):
          # acdc_data_processing.py, with nibabel in place of SimpleITK: GetArrayFromImage is (z, y, x)
          image = np.transpose(nib.load(sources[case] + '.nii.gz').get_fdata(), (2, 1, 0))
          mask = np.transpose(nib.load(sources[case] + '_gt.nii.gz').get_fdata(), (2, 1, 0))
          image = (image - image.min()) / (image.max() - image.min())
          image = image.astype(np.float32)
          assert image.shape == mask.shape
          return image, mask.astype(np.uint8)

      def check(path, image, label):
          with h5py.File(path, 'r') as f:
              assert sorted(f.keys()) == ['image', 'label'], (path, list(f.keys()))
              assert f['image'].dtype == np.float32 and f['label'].dtype == np.uint8, path
              assert f['image'].compression == 'gzip' and f['label'].compression == 'gzip', path
              assert f['image'].shape == image.shape, (path, f['image'].shape, image.shape)
              assert np.array_equal(f['image'][:], image), path
              assert np.array_equal(f['label'][:], label), path

      expected = set()
      for case in sources:
          image, label = reference(case)
          check(os.path.join(out, 'data', case + '.h5'), image, label)
          expected.add('data/' + case + '.h5')
          for z in range(image.shape[0]):
              check(os.path.join(out, 'data', 'slices', f'{case}_slice_{z}.h5'), image[z], label[z])
              expected.add(f'data/slices/{case}_slice_{z}.h5')
      lists = {
          'train.list': ['patient101_frame01', 'patient101_frame02'],
          'val.list': [],
          'test.list': ['patient001_frame01', 'patient001_frame02'],
          'train_slices.list': [f'patient101_frame0{k}_slice_{z}' for k in (1, 2) for z in range(3)],
      }
      for name, cases in lists.items():
          text = open(os.path.join(out, name)).read()
          assert text == ''.join(c + '\\n' for c in cases), (name, text)
          expected.add(name)
      found = set()
      for d, _, files in os.walk(out):
          for f in files:
              found.add(os.path.relpath(os.path.join(d, f), out))
      assert found == expected, ('unexpected', sorted(found - expected), 'missing', sorted(expected - found))
      print('checked', len(found), 'files')
      """;

  @Test
  void preparesTheReferenceLayout() throws IOException {
    PythonReference.require("nibabel", "numpy", "h5py");
    Path raw = dir.resolve("raw");
    PythonReference.run(RAW_WRITER, Duration.ofSeconds(60), raw.toString());
    Path out = dir.resolve("ACDC");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrepareReport report = AcdcPreparer.run(new AcdcPreparer.Options(raw, out, true, SplitPlan.parse("70/10/20"), 1337,
        true, true), new PrintStream(log, true, StandardCharsets.UTF_8));
    assertEquals(List.of("patient101_frame01", "patient101_frame02"), report.train());
    assertEquals(List.of(), report.val());
    assertEquals(List.of("patient001_frame01", "patient001_frame02"), report.test());
    assertEquals(4, report.caseFiles());
    assertEquals(2 * 5 + 2 * 3, report.sliceFiles());
    assertTrue(report.notes().stream().anyMatch(n -> n.contains("skipped 1 frame") && n.contains("patient101_frame05")),
        report.notes().toString());
    assertTrue(report.notes().stream().anyMatch(n -> n.contains("0/0/1 patients")), report.notes().toString());
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("[4/4]"), log.toString(StandardCharsets.UTF_8));

    String checked = PythonReference.run(CHECKER, Duration.ofSeconds(60), raw.toString(), out.toString());
    assertTrue(checked.contains("checked 24 files"), checked);

    // The project's own reader takes the result as an ACDC dataset.
    DatasetLayout layout = DatasetLayout.detect(out);
    assertEquals(DatasetLayout.Kind.ACDC, layout.kind());
    assertEquals(6, layout.cases(Split.TRAIN).size());
    assertEquals(2, layout.cases(Split.TEST).size());

    // Running again gives the same lists and the same data.
    Path again = dir.resolve("again");
    AcdcPreparer.run(new AcdcPreparer.Options(raw, again, true, SplitPlan.parse("70/10/20"), 1337, true, true),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    for (String list : List.of("train.list", "val.list", "test.list", "train_slices.list")) {
      assertArrayEquals(Files.readAllBytes(out.resolve(list)), Files.readAllBytes(again.resolve(list)), list);
    }
  }

  @Test
  void seededSplitAndOriginalFrameNames() throws IOException {
    PythonReference.require("nibabel", "numpy");
    Path raw = dir.resolve("raw");
    PythonReference.run(RAW_WRITER, Duration.ofSeconds(60), raw.toString());
    Path out = dir.resolve("seeded");
    PrepareReport report = AcdcPreparer.run(new AcdcPreparer.Options(raw, out, false, SplitPlan.parse("50/0/50"), 7,
        false, false), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    // one patient each way, its frames together, original frame numbers
    assertEquals(2, report.train().size());
    assertEquals(2, report.test().size());
    assertEquals(report.train().get(0).substring(0, 10), report.train().get(1).substring(0, 10));
    assertTrue(report.train().contains("patient001_frame12") || report.test().contains("patient001_frame12"));
    assertTrue(Files.exists(out.resolve("data").resolve("patient101_frame10.h5")));
    assertTrue(!Files.exists(out.resolve("data").resolve("slices")) && !Files.exists(out.resolve("train_slices.list")));
  }
}
