package org.ssl4mis.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.metrics.MetricsTestSupport.csv;
import static org.ssl4mis.metrics.MetricsTestSupport.ellipsoid;
import static org.ssl4mis.metrics.MetricsTestSupport.noisy;
import static org.ssl4mis.metrics.MetricsTestSupport.ring;
import static org.ssl4mis.metrics.MetricsTestSupport.shift;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.ssl4mis.metrics.SegmentationMetrics.LabelMap;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link SegmentationMetrics} against the SSL4MIS evaluation functions re-stated in the test's Python on top of
 * medpy's definitions ({@link MetricsTestSupport#MEDPY_PY}): {@code val_2D.calculate_metric_percase},
 * {@code test_2D_fully.calculate_metric_percase}, {@code val_3D.cal_metric} / {@code test_3D_util.cal_metric},
 * {@code test_3D_util.calculate_metric_percase}, {@code utils.metrics.calculate_metric_percase} and
 * {@code cal_dice}, per class of multi-class label maps (ACDC-like slice stacks with missing classes, a 3-D
 * phantom, a real LA label), values within 1e-9 relative and the same errors where the reference raises.
 */
class SegmentationMetricsTest {

  private static final String SCRIPT = MetricsTestSupport.MEDPY_PY + """
      import warnings
      warnings.simplefilter('ignore')

      # The SSL4MIS wrappers, with the guards of the reference (spacing: None in the reference).
      def val_2d(pred, gt, spacing):
          pred = pred.copy(); gt = gt.copy()
          pred[pred > 0] = 1
          gt[gt > 0] = 1
          if pred.sum() > 0:
              return [dc(pred, gt), hd95(pred, gt, spacing)]
          return [0, 0]

      def test_2d_fully(pred, gt, spacing):
          pred = pred.copy(); gt = gt.copy()
          pred[pred > 0] = 1
          gt[gt > 0] = 1
          d = dc(pred, gt)
          a = asd(pred, gt, spacing)
          h = hd95(pred, gt, spacing)
          return [d, h, a]

      def cal_metric(gt, pred, spacing):
          if pred.sum() > 0 and gt.sum() > 0:
              return [dc(pred, gt), hd95(pred, gt, spacing)]
          return [0, 0]

      def test_3d(pred, gt, spacing):
          d = dc(pred, gt)
          r = abs(ravd(pred, gt))
          h = hd95(pred, gt, spacing)
          a = asd(pred, gt, spacing)
          return [d, r, h, a]

      def utils_case(pred, gt, spacing):
          return [dc(pred, gt), jc(pred, gt), hd95(pred, gt, spacing), asd(pred, gt, spacing)]

      def cal_dice(prediction, label, num):
          out = np.zeros(num - 1)
          for i in range(1, num):
              p = (prediction == i).astype(np.float64)
              l = (label == i).astype(np.float64)
              out[i - 1] += 2 * np.sum(p * l) / (np.sum(p) + np.sum(l))
          return out

      def fmt(f):
          try:
              return ','.join(repr(float(x)) for x in f())
          except Empty as e:
              return 'raise:' + e.which

      d = sys.argv[1]
      for line in open(os.path.join(d, 'cases.txt')):
          cid, shape, spacing, num, pf, lf = line.split()
          shape = ints(shape); spacing = floats(spacing); num = int(num)
          prediction = load_mask(d, pf, shape)
          label = load_mask(d, lf, shape)
          print(cid, 'cal_dice', fmt(lambda: cal_dice(prediction, label, num)))
          for i in range(1, num):
              p = prediction == i
              g = label == i
              print(cid, 'val_2d/%d' % i, fmt(lambda: val_2d(p, g, spacing)))
              print(cid, 'test_2d_fully/%d' % i, fmt(lambda: test_2d_fully(p, g, spacing)))
              print(cid, 'cal_metric/%d' % i, fmt(lambda: cal_metric(g, p, spacing)))
              print(cid, 'test_3d/%d' % i, fmt(lambda: test_3d(p, g, spacing)))
              print(cid, 'utils/%d' % i, fmt(lambda: utils_case(p, g, spacing)))
      """;

