package org.ssl4mis.cli;

import java.io.PrintStream;
import java.util.List;

/** One subcommand of {@code ssl4mis}. */
public interface Command {
  String name();

  /** One line for the command list. */
  String summary();

  /** The options this command takes, with their defaults (for parsing and {@code --help}). */
  Options options();

  /** Runs with parsed options; returns the exit code (0 ok, 1 failure). */
  int run(Options options, PrintStream out) throws Exception;

  /** Extra lines after the option list in {@code --help}; none by default. */
  default List<String> helpNotes() {
    return List.of();
  }
}
