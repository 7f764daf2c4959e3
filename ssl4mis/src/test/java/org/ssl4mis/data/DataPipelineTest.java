package org.ssl4mis.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.io.hdf5.WriteOptions;
import org.ssl4mis.runtime.Device;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.testing.SharedData;

@org.junit.jupiter.api.Timeout(600)
class DataPipelineTest {
  @TempDir
  Path dir;

  // ---- layouts and validation ---------------------------------------------------------------------

  @Test
  void readsTheRealLaCases() throws Exception {
    Path la = SharedData.require("la_mini");
    DatasetLayout layout = DatasetLayout.detect(la);
    assertEquals(DatasetLayout.Kind.LA, layout.kind());
    CaseDataset train = CaseDataset.open(layout, Split.TRAIN, Integer.MAX_VALUE, 2, true);
    assertEquals(4, train.size());
    assertEquals(2, CaseDataset.open(layout, Split.TEST, Integer.MAX_VALUE, 2, false).size());
    Volume v = train.get(0);
    assertEquals(3, v.rank());
    assertTrue(v.shape()[0] > 112 && v.shape()[1] > 112 && v.shape()[2] >= 80, java.util.Arrays.toString(v.shape()));
    long foreground = 0;
    for (int i = 0; i < v.voxels(); i++) {
      foreground += v.labelAt(i);
    }
    assertTrue(foreground > 1000, "the atrium is labelled");
    assertEquals(2, CaseDataset.open(layout, Split.TRAIN, 2, 2, false).size(), "num limits the cases");
  }

  @Test
  void badDataIsReportedWithTheFileAndTheProblem() throws Exception {
    Path root = dir.resolve("acdc");
    Files.createDirectories(root.resolve("data/slices"));
    writeSlice(root.resolve("data/slices/good.h5"), new float[] {0, 1, 2, 3}, new byte[] {0, 1, 2, 3}, true);
    DatasetLayout layout = DatasetLayout.of(DatasetLayout.Kind.ACDC, root);
    assertEquals(DatasetLayout.Kind.ACDC, layout.kind());

    Files.writeString(root.resolve("train_slices.list"), "good\nmissing\n");
    var e = assertThrows(DataException.class, () -> layout.cases(Split.TRAIN));
    assertTrue(e.getMessage().contains("line 2 names case 'missing'"), e.getMessage());

    Files.writeString(root.resolve("train_slices.list"), "\n");
    assertTrue(assertThrows(DataException.class, () -> layout.cases(Split.TRAIN)).getMessage().contains("names no cases"));

    Files.writeString(root.resolve("train_slices.list"), "good\n\ngood\n");
    assertTrue(assertThrows(DataException.class, () -> layout.cases(Split.TRAIN)).getMessage().contains("line 2 is blank"));

    assertMessage(root, "nolabel", h5 -> h5.write("image", new float[4], new long[] {2, 2}), "has no 'label' dataset");
    assertMessage(root, "shapes", h5 -> {
      h5.write("image", new float[4], new long[] {2, 2});
      h5.write("label", new byte[6], new long[] {2, 3}, DType.UINT8);
    }, "image shape [2, 2] differs from label shape [2, 3]");
    assertMessage(root, "range", h5 -> {
      h5.write("image", new float[4], new long[] {2, 2});
      h5.write("label", new byte[] {0, 1, 4, 0}, new long[] {2, 2}, DType.UINT8);
    }, "label value 4 at flat index 2 is outside the classes 0..3");
    assertMessage(root, "nan", h5 -> {
      h5.write("image", new float[] {0, Float.NaN, 0, 0}, new long[] {2, 2});
      h5.write("label", new byte[4], new long[] {2, 2}, DType.UINT8);
    }, "image has NaN at flat index 1");
    assertMessage(root, "floatlabel", h5 -> {
      h5.write("image", new float[4], new long[] {2, 2});
      h5.write("label", new float[4], new long[] {2, 2});
    }, "label is float32; expected integer class indices");
  }

  interface H5Writer {
    void write(Hdf5File h5) throws Exception;
  }

