package org.ssl4mis.evaluation;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.ssl4mis.metrics.SegmentationMetrics;

class CaseMetricsTest {
  private static final int[] SHAPE = {2, 6, 6};

  @Test
  void nonEmptyClassesAreSegmentationMetricsAndEmptyOnesFollowTheDocumentedRules() {
    long[] prediction = new long[72];
    byte[] label = new byte[72];
    // class 1 in both (shifted by one voxel), class 2 only in the label, class 3 in neither
    for (int y = 1; y < 4; y++) {
      for (int x = 1; x < 4; x++) {
        label[6 + y * 6 + x] = 1;
        prediction[6 + y * 6 + x + 1] = 1;
      }
    }
    label[40] = 2;
    CaseMetrics m = CaseMetrics.of("case", prediction, label, SHAPE, 4, null);
    boolean[] p = new boolean[72];
    boolean[] g = new boolean[72];
    for (int i = 0; i < 72; i++) {
      p[i] = prediction[i] == 1;
      g[i] = label[i] == 1;
    }
    assertArrayEquals(SegmentationMetrics.diceJaccardHd95Asd(p, g, SHAPE), m.values()[0], 0.0);
    assertArrayEquals(new double[] {0, 0, Double.NaN, Double.NaN}, m.values()[1], 0.0);
    assertArrayEquals(new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN}, m.values()[2], 0.0);

    double[] spaced = CaseMetrics.of("case", prediction, label, SHAPE, 4, new double[] {10, 2, 2}).values()[0];
    assertArrayEquals(SegmentationMetrics.diceJaccardHd95Asd(p, g, SHAPE, new double[] {10, 2, 2}), spaced, 0.0);
    assertEquals(2 * m.value(1, 2), spaced[2], 1e-12, "in-plane shift of one voxel of 2 mm");

    TestReport report = new TestReport(TestReport.defaultClassNames(4));
    report.add(m);
    report.add(new CaseMetrics("other", new double[][] {{0.5, 0.3, 1, 1}, {0.9, 0.8, 2, 1}, {Double.NaN, Double.NaN, 3, 3}}));
    TestReport.Stat dice = report.stat(1, 0);
    assertEquals((m.value(1, 0) + 0.5) / 2, dice.mean(), 1e-12);
    assertEquals(Math.abs(m.value(1, 0) - 0.5) / 2, dice.std(), 1e-12, "population std");
    assertEquals(1, report.stat(2, 2).n(), "NaN left out");
    assertEquals(0, report.stat(3, 0).n());
    assertTrue(report.summary().contains("RV") && report.summary().contains("n/a"), report.summary());
    assertEquals(List.of("class_1"), TestReport.defaultClassNames(2));
  }
}
