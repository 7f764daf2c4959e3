package org.ssl4mis.train.tensorboard;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.testing.PythonReference;

/**
 * An independent check of the files {@link EventFileWriter} writes: a Python reader written here from the public
 * formats alone (struct, a hand-rolled protobuf decoder, a table-driven CRC-32C, and a PNG decoder on zlib) verifies
 * the framing and both CRCs of every record and prints what it decoded, which must be what was written.
 */
class EventFilePythonTest {

  /** Reads event files given as arguments; prints one line per record, value and file, tags and texts in hex. */
  static final String READER = """
      import struct, sys, zlib

      def crc32c_table():
          table = []
          for n in range(256):
              c = n
              for _ in range(8):
                  c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
              table.append(c)
          return table

      TABLE = crc32c_table()

      def crc32c(data):
          c = 0xFFFFFFFF
          for b in data:
              c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
          return c ^ 0xFFFFFFFF

      def masked_crc(data):
          c = crc32c(data)
          return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

      assert crc32c(b"123456789") == 0xE3069283
      assert crc32c(bytes(32)) == 0x8A9136AA

      def records(buf):
          pos = 0
          while pos < len(buf):
              assert len(buf) - pos >= 12, "truncated header at %d" % pos
              header = buf[pos:pos + 8]
              length, = struct.unpack("<Q", header)
              length_crc, = struct.unpack("<I", buf[pos + 8:pos + 12])
              assert length_crc == masked_crc(header), "length crc at %d" % pos
              data = buf[pos + 12:pos + 12 + length]
              assert len(data) == length, "truncated data at %d" % pos
              footer = buf[pos + 12 + length:pos + 16 + length]
              assert len(footer) == 4, "truncated footer at %d" % pos
              data_crc, = struct.unpack("<I", footer)
              assert data_crc == masked_crc(data), "data crc at %d" % pos
              yield pos, data
              pos += 16 + length

      def varint(buf, pos):
          result = 0
          shift = 0
          while True:
              b = buf[pos]
              pos += 1
              result |= (b & 0x7F) << shift
              shift += 7
              if b < 0x80:
                  return result, pos

      def fields(buf):
          pos = 0
          out = []
          while pos < len(buf):
              key, pos = varint(buf, pos)
              number, wire = key >> 3, key & 7
              if wire == 0:
                  value, pos = varint(buf, pos)
              elif wire == 1:
                  value = buf[pos:pos + 8]
                  pos += 8
              elif wire == 2:
                  n, pos = varint(buf, pos)
                  value = buf[pos:pos + n]
                  pos += n
              elif wire == 5:
                  value = buf[pos:pos + 4]
                  pos += 4
              else:
                  raise ValueError("wire type %d" % wire)
              assert pos <= len(buf), "field %d runs past the message" % number
              out.append((number, wire, value))
          return out

      def int64(v):
          return v - (1 << 64) if v >= (1 << 63) else v

      def paeth(a, b, c):
          p = a + b - c
          pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
          if pa <= pb and pa <= pc:
              return a
          return b if pb <= pc else c

      def decode_png(png):
          assert png[:8] == bytes([137, 80, 78, 71, 13, 10, 26, 10]), "png signature"
          pos = 8
          idat = b""
          header = None
          while pos < len(png):
              n, = struct.unpack(">I", png[pos:pos + 4])
              kind = png[pos + 4:pos + 8]
              body = png[pos + 8:pos + 8 + n]
              crc, = struct.unpack(">I", png[pos + 8 + n:pos + 12 + n])
              assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, "png chunk crc"
              if kind == b"IHDR":
                  header = struct.unpack(">IIBBBBB", body)
              elif kind == b"IDAT":
                  idat += body
              elif kind == b"IEND":
                  break
              pos += 12 + n
          width, height, depth, color, _, _, interlace = header
          assert depth == 8 and interlace == 0, header
          channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
          raw = zlib.decompress(idat)
          stride = width * channels
          prev = bytearray(stride)
          out = bytearray()
          pos = 0
          for _ in range(height):
              kind = raw[pos]
              line = bytearray(raw[pos + 1:pos + 1 + stride])
              pos += 1 + stride
              for i in range(stride):
                  a = line[i - channels] if i >= channels else 0
                  b = prev[i]
                  c = prev[i - channels] if i >= channels else 0
                  if kind == 1:
                      line[i] = (line[i] + a) & 0xFF
                  elif kind == 2:
                      line[i] = (line[i] + b) & 0xFF
                  elif kind == 3:
                      line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
                  elif kind == 4:
                      line[i] = (line[i] + paeth(a, b, c)) & 0xFF
                  else:
                      assert kind == 0, "png filter %d" % kind
              out += line
              prev = line
          return width, height, channels, bytes(out)

      for path in sys.argv[1:]:
          with open(path, "rb") as f:
              buf = f.read()
          count = 0
          for offset, data in records(buf):
              wall, step, version, values = 0.0, 0, b"", []
              for number, wire, value in fields(data):
                  if number == 1:
                      assert wire == 1
                      wall = value
                  elif number == 2:
                      assert wire == 0
                      step = int64(value)
                  elif number == 3:
                      version = value
                  elif number == 5:
                      values = [v for n, w, v in fields(value) if n == 1]
              print("event %d %d %s %d %s" % (count, offset, wall.hex() if wall else "-", step, version.hex() or "-"))
              for value in values:
                  tag = b""
                  parts = {}
                  for number, wire, v in fields(value):
                      if number == 1:
                          tag = v
                      else:
                          parts[number] = (wire, v)
                  if 2 in parts:
                      wire, v = parts[2]
                      assert wire == 5
                      print("scalar %d %s %s" % (count, tag.hex(), v[::-1].hex()))
                  elif 4 in parts:
                      image = dict((n, v) for n, w, v in fields(parts[4][1]))
                      width, height, channels, pixels = decode_png(image[4])
                      assert (width, height, channels) == (image[2], image[1], image[3])
                      print("image %d %s %d %d %d %s" % (count, tag.hex(), height, width, channels, pixels.hex()))
                  elif 8 in parts:
                      tensor = fields(parts[8][1])
                      meta = fields(parts[9][1])
                      plugin = [v for n, w, v in fields(meta[0][2]) if n == 1][0]
                      dtype = [v for n, w, v in tensor if n == 1][0]
                      text = [v for n, w, v in tensor if n == 8][0]
                      print("text %d %s %s %d %s" % (count, tag.hex(), plugin.decode(), dtype, text.hex()))
              count += 1
          print("records %d %d" % (count, len(buf)))
      """;

