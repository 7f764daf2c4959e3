package org.ssl4mis.data.fixmatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.ssl4mis.data.fixmatch.Pil.Resample;
import org.ssl4mis.testing.PythonReference;

/**
 * {@link Pil} and {@link CtaOp} against Pillow 9.4 ({@code python3-pil}) run in the same test: every op of
 * {@code ctaugment.py} at every argument bin (and the bin edges and random values) on random and structured
 * 8-bit images of odd and even sizes, and the Pillow primitives underneath with wider arguments. Images travel as
 * raw bytes in one file, one Python process computes all cases, and every Java result must equal Pillow's byte
 * for byte.
 */
class PilParityTest {

  /**
   * Reads cases.txt (one case a line: id, image spec offset:w:h into inputs.bin, op, arguments), applies the op
   * with Pillow, appends the result's bytes to all.out and prints "id width height offset".
   */
  private static final String SCRIPT = PythonCtaOps.SOURCE + """
      import os, sys
      d = sys.argv[1]
      src = open(os.path.join(d, 'inputs.bin'), 'rb').read()
      def image(spec):
          off, w, h = (int(v) for v in spec.split(':'))
          return Image.frombytes('L', (w, h), src[off:off + w * h])
      ENHANCE = {'brightness': ImageEnhance.Brightness, 'color': ImageEnhance.Color,
                 'contrast': ImageEnhance.Contrast, 'sharpness': ImageEnhance.Sharpness}
      out = open(os.path.join(d, 'all.out'), 'wb')
      for line in open(os.path.join(d, 'cases.txt')):
          p = line.split()
          if not p:
              continue
          cid, spec, op, a = p[0], p[1], p[2], p[3:]
          if op == 'tensor2pil':
              off, w, h = (int(v) for v in spec.split(':'))
              t = torch.from_numpy(np.frombuffer(src[off:off + 4 * w * h], dtype='<f4').reshape(1, h, w).copy())
              r = to_pil_float(t)
          else:
              x = image(spec)
              if op == 'cta':
                  r = CTA[a[0]](x, *(float(v) for v in a[1:]))
              elif op == 'cutout':
                  r = cutout(x, float(a[0]), a[1], a[2])
              elif op == 'blend':
                  r = Image.blend(x, image(a[0]), float(a[1]))
              elif op == 'enhance':
                  r = ENHANCE[a[0]](x).enhance(float(a[1]))
              elif op == 'autocontrast':
                  r = ImageOps.autocontrast(x)
              elif op == 'equalize':
                  r = ImageOps.equalize(x)
              elif op == 'invert':
                  r = ImageOps.invert(x)
              elif op == 'posterize':
                  r = ImageOps.posterize(x, int(a[0]))
              elif op == 'solarize':
                  r = ImageOps.solarize(x, int(a[0]))
              elif op == 'filter':
                  r = x.filter(ImageFilter.SMOOTH if a[0] == 'smooth' else ImageFilter.BLUR)
              elif op == 'affine':
                  r = x.transform((int(a[0]), int(a[1])), Image.AFFINE, tuple(float(v) for v in a[3:9]),
                                  RESAMPLE[a[2]])
              elif op == 'rotate':
                  r = x.rotate(float(a[0]))
              elif op == 'resize':
                  r = x.resize((int(a[0]), int(a[1])), RESAMPLE[a[2]])
              elif op == 'crop':
                  r = x.crop(tuple(float(v) for v in a))
              else:
                  raise ValueError(op)
          assert r.mode == 'L', r.mode
          offset = out.tell()
          out.write(r.tobytes())
          print(cid, r.size[0], r.size[1], offset)
      out.close()
      """;

  /** Image sizes (width, height): odd and even, below and above the 3x3 / 5x5 kernels. */
  private static final int[][] SIZES = {{1, 1}, {2, 3}, {4, 4}, {5, 5}, {5, 9}, {8, 8}, {13, 10}, {32, 32},
      {33, 20}, {47, 64}};

  private record Case(String id, String group, String line, Supplier<Object> java) {}

