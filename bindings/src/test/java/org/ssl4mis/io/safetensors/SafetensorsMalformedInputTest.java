package org.ssl4mis.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.RawTensor;

/**
 * Truncated, corrupt and hostile safetensors files: each gives a {@link CheckpointFormatException} naming the
 * file and the problem, promptly, without allocating what the file merely declares.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SafetensorsMalformedInputTest {
  @TempDir
  Path dir;

  /** A file with the header {@code json} (its exact UTF-8 length as the header length) and the data bytes. */
  static byte[] file(String json, byte[] data) {
    return file(json.getBytes(StandardCharsets.UTF_8), data);
  }

  static byte[] file(byte[] header, byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
    out.writeBytes(header);
    out.writeBytes(data);
    return out.toByteArray();
  }

  static byte[] withHeaderLength(byte[] file, long length) {
    byte[] copy = file.clone();
    ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
    return copy;
  }

  /** Writes {@code content} to {@code <name>.safetensors}, reads it, and returns the exception's reason. */
  private String rejected(String name, byte[] content) throws IOException {
    Path file = dir.resolve(name + ".safetensors");
    Files.write(file, content);
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.read(file), name);
    assertEquals(file.toString(), e.source(), name);
    assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
    // The same bytes from memory fail the same way.
    CheckpointFormatException fromBytes = assertThrows(CheckpointFormatException.class,
        () -> Safetensors.read(name, content), name);
    assertEquals(e.reason(), fromBytes.reason(), name);
    return e.reason();
  }

  private void assertRejected(String name, byte[] content, String... fragments) throws IOException {
    String reason = rejected(name, content);
    for (String fragment : fragments) {
      assertTrue(reason.contains(fragment), name + ": '" + reason + "' should mention '" + fragment + "'");
    }
  }

  private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

  private static String entry(String name, String dtype, String shape, long begin, long end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
        + end + "]}";
  }

  @Test
  void truncatedAtEverySixteenth() throws IOException {
    LinkedHashMap<String, RawTensor> tensors = SafetensorsSamples.everyDtype();
    tensors.putAll(SafetensorsSamples.specials());
    byte[] whole = Safetensors.toBytes(tensors, SafetensorsSamples.oddMetadata());
    for (int k = 0; k < 16; k++) {
      int length = (int) ((long) whole.length * k / 16);
      String reason = rejected("truncated-" + k + "-of-16", Arrays.copyOf(whole, length));
      assertTrue(reason.contains("too few") || reason.contains("beyond the end of the file")
          || reason.contains("beyond the"), reason);
    }
    // One byte short: the last tensor's offsets reach past the data.
    assertRejected("one-byte-short", Arrays.copyOf(whole, whole.length - 1), "beyond the", "data bytes");
    // One byte too many: a byte that belongs to no tensor.
    assertRejected("one-byte-long", Arrays.copyOf(whole, whole.length + 1), "belong to no tensor");
  }

  @Test
  void headerLengthOutOfRange() throws IOException {
    byte[] valid = file("{" + A + "}", new byte[8]);
    assertRejected("empty", new byte[0], "0 bytes", "too few");
    assertRejected("seven-bytes", new byte[7], "7 bytes");
    assertRejected("beyond-file", withHeaderLength(valid, valid.length), "reaches beyond the end of the file");
    assertRejected("beyond-file-by-one", withHeaderLength(valid, valid.length - 7), "reaches beyond");
    assertRejected("over-limit", withHeaderLength(valid, Safetensors.MAX_HEADER_SIZE + 1), "exceeds the limit");
    assertRejected("huge-unsigned", withHeaderLength(valid, -1), "18446744073709551615", "exceeds the limit");
    assertRejected("long-max", withHeaderLength(valid, Long.MAX_VALUE), "exceeds the limit");
    assertRejected("zero-length", withHeaderLength(valid, 0), "does not start with '{'");
    assertRejected("too-short-for-the-json", withHeaderLength(valid, 10), "not valid JSON");
  }

  @Test
  void absurdShapesAndOffsets() throws IOException {
    assertRejected("shape-overflow", file("{" + entry("a", "F32", "[4294967296,4294967296]", 0, 8) + "}", new byte[8]),
        "overflows 64 bits");
    assertRejected("shape-overflow-by-itemsize", file("{" + entry("a", "F64", "[2305843009213693952]", 0, 8) + "}",
        new byte[8]), "overflows");
    assertRejected("shape-huge", file("{" + entry("a", "F32", "[1000000000000]", 0, 8) + "}", new byte[8]),
        "needs 4000000000000 bytes", "hold 8");
    assertRejected("shape-negative", file("{" + entry("a", "F32", "[-2]", 0, 8) + "}", new byte[8]), "negative");
    assertRejected("shape-too-small", file("{" + entry("a", "F32", "[1]", 0, 8) + "}", new byte[8]), "needs 4 bytes");
    assertRejected("shape-not-integers", file("{" + entry("a", "F32", "[\"2\"]", 0, 8) + "}", new byte[8]),
        "not an integer");
    assertRejected("shape-not-array", file("{" + entry("a", "F32", "2", 0, 8) + "}", new byte[8]), "not an array");
    assertRejected("shape-fraction", file("{" + entry("a", "F32", "[2.0]", 0, 8) + "}", new byte[8]), "fraction");
    assertRejected("shape-exponent", file("{" + entry("a", "F32", "[2e0]", 0, 8) + "}", new byte[8]), "exponent");
    assertRejected("shape-rank", file("{" + entry("a", "U8", "[" + "1,".repeat(64) + "1]", 0, 1) + "}", new byte[1]),
        "65");
    assertRejected("offsets-beyond", file("{" + entry("a", "U8", "[4611686018427387904]", 0, 4611686018427387904L)
        + "}", new byte[8]), "beyond the 8 data bytes");
    assertRejected("offsets-u64", file("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,18446744073709551615]}}",
        new byte[8]), "out of the 64-bit range");
    assertRejected("offsets-reversed", file("{" + entry("a", "U8", "[0]", 8, 0) + "}", new byte[8]), "begin <= end");
    assertRejected("offsets-negative", file("{" + entry("a", "U8", "[8]", -8, 0) + "}", new byte[8]), "begin <= end");
    assertRejected("offsets-three", file("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,4,8]}}",
        new byte[8]), "not 2");
  }

  @Test
  void overlapsAndHoles() throws IOException {
    assertRejected("overlap", file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}",
        new byte[12]), "\"a\" (data bytes [0, 8))", "\"b\" (data bytes [4, 12))", "overlap");
    assertRejected("same-span", file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "I32", "[2]", 0, 8) + "}",
        new byte[8]), "overlap");
    assertRejected("empty-inside", file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("e", "F32", "[0]", 4, 4)
        + "}", new byte[8]), "overlap", "\"e\"");
    assertRejected("hole-at-start", file("{" + entry("a", "F32", "[2]", 4, 12) + "}", new byte[12]),
        "data bytes [0, 4) belong to no tensor", "at the start");
    assertRejected("hole-between", file("{" + entry("b", "F32", "[2]", 12, 20) + "," + entry("a", "F32", "[2]", 0, 8)
        + "}", new byte[20]), "data bytes [8, 12) belong to no tensor", "after \"a\"", "before \"b\"");
    assertRejected("trailing-bytes", file("{" + A + "}", new byte[11]), "last 3 data bytes ([8, 11))");
    assertRejected("no-tensors-but-data", file("{}", new byte[1]), "belong to no tensor");
  }

  @Test
  void badDtypesNamesAndFields() throws IOException {
    assertRejected("dtype-unknown", file("{" + entry("a", "F8_E4M3", "[8]", 0, 8) + "}", new byte[8]),
        "unsupported dtype \"F8_E4M3\"", "\"a\"", "BF16");
    assertRejected("dtype-lowercase", file("{" + entry("a", "f32", "[2]", 0, 8) + "}", new byte[8]), "\"f32\"");
    assertRejected("dtype-number", file("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]),
        "not a string");
    assertRejected("name-empty", file("{" + entry("", "F32", "[2]", 0, 8) + "}", new byte[8]), "empty name");
    assertRejected("field-missing", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[0]),
        "no \"data_offsets\"");
    assertRejected("field-unknown", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":[]}}",
        new byte[8]), "unknown field \"x\"");
    assertRejected("entry-not-object", file("{\"a\":\"F32\"}", new byte[0]), "not an object");
    assertRejected("metadata-not-strings", file("{\"__metadata__\":{\"epoch\":3}," + A + "}", new byte[8]),
        "\"epoch\"", "must be strings");
    assertRejected("metadata-array", file("{\"__metadata__\":[]," + A + "}", new byte[8]), "__metadata__");
  }

  @Test
  void duplicateKeys() throws IOException {
    assertRejected("duplicate-tensor", file("{" + A + "," + A + "}", new byte[8]), "duplicate key \"a\"");
    assertRejected("duplicate-field",
        file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]),
        "duplicate key \"dtype\"");
    assertRejected("duplicate-metadata", file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", new byte[0]),
        "duplicate key \"k\"");
    // Escapes do not hide a duplicate.
    assertRejected("duplicate-escaped", file("{" + A + ",\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[2],"
        + "\"data_offsets\":[0,8]}}", new byte[8]), "duplicate key \"a\"");
  }

  @Test
  void notUtf8() throws IOException {
    byte[] json = ("{" + A.replace("\"a\"", "\"a?\"") + "}").getBytes(StandardCharsets.US_ASCII);
    int at = new String(json, StandardCharsets.US_ASCII).indexOf('?');
    for (byte[] bad : new byte[][] {{(byte) 0xff}, {(byte) 0xc0, (byte) 0xaf}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
        {(byte) 0xe2, (byte) 0x82}, {(byte) 0x80}}) {
      byte[] header = new byte[json.length - 1 + bad.length];
      System.arraycopy(json, 0, header, 0, at);
      System.arraycopy(bad, 0, header, at, bad.length);
      System.arraycopy(json, at + 1, header, at + bad.length, json.length - at - 1);
      assertRejected("not-utf8-" + Integer.toHexString(bad[0] & 0xff) + "-" + bad.length, file(header, new byte[8]),
          "not valid UTF-8", "at byte " + at);
    }
    assertRejected("lone-surrogate-escape", file("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        new byte[8]), "lone high surrogate");
  }

  @Test
  void nestedGarbage() throws IOException {
    assertRejected("deep-arrays", file("{\"a\":" + "[".repeat(100_000), new byte[0]), "nest deeper than 64");
    assertRejected("deep-objects", file("{\"a\":" + "{\"b\":".repeat(50_000) + "1" + "}".repeat(50_001), new byte[0]),
        "nest deeper");
    assertRejected("header-array", file("[1,2,3]", new byte[0]), "does not start with '{'");
    assertRejected("header-bom", file("\ufeff{}", new byte[0]), "does not start with '{'");
    assertRejected("unterminated", file("{\"a\":{\"dtype\":\"F32", new byte[0]), "unterminated string");
    assertRejected("trailing-garbage", file("{}x", new byte[0]), "after the end of the JSON value");
    assertRejected("two-objects", file("{}{}", new byte[0]), "after the end");
    assertRejected("literal-true", file("{\"a\":true}", new byte[0]), "literal 'true' is not accepted");
    assertRejected("literal-null-metadata", file("{\"__metadata__\":null}", new byte[0]), "literal 'null'");
    assertRejected("nan", file("{\"a\":NaN}", new byte[0]), "unexpected 'N'");
    assertRejected("single-quotes", file("{'a':1}", new byte[0]), "expected a string key");
    assertRejected("trailing-comma", file("{" + A + ",}", new byte[8]), "expected a string key");
    assertRejected("missing-colon", file("{\"a\" 1}", new byte[0]), "expected ':'");
    assertRejected("leading-zero", file("{" + entry("a", "F32", "[02]", 0, 8) + "}", new byte[8]), "leading zero");
    assertRejected("raw-newline-in-string", file("{\"a\nb\":1}", new byte[0]), "control character");
    assertRejected("bad-escape", file("{\"a\\x\":1}", new byte[0]), "invalid escape");
    assertRejected("bad-unicode-escape", file("{\"a\\u12g4\":1}", new byte[0]), "invalid \\u escape");
    assertRejected("nul-padding", file("{}\0\0\0\0\0\0", new byte[0]), "after the end");
    assertRejected("huge-integer", file("{\"a\":" + "9".repeat(100_000) + "}", new byte[0]), "64-bit range");
  }

  @Test
  void paddingAndWhitespaceAreAccepted() throws IOException {
    byte[] padded = file("{" + A + "}" + " ".repeat(13), SafetensorsSamples.floats(1, 2));
    SafetensorsFile read = Safetensors.read("padded", padded);
    assertEquals(Map.of("a", 2L), Map.of("a", read.tensor("a").numel()));
    byte[] spaced = file("{ \"a\" : { \"dtype\" : \"F32\" ,\n\t\"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 8 ] } }\r\n",
        SafetensorsSamples.floats(1, 2));
    assertEquals(1, Safetensors.read("spaced", spaced).tensors().size());
    // Offsets need not follow the header order, and empty tensors may sit anywhere between others.
    byte[] shuffled = file("{" + entry("b", "U8", "[1]", 8, 9) + "," + entry("e", "F64", "[0,3]", 8, 8) + ","
        + entry("a", "F32", "[2]", 0, 8) + "," + entry("z", "I64", "[0]", 9, 9) + "}", new byte[9]);
    assertEquals(java.util.List.of("b", "e", "a", "z"),
        new java.util.ArrayList<>(Safetensors.read("shuffled", shuffled).tensors().keySet()));
  }
}
