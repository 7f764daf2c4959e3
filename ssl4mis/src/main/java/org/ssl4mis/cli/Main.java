package org.ssl4mis.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ssl4mis}: one entry point with subcommands. Exit codes: 0 ok, 1 failure, 2 usage error. Errors
 * are one line plus a hint; {@code --verbose} adds the stack trace.
 */
public final class Main {
  private final Map<String, Command> commands = new LinkedHashMap<>();

  Main() {
    for (Command c : List.of(new DemoCommand(), new TrainCommand(), new TestCommand(), new CurvesCommand(), new SynthCommand(), new PrepareCommand(), new CheckDataCommand(), new CkptCommand(), new ParityCommand(),
        new DoctorCommand())) {
      commands.put(c.name(), c);
    }
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs one command line (as {@code bin/ssl4mis} would) and returns its exit code instead of exiting. */
  public static int run(String... args) {
    return new Main().run(args, System.out, System.err);
  }

  int run(String[] argv, PrintStream out, PrintStream err) {
    List<String> args = new ArrayList<>(Arrays.asList(argv));
    boolean verbose = args.remove("--verbose");
    if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("-h") || args.get(0).equals("help")) {
      out.print(usage());
      return args.isEmpty() ? 2 : 0;
    }
    Command command = commands.get(args.get(0));
    if (command == null) {
      err.println("ssl4mis: unknown command '" + args.get(0) + "'");
      err.println("hint: commands are " + String.join(", ", commands.keySet()));
      return 2;
    }
    List<String> rest = args.subList(1, args.size());
    try {
      Options options = command.options();
      if (rest.contains("--help") || rest.contains("-h")) {
        out.println("usage: ssl4mis " + command.name() + " [options]");
        out.println(command.summary());
        out.println();
        out.print(options.help());
        out.println(String.format("%-28s %s", "  --verbose", "print stack traces of errors"));
        command.helpNotes().forEach(out::println);
        return 0;
      }
      return command.run(options.parse(rest), out);
    } catch (HintedException e) {
      err.println("ssl4mis " + command.name() + ": " + e.getMessage());
      err.println("hint: " + e.hint());
      if (verbose) {
        e.printStackTrace(err);
      }
      return e instanceof UsageException ? 2 : 1;
    } catch (Exception | Error e) {
      String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      int nl = message.indexOf('\n');
      err.println("ssl4mis " + command.name() + ": " + (nl < 0 ? message : message.substring(0, nl)));
      err.println(verbose ? "" : "hint: run again with --verbose for the full error");
      if (verbose) {
        e.printStackTrace(err);
      }
      return 1;
    }
  }

  /** The subcommands' names, in the order of the usage text. */
  java.util.Set<String> commandNames() {
    return java.util.Collections.unmodifiableSet(commands.keySet());
  }

  String usage() {
    StringBuilder sb = new StringBuilder("usage: ssl4mis <command> [options]   (ssl4mis <command> --help for its options)\n\n");
    for (Command c : commands.values()) {
      sb.append(String.format("  %-12s %s%n", c.name(), c.summary()));
    }
    return sb.toString();
  }
}
