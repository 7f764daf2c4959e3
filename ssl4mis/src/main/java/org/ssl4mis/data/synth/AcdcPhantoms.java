package org.ssl4mis.data.synth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.io.hdf5.WriteOptions;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;

/**
 * Synthetic short-axis cardiac MR volumes in the folder layout of SSL4MIS's processed ACDC data, for running
 * and testing the 2D pipelines without the real data.
 *
 * <p><b>Layout</b> (what {@code BaseDataSets} and the 2D scripts read):
 * <pre>
 * DIR/data/patient001_frame01.h5               image float32 (K, H, W) in [0, 1], label uint8 (K, H, W)
 * DIR/data/slices/patient001_frame01_slice_1.h5  image float32 (H, W), label uint8 (H, W)   (slices 1..K)
 * DIR/train_slices.list                           one slice name per line, the slices of the train cases
 * DIR/train.list, DIR/val.list, DIR/test.list     one case name per line
 * </pre>
 * All datasets are gzip-compressed as the reference's preprocessing writes them. Slice files are numbered from
 * 1, as in the reference's published {@code train_slices.list}. Images are min-max normalised per volume (the
 * slices keep the volume's scaling). Labels follow the ACDC class order: 0 background, 1 right-ventricle
 * cavity, 2 left-ventricle myocardium, 3 left-ventricle cavity.
 *
 * <p><b>Cases.</b> With six or more cases each simulated patient gives two volumes, {@code frame01} (end
 * diastole) and {@code frame02} (end systole: smaller cavities, thicker myocardium) with the same anatomy
 * around the heart; the split into train/val/test (about 70/10/20, at least one case each) keeps a patient's
 * frames together. With three to five cases every patient has one frame. Each volume has its own height and
 * width (216..256 by 200..256) and 8..12 slices unless fixed by the {@link Spec}.
 *
 * <p><b>Content.</b> Each slice shows the left-ventricle blood pool (a bright, slightly elliptical disk with a
 * wobbly outline and dark papillary muscles inside, which belong to the cavity label), a dark myocardium ring
 * of varying thickness, and a bright right-ventricle crescent hugging one side with a thin dark free wall,
 * inside a body cross-section with textured tissue, darker and brighter organ blobs, dark lungs, bright fat
 * blobs, subcutaneous and partial epicardial fat. Towards the apex the heart shrinks, the right ventricle
 * vanishes, and the last slice may be a myocardial cap or lie beyond the heart. Position, rotation,
 * ellipticity, thickness and intensities vary per patient and drift along the slices. A blur for partial
 * volume, a smooth multiplicative bias field and Rician noise complete the image.
 *
 * <p><b>Determinism.</b> Every volume is drawn from {@link SplittableRandom}s seeded with
 * {@link NativeRuntime#mix(long, String)} of the seed and the patient (and frame), so a volume does not depend
 * on the other cases or on the thread that made it: same spec, same bytes. The
 * elementary functions used are {@link StrictMath}'s, so the values should not depend on the processor either
 * (only the JDK's own {@code nextGaussian} uses {@code Math.exp}, in rare rejection tests).
 */
public final class AcdcPhantoms {
  /** Fewest and most slices per volume when the spec does not fix them. */
  public static final int MIN_SLICES = 8;

  public static final int MAX_SLICES = 12;

  /** Cases from which every patient contributes two frames. */
  public static final int PAIRED_FROM = 6;

  /**
   * What to generate.
   *
   * @param cases number of volumes (at least 3: one each for train, val and test)
   * @param seed seed of everything random
   * @param slicesPerCase slices per volume, or 0 for 8..12 varying per patient
   * @param height image height, or 0 to vary it per patient
   * @param width image width, or 0 to vary it per patient
   */
  public record Spec(int cases, long seed, int slicesPerCase, int height, int width) {
    public Spec {
      if (cases < 3) {
        throw new IllegalArgumentException("ACDC phantoms need at least 3 cases (train, val, test), got " + cases);
      }
      if (slicesPerCase < 0 || slicesPerCase == 1 || slicesPerCase > 64) {
        throw new IllegalArgumentException("slices per case must be 2..64 (or 0 for 8..12), got " + slicesPerCase);
      }
      if ((height != 0 && (height < 64 || height > 1024)) || (width != 0 && (width < 64 || width > 1024))) {
        throw new IllegalArgumentException(
            "height and width must be 64..1024 (or 0 to vary), got " + height + "x" + width);
      }
    }

