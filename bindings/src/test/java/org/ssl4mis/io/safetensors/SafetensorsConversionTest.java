package org.ssl4mis.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.pth.Checkpoint;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.PthReader;
import org.ssl4mis.io.pth.PthWriter;
import org.ssl4mis.io.pth.PyOrderedDict;
import org.ssl4mis.io.pth.PyTuple;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.testing.PythonReference;
import org.ssl4mis.testing.SharedData;

/** .pth to safetensors and back, for the real checkpoints of {@code shared/parity} and made-up ones. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SafetensorsConversionTest {
  @TempDir
  Path dir;

  static List<Path> parityCheckpoints() throws IOException {
    Path parity = SharedData.parity();
    try (Stream<Path> files = Files.list(parity)) {
      List<Path> list = files.filter(p -> p.getFileName().toString().endsWith(".pth")).sorted().toList();
      PythonReference.requireOrSkip(!list.isEmpty(), "no .pth files in " + parity);
      return list;
    }
  }

  static boolean isFlat(Object root) {
    return root instanceof Map<?, ?> map && map.keySet().stream().allMatch(String.class::isInstance)
        && map.values().stream().allMatch(RawTensor.class::isInstance);
  }

  /** Converts {@code file} to safetensors and back, checking both against the original; returns the copy's root. */
  private PyOrderedDict roundTrip(Path file, Checkpoint original) throws IOException {
    String name = file.getFileName().toString();
    Path st = dir.resolve(name + ".safetensors");
    Path back = dir.resolve(name + ".back.pth");
    Map<String, RawTensor> tensors = original.stateDict();
    Object metadata = original.root() instanceof PyOrderedDict od ? od.metadata() : null;

    CheckpointConversion.Result there = CheckpointConversion.pthToSafetensors(file, st);
    assertEquals("the root", there.location(), name);
    assertEquals(tensors.size(), there.tensors(), name);
    assertEquals(metadata != null, there.metadataKept(), name);
    assertEquals(List.of(), there.dropped(), name);
    SafetensorsFile safetensors = Safetensors.read(st);
    SafetensorsSamples.assertSameTensors(tensors, safetensors.tensors(), name + " as safetensors");
    assertEquals("pt", safetensors.metadata().get(CheckpointConversion.FORMAT), name);
    assertEquals(metadata != null, safetensors.metadata().containsKey(CheckpointConversion.PYTORCH_METADATA), name);

    CheckpointConversion.Result andBack = CheckpointConversion.safetensorsToPth(st, back);
    assertEquals(tensors.size(), andBack.tensors(), name);
    assertEquals(metadata != null, andBack.metadataKept(), name);
    Checkpoint copy = PthReader.read(back);
    PyOrderedDict root = assertInstanceOf(PyOrderedDict.class, copy.root(), name + " comes back as an OrderedDict");
    SafetensorsSamples.assertSameTensors(tensors, copy.stateDict(), name + " back as .pth");
    if (metadata == null) {
      assertNull(root.metadata(), name);
    } else {
      PyOrderedDict restored = assertInstanceOf(PyOrderedDict.class, root.metadata(), name + " _metadata");
      assertEquals(metadata, restored, name + " _metadata");
      assertEquals(new ArrayList<>(((Map<?, ?>) metadata).keySet()), new ArrayList<>(restored.keySet()), name);
      for (Map.Entry<Object, Object> e : restored.entrySet()) {
        assertInstanceOf(LinkedHashMap.class, e.getValue(), name + " _metadata['" + e.getKey() + "'] is a dict");
      }
    }
    return root;
  }

  @Test
  void parityCheckpointsConvertBothWays() throws IOException {
    int stateDicts = 0;
    int flatOthers = 0;
    int refused = 0;
    for (Path file : parityCheckpoints()) {
      String name = file.getFileName().toString();
      Checkpoint original = PthReader.read(file);
      if (isFlat(original.root())) {
        PyOrderedDict root = roundTrip(file, original);
        if (original.root() instanceof PyOrderedDict od && od.metadata() != null) {
          stateDicts++;
          assertTrue(((Map<?, ?>) root.metadata()).containsKey(""), name);
        } else {
          flatOthers++;
        }
      } else {
        // Inputs and outputs with lists, floats and nested dicts: nothing safetensors can hold, and no nested state dict.
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
            () -> CheckpointConversion.pthToSafetensors(file, dir.resolve(name + ".safetensors")), name);
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        Map<?, ?> root = (Map<?, ?>) original.root();
        for (Map.Entry<?, ?> entry : root.entrySet()) {
          if (!(entry.getValue() instanceof RawTensor) && e.getMessage().contains("more)")) {
            continue;
          }
          if (!(entry.getValue() instanceof RawTensor)) {
            assertTrue(e.getMessage().contains("'" + entry.getKey() + "' ("), name + ": " + e.getMessage());
          }
        }
        assertTrue(e.getMessage().contains("the root has no 'state_dict', 'model', 'model_state_dict' or 'net' entry"),
            e.getMessage());
        assertFalse(Files.exists(dir.resolve(name + ".safetensors")), name);
        refused++;
      }
    }
    assertTrue(stateDicts >= 10, "state dicts converted: " + stateDicts);
    assertTrue(flatOthers > 0 && refused > 0, flatOthers + " flat inputs, " + refused + " refused");
  }

  private static PyOrderedDict stateDict() {
    PyOrderedDict sd = new PyOrderedDict();
    sd.put("conv.weight", SafetensorsSamples.pattern(DType.FLOAT32, 2, 1, 3, 3));
    sd.put("bn.num_batches_tracked", SafetensorsSamples.pattern(DType.INT64));
    sd.put("head.bias", SafetensorsSamples.pattern(DType.FLOAT16, 2));
    PyOrderedDict meta = new PyOrderedDict();
    meta.put("", new LinkedHashMap<>(Map.of("version", 1L)));
    meta.put("bn", new LinkedHashMap<>(Map.of("version", 2L)));
    sd.setMetadata(meta);
    return sd;
  }

  private static Map<String, RawTensor> tensorsOf(Map<Object, Object> map) {
    LinkedHashMap<String, RawTensor> tensors = new LinkedHashMap<>();
    map.forEach((k, v) -> tensors.put((String) k, (RawTensor) v));
    return tensors;
  }

  @Test
  void findsNestedStateDictsAndSaysWhichWasUsed() throws IOException {
    Path in = dir.resolve("checkpoint.pth");
    Path out = dir.resolve("checkpoint.safetensors");
    LinkedHashMap<Object, Object> root = new LinkedHashMap<>();
    root.put("epoch", 3L);
    root.put("state_dict", stateDict());
    root.put("optimizer", new LinkedHashMap<>(Map.of("lr", 0.01)));
    PthWriter.write(in, root);
    CheckpointConversion.Result r = CheckpointConversion.pthToSafetensors(in, out);
    assertEquals("the root['state_dict']", r.location());
    assertEquals(List.of("the root['epoch']", "the root['optimizer']"), r.dropped());
    assertTrue(r.metadataKept());
    assertTrue(r.toString().contains("from the root['state_dict'] of " + in), r.toString());
    SafetensorsSamples.assertSameTensors(tensorsOf(stateDict()), Safetensors.read(out).tensors(), "state_dict");

    root.remove("state_dict");
    root.put("model", stateDict());
    PthWriter.write(in, root);
    assertEquals("the root['model']", CheckpointConversion.pthToSafetensors(in, out).location());
    root.remove("model");
    root.put("net", stateDict());
    root.put("model_state_dict", List.of());
    PthWriter.write(in, root);
    assertEquals("the root['net']", CheckpointConversion.pthToSafetensors(in, out).location());

    // A plain dict of tensors (no OrderedDict, no _metadata) is a state dict too.
    PthWriter.write(in, new LinkedHashMap<>(Map.of("w", SafetensorsSamples.pattern(DType.BFLOAT16, 4))));
    CheckpointConversion.Result plain = CheckpointConversion.pthToSafetensors(in, out);
    assertFalse(plain.metadataKept());
    assertFalse(Safetensors.read(out).metadata().containsKey(CheckpointConversion.PYTORCH_METADATA));
  }

  @Test
  void saysWhyNothingFits() throws IOException {
    Path in = dir.resolve("bad.pth");
    Path out = dir.resolve("bad.safetensors");
    LinkedHashMap<Object, Object> root = new LinkedHashMap<>();
    root.put("epoch", 3L);
    root.put("w", SafetensorsSamples.pattern(DType.FLOAT32, 2));
    PyOrderedDict nested = new PyOrderedDict();
    nested.put("a", SafetensorsSamples.pattern(DType.FLOAT32, 2));
    nested.put("step", 10L);
    nested.put("pair", PyTuple.of(1L, 2L));
    root.put("state_dict", nested);
    PthWriter.write(in, root);
    String message = assertThrows(CheckpointFormatException.class,
        () -> CheckpointConversion.pthToSafetensors(in, out)).getMessage();
    assertTrue(message.startsWith(in + ": no state dict"), message);
    assertTrue(message.contains("the root has 2 entries that are not a named tensor: 'epoch' (int), 'state_dict'"
        + " (OrderedDict)"), message);
    assertTrue(message.contains("the root['state_dict'] has 2 entries that are not a named tensor: 'step' (int),"
        + " 'pair' (tuple)"), message);
    assertTrue(message.contains("the root has no 'model', 'model_state_dict' or 'net' entry"), message);
    assertFalse(Files.exists(out));

    PthWriter.write(in, List.of(SafetensorsSamples.pattern(DType.FLOAT32, 2)));
    message = assertThrows(CheckpointFormatException.class, () -> CheckpointConversion.pthToSafetensors(in, out))
        .getMessage();
    assertTrue(message.contains("the root is a list, not a mapping of names to tensors"), message);

    LinkedHashMap<Object, Object> odd = new LinkedHashMap<>();
    odd.put(1L, SafetensorsSamples.pattern(DType.FLOAT32, 2));
    odd.put("", SafetensorsSamples.pattern(DType.FLOAT32, 2));
    PthWriter.write(in, odd);
    message = assertThrows(CheckpointFormatException.class, () -> CheckpointConversion.pthToSafetensors(in, out))
        .getMessage();
    assertTrue(message.contains("a key of type int (1)") && message.contains("an entry named \"\""), message);

    PyOrderedDict floatMetadata = stateDict();
    floatMetadata.setMetadata(new PyOrderedDict(Map.of("", Map.of("version", 1.5))));
    PthWriter.write(in, floatMetadata);
    message = assertThrows(CheckpointFormatException.class, () -> CheckpointConversion.pthToSafetensors(in, out))
        .getMessage();
    assertTrue(message.contains("_metadata of the root cannot be kept as JSON")
        && message.contains("_metadata['']['version'] is a float"), message);
  }

  @Test
  void safetensorsToPthKeepsFileOrderAndReportsDroppedMetadata() throws IOException {
    Path st = dir.resolve("hf.safetensors");
    Path pth = dir.resolve("hf.pth");
    LinkedHashMap<String, RawTensor> tensors = SafetensorsSamples.everyDtype();
    tensors.putAll(SafetensorsSamples.views());
    LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put("author", "x");
    Safetensors.write(st, tensors, metadata);
    CheckpointConversion.Result r = CheckpointConversion.safetensorsToPth(st, pth);
    assertEquals(List.of("__metadata__[\"author\"]"), r.dropped());
    assertFalse(r.metadataKept());
    Checkpoint back = PthReader.read(pth);
    assertInstanceOf(PyOrderedDict.class, back.root());
    SafetensorsSamples.assertSameTensors(tensors, back.stateDict(), "safetensors to pth");
    assertNull(((PyOrderedDict) back.root()).metadata());

    for (String bad : List.of("{", "[1]", "{\"\":1.5}")) {
      Safetensors.write(st, tensors, Map.of(CheckpointConversion.PYTORCH_METADATA, bad));
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> CheckpointConversion.safetensorsToPth(st, pth), bad);
      assertTrue(e.getMessage().startsWith(st + ": __metadata__[\"pytorch_metadata\"] is not"), e.getMessage());
    }
  }
}
