package org.ssl4mis.io.pth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Truncated, corrupt and hostile checkpoints: each gives a {@link CheckpointFormatException} that names
 * the file and the reason, promptly, without exhausting memory or the stack.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PthMalformedInputTest {
  @TempDir
  Path dir;

  /** Concatenates pickle bytes: strings (as Latin-1), single bytes (ints) and arrays. */
  static byte[] bytes(Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object part : parts) {
      switch (part) {
        case String s -> out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
        case Integer i -> out.write(i);
        case byte[] b -> out.writeBytes(b);
        default -> throw new IllegalArgumentException(part.toString());
      }
    }
    return out.toByteArray();
  }

  static byte[] le32(long value) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) value).array();
  }

  /** BINUNICODE of {@code s}. */
  static byte[] str(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    return bytes("X", le32(utf8.length), utf8);
  }

  /** A legacy file whose main pickle is {@code main}, followed by {@code rest} (key list and storages). */
  static byte[] legacy(byte[] main, byte[] rest) {
    byte[] empty = PthSamples.legacyBytes(new java.util.LinkedHashMap<>());
    // The header is everything before the empty dict's main pickle: magic, protocol version and sys_info.
    byte[] emptyMain = PickleWriter.write(new java.util.LinkedHashMap<>()).pickle();
    int headerLength = empty.length - emptyMain.length - PickleWriter.write(List.of()).pickle().length;
    return bytes(java.util.Arrays.copyOf(empty, headerLength), main, rest);
  }

  /** The typed exception {@code content} gives, after checking its message names {@code source}. */
  static CheckpointFormatException rejects(String source, byte[] content) {
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(source, content));
    assertTrue(e.getMessage().startsWith(source + ": "), e.getMessage());
    assertEquals(source, e.source());
    if (e.getCause() instanceof RuntimeException unexpected) {
      fail("an unchecked " + unexpected + " escaped the format checks: " + e.getMessage(), unexpected);
    }
    return e;
  }

  static void assertMentions(CheckpointFormatException e, String... fragments) {
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
    }
  }

  /** A storage persistent id, BINPERSID, and a 1-d tensor rebuilt on it with the given size. */
  static byte[] tensorOn(String key, long numel, long size) {
    return bytes("ctorch._utils\n_rebuild_tensor_v2\n(", "(", str("storage"), "ctorch\nFloatStorage\n", str(key),
        str("cpu"), "\u008a", 8, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(numel).array(),
        "tQ", "K", 0, "\u008a", 8, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(size).array(),
        "\u0085K", 1, "\u0085\u0089", "ccollections\nOrderedDict\n)R", "tR");
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("pattern not found");
  }

  // ---- truncation, flipped bytes, wrong magic

  @Test
  void truncatedFilesAreRejected() throws IOException {
    List<byte[]> files = new java.util.ArrayList<>(List.of(
        PthWriter.toBytes(PthSamples.nested(), "archive"),
        PthSamples.legacyBytes(PthSamples.nested()),
        PthWriter.toBytes(PthSamples.views(), "archive", true)));
    Path unet = PthParityFixturesTest.parityDir().resolve("UNet.pth");
    if (Files.exists(unet)) {
      files.add(Files.readAllBytes(unet));
    }
    for (byte[] file : files) {
      for (int k = 0; k < 16; k++) {
        byte[] cut = java.util.Arrays.copyOf(file, file.length * k / 16);
        rejects("model.pth", cut);
      }
    }
    assertMentions(rejects("model.pth", new byte[0]), "wrong magic");
  }

  @Test
  void everySingleFlippedByteParsesOrIsRejected() {
    byte[] zip = PthWriter.toBytes(PthSamples.stateDict(1), "archive");
    ZipReader.Entry pickle = ZipReader.open(MemorySegment.ofArray(zip)).find("archive/data.pkl");
    for (int i = 0; i < zip.length; i++) {
      byte[] flipped = zip.clone();
      flipped[i] ^= (byte) 0xff;
      try {
        PthReader.read("flipped.pth", flipped);
        assertTrue(i < pickle.dataOffset() || i >= pickle.dataOffset() + pickle.size(),
            "a flipped byte in data.pkl is caught by the CRC");
      } catch (CheckpointFormatException e) {
        assertTrue(e.getMessage().startsWith("flipped.pth: "));
        assertTrue(!(e.getCause() instanceof RuntimeException), "flip at " + i + ": " + e);
        if (i >= pickle.dataOffset() && i < pickle.dataOffset() + pickle.size()) {
          assertMentions(e, "CRC");
        }
      }
    }
    byte[] legacy = PthSamples.legacyBytes(PthSamples.stateDict(1));
    for (int i = 0; i < legacy.length; i++) {
      byte[] flipped = legacy.clone();
      flipped[i] ^= (byte) 0xff;
      try {
        PthReader.read("flipped_legacy.pth", flipped);
      } catch (CheckpointFormatException e) {
        assertTrue(!(e.getCause() instanceof RuntimeException), "flip at " + i + ": " + e);
      }
    }
  }

  @Test
  void wrongMagicIsRejected() throws IOException {
    assertMentions(rejects("image.png", bytes("\u0089PNG\r\n\u001a\n", new byte[100])), "wrong magic");
    assertMentions(rejects("notes.txt", "hello world".getBytes(StandardCharsets.US_ASCII)), "wrong magic");
    // A pickle, but not the legacy magic number.
    assertMentions(rejects("other.pkl", bytes("\u0080\u0002K", 5, ".")), "wrong magic number");
    Path file = dir.resolve("model.pth");
    Files.writeString(file, "not a checkpoint");
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(file));
    assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
  }

  // ---- forbidden globals

  @Test
  void forbiddenGlobalsAreRefusedByName() {
    byte[] osSystem = bytes("\u0080\u0002cos\nsystem\n", str("echo pwned"), "\u0085R.");
    byte[] eval = bytes("\u0080\u0004\u0095", new byte[8], "\u008c\u0008builtins\u0094\u008c\u0004eval\u0094\u0093\u0094",
        "\u008c\u00041+1\u0094\u0085\u0094R\u0094.");
    byte[] getattr = bytes("\u0080\u0002c__builtin__\ngetattr\n", "ctorch\nFloatStorage\n", str("x"), "\u0086R.");
    // Hidden in a dict after valid entries.
    byte[] nested = bytes("\u0080\u0002}(", str("a"), "K", 1, str("b"), "cposix\nsystem\n", str("id"), "\u0085Ru.");
    byte[] callingATensorClass = bytes("\u0080\u0002ctorch.nn.modules.module\nModule\n)R.");
    Map<String, byte[]> cases = Map.of("os.system", osSystem, "builtins.eval", eval, "__builtin__.getattr", getattr,
        "posix.system", nested, "torch.nn.modules.module.Module", callingATensorClass);
    for (Map.Entry<String, byte[]> c : cases.entrySet()) {
      CheckpointFormatException inZip = rejects("evil.pth", PthSamples.zipWithPickle("evil", c.getValue(), Map.of()));
      assertMentions(inZip, "forbidden global '" + c.getKey() + "'");
      CheckpointFormatException inLegacy = rejects("evil_legacy.pth", legacy(c.getValue(), new byte[0]));
      assertMentions(inLegacy, "forbidden global '" + c.getKey() + "'");
    }
    // Allowed globals that are not functions of a checkpoint cannot be misused either.
    assertMentions(rejects("x.pth", PthSamples.zipWithPickle("x", bytes("\u0080\u0002ctorch\nSize\n.", ""), Map.of())),
        "holds global torch.Size as a value");
    assertMentions(rejects("x.pth", PthSamples.zipWithPickle("x",
        bytes("\u0080\u0002c_codecs\nencode\n", str("\u0100"), str("utf-8"), "\u0086R."), Map.of())),
        "_codecs.encode is only allowed as encode(str, 'latin1')");
  }

  // ---- absurd sizes and missing records

  @Test
  void absurdSizesAreErrorsNotOutOfMemory() {
    // 1342177280 floats = 5 GiB declared, 1 KiB present.
    byte[] pickle = bytes("\u0080\u0002", tensorOn("3", 1342177280L, 4), ".");
    CheckpointFormatException zip = rejects("model.pth",
        PthSamples.zipWithPickle("archive", pickle, Map.of("3", new byte[1024])));
    assertMentions(zip, "storage 'archive/data/3' declares 5368709120 bytes", "the entry has 1024");

    CheckpointFormatException legacy = rejects("legacy.pth", legacy(pickle, new byte[0]));
    assertMentions(legacy, "storage '3' declares 5368709120 bytes, more than the");

    // Element counts whose byte size overflows 64 bits.
    assertMentions(rejects("model.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002", tensorOn("0", Long.MAX_VALUE / 2, 4), "."), Map.of("0", new byte[16]))),
        "more than 64 bits");
    // A view that reaches past its storage.
    assertMentions(rejects("model.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002", tensorOn("0", 4, 5), "."), Map.of("0", new byte[16]))),
        "reaches element 4 of storage '0' with 4 elements");
    // A string that claims 4 GiB.
    assertMentions(rejects("model.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002X", le32(0xfffffff0L), "abc."), Map.of())), "truncated pickle");
    // A huge LONG4.
    assertMentions(rejects("model.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002\u008b", le32(0x7fffffff), "."), Map.of())), "truncated pickle");
    // A memo index that was never stored.
    assertMentions(rejects("model.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002j", le32(0xffffffffL), "."), Map.of())), "memo index 4294967295 was never stored");
  }

  @Test
  void zipDirectoryLiesAreCaught() throws IOException {
    byte[] good = PthWriter.toBytes(PthSamples.stateDict(1), "archive");
    // Find the central directory entry of data.pkl and claim 5 GB via zip64-style sizes in 32 bits.
    int central = indexOf(good, new byte[] {0x50, 0x4b, 0x01, 0x02});
    byte[] huge = good.clone();
    ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(central + 20, 0xfffffff0).putInt(central + 24, 0xfffffff0);
    assertMentions(rejects("model.pth", huge), "beyond the end of the data");
    // A local header offset pointing nowhere.
    byte[] offset = good.clone();
    ByteBuffer.wrap(offset).order(ByteOrder.LITTLE_ENDIAN).putInt(central + 42, 0x7ffffff0);
    assertMentions(rejects("model.pth", offset), "no local header");
    // An end record claiming millions of entries.
    byte[] count = good.clone();
    int end = good.length - 22;
    ByteBuffer.wrap(count).order(ByteOrder.LITTLE_ENDIAN).putShort(end + 10, (short) 0xffff);
    rejects("model.pth", count);

    // A deflated data.pkl whose declared size is a zip bomb.
    ByteArrayOutputStream bomb = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bomb)) {
      zip.putNextEntry(new ZipEntry("archive/data.pkl"));
      zip.write(bytes("\u0080\u0002N."));
      zip.closeEntry();
    }
    byte[] patched = bomb.toByteArray();
    int bombCentral = indexOf(patched, new byte[] {0x50, 0x4b, 0x01, 0x02});
    ByteBuffer.wrap(patched).order(ByteOrder.LITTLE_ENDIAN).putInt(bombCentral + 24, 0x7fffffff);
    assertMentions(rejects("bomb.pth", patched), "more than its", "compressed bytes can hold");
  }

  @Test
  void deflatedEntriesAreRead() throws IOException {
    // Some tools re-zip checkpoints with compression; the reader inflates such entries.
    byte[] stored = PthWriter.toBytes(PthSamples.views(), "archive");
    ZipReader source = ZipReader.open(MemorySegment.ofArray(stored));
    ByteArrayOutputStream deflated = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(deflated)) {
      for (ZipReader.Entry e : source.entries()) {
        zip.putNextEntry(new ZipEntry(e.name()));
        zip.write(source.contents(e).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        zip.closeEntry();
      }
    }
    Checkpoint read = PthReader.read("deflated.pth", deflated.toByteArray());
    assertEquals(TreeDescription.of(PthSamples.views()), TreeDescription.of(read.root()));
  }

  @Test
  void missingStorageRecordsAreNamed() {
    byte[] pickle = bytes("\u0080\u0002", tensorOn("5", 4, 4), ".");
    assertMentions(rejects("model.pth", PthSamples.zipWithPickle("archive", pickle, Map.of("4", new byte[16]))),
        "missing storage record 'archive/data/5'");
    // Legacy: the key list omits the storage.
    byte[] emptyKeys = PickleWriter.write(List.of()).pickle();
    assertMentions(rejects("legacy.pth", legacy(pickle, emptyKeys)), "missing storage record for key '5'");
    // Legacy: the key list names a storage but the file ends.
    byte[] keys = PickleWriter.write(List.of("5")).pickle();
    assertMentions(rejects("legacy.pth", legacy(pickle, keys)), "storage record '5'", "has no size");
    // Legacy: the key list names a storage the pickle never declared.
    byte[] otherKeys = PickleWriter.write(List.of("6")).pickle();
    assertMentions(rejects("legacy.pth", legacy(pickle, otherKeys)), "'6' is not referenced");
    // No data.pkl at all.
    ByteArrayOutputStream noPickle = new ByteArrayOutputStream();
    try {
      ZipWriter zip = new ZipWriter(java.nio.channels.Channels.newChannel(noPickle), false);
      zip.add("archive/version", bytes("3\n"));
      zip.finish();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    assertMentions(rejects("model.pth", noPickle.toByteArray()), "no 'archive/data.pkl' record");
  }

  // ---- structure: depth, cycles, odd but valid pickles

  @Test
  void deepNestingNeedsNoDeepStack() throws IOException {
    int depth = 300_000;
    byte[] pickle = bytes("\u0080\u0002", "]".repeat(depth), "a".repeat(depth - 1), ".");
    Checkpoint read = PthReader.read("deep.pth", PthSamples.zipWithPickle("archive", pickle, Map.of()));
    Object node = read.root();
    int levels = 0;
    while (node instanceof List<?> list && !list.isEmpty()) {
      node = list.getFirst();
      levels++;
    }
    assertEquals(depth - 1, levels);
    // The writer and the description are iterative too.
    Checkpoint again = PthReader.read("deep2.pth", PthWriter.toBytes(read.root(), "archive"));
    assertEquals(TreeDescription.of(read.root()), TreeDescription.of(again.root()));

    assertMentions(rejects("marks.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002", "(".repeat(1_000_000), "."), Map.of())), "stack underflow");
    assertMentions(rejects("keys.pth", PthSamples.zipWithPickle("archive",
        bytes("\u0080\u0002}N", "\u0085".repeat(100), "Ns."), Map.of())), "nested deeper than");
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void collidingTupleKeysStayFast() throws IOException {
    // Keys (a, 31 * (n - a)) all have the same List-style hash: 31 * (31 + a) + 31 * (n - a).
    int n = 50_000;
    ByteArrayOutputStream pickle = new ByteArrayOutputStream();
    pickle.writeBytes(bytes("\u0080\u0002}("));
    for (int a = 0; a < n; a++) {
      pickle.writeBytes(bytes("J", le32(a), "J", le32(31L * (n - a)), "\u0086N"));
    }
    pickle.writeBytes(bytes("u."));
    Map<?, ?> dict = assertInstanceOf(Map.class,
        PthReader.read("keys.pth", PthSamples.zipWithPickle("a", pickle.toByteArray(), Map.of())).root());
    assertEquals(n, dict.size());
    assertEquals(1, java.util.stream.Stream.of(dict.keySet().toArray()).map(Object::hashCode).distinct().count());
    assertTrue(dict.containsKey(PyTuple.of(7L, 31L * (n - 7))));
  }

  @Test
  void cyclesParse() throws IOException {
    byte[] pickle = bytes("\u0080\u0002]q", 0, "h", 0, "a.");
    List<?> list = assertInstanceOf(List.class,
        PthReader.read("cycle.pth", PthSamples.zipWithPickle("archive", pickle, Map.of())).root());
    assertSame(list, list.getFirst());
    assertEquals("list 1\ncycle\n", TreeDescription.of(list));
  }

  @Test
  void unhashableKeysAndWrongTargetsAreRejected() {
    assertMentions(rejects("k.pth", PthSamples.zipWithPickle("a", bytes("\u0080\u0002}]Ns.", ""), Map.of())),
        "unhashable dict key of type list");
    assertMentions(rejects("k.pth", PthSamples.zipWithPickle("a", bytes("\u0080\u0002)Na.", ""), Map.of())),
        "can only append to a list, not to tuple");
    assertMentions(rejects("k.pth", PthSamples.zipWithPickle("a", bytes("\u0080\u0002}}b.", ""), Map.of())),
        "can only set the state of an OrderedDict");
    assertMentions(rejects("k.pth", PthSamples.zipWithPickle("a", bytes("\u0080\u0002I1\n.", ""), Map.of())),
        "unsupported pickle opcode 'I'");
  }
}
