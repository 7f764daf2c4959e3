package org.ssl4mis.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.ssl4mis.parity.NetworkFixtures;

/** {@code ssl4mis parity DIR}: checks the Java networks against a folder of reference fixtures. */
final class ParityCommand implements Command {
  @Override
  public String name() {
    return "parity";
  }

  @Override
  public String summary() {
    return "check the networks against Python reference fixtures (MANIFEST.json + .pth files)";
  }

  @Override
  public Options options() {
    return new Options(name());
  }

  @Override
  public List<String> helpNotes() {
    return List.of("", "usage: ssl4mis parity DIR   one line per fixture: name, max |java - python|, tolerance, PASS/FAIL;",
        "exit code 1 when any network fixture fails or cannot be built");
  }

  @Override
  public int run(Options o, PrintStream out) throws Exception {
    List<String> args = o.positional();
    if (args.size() != 1) {
      throw new UsageException("parity takes one folder", "ssl4mis parity ../shared/parity");
    }
    Path dir = Path.of(args.get(0));
    if (!Files.isDirectory(dir)) {
      throw new UsageException("no such folder: " + dir, "give the folder that holds MANIFEST.json");
    }
    List<NetworkFixtures.Result> results = NetworkFixtures.check(dir);
    int failed = 0;
    out.printf(Locale.ROOT, "%-20s %-12s %-12s %-6s %s%n", "fixture", "max_abs_diff", "tolerance", "result", "detail");
    for (NetworkFixtures.Result r : results) {
      if (!r.kind().equals("network")) {
        out.printf(Locale.ROOT, "%-20s %-12s %-12s %-6s %s%n", r.name(), "-", "-", "SKIP", r.kind() + ": " + r.detail());
        continue;
      }
      if (!r.passed()) {
        failed++;
      }
      out.printf(Locale.ROOT, "%-20s %-12s %-12s %-6s %s%n", r.name(), Double.isNaN(r.maxAbsDiff()) ? "-"
          : String.format(Locale.ROOT, "%.3g", r.maxAbsDiff()), Double.isNaN(r.tolerance()) ? "-"
          : String.format(Locale.ROOT, "%.3g", r.tolerance()), r.passed() ? "PASS" : "FAIL", r.detail());
    }
    long networks = results.stream().filter(r -> r.kind().equals("network")).count();
    out.printf(Locale.ROOT, "%d of %d network fixtures pass%n", networks - failed, networks);
    return failed == 0 ? 0 : 1;
  }
}
