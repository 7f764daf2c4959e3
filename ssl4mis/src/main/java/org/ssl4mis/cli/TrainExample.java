package org.ssl4mis.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the single-file training examples ({@code examples/Train*.java}) share: {@code train --method M} with the
 * method's script defaults, any {@code train} option overriding them, and optionally a synthetic dataset made
 * first, so an example runs without the real data.
 *
 * <p>Options besides those of {@code ssl4mis train}:
 * <ul>
 *   <li>{@code --synthetic N}: make an N-case synthetic set ({@code synth acdc}, or {@code synth la} with
 *       {@code --dim 3}) under {@code --synthetic_dir} (default {@code ssl4mis-examples/ACDC} or {@code .../LA};
 *       kept and reused when it is already there) and train on it; the snapshot then goes under
 *       {@code ssl4mis-examples/model} unless {@code --snapshot_root} is given;
 *   <li>{@code --synthetic_size H,W} (or {@code X,Y,Z}): the size of its images ({@code synth --size}).
 * </ul>
 * The run's console lines end with where the checkpoint, the log and the TensorBoard files are.
 */
public final class TrainExample {
  private TrainExample() {}

  /** Runs {@code train --method method --dim dim args...} (after making the synthetic set); returns the exit code. */
  public static int run(String method, int dim, String... args) {
    List<String> rest = new ArrayList<>(List.of(args));
    String synthetic;
    String syntheticSize;
    String syntheticDir;
    int d;
    try {
      synthetic = take(rest, "synthetic");
      syntheticSize = take(rest, "synthetic_size");
      syntheticDir = take(rest, "synthetic_dir");
      String given = last(rest, "dim");
      d = given == null ? dim : Integer.parseInt(given.strip());
    } catch (IllegalArgumentException e) {
      System.err.println("usage: " + e.getMessage());
      return 2;
    }
    List<String> line = new ArrayList<>(List.of("train", "--method", method, "--dim", Integer.toString(d)));
    if (synthetic != null) {
      if (last(rest, "root_path") != null) {
        System.err.println("usage: --synthetic N makes the data to train on; drop --root_path (or --synthetic)");
        return 2;
      }
      String kind = d == 3 ? "la" : "acdc";
      Path data = Path.of(syntheticDir != null ? syntheticDir : "ssl4mis-examples/" + (d == 3 ? "LA" : "ACDC"));
      if (Files.exists(data.resolve(d == 3 ? "train.list" : "train_slices.list"))) {
        System.out.println("using the synthetic data already in " + data + " (delete it to make it again)");
      } else {
        List<String> synth = new ArrayList<>(List.of("synth", kind, "--out", data.toString(), "--cases", synthetic));
        if (syntheticSize != null) {
          synth.addAll(List.of("--size", syntheticSize));
        }
        int code = Main.run(synth.toArray(String[]::new));
        if (code != 0) {
          return code;
        }
      }
      line.addAll(List.of("--root_path", data.toString()));
      if (last(rest, "snapshot_root") == null) {
        line.addAll(List.of("--snapshot_root", "ssl4mis-examples/model"));
      }
    } else if (syntheticSize != null || syntheticDir != null) {
      System.err.println("usage: --synthetic_size and --synthetic_dir need --synthetic N");
      return 2;
    }
    line.addAll(rest);
    return Main.run(line.toArray(String[]::new));
  }

  /** The value of the last {@code --name value} or {@code --name=value} in the arguments, or null. */
  private static String last(List<String> args, String name) {
    String value = null;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if ((a.equals("--" + name) || a.equals("--" + name.replace('_', '-'))) && i + 1 < args.size()) {
        value = args.get(i + 1);
      } else if (a.startsWith("--" + name + "=") || a.startsWith("--" + name.replace('_', '-') + "=")) {
        value = a.substring(a.indexOf('=') + 1);
      }
    }
    return value;
  }

  /** Removes {@code --name value} (or {@code --name=value}) from the arguments and returns the value, or null. */
  private static String take(List<String> args, String name) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--" + name) || a.equals("--" + name.replace('_', '-'))) {
        if (i + 1 >= args.size()) {
          throw new IllegalArgumentException("--" + name + " needs a value");
        }
        args.remove(i);
        return args.remove(i);
      }
      if (a.startsWith("--" + name + "=") || a.startsWith("--" + name.replace('_', '-') + "=")) {
        args.remove(i);
        return a.substring(a.indexOf('=') + 1);
      }
    }
    return null;
  }
}
