package org.ssl4mis.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.ssl4mis.io.Checkpoints;
import org.ssl4mis.io.json.Json;
import org.ssl4mis.io.pth.Checkpoint;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.PthReader;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.io.pth.StateDictLocator;
import org.ssl4mis.io.safetensors.CheckpointConversion;
import org.ssl4mis.io.safetensors.Safetensors;
import org.ssl4mis.io.safetensors.SafetensorsFile;

/**
 * {@code ssl4mis ckpt inspect FILE [--json]} and {@code ssl4mis ckpt convert IN OUT}: look into weight files
 * without Python, and move them between {@code .pth} and {@code .safetensors}.
 */
final class CkptCommand implements Command {
  @Override
  public String name() {
    return "ckpt";
  }

  @Override
  public String summary() {
    return "inspect a .pth/.safetensors file, or convert between the two";
  }

  @Override
  public Options options() {
    return new Options(name())
        .flag("json", "inspect: print JSON instead of a table")
        .option("limit", "0", "inspect: list at most N tensors in the table (0: all)");
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "subcommands:", "  ssl4mis ckpt inspect FILE [--json]   format, keys, shapes, dtypes, parameter count, metadata",
        "  ssl4mis ckpt convert IN OUT           .pth <-> .safetensors, chosen by the extensions");
  }

  @Override
  public int run(Options o, PrintStream out) throws IOException {
    List<String> args = o.positional();
    if (args.isEmpty()) {
      throw new UsageException("ckpt needs a subcommand: inspect FILE or convert IN OUT", "ssl4mis ckpt --help");
    }
    return switch (args.get(0)) {
      case "inspect" -> {
        if (args.size() != 2) {
          throw new UsageException("ckpt inspect takes one FILE", "ssl4mis ckpt inspect model.pth");
        }
        yield inspect(existing(args.get(1)), o.getFlag("json"), o.getInt("limit"), out);
      }
      case "convert" -> {
        if (args.size() != 3) {
          throw new UsageException("ckpt convert takes IN and OUT", "ssl4mis ckpt convert model.pth model.safetensors");
        }
        yield convert(existing(args.get(1)), Path.of(args.get(2)), out);
      }
      default -> throw new UsageException("unknown ckpt subcommand '" + args.get(0) + "'", "use inspect or convert");
    };
  }

  private static Path existing(String name) {
    Path p = Path.of(name);
    if (!Files.isRegularFile(p)) {
      throw new UsageException("no such file: " + p, "check the path");
    }
    return p;
  }

  private static int convert(Path in, Path out, PrintStream console) throws IOException {
    String from = format(in);
    String to = format(out);
    CheckpointConversion.Result r;
    if (from.equals("pth") && to.equals("safetensors")) {
      r = CheckpointConversion.pthToSafetensors(in, out);
    } else if (from.equals("safetensors") && to.equals("pth")) {
      r = CheckpointConversion.safetensorsToPth(in, out);
    } else {
      throw new UsageException("convert goes from .pth to .safetensors or back; got " + from + " to " + to,
          "name the output with the other extension");
    }
    console.printf(Locale.ROOT, "wrote %s: %d tensors from %s%s%n", out, r.tensors(), r.location(),
        r.metadataKept() ? ", _metadata kept" : "");
    if (!r.dropped().isEmpty()) {
      console.println("not converted (not part of the state dict): " + String.join(", ", r.dropped()));
    }
    return 0;
  }

  private static String format(Path p) {
    try {
      return Checkpoints.formatOf(p);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage(), "use .pth, .pt or .safetensors");
    }
  }

  private static int inspect(Path file, boolean json, int limit, PrintStream out) throws IOException {
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("file", file.toString());
    report.put("bytes", Files.size(file));
    Map<String, RawTensor> tensors;
    String location;
    Object metadata;
    List<String> others = List.of();
    if (format(file).equals("safetensors")) {
      SafetensorsFile st = Safetensors.read(file);
      report.put("format", "safetensors");
      tensors = st.tensors();
      location = "the file";
      metadata = st.metadata();
    } else {
      Checkpoint c = PthReader.read(file);
      report.put("format", "pth (" + c.format().name().toLowerCase(Locale.ROOT) + ", archive '" + c.archiveName()
          + "', " + c.byteOrder() + ")");
      report.put("root", StateDictLocator.typeName(c.root()) + outline(c.root()));
      StateDictLocator.Located found;
      try {
        found = StateDictLocator.locate(c);
      } catch (CheckpointFormatException e) {
        report.put("state_dict", "none: " + e.reason());
        print(report, List.of(), json, limit, out);
        return 0;
      }
      tensors = found.tensors();
      location = found.location();
      metadata = found.metadata() == null ? null : "_metadata of " + ((Map<?, ?>) found.metadata()).size() + " modules";
      others = found.otherRootEntries();
    }
    long elements = 0;
    Map<String, Integer> dtypes = new TreeMap<>();
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
      RawTensor t = e.getValue();
      elements += t.numel();
      dtypes.merge(t.dtype().pythonName(), 1, Integer::sum);
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("name", e.getKey());
      row.put("dtype", t.dtype().pythonName());
      row.put("shape", Arrays.stream(t.shape()).boxed().toList());
      row.put("numel", t.numel());
      rows.add(row);
    }
    report.put("state_dict", location);
    report.put("tensors", (long) tensors.size());
    report.put("elements", elements);
    report.put("dtypes", dtypes.entrySet().stream().map(d -> d.getKey() + " x" + d.getValue()).toList());
    if (metadata != null) {
      report.put("metadata", metadata);
    }
    if (!others.isEmpty()) {
      report.put("other_entries", others);
    }
    print(report, rows, json, limit, out);
    return 0;
  }

  private static String outline(Object root) {
    if (root instanceof Map<?, ?> m) {
      List<String> keys = m.keySet().stream().limit(4).map(String::valueOf).toList();
      String listed = String.join(", ", keys);
      if (listed.length() > 90) {
        listed = listed.substring(0, 87) + "...";
      }
      return " with " + m.size() + " entries (" + (m.size() > 4 ? "first: " : "") + listed + ")";
    }
    return "";
  }

  private static void print(Map<String, Object> report, List<Map<String, Object>> rows, boolean json, int limit,
      PrintStream out) {
    if (json) {
      Map<String, Object> all = new LinkedHashMap<>(report);
      all.put("entries", rows);
      out.println(Json.write(all));
      return;
    }
    for (Map.Entry<String, Object> e : report.entrySet()) {
      Object v = e.getValue();
      String text = v instanceof List<?> l ? String.join(", ", l.stream().map(String::valueOf).toList())
          : v instanceof Long n && !e.getKey().equals("tensors") ? String.format(Locale.ROOT, "%,d", n) : String.valueOf(v);
      out.printf(Locale.ROOT, "%-14s %s%n", e.getKey(), text);
    }
    if (rows.isEmpty()) {
      return;
    }
    int nameWidth = Math.min(60, rows.stream().mapToInt(r -> ((String) r.get("name")).length()).max().orElse(4));
    out.println();
    out.printf(Locale.ROOT, "%-" + nameWidth + "s  %-8s  %s%n", "name", "dtype", "shape");
    int shown = 0;
    for (Map<String, Object> r : rows) {
      if (limit > 0 && shown++ >= limit) {
        out.printf(Locale.ROOT, "... %d more (--limit 0 lists all)%n", rows.size() - limit);
        break;
      }
      out.printf(Locale.ROOT, "%-" + nameWidth + "s  %-8s  %s%n", r.get("name"), r.get("dtype"), r.get("shape"));
    }
  }
}
