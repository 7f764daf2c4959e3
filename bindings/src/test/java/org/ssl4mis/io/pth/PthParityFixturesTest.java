package org.ssl4mis.io.pth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real checkpoints of {@code shared/parity} (written by the original SSL4MIS with PyTorch 1.13) read
 * with exactly the values PyTorch reads, keep their {@code _metadata}, and load in PyTorch again after
 * Java writes them back.
 *
 * <p>The folder comes from the system property {@code ssl4mis.shared.dir} (set by surefire), else
 * {@code ../shared} next to the project root.
 */
@Timeout(300)
class PthParityFixturesTest {
  @TempDir
  Path dir;

  static Path parityDir() {
    return org.ssl4mis.testing.SharedData.root().resolve("parity");
  }

  static List<Path> fixtures() throws IOException {
    Path parity = parityDir();
    PythonTorch.requireOrSkip(Files.isDirectory(parity), "parity fixtures not found at " + parity);
    try (Stream<Path> files = Files.list(parity)) {
      List<Path> list = files.filter(p -> p.getFileName().toString().endsWith(".pth")).sorted().toList();
      PythonTorch.requireOrSkip(!list.isEmpty(), "no .pth files in " + parity);
      return list;
    }
  }

  /** {@code <Net>.pth} files are {@code model.state_dict()}; {@code *.io.pth} are plain dicts of inputs and outputs. */
  private static boolean isStateDict(Path file) {
    return !file.getFileName().toString().endsWith(".io.pth");
  }

  @Test
  void everyFixtureReads() throws IOException {
    for (Path file : fixtures()) {
      Checkpoint checkpoint = PthReader.read(file);
      String name = file.getFileName().toString();
      assertEquals(Checkpoint.Format.ZIP, checkpoint.format(), name);
      assertEquals(name.substring(0, name.length() - ".pth".length()), checkpoint.archiveName(), name);
      assertInstanceOf(Map.class, checkpoint.root(), name);
      if (isStateDict(file)) {
        PyOrderedDict sd = assertInstanceOf(PyOrderedDict.class, checkpoint.root(), name);
        Map<String, RawTensor> tensors = checkpoint.stateDict();
        assertFalse(tensors.isEmpty(), name);
        Map<?, ?> metadata = assertInstanceOf(PyOrderedDict.class, sd.metadata(), name + " has _metadata");
        assertTrue(metadata.containsKey(""), name + ": _metadata has the root module");
        assertInstanceOf(Map.class, metadata.get(""));
        assertTrue(((Map<?, ?>) metadata.get("")).containsKey("version"), name);
        long bytes = 0;
        for (RawTensor t : tensors.values()) {
          bytes += t.contiguousBytes().byteSize();
        }
        assertTrue(bytes > 0, name);
      }
    }
  }

  @Test
  void javaWritesThemBackUnchanged() throws IOException {
    for (Path file : fixtures()) {
      Checkpoint original = PthReader.read(file);
      Path copy = dir.resolve(file.getFileName());
      PthWriter.write(copy, original.root());
      assertEquals(TreeDescription.of(original.root()), TreeDescription.of(PthReader.read(copy).root()),
          file.getFileName().toString());
    }
  }

  @Test
  void valuesMatchPyTorch() throws IOException {
    PythonTorch.require();
    List<Path> files = fixtures();
    List<String> commands = new ArrayList<>();
    for (Path file : files) {
      String name = file.getFileName().toString();
      // State dicts (no Python floats) also prove weights_only loading, of the original and of Java's copy.
      String weightsOnly = isStateDict(file) ? "1" : "0";
      Path copy = dir.resolve(name);
      PthWriter.write(copy, PthReader.read(file).root());
      commands.addAll(List.of("describe", file.toString(), dir.resolve(name + ".original.txt").toString(),
          weightsOnly));
      commands.addAll(List.of("describe", copy.toString(), dir.resolve(name + ".copy.txt").toString(),
          weightsOnly));
    }
    PythonTorch.runTool(Duration.ofMinutes(4), commands.toArray(String[]::new));
    for (Path file : files) {
      String name = file.getFileName().toString();
      String python = Files.readString(dir.resolve(name + ".original.txt"));
      assertEquals(python, TreeDescription.of(PthReader.read(file).root()), name + " reads as PyTorch reads it");
      assertEquals(python, Files.readString(dir.resolve(name + ".copy.txt")), name + " written by Java loads in PyTorch");
      if (isStateDict(file)) {
        assertTrue(python.contains("attr " + java.util.HexFormat.of().formatHex("_metadata".getBytes(java.nio.charset.StandardCharsets.US_ASCII))),
            name + " has _metadata in PyTorch too");
      }
    }
  }
}
