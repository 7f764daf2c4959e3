package org.ssl4mis.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.ssl4mis.data.Ndimage.Mode;

/**
 * {@link Ndimage} without Python: argument checks, small results worked out by hand from SciPy's rules, and
 * speed. Bit-for-bit parity with SciPy is {@link NdimageTest}'s job.
 */
class NdimageBasicsTest {

  @Test
  void zoomShapeRoundsHalfToEvenLikePython() {
    assertArrayEquals(new int[] {2, 4, 0}, Ndimage.zoomShape(new int[] {5, 7, 1}, new double[] {0.5, 0.5, 0.5}));
    assertArrayEquals(new int[] {256, 256}, Ndimage.zoomShape(new int[] {213, 232}, new double[] {256.0 / 213, 256.0 / 232}));
    assertArrayEquals(new int[] {213, 232}, Ndimage.zoomShape(new int[] {256, 256}, new double[] {213 / 256.0, 232 / 256.0}));
  }

  @Test
  void order0PicksFloorOfCoordinatePlusHalf() {
    // 3 -> 5 samples: coordinates 0, 0.5, 1, 1.5, 2 pick 0, 1, 1, 2, 2 (ties go up).
    Ndimage.Volume v = Ndimage.zoom(new float[] {10, 20, 30}, new int[] {3}, new double[] {5 / 3.0}, 0);
    assertArrayEquals(new int[] {5}, v.shape());
    assertArrayEquals(new float[] {10, 20, 20, 30, 30}, v.data());
    // Degenerate lengths: 1 -> n repeats the sample, n -> 1 takes the first.
    assertArrayEquals(new float[] {4, 4, 4}, Ndimage.zoom(new float[] {4}, new int[] {1}, new double[] {3}, 0).data());
    assertArrayEquals(new float[] {1}, Ndimage.zoomTo(new float[] {1, 2, 3}, new int[] {3}, new int[] {1}, 0));
  }

  @Test
  void zoomLastSamplePushedPastTheEdgeByRoundingBecomesCval() {
    // SciPy 1.10 quirk: 8 -> 26 samples, 25 * (7 / 25.0) > 7 by one ulp, so mode 'constant' gives cval there.
    float[] ones = new float[8];
    Arrays.fill(ones, 1f);
    float[] out = Ndimage.zoomTo(ones, new int[] {8}, new int[] {26}, 0);
    assertEquals(0f, out[25]);
    for (int i = 0; i < 25; i++) {
      assertEquals(1f, out[i]);
    }
    float[] nearest = Ndimage.zoom(ones, new int[] {8}, new double[] {26 / 8.0}, 0, Mode.NEAREST, 0, true, false).data();
    assertEquals(1f, nearest[25]);
  }