  private record Case(String id, int[] shape, double[] spacing, int numClasses, byte[] prediction, byte[] label) {}

  /**
   * An ACDC-like slice stack: per slice an RV blob (1), a myocardium ring (2) around an LV cavity (3), moving
   * and changing size; {@code drop} removes class {@code drop} from every slice ({@code 0}: none).
   */
  private static byte[] heart(int[] shape, long seed, int drop) {
    Random r = new Random(seed);
    int[] slice = {shape[1], shape[2]};
    int area = shape[1] * shape[2];
    byte[] out = new byte[shape[0] * area];
    for (int z = 0; z < shape[0]; z++) {
      double cy = shape[1] * (0.45 + 0.1 * r.nextDouble());
      double cx = shape[2] * (0.45 + 0.1 * r.nextDouble());
      double rad = Math.min(shape[1], shape[2]) * (0.12 + 0.1 * r.nextDouble());
      boolean[] rv = ellipsoid(slice, new double[] {cy - rad, cx - 1.6 * rad}, new double[] {rad * 1.2, rad * 0.8});
      boolean[] myo = ring(slice, new double[] {cy, cx}, new double[] {rad, rad * 1.1}, 0.65);
      boolean[] lv = ellipsoid(slice, new double[] {cy, cx}, new double[] {rad * 0.65, rad * 1.1 * 0.65});
      boolean small = z == shape[0] - 1; // the apex slice has only the myocardium
      for (int i = 0; i < area; i++) {
        byte v = 0;
        if (rv[i] && !small) {
          v = 1;
        }
        if (myo[i]) {
          v = 2;
        }
        if (lv[i] && !small) {
          v = 3;
        }
        if (v == drop) {
          v = 0;
        }
        out[z * area + i] = v;
      }
    }
    return out;
  }

  /** A plausible prediction of {@code label}: shifted, with label noise and some voxels of one class swapped. */
  private static byte[] predictionOf(byte[] label, int[] shape, int numClasses, long seed, int[] move) {
    Random r = new Random(seed);
    byte[] out = new byte[label.length];
    for (int c = 1; c < numClasses; c++) {
      boolean[] m = new boolean[label.length];
      for (int i = 0; i < m.length; i++) {
        m[i] = label[i] == c;
      }
      boolean[] moved = noisy(shift(m, shape, move), 0.002, seed + c);
      for (int i = 0; i < m.length; i++) {
        if (moved[i]) {
          out[i] = (byte) c;
        }
      }
    }
    for (int i = 0; i < out.length; i++) {
      if (out[i] == 2 && r.nextDouble() < 0.05) {
        out[i] = 3;
      }
    }
    return out;
  }