    /** {@code cases} volumes with the default sizes. */
    public Spec(int cases, long seed) {
      this(cases, seed, 0, 0, 0);
    }

    boolean paired() {
      return cases >= PAIRED_FROM;
    }

    int patients() {
      return paired() ? (cases + 1) / 2 : cases;
    }
  }

  /**
   * One generated volume, row-major with shape (slices, height, width).
   *
   * @param label uint8 class indices 0..3
   */
  public record Volume(String name, int slices, int height, int width, float[] image, byte[] label) {
    public long[] shape() {
      return new long[] {slices, height, width};
    }

    /** The slice file names of this volume, {@code <name>_slice_1} to {@code <name>_slice_K}. */
    public List<String> sliceNames() {
      List<String> names = new ArrayList<>(slices);
      for (int s = 1; s <= slices; s++) {
        names.add(name + "_slice_" + s);
      }
      return names;
    }
  }

  /** What {@link #write} wrote: the case names of each split (sorted) and the training slices. */
  public record Written(Path root, List<String> train, List<String> val, List<String> test, List<String> trainSlices) {
    public int cases() {
      return train.size() + val.size() + test.size();
    }
  }

  private AcdcPhantoms() {}

  /** The case names of a spec in generation order ({@code patient001_frame01}, {@code patient001_frame02}, ...). */
  public static List<String> caseNames(Spec spec) {
    List<String> names = new ArrayList<>(spec.cases());
    for (int i = 0; i < spec.cases(); i++) {
      names.add(caseName(spec, i));
    }
    return names;
  }

  private static String caseName(Spec spec, int index) {
    int patient = spec.paired() ? index / 2 : index;
    int frame = spec.paired() ? index % 2 : 0;
    return String.format(Locale.ROOT, "patient%03d_frame%02d", patient + 1, frame + 1);
  }

  /**
   * The train, val and test case names (each sorted): patients are shuffled with the seed and split about
   * 70/10/20 with at least one patient in each part.
   */
  public static List<List<String>> splits(Spec spec) {
    int patients = spec.patients();
    List<Integer> order = new ArrayList<>();
    for (int p = 0; p < patients; p++) {
      order.add(p);
    }
    Collections.shuffle(order, new SplittableRandom(NativeRuntime.mix(spec.seed(), "synth/acdc/split")));
    int[] counts = SynthFields.split(patients, 0.7, 0.1, 0.2);
    List<List<String>> parts = new ArrayList<>();
    int at = 0;
    for (int count : counts) {
      List<String> names = new ArrayList<>();
      for (int p : order.subList(at, at + count)) {
        for (int i = 0; i < spec.cases(); i++) {
          if ((spec.paired() ? i / 2 : i) == p) {
            names.add(caseName(spec, i));
          }
        }
      }
      Collections.sort(names);
      parts.add(List.copyOf(names));
      at += count;
    }
    return parts;
  }