  private void assertMessage(Path root, String name, H5Writer content, String expected) throws Exception {
    Path file = root.resolve("data/slices/" + name + ".h5");
    try (Hdf5File h5 = Hdf5File.create(file)) {
      content.write(h5);
    }
    Files.writeString(root.resolve("train_slices.list"), name + "\n");
    CaseDataset ds = CaseDataset.open(DatasetLayout.of(DatasetLayout.Kind.ACDC, root), Split.TRAIN, Integer.MAX_VALUE, 4, false);
    var e = assertThrows(DataException.class, () -> ds.get(0));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  private static void writeSlice(Path file, float[] image, byte[] label, boolean gzip) throws Exception {
    try (Hdf5File h5 = Hdf5File.create(file)) {
      WriteOptions o = gzip ? WriteOptions.gzip() : WriteOptions.DEFAULT;
      h5.write("image", image, new long[] {2, 2}, o);
      h5.write("label", label, new long[] {2, 2}, DType.UINT8, o);
    }
  }

  // ---- sampler -------------------------------------------------------------------------------------

  @Test
  void twoStreamBatchesFollowTheReference() {
    int[] labelled = TwoStreamBatchSampler.range(0, 7);
    int[] unlabelled = TwoStreamBatchSampler.range(7, 12);
    TwoStreamBatchSampler s = new TwoStreamBatchSampler(labelled, unlabelled, 5, 3, new SplittableRandom(1));
    assertEquals(3, s.batchesPerEpoch(), "7 labelled // 2 per batch");
    List<int[]> epoch = new ArrayList<>();
    s.epoch().forEachRemaining(epoch::add);
    assertEquals(3, epoch.size());
    Set<Integer> seenLabelled = new HashSet<>();
    List<Integer> unlabelledOrder = new ArrayList<>();
    for (int[] b : epoch) {
      assertEquals(5, b.length);
      for (int i = 0; i < 2; i++) {
        assertTrue(b[i] < 7, "labelled part first");
        assertTrue(seenLabelled.add(b[i]), "each labelled index once per epoch");
      }
      for (int i = 2; i < 5; i++) {
        assertTrue(b[i] >= 7);
        unlabelledOrder.add(b[i]);
      }
    }
    assertEquals(Set.copyOf(unlabelledOrder.subList(0, 5)), Set.of(7, 8, 9, 10, 11), "a full permutation, then the next");
    List<int[]> again = new ArrayList<>();
    new TwoStreamBatchSampler(labelled, unlabelled, 5, 3, new SplittableRandom(1)).epoch().forEachRemaining(again::add);
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(epoch.get(i), again.get(i), "same seed, same batches");
    }
    Iterator<int[]> forever = s.forever();
    for (int i = 0; i < 10; i++) {
      assertEquals(5, forever.next().length);
    }
    assertThrows(IllegalArgumentException.class, () -> new TwoStreamBatchSampler(labelled, unlabelled, 4, 4, new SplittableRandom()));
    assertThrows(IllegalArgumentException.class, () -> new TwoStreamBatchSampler(TwoStreamBatchSampler.range(0, 1),
        unlabelled, 4, 2, new SplittableRandom()));
  }

  // ---- transforms against numpy/scipy --------------------------------------------------------------