  private static List<Case> syntheticCases() {
    List<Case> cs = new ArrayList<>();
    int[] stack = {6, 64, 56};
    byte[] gt = heart(stack, 1, 0);
    cs.add(new Case("acdc-stack", stack, null, 4, predictionOf(gt, stack, 4, 2, new int[] {0, 1, -2}), gt));
    cs.add(new Case("acdc-stack-aniso", stack, new double[] {10, 1.5, 1.5}, 4,
        predictionOf(gt, stack, 4, 3, new int[] {0, -2, 1}), gt));
    // the prediction misses class 3: val_2D gives (0, 0), test_2D_fully raises
    cs.add(new Case("acdc-pred-misses-3", stack, null, 4, heart(stack, 1, 3), gt));
    // the label has no class 1 but the prediction does: val_2D raises, cal_metric gives (0, 0)
    cs.add(new Case("acdc-gt-misses-1", stack, null, 4, gt, heart(stack, 1, 1)));
    // both miss class 1
    cs.add(new Case("acdc-both-miss-1", stack, null, 4, heart(stack, 4, 1), heart(stack, 1, 1)));
    int[] slice = {1, 80, 72};
    byte[] gs = heart(slice, 5, 0);
    cs.add(new Case("acdc-slice", new int[] {80, 72}, null, 4, predictionOf(gs, slice, 4, 6, new int[] {0, 2, 2}),
        gs));
    int[] vol = {24, 40, 36};
    byte[] phantom = new byte[24 * 40 * 36];
    boolean[] a = ellipsoid(vol, new double[] {12, 20, 18}, new double[] {9, 14, 12});
    boolean[] b = ellipsoid(vol, new double[] {14, 18, 20}, new double[] {4, 5, 5});
    for (int i = 0; i < phantom.length; i++) {
      phantom[i] = (byte) (b[i] ? 2 : a[i] ? 1 : 0);
    }
    cs.add(new Case("phantom-3d", vol, null, 3, predictionOf(phantom, vol, 3, 7, new int[] {1, -1, 2}), phantom));
    cs.add(new Case("phantom-3d-aniso", vol, new double[] {2.5, 0.7, 0.7}, 3,
        predictionOf(phantom, vol, 3, 8, new int[] {0, 2, 0}), phantom));
    return cs;
  }

  @Test
  void syntheticMatchesReference() throws IOException {
    compare(syntheticCases());
  }

  /** la_mini's LA label (class 1 of 2) against a perturbed copy, as {@code test_3D_util} and {@code val_3D} score it. */
  @Test
  void realLeftAtrium() throws IOException {
    PythonReference.require("scipy", "numpy");
    MetricsTestSupport.LaLabel la = MetricsTestSupport.laMiniTestLabel(1);
    byte[] label = la.label();
    int[] shape = la.shape();
    String caseName = la.caseName();
    byte[] prediction = predictionOf(label, shape, 2, 11, new int[] {-1, 2, 1});
    System.out.printf(Locale.ROOT, "la_mini case %s label shape %s%n", caseName, csv(shape));
    compare(List.of(new Case("la", shape, null, 2, prediction, label)));
  }