  @Test
  void identityZoomAndRotation() {
    Random r = new Random(1);
    float[] a = new float[31 * 44];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextFloat();
    }
    for (int order = 0; order <= 1; order++) {
      assertArrayEquals(a, Ndimage.zoom(a, new int[] {31, 44}, new double[] {1, 1}, order).data());
      Ndimage.Volume v = Ndimage.rotate(a, 31, 44, 0, order, false);
      assertArrayEquals(new int[] {31, 44}, v.shape());
      assertArrayEquals(a, v.data());
    }
  }

  @Test
  void rotateBy90IsRot90() {
    int n = 6;
    byte[] a = new byte[n * n];
    for (int i = 0; i < a.length; i++) {
      a[i] = (byte) i;
    }
    Ndimage.ByteVolume v = Ndimage.rotate(a, n, n, 90, 0, false);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        assertEquals(a[j * n + (n - 1 - i)], v.data()[i * n + j], "at " + i + "," + j);
      }
    }
    Ndimage.Volume reshaped = Ndimage.rotate(new float[3 * 5], 3, 5, 90, 0, true);
    assertArrayEquals(new int[] {5, 3}, reshaped.shape());
    assertEquals(1.0, Ndimage.sindg(90));
    assertEquals(-0.0, Ndimage.cosdg(90)); // Cephes (and so SciPy) returns negative zero here
    assertEquals(-1.0, Ndimage.cosdg(-180));
  }

  @Test
  void integerOutputsAreRoundedHalfAwayFromZeroAndClamped() {
    // Order 1 halfway between samples: uint8 bytes are unsigned, int16 rounds -1.5 to -2.
    byte[] u8 = Ndimage.zoomTo(new byte[] {(byte) 200, (byte) 251}, new int[] {2}, new int[] {3}, 1);
    assertArrayEquals(new byte[] {(byte) 200, (byte) 226, (byte) 251}, u8);
    short[] i16 = Ndimage.zoomTo(new short[] {-1, -2}, new int[] {2}, new int[] {3}, 1);
    assertArrayEquals(new short[] {-1, -2, -2}, i16);
    // Cubic overshoot beyond 255 clamps.
    byte[] edge = Ndimage.zoomTo(new byte[] {0, 0, (byte) 255, (byte) 255, 0, 0}, new int[] {6}, new int[] {21}, 3);
    for (byte b : edge) {
      assertTrue((b & 0xFF) <= 255);
    }
    // cval is converted like a value: 300 clamps to 255 in the corners a 45-degree turn leaves uncovered.
    byte[] ones = new byte[9];
    Arrays.fill(ones, (byte) 1);
    byte[] turned = Ndimage.rotate(ones, 3, 3, 45, 0, false, Mode.CONSTANT, 300, true).data();
    assertArrayEquals(new byte[] {(byte) 255, 1, (byte) 255, 1, 1, 1, (byte) 255, 1, (byte) 255}, turned);
  }

  @Test
  void zoomToMatchesZoomWithFactors() {
    Random r = new Random(2);
    byte[] labels = new byte[40 * 30];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = (byte) r.nextInt(4);
    }
    Ndimage.ByteVolume v = Ndimage.zoom(labels, new int[] {40, 30}, new double[] {256 / 40.0, 256 / 30.0}, 0);
    assertArrayEquals(new int[] {256, 256}, v.shape());
    assertArrayEquals(v.data(), Ndimage.zoomTo(labels, new int[] {40, 30}, new int[] {256, 256}, 0));
    long[] pred = new long[256 * 256];
    long[] back = Ndimage.zoomTo(pred, new int[] {256, 256}, new int[] {40, 30}, 0);
    assertEquals(40 * 30, back.length);
  }

  @Test
  void modeNamesParseLikeScipy() {
    assertEquals(Mode.REFLECT, Mode.of("grid-mirror"));
    for (Mode m : Mode.values()) {
      assertEquals(m, Mode.of(m.scipyName()));
    }
    assertThrows(IllegalArgumentException.class, () -> Mode.of("edge"));
  }

  @Test
  void badArgumentsAreRejectedWithClearMessages() {
    float[] a = new float[12];
    int[] s = {3, 4};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Ndimage.zoom(new float[11], s, new double[] {2, 2}, 0));
    assertTrue(e.getMessage().contains("11"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2, 0}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2, -1}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2, Double.NaN}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2, Double.POSITIVE_INFINITY}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2, 2}, 6));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, s, new double[] {2, 2}, -1));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, new int[] {0, 12}, new double[] {2, 2}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom(a, new int[] {}, new double[] {}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoom((float[]) null, s, new double[] {2, 2}, 0));
    assertThrows(IllegalArgumentException.class,
        () -> Ndimage.zoom(a, s, new double[] {2, 2}, 1, null, 0, true, false));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.zoomTo(a, s, new int[] {5}, 0));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.rotate(a, 4, 4, 10, 0, false));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.rotate(a, 3, 4, Double.NaN, 0, false));
    assertThrows(IllegalArgumentException.class, () -> Ndimage.rotate(a, 3, 4, 10, 7, false));
    assertThrows(IllegalArgumentException.class, () -> new Ndimage.Volume(new float[3], new int[] {2, 2}));
  }

  @Test
  void reference256ZoomAndRotationAreFast() {
    Random r = new Random(3);
    float[] img = new float[232 * 256];
    byte[] lab = new byte[232 * 256];
    for (int i = 0; i < img.length; i++) {
      img[i] = r.nextFloat();
      lab[i] = (byte) r.nextInt(4);
    }
    int[] s = {232, 256};
    double[] f = {256.0 / 232, 1.0};
    double sink = 0;
    for (int i = 0; i < 300; i++) { // warm up
      sink += Ndimage.zoom(img, s, f, 0).data()[i];
      sink += Ndimage.zoom(lab, s, f, 0).data()[i];
      sink += Ndimage.rotate(img, 232, 256, i % 40 - 20, 0, false).data()[i];
    }
    int runs = 200;
    long t0 = System.nanoTime();
    for (int i = 0; i < runs; i++) {
      sink += Ndimage.zoom(img, s, f, 0).data()[i];
    }
    double zoomMs = (System.nanoTime() - t0) / 1e6 / runs;
    t0 = System.nanoTime();
    for (int i = 0; i < runs; i++) {
      sink += Ndimage.zoom(lab, s, f, 0).data()[i];
    }
    double zoomLabelMs = (System.nanoTime() - t0) / 1e6 / runs;
    t0 = System.nanoTime();
    for (int i = 0; i < runs; i++) {
      sink += Ndimage.rotate(img, 232, 256, i % 40 - 20, 0, false).data()[i];
    }
    double rotateMs = (System.nanoTime() - t0) / 1e6 / runs;
    System.out.printf("Ndimage 232x256 -> 256x256 order 0: float32 %.3f ms, uint8 %.3f ms; rotate 232x256 order 0:"
        + " %.3f ms (%s)%n", zoomMs, zoomLabelMs, rotateMs, sink > 0 ? "ok" : "");
    // Generous bounds: well under a millisecond on a normal machine, but CI machines can be slow and busy.
    assertTrue(zoomMs < 10, "zoom took " + zoomMs + " ms");
    assertTrue(rotateMs < 50, "rotate took " + rotateMs + " ms");
  }
}
