package org.ssl4mis.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.pth.PthReader;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.testing.PythonReference;

/**
 * An independent check with Python ({@code safetensors/safetensors_tool.py}: its own reader and writer of the
 * format with json and torch, as the safetensors package is not installed): files Java writes load there
 * with identical values, files Python writes load in Java, and converted parity checkpoints load in PyTorch.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SafetensorsPythonTest {
  @TempDir
  Path dir;

  private static String tool(Duration timeout, String... args) throws IOException {
    return PythonReference.runResource(SafetensorsPythonTest.class, "/safetensors/safetensors_tool.py", timeout, args);
  }

  @Test
  void javaWrittenFilesLoadInPython() throws IOException {
    LinkedHashMap<String, RawTensor> tensors = SafetensorsSamples.everyDtype();
    tensors.putAll(SafetensorsSamples.specials());
    tensors.putAll(SafetensorsSamples.views());
    tensors.put(SafetensorsSamples.ODD_NAME, SafetensorsSamples.pattern(DType.INT16, 3));
    LinkedHashMap<String, String> metadata = SafetensorsSamples.oddMetadata();
    Path full = dir.resolve("java.safetensors");
    Path empty = dir.resolve("empty.safetensors");
    Path plain = dir.resolve("plain.safetensors");
    Map<String, RawTensor> one = Map.of("pattern/F64/7", SafetensorsSamples.pattern(DType.FLOAT64, 7));
    Safetensors.write(full, tensors, metadata);
    Safetensors.write(empty, Map.of(), Map.of());
    Safetensors.write(plain, one, Map.of());
    tool(Duration.ofMinutes(2), "describe", full.toString(), dir.resolve("full.txt").toString(),
        "describe", empty.toString(), dir.resolve("empty.txt").toString(),
        "describe", plain.toString(), dir.resolve("plain.txt").toString());
    assertEquals(SafetensorsSamples.describe(tensors, metadata), Files.readString(dir.resolve("full.txt")));
    assertEquals("\n", Files.readString(dir.resolve("empty.txt")));
    assertEquals(SafetensorsSamples.describe(one, Map.of()), Files.readString(dir.resolve("plain.txt")));
  }

  @Test
  void pythonWrittenFilesLoadInJava() throws IOException {
    Path file = dir.resolve("python.safetensors");
    Path description = dir.resolve("python.txt");
    tool(Duration.ofMinutes(2), "write", file.toString(), description.toString());
    SafetensorsFile read = Safetensors.read(file);
    assertEquals(Files.readString(description), SafetensorsSamples.describe(read.tensors(), read.metadata()));
    List<String> names = new ArrayList<>(read.tensors().keySet());
    assertTrue(names.getFirst().startsWith("names/\u00fcml\u00e4ut \uD83D\uDE00 \"q\" \\ \n\t/"), names.getFirst());
    assertEquals("line\nbreak \"q\" \\", read.metadata().get("note \u00e9\uD83D\uDE00"));
    int patterns = 0;
    for (Map.Entry<String, RawTensor> e : read.tensors().entrySet()) {
      if (e.getKey().startsWith("pattern/")) {
        RawTensor t = e.getValue();
        assertArrayEquals(SafetensorsSamples.pattern(t.dtype(), t.shape()).toByteArray(), t.toByteArray(), e.getKey());
        patterns++;
      }
    }
    assertEquals(DType.values().length * SafetensorsSamples.SHAPES.size(), patterns);
    // And Java writes it back in its own layout with the same content, which Python reads too.
    Path copy = dir.resolve("copy.safetensors");
    Safetensors.write(copy, read.tensors(), read.metadata());
    tool(Duration.ofMinutes(2), "describe", copy.toString(), dir.resolve("copy.txt").toString());
    assertEquals(Files.readString(description), Files.readString(dir.resolve("copy.txt")));
  }

  @Test
  void convertedParityCheckpointsLoadInPyTorch() throws IOException {
    List<String> args = new ArrayList<>();
    int count = 0;
    for (Path file : SafetensorsConversionTest.parityCheckpoints()) {
      if (!SafetensorsConversionTest.isFlat(PthReader.read(file).root())) {
        continue;
      }
      String name = file.getFileName().toString();
      Path st = dir.resolve(name + ".safetensors");
      Path back = dir.resolve(name + ".back.pth");
      CheckpointConversion.pthToSafetensors(file, st);
      CheckpointConversion.safetensorsToPth(st, back);
      args.addAll(List.of("convert", file.toString(), st.toString(), back.toString()));
      count++;
    }
    String out = tool(Duration.ofMinutes(4), args.toArray(String[]::new));
    assertEquals(count, out.lines().filter(l -> l.startsWith("ok ")).count(), out);
  }
}
