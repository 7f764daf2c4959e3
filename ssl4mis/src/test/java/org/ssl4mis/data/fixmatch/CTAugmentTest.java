package org.ssl4mis.data.fixmatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ssl4mis.data.fixmatch.CTAugment.OpChoice;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link CTAugment}: the op table, the sampling of policies (distributions against the reference's formula), and
 * {@code rate_to_p}, {@code update_rates}, the epoch proximity and {@code stats()} against NumPy 1.24 running the
 * reference's formulas on the same inputs.
 */
class CTAugmentTest {

  /**
   * Reads commands from argv[1], one a line:
   * P id decay th r0 r1 ...      -> rate_to_p(rate) and p / p.sum() in float32, printed as "P id" + reprs
   * S id v0 v1 ...               -> float32 and float64 np.sum of the values, printed as "S id f32 f64"
   * E id e0 e1 ...               -> proximity 1 - 0.5 * np.mean(errors), printed as "E id value"
   * U id op a0 [a1]              -> update_rates([(op, args)], proximity[id]) on the running rates
   * and at the end prints the running rates (float32 reprs) and the stats() text.
   */
  private static final String SCRIPT = """
      import sys
      import numpy as np
      DECAY, TH = 0.99, 0.85
      BINS = {'autocontrast': (17,), 'brightness': (17,), 'color': (17,), 'contrast': (17,), 'equalize': (17,),
              'invert': (17,), 'posterize': (8,), 'solarize': (17,), 'smooth': (17,), 'blur': (17,),
              'sharpness': (17,), 'cutout': (17,), 'identity': (), 'rescale': (17, 6), 'rotate': (17,),
              'shear_x': (17,), 'shear_y': (17,), 'translate_x': (17,), 'translate_y': (17,)}
      rates = {k: tuple(np.ones(n, 'f') for n in b) for k, b in BINS.items()}
      def rate_to_p(rate, decay=DECAY, th=TH):
          p = rate + (1 - decay)
          p = p / p.max()
          p[p < th] = 0
          return p
      prox = {}
      for line in open(sys.argv[1]):
          t = line.split()
          if not t:
              continue
          if t[0] == 'P':
              rate = np.array([float(v) for v in t[4:]], dtype='f')
              p = rate_to_p(rate, float(t[2]), float(t[3]))
              q = p / p.sum()
              print('P', t[1], ' '.join(repr(float(v)) for v in p), '|', ' '.join(repr(float(v)) for v in q))
          elif t[0] == 'S':
              v = [float(x) for x in t[2:]]
              print('S', t[1], repr(float(np.array(v, dtype='f').sum())), repr(float(np.array(v).sum())))
          elif t[0] == 'E':
              errors = [float(x) for x in t[2:]]
              prox[t[1]] = 1.0 - 0.5 * np.mean(errors)
              print('E', t[1], repr(float(prox[t[1]])))
          elif t[0] == 'U':
              k, args = t[2], [float(x) for x in t[3:]]
              for a, rate in zip(args, rates[k]):
                  i = int(a * len(rate) * 0.999)
                  rate[i] = rate[i] * DECAY + prox[t[1]] * (1 - DECAY)
      for k in BINS:
          print('R', k, ' / '.join(' '.join(repr(float(v)) for v in r) for r in rates[k]))
      print('STATS')
      print('\\n'.join('%-16s    %s' % (k, ' / '.join(' '.join('%.2f' % x for x in rate_to_p(r)) for r in rates[k]))
                      for k in sorted(BINS)))
      """;

  @Test
  void opTableIsTheReferences() {
    String[] names = {"autocontrast", "brightness", "color", "contrast", "equalize", "invert", "posterize",
        "solarize", "smooth", "blur", "sharpness", "cutout", "identity", "rescale", "rotate", "shear_x", "shear_y",
        "translate_x", "translate_y"};
    CtaOp[] ops = CtaOp.values();
    assertEquals(names.length, ops.length);
    for (int i = 0; i < names.length; i++) {
      assertEquals(names[i], ops[i].key());
      assertEquals(i >= 11, ops[i].isWeak(), names[i]);
      assertEquals(ops[i], CtaOp.fromKey(names[i]));
      int[] expected = switch (names[i]) {
        case "posterize" -> new int[] {8};
        case "identity" -> new int[] {};
        case "rescale" -> new int[] {17, 6};
        default -> new int[] {17};
      };
      assertArrayEquals(expected, ops[i].bins(), names[i]);
    }
    CTAugment cta = new CTAugment();
    assertEquals(2, cta.depth());
    assertEquals(0.85, cta.th());
    assertEquals(0.99, cta.decay());
    for (CtaOp op : ops) {
      float[][] r = cta.rates(op);
      assertEquals(op.arity(), r.length);
      for (float[] a : r) {
        for (float v : a) {
          assertEquals(1f, v);
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> CtaOp.fromKey("sharpen"));
    assertThrows(IllegalArgumentException.class, () -> new OpChoice(CtaOp.RESCALE, new double[] {0.5}));
  }

  @Test
  void numericsEqualNumpy() throws IOException {
    PythonReference.require("numpy", "torch");
    SplittableRandom r = new SplittableRandom(2024);
    StringBuilder cmd = new StringBuilder();
    CTAugment cta = new CTAugment();

    // rate_to_p and the normalised probabilities for random rates and other decays / thresholds
    List<float[]> rateCases = new ArrayList<>();
    List<double[]> params = new ArrayList<>();
    for (int c = 0; c < 60; c++) {
      int n = switch (c % 4) {
        case 0 -> 17;
        case 1 -> 8;
        case 2 -> 6;
        default -> 1 + r.nextInt(40);
      };
      float[] rate = new float[n];
      for (int i = 0; i < n; i++) {
        rate[i] = c % 5 == 0 ? 1f : (float) (r.nextDouble() * 1.2 - 0.1);
      }
      double decay = c % 3 == 0 ? 0.99 : 0.9 + r.nextDouble() * 0.099;
      double th = c % 3 == 0 ? 0.85 : List.of(0.7, 0.3, 0.5, 0.85, 0.95).get(c % 5);
      rateCases.add(rate);
      params.add(new double[] {decay, th});
      cmd.append("P ").append(c).append(' ').append(decay).append(' ').append(th);
      for (float v : rate) {
        cmd.append(' ').append((double) v);
      }
      cmd.append('\n');
    }
    // pairwise sums of every length class
    List<double[]> sums = new ArrayList<>();
    for (int c = 0; c < 40; c++) {
      int n = c < 20 ? c : r.nextInt(20, 700);
      double[] v = new double[n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) ((r.nextDouble() - 0.3) * Math.pow(10, r.nextInt(-3, 4)));
      }
      sums.add(v);
      cmd.append("S ").append(c);
      for (double x : v) {
        cmd.append(' ').append(x);
      }
      cmd.append('\n');
    }
    // epochs: errors, proximity, then the update with the epoch's weak and strong policies
    List<Double> proximities = new ArrayList<>();
    for (int epoch = 0; epoch < 150; epoch++) {
      int batches = epoch == 3 ? 1 : 1 + r.nextInt(250);
      double[] errors = new double[batches];
      for (int b = 0; b < batches; b++) {
        errors[b] = 0.5 * (epoch % 7 == 6 ? 2.5 + r.nextDouble() * 3 : r.nextDouble() * 1.5);
      }
      double prox = CTAugment.proximity(errors);
      proximities.add(prox);
      cmd.append("E ").append(epoch);
      for (double e : errors) {
        cmd.append(' ').append(e);
      }
      cmd.append('\n');
      List<OpChoice> weak = cta.policy(epoch % 5 == 4, true, r);
      List<OpChoice> strong = cta.policy(false, false, r);
      for (List<OpChoice> policy : List.of(weak, strong)) {
        cta.updateRates(policy, prox);
        for (OpChoice c : policy) {
          cmd.append("U ").append(epoch).append(' ').append(c.op().key());
          for (double a : c.args()) {
            cmd.append(' ').append(a);
          }
          cmd.append('\n');
        }
      }
    }
    java.nio.file.Path file = java.nio.file.Files.createTempFile("cta-commands", ".txt");
    String out;
    try {
      java.nio.file.Files.writeString(file, cmd);
      out = PythonReference.run(SCRIPT, Duration.ofMinutes(1), file.toString());
    } finally {
      java.nio.file.Files.deleteIfExists(file);
    }

    String[] parts = out.split("STATS\n", 2);
    assertEquals(2, parts.length, out);
    int p = 0;
    int s = 0;
    int e = 0;
    int rates = 0;
    for (String line : parts[0].split("\n")) {
      String[] t = line.trim().split(" ");
      switch (t[0]) {
        case "P" -> {
          int c = Integer.parseInt(t[1]);
          double[] pr = params.get(c);
          CTAugment other = new CTAugment(2, pr[1], pr[0]);
          float[] javaP = other.rateToP(rateCases.get(c));
          float[] javaQ = CTAugment.normalized(javaP);
          int bar = Arrays.asList(t).indexOf("|");
          assertArrayEquals(floats(t, 2, bar), javaP, "rate_to_p of case " + c);
          assertArrayEquals(floats(t, bar + 1, t.length), javaQ, "p / p.sum() of case " + c);
          p++;
        }
        case "S" -> {
          double[] v = sums.get(Integer.parseInt(t[1]));
          float[] f = new float[v.length];
          for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
          }
          assertEquals((float) Double.parseDouble(t[2]), CTAugment.pairwiseSum(f, 0, f.length), "float32 sum " + t[1]);
          assertEquals(Double.parseDouble(t[3]), org.ssl4mis.metrics.Binary.pairwiseSum(v, 0, v.length), "float64 sum " + t[1]);
          s++;
        }
        case "E" -> {
          assertEquals(Double.parseDouble(t[2]), proximities.get(Integer.parseInt(t[1])), "proximity of epoch " + t[1]);
          e++;
        }
        case "R" -> {
          CtaOp op = CtaOp.fromKey(t[1]);
          float[][] javaRates = cta.rates(op);
          List<Float> expected = new ArrayList<>();
          for (int i = 2; i < t.length; i++) {
            if (!t[i].equals("/")) {
              expected.add((float) Double.parseDouble(t[i]));
            }
          }
          float[] flat = new float[expected.size()];
          for (int i = 0; i < flat.length; i++) {
            flat[i] = expected.get(i);
          }
          float[] javaFlat = new float[0];
          for (float[] a : javaRates) {
            float[] merged = Arrays.copyOf(javaFlat, javaFlat.length + a.length);
            System.arraycopy(a, 0, merged, javaFlat.length, a.length);
            javaFlat = merged;
          }
          assertArrayEquals(flat, javaFlat, "rates of " + op.key() + " after 150 epochs of updates");
          rates++;
        }
        default -> throw new AssertionError("unexpected line " + line);
      }
    }
    assertEquals(60, p);
    assertEquals(40, s);
    assertEquals(150, e);
    assertEquals(CtaOp.values().length, rates);
    // the rates moved: some bins went down, some up (a few epochs have losses above 2, proximity below 0)
    boolean moved = false;
    for (CtaOp op : CtaOp.values()) {
      for (float[] a : cta.rates(op)) {
        for (float v : a) {
          moved |= v != 1f;
        }
      }
    }
    assertTrue(moved);
    assertEquals(parts[1].strip(), cta.stats());
  }

  private static float[] floats(String[] t, int from, int to) {
    float[] f = new float[to - from];
    for (int i = from; i < to; i++) {
      f[i - from] = (float) Double.parseDouble(t[i]);
    }
    return f;
  }

  @Test
  void policySamplesOpsUniformlyAndBinsByRate() {
    CTAugment cta = new CTAugment(1, 0.85, 0.99);
    // a learned-looking state: rotate's bins from 0.3 to 1.1, rescale's method bins decreasing
    float[] rot = new float[17];
    for (int i = 0; i < 17; i++) {
      rot[i] = 0.3f + 0.05f * i;
    }
    float[] scale = new float[17];
    Arrays.fill(scale, 1f);
    scale[3] = 0.95f;
    scale[9] = 0.5f;
    float[] method = {1f, 0.98f, 0.9f, 0.87f, 0.85f, 0.86f};
    cta.setRates(CtaOp.ROTATE, new float[][] {rot});
    cta.setRates(CtaOp.RESCALE, new float[][] {scale, method});

    SplittableRandom r = new SplittableRandom(7);
    int draws = 160_000;
    Map<CtaOp, Integer> opCount = new HashMap<>();
    int[] rotBins = new int[17];
    int[] scaleBins = new int[17];
    int[] methodBins = new int[6];
    int rotDraws = 0;
    int rescaleDraws = 0;
    for (int i = 0; i < draws; i++) {
      List<OpChoice> policy = cta.policy(false, true, r);
      assertEquals(1, policy.size());
      OpChoice c = policy.get(0);
      assertTrue(c.op().isWeak());
      opCount.merge(c.op(), 1, Integer::sum);
      double[] a = c.args();
      for (double v : a) {
        assertTrue(v >= 0 && v < 1, "argument " + v);
      }
      if (c.op() == CtaOp.ROTATE) {
        rotBins[(int) (a[0] * 17)]++;
        rotDraws++;
      } else if (c.op() == CtaOp.RESCALE) {
        scaleBins[(int) (a[0] * 17)]++;
        methodBins[(int) (a[1] * 6)]++;
        rescaleDraws++;
      }
    }
    // the 8 weak ops, uniformly (random.choice)
    assertEquals(8, opCount.size());
    for (int n : opCount.values()) {
      assertWithinSigmas(n, draws, 1.0 / 8);
    }
    // the bins with the reference's probabilities p / p.sum() of rate_to_p
    assertBins(rotBins, rotDraws, CTAugment.normalized(cta.rateToP(rot)));
    assertBins(scaleBins, rescaleDraws, CTAugment.normalized(cta.rateToP(scale)));
    assertBins(methodBins, rescaleDraws, CTAugment.normalized(cta.rateToP(method)));
    // below the threshold a bin is never drawn: rotate's bins 0..12 are under 0.85 of the maximum
    float[] p = cta.rateToP(rot);
    for (int b = 0; b < 17; b++) {
      assertEquals(p[b] == 0f, rotBins[b] == 0, "bin " + b);
    }
    assertEquals(0, scaleBins[9]);

    // strong policies draw the 11 strong ops; probe policies have uniform arguments
    Map<CtaOp, Integer> strong = new HashMap<>();
    int[] probeBins = new int[17];
    int probeRot = 0;
    for (int i = 0; i < 40_000; i++) {
      strong.merge(cta.policy(false, false, r).get(0).op(), 1, Integer::sum);
      OpChoice probe = cta.policy(true, true, r).get(0);
      if (probe.op() == CtaOp.ROTATE) {
        probeBins[(int) (probe.args()[0] * 17)]++;
        probeRot++;
      }
    }
    assertEquals(11, strong.size());
    assertTrue(strong.keySet().stream().noneMatch(CtaOp::isWeak));
    float[] uniform = new float[17];
    Arrays.fill(uniform, 1f / 17);
    assertBins(probeBins, probeRot, uniform);
  }

  private static void assertWithinSigmas(int observed, int n, double prob) {
    double mean = n * prob;
    double sigma = Math.sqrt(n * prob * (1 - prob));
    assertTrue(Math.abs(observed - mean) <= 5 * sigma + 1,
        "observed " + observed + " of " + n + ", expected " + mean + " +- " + sigma);
  }

  private static void assertBins(int[] counts, int n, float[] prob) {
    assertTrue(n > 1000, "enough draws: " + n);
    for (int b = 0; b < counts.length; b++) {
      assertWithinSigmas(counts[b], n, prob[b]);
    }
  }

  @Test
  void policyIsDeterministicPerSeedAndHasTheReferenceShape() {
    CTAugment cta = new CTAugment();
    List<OpChoice> a = cta.policy(false, true, new SplittableRandom(11));
    List<OpChoice> b = cta.policy(false, true, new SplittableRandom(11));
    assertEquals(a, b);
    assertEquals(2, a.size());
    List<List<OpChoice>> many = new ArrayList<>();
    for (long seed = 0; seed < 20; seed++) {
      many.add(cta.policy(false, false, new SplittableRandom(seed)));
    }
    assertNotEquals(1, many.stream().distinct().count());
    OpChoice rescale = new OpChoice(CtaOp.RESCALE, new double[] {0.25, 1e-5});
    assertEquals("OP(f='rescale', bins=[0.25, 1e-05])", rescale.toString());
    assertEquals("OP(f='identity', bins=[])", new OpChoice(CtaOp.IDENTITY, new double[0]).toString());
    assertEquals("OP(f='rotate', bins=[0.1])", new OpChoice(CtaOp.ROTATE, new double[] {0.1}).toString());
    // depth 0 and identity-only policies apply nothing
    assertEquals(List.of(), new CTAugment(0, 0.85, 0.99).policy(false, true, new SplittableRandom(1)));
    GrayImage img = GrayImage.filled(4, 3, 9);
    assertEquals(img, CTAugment.apply(img, null, null));
    assertEquals(img, CTAugment.apply(img, List.of(new OpChoice(CtaOp.IDENTITY, new double[0])), null));
  }

  @Test
  void updateMovesTheBinOfEachArgument() {
    CTAugment cta = new CTAugment();
    cta.updateRates(List.of(new OpChoice(CtaOp.RESCALE, new double[] {0.999, 0.0}),
        new OpChoice(CtaOp.IDENTITY, new double[0]), new OpChoice(CtaOp.ROTATE, new double[] {0.5})), 0.2);
    float moved = (float) (1.0 * 0.99 + 0.2 * (1 - 0.99));
    float[][] rescale = cta.rates(CtaOp.RESCALE);
    assertEquals(moved, rescale[0][16]);
    assertEquals(moved, rescale[1][0]);
    assertEquals(moved, cta.rates(CtaOp.ROTATE)[0][8]);
    assertEquals(1f, cta.rates(CtaOp.ROTATE)[0][7]);
    assertEquals(1.0 - 0.5 * 0.75, CTAugment.proximity(new double[] {0.5, 1.0}));
    assertTrue(Double.isNaN(CTAugment.proximity(new double[0])));
    assertEquals("-0.00", CTAugment.format2(-0.001));
    assertEquals("0.12", CTAugment.format2(0.125));
    assertEquals("0.14", CTAugment.format2(0.145));
  }
}