  @Test
  void transformsEqualTheReferenceNumpyOperations() throws Exception {
    PythonReference.require("numpy", "scipy");
    SplittableRandom r = new SplittableRandom(5);
    int[] shape2 = {7, 10};
    int[] shape3 = {9, 6, 5};
    Volume v2 = random("two", shape2, r);
    Volume v3 = random("three", shape3, r);
    Path in = dir.resolve("in.bin");
    write(in, v2, v3);
    List<Volume> ours = new ArrayList<>();
    for (int k = 0; k < 4; k++) {
      for (int axis = 0; axis < 2; axis++) {
        ours.add(Augment.rotFlip(v2, k, axis));
        ours.add(Augment.rotFlip(v3, k, axis));
      }
    }
    ours.add(Augment.rotate(v2, -13));
    ours.add(Augment.resize(v2, new int[] {16, 12}));
    ours.add(Augment.cropAt(v3, new int[] {4, 4, 4}, new int[] {2, 1, 0}));
    ours.add(Augment.cropAt(v3, new int[] {8, 8, 8}, new int[] {1, 2, 0})); // pads every axis first
    ours.add(Augment.centerCrop(v3, new int[] {4, 3, 3}));
    String script = """
        import sys, numpy as np
        from scipy import ndimage
        from scipy.ndimage import zoom
        raw = open(sys.argv[1], 'rb').read()
        n2, n3 = 70, 270
        f = np.frombuffer(raw, dtype='<f4', count=n2 + n3)
        b = np.frombuffer(raw, dtype=np.uint8, offset=4 * (n2 + n3))
        i2, l2 = f[:n2].reshape(7, 10), b[:n2].reshape(7, 10)
        i3, l3 = f[n2:].reshape(9, 6, 5), b[n2:].reshape(9, 6, 5)
        out = []
        for k in range(4):
            for axis in range(2):
                for im, lb in ((i2, l2), (i3, l3)):
                    out.append((np.flip(np.rot90(im, k), axis=axis), np.flip(np.rot90(lb, k), axis=axis)))
        out.append((ndimage.rotate(i2, -13, order=0, reshape=False), ndimage.rotate(l2, -13, order=0, reshape=False)))
        out.append((zoom(i2, (16 / 7, 12 / 10), order=0), zoom(l2, (16 / 7, 12 / 10), order=0)))
        def pad(im, lb, o):
            if lb.shape[0] <= o[0] or lb.shape[1] <= o[1] or lb.shape[2] <= o[2]:
                p = [(max((o[i] - lb.shape[i]) // 2 + 3, 0),) * 2 for i in range(3)]
                im = np.pad(im, p, mode='constant', constant_values=0)
                lb = np.pad(lb, p, mode='constant', constant_values=0)
            return im, lb
        for o, s in (((4, 4, 4), (2, 1, 0)), ((8, 8, 8), (1, 2, 0))):
            im, lb = pad(i3, l3, o)
            out.append((im[s[0]:s[0]+o[0], s[1]:s[1]+o[1], s[2]:s[2]+o[2]], lb[s[0]:s[0]+o[0], s[1]:s[1]+o[1], s[2]:s[2]+o[2]]))
        o = (4, 3, 3)
        im, lb = pad(i3, l3, o)
        w1, h1, d1 = [int(round((im.shape[i] - o[i]) / 2.)) for i in range(3)]
        out.append((im[w1:w1+o[0], h1:h1+o[1], d1:d1+o[2]], lb[w1:w1+o[0], h1:h1+o[1], d1:d1+o[2]]))
        for im, lb in out:
            print(','.join(map(str, im.shape)), np.ascontiguousarray(im, dtype='<f4').tobytes().hex(),
                  np.ascontiguousarray(lb, dtype=np.uint8).tobytes().hex())
        """;
    String[] lines = PythonReference.run(script, Duration.ofMinutes(2), in.toString()).strip().split("\n");
    assertEquals(ours.size(), lines.length);
    for (int i = 0; i < lines.length; i++) {
      String[] f = lines[i].split(" ");
      Volume v = ours.get(i);
      assertEquals(f[0], String.join(",", java.util.Arrays.stream(v.shape()).mapToObj(String::valueOf).toList()), "case " + i);
      ByteBuffer bb = ByteBuffer.allocate(v.voxels() * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : v.image()) {
        bb.putFloat(x);
      }
      assertEquals(f[1], java.util.HexFormat.of().formatHex(bb.array()), "image of case " + i);
      assertEquals(f[2], java.util.HexFormat.of().formatHex(v.label()), "label of case " + i);
    }
  }

  private static Volume random(String name, int[] shape, SplittableRandom r) {
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    float[] image = new float[n];
    byte[] label = new byte[n];
    for (int i = 0; i < n; i++) {
      image[i] = (float) r.nextDouble(-1, 1);
      label[i] = (byte) r.nextInt(4);
    }
    return new Volume(name, image, label, shape);
  }

