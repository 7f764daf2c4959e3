package org.ssl4mis.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssl4mis.io.pth.PthMalformedInputTest.assertMentions;
import static org.ssl4mis.io.pth.PthMalformedInputTest.bytes;
import static org.ssl4mis.io.pth.PthMalformedInputTest.le32;
import static org.ssl4mis.io.pth.PthMalformedInputTest.rejects;
import static org.ssl4mis.io.pth.PthMalformedInputTest.str;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ssl4mis.tensor.DType;

/** Opcode-level checks of the restricted unpickler, on hand-made pickles (protocols 2 to 5). */
@Timeout(30)
class PthUnpicklerTest {

  private static Object load(byte[] pickle) throws IOException {
    return load(pickle, Map.of());
  }

  private static Object load(byte[] pickle, Map<String, byte[]> storages) throws IOException {
    return PthReader.read("test.pth", PthSamples.zipWithPickle("archive", pickle, storages)).root();
  }

  private static byte[] p2(Object... body) {
    return bytes("\u0080\u0002", bytes(body), ".");
  }

  private static byte[] le64(long value) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
  }

  @Test
  void integers() throws IOException {
    assertEquals(-1L, load(p2("J", le32(-1))));
    assertEquals(255L, load(p2("K", 255)));
    assertEquals(65535L, load(p2("M", 255, 255)));
    assertEquals(0L, load(p2("\u008a", 0)));
    assertEquals(-1L, load(p2("\u008a", 1, 0xff)));
    assertEquals(Long.MIN_VALUE, load(p2("\u008a", 8, new byte[7], 0x80)));
    assertEquals(BigInteger.TWO.pow(64), load(p2("\u008a", 9, new byte[8], 1)));
    assertEquals(BigInteger.TWO.pow(64).negate(), load(p2("\u008b", le32(9), new byte[8], 0xff)));
  }

  @Test
  void floatsStringsAndBytes() throws IOException {
    assertEquals(1.5, load(p2("G", ByteBuffer.allocate(8).putDouble(1.5).array())));
    assertEquals("é", load(bytes("\u0080\u0004\u008c", 2, "é".getBytes(StandardCharsets.UTF_8), ".")));
    assertEquals("ab", load(bytes("\u0080\u0004\u008d", le64(2), "ab.")));
    assertEquals("py2", load(p2("U", 3, "py2")));
    assertArrayEquals(new byte[] {1, 2}, (byte[]) load(bytes("\u0080\u0003C", 2, 1, 2, ".")));
    assertArrayEquals(new byte[] {3}, (byte[]) load(bytes("\u0080\u0003B", le32(1), 3, ".")));
    assertArrayEquals(new byte[] {4}, (byte[]) load(bytes("\u0080\u0004\u008e", le64(1), 4, ".")));
    assertArrayEquals(new byte[] {5}, (byte[]) load(bytes("\u0080\u0005\u0096", le64(1), 5, ".")));
    // Protocol 2 bytes: _codecs.encode('\x00\xff', 'latin1') and bytes().
    assertArrayEquals(new byte[] {0, -1}, (byte[]) load(p2("c_codecs\nencode\n", str("\u0000\u00ff"), str("latin1"),
        "\u0086R")));
    assertArrayEquals(new byte[0], (byte[]) load(p2("c__builtin__\nbytes\n)R")));
    assertMentions(rejects("utf8.pth", PthSamples.zipWithPickle("a", p2("X", le32(2), 0xc3, 0x28), Map.of())),
        "not valid UTF-8");
  }

  @Test
  void containersAndStackOpcodes() throws IOException {
    // MARK 1 2 LIST; DICT from pairs; DUP, POP, POP_MARK leave the stack as Python leaves it.
    assertEquals(List.of(1L, 2L), load(p2("(K", 1, "K", 2, "l")));
    assertEquals(Map.of("a", 1L), load(p2("(", str("a"), "K", 1, "d")));
    List<?> dup = assertInstanceOf(List.class, load(p2("]2a")));
    assertSame(dup, dup.getFirst());
    assertEquals(7L, load(p2("K", 7, "K", 8, "0")));
    assertEquals(7L, load(p2("K", 7, "(K", 8, "K", 9, "1")));
    assertEquals(PyTuple.of(1L, 2L, 3L, 4L), load(p2("(K", 1, "K", 2, "K", 3, "K", 4, "t")));
    assertInstanceOf(PyTuple.class, load(p2(")")));
    // Protocol 4: a frame, MEMOIZE and STACK_GLOBAL for a dtype value and an OrderedDict made by NEWOBJ.
    byte[] body = bytes("\u008c\u0005torch\u0094\u008c\u0007float32\u0094\u0093\u0094",
        "\u008c\u000bcollections\u0094\u008c\u000bOrderedDict\u0094\u0093\u0094)\u0081\u0094\u0086\u0094");
    Object framed = load(bytes("\u0080\u0004\u0095", le64(body.length + 1), body, "."));
    PyTuple tuple = assertInstanceOf(PyTuple.class, framed);
    assertEquals(DType.FLOAT32, tuple.get(0));
    assertInstanceOf(PyOrderedDict.class, tuple.get(1));
  }

  @Test
  void orderedDictStateAndConstructorForms() throws IOException {
    // BUILD with (dict_state, slot_state), as Python writes objects that also have __slots__.
    Object built = load(p2("ccollections\nOrderedDict\n)R", str("k"), "K", 1, "s}", str("_metadata"), "}s}",
        str("other"), "Ns\u0086b"));
    PyOrderedDict od = assertInstanceOf(PyOrderedDict.class, built);
    assertEquals(Map.of("k", 1L), od);
    assertEquals(Map.of(), od.metadata());
    assertTrue(od.attributes().containsKey("other"));
    // OrderedDict([(k, v), ...]) and OrderedDict({...}).
    Object fromPairs = load(p2("ccollections\nOrderedDict\n](", str("a"), "K", 1, "\u0086", str("b"), "K", 2,
        "\u0086e\u0085R"));
    assertEquals(List.of("a", "b"), List.copyOf(((Map<?, ?>) fromPairs).keySet()));
  }

  @Test
  void tensorRebuildVariants() throws IOException {
    byte[] floats = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(2).putFloat(3)
        .putFloat(4).array();
    Map<String, byte[]> storage = Map.of("0", floats);
    byte[] pid = bytes("(", str("storage"), "ctorch\nFloatStorage\n", str("0"), str("cpu"), "K", 4, "tQ");
    byte[] v2Args = bytes("(", pid, "K", 1, "K", 2, "\u0085K", 1, "\u0085\u0088ccollections\nOrderedDict\n)Rt");
    byte[] v2 = bytes("ctorch._utils\n_rebuild_tensor_v2\n", v2Args, "R");

    RawTensor plain = assertInstanceOf(RawTensor.class, load(p2(v2), storage));
    assertEquals(1, plain.storageOffset());
    assertTrue(plain.requiresGrad());
    assertEquals(2.0f, plain.contiguousBytes().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));

    // torch.Size as the size argument; the old _rebuild_tensor without requires_grad.
    RawTensor v1 = assertInstanceOf(RawTensor.class, load(p2("ctorch._utils\n_rebuild_tensor\n(", pid, "K", 0,
        "ctorch\nSize\nK", 2, "K", 2, "\u0086\u0085RK", 2, "K", 1, "\u0086tR"), storage));
    assertArrayEquals(new long[] {2, 2}, v1.shape());
    assertEquals(false, v1.requiresGrad());

    RawTensor parameter = assertInstanceOf(RawTensor.class, load(p2("ctorch._utils\n_rebuild_parameter_with_state\n(",
        v2, "\u0088ccollections\nOrderedDict\n)R}tR"), storage));
    assertTrue(parameter.isParameter());

    RawTensor fromType = assertInstanceOf(RawTensor.class, load(p2("ctorch._tensor\n_rebuild_from_type_v2\n(",
        "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch\nTensor\n", v2Args, "}tR"), storage));
    assertArrayEquals(new long[] {2}, fromType.shape());

    RawTensor newobj = assertInstanceOf(RawTensor.class, load(p2("ctorch.nn.parameter\nParameter\n", v2,
        "\u0089\u0086\u0081"), storage));
    assertTrue(newobj.isParameter());
    assertEquals(false, newobj.requiresGrad());

    // A bare storage is a value of its own; untyped storages hold bytes.
    StorageRef untyped = assertInstanceOf(StorageRef.class, load(p2("(", str("storage"),
        "ctorch.storage\nUntypedStorage\n", str("0"), str("cpu"), "K", 16, "tQ"), storage));
    assertEquals(DType.UINT8, untyped.dtype());
    assertEquals(16, untyped.numel());

    assertMentions(rejects("meta.pth", PthSamples.zipWithPickle("a", p2("ctorch._utils\n_rebuild_tensor_v2\n(", pid,
        "K", 0, "))\u0089ccollections\nOrderedDict\n)R}", str("x"), "NstR"), storage)),
        "tensor metadata");
    assertMentions(rejects("sub.pth", PthSamples.zipWithPickle("a", p2("ctorch._tensor\n_rebuild_from_type_v2\n(",
        "ctorch._utils\n_rebuild_tensor_v2\n", "ccollections\nOrderedDict\n", v2Args, "}tR"), storage)),
        "tensor subclass");
  }

  @Test
  void bigEndianArchivesAreConverted() throws IOException {
    byte[] pickle = p2("ctorch._utils\n_rebuild_tensor_v2\n((", str("storage"), "ctorch\nIntStorage\n", str("0"),
        str("cpu"), "K", 2, "tQK", 0, "K", 2, "\u0085K", 1, "\u0085\u0089ccollections\nOrderedDict\n)RtR");
    byte[] bigEndian = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putInt(1).putInt(-2).array();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ZipWriter zip = new ZipWriter(Channels.newChannel(out), false);
    zip.add("be/data.pkl", pickle);
    zip.add("be/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
    zip.add("be/data/0", bigEndian);
    zip.finish();
    Checkpoint read = PthReader.read("be.pth", out.toByteArray());
    assertEquals(ByteOrder.BIG_ENDIAN, read.byteOrder());
    ByteBuffer values = ((RawTensor) read.root()).storage().byteBuffer();
    assertEquals(1, values.getInt(0));
    assertEquals(-2, values.getInt(4));
  }

  @Test
  void protocolAndPersistentIdChecks() {
    assertMentions(rejects("p.pth", PthSamples.zipWithPickle("a", bytes("\u0080\u0006N."), Map.of())),
        "unsupported pickle protocol 6");
    assertMentions(rejects("p.pth", PthSamples.zipWithPickle("a", p2("(", str("module"), "NtQ"), Map.of())),
        "only storages may be referenced from a pickle, not 'module'");
    assertMentions(rejects("p.pth", PthSamples.zipWithPickle("a", p2("K", 1, "Q"), Map.of())),
        "persistent id must be a tuple, not int");
  }
}
