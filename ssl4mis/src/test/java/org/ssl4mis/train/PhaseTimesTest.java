package org.ssl4mis.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PhaseTimesTest {
  @Test
  void reportsMillisecondsPerIterationAndSharesOfTheTotal() {
    PhaseTimes t = new PhaseTimes();
    t.add(PhaseTimes.Phase.DATA, 1_000_000);
    t.add(PhaseTimes.Phase.FORWARD_LOSS, 6_000_000);
    t.add(PhaseTimes.Phase.BACKWARD, 3_000_000);
    t.countIteration();
    t.countIteration();
    assertEquals(10_000_000, t.recordedNanos());
    assertEquals(0.006, t.seconds().get(PhaseTimes.Phase.FORWARD_LOSS), 1e-12);
    assertEquals(0.0, t.seconds().get(PhaseTimes.Phase.EMA), 0.0);
    String r = t.report();
    assertTrue(r.startsWith("time per iteration 5.0 ms over 2 iterations: data 0.5 ms (10.0%), forward+loss 3.0 ms"
        + " (60.0%), backward 1.5 ms (30.0%), optimizer 0.0 ms (0.0%)"), r);
  }
}
