package org.ssl4mis.data.prepare;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.ssl4mis.data.DataException;
import org.ssl4mis.data.prepare.NiftiFiles.CasePair;
import org.ssl4mis.data.prepare.PreparedCase.Normalization;

/**
 * {@code ssl4mis prepare acdc}: SSL4MIS's ACDC preprocessing ({@code code/dataloaders/acdc_data_processing.py})
 * from the raw ACDC release to the layout of the reference's {@code data/ACDC} folder.
 *
 * <p><b>Input</b>: a folder searched recursively for {@code patientNNN_frameMM.nii[.gz]} with
 * {@code patientNNN_frameMM_gt.nii[.gz]} beside it (the ACDC release's {@code patientNNN/} folders, under
 * {@code training/}, {@code testing/} or {@code database/...}); the {@code _4d} cine files and
 * {@code Info.cfg} are not used; frames without a {@code _gt} file are skipped (the reference script does the
 * same) and counted in the report.
 *
 * <p><b>Case names</b>: the reference's lists name every patient's two annotated frames {@code frame01} and
 * {@code frame02} (end-diastole, end-systole), while the raw files carry the frame numbers of the cine sequence
 * ({@code patient001_frame12}); so a patient's annotated frames, sorted by frame number, are renamed
 * {@code frame01}, {@code frame02}, ... unless {@code renameFrames} is off.
 *
 * <p><b>Split</b>: patients that the reference lists name go where those lists put them, in their order
 * ({@link AcdcReferenceSplit}: 70/10/20 patients of the 100 ACDC training patients); any other patients (the
 * 50 ACDC test patients, say) are split by patient with the seeded {@link SplitPlan} and appended to the lists.
 * With {@code referenceSplit} off every patient is split that way. A patient's frames always stay together.
 *
 * <p>The output is {@link #writeAcdcLayout the ACDC layout}.
 */
public final class AcdcPreparer {
  private static final Pattern FRAME = Pattern.compile("(patient(\\d+))_frame(\\d+)\\.nii(\\.gz)?");

  private AcdcPreparer() {}

  /**
   * @param niftiDir the raw ACDC folder
   * @param outDir the output folder (created)
   * @param referenceSplit whether patients the reference lists name go where those lists put them
   * @param split the shares for the other patients
   * @param seed the shuffle seed of the split
   * @param renameFrames whether annotated frames become frame01, frame02, ... per patient
   * @param slices whether to write the 2D slice files and {@code train_slices.list}
   */
  public record Options(Path niftiDir, Path outDir, boolean referenceSplit, SplitPlan split, long seed,
      boolean renameFrames, boolean slices) {}

  /** One annotated frame found in the raw folder. */
  record Frame(String patient, int patientNumber, int frame, Path image, Path label) {}

  public static PrepareReport run(Options o, PrintStream log) throws IOException {
    if (!Files.isDirectory(o.niftiDir())) {
      throw new DataException(o.niftiDir(), "--nifti: no such folder (the raw ACDC data: patientNNN/patientNNN_frameMM.nii.gz"
          + " with patientNNN_frameMM_gt.nii.gz)");
    }
    List<String> notes = new ArrayList<>();
    List<Frame> frames = find(o.niftiDir(), notes);
    if (frames.isEmpty()) {
      throw new DataException(o.niftiDir(), "no ACDC frames with ground truth found (looked for"
          + " patientNNN_frameMM.nii[.gz] with patientNNN_frameMM_gt.nii[.gz] beside it, in all subfolders)");
    }
    // Cases per patient, frames in order.
    Map<Integer, List<Frame>> byPatient = new TreeMap<>();
    for (Frame f : frames) {
      byPatient.computeIfAbsent(f.patientNumber(), k -> new ArrayList<>()).add(f);
    }
    Map<Integer, List<CasePair>> casesByPatient = new TreeMap<>();
    for (Map.Entry<Integer, List<Frame>> e : byPatient.entrySet()) {
      List<Frame> fs = e.getValue();
      fs.sort(Comparator.comparingInt(Frame::frame));
      List<CasePair> cases = new ArrayList<>();
      for (int i = 0; i < fs.size(); i++) {
        Frame f = fs.get(i);
        int number = o.renameFrames() ? i + 1 : f.frame();
        cases.add(new CasePair(f.patient() + String.format(Locale.ROOT, "_frame%02d", number), f.image(), f.label()));
      }
      casesByPatient.put(e.getKey(), cases);
    }
    SplitPlan.Parts parts = split(casesByPatient, o, notes);
    Map<String, CasePair> byName = new LinkedHashMap<>();
    casesByPatient.values().forEach(l -> l.forEach(c -> byName.put(c.name(), c)));
    return writeAcdcLayout(o.outDir(), byName, parts, o.slices(), Normalization.MIN_MAX, false, notes, log);
  }

