package org.ssl4mis.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.ssl4mis.data.prepare.AcdcPreparer;
import org.ssl4mis.data.prepare.NiftiPairPreparer;
import org.ssl4mis.data.prepare.PrepareReport;
import org.ssl4mis.data.prepare.SplitPlan;

/**
 * {@code ssl4mis prepare acdc --nifti DIR --out DIR} and
 * {@code ssl4mis prepare nifti --images DIR_OR_GLOB --labels DIR_OR_GLOB --out DIR}: NIfTI volumes to the HDF5
 * layouts the training and test commands read (SSL4MIS's {@code data/ACDC}, UA-MT's LA).
 */
final class PrepareCommand implements Command {
  private static final List<String> ACDC_ONLY = List.of("nifti", "reference_split", "rename_frames");
  private static final List<String> NIFTI_ONLY = List.of("images", "labels", "layout", "binarize");

  @Override
  public String name() {
    return "prepare";
  }

  @Override
  public String summary() {
    return "convert NIfTI volumes (raw ACDC, or any image/label pairs) to the HDF5 dataset layouts";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("out", null, "output folder (created; files of the same names are replaced)")
        .option("nifti", null, "acdc: the raw ACDC folder (patientNNN/patientNNN_frameMM[_gt].nii.gz, searched recursively)")
        .option("images", null, "nifti: folder or glob of the images, e.g. 'imagesTr' or 'data/*_0000.nii.gz'")
        .option("labels", null, "nifti: folder or glob of the labels")
        .option("layout", "acdc", "nifti: acdc (2D slices + volumes, min-max) or la (UA-MT LA, z-score)")
        .option("split", null, "train/val/test shares, or train/test (default: 70/10/20; layout la: 80/20)")
        .option("seed", "1337", "seed of the split's shuffle")
        .option("slices", "true", "acdc layout: write the 2D slices and train_slices.list (true/false)")
        .option("reference_split", "true", "acdc: put patients the reference's lists name where they put them (true/false)")
        .option("rename_frames", "true", "acdc: name each patient's annotated frames frame01, frame02, ... (true/false)")
        .option("binarize", "false", "nifti: store every non-zero label as 1 (true/false)");
  }

  @Override
  public List<String> helpNotes() {
    return List.of("",
        "subcommands:",
        "  ssl4mis prepare acdc --nifti RAW_ACDC --out data/ACDC",
        "  ssl4mis prepare nifti --images DIR_OR_GLOB --labels DIR_OR_GLOB --out DIR [--layout acdc|la] [--split 70/10/20]",
        "",
        "acdc layout (SSL4MIS data/ACDC; prepare acdc and prepare nifti --layout acdc):",
        "  data/<case>.h5                  image float32 min-max normalised per volume, label uint8; shape (z, y, x)",
        "  data/slices/<case>_slice_<z>.h5 the same per z slice (z from 0), shape (y, x), for every case",
        "  train.list val.list test.list   case names; train_slices.list: the training cases' slices",
        "la layout (UA-MT LA; prepare nifti --layout la):",
        "  2018LA_Seg_Training Set/<case>/mri_norm2.h5  image float32 z-scored per volume, label uint8; shape (x, y, z)",
        "  train.list test.list (val.list with a val share)",
        "",
        "prepare acdc: frames are renamed frame01/frame02 per patient (sorted by frame number); patients of the",
        "reference's lists keep its split (70/10/20 of patients 1-100), others are split by --split/--seed per patient.",
        "prepare nifti pairs images and labels by file name: the image stem less _0000/_image/_img equals the label",
        "stem less _gt/_seg/_label/_labels/_mask/_lbl; the case is named by that stem. Labels must be integers 0..255.");
  }

  @Override
  public int run(Options o, PrintStream out) throws IOException {
    List<String> args = o.positional();
    if (args.size() != 1) {
      throw new UsageException(args.isEmpty() ? "prepare needs a subcommand: acdc or nifti"
          : "prepare takes one subcommand, got " + args, "ssl4mis prepare --help");
    }
    String sub = args.get(0);
    long seed = o.getLong("seed");
    Path outDir = Path.of(o.get("out"));
    PrepareReport report;
    switch (sub) {
      case "acdc" -> {
        refuse(o, NIFTI_ONLY, "acdc");
        AcdcPreparer.Options options = new AcdcPreparer.Options(Path.of(o.get("nifti")), outDir,
            bool(o, "reference_split"), split(o, "70/10/20"), seed, bool(o, "rename_frames"), bool(o, "slices"));
        report = AcdcPreparer.run(options, out);
      }
      case "nifti" -> {
        refuse(o, ACDC_ONLY, "nifti");
        NiftiPairPreparer.Layout layout;
        try {
          layout = NiftiPairPreparer.Layout.parse(o.get("layout"));
        } catch (IllegalArgumentException e) {
          throw new UsageException(e.getMessage(), "--layout acdc or --layout la");
        }
        if (layout == NiftiPairPreparer.Layout.LA && o.isSet("slices") && bool(o, "slices")) {
          throw new UsageException("--slices is for the acdc layout; the la layout is 3D", "leave out --slices");
        }
        NiftiPairPreparer.Options options = new NiftiPairPreparer.Options(o.get("images"), o.get("labels"), outDir,
            layout, split(o, layout == NiftiPairPreparer.Layout.LA ? "80/20" : "70/10/20"), seed,
            layout == NiftiPairPreparer.Layout.ACDC && bool(o, "slices"), bool(o, "binarize"));
        report = NiftiPairPreparer.run(options, out);
      }
      default -> throw new UsageException("unknown prepare subcommand '" + sub + "'", "use acdc or nifti");
    }
    print(report, out);
    return 0;
  }

  private static void refuse(Options o, List<String> names, String sub) {
    for (String n : names) {
      if (o.isSet(n)) {
        throw new UsageException("--" + n + " does not apply to 'prepare " + sub + "'", "ssl4mis prepare --help");
      }
    }
  }

  private static boolean bool(Options o, String name) {
    String v = o.get(name).strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "true", "yes", "1" -> true;
      case "false", "no", "0" -> false;
      default -> throw new UsageException("--" + name + " is true or false, got '" + o.get(name) + "'",
          "ssl4mis prepare --help");
    };
  }

  private static SplitPlan split(Options o, String fallback) {
    String text = o.isSet("split") ? o.get("split") : fallback;
    try {
      return SplitPlan.parse(text);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "e.g. --split 70/10/20 or --split 80/20");
    }
  }

  private static void print(PrepareReport r, PrintStream out) {
    out.printf(Locale.ROOT, "wrote %s layout to %s: %d cases (%d/%d/%d train/val/test)%s%n", r.layout(), r.root(),
        r.caseFiles(), r.train().size(), r.val().size(), r.test().size(),
        r.sliceFiles() > 0 ? ", " + r.sliceFiles() + " slice files" : "");
    for (Path list : r.lists()) {
      out.println("  " + list);
    }
    for (String note : r.notes()) {
      out.println("note: " + note);
    }
  }
}
