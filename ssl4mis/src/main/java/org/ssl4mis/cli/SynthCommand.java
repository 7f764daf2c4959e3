package org.ssl4mis.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.ssl4mis.data.synth.AcdcPhantoms;
import org.ssl4mis.data.synth.LaPhantoms;

/**
 * {@code ssl4mis synth acdc|la --out DIR --cases N --seed S ...}: writes synthetic phantoms in the folder layout
 * of SSL4MIS's ACDC or LA data, so the pipelines can run end to end without the real data.
 */
public final class SynthCommand implements Command {
  @Override
  public String name() {
    return "synth";
  }

  @Override
  public String summary() {
    return "write synthetic ACDC-like or LA-like phantom data in the reference's folder layout";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("out", null, "the folder to write (created if missing; files of the same names are replaced)")
        .option("cases", null, "number of volumes (acdc: at least 3, la: at least 2)")
        .option("seed", "1337", "random seed; the same seed gives the same files")
        .option("slices_per_case", "0", "acdc: slices per volume (0: 8..12, varying per patient)")
        .option("size", "auto",
            "acdc: H,W (auto: 216..256 x 200..256, varying per patient); la: X,Y,Z (auto: 128,128,88)");
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "subcommands:",
        "  ssl4mis synth acdc --out DIR --cases N [--seed S] [--slices-per-case K] [--size H,W]",
        "      DIR/data/<case>.h5, DIR/data/slices/<case>_slice_<i>.h5, DIR/{train_slices,train,val,test}.list",
        "  ssl4mis synth la --out DIR --cases N [--seed S] [--size X,Y,Z]",
        "      DIR/2018LA_Seg_Training Set/<case>/mri_norm2.h5, DIR/{train,test}.list");
  }

  @Override
  public int run(Options o, PrintStream out) throws IOException {
    List<String> args = o.positional();
    if (args.size() != 1) {
      throw new UsageException("synth takes one dataset kind: acdc or la", "ssl4mis synth acdc --out DIR --cases 20");
    }
    Path root = Path.of(o.get("out"));
    if (Files.exists(root) && !Files.isDirectory(root)) {
      throw new UsageException("--out " + root + " exists and is not a folder", "name a folder");
    }
    int cases = o.getInt("cases");
    long seed = o.getLong("seed");
    long start = System.nanoTime();
    return switch (args.get(0)) {
      case "acdc" -> {
        int slices = o.getInt("slices_per_case");
        int[] size = size(o.get("size"), 2, "H,W");
        AcdcPhantoms.Spec spec = spec(() -> new AcdcPhantoms.Spec(cases, seed, slices,
            size == null ? 0 : size[0], size == null ? 0 : size[1]));
        AcdcPhantoms.Written w = AcdcPhantoms.write(root, spec);
        out.printf(Locale.ROOT, "wrote %d ACDC-like volumes (%d train / %d val / %d test, %d training slices) to %s"
            + " in %.1f s%n", w.cases(), w.train().size(), w.val().size(), w.test().size(), w.trainSlices().size(),
            root, (System.nanoTime() - start) / 1e9);
        yield 0;
      }
      case "la" -> {
        if (o.isSet("slices_per_case")) {
          throw new UsageException("--slices-per-case is for acdc only", "drop it for la");
        }
        int[] size = size(o.get("size"), 3, "X,Y,Z");
        int[] s = size == null ? LaPhantoms.DEFAULT_SIZE : size;
        for (int a = 0; a < 3; a++) {
          if (s[a] < LaPhantoms.PATCH[a]) {
            throw new UsageException("--size " + s[0] + "," + s[1] + "," + s[2]
                + " is smaller than the 3D training patch " + LaPhantoms.PATCH[0] + "," + LaPhantoms.PATCH[1] + ","
                + LaPhantoms.PATCH[2], "use at least that size");
          }
        }
        LaPhantoms.Spec spec = spec(() -> new LaPhantoms.Spec(cases, seed, s[0], s[1], s[2]));
        LaPhantoms.Written w = LaPhantoms.write(root, spec);
        out.printf(Locale.ROOT, "wrote %d LA-like volumes of %dx%dx%d (%d train / %d test) to %s in %.1f s%n",
            spec.cases(), s[0], s[1], s[2], w.train().size(), w.test().size(), root, (System.nanoTime() - start) / 1e9);
        yield 0;
      }
      default -> throw new UsageException("unknown dataset kind '" + args.get(0) + "'", "use acdc or la");
    };
  }

  /** Builds a spec, turning its validation failure into a usage error. */
  private static <T> T spec(Supplier<T> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "ssl4mis synth --help");
    }
  }

  /** Parses {@code "A,B[,C]"} with {@code rank} positive integers; null for {@code auto}. */
  private static int[] size(String text, int rank, String form) {
    if (text.isBlank() || text.strip().equals("auto")) {
      return null;
    }
    String[] parts = text.split(",");
    if (parts.length != rank) {
      throw new UsageException("--size expects " + form + ", got '" + text + "'", "for example --size "
          + (rank == 2 ? "256,224" : "128,128,88"));
    }
    int[] size = new int[rank];
    for (int i = 0; i < rank; i++) {
      try {
        size[i] = Integer.parseInt(parts[i].strip());
      } catch (NumberFormatException e) {
        throw new UsageException("--size expects " + form + " with integers, got '" + text + "'",
            "ssl4mis synth --help");
      }
      if (size[i] <= 0) {
        throw new UsageException("--size values must be positive, got '" + text + "'", "ssl4mis synth --help");
      }
    }
    return size;
  }
}