  private static List<Frame> find(Path dir, List<String> notes) throws DataException {
    List<Frame> out = new ArrayList<>();
    Map<String, Path> seen = new TreeMap<>();
    int skipped = 0;
    List<Path> candidates;
    try (Stream<Path> s = Files.walk(dir, 8)) {
      candidates = s.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList();
    } catch (IOException | UncheckedIOException e) {
      throw new DataException(dir, "cannot be listed: " + e.getMessage(), e);
    }
    List<String> skippedNames = new ArrayList<>();
    for (Path p : candidates) {
      Matcher m = FRAME.matcher(p.getFileName().toString());
      if (!m.matches()) {
        continue;
      }
      String stem = m.group(1) + "_frame" + m.group(3);
      Path label = null;
      for (String ext : new String[] {".nii.gz", ".nii"}) {
        Path gt = p.resolveSibling(stem + "_gt" + ext);
        if (Files.isRegularFile(gt)) {
          label = gt;
          break;
        }
      }
      if (label == null) {
        skipped++;
        if (skippedNames.size() < 5) {
          skippedNames.add(p.getFileName().toString());
        }
        continue;
      }
      String key = m.group(1) + "_frame" + Integer.parseInt(m.group(3));
      Path before = seen.put(key, p);
      if (before != null) {
        throw new DataException(p, "the same frame is also at " + before + "; keep one copy of each patient");
      }
      out.add(new Frame(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), p, label));
    }
    if (skipped > 0) {
      notes.add("skipped " + skipped + " frame(s) without a _gt file (as the reference does): "
          + String.join(", ", skippedNames) + (skipped > skippedNames.size() ? ", ..." : ""));
    }
    return out;
  }

  private static SplitPlan.Parts split(Map<Integer, List<CasePair>> casesByPatient, Options o, List<String> notes) {
    List<String> train = new ArrayList<>();
    List<String> val = new ArrayList<>();
    List<String> test = new ArrayList<>();
    java.util.Set<Integer> placed = new java.util.HashSet<>();
    if (o.referenceSplit()) {
      int[] counts = new int[3];
      List<List<Integer>> reference = List.of(AcdcReferenceSplit.TRAIN, AcdcReferenceSplit.VAL, AcdcReferenceSplit.TEST);
      List<List<String>> targets = List.of(train, val, test);
      for (int k = 0; k < 3; k++) {
        for (int patient : reference.get(k)) {
          List<CasePair> cases = casesByPatient.get(patient);
          if (cases != null) {
            for (CasePair c : cases) {
              targets.get(k).add(c.name());
            }
            placed.add(patient);
            counts[k]++;
          }
        }
      }
      if (!placed.isEmpty()) {
        notes.add(String.format(Locale.ROOT, "reference split (SSL4MIS data/ACDC lists): %d/%d/%d patients in"
            + " train/val/test", counts[0], counts[1], counts[2]));
      }
    }
    Map<String, Integer> others = new TreeMap<>();
    for (int patient : casesByPatient.keySet()) {
      if (!placed.contains(patient)) {
        others.put(AcdcReferenceSplit.patient(patient), patient);
      }
    }
    if (!others.isEmpty()) {
      SplitPlan.Parts p = o.split().apply(new ArrayList<>(others.keySet()), o.seed());
      List<List<String>> from = List.of(p.train(), p.val(), p.test());
      List<List<String>> targets = List.of(train, val, test);
      for (int k = 0; k < 3; k++) {
        for (String patientName : from.get(k)) {
          for (CasePair c : casesByPatient.get(others.get(patientName))) {
            targets.get(k).add(c.name());
          }
        }
      }
      notes.add(String.format(Locale.ROOT, "%d patient(s)%s split %s with seed %d: %d/%d/%d in train/val/test",
          others.size(), o.referenceSplit() ? " not in the reference lists" : "", o.split(), o.seed(),
          p.train().size(), p.val().size(), p.test().size()));
    }
    return new SplitPlan.Parts(train, val, test);
  }

  /**
   * Writes the ACDC layout of SSL4MIS's {@code data/ACDC} folder under {@code root}:
   *
   * <ul>
   *   <li>{@code data/<case>.h5} for every case: {@code image} float32 (normalised) and {@code label} uint8,
   *       shape {@code (z, y, x)} (SimpleITK's array order, which the reference reads with);
   *   <li>with {@code slices}, {@code data/slices/<case>_slice_<z>.h5} for every case and every z from 0 (the
   *       reference script slices all cases): {@code image} and {@code label} of shape {@code (y, x)};
   *   <li>{@code train.list}, {@code val.list}, {@code test.list}: case names, one per line;
   *   <li>with {@code slices}, {@code train_slices.list}: the training cases' slice names, case by case in
   *       {@code train.list} order, z ascending.
   * </ul>
   *
   * All datasets are gzip-compressed, as the reference's {@code create_dataset(..., compression="gzip")}.
   */
  static PrepareReport writeAcdcLayout(Path root, Map<String, CasePair> cases, SplitPlan.Parts parts,
      boolean slices, Normalization normalization, boolean binarize, List<String> notes, PrintStream log)
      throws IOException {
    Files.createDirectories(root);
    Map<String, List<String>> slicesByCase = new LinkedHashMap<>();
    int sliceFiles = 0;
    int done = 0;
    List<String> order = new ArrayList<>(parts.train());
    order.addAll(parts.val());
    order.addAll(parts.test());
    for (String name : order) {
      CasePair pair = cases.get(name);
      PreparedCase c = PreparedCase.load(name, pair.image(), pair.label(), normalization, binarize);
      LayoutWriter.writeAcdcVolume(root, c);
      if (slices) {
        List<String> names = LayoutWriter.writeAcdcSlices(root, c);
        slicesByCase.put(name, names);
        sliceFiles += names.size();
      }
      done++;
      log.printf(Locale.ROOT, "[%d/%d] %s  %dx%dx%d%s  <- %s%n", done, order.size(), name, c.shape()[0], c.shape()[1],
          c.shape()[2], slices ? ", " + c.slices() + " slices" : "", pair.image());
    }
    List<Path> lists = new ArrayList<>();
    lists.add(root.resolve("train.list"));
    LayoutWriter.writeList(root.resolve("train.list"), parts.train());
    lists.add(root.resolve("val.list"));
    LayoutWriter.writeList(root.resolve("val.list"), parts.val());
    lists.add(root.resolve("test.list"));
    LayoutWriter.writeList(root.resolve("test.list"), parts.test());
    if (slices) {
      List<String> trainSlices = new ArrayList<>();
      for (String name : parts.train()) {
        trainSlices.addAll(slicesByCase.get(name));
      }
      lists.add(root.resolve("train_slices.list"));
      LayoutWriter.writeList(root.resolve("train_slices.list"), trainSlices);
    }
    return new PrepareReport(root, "acdc", parts.train(), parts.val(), parts.test(), order.size(), sliceFiles, lists,
        notes);
  }
}
