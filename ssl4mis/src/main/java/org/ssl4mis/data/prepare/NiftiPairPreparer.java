package org.ssl4mis.data.prepare;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ssl4mis.data.prepare.NiftiFiles.CasePair;
import org.ssl4mis.data.prepare.PreparedCase.Normalization;

/**
 * {@code ssl4mis prepare nifti}: any image/label NIfTI pairs to a reference layout.
 *
 * <ul>
 *   <li>{@link Layout#ACDC}: what {@code prepare acdc} writes ({@link AcdcPreparer#writeAcdcLayout}): per-volume
 *       min-max normalised float32 {@code image} and uint8 {@code label} in {@code data/<case>.h5} (shape
 *       {@code (z, y, x)}), optionally the 2D slices {@code data/slices/<case>_slice_<z>.h5} (shape
 *       {@code (y, x)}) with {@code train_slices.list}, and {@code train.list}, {@code val.list},
 *       {@code test.list}. For the 2D training scripts ({@code BaseDataSets}) and the ACDC test script.
 *   <li>{@link Layout#LA}: UA-MT's left atrium layout: {@code 2018LA_Seg_Training Set/<case>/mri_norm2.h5} with
 *       z-score normalised float32 {@code image} ({@code (v - mean) / std} over the volume) and uint8
 *       {@code label}, shape {@code (x, y, z)} in C order; {@code train.list} and {@code test.list} (and
 *       {@code val.list} when the split has a validation share) beside the folder. For the 3D training scripts.
 *       UA-MT's random-margin crop around the atrium is not applied.
 * </ul>
 *
 * Labels are stored as they are (integers 0..255) or, with {@code binarize}, as 1 wherever non-zero (UA-MT
 * keeps {@code label == 255} of the LA masks; SSL4MIS's BraTS preprocessing sets {@code label > 0} to 1).
 */
public final class NiftiPairPreparer {
  private NiftiPairPreparer() {}

  /** The output layouts. */
  public enum Layout {
    ACDC,
    LA;

    public static Layout parse(String s) {
      return switch (s.strip().toLowerCase(Locale.ROOT)) {
        case "acdc" -> ACDC;
        case "la", "laheart", "la2018" -> LA;
        default -> throw new IllegalArgumentException("layout '" + s + "' is not acdc or la");
      };
    }
  }

  /**
   * @param images a folder or glob of image files
   * @param labels a folder or glob of label files
   * @param outDir the output folder (created)
   * @param layout the output layout
   * @param split the train/val/test shares
   * @param seed the shuffle seed of the split
   * @param slices ACDC layout: whether to write 2D slices and {@code train_slices.list}
   * @param binarize whether non-zero labels become 1
   */
  public record Options(String images, String labels, Path outDir, Layout layout, SplitPlan split, long seed,
      boolean slices, boolean binarize) {}

  public static PrepareReport run(Options o, PrintStream log) throws IOException {
    List<Path> images = NiftiFiles.find(o.images(), "--images");
    List<Path> labels = NiftiFiles.find(o.labels(), "--labels");
    List<CasePair> pairs = NiftiFiles.pair(images, labels);
    Map<String, CasePair> byName = new LinkedHashMap<>();
    for (CasePair p : pairs) {
      byName.put(p.name(), p);
    }
    SplitPlan.Parts parts = o.split().apply(new ArrayList<>(byName.keySet()), o.seed());
    List<String> notes = new ArrayList<>();
    notes.add(String.format(Locale.ROOT, "%d cases split %s with seed %d: %d/%d/%d in train/val/test", pairs.size(),
        o.split(), o.seed(), parts.train().size(), parts.val().size(), parts.test().size()));
    if (o.layout() == Layout.ACDC) {
      return AcdcPreparer.writeAcdcLayout(o.outDir(), byName, parts, o.slices(), Normalization.MIN_MAX, o.binarize(),
          notes, log);
    }
    return writeLaLayout(o.outDir(), byName, parts, o.binarize(), notes, log);
  }

  static PrepareReport writeLaLayout(Path root, Map<String, CasePair> cases, SplitPlan.Parts parts, boolean binarize,
      List<String> notes, PrintStream log) throws IOException {
    Files.createDirectories(root);
    List<String> order = new ArrayList<>(parts.train());
    order.addAll(parts.val());
    order.addAll(parts.test());
    int done = 0;
    for (String name : order) {
      CasePair pair = cases.get(name);
      PreparedCase c = PreparedCase.load(name, pair.image(), pair.label(), Normalization.Z_SCORE, binarize);
      LayoutWriter.writeLaCase(root, c);
      done++;
      log.printf(Locale.ROOT, "[%d/%d] %s  %dx%dx%d  <- %s%n", done, order.size(), name, c.shape()[0], c.shape()[1],
          c.shape()[2], pair.image());
    }
    List<Path> lists = new ArrayList<>();
    lists.add(root.resolve("train.list"));
    LayoutWriter.writeList(root.resolve("train.list"), parts.train());
    lists.add(root.resolve("test.list"));
    LayoutWriter.writeList(root.resolve("test.list"), parts.test());
    if (!parts.val().isEmpty()) {
      lists.add(root.resolve("val.list"));
      LayoutWriter.writeList(root.resolve("val.list"), parts.val());
    }
    return new PrepareReport(root, "la", parts.train(), parts.val(), parts.test(), order.size(), 0, lists, notes);
  }
}
