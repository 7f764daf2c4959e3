package org.ssl4mis.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.Networks;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link SlidingWindow} against a NumPy re-implementation of {@code test_single_case} (written for this test
 * from the reference's description: pad, window grid with the clamped last window, float32 score and count
 * maps, division, argmax, crop), run by Debian's Python with torch 1.13.
 *
 * <p>Two networks, both rebuilt in Python: a fake one whose logits are {@code a_c * x + b_c * pos(i, j, k)}
 * (pos a fixed function of the voxel's place in the window, so overlapping windows disagree and the averaging
 * matters; every product and sum is exactly rounded on both sides, so the logits are bit-identical), and a
 * tiny conv net ({@code Conv3d(1, 4, 3, padding=1), ReLU, Conv3d(4, 3, 1)}) whose weights go to Python through
 * {@link Checkpoints#saveStateDict}. Cases: a volume smaller than the patch on two axes (odd pad amounts), a grid
 * that divides exactly, a ragged grid (clamped last windows), and a stride larger than the patch (uncovered
 * voxels: 0/0 = NaN scores, label 0 as {@code np.argmax} gives).
 */
class SlidingWindowTest {
  private static final double[] A = {1.0, -0.5, 0.25};
  private static final double[] B = {0.0, 0.375, -0.75};
  private static final int CLASSES = 3;

  @TempDir
  Path dir;

  /** One comparison case. */
  private record Case(String name, int[] shape, int[] patch, int strideXy, int strideZ, String net) {}

  private static final List<Case> CASES = List.of(
      new Case("padded", new int[] {20, 13, 9}, new int[] {16, 16, 12}, 5, 3, "fake"),
      new Case("exact", new int[] {26, 26, 20}, new int[] {10, 10, 8}, 8, 4, "fake"),
      new Case("ragged", new int[] {29, 23, 19}, new int[] {10, 10, 8}, 7, 5, "fake"),
      new Case("holes", new int[] {30, 12, 10}, new int[] {8, 8, 8}, 11, 3, "fake"),
      new Case("conv_ragged", new int[] {21, 18, 15}, new int[] {12, 12, 8}, 5, 3, "conv"),
      new Case("conv_padded", new int[] {9, 30, 7}, new int[] {12, 12, 8}, 6, 2, "conv"));

  private static final String REFERENCE = """
      import math, os, sys
      import numpy as np
      import torch

      A = [1.0, -0.5, 0.25]
      B = [0.0, 0.375, -0.75]

      def fake_net(patch, classes):
          i, j, k = np.indices(patch)
          pos = torch.from_numpy((0.37 * i + 0.11 * j - 0.23 * k - 1.0).astype(np.float32))
          def net(x):
              return torch.cat([x * A[c] + pos * B[c] for c in range(classes)], dim=1)
          return net

      def conv_net(path, classes):
          net = torch.nn.Sequential(torch.nn.Conv3d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv3d(4, classes, 1))
          net.load_state_dict(torch.load(path))
          net.eval()
          return net

      def single_case(net, image, stride_xy, stride_z, patch, classes):
          # test_single_case, re-implemented: pad short axes (half before, rest after), visit the clamped
          # window grid x-major, accumulate softmax and counts in float32, divide, argmax, crop.
          shape = image.shape
          pads = [(max(p - n, 0) // 2, max(p - n, 0) - max(p - n, 0) // 2) for n, p in zip(shape, patch)]
          if any(a + b for a, b in pads):
              image = np.pad(image, pads, mode='constant', constant_values=0)
          big = image.shape
          strides = (stride_xy, stride_xy, stride_z)
          steps = [math.ceil((big[a] - patch[a]) / strides[a]) + 1 for a in range(3)]
          score = np.zeros((classes,) + big, dtype=np.float32)
          count = np.zeros(big, dtype=np.float32)
          windows = 0
          for ix in range(steps[0]):
              x0 = min(strides[0] * ix, big[0] - patch[0])
              for iy in range(steps[1]):
                  y0 = min(strides[1] * iy, big[1] - patch[1])
                  for iz in range(steps[2]):
                      z0 = min(strides[2] * iz, big[2] - patch[2])
                      box = (slice(x0, x0 + patch[0]), slice(y0, y0 + patch[1]), slice(z0, z0 + patch[2]))
                      window = torch.from_numpy(np.ascontiguousarray(image[box][None, None]).astype(np.float32))
                      with torch.no_grad():
                          prob = torch.softmax(net(window), dim=1)[0].numpy()
                      score[(slice(None),) + box] = score[(slice(None),) + box] + prob
                      count[box] = count[box] + 1
                      windows += 1
          with np.errstate(invalid='ignore', divide='ignore'):
              score = score / count[None]
          labels = np.argmax(score, axis=0)
          keep = tuple(slice(a, a + n) for (a, _), n in zip(pads, shape))
          return labels[keep], score[(slice(None),) + keep], windows

      folder = sys.argv[1]
      for line in open(os.path.join(folder, 'cases.txt')):
          name, kind, w, h, d, px, py, pz, sxy, sz, classes = line.split()
          shape = (int(w), int(h), int(d))
          patch = (int(px), int(py), int(pz))
          classes = int(classes)
          image = np.fromfile(os.path.join(folder, name + '.image'), dtype='<f4').reshape(shape)
          net = fake_net(patch, classes) if kind == 'fake' else conv_net(os.path.join(folder, name + '.pth'), classes)
          labels, score, windows = single_case(net, image, int(sxy), int(sz), patch, classes)
          labels.astype('<i8').tofile(os.path.join(folder, name + '.labels'))
          score.astype('<f4').tofile(os.path.join(folder, name + '.scores'))
          print(name, windows)
      """;

  /** The fake network of the class comment, for windows of {@code patch}. */
  static UnaryOperator<Tensor> fakeNet(int[] patch, int classes) {
    float[] pos = new float[patch[0] * patch[1] * patch[2]];
    int n = 0;
    for (int i = 0; i < patch[0]; i++) {
      for (int j = 0; j < patch[1]; j++) {
        for (int k = 0; k < patch[2]; k++) {
          pos[n++] = (float) (0.37 * i + 0.11 * j - 0.23 * k - 1.0);
        }
      }
    }
    return x -> {
      Tensor p = Tensors.fromFloats(pos, patch[0], patch[1], patch[2]).to(x.device(), torch.ScalarType.Float);
      TensorVector channels = new TensorVector();
      for (int c = 0; c < classes; c++) {
        channels.push_back(x.mul(new Scalar(A[c])).add(p.mul(new Scalar(B[c]))));
      }
      return torch.cat(channels, 1);
    };
  }

  /** A network whose logits depend on the voxel's own intensity only: {@code a_c * x}. */
  static UnaryOperator<Tensor> pointwiseNet(int classes) {
    return x -> {
      TensorVector channels = new TensorVector();
      for (int c = 0; c < classes; c++) {
        channels.push_back(x.mul(new Scalar(A[c])));
      }
      return torch.cat(channels, 1);
    };
  }

  static Networks.Network tinyConvNet(int classes) {
    Sequential seq = new Sequential(Nn.conv3d(1, 4, 3).padding(1).build(), Nn.relu(), Nn.conv3d(4, classes, 1).build());
    seq.eval();
    return new Networks.Network("tiny_conv", seq, x -> List.of(seq.forward(x)));
  }

  static float[] image(int[] shape, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[shape[0] * shape[1] * shape[2]];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextGaussian() * 1.5);
    }
    return v;
  }

  @Test
  void matchesNumpyTestSingleCase() throws IOException {
    PythonReference.require("torch", "numpy");
    NativeRuntime.seed(7);
    StringBuilder cases = new StringBuilder();
    List<SlidingWindow.Prediction> java = new ArrayList<>();
    for (int ci = 0; ci < CASES.size(); ci++) {
      Case c = CASES.get(ci);
      float[] image = image(c.shape(), 100 + ci);
      writeFloats(dir.resolve(c.name() + ".image"), image);
      SlidingWindow.Config config = SlidingWindow.Config.of(c.patch(), c.strideXy(), c.strideZ(), CLASSES);
      SlidingWindow.Prediction p;
      try (MemoryScope scope = MemoryScope.open()) {
        if (c.net().equals("fake")) {
          p = SlidingWindow.run(fakeNet(c.patch(), CLASSES), image, c.shape(), config, true, null);
        } else {
          Networks.Network net = tinyConvNet(CLASSES);
          Checkpoints.saveStateDict(net.module(), dir.resolve(c.name() + ".pth"));
          p = SlidingWindow.run(net, image, c.shape(), config, true, null);
        }
      }
      java.add(p);
      cases.append(String.join(" ", c.name(), c.net(), "" + c.shape()[0], "" + c.shape()[1], "" + c.shape()[2],
          "" + c.patch()[0], "" + c.patch()[1], "" + c.patch()[2], "" + c.strideXy(), "" + c.strideZ(), "" + CLASSES))
          .append('\n');
    }
    Files.writeString(dir.resolve("cases.txt"), cases);
    String out = PythonReference.run(REFERENCE, Duration.ofSeconds(300), dir.toString());
    List<String> lines = out.strip().lines().toList();
    assertEquals(CASES.size(), lines.size(), out);

    for (int ci = 0; ci < CASES.size(); ci++) {
      Case c = CASES.get(ci);
      SlidingWindow.Prediction p = java.get(ci);
      assertEquals(c.name() + " " + p.windows(), lines.get(ci), "window count of " + c.name());
      long[] labels = readLongs(dir.resolve(c.name() + ".labels"));
      float[] scores = readFloats(dir.resolve(c.name() + ".scores"));
      int n = labels.length;
      assertEquals(n, p.labels().length);
      assertEquals(scores.length, p.scores().length);
      double tolerance = c.net().equals("fake") ? 1e-6 : 2e-5; // softmax (and conv) of two libtorch versions
      int nan = 0;
      int nearTies = 0;
      for (int i = 0; i < scores.length; i++) {
        float expected = scores[i];
        float actual = p.scores()[i];
        if (Float.isNaN(expected)) {
          assertTrue(Float.isNaN(actual), c.name() + ": score " + i + " is " + actual + ", NumPy has NaN");
          nan++;
        } else {
          assertEquals(expected, actual, tolerance, c.name() + ": score " + i);
        }
      }
      for (int v = 0; v < n; v++) {
        if (labels[v] != p.labels()[v]) {
          // only where the two best classes are within the tolerance may the argmax differ
          float[] s = new float[CLASSES];
          for (int k = 0; k < CLASSES; k++) {
            s[k] = scores[k * n + v];
          }
          float gap = Math.abs(s[(int) labels[v]] - s[(int) p.labels()[v]]);
          assertTrue(gap <= 2 * tolerance, c.name() + ": label of voxel " + v + " is " + p.labels()[v] + ", NumPy has "
              + labels[v] + " with a score gap of " + gap);
          nearTies++;
        }
      }
      assertTrue(nearTies <= n / 10_000 + 1, c.name() + ": " + nearTies + " near-tie label differences");
      if (c.name().equals("holes")) {
        assertTrue(nan > 0, "the stride 11 > patch 8 leaves voxels no window covers");
        for (int v = 0; v < n; v++) {
          if (Float.isNaN(scores[v])) {
            assertEquals(0, p.labels()[v], "an uncovered voxel gets label 0, as np.argmax of NaNs");
          }
        }
      } else {
        assertEquals(0, nan, c.name() + " covers every voxel");
      }
    }
  }

  @Test
  void paddingAndGridFollowTheReference() {
    assertArrayEquals(new int[][] {{0, 0}, {1, 2}, {1, 2}}, SlidingWindow.padding(new int[] {20, 13, 9}, new int[] {16, 16, 12}));
    assertArrayEquals(new int[][] {{0, 0}, {0, 0}, {0, 0}}, SlidingWindow.padding(new int[] {112, 200, 80}, new int[] {112, 112, 80}));
    // LA at test time (test_LA.py): a 190 x 140 x 88 volume, patch 112x112x80, strides 18 and 4
    List<int[]> la = SlidingWindow.windowStarts(new int[] {190, 140, 88}, new int[] {112, 112, 80}, 18, 4);
    assertEquals(6 * 3 * 3, la.size());
    assertArrayEquals(new int[] {0, 0, 0}, la.getFirst());
    assertArrayEquals(new int[] {0, 0, 4}, la.get(1));
    assertArrayEquals(new int[] {0, 18, 0}, la.get(3));
    assertArrayEquals(new int[] {78, 28, 8}, la.getLast(), "the last windows are clamped to the border");
    // exact multiple: no clamping
    List<int[]> exact = SlidingWindow.windowStarts(new int[] {26, 26, 20}, new int[] {10, 10, 8}, 8, 4);
    assertEquals(3 * 3 * 4, exact.size());
    assertArrayEquals(new int[] {16, 16, 12}, exact.getLast());
    // a volume the size of the patch: one window
    assertEquals(1, SlidingWindow.windowStarts(new int[] {96, 96, 96}, new int[] {96, 96, 96}, 64, 64).size());
    SlidingWindow.Config la1 = SlidingWindow.Config.la();
    assertArrayEquals(new int[] {112, 112, 80}, la1.patchSize());
    assertEquals(18, la1.strideXy());
    assertEquals(4, la1.strideZ());
    assertEquals(64, SlidingWindow.Config.brats().strideZ());
    assertTrue(la1.isReference());
    assertFalse(la1.withGaussian(0.125).isReference());
    assertThrows(IllegalArgumentException.class, () -> SlidingWindow.Config.of(new int[] {8, 8}, 4, 4, 2));
    assertThrows(IllegalArgumentException.class, () -> SlidingWindow.Config.la().withFlips(0, 3));
    assertThrows(IllegalArgumentException.class, () -> SlidingWindow.Config.la().withBatchSize(0));
  }

  @Test
  void batchedWindowsEqualOneAtATime() {
    int[] shape = {29, 23, 19};
    int[] patch = {10, 10, 8};
    float[] image = image(shape, 5);
    SlidingWindow.Config one = SlidingWindow.Config.of(patch, 7, 5, CLASSES);
    try (MemoryScope scope = MemoryScope.open()) {
      UnaryOperator<Tensor> fake = fakeNet(patch, CLASSES);
      SlidingWindow.Prediction reference = SlidingWindow.run(fake, image, shape, one, true, null);
      for (int batch : new int[] {2, 5, 48, 100}) { // 48 windows: divides, does not, all at once, more than all
        SlidingWindow.Prediction p = SlidingWindow.run(fake, image, shape, one.withBatchSize(batch), true, null);
        assertArrayEquals(reference.labels(), p.labels(), "batch " + batch);
        assertArrayEquals(reference.scores(), p.scores(), "batch " + batch);
      }
      NativeRuntime.seed(3);
      Networks.Network conv = tinyConvNet(CLASSES);
      SlidingWindow.Prediction convOne = SlidingWindow.run(conv, image, shape, one, true, null);
      SlidingWindow.Prediction convBatched = SlidingWindow.run(conv, image, shape, one.withBatchSize(8), true, null);
      assertArrayEquals(convOne.scores(), convBatched.scores(), 1e-5f, "a real network, batched in eval mode");
      assertEquals(48, convBatched.windows());
    }
  }

  @Test
  void gaussianWeightsAndFlipsAreOptionsThatKeepAConsistentAnswer() {
    int[] shape = {25, 21, 17};
    int[] patch = {10, 10, 8};
    float[] image = image(shape, 9);
    SlidingWindow.Config plain = SlidingWindow.Config.of(patch, 6, 4, CLASSES);
    try (MemoryScope scope = MemoryScope.open()) {
      // A pointwise network gives every window the same probabilities at a voxel: any weighting, and any flip,
      // averages equal values, so the answer is softmax(a * x) itself.
      UnaryOperator<Tensor> pointwise = pointwiseNet(CLASSES);
      float[] direct = Tensors.toFloats(torch.softmax(pointwise.apply(Tensors.fromFloats(image, 1, 1, shape[0], shape[1],
          shape[2])), 1));
      for (SlidingWindow.Config c : List.of(plain, plain.withGaussian(0.125), plain.withFlips(0, 1, 2),
          plain.withGaussian(0.25).withFlips(2).withBatchSize(4))) {
        SlidingWindow.Prediction p = SlidingWindow.run(pointwise, image, shape, c, true, null);
        assertArrayEquals(direct, p.scores(), 1e-6f, c.toString());
      }
      // With a position-dependent network they change the answer (they are really applied) ...
      UnaryOperator<Tensor> fake = fakeNet(patch, CLASSES);
      float[] base = SlidingWindow.run(fake, image, shape, plain, true, null).scores();
      float[] gauss = SlidingWindow.run(fake, image, shape, plain.withGaussian(0.125), true, null).scores();
      float[] flipped = SlidingWindow.run(fake, image, shape, plain.withFlips(0), true, null).scores();
      assertFalse(java.util.Arrays.equals(base, gauss));
      assertFalse(java.util.Arrays.equals(base, flipped));
      // ... and the probabilities still sum to 1 per voxel
      int n = shape[0] * shape[1] * shape[2];
      for (float[] s : List.of(gauss, flipped)) {
        for (int v = 0; v < n; v += 97) {
          double sum = 0;
          for (int k = 0; k < CLASSES; k++) {
            sum += s[k * n + v];
          }
          assertEquals(1.0, sum, 1e-5);
        }
      }
    }
    float[] g = SlidingWindow.gaussian(new int[] {9, 8, 6}, 0.125);
    float max = 0;
    float min = 1;
    for (float v : g) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    assertEquals(1f, max, 1e-6f);
    assertTrue(min >= 1e-6f);
    assertEquals(g[0], g[g.length - 1], 1e-7f, "symmetric about the centre");
    assertEquals(g[(4 * 8 + 3) * 6 + 2], g[(4 * 8 + 4) * 6 + 3], 1e-7f, "symmetric about an even side's centre");
  }

  @Test
  void rejectsMismatchedNetworksAndShapes() {
    int[] patch = {8, 8, 8};
    float[] image = image(new int[] {12, 12, 12}, 1);
    SlidingWindow.Config config = SlidingWindow.Config.of(patch, 4, 4, 2);
    try (MemoryScope scope = MemoryScope.open()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> SlidingWindow.run(fakeNet(patch, 3), image, new int[] {12, 12, 12}, config, false, null));
      assertTrue(e.getMessage().contains("num_classes 2"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> SlidingWindow.run(fakeNet(patch, 2), image, new int[] {12, 12, 11}, config, false, null));
      assertThrows(IllegalArgumentException.class,
          () -> SlidingWindow.run(fakeNet(patch, 2), image, new int[] {144, 12}, config, false, null));
    }
  }

  private static void writeFloats(Path file, float[] v) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    Files.write(file, b.array());
  }

  private static float[] readFloats(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[b.remaining() / 4];
    b.asFloatBuffer().get(v);
    return v;
  }

  private static long[] readLongs(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long[] v = new long[b.remaining() / 8];
    b.asLongBuffer().get(v);
    return v;
  }
}