  /**
   * Writes the whole folder: volumes, slices and list files. Existing files of the same names are replaced;
   * other files in {@code root} are left alone. Volumes are generated in parallel.
   */
  public static Written write(Path root, Spec spec) throws IOException {
    Path data = root.resolve("data");
    Path slices = data.resolve("slices");
    Files.createDirectories(slices);
    Map<String, List<String>> sliceNames = new ConcurrentHashMap<>();
    try {
      IntStream.range(0, spec.cases()).parallel().forEach(i -> {
        Volume v = generate(spec, i);
        try {
          writeVolume(data, slices, v);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        sliceNames.put(v.name(), v.sliceNames());
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    List<List<String>> parts = splits(spec);
    List<String> trainSlices = new ArrayList<>();
    for (String name : parts.get(0)) {
      trainSlices.addAll(sliceNames.get(name));
    }
    SynthFields.writeList(root.resolve("train_slices.list"), trainSlices);
    SynthFields.writeList(root.resolve("train.list"), parts.get(0));
    SynthFields.writeList(root.resolve("val.list"), parts.get(1));
    SynthFields.writeList(root.resolve("test.list"), parts.get(2));
    return new Written(root, parts.get(0), parts.get(1), parts.get(2), List.copyOf(trainSlices));
  }

  private static void writeVolume(Path data, Path slices, Volume v) throws IOException {
    try (Hdf5File f = Hdf5File.create(data.resolve(v.name() + ".h5"))) {
      f.write("image", v.image(), v.shape(), WriteOptions.gzip());
      f.write("label", v.label(), v.shape(), DType.UINT8, WriteOptions.gzip());
    }
    int plane = v.height() * v.width();
    long[] shape = {v.height(), v.width()};
    for (int s = 0; s < v.slices(); s++) {
      float[] image = Arrays.copyOfRange(v.image(), s * plane, (s + 1) * plane);
      byte[] label = Arrays.copyOfRange(v.label(), s * plane, (s + 1) * plane);
      try (Hdf5File f = Hdf5File.create(slices.resolve(v.name() + "_slice_" + (s + 1) + ".h5"))) {
        f.write("image", image, shape, WriteOptions.gzip());
        f.write("label", label, shape, DType.UINT8, WriteOptions.gzip());
      }
    }
  }

  /** Generates volume {@code index} (0-based, in the order of {@link #caseNames}) in memory. */
  public static Volume generate(Spec spec, int index) {
    if (index < 0 || index >= spec.cases()) {
      throw new IndexOutOfBoundsException("case " + index + " of " + spec.cases());
    }
    int patient = spec.paired() ? index / 2 : index;
    int frame = spec.paired() ? index % 2 : 0;
    SplittableRandom anatomy = new SplittableRandom(NativeRuntime.mix(spec.seed(), "synth/acdc/patient/" + patient));
    SplittableRandom scan = new SplittableRandom(
        NativeRuntime.mix(spec.seed(), "synth/acdc/frame/" + patient + "/" + frame));
    Patient p = new Patient(anatomy, spec);
    return p.render(caseName(spec, index), frame == 1, scan);
  }

  /** Everything drawn once per patient: sizes, heart shape and pose, intensities, the body and its organs. */
  private static final class Patient {
    final int slices;
    final int height;
    final int width;
    // Heart pose (pixels, radians) and its drift from base to apex.
    final double cy;
    final double cx;
    final double driftY;
    final double driftX;
    final double rvAngle;
    final double rvAngleDrift;
    final double ellipseAngle;
    final double ellipseDrift;
    final double axisRatio;
    // Heart size at the base.
    final double endoRadius;
    final double thickness;
    final double thicknessVariation;
    final double thicknessAngle;
    final double apexTaper;
    final double[] harmonicAmp = new double[3];
    final double[] harmonicPhase = new double[3];
    final double[] harmonicDrift = new double[3];
    // Right ventricle, relative to the mean epicardial radius.
    final double rvOffset;
    final double rvAlong;
    final double rvAcross1;
    final double rvAcross2;
    final double rvEnd;
    final double rvWall;
    // Papillary muscles and epicardial fat.
    final double papillarySpread;
    final double papillaryRadius;
    final double fatWidth;
    final double fatAngle;
    // Descending aorta: a bright disk beside the heart, through all slices (background label).
    final double aortaY;
    final double aortaX;
    final double aortaRadius;
    final double aortaBlood;
    // Apex: a myocardial cap, or a last slice beyond the heart.
    final boolean apexCap;
    final boolean emptyApex;
    // Intensities (arbitrary units; the volume is min-max normalised at the end).
    final double blood;
    final double rvBlood;
    final double myocardium;
    final double tissue;
    final double organ;
    final double lung;
    final double fat;
    // Body cross-section.
    final double bodyY;
    final double bodyX;
    final double bodyRadiusY;
    final double bodyRadiusX;
    final double subcutaneous;
    final float[] texture;
    final float[] organs;
    final float[] lungs;
    final float[] fats;

    Patient(SplittableRandom r, Spec spec) {
      slices = spec.slicesPerCase() > 0 ? spec.slicesPerCase() : MIN_SLICES + r.nextInt(MAX_SLICES - MIN_SLICES + 1);
      int h = 216 + 8 * r.nextInt(6);
      int w = 200 + 8 * r.nextInt(8);
      height = spec.height() > 0 ? spec.height() : h;
      width = spec.width() > 0 ? spec.width() : w;
      double size = Math.min(height, width);
      cy = height * (0.5 + SynthFields.uniform(r, -0.08, 0.08));
      cx = width * (0.5 + SynthFields.uniform(r, -0.08, 0.08));
      driftY = SynthFields.uniform(r, -0.03, 0.03) * size;
      driftX = SynthFields.uniform(r, -0.03, 0.03) * size;
      rvAngle = Math.PI + SynthFields.uniform(r, -0.7, 0.7);
      rvAngleDrift = SynthFields.uniform(r, -0.25, 0.25);
      ellipseAngle = SynthFields.uniform(r, 0, Math.PI);
      ellipseDrift = SynthFields.uniform(r, -0.3, 0.3);
      axisRatio = SynthFields.uniform(r, 0.78, 1.0);
      endoRadius = size * SynthFields.uniform(r, 0.075, 0.105);
      thickness = size * SynthFields.uniform(r, 0.028, 0.045);
      thicknessVariation = SynthFields.uniform(r, 0.0, 0.3);
      thicknessAngle = SynthFields.uniform(r, 0, 2 * Math.PI);
      apexTaper = SynthFields.uniform(r, 0.8, 0.95);
      for (int k = 0; k < 3; k++) {
        harmonicAmp[k] = SynthFields.uniform(r, 0, 0.05);
        harmonicPhase[k] = SynthFields.uniform(r, 0, 2 * Math.PI);
        harmonicDrift[k] = SynthFields.uniform(r, -1.5, 1.5);
      }
      rvOffset = SynthFields.uniform(r, 0.65, 0.9);
      rvAlong = SynthFields.uniform(r, 0.75, 1.0);
      rvAcross1 = SynthFields.uniform(r, 1.1, 1.5);
      rvAcross2 = SynthFields.uniform(r, 1.1, 1.5);
      rvEnd = SynthFields.uniform(r, 0.6, 0.85);
      rvWall = SynthFields.uniform(r, 1.5, 3.0);
      papillarySpread = SynthFields.uniform(r, 0.5, 0.9);
      papillaryRadius = SynthFields.uniform(r, 1.6, 3.0);
      fatWidth = SynthFields.uniform(r, 0.0, 5.0);
      fatAngle = SynthFields.uniform(r, 0, 2 * Math.PI);
      aortaRadius = size * SynthFields.uniform(r, 0.035, 0.05);
      double aortaAngle = rvAngle + Math.PI + (r.nextBoolean() ? 1 : -1) * SynthFields.uniform(r, 0.6, 1.3);
      double aortaDistance = (endoRadius + thickness) * 2.0 + aortaRadius + SynthFields.uniform(r, 6, 16);
      aortaY = cy + StrictMath.sin(aortaAngle) * aortaDistance;
      aortaX = cx + StrictMath.cos(aortaAngle) * aortaDistance;
      double apex = r.nextDouble();
      apexCap = apex < 0.4;
      emptyApex = apex > 0.85;
      blood = SynthFields.uniform(r, 0.75, 0.95);
      rvBlood = blood * SynthFields.uniform(r, 0.85, 1.05);
      aortaBlood = blood * SynthFields.uniform(r, 0.9, 1.1);
      myocardium = SynthFields.uniform(r, 0.18, 0.3);
      tissue = SynthFields.uniform(r, 0.28, 0.4);
      organ = SynthFields.uniform(r, 0.4, 0.55);
      lung = SynthFields.uniform(r, 0.03, 0.08);
      fat = SynthFields.uniform(r, 0.65, 0.95);
      bodyY = height * (0.5 + SynthFields.uniform(r, -0.05, 0.05));
      bodyX = width * (0.5 + SynthFields.uniform(r, -0.05, 0.05));
      bodyRadiusY = height * SynthFields.uniform(r, 0.46, 0.62);
      bodyRadiusX = width * SynthFields.uniform(r, 0.48, 0.64);
      subcutaneous = SynthFields.uniform(r, 0.03, 0.08);
      int[] shape = {slices, height, width};
      texture = SynthFields.smooth(r, shape, 2.5, 4, 4);
      organs = SynthFields.fractal(r, shape, 2, 4, 28, 28);
      lungs = SynthFields.fractal(r, shape, 3, 5, 45, 45);
      fats = SynthFields.smooth(r, shape, 2, 9, 9);
    }

    /** The heart of one slice: pose, radii, and which parts exist. */
    private record Slice(boolean heart, double cy, double cx, double endo, double thick, double ellipseAngle,
        double rvAngle, double rvScale, double u, double reach) {}

    Slice slice(int s, boolean systole) {
      double u = slices == 1 ? 0 : s / (double) (slices - 1);
      boolean last = s == slices - 1 && slices > 2;
      double taper = StrictMath.pow(Math.max(0, 1 - apexTaper * apexTaper * u * u), 0.6);
      double endo = endoRadius * taper * (systole ? 0.68 : 1.0);
      double thick = thickness * (1 - 0.2 * u) * (systole ? 1.4 : 1.0);
      if (last && apexCap) {
        endo = 0;
      }
      double rvScale = u < rvEnd ? Math.sqrt(1 - u / rvEnd) * (systole ? 0.8 : 1.0) : 0;
      // The farthest any labelled or drawn part of the heart reaches from its centre (harmonics add <= 15%).
      double epiMax = endo * 1.15 + thick * (1 + thicknessVariation);
      double meanEpi = endo + thick;
      double rvMax = meanEpi * rvOffset
          + meanEpi * Math.max(rvAlong * rvScale, Math.max(rvAcross1, rvAcross2) * (0.5 + 0.5 * rvScale)) + rvWall;
      double reach = Math.max(epiMax + fatWidth * 1.3, rvScale > 0 ? rvMax : 0) + 1;
      return new Slice(!(last && emptyApex), cy + driftY * u, cx + driftX * u, endo, thick,
          ellipseAngle + ellipseDrift * u, rvAngle + rvAngleDrift * u, rvScale, u, reach);
    }

    Volume render(String name, boolean systole, SplittableRandom scan) {
      int plane = height * width;
      float[] image = new float[slices * plane];
      byte[] label = new byte[slices * plane];
      int[] shape = {slices, height, width};
      float[] flow = SynthFields.smooth(scan, shape, 3, 12, 12);
      float[] biasField = SynthFields.smooth(scan, shape, 6, 90, 90);
      double biasAmplitude = SynthFields.uniform(scan, 0.15, 0.3);
      double noise = SynthFields.uniform(scan, 0.035, 0.07) * blood;
      for (int s = 0; s < slices; s++) {
        renderSlice(slice(s, systole), s * plane, image, label, flow);
      }
      SynthFields.blur(image, shape, 0, 0.7, 0.7);
      SynthFields.bias(image, biasField, biasAmplitude);
      SynthFields.rician(image, noise, scan);
      SynthFields.minMax(image);
      return new Volume(name, slices, height, width, image, label);
    }

    private void renderSlice(Slice sl, int offset, float[] image, byte[] label, float[] flow) {
      double cosRv = StrictMath.cos(sl.rvAngle());
      double sinRv = StrictMath.sin(sl.rvAngle());
      double meanEpi = sl.endo() + sl.thick();
      double rvCy = sl.cy() + sinRv * meanEpi * rvOffset;
      double rvCx = sl.cx() + cosRv * meanEpi * rvOffset;
      double rvA = meanEpi * rvAlong * sl.rvScale();
      double rvB1 = meanEpi * rvAcross1 * (0.5 + 0.5 * sl.rvScale());
      double rvB2 = meanEpi * rvAcross2 * (0.5 + 0.5 * sl.rvScale());
      boolean hasRv = sl.rvScale() > 0.05;
      boolean papillary = sl.endo() > 8 && sl.u() < 0.75;
      double papR = papillaryRadius * Math.sqrt(Math.max(0.3, sl.endo() / endoRadius));
      double[] papY = new double[2];
      double[] papX = new double[2];
      for (int k = 0; k < 2; k++) {
        double a = sl.rvAngle() + Math.PI + (k == 0 ? papillarySpread : -papillarySpread);
        double rr = endoAt(sl, a) * 0.72;
        papY[k] = sl.cy() + StrictMath.sin(a) * rr;
        papX[k] = sl.cx() + StrictMath.cos(a) * rr;
      }
      double reach = sl.reach();
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
          int i = offset + y * width + x;
          double dy = y - sl.cy();
          double dx = x - sl.cx();
          double dist = Math.sqrt(dy * dy + dx * dx);
          // The organ-free margin around the heart gets a wobbly outline from the slowly varying organ field.
          double far = sl.heart() ? SynthFields.smoothstep(reach, reach + 12, dist + 6 * organs[i]) : 1;
          double value = background(i, y, x, far);
          double ay = y - aortaY;
          double ax = x - aortaX;
          double aorta = Math.sqrt(ay * ay + ax * ax);
          if (aorta < aortaRadius + 1.5 && value > 0) {
            value = aorta < aortaRadius ? aortaBlood * (1 + 0.05 * flow[i]) : myocardium;
          }
          byte cls = 0;
          if (sl.heart() && dist < reach) {
            double angle = StrictMath.atan2(dy, dx);
            double endo = endoAt(sl, angle);
            double epi = endo + sl.thick() * (1 + thicknessVariation * StrictMath.cos(angle - thicknessAngle));
            if (dist < endo) {
              cls = 3;
              value = blood * (1 + 0.05 * flow[i]);
              if (papillary) {
                for (int k = 0; k < 2; k++) {
                  double py = y - papY[k];
                  double px = x - papX[k];
                  if (py * py + px * px < papR * papR) {
                    value = myocardium * 1.1;
                  }
                }
              }
            } else if (dist < epi) {
              cls = 2;
              value = myocardium * (1 + 0.06 * texture[i]);
            } else {
              boolean wall = false;
              if (hasRv) {
                double ry = y - rvCy;
                double rx = x - rvCx;
                double along = rx * cosRv + ry * sinRv;
                double across = -rx * sinRv + ry * cosRv;
                double b = across > 0 ? rvB1 : rvB2;
                double q = (along / rvA) * (along / rvA) + (across / b) * (across / b);
                if (q < 1) {
                  cls = 1;
                  value = rvBlood * (1 + 0.05 * flow[i]);
                } else {
                  double qa = along / (rvA + rvWall);
                  double qb = across / (b + rvWall);
                  if (qa * qa + qb * qb < 1) {
                    wall = true;
                    value = myocardium * 1.05;
                  }
                }
              }
              if (cls == 0 && !wall) {
                double fw = fatWidth * Math.max(0, StrictMath.cos(angle - fatAngle) + 0.3 * StrictMath.cos(3 * angle));
                if (dist < epi + fw) {
                  value = fat * 0.9;
                }
              }
            }
          }
          image[i] = (float) value;
          label[i] = cls;
        }
      }
    }

    /** Endocardial radius at {@code angle}: an ellipse with a few smooth harmonics on its outline. */
    private double endoAt(Slice sl, double angle) {
      if (sl.endo() <= 0) {
        return 0;
      }
      double t = angle - sl.ellipseAngle();
      double c = axisRatio * StrictMath.cos(t);
      double s = StrictMath.sin(t);
      double r = sl.endo() * axisRatio / Math.sqrt(c * c + s * s);
      double wobble = 0;
      for (int k = 0; k < 3; k++) {
        wobble += harmonicAmp[k] * StrictMath.cos((k + 2) * angle + harmonicPhase[k] + harmonicDrift[k] * sl.u());
      }
      return r * (1 + wobble);
    }

    /** The tissue at pixel {@code i}; organs, lungs and fat blobs fade out near the heart ({@code far} near 0). */
    private double background(int i, int y, int x, double far) {
      double by = (y - bodyY) / bodyRadiusY;
      double bx = (x - bodyX) / bodyRadiusX;
      double rho = Math.sqrt(by * by + bx * bx) + 0.03 * organs[i];
      double body = 1 - SynthFields.smoothstep(0.98, 1.02, rho);
      if (body <= 0) {
        return 0;
      }
      double v = tissue * (1 + 0.12 * texture[i]);
      double organW = SynthFields.smoothstep(0.3, 0.6, organs[i]) * far;
      v += (organ * (1 + 0.08 * texture[i]) - v) * organW;
      double lungW = SynthFields.smoothstep(0.35, 0.6, lungs[i] + 0.8 * (rho - 0.55)) * far
          * (1 - SynthFields.smoothstep(0.8, 0.9, rho));
      v += (lung * (1 + 0.3 * texture[i]) - v) * lungW;
      double fatW = SynthFields.smoothstep(1.7, 2.1, fats[i]) * far;
      v += (fat * (1 + 0.05 * texture[i]) - v) * fatW;
      double subW = SynthFields.smoothstep(1 - subcutaneous - 0.02, 1 - subcutaneous, rho);
      v += (fat - v) * subW;
      return v * body;
    }
  }
}
