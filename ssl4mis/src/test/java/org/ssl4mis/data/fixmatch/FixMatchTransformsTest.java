package org.ssl4mis.data.fixmatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ssl4mis.data.Augment;
import org.ssl4mis.data.Volume;
import org.ssl4mis.data.fixmatch.CTAugment.OpChoice;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link CTATransform}, {@link WeakStrongAugment} and {@link ColorJitter}: the reference's pipelines replayed in
 * Python (SciPy's zoom, NumPy's rot90/flip, PyTorch for the tensor conversions and torchvision's jitter formulas,
 * Pillow for the CTA ops) on the draws the Java side made, plus shapes, types, ranges and determinism per seed.
 */
class FixMatchTransformsTest {

  /**
   * argv[1] is a folder with cases.txt and inputs.bin. Case lines:
   * T id                        -> to_tensor of all 256 bytes and round(255 * to_tensor) (float32 LE / int32 LE)
   * B id spec factor            -> torchvision's brightness blend on a (1, H, W) tensor
   * C id spec factor            -> torchvision's contrast blend; also the tensor mean
   * J id spec b c s h o0 o1 o2 o3 -> the jitter transforms in that order (saturation and hue return 1-channel input)
   * X id ispec lspec oh ow ops  -> CTATransform: zoom, ToPILImage, weak / strong ops, to_tensor, label round trip
   * W id ispec lspec oh ow k axis b c s h o0 o1 o2 o3 -> WeakStrongAugment's arrays
   * Every result is appended to all.out as float32 (labels int32); prints "id offset count" per array.
   */
  private static final String SCRIPT = PythonCtaOps.SOURCE + """
      import os, sys
      from scipy.ndimage import zoom
      d = sys.argv[1]
      src = open(os.path.join(d, 'inputs.bin'), 'rb').read()
      out = open(os.path.join(d, 'all.out'), 'wb')
      def load(spec):
          dt, off, h, w = spec.split(':')
          off, h, w = int(off), int(h), int(w)
          if dt == 'f4':
              return np.frombuffer(src[off:off + 4 * h * w], dtype='<f4').reshape(h, w).copy()
          return np.frombuffer(src[off:off + h * w], dtype='u1').reshape(h, w).copy()
      def emit(cid, name, arr):
          arr = np.ascontiguousarray(arr)
          arr = arr.astype('<i4') if arr.dtype.kind in 'iu' else arr.astype('<f4')
          print(cid, name, out.tell(), arr.size)
          out.write(arr.tobytes())
      def blend(img, other, ratio):
          ratio = float(ratio)
          return (ratio * img + (1.0 - ratio) * other).clamp(0, 1).to(img.dtype)
      def brightness(t, f):
          return blend(t, torch.zeros_like(t), f)
      def contrast(t, f):
          return blend(t, torch.mean(t.to(t.dtype), dim=(-3, -2, -1), keepdim=True), f)
      def jitter(t, factors, order):
          for fn in order:
              if fn == 0:
                  t = brightness(t, factors[0])
              elif fn == 1:
                  t = contrast(t, factors[1])
              elif fn in (2, 3):
                  assert t.shape[-3] == 1  # torchvision returns one-channel images unchanged here
          return t
      def resize(x, oh, ow):
          h, w = x.shape
          return zoom(x, (oh / h, ow / w), order=0)
      for line in open(os.path.join(d, 'cases.txt')):
          p = line.split()
          if not p:
              continue
          kind, cid, a = p[0], p[1], p[2:]
          if kind == 'T':
              x = torch.arange(256, dtype=torch.uint8).to(torch.float32).div(255)
              emit(cid, 'tensor', x.numpy())
              emit(cid, 'label', torch.round(255 * x).int().numpy())
          elif kind == 'B':
              emit(cid, 'out', brightness(torch.from_numpy(load(a[0])).unsqueeze(0), float(a[1])).numpy())
          elif kind == 'C':
              t = torch.from_numpy(load(a[0])).unsqueeze(0)
              emit(cid, 'mean', torch.mean(t, dim=(-3, -2, -1), keepdim=True).numpy())
              emit(cid, 'out', contrast(t, float(a[1])).numpy())
          elif kind == 'J':
              t = torch.from_numpy(load(a[0])).unsqueeze(0)
              emit(cid, 'out', jitter(t, [float(v) for v in a[1:5]], [int(v) for v in a[5:9]]).numpy())
          elif kind == 'X':
              image, label = load(a[0]), load(a[1])
              oh, ow = int(a[2]), int(a[3])
              image, label = resize(image, oh, ow), resize(label, oh, ow)
              image = torch.from_numpy(image.astype(np.float32)).unsqueeze(0)
              label = torch.from_numpy(label.astype(np.uint8))
              groups = [[op.split(',') for op in g.split()] for g in ' '.join(a[4:]).split('|')]
              def run(img, group):
                  for op in groups[group]:
                      img = CTA[op[0]](img, *(float(v) for v in op[1:]))
                  return img
              weak = run(to_pil_float(image), 0)
              strong = run(weak, 1)
              label_aug = run(Image.fromarray(label.numpy(), mode='L'), 2)
              label_aug = torch.round(255 * to_tensor(label_aug).squeeze(0)).int()
              emit(cid, 'weak', to_tensor(weak).numpy())
              emit(cid, 'strong', to_tensor(strong).numpy())
              emit(cid, 'label', label_aug.numpy())
          elif kind == 'W':
              image, label = load(a[0]), load(a[1])
              oh, ow, k, axis = int(a[2]), int(a[3]), int(a[4]), int(a[5])
              image, label = resize(image, oh, ow), resize(label, oh, ow)
              weak = np.flip(np.rot90(image, k), axis=axis).copy()
              label = np.flip(np.rot90(label, k), axis=axis).copy()
              strong = jitter(torch.from_numpy(weak).unsqueeze(0), [float(v) for v in a[6:10]],
                              [int(v) for v in a[10:14]]).type('torch.FloatTensor')
              emit(cid, 'image', image.astype(np.float32))
              emit(cid, 'weak', weak.astype(np.float32))
              emit(cid, 'strong', strong.numpy())
              emit(cid, 'label', label.astype(np.uint8))
      out.close()
      """;