  private static void write(Path file, Volume... vs) throws Exception {
    int n = 0;
    for (Volume v : vs) {
      n += v.voxels();
    }
    ByteBuffer bb = ByteBuffer.allocate(n * 5).order(ByteOrder.LITTLE_ENDIAN);
    for (Volume v : vs) {
      for (float x : v.image()) {
        bb.putFloat(x);
      }
    }
    for (Volume v : vs) {
      bb.put(v.label());
    }
    Files.write(file, bb.array());
  }

  @Test
  void bratsListsNameTheFirstFieldAndValUsesValTxt() throws Exception {
    Path root = dir.resolve("BraTS2019");
    Files.createDirectories(root.resolve("data"));
    for (String c : new String[] {"BraTS19_A", "BraTS19_B", "BraTS19_C"}) {
      try (Hdf5File h5 = Hdf5File.create(root.resolve("data/" + c + ".h5"))) {
        h5.write("image", new float[8], new long[] {2, 2, 2});
        h5.write("label", new byte[8], new long[] {2, 2, 2}, DType.UINT8);
      }
    }
    Files.writeString(root.resolve("train.txt"), "BraTS19_A,HGG\nBraTS19_B,LGG\n");
    Files.writeString(root.resolve("val.txt"), "BraTS19_C\n");
    DatasetLayout layout = DatasetLayout.detect(root);
    assertEquals(DatasetLayout.Kind.BRATS, layout.kind());
    assertEquals(List.of("BraTS19_A", "BraTS19_B"), layout.cases(Split.TRAIN).stream().map(DatasetLayout.CaseFile::name).toList());
    assertEquals("BraTS19_C", layout.cases(Split.VAL).getFirst().name());
    assertEquals(3, CaseDataset.open(layout, Split.TRAIN, Integer.MAX_VALUE, 2, false).get(0).rank());
    assertThrows(DataException.class, () -> layout.cases(Split.TEST), "test.txt does not exist");
  }

  @Test
  void oneHotLabelsAsCreateOnehotLabel() {
    Volume v = new Volume("v", new float[4], new byte[] {0, 2, 1, 2}, new int[] {1, 2, 2});
    assertArrayEquals(new float[] {1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1}, Augment.oneHot(v, 3));
  }

  // ---- loader --------------------------------------------------------------------------------------

  @Test
  void batchesDependOnlyOnTheSeedNotOnTheWorkers() throws Exception {
    Path la = SharedData.require("la_mini");
    CaseDataset train = CaseDataset.open(DatasetLayout.detect(la), Split.TRAIN, Integer.MAX_VALUE, 2, true);
    int[] patch = {112, 112, 80};
    BatchLoader.Transform t = (v, r) -> Augment.randomRotFlip(Augment.randomCrop(v, patch, r), r);
    List<float[]> reference = null;
    for (int workers : new int[] {0, 1, 3}) {
      TwoStreamBatchSampler s = new TwoStreamBatchSampler(TwoStreamBatchSampler.range(0, 2),
          TwoStreamBatchSampler.range(2, 4), 2, 1, new SplittableRandom(9));
      List<float[]> seen = new ArrayList<>();
      try (BatchLoader loader = new BatchLoader(train, s.forever(), t, 42, workers, 2, Device.CPU)) {
        for (int i = 0; i < 3; i++) {
          try (BatchLoader.Batch b = loader.next()) {
            assertArrayEquals(new long[] {2, 1, 112, 112, 80}, Tensors.shape(b.image()));
            assertArrayEquals(new long[] {2, 112, 112, 80}, Tensors.shape(b.label()));
            assertEquals(DType.INT64, Tensors.dtype(b.label()));
            assertEquals(i, b.number());
            seen.add(Tensors.toFloats(b.image().sum(new long[] {1, 2, 3, 4})));
          }
        }
      }
      if (reference == null) {
        reference = seen;
      } else {
        for (int i = 0; i < seen.size(); i++) {
          assertArrayEquals(reference.get(i), seen.get(i), "batch " + i + " with " + workers + " workers");
        }
      }
    }
  }

}
