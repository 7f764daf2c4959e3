package org.ssl4mis.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.tensor.DType;

/** Java writes, Java reads: every dtype and shape, metadata, views, the reference layout, atomic writes. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SafetensorsRoundTripTest {
  @TempDir
  Path dir;

  private SafetensorsFile roundTrip(Map<String, RawTensor> tensors, Map<String, String> metadata) throws IOException {
    Path file = dir.resolve("round-trip.safetensors");
    Safetensors.write(file, tensors, metadata);
    SafetensorsFile read = Safetensors.read(file);
    assertEquals(file.toString(), read.source());
    assertArrayEquals(Files.readAllBytes(file), Safetensors.toBytes(tensors, metadata), "toBytes writes what write writes");
    SafetensorsFile fromBytes = Safetensors.read("memory", Files.readAllBytes(file));
    SafetensorsSamples.assertSameTensors(read.tensors(), fromBytes.tensors(), "read from bytes");
    assertEquals(read.metadata(), fromBytes.metadata());
    return read;
  }

  @Test
  void everyDtypeAndShapeRoundTrips() throws IOException {
    LinkedHashMap<String, RawTensor> tensors = SafetensorsSamples.everyDtype();
    tensors.putAll(SafetensorsSamples.specials());
    SafetensorsFile read = roundTrip(tensors, Map.of("format", "pt"));
    SafetensorsSamples.assertSameTensors(tensors, read.tensors(), "every dtype");
    assertEquals(Map.of("format", "pt"), read.metadata());
    assertEquals(0, read.tensor("pattern/F32/scalar").rank());
    assertEquals(1, read.tensor("pattern/I64/scalar").numel());
    assertEquals(0, read.tensor("pattern/BOOL/2x0x4").numel());
    for (DType d : DType.values()) {
      assertEquals(d, read.tensor("pattern/" + d.safetensorsCode() + "/2x3").dtype());
    }
  }

  @Test
  void orderOfTheMapIsKeptNotSorted() throws IOException {
    LinkedHashMap<String, RawTensor> tensors = new LinkedHashMap<>();
    for (String name : List.of("z", "a", "m.weight", "b", "A", "aa")) {
      tensors.put(name, SafetensorsSamples.pattern(DType.FLOAT32, name.length(), 2));
    }
    SafetensorsFile read = roundTrip(tensors, null);
    assertEquals(List.of("z", "a", "m.weight", "b", "A", "aa"), new ArrayList<>(read.tensors().keySet()));
    assertTrue(read.metadata().isEmpty());
  }

  @Test
  void metadataAndOddNamesRoundTrip() throws IOException {
    LinkedHashMap<String, RawTensor> tensors = new LinkedHashMap<>();
    tensors.put(SafetensorsSamples.ODD_NAME, SafetensorsSamples.pattern(DType.INT16, 3));
    tensors.put("\u4e2d\u6587", SafetensorsSamples.pattern(DType.UINT8, 2));
    LinkedHashMap<String, String> metadata = SafetensorsSamples.oddMetadata();
    SafetensorsFile read = roundTrip(tensors, metadata);
    SafetensorsSamples.assertSameTensors(tensors, read.tensors(), "odd names");
    assertEquals(new ArrayList<>(metadata.entrySet()), new ArrayList<>(read.metadata().entrySet()));
  }

  @Test
  void viewsAreWrittenContiguousEachWithItsOwnBytes() throws IOException {
    LinkedHashMap<String, RawTensor> views = SafetensorsSamples.views();
    SafetensorsFile read = roundTrip(views, Map.of());
    SafetensorsSamples.assertSameTensors(views, read.tensors(), "views");
    // The transposed view holds the elements in its own C order: column 0 of the 4x6 matrix first.
    ByteBuffer t = read.tensor("view/transposed").storage().byteBuffer();
    assertEquals(-3f, t.getFloat(0));
    assertEquals(6 * 1.5f - 3, t.getFloat(4));
    assertEquals(15, read.tensor("view/expanded").numel());
    assertEquals(23 * 1.5f - 3, read.tensor("view/element").storage().byteBuffer().getFloat(0));
    // No sharing in the file: each tensor has a storage of its own holding exactly its elements.
    RawTensor whole = read.tensor("view/whole");
    RawTensor row = read.tensor("view/row");
    assertNotSame(whole.storage(), row.storage());
    for (RawTensor r : read.tensors().values()) {
      assertEquals(r.numel(), r.storage().numel());
      assertTrue(!r.requiresGrad() && !r.isParameter(), "flags are not part of the format");
    }
    long expectedData = views.values().stream().mapToLong(v -> v.numel() * 4).sum();
    byte[] file = Safetensors.toBytes(views, Map.of());
    long headerLength = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(expectedData, file.length - 8 - headerLength);
  }

  @Test
  void emptyFileHasOnlyAHeader() throws IOException {
    SafetensorsFile read = roundTrip(Map.of(), Map.of());
    assertTrue(read.tensors().isEmpty());
    byte[] bytes = Safetensors.toBytes(Map.of(), Map.of());
    assertArrayEquals("{}      ".getBytes(StandardCharsets.US_ASCII), Arrays.copyOfRange(bytes, 8, bytes.length));
    assertEquals(8, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong());
  }

  /** The layout of the reference implementation (safetensors.torch.save_file / Rust serialize). */
  @Test
  void layoutIsTheReferenceLayout() {
    LinkedHashMap<String, RawTensor> tensors = new LinkedHashMap<>();
    tensors.put("a", RawTensor.of(DType.FLOAT32, new long[] {2}, SafetensorsSamples.floats(1f, 2f)));
    tensors.put("b", RawTensor.of(DType.INT8, new long[] {1, 3}, new byte[] {1, 2, 3}));
    byte[] bytes = Safetensors.toBytes(tensors, Map.of("k", "v"));
    String json = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"I8\",\"shape\":[1,3],\"data_offsets\":[8,11]}}";
    int padded = (json.length() + 7) / 8 * 8;
    ByteBuffer expected = ByteBuffer.allocate(8 + padded + 11).order(ByteOrder.LITTLE_ENDIAN);
    expected.putLong(padded).put(json.getBytes(StandardCharsets.US_ASCII));
    while (expected.position() < 8 + padded) {
      expected.put((byte) ' ');
    }
    expected.put(SafetensorsSamples.floats(1f, 2f)).put(new byte[] {1, 2, 3});
    assertArrayEquals(expected.array(), bytes);
    assertEquals(0, (8 + padded) % 8, "data are 8-aligned");
  }

  @Test
  void invalidNamesAndValuesAreRefusedBeforeAnythingIsWritten() throws IOException {
    Path file = dir.resolve("refused.safetensors");
    RawTensor t = SafetensorsSamples.pattern(DType.FLOAT32, 2);
    Map<String, RawTensor> withNull = new HashMap<>();
    withNull.put("x", null);
    List<Map<String, RawTensor>> bad = List.of(Map.of("", t), Map.of("__metadata__", t), withNull,
        Map.of("lone \uD800 surrogate", t));
    for (Map<String, RawTensor> tensors : bad) {
      assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, tensors, Map.of()), tensors.keySet()::toString);
    }
    Map<String, String> nullValue = new HashMap<>();
    nullValue.put("k", null);
    assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, Map.of("x", t), nullValue));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(), files.toList(), "no file and no temporary file left");
    }
  }

  @Test
  void writeReplacesAtomicallyAndLeavesNoTemporaryFile() throws IOException {
    Path file = dir.resolve("model.safetensors");
    Safetensors.write(file, Map.of("a", SafetensorsSamples.pattern(DType.FLOAT64, 4)), Map.of());
    Safetensors.write(file, Map.of("b", SafetensorsSamples.pattern(DType.INT32, 2, 2)));
    assertEquals(List.of("b"), new ArrayList<>(Safetensors.read(file).tensors().keySet()));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList());
    }
  }

  @Test
  void tensorsReadAreIndependentOfTheFile() throws IOException {
    Path file = dir.resolve("gone.safetensors");
    Map<String, RawTensor> tensors = Map.of("w", SafetensorsSamples.pattern(DType.FLOAT32, 64, 64));
    Safetensors.write(file, tensors, Map.of());
    SafetensorsFile read = Safetensors.read(file);
    Files.delete(file);
    SafetensorsSamples.assertSameTensors(tensors, read.tensors(), "after the file was deleted");
    assertThrows(UnsupportedOperationException.class, () -> read.tensors().clear());
    assertThrows(UnsupportedOperationException.class, () -> read.metadata().put("a", "b"));
  }
}
