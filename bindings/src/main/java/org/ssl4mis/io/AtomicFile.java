package org.ssl4mis.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that a reader, or a crash, never sees it half written: the content goes to a temporary
 * file in the same folder, is forced to disk, then replaces the target in one rename. Every writer of the
 * project's file formats (.pth, .safetensors, NIfTI) goes through here.
 */
public final class AtomicFile {
  private AtomicFile() {}

  /** Writes the content into the channel. */
  @FunctionalInterface
  public interface Content {
    void writeTo(FileChannel channel) throws IOException;
  }

  public static void write(Path file, Content content) throws IOException {
    Path target = file.toAbsolutePath();
    Path folder = target.getParent();
    // A name of our own rather than createTempFile, so the file gets the usual (umask) permissions.
    Path temporary = folder.resolve("." + target.getFileName() + "."
        + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ".tmp");
    boolean moved = false;
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        content.writeTo(channel);
        channel.force(true);
      }
      try {
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
      }
      moved = true;
    } finally {
      if (!moved) {
        Files.deleteIfExists(temporary);
      }
    }
  }

  /**
   * A byte count from a system property ({@code 512m}, {@code 4g}, {@code 1048576}), or {@code fallback} when
   * the property is unset.
   *
   * @throws IllegalArgumentException naming the property when the value is not a positive byte count
   */
  public static long byteSizeProperty(String property, long fallback) {
    String v = System.getProperty(property);
    if (v == null || v.isBlank()) {
      return fallback;
    }
    String s = v.strip().toLowerCase(java.util.Locale.ROOT);
    long unit = 1;
    char last = s.charAt(s.length() - 1);
    if (last == 'k' || last == 'm' || last == 'g') {
      unit = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : 1L << 30;
      s = s.substring(0, s.length() - 1);
    }
    try {
      long n = Math.multiplyExact(Long.parseLong(s), unit);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException | ArithmeticException e) {
      // reported below
    }
    throw new IllegalArgumentException(property + "='" + v + "' is not a positive byte count");
  }
}
