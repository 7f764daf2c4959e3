package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DataException;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.data.Volume;

/**
 * {@code ssl4mis check-data DIR}: the validation training runs before it starts, on every split, with a
 * summary of cases, shapes, classes and voxel counts.
 */
final class CheckDataCommand implements Command {
  @Override
  public String name() {
    return "check-data";
  }

  @Override
  public String summary() {
    return "validate a dataset folder (ACDC, LA or BraTS layout) and summarise it";
  }

  @Override
  public Options options() {
    return new Options(name())
        .option("num_classes", "0", "labels must lie in 0..num_classes-1 (0: only check they are 0..255)")
        .option("layout", "auto", "acdc, la, brats or auto (recognised by the list files)");
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "usage: ssl4mis check-data DIR [--num_classes N]   exit code 1 on the first invalid case");
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    List<String> args = o.positional();
    if (args.size() != 1) {
      throw new UsageException("check-data takes one dataset folder", "ssl4mis check-data ../data/ACDC --num_classes 4");
    }
    Path root = Path.of(args.get(0));
    String layoutName = o.get("layout");
    DatasetLayout layout = layoutName.equals("auto") ? DatasetLayout.detect(root)
        : DatasetLayout.of(DatasetLayout.parseKind(layoutName), root);
    int numClasses = o.getInt("num_classes");
    out.println(layout);
    int total = 0;
    for (Split split : Split.values()) {
      if (!Files.exists(layout.listFile(split))) {
        out.printf(Locale.ROOT, "%-5s  no %s%n", split.name().toLowerCase(Locale.ROOT), layout.listFile(split).getFileName());
        continue;
      }
      CaseDataset ds = CaseDataset.open(layout, split, Integer.MAX_VALUE, numClasses, false);
      TreeMap<Integer, Long> voxelsPerClass = new TreeMap<>();
      int[] min = null;
      int[] max = null;
      for (int i = 0; i < ds.size(); i++) {
        Volume v = ds.get(i); // throws DataException naming the file
        int[] s = v.shape();
        if (min == null) {
          min = s.clone();
          max = s.clone();
        } else if (min.length != s.length) {
          throw new DataException(ds.caseFile(i).file(), "is " + s.length + "D while earlier cases are " + min.length + "D");
        }
        for (int d = 0; d < s.length; d++) {
          min[d] = Math.min(min[d], s[d]);
          max[d] = Math.max(max[d], s[d]);
        }
        long[] counts = new long[256];
        for (int j = 0; j < v.voxels(); j++) {
          counts[v.labelAt(j)]++;
        }
        for (int c = 0; c < 256; c++) {
          if (counts[c] > 0) {
            voxelsPerClass.merge(c, counts[c], Long::sum);
          }
        }
      }
      total += ds.size();
      out.printf(Locale.ROOT, "%-5s  %d cases, shapes %s to %s, voxels per class %s%n", split.name().toLowerCase(Locale.ROOT),
          ds.size(), Arrays.toString(min), Arrays.toString(max), voxelsPerClass);
    }
    out.printf(Locale.ROOT, "ok: %d cases valid%n", total);
    return 0;
  }
}