  private static Path dir;
  private static final List<Case> CASES = new ArrayList<>();
  private static final ByteArrayOutputStream INPUTS = new ByteArrayOutputStream();
  private static final Map<String, Object> INPUT_VALUES = new HashMap<>();
  private static final Map<String, int[]> PILLOW = new HashMap<>(); // id -> {width, height, offset}
  private static byte[] results;
  private static final Map<String, List<String>> FAILURES = new LinkedHashMap<>();
  private static final Map<String, Integer> CHECKED = new HashMap<>();
  private static boolean compared;

  @BeforeAll
  static void runPillow() throws IOException {
    PythonReference.require("PIL", "numpy", "torch");
    dir = Files.createTempDirectory("pil-parity");
    buildCases();
    StringBuilder manifest = new StringBuilder();
    for (Case c : CASES) {
      manifest.append(c.line()).append('\n');
    }
    Files.write(dir.resolve("inputs.bin"), INPUTS.toByteArray());
    Files.writeString(dir.resolve("cases.txt"), manifest);
    String out = PythonReference.run(SCRIPT, Duration.ofMinutes(2), dir.toString());
    for (String line : out.split("\n")) {
      String[] p = line.trim().split(" ");
      if (p.length == 4) {
        PILLOW.put(p[0], new int[] {Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3])});
      }
    }
    results = Files.readAllBytes(dir.resolve("all.out"));
  }

  @AfterAll
  static void cleanUp() throws IOException {
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The cases
  // ---------------------------------------------------------------------------------------------------------

  /** Each argument bin's centre, both ends and a few random values in [0, 1). */
  private static double[] levels(int bins, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] v = new double[bins + 5];
    for (int b = 0; b < bins; b++) {
      v[b] = (b + 0.5) / bins;
    }
    v[bins] = 0.0;
    v[bins + 1] = 1.0;
    for (int i = bins + 2; i < v.length; i++) {
      v[i] = r.nextDouble();
    }
    return v;
  }

  private static void buildCases() {
    List<String> images = new ArrayList<>();
    for (int[] s : SIZES) {
      images.add(input(s[0], s[1], "random"));
    }
    for (int[] s : new int[][] {{8, 8}, {13, 10}, {33, 20}}) {
      for (String kind : List.of("constant", "two", "narrow", "gradient", "sparse")) {
        images.add(input(s[0], s[1], kind));
      }
    }
    images.add(input(64, 64, "random"));

    // Every op of ctaugment.py at every bin (the image sizes the reference sees are larger, the code is the same).
    long seed = 1;
    for (String img : images) {
      GrayImage x = image(img);
      for (CtaOp op : CtaOp.values()) {
        switch (op) {
          case IDENTITY -> add("cta-identity", img, "cta identity", () -> op.apply(x, new double[0], null));
          case CUTOUT -> {
            SplittableRandom r = new SplittableRandom(seed++);
            for (double v : levels(17, seed++)) {
              int xLoc = r.nextInt(x.width() / 2, x.width());
              int yLoc = r.nextInt(0, x.height());
              add("cta-cutout", img, "cutout " + v + " " + xLoc + " " + yLoc, () -> CtaOp.cutout(x, v, xLoc, yLoc));
            }
          }
          case RESCALE -> {
            for (int b = 0; b < 17; b++) {
              for (int m = 0; m < 6; m++) {
                double scale = (b + 0.5) / 17;
                double method = (m + 0.5) / 6;
                addCta(op, img, x, scale, method);
              }
            }
            double[] extra = levels(1, seed++);
            for (double v : extra) {
              for (double m : levels(1, seed++)) {
                addCta(op, img, x, v, m);
              }
            }
          }
          default -> {
            for (double v : levels(op.bins()[0], seed++)) {
              addCta(op, img, x, v);
            }
          }
        }
      }
    }

    // The primitives, with arguments beyond what CTAugment passes.
    for (String img : images) {
      GrayImage x = image(img);
      String other = input(x.width(), x.height(), "random", 7);
      GrayImage y = image(other);
      for (double alpha : new double[] {0, 1, 0.25, 0.5, 0.999, 1e-3, -0.5, 1.5, 2.0, 3.7, -2}) {
        add("blend", img, "blend " + other + " " + alpha, () -> Pil.blend(x, y, alpha));
      }
      for (String e : List.of("brightness", "color", "contrast", "sharpness")) {
        for (double f : new double[] {0, 0.1, 0.5, 1, 1.3, 2, 3.5}) {
          add("enhance", img, "enhance " + e + " " + f, () -> switch (e) {
            case "brightness" -> Pil.brightness(x, f);
            case "color" -> Pil.color(x, f);
            case "contrast" -> Pil.contrast(x, f);
            default -> Pil.sharpness(x, f);
          });
        }
      }
      add("imageops", img, "autocontrast", () -> Pil.autocontrast(x));
      add("imageops", img, "equalize", () -> Pil.equalize(x));
      add("imageops", img, "invert", () -> Pil.invert(x));
      for (int bits = 1; bits <= 8; bits++) {
        int b = bits;
        add("imageops", img, "posterize " + b, () -> Pil.posterize(x, b));
      }
      for (int th : new int[] {0, 1, 64, 128, 200, 255, 256}) {
        add("imageops", img, "solarize " + th, () -> Pil.solarize(x, th));
      }
      add("filter", img, "filter smooth", () -> Pil.smooth(x));
      add("filter", img, "filter blur", () -> Pil.blur(x));
      for (double angle : new double[] {0, 90, 180, 270, -90, 360, 12.5, -33.3, 135, 1e-3, 721}) {
        add("rotate", img, "rotate " + angle, () -> Pil.rotate(x, angle));
      }
      if (x.width() >= 5) {
        for (int angle = -45; angle <= 45; angle++) {
          int a = angle;
          add("rotate", img, "rotate " + a, () -> Pil.rotate(x, a));
        }
      }
      SplittableRandom r = new SplittableRandom(seed++);
      for (int i = 0; i < 6; i++) {
        double[] a = {0.5 + r.nextDouble() * 1.5, r.nextDouble() - 0.5, r.nextDouble() * 6 - 3,
            r.nextDouble() - 0.5, 0.5 + r.nextDouble() * 1.5, r.nextDouble() * 6 - 3};
        if (i == 4) {
          a[1] = 0;
          a[3] = 0;
        }
        if (i == 5) {
          a[0] = 3000; // leaves the 16.16 range: Pillow's double path
        }
        int ow = x.width() + r.nextInt(-1, 4);
        int oh = x.height() + r.nextInt(-1, 4);
        for (Resample m : List.of(Resample.NEAREST, Resample.BILINEAR)) {
          if (ow < 1 || oh < 1) {
            continue;
          }
          add("affine", img, "affine " + ow + " " + oh + " " + m + " " + join(a),
              () -> Pil.transformAffine(x, ow, oh, a, m));
        }
      }
      for (Resample m : Resample.values()) {
        for (int[] size : new int[][] {{x.width() * 2 + 1, x.height() + 3}, {Math.max(1, x.width() / 2),
            Math.max(1, x.height() / 3)}, {x.width(), x.height() + 5}, {x.width() + 1, x.height()}, {7, 3}}) {
          add("resize", img, "resize " + size[0] + " " + size[1] + " " + m,
              () -> Pil.resize(x, size[0], size[1], m));
        }
      }
      double w = x.width();
      double h = x.height();
      for (double[] box : new double[][] {{0.5, 1.5, w - 0.5, h - 1.5}, {2.5, 0.5, w, h}, {-2, -1.4, w + 3, h / 2 + 1},
          {0.49, 0.51, w * 0.75, h * 0.875}}) {
        if (Math.rint(box[2]) > Math.rint(box[0]) && Math.rint(box[3]) > Math.rint(box[1])) {
          add("crop", img, "crop " + join(box), () -> Pil.crop(x, box[0], box[1], box[2], box[3]));
        }
      }
    }

    // ToPILImage() of float32 tensors, in and out of [0, 1].
    SplittableRandom r = new SplittableRandom(99);
    for (int[] s : new int[][] {{7, 5}, {16, 16}, {31, 12}}) {
      float[] t = new float[s[0] * s[1]];
      for (int i = 0; i < t.length; i++) {
        t[i] = switch (i % 5) {
          case 0 -> (float) (r.nextDouble() * 3 - 1);
          case 1 -> (float) r.nextInt(256) / 255f;
          default -> (float) r.nextDouble();
        };
      }
      t[0] = 1f;
      t[1] = 0f;
      t[2] = -0.003f;
      t[3] = 1.0001f;
      String spec = floatInput(t, s[0], s[1]);
      add("tensor2pil", spec, "tensor2pil", () -> GrayImage.fromFloatTensor(t, s[1], s[0]));
    }
  }

  private static void addCta(CtaOp op, String img, GrayImage x, double... args) {
    StringBuilder line = new StringBuilder("cta ").append(op.key());
    for (double a : args) {
      line.append(' ').append(a);
    }
    add("cta-" + op.key(), img, line.toString(), () -> op.apply(x, args, null));
  }

  private static void add(String group, String spec, String op, Supplier<Object> java) {
    String id = "c" + CASES.size();
    CASES.add(new Case(id, group, id + " " + spec + " " + op, java));
  }

  private static String join(double[] a) {
    StringBuilder b = new StringBuilder();
    for (double v : a) {
      b.append(b.isEmpty() ? "" : " ").append(v);
    }
    return b.toString();
  }

  private static String input(int w, int h, String kind) {
    return input(w, h, kind, 0);
  }

  /** Registers an image in inputs.bin and returns its spec "offset:w:h". */
  private static String input(int w, int h, String kind, int variant) {
    String key = w + "x" + h + "-" + kind + "-" + variant;
    for (Map.Entry<String, Object> e : INPUT_VALUES.entrySet()) {
      if (e.getValue() instanceof Object[] o && o[0].equals(key)) {
        return e.getKey();
      }
    }
    SplittableRandom r = new SplittableRandom(key.hashCode());
    byte[] p = new byte[w * h];
    for (int i = 0; i < p.length; i++) {
      int x = i % w;
      int y = i / w;
      p[i] = (byte) switch (kind) {
        case "constant" -> 77;
        case "two" -> r.nextBoolean() ? 10 : 200;
        case "narrow" -> 100 + r.nextInt(9);
        case "gradient" -> (x * 255) / Math.max(1, w - 1) / 2 + (y * 255) / Math.max(1, h - 1) / 2;
        case "sparse" -> r.nextInt(10) == 0 ? r.nextInt(256) : 0;
        default -> r.nextInt(256);
      };
    }
    String spec = INPUTS.size() + ":" + w + ":" + h;
    INPUTS.writeBytes(p);
    INPUT_VALUES.put(spec, new Object[] {key, new GrayImage(w, h, p)});
    return spec;
  }

  private static String floatInput(float[] t, int w, int h) {
    String spec = INPUTS.size() + ":" + w + ":" + h;
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * t.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (float v : t) {
      b.putFloat(v);
    }
    INPUTS.writeBytes(b.array());
    return spec;
  }

  private static GrayImage image(String spec) {
    return (GrayImage) ((Object[]) INPUT_VALUES.get(spec))[1];
  }

  // ---------------------------------------------------------------------------------------------------------
  // The comparison
  // ---------------------------------------------------------------------------------------------------------

  private static synchronized void compareAll() {
    if (compared) {
      return;
    }
    compared = true;
    for (Case c : CASES) {
      CHECKED.merge(c.group(), 1, Integer::sum);
      int[] ref = PILLOW.get(c.id());
      if (ref == null) {
        FAILURES.computeIfAbsent(c.group(), k -> new ArrayList<>()).add(c.line() + ": Pillow printed no result");
        continue;
      }
      GrayImage expected = new GrayImage(ref[0], ref[1], Arrays.copyOfRange(results, ref[2], ref[2] + ref[0] * ref[1]));
      String problem;
      try {
        GrayImage actual = (GrayImage) c.java().get();
        problem = difference(expected, actual);
      } catch (RuntimeException e) {
        problem = "Java threw " + e;
      }
      if (problem != null) {
        FAILURES.computeIfAbsent(c.group(), k -> new ArrayList<>()).add(c.line() + ": " + problem);
      }
    }
  }

  private static String difference(GrayImage expected, GrayImage actual) {
    if (expected.width() != actual.width() || expected.height() != actual.height()) {
      return "size " + actual.width() + "x" + actual.height() + ", Pillow " + expected.width() + "x"
          + expected.height();
    }
    int n = 0;
    int first = -1;
    for (int i = 0; i < expected.pixels().length; i++) {
      if (expected.pixels()[i] != actual.pixels()[i]) {
        n++;
        if (first < 0) {
          first = i;
        }
      }
    }
    if (n == 0) {
      return null;
    }
    return String.format(Locale.ROOT, "%d of %d pixels differ; first at (x=%d, y=%d): Java %d, Pillow %d", n,
        expected.pixels().length, first % expected.width(), first / expected.width(),
        actual.pixels()[first] & 0xFF, expected.pixels()[first] & 0xFF);
  }

  private static void assertGroup(String group) {
    compareAll();
    assertTrue(CHECKED.getOrDefault(group, 0) > 0, "no case in group " + group);
    List<String> f = FAILURES.getOrDefault(group, List.of());
    if (!f.isEmpty()) {
      fail(f.size() + " of " + CHECKED.get(group) + " cases of " + group + " differ from Pillow, e.g.\n"
          + String.join("\n", f.subList(0, Math.min(8, f.size()))));
    }
  }

  // one test per op of ctaugment.py

  @Test
  void autocontrast() {
    assertGroup("cta-autocontrast");
  }

  @Test
  void brightness() {
    assertGroup("cta-brightness");
  }

  @Test
  void color() {
    assertGroup("cta-color");
  }

  @Test
  void contrast() {
    assertGroup("cta-contrast");
  }

  @Test
  void equalize() {
    assertGroup("cta-equalize");
  }

  @Test
  void invert() {
    assertGroup("cta-invert");
  }

  @Test
  void posterize() {
    assertGroup("cta-posterize");
  }

  @Test
  void solarize() {
    assertGroup("cta-solarize");
  }

  @Test
  void smooth() {
    assertGroup("cta-smooth");
  }

  @Test
  void blur() {
    assertGroup("cta-blur");
  }

  @Test
  void sharpness() {
    assertGroup("cta-sharpness");
  }

  @Test
  void cutout() {
    assertGroup("cta-cutout");
  }

  @Test
  void identity() {
    assertGroup("cta-identity");
  }

  @Test
  void rescale() {
    assertGroup("cta-rescale");
  }

  @Test
  void rotate() {
    assertGroup("cta-rotate");
  }

  @Test
  void shearX() {
    assertGroup("cta-shear_x");
  }

  @Test
  void shearY() {
    assertGroup("cta-shear_y");
  }

  @Test
  void translateX() {
    assertGroup("cta-translate_x");
  }

  @Test
  void translateY() {
    assertGroup("cta-translate_y");
  }

  // the primitives

  @Test
  void blendAnyAlpha() {
    assertGroup("blend");
  }

  @Test
  void enhanceAnyFactor() {
    assertGroup("enhance");
  }

  @Test
  void imageOps() {
    assertGroup("imageops");
  }

  @Test
  void builtinFilters() {
    assertGroup("filter");
  }

  @Test
  void rotateAnyAngle() {
    assertGroup("rotate");
  }

  @Test
  void affineNearestAndBilinear() {
    assertGroup("affine");
  }

  @Test
  void resizeEveryFilter() {
    assertGroup("resize");
  }

  @Test
  void cropWithPythonRounding() {
    assertGroup("crop");
  }

  @Test
  void toPilImageOfFloatTensor() {
    assertGroup("tensor2pil");
  }

  @Test
  void everyCaseWasCompared() {
    compareAll();
    assertEquals(CASES.size(), CHECKED.values().stream().mapToInt(Integer::intValue).sum());
    assertEquals(CASES.size(), PILLOW.size(), "Pillow answered every case");
  }
}
