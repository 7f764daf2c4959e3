package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ssl4mis.evaluation.TrainingCurves;

/** {@code ssl4mis curves SNAPSHOT_DIR}: a PNG of a run's training curves ({@link TrainingCurves}). */
final class CurvesCommand implements Command {
  @Override
  public String name() {
    return "curves";
  }

  @Override
  public String summary() {
    return "draw a training run's losses, learning rate, validation Dice and HD95 as a PNG";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("out", "", "the PNG to write (default SNAPSHOT_DIR/training_curves.png)");
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    List<String> args = o.positional();
    if (args.size() != 1) {
      throw new UsageException("give one snapshot folder, got " + args.size() + " arguments",
          "ssl4mis curves ../model/ACDC/Uncertainty_Aware_Mean_Teacher_7_labeled/unet");
    }
    Path snapshot = Path.of(args.getFirst());
    if (!Files.isDirectory(snapshot)) {
      throw new CommandFailure("no snapshot folder " + snapshot, "give the folder train wrote log.txt and log/ into");
    }
    Path png = o.get("out").isBlank() ? snapshot.resolve(TrainingCurves.DEFAULT_FILE) : Path.of(o.get("out"));
    List<String> tags = TrainingCurves.write(snapshot, png);
    out.println("curves of " + String.join(", ", tags));
    out.println("picture  " + png);
    return 0;
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "usage: ssl4mis curves SNAPSHOT_DIR [--out FILE.png]",
        "Reads the TensorBoard event files in SNAPSHOT_DIR/log (else the values in SNAPSHOT_DIR/log.txt).");
  }
}