  @TempDir
  Path dir;

  @Test
  void pythonReaderAgreesOnFramingCrcsAndValues() throws IOException {
    Random random = new Random(3);
    int h = 7;
    int w = 5;
    float[] gray = new float[h * w];
    for (int i = 0; i < gray.length; i++) {
      gray[i] = random.nextFloat() * 1.2f - 0.1f;
    }
    byte[] rgb = new byte[3 * h * w];
    random.nextBytes(rgb);
    float[] scalars = {0.125f, -7.5f, Float.NaN, 3.4028235e38f, 1.17549435e-38f, 0.1f};
    long[] steps = {0, 1, 127, 128, 1L << 35, Long.MAX_VALUE};
    String text = "Dice 0.87 — *mean teacher*";
    Path file;
    try (EventFileWriter writer = new EventFileWriter(dir)) {
      file = writer.file();
      for (int i = 0; i < scalars.length; i++) {
        writer.addScalar("info/val_" + i, scalars[i], steps[i]);
      }
      writer.addImage("train/Image", gray, new int[] {h, w}, 20);
      writer.addImage("train/RGB", rgb, new int[] {3, h, w}, 40);
      writer.addText("config", text, 2);
    }

    String out = PythonReference.run(READER, Duration.ofSeconds(60), file.toString());
    List<String[]> lines = new ArrayList<>();
    for (String line : out.strip().split("\n")) {
      lines.add(line.split(" "));
    }
    HexFormat hex = HexFormat.of();
    int records = 1 + scalars.length + 3;
    String[] last = lines.getLast();
    assertEquals("records", last[0], out);
    assertEquals(records, Integer.parseInt(last[1]));
    assertEquals(Files.size(file), Long.parseLong(last[2]));

    EventFileReader.Records javaRecords = EventFileReader.readRecords(file);
    List<String[]> events = lines.stream().filter(l -> l[0].equals("event")).toList();
    assertEquals(records, events.size());
    for (int i = 0; i < records; i++) {
      String[] e = events.get(i);
      assertEquals(i, Integer.parseInt(e[1]));
      assertEquals(javaRecords.records().get(i).offset(), Long.parseLong(e[2]), "offset of record " + i);
      assertNotEquals("-", e[3], "every event has a wall time");
    }
    // The first event: file_version and no step.
    assertEquals(hex.formatHex("brain.Event:2".getBytes(StandardCharsets.UTF_8)), events.getFirst()[5]);
    assertEquals("0", events.getFirst()[4]);
    double wall = ByteBuffer.wrap(hex.parseHex(events.getFirst()[3])).order(ByteOrder.LITTLE_ENDIAN).getDouble();
    assertEquals(System.currentTimeMillis() / 1000.0, wall, 60.0, "wall time in seconds");

    List<String[]> scalarLines = lines.stream().filter(l -> l[0].equals("scalar")).toList();
    assertEquals(scalars.length, scalarLines.size());
    for (int i = 0; i < scalars.length; i++) {
      String[] s = scalarLines.get(i);
      assertEquals(i + 1, Integer.parseInt(s[1]));
      assertEquals("info/val_" + i, new String(hex.parseHex(s[2]), StandardCharsets.UTF_8));
      assertEquals(Float.floatToRawIntBits(scalars[i]), (int) Long.parseLong(s[3], 16), "bits of scalar " + i);
      assertEquals(steps[i], Long.parseLong(events.get(i + 1)[4]), "step " + i);
    }

    List<String[]> images = lines.stream().filter(l -> l[0].equals("image")).toList();
    assertEquals(2, images.size());
    String[] g = images.get(0);
    assertEquals("train/Image", new String(hex.parseHex(g[2]), StandardCharsets.UTF_8));
    assertArrayEquals(new int[] {h, w, 1},
        new int[] {Integer.parseInt(g[3]), Integer.parseInt(g[4]), Integer.parseInt(g[5])});
    byte[] expectedGray = new byte[gray.length];
    for (int i = 0; i < gray.length; i++) {
      expectedGray[i] = EventFileWriter.toUint8(gray[i]);
      assertEquals((int) Math.max(0f, Math.min(255f, gray[i] * 255f)), expectedGray[i] & 0xFF);
    }
    assertArrayEquals(expectedGray, hex.parseHex(g[6]));
    assertEquals("20", events.get(1 + scalars.length)[4]);
    String[] c = images.get(1);
    assertEquals(3, Integer.parseInt(c[5]));
    byte[] hwc = hex.parseHex(c[6]);
    for (int ch = 0; ch < 3; ch++) {
      for (int p = 0; p < h * w; p++) {
        assertEquals(rgb[ch * h * w + p], hwc[p * 3 + ch], "channel " + ch + " pixel " + p);
      }
    }

    String[] t = lines.stream().filter(l -> l[0].equals("text")).findFirst().orElseThrow();
    assertEquals("config/text_summary", new String(hex.parseHex(t[2]), StandardCharsets.UTF_8));
    assertEquals("text", t[3]);
    assertEquals("7", t[4], "DT_STRING");
    assertEquals(text, new String(hex.parseHex(t[5]), StandardCharsets.UTF_8));
  }
}