  /** Inputs and answers exchanged with one Python run. */
  private static final class Exchange {
    final StringBuilder cases = new StringBuilder();
    final java.io.ByteArrayOutputStream inputs = new java.io.ByteArrayOutputStream();
    final java.util.Map<String, float[]> results = new java.util.HashMap<>();

    String floats(float[] v, int h, int w) {
      String spec = "f4:" + inputs.size() + ":" + h + ":" + w;
      ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : v) {
        b.putFloat(x);
      }
      inputs.writeBytes(b.array());
      return spec;
    }

    String bytes(byte[] v, int h, int w) {
      String spec = "u1:" + inputs.size() + ":" + h + ":" + w;
      inputs.writeBytes(v);
      return spec;
    }

    void run() throws IOException {
      PythonReference.require("PIL", "numpy", "torch", "scipy");
      Path dir = Files.createTempDirectory("fixmatch-parity");
      try {
        Files.write(dir.resolve("inputs.bin"), inputs.toByteArray());
        Files.writeString(dir.resolve("cases.txt"), cases);
        String out = PythonReference.run(SCRIPT, Duration.ofMinutes(2), dir.toString());
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("all.out"))).order(ByteOrder.LITTLE_ENDIAN);
        for (String line : out.split("\n")) {
          String[] p = line.trim().split(" ");
          if (p.length != 4) {
            continue;
          }
          int offset = Integer.parseInt(p[2]);
          int n = Integer.parseInt(p[3]);
          float[] v = new float[n];
          for (int i = 0; i < n; i++) {
            v[i] = p[1].equals("label") ? all.getInt(offset + 4 * i) : all.getFloat(offset + 4 * i);
          }
          results.put(p[0] + "/" + p[1], v);
        }
      } finally {
        try (var files = Files.walk(dir)) {
          for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(f);
          }
        }
      }
    }

    float[] get(String id, String name) {
      float[] v = results.get(id + "/" + name);
      assertNotNull(v, "Python gave no " + name + " for case " + id);
      return v;
    }
  }

  private static float[] randomImage(SplittableRandom r, int n, boolean outOfRange) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (outOfRange && i % 11 == 0 ? r.nextDouble() * 1.6 - 0.3 : r.nextDouble());
    }
    return v;
  }

  private static Volume slice(SplittableRandom r, int h, int w) {
    float[] image = new float[h * w];
    byte[] label = new byte[h * w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double v = 0.5 + 0.4 * Math.sin(x * 0.3) * Math.cos(y * 0.2) + 0.1 * r.nextDouble();
        image[y * w + x] = (float) Math.min(1, Math.max(0, v));
        label[y * w + x] = (byte) (v > 0.8 ? 3 : v > 0.6 ? 2 : v > 0.4 ? 1 : 0);
      }
    }
    return new Volume("case", image, label, new int[] {h, w});
  }

  private static String policyText(List<OpChoice> ops) {
    StringBuilder b = new StringBuilder();
    for (OpChoice c : ops == null ? List.<OpChoice>of() : ops) {
      b.append(b.isEmpty() ? "" : " ").append(c.op().key());
      for (double a : c.args()) {
        b.append(',').append(a);
      }
    }
    return b.toString();
  }

  /** The policy text for Python, with each cutout's two positions (as the transform draws them) appended. */
  private static String withCutouts(List<OpChoice> ops, SplittableRandom replay, int h, int w) {
    StringBuilder b = new StringBuilder();
    for (OpChoice c : ops) {
      b.append(b.isEmpty() ? "" : " ").append(c.op().key());
      for (double a : c.args()) {
        b.append(',').append(a);
      }
      if (c.op() == CtaOp.CUTOUT) {
        b.append(',').append(replay.nextInt(w / 2, w)).append(',').append(replay.nextInt(w / 2, h));
      }
    }
    return b.toString();
  }

  @Test
  void tensorConversionsJitterAndPipelinesEqualTheReference() throws IOException {
    Exchange ex = new Exchange();
    SplittableRandom r = new SplittableRandom(5);
    ex.cases.append("T t\n");

    // brightness / contrast / whole jitter on (1, H, W) float32 tensors
    List<float[]> images = new ArrayList<>();
    List<double[]> factors = new ArrayList<>();
    List<ColorJitter.Params> params = new ArrayList<>();
    ColorJitter jitter = ColorJitter.fixMatch();
    for (int c = 0; c < 24; c++) {
      // 256 x 256 (the patch size, above PyTorch's 32768-value grain) and 1 x 5 (below its 8 SIMD lanes) too
      int h = c == 2 ? 256 : c == 3 ? 1 : 3 + r.nextInt(40);
      int w = c == 2 ? 256 : c == 3 ? 5 : 3 + r.nextInt(40);
      float[] img = randomImage(r, h * w, c % 3 == 0);
      images.add(img);
      String spec = ex.floats(img, h, w);
      double fb = c == 0 ? 0.0 : (float) (0.2 + 1.6 * r.nextDouble());
      double fc = c == 1 ? 1.0 : (float) (0.2 + 1.6 * r.nextDouble());
      factors.add(new double[] {fb, fc});
      ColorJitter.Params pr = jitter.sampleParams(r);
      params.add(pr);
      ex.cases.append("B b").append(c).append(' ').append(spec).append(' ').append(fb).append('\n');
      ex.cases.append("C c").append(c).append(' ').append(spec).append(' ').append(fc).append('\n');
      ex.cases.append("J j").append(c).append(' ').append(spec).append(' ').append(pr.brightness()).append(' ')
          .append(pr.contrast()).append(' ').append(pr.saturation()).append(' ').append(pr.hue());
      for (int o : pr.order()) {
        ex.cases.append(' ').append(o);
      }
      ex.cases.append('\n');
    }

    // CTATransform with sampled policies (a learned-looking CTA state) and hand-picked ones
    CTAugment cta = new CTAugment();
    SplittableRandom pr = new SplittableRandom(17);
    for (int i = 0; i < 12; i++) {
      cta.updateRates(cta.policy(true, true, pr), pr.nextDouble());
      cta.updateRates(cta.policy(true, false, pr), pr.nextDouble());
    }
    int[][] sizes = {{32, 40}, {24, 24}, {48, 36}};
    List<Object[]> ctaCases = new ArrayList<>();
    for (int c = 0; c < 30; c++) {
      int[] out = sizes[c % sizes.length];
      Volume v = slice(r, 17 + r.nextInt(50), 17 + r.nextInt(50));
      List<OpChoice> weak;
      List<OpChoice> strong;
      switch (c) {
        case 0 -> {
          weak = List.of(new OpChoice(CtaOp.IDENTITY, new double[0]));
          strong = List.of(new OpChoice(CtaOp.IDENTITY, new double[0]));
        }
        case 1 -> {
          weak = List.of(new OpChoice(CtaOp.CUTOUT, new double[] {0.9}),
              new OpChoice(CtaOp.ROTATE, new double[] {0.8}));
          strong = List.of(new OpChoice(CtaOp.EQUALIZE, new double[] {0.6}),
              new OpChoice(CtaOp.BLUR, new double[] {0.95}));
        }
        case 2 -> {
          weak = List.of(new OpChoice(CtaOp.RESCALE, new double[] {0.9, 0.1}),
              new OpChoice(CtaOp.SHEAR_Y, new double[] {0.05}));
          strong = List.of(new OpChoice(CtaOp.SOLARIZE, new double[] {0.3}),
              new OpChoice(CtaOp.POSTERIZE, new double[] {0.2}));
        }
        default -> {
          weak = cta.policy(false, true, pr);
          strong = cta.policy(false, false, pr);
        }
      }
      long seed = 1000 + c;
      SplittableRandom replay = new SplittableRandom(seed);
      String weakImage = withCutouts(weak, replay, out[0], out[1]);
      String strongText = policyText(strong);
      String weakLabel = withCutouts(weak, replay, out[0], out[1]);
      String ispec = ex.floats(v.image(), v.shape()[0], v.shape()[1]);
      String lspec = ex.bytes(v.label(), v.shape()[0], v.shape()[1]);
      ex.cases.append("X x").append(c).append(' ').append(ispec).append(' ').append(lspec).append(' ')
          .append(out[0]).append(' ').append(out[1]).append(' ').append(weakImage).append('|').append(strongText)
          .append('|').append(weakLabel).append('\n');
      ctaCases.add(new Object[] {v, out, weak, strong, seed});
    }

    // WeakStrongAugment: replay the draws (rot90 k, flip axis, then the jitter) to hand them to Python
    List<Object[]> wsCases = new ArrayList<>();
    for (int c = 0; c < 12; c++) {
      int[] out = sizes[c % sizes.length];
      Volume v = slice(r, 20 + r.nextInt(40), 20 + r.nextInt(40));
      long seed = 5000 + c;
      SplittableRandom replay = new SplittableRandom(seed);
      int k = replay.nextInt(4);
      int axis = replay.nextInt(2);
      ColorJitter.Params p = jitter.sampleParams(replay);
      ex.cases.append("W w").append(c).append(' ').append(ex.floats(v.image(), v.shape()[0], v.shape()[1]))
          .append(' ').append(ex.bytes(v.label(), v.shape()[0], v.shape()[1])).append(' ').append(out[0])
          .append(' ').append(out[1]).append(' ').append(k).append(' ').append(axis).append(' ')
          .append(p.brightness()).append(' ').append(p.contrast()).append(' ').append(p.saturation()).append(' ')
          .append(p.hue());
      for (int o : p.order()) {
        ex.cases.append(' ').append(o);
      }
      ex.cases.append('\n');
      wsCases.add(new Object[] {v, out, seed});
    }

    ex.run();

    // ToTensor and the label round trip, every byte
    float[] tensor = ex.get("t", "tensor");
    float[] label = ex.get("t", "label");
    byte[] all = new byte[256];
    for (int i = 0; i < 256; i++) {
      all[i] = (byte) i;
    }
    assertArrayEquals(tensor, new GrayImage(16, 16, all).toTensor());
    for (int i = 0; i < 256; i++) {
      assertEquals(i, (int) label[i], "round(255 * to_tensor) of byte " + i);
    }

    for (int c = 0; c < images.size(); c++) {
      float[] img = images.get(c);
      assertArrayEquals(ex.get("b" + c, "out"), ColorJitter.adjustBrightness(img, factors.get(c)[0]),
          "brightness case " + c);
      assertEquals(ex.get("c" + c, "mean")[0], ColorJitter.mean(img), "torch.mean of case " + c);
      assertArrayEquals(ex.get("c" + c, "out"), ColorJitter.adjustContrast(img, factors.get(c)[1]),
          "contrast case " + c);
      assertArrayEquals(ex.get("j" + c, "out"), ColorJitter.apply(img, params.get(c)), "jitter case " + c);
    }

    CTATransform ctaTransform = null;
    for (int c = 0; c < ctaCases.size(); c++) {
      Object[] k = ctaCases.get(c);
      int[] out = (int[]) k[1];
      ctaTransform = new CTATransform(out);
      @SuppressWarnings("unchecked")
      FixMatchSample s = ctaTransform.apply((Volume) k[0], (List<OpChoice>) k[2], (List<OpChoice>) k[3],
          new SplittableRandom((long) k[4]));
      assertArrayEquals(out, s.shape());
      assertArrayEquals(ex.get("x" + c, "weak"), s.weak().image(), "image_weak of case " + c);
      assertArrayEquals(ex.get("x" + c, "strong"), s.strong(), "image_strong of case " + c);
      float[] lab = ex.get("x" + c, "label");
      for (int i = 0; i < lab.length; i++) {
        assertEquals((int) lab[i], s.weak().label()[i] & 0xFF, "label_aug of case " + c + " at " + i);
      }
    }

    for (int c = 0; c < wsCases.size(); c++) {
      Object[] k = wsCases.get(c);
      FixMatchSample s = new WeakStrongAugment((int[]) k[1]).apply((Volume) k[0], new SplittableRandom((long) k[2]));
      assertArrayEquals(ex.get("w" + c, "image"), s.resized().image(), "image of case " + c);
      assertArrayEquals(ex.get("w" + c, "weak"), s.weak().image(), "image_weak of case " + c);
      assertArrayEquals(ex.get("w" + c, "strong"), s.strong(), "image_strong of case " + c);
      float[] lab = ex.get("w" + c, "label");
      for (int i = 0; i < lab.length; i++) {
        assertEquals((int) lab[i], s.weak().label()[i] & 0xFF, "label_aug of case " + c + " at " + i);
      }
    }
  }

  @Test
  void weakStrongShapesRangesAndDeterminism() {
    SplittableRandom r = new SplittableRandom(3);
    Volume v = slice(r, 45, 61);
    WeakStrongAugment aug = new WeakStrongAugment(new int[] {32, 48});
    Volume resized = Augment.resize(v, new int[] {32, 48});
    Set<String> shapes = new HashSet<>();
    Set<String> outcomes = new HashSet<>();
    for (long seed = 0; seed < 60; seed++) {
      FixMatchSample s = aug.apply(v, new SplittableRandom(seed));
      FixMatchSample again = aug.apply(v, new SplittableRandom(seed));
      assertArrayEquals(s.weak().image(), again.weak().image());
      assertArrayEquals(s.strong(), again.strong());
      assertArrayEquals(s.weak().label(), again.weak().label());
      assertArrayEquals(new int[] {32, 48}, s.resized().shape());
      assertArrayEquals(resized.image(), s.resized().image());
      shapes.add(Arrays.toString(s.shape()));
      // the weak view is one of the 8 rot90 / flip combinations of the resized slice, label alongside
      boolean found = false;
      for (int k = 0; k < 4 && !found; k++) {
        for (int axis = 0; axis < 2 && !found; axis++) {
          Volume e = Augment.rotFlip(resized, k, axis);
          found = Arrays.equals(e.shape(), s.shape()) && Arrays.equals(e.image(), s.weak().image())
              && Arrays.equals(e.label(), s.weak().label());
        }
      }
      assertTrue(found, "seed " + seed);
      for (float x : s.strong()) {
        assertTrue(x >= 0f && x <= 1f, "strong value " + x);
      }
      assertFalse(Arrays.equals(s.weak().image(), s.strong()));
      outcomes.add(Arrays.hashCode(s.strong()) + "");
    }
    assertEquals(Set.of("[32, 48]", "[48, 32]"), shapes);
    assertTrue(outcomes.size() > 50, "different seeds give different strong views");
    assertThrows(IllegalArgumentException.class, () -> new WeakStrongAugment(new int[] {32}));

    // the jitter's draws: factors in range, every order of the four transforms
    ColorJitter j = ColorJitter.fixMatch();
    Set<String> orders = new HashSet<>();
    for (int i = 0; i < 2000; i++) {
      ColorJitter.Params p = j.sampleParams(r);
      orders.add(Arrays.toString(p.order()));
      for (double f : new double[] {p.brightness(), p.contrast(), p.saturation()}) {
        assertTrue(f >= 0.2f && f <= 1.8f, "factor " + f);
        assertEquals(f, (double) (float) f);
      }
      assertTrue(p.hue() >= -0.2f && p.hue() <= 0.2f);
    }
    assertEquals(24, orders.size());
    float[] img = randomImage(r, 50, false);
    assertArrayEquals(img, ColorJitter.adjustSaturation(img, 1.7));
    assertArrayEquals(img, ColorJitter.adjustHue(img, 0.2));
    assertThrows(IllegalArgumentException.class, () -> ColorJitter.adjustHue(img, 0.7));
    assertThrows(IllegalArgumentException.class, () -> new ColorJitter(0.1, 0.1, 0.1, 0.6));
    ColorJitter.Params none = new ColorJitter(0, 0, 0, 0).sampleParams(r);
    assertEquals(null, none.brightness());
    assertArrayEquals(img, ColorJitter.apply(img, none));
  }

  @Test
  void ctaTransformShapesRangesAndDeterminism() {
    SplittableRandom r = new SplittableRandom(4);
    Volume v = slice(r, 52, 37);
    CTATransform t = new CTATransform(new int[] {40, 56});
    CTAugment cta = new CTAugment();
    Volume resized = Augment.resize(v, new int[] {40, 56});
    for (long seed = 0; seed < 40; seed++) {
      SplittableRandom pr = new SplittableRandom(seed);
      List<OpChoice> weak = cta.policy(false, true, pr);
      List<OpChoice> strong = cta.policy(false, false, pr);
      FixMatchSample s = t.apply(v, weak, strong, new SplittableRandom(seed));
      FixMatchSample again = t.apply(v, weak, strong, new SplittableRandom(seed));
      assertArrayEquals(s.weak().image(), again.weak().image());
      assertArrayEquals(s.strong(), again.strong());
      assertArrayEquals(s.weak().label(), again.weak().label());
      assertArrayEquals(new int[] {40, 56}, s.shape());
      assertArrayEquals(resized.image(), s.resized().image());
      for (float[] a : List.of(s.weak().image(), s.strong())) {
        for (float x : a) {
          assertTrue(x >= 0f && x <= 1f);
          assertEquals(x, Math.round(x * 255) / 255f, "to_tensor values are b / 255");
        }
      }
    }
    // no ops: image_weak is floor(255 x) / 255, the label is the resized label
    FixMatchSample plain = t.apply(v, null, null, new SplittableRandom(1));
    for (int i = 0; i < resized.image().length; i++) {
      assertEquals((float) Math.floor(resized.image()[i] * 255f) / 255f, plain.weak().image()[i]);
    }
    assertArrayEquals(resized.label(), plain.weak().label());
    assertArrayEquals(plain.weak().image(), plain.strong());
    // geometric weak ops move image and label together: a label equal to the quantised image stays equal
    byte[] quantised = new byte[resized.image().length];
    for (int i = 0; i < quantised.length; i++) {
      quantised[i] = (byte) (int) (resized.image()[i] * 255f);
    }
    Volume same = new Volume("same", resized.image(), quantised, resized.shape());
    List<OpChoice> geometric = List.of(new OpChoice(CtaOp.ROTATE, new double[] {0.83}),
        new OpChoice(CtaOp.SHEAR_X, new double[] {0.1}), new OpChoice(CtaOp.RESCALE, new double[] {0.6, 0.95}));
    FixMatchSample g = t.apply(same, geometric, List.of(new OpChoice(CtaOp.INVERT, new double[] {1.0})),
        new SplittableRandom(2));
    for (int i = 0; i < quantised.length; i++) {
      assertEquals((g.weak().label()[i] & 0xFF) / 255f, g.weak().image()[i]);
      assertEquals(1f - g.weak().image()[i], g.strong()[i], 1e-6f);
    }
    // cutout's row position is drawn from [width // 2, height): an empty range fails as numpy's randint does
    CTATransform wide = new CTATransform(new int[] {10, 40});
    List<OpChoice> cut = List.of(new OpChoice(CtaOp.CUTOUT, new double[] {0.5}));
    assertThrows(IllegalArgumentException.class, () -> wide.apply(v, cut, null, new SplittableRandom(1)));
  }
}
