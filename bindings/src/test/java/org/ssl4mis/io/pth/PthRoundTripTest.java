package org.ssl4mis.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.tensor.DType;

/**
 * Round trips through the writer and the reader: Java only, and through PyTorch 1.13 in both directions
 * (Java writes, Python loads and saves again, Java reads; Python saves, Java reads and writes, Python loads),
 * for every dtype, views sharing storages, empty and 0-dim tensors, nested training checkpoints, the
 * legacy format, pickle protocols 2, 4 and 5, and zip64.
 */
@Timeout(300)
class PthRoundTripTest {
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(4);
  /** torch.save's formats: zip and legacy with its default pickle protocol 2, and zip and legacy with protocols 4, 5. */
  private static final List<String> FORMATS = List.of("zip", "legacy", "zip4", "zip5", "legacy4");

  @TempDir
  Path dir;

  /** The Java-built trees, and whether PyTorch 1.13 can load them with weights_only=True (no floats, bytes). */
  private record Sample(String name, Object tree, boolean weightsOnly) {
  }

  private static List<Sample> samples() {
    return List.of(
        new Sample("all_dtypes", PthSamples.allDtypes(), true),
        new Sample("views", PthSamples.views(), true),
        new Sample("state_dict", PthSamples.stateDict(1), true),
        new Sample("nested", PthSamples.nested(), false));
  }

  @Test
  void javaWritesWhatJavaReads() throws IOException {
    for (Sample sample : samples()) {
      String expected = TreeDescription.of(sample.tree());
      Path file = dir.resolve(sample.name() + ".pth");
      PthWriter.write(file, sample.tree());
      Checkpoint read = PthReader.read(file);
      assertEquals(expected, TreeDescription.of(read.root()), sample.name());
      assertEquals(Checkpoint.Format.ZIP, read.format());
      assertEquals(sample.name(), read.archiveName());
      assertEquals("3", read.version());
      Checkpoint fromBytes = PthReader.read(sample.name(), PthWriter.toBytes(sample.tree(), "archive"));
      assertEquals(expected, TreeDescription.of(fromBytes.root()), sample.name());
      assertEquals("archive", fromBytes.archiveName());
    }
  }

  @Test
  void legacyFormatReads() throws IOException {
    for (Sample sample : samples()) {
      Checkpoint read = PthReader.read(sample.name(), PthSamples.legacyBytes(sample.tree()));
      assertEquals(Checkpoint.Format.LEGACY, read.format());
      assertEquals(TreeDescription.of(sample.tree()), TreeDescription.of(read.root()), sample.name());
    }
  }

  @Test
  void zip64ArchivesRead() throws IOException {
    for (Sample sample : samples()) {
      byte[] bytes = PthWriter.toBytes(sample.tree(), "archive", true);
      Checkpoint read = PthReader.read(sample.name(), bytes);
      assertEquals(TreeDescription.of(sample.tree()), TreeDescription.of(read.root()), sample.name());
    }
  }

  @Test
  void layoutIsTheOneTorchSaveWrites() throws IOException {
    Path file = dir.resolve("UNet.best.pth");
    PthWriter.write(file, PthSamples.views());
    ZipReader zip = ZipReader.open(MemorySegment.ofArray(Files.readAllBytes(file)));
    List<String> names = zip.entries().stream().map(ZipReader.Entry::name).toList();
    assertEquals(List.of("UNet.best/data.pkl", "UNet.best/byteorder", "UNet.best/data/0", "UNet.best/data/1",
        "UNet.best/data/2", "UNet.best/version"), names);
    for (ZipReader.Entry e : zip.entries()) {
      assertEquals(0, e.dataOffset() % 64, e.name() + " is aligned to 64 bytes");
      assertEquals(ZipReader.STORED, e.method());
    }
    assertEquals("model", PthWriter.archiveNameFor(Path.of("model")));
    assertEquals("archive", PthWriter.archiveNameFor(Path.of("..pth")));
    assertEquals("my_model", PthWriter.archiveNameFor(Path.of("/tmp/my model.pth")));
  }