  private static void compare(List<Case> cs) throws IOException {
    PythonReference.require("scipy", "numpy");
    Path dir = Files.createTempDirectory("ssl4mis-metrics-parity");
    try {
      StringBuilder manifest = new StringBuilder();
      for (int k = 0; k < cs.size(); k++) {
        Case c = cs.get(k);
        MetricsTestSupport.writeBytes(dir, k + "p.u8", c.prediction());
        MetricsTestSupport.writeBytes(dir, k + "l.u8", c.label());
        manifest.append(k).append(' ').append(csv(c.shape())).append(' ').append(csv(c.spacing())).append(' ')
            .append(c.numClasses()).append(' ').append(k).append("p.u8 ").append(k).append("l.u8\n");
      }
      Files.writeString(dir.resolve("cases.txt"), manifest);
      Map<String, String> ref = MetricsTestSupport.run(SCRIPT, dir, Duration.ofMinutes(2));
      List<String> failures = new ArrayList<>();
      double worst = 0;
      int compared = 0;
      int raising = 0;
      for (int k = 0; k < cs.size(); k++) {
        Case c = cs.get(k);
        int[] shape = c.shape();
        double[] sp = c.spacing();
        LabelMap pm = LabelMap.of(c.prediction(), shape);
        LabelMap lm = LabelMap.of(c.label(), shape);
        String label = k + " " + c.id();
        Map<String, Supplier<double[]>> calls = new LinkedHashMap<>();
        calls.put("cal_dice", () -> SegmentationMetrics.calDice(pm, lm, c.numClasses()));
        for (int i = 1; i < c.numClasses(); i++) {
          boolean[] p = pm.mask(i);
          boolean[] g = lm.mask(i);
          calls.put("val_2d/" + i, () -> SegmentationMetrics.val2D(p, g, shape, sp));
          calls.put("test_2d_fully/" + i, () -> SegmentationMetrics.test2DFully(p, g, shape, sp));
          calls.put("cal_metric/" + i, () -> SegmentationMetrics.calMetric(p, g, shape, sp));
          calls.put("test_3d/" + i, () -> SegmentationMetrics.test3D(p, g, shape, sp));
          calls.put("utils/" + i, () -> SegmentationMetrics.diceJaccardHd95Asd(p, g, shape, sp));
        }
        Map<String, double[]> results = new LinkedHashMap<>();
        for (Map.Entry<String, Supplier<double[]>> e : calls.entrySet()) {
          String expected = ref.get(k + " " + e.getKey());
          String actual;
          double[] values = null;
          try {
            values = e.getValue().get();
            results.put(e.getKey(), values);
            actual = "values";
          } catch (EmptyMaskException ex) {
            actual = "raise:" + switch (ex.operand()) {
              case RESULT -> "first";
              case REFERENCE -> "second";
              case BOTH -> "both";
            };
          }
          if (expected.startsWith("raise:") || values == null) {
            raising++;
            if (!expected.equals(actual)) {
              failures.add(label + " " + e.getKey() + ": reference " + expected + ", java " + actual);
            }
            continue;
          }
          double[] want = Arrays.stream(expected.split(","))
              .mapToDouble(s -> s.equals("nan") ? Double.NaN : Double.parseDouble(s)).toArray();
          if (want.length != values.length) {
            failures.add(label + " " + e.getKey() + ": reference " + expected + ", java " + Arrays.toString(values));
            continue;
          }
          for (int j = 0; j < want.length; j++) {
            compared++;
            worst = Math.max(worst, MetricsTestSupport.relErr(want[j], values[j]));
            if (!MetricsTestSupport.close(want[j], values[j])) {
              failures.add(String.format(Locale.ROOT, "%s %s[%d]: reference %.17g, java %.17g", label, e.getKey(), j,
                  want[j], values[j]));
            }
          }
        }
        if (sp == null) {
          checkPerClass(c, pm, lm, results, failures);
        }
      }
      System.out.printf(Locale.ROOT, "SegmentationMetrics vs the SSL4MIS wrappers: %d cases, %d values, %d raising"
          + " calls, largest relative error %.3g%n", cs.size(), compared, raising, worst);
      assertTrue(failures.isEmpty(), String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : (Iterable<Path>) files::iterator) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  /** The per-class methods equal the per-case ones class by class, or throw where one of those throws. */
  private static void checkPerClass(Case c, LabelMap pm, LabelMap lm, Map<String, double[]> results,
      List<String> failures) {
    int n = c.numClasses();
    Map<String, Supplier<double[][]>> perClass = new LinkedHashMap<>();
    perClass.put("val_2d", () -> SegmentationMetrics.val2DPerClass(pm, lm, n));
    perClass.put("test_2d_fully", () -> SegmentationMetrics.test2DFullyPerClass(pm, lm, n));
    perClass.put("cal_metric", () -> SegmentationMetrics.val3DPerClass(pm, lm, n));
    perClass.put("test_3d", () -> SegmentationMetrics.test3DPerClass(pm, lm, n));
    perClass.put("utils", () -> SegmentationMetrics.diceJaccardHd95AsdPerClass(pm, lm, n));
    for (Map.Entry<String, Supplier<double[][]>> e : perClass.entrySet()) {
      boolean allComputed = true;
      for (int i = 1; i < n; i++) {
        allComputed &= results.containsKey(e.getKey() + "/" + i);
      }
      try {
        double[][] rows = e.getValue().get();
        if (!allComputed) {
          failures.add(c.id() + " " + e.getKey() + " per class: returned although a class raises");
          continue;
        }
        for (int i = 1; i < n; i++) {
          if (!Arrays.equals(rows[i - 1], results.get(e.getKey() + "/" + i))) {
            failures.add(c.id() + " " + e.getKey() + " per class: class " + i + " differs");
          }
        }
      } catch (EmptyMaskException ex) {
        if (allComputed) {
          failures.add(c.id() + " " + e.getKey() + " per class: raised " + ex.getMessage());
        }
      }
    }
  }

  @Test
  void labelMapTypesAgree() {
    int[] shape = {4, 32, 28};
    byte[] gt = heart(shape, 21, 0);
    byte[] pred = predictionOf(gt, shape, 4, 22, new int[] {0, 1, 1});
    int[] gi = new int[gt.length];
    long[] pl = new long[pred.length];
    for (int i = 0; i < gt.length; i++) {
      gi[i] = gt[i];
      pl[i] = pred[i];
    }
    double[][] bytes = SegmentationMetrics.val3DPerClass(LabelMap.of(pred, shape), LabelMap.of(gt, shape), 4);
    double[][] mixed = SegmentationMetrics.val3DPerClass(LabelMap.of(pl, shape), LabelMap.of(gi, shape), 4);
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(bytes[i], mixed[i]);
    }
    // uint8 labels above 127
    byte[] high = new byte[] {(byte) 200, 0, (byte) 200, 1};
    assertArrayEquals(new boolean[] {true, false, true, false}, LabelMap.of(high, new int[] {4}).mask(200));
    assertThrows(IllegalArgumentException.class, () -> LabelMap.of(new byte[5], new int[] {2, 2}));
    assertThrows(IllegalArgumentException.class,
        () -> SegmentationMetrics.val3DPerClass(LabelMap.of(new byte[4], new int[] {2, 2}),
            LabelMap.of(new byte[4], new int[] {4, 1}), 2));
  }

  @Test
  void conventions() {
    int[] shape = {6, 7};
    boolean[] empty = new boolean[42];
    boolean[] one = new boolean[42];
    one[10] = true;
    assertArrayEquals(new double[] {0, 0}, SegmentationMetrics.val2D(empty, one, shape));
    assertArrayEquals(new double[] {0, 0}, SegmentationMetrics.val2D(empty, empty, shape));
    assertEquals(EmptyMaskException.Operand.REFERENCE,
        assertThrows(EmptyMaskException.class, () -> SegmentationMetrics.val2D(one, empty, shape)).operand());
    assertArrayEquals(new double[] {1, 0}, SegmentationMetrics.val2D(one, one, shape));
    assertArrayEquals(new double[] {0, 0}, SegmentationMetrics.calMetric(one, empty, shape));
    assertArrayEquals(new double[] {0, 0}, SegmentationMetrics.calMetric(empty, one, shape));
    assertArrayEquals(new double[] {1, 0}, SegmentationMetrics.calMetric(one, one, shape));
    assertEquals(EmptyMaskException.Operand.RESULT,
        assertThrows(EmptyMaskException.class, () -> SegmentationMetrics.test2DFully(empty, one, shape)).operand());
    // test_3D_util computes ravd (which needs the ground truth) before hd95
    assertEquals(EmptyMaskException.Operand.REFERENCE,
        assertThrows(EmptyMaskException.class, () -> SegmentationMetrics.test3D(empty, empty, shape)).operand());
    // utils.metrics computes jc (both empty) before hd95
    assertEquals(EmptyMaskException.Operand.BOTH,
        assertThrows(EmptyMaskException.class, () -> SegmentationMetrics.diceJaccardHd95Asd(empty, empty, shape))
            .operand());
    assertArrayEquals(new double[] {1, 1, 0, 0}, SegmentationMetrics.diceJaccardHd95Asd(one, one, shape));
    // cal_dice: 0/0 is NaN for a class in neither map
    LabelMap a = LabelMap.of(new byte[] {0, 1, 1, 0}, new int[] {2, 2});
    LabelMap b = LabelMap.of(new byte[] {0, 1, 0, 0}, new int[] {2, 2});
    double[] dice = SegmentationMetrics.calDice(a, b, 3);
    assertEquals(2.0 / 3.0, dice[0]);
    assertTrue(Double.isNaN(dice[1]));
  }
}
