package org.ssl4mis.io.pth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes checkpoints in the zip format of {@code torch.save} (PyTorch 1.6+), readable by
 * {@code torch.load} and by {@link PthReader}: entries {@code <archive>/data.pkl} (a protocol 2 pickle),
 * {@code <archive>/byteorder}, {@code <archive>/data/<key>} for each storage, stored uncompressed and
 * aligned to 64 bytes, and {@code <archive>/version}.
 *
 * <p>The root may be any tree of the values {@link Checkpoint} describes ({@link java.util.Map},
 * {@link PyOrderedDict}, {@link java.util.List}, {@link PyTuple}, strings, numbers (also {@code Integer}
 * and {@code Float}), booleans, null, {@code byte[]}, {@link org.ssl4mis.tensor.DType}, {@link RawTensor},
 * {@link StorageRef}). Tensors sharing a {@link StorageRef} are written as views of one storage.
 *
 * <p>Note for PyTorch 1.13: its {@code torch.load(weights_only=True)} does not know the pickle opcode of
 * floats (nor bytes), so checkpoints holding Python floats need {@code weights_only=False} there; state
 * dicts, tensors, ints, strings and the other values load with {@code weights_only=True}. Later PyTorch
 * versions load floats with {@code weights_only=True} too.
 */
public final class PthWriter {
  private static final String FORMAT_VERSION = "3\n";

  private PthWriter() {
  }

  /**
   * Writes {@code root} to {@code file} atomically: to a temporary file in the same folder, then moved over
   * {@code file}. The archive folder inside is named after the file (e.g. {@code model} for
   * {@code model.pth}), as {@code torch.save} names it.
   *
   * @throws IllegalArgumentException when the tree holds a value that has no checkpoint form
   */
  public static void write(Path file, Object root) throws IOException {
    write(file, root, archiveNameFor(file));
  }

  /** Writes {@code root} to {@code file} atomically with the given archive folder name (e.g. {@code archive}). */
  public static void write(Path file, Object root, String archiveName) throws IOException {
    checkArchiveName(archiveName);
    org.ssl4mis.io.AtomicFile.write(file, channel -> writeTo(channel, root, archiveName, false));
  }

  /** The checkpoint as bytes (for small checkpoints; under 2 GiB). */
  public static byte[] toBytes(Object root, String archiveName) {
    checkArchiveName(archiveName);
    return toBytes(root, archiveName, false);
  }

  static byte[] toBytes(Object root, String archiveName, boolean forceZip64) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      writeTo(Channels.newChannel(bytes), root, archiveName, forceZip64);
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
    return bytes.toByteArray();
  }

  private static void writeTo(WritableByteChannel channel, Object root, String archiveName, boolean forceZip64)
      throws IOException {
    PickleWriter.Result pickled = PickleWriter.write(root);
    ZipWriter zip = new ZipWriter(channel, forceZip64);
    zip.add(archiveName + "/data.pkl", pickled.pickle());
    zip.add(archiveName + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
    // torch.save writes the storages sorted by key, as strings.
    List<StorageRef> storages = pickled.storages();
    List<String> keys = java.util.stream.IntStream.range(0, storages.size()).mapToObj(String::valueOf).sorted()
        .toList();
    for (String key : keys) {
      zip.add(archiveName + "/data/" + key, storages.get(Integer.parseInt(key)).bytes());
    }
    zip.add(archiveName + "/version", FORMAT_VERSION.getBytes(StandardCharsets.US_ASCII));
    zip.finish();
  }

  /** The file name without its last extension, reduced to safe characters; {@code archive} if nothing is left. */
  static String archiveNameFor(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String safe = stem.replaceAll("[^A-Za-z0-9._-]", "_");
    return safe.isEmpty() || safe.chars().allMatch(c -> c == '.') ? "archive" : safe;
  }

  private static void checkArchiveName(String archiveName) {
    if (archiveName.isEmpty() || archiveName.length() > 255 || !archiveName.matches("[A-Za-z0-9._-]+")
        || archiveName.chars().allMatch(c -> c == '.')) {
      throw new IllegalArgumentException("archive name '" + archiveName
          + "' must be 1 to 255 letters, digits, '.', '_' or '-' (and not only dots)");
    }
  }
}