  @Test
  void viewsShareOneStorage() throws IOException {
    PyOrderedDict views = PthSamples.views();
    Checkpoint read = PthReader.read("views", PthWriter.toBytes(views, "archive"));
    assertEquals(3, read.storages().size(), "three storages, however many views");
    Map<String, RawTensor> sd = read.stateDict();
    assertSame(sd.get("t").storage(), sd.get("transposed").storage());
    assertSame(sd.get("t"), sd.get("same_tensor_again"), "one tensor saved twice stays one object");
    RawTensor transposed = sd.get("transposed");
    assertFalse(transposed.isContiguous());
    assertArrayEquals(new long[] {1, 6}, transposed.strides());
    // t.t() gathered in C order is element [j][i] of t.
    byte[] t = sd.get("t").toByteArray();
    byte[] tt = transposed.toByteArray();
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 6; j++) {
        for (int b = 0; b < 4; b++) {
          assertEquals(t[(i * 6 + j) * 4 + b], tt[(j * 4 + i) * 4 + b]);
        }
      }
    }
    assertNotSame(sd.get("t").storage(), sd.get("cube").storage());
  }

  @Test
  void stateDictAccessors() throws IOException {
    Checkpoint read = PthReader.read("nested", PthWriter.toBytes(PthSamples.nested(), "archive"));
    Map<String, RawTensor> model = read.stateDict("model");
    assertEquals(7, model.size());
    assertEquals(DType.INT64, model.get("bn.num_batches_tracked").dtype());
    assertEquals(0, model.get("bn.num_batches_tracked").rank());
    PyOrderedDict root = (PyOrderedDict) ((Map<?, ?>) read.root()).get("model");
    assertInstanceOf(PyOrderedDict.class, root.metadata());
    CheckpointFormatException notTensors = assertThrows(CheckpointFormatException.class, read::stateDict);
    assertTrue(notTensors.getMessage().startsWith("nested: "), notTensors.getMessage());
    assertThrows(CheckpointFormatException.class, () -> read.stateDict("no such key"));
    assertTrue(read.stateDict("parameters").get("conv.weight").isParameter());
    assertTrue(read.stateDict("parameters").get("conv.weight").requiresGrad());
  }

  @Test
  void writesAreAtomic() throws IOException {
    Path file = dir.resolve("model.pth");
    PthWriter.write(file, PthSamples.stateDict(1));
    PthWriter.write(file, PthSamples.stateDict(2));
    assertEquals(TreeDescription.of(PthSamples.stateDict(2)), TreeDescription.of(PthReader.read(file).root()));
    Map<Object, Object> unwritable = new LinkedHashMap<>();
    unwritable.put("thread", new Object());
    assertThrows(IllegalArgumentException.class, () -> PthWriter.write(file, unwritable));
    assertEquals(TreeDescription.of(PthSamples.stateDict(2)), TreeDescription.of(PthReader.read(file).root()),
        "a failed write leaves the old file");
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList(), "no temporary files are left behind");
    }
  }

  @Test
  void cyclesAndSharedContainersSurvive() throws IOException {
    List<Object> list = new ArrayList<>();
    PyTuple tuple = PyTuple.of(list, 1L);
    list.add(tuple);
    list.add(list);
    Map<Object, Object> root = new LinkedHashMap<>();
    root.put("a", list);
    root.put("b", list);
    Checkpoint read = PthReader.read("cycle", PthWriter.toBytes(root, "archive"));
    Map<?, ?> map = (Map<?, ?>) read.root();
    List<?> a = (List<?>) map.get("a");
    assertSame(a, map.get("b"));
    assertSame(a, a.get(1));
    assertSame(a, ((PyTuple) a.get(0)).get(0));
  }

  // ---- with PyTorch

  @Test
  void javaToPythonToJava() throws IOException {
    PythonTorch.require();
    List<String> commands = new ArrayList<>();
    List<Sample> all = new ArrayList<>(samples());
    all.add(new Sample("state_dict_zip64", PthSamples.stateDict(3), true));
    for (Sample sample : all) {
      Path file = dir.resolve("java_" + sample.name() + ".pth");
      if (sample.name().endsWith("zip64")) {
        Files.write(file, PthWriter.toBytes(sample.tree(), "archive", true));
      } else {
        PthWriter.write(file, sample.tree());
      }
      commands.addAll(List.of("describe", file.toString(), file + ".txt", sample.weightsOnly() ? "1" : "0"));
      commands.addAll(List.of("resave", file.toString(), file + ".zip.pth", "zip"));
      commands.addAll(List.of("resave", file.toString(), file + ".legacy.pth", "legacy"));
    }
    PythonTorch.runTool(PYTHON_TIMEOUT, commands.toArray(String[]::new));
    for (Sample sample : all) {
      Path file = dir.resolve("java_" + sample.name() + ".pth");
      String expected = TreeDescription.of(sample.tree());
      assertEquals(expected, Files.readString(Path.of(file + ".txt")), "PyTorch reads " + sample.name());
      Checkpoint zip = PthReader.read(Path.of(file + ".zip.pth"));
      assertEquals(expected, TreeDescription.of(zip.root()), "Java reads PyTorch's zip of " + sample.name());
      Checkpoint legacy = PthReader.read(Path.of(file + ".legacy.pth"));
      assertEquals(Checkpoint.Format.LEGACY, legacy.format());
      assertEquals(expected, TreeDescription.of(legacy.root()), "Java reads PyTorch's legacy file of " + sample.name());
    }
  }

  @Test
  void pythonToJavaToPython() throws IOException {
    PythonTorch.require();
    List<String> names = List.of("all_dtypes", "views", "module_state_dict", "nested");
    List<String> make = new ArrayList<>();
    for (String name : names) {
      for (String format : FORMATS) {
        Path file = dir.resolve("py_" + name + "_" + format + ".pth");
        make.addAll(List.of("make", name, file.toString(), format));
        make.addAll(List.of("describe", file.toString(), file + ".txt", "0"));
      }
    }
    PythonTorch.runTool(PYTHON_TIMEOUT, make.toArray(String[]::new));
    List<String> describe = new ArrayList<>();
    for (String name : names) {
      for (String format : FORMATS) {
        Path file = dir.resolve("py_" + name + "_" + format + ".pth");
        Checkpoint read = PthReader.read(file);
        assertEquals(format.startsWith("zip") ? Checkpoint.Format.ZIP : Checkpoint.Format.LEGACY, read.format());
        assertEquals(Files.readString(Path.of(file + ".txt")), TreeDescription.of(read.root()),
            "Java reads " + file.getFileName());
        Path rewritten = dir.resolve("java_" + file.getFileName());
        PthWriter.write(rewritten, read.root());
        boolean weightsOnly = !name.equals("nested");
        describe.addAll(List.of("describe", rewritten.toString(), rewritten + ".txt", weightsOnly ? "1" : "0"));
      }
    }
    PythonTorch.runTool(PYTHON_TIMEOUT, describe.toArray(String[]::new));
    for (String name : names) {
      for (String format : FORMATS) {
        Path file = dir.resolve("py_" + name + "_" + format + ".pth");
        Path rewritten = dir.resolve("java_" + file.getFileName());
        assertEquals(Files.readString(Path.of(file + ".txt")), Files.readString(Path.of(rewritten + ".txt")),
            "PyTorch reads what Java wrote from " + file.getFileName());
      }
    }
  }
}
