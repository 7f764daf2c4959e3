package org.ssl4mis.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;

/**
 * {@code log.txt} of a snapshot folder, in the reference's format ({@code [HH:MM:SS.mmm] message}, from
 * {@code logging.basicConfig(format='[%(asctime)s.%(msecs)03d] %(message)s', datefmt='%H:%M:%S')}), echoed
 * to the console unless quiet. Appends, as the reference's FileHandler does.
 */
public final class TrainLog implements AutoCloseable {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
  private final BufferedWriter file;
  private final PrintStream console;

  public TrainLog(Path logFile, PrintStream console) throws IOException {
    Files.createDirectories(logFile.getParent());
    this.file = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    this.console = console;
  }

  /** Logs one line (and flushes: a crashed run keeps every line written before it). */
  public synchronized void info(String message) {
    write(message, true);
  }

  /** Logs one line to {@code log.txt} only (the per-iteration lines, while a progress bar owns the console). */
  public synchronized void fileOnly(String message) {
    write(message, false);
  }

  private void write(String message, boolean echo) {
    try {
      file.write("[" + LocalTime.now().format(TIME) + "] " + message);
      file.newLine();
      file.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the training log: " + e.getMessage(), e);
    }
    if (echo && console != null) {
      console.println(message);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    file.close();
  }
}
