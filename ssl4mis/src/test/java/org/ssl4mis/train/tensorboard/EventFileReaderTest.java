package org.ssl4mis.train.tensorboard;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.train.tensorboard.EventFileReader.Contents;
import org.ssl4mis.train.tensorboard.EventFileReader.CorruptEventFileException;
import org.ssl4mis.train.tensorboard.EventFileReader.Event;
import org.ssl4mis.train.tensorboard.EventFileReader.Other;
import org.ssl4mis.train.tensorboard.EventFileReader.Record;
import org.ssl4mis.train.tensorboard.EventFileReader.Records;
import org.ssl4mis.train.tensorboard.EventFileReader.Scalar;
import org.ssl4mis.train.tensorboard.EventFileReader.Truncation;

/** {@link EventFileReader}: CRC checks, corruption and truncation reports, and decoding of other writers' values. */
class EventFileReaderTest {

  @TempDir
  Path dir;

  private byte[] bytes;
  private List<Long> offsets;

  /** A small file: the version event, scalars and one image. */
  @BeforeEach
  void writeFile() throws IOException {
    Path file;
    try (EventFileWriter w = new EventFileWriter(dir.resolve("src"))) {
      file = w.file();
      for (int i = 0; i < 5; i++) {
        w.addScalar("info/loss", 1.0 / (i + 1), i);
      }
      w.addImage("train/Image", new byte[] {0, 64, (byte) 128, (byte) 255, 1, 2}, new int[] {2, 3}, 5);
      w.addScalar("info/last", 42, 6);
    }
    bytes = Files.readAllBytes(file);
    Records records = EventFileReader.readRecords(file);
    assertTrue(records.truncation().isEmpty());
    assertEquals(8, records.records().size());
    offsets = records.records().stream().map(Record::offset).toList();
    // Offsets follow the framing exactly.
    long expected = 0;
    for (Record r : records.records()) {
      assertEquals(expected, r.offset());
      expected += 12 + r.data().length + 4;
    }
    assertEquals(bytes.length, expected);
  }

  private Path write(String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }

  /** The start of the record that holds byte {@code position}. */
  private long recordStart(long position) {
    long start = 0;
    for (long o : offsets) {
      if (o <= position) {
        start = o;
      }
    }
    return start;
  }

  @Test
  void flippedDataByteIsACrcErrorNamingFileAndOffset() throws IOException {
    int record = 3;
    long at = offsets.get(record) + 12 + 5; // inside the data
    byte[] bad = bytes.clone();
    bad[(int) at] ^= 0x10;
    Path p = write("flipped", bad);
    CorruptEventFileException e = assertThrows(CorruptEventFileException.class, () -> EventFileReader.read(p));
    assertEquals(p, e.file());
    assertEquals(offsets.get(record), e.offset());
    assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("data CRC mismatch"), e.getMessage());
    assertTrue(e.getMessage().contains("record 3 at byte offset " + offsets.get(record)), e.getMessage());
  }

  @Test
  void flippedLengthByteIsALengthCrcError() throws IOException {
    byte[] bad = bytes.clone();
    bad[offsets.get(2).intValue()] ^= 0x01;
    Path p = write("length", bad);
    CorruptEventFileException e = assertThrows(CorruptEventFileException.class, () -> EventFileReader.readRecords(p));
    assertEquals(offsets.get(2), e.offset());
    assertTrue(e.getMessage().contains("length CRC mismatch"), e.getMessage());
  }

  @Test
  void everySingleBitFlipIsDetectedAtItsRecord() throws IOException {
    Path p = dir.resolve("each"); // in memory: the name is for messages only
    for (int i = 0; i < bytes.length; i++) {
      for (int bit : new int[] {0, 7}) {
        byte[] bad = bytes.clone();
        bad[i] ^= (byte) (1 << bit);
        int position = i;
        CorruptEventFileException e = assertThrows(CorruptEventFileException.class,
            () -> EventFileReader.readRecords(p, new ByteArrayInputStream(bad)),
            () -> "flip at byte " + position + " not detected");
        assertEquals(p, e.file());
        assertEquals(recordStart(i), e.offset(), "flip at byte " + i);
      }
    }
  }

  @Test
  void truncatedFinalRecordIsReportedAndTheRecordsBeforeItReturned() throws IOException {
    Path p = dir.resolve("cut"); // in memory in the loop: the name is for messages only
    for (int length = 0; length < bytes.length; length++) {
      Contents c = EventFileReader.read(p, new ByteArrayInputStream(Arrays.copyOf(bytes, length)));
      int complete = 0;
      while (complete < offsets.size() && (complete + 1 < offsets.size() ? offsets.get(complete + 1) : bytes.length)
          <= length) {
        complete++;
      }
      assertEquals(complete, c.events().size(), "cut at " + length);
      if (length == 0 || offsets.contains((long) length)) {
        assertFalse(c.truncated(), "a cut between records is a shorter, valid file: " + length);
      } else {
        assertTrue(c.truncated(), "cut at " + length + " not reported");
        Truncation t = c.truncation().orElseThrow();
        assertEquals(recordStart(length), t.offset());
        assertEquals(length, t.fileSize());
        assertEquals(p, t.file());
        assertTrue(t.message().contains(p.toString()) && t.message().contains("truncated")
            && t.message().contains("offset " + t.offset()), t.message());
      }
    }
    // The records before the cut decode to what was written; from a file too.
    Files.write(p, Arrays.copyOf(bytes, bytes.length - 3));
    Contents c = EventFileReader.read(p);
    assertEquals(7, c.events().size());
    assertEquals(5, c.scalars("info/loss").size());
    assertEquals(0.25f, c.scalars("info/loss").get(3).value());
    assertEquals(1, c.images("train/Image").size());
    assertTrue(c.scalars("info/last").isEmpty());
    String message = c.truncation().orElseThrow().message();
    assertTrue(message.contains("only 1 of the 4 bytes of its data CRC"), message);
    assertTrue(message.contains("The 7 records before it are intact"), message);
  }

  @Test
  void wellFramedGarbageIsAMalformedRecord() throws IOException {
    byte[] garbage = {(byte) 0x0F, 1, 2, 3}; // field 1 with wire type 7
    byte[] file = concat(Arrays.copyOf(bytes, offsets.get(1).intValue()), TfRecord.frame(garbage));
    Path p = write("garbage", file);
    assertEquals(2, EventFileReader.readRecords(p).records().size(), "the framing is fine");
    CorruptEventFileException e = assertThrows(CorruptEventFileException.class, () -> EventFileReader.read(p));
    assertEquals(offsets.get(1), e.offset());
    assertTrue(e.getMessage().contains("not a tensorflow.Event"), e.getMessage());
  }

  @Test
  void decodesTensorScalarsTextAndSkipsUnknownFields() throws IOException {
    // torch.utils.tensorboard's new-style scalar: a float tensor with the scalars plugin's metadata.
    Protobuf.Writer scalarsMeta = new Protobuf.Writer().message(1, new Protobuf.Writer().string(1, "scalars"));
    Protobuf.Writer tensorScalar = new Protobuf.Writer()
        .string(1, "new/style")
        .message(8, new Protobuf.Writer().varint(1, 1).bytes(4, le(Float.floatToIntBits(2.5f))))
        .message(9, scalarsMeta);
    Protobuf.Writer packedFloat = new Protobuf.Writer()
        .string(1, "packed")
        .message(8, new Protobuf.Writer().varint(1, 1).bytes(5, le(Float.floatToIntBits(-1.5f))))
        .message(9, scalarsMeta);
    Protobuf.Writer histogram = new Protobuf.Writer().string(1, "weights").message(5, new Protobuf.Writer().varint(1, 3));
    byte[] event = new Protobuf.Writer()
        .fixedDouble(1, 1700000000.25)
        .varint(2, 77)
        .string(4, "graph_def bytes, skipped")
        .message(5, new Protobuf.Writer()
            .message(1, tensorScalar)
            .message(1, packedFloat)
            .message(1, histogram))
        .varint(99, 12345)
        .toByteArray();
    Event e = EventFileReader.decodeEvent(event);
    assertEquals(1700000000.25, e.wallTime());
    assertEquals(77, e.step());
    assertEquals(List.of(new Scalar("new/style", 2.5f), new Scalar("packed", -1.5f), new Other("weights", "histogram")),
        e.values());

    // A whole file of records framed here reads back, in order.
    List<byte[]> frames = new ArrayList<>();
    frames.add(TfRecord.frame(new Protobuf.Writer().fixedDouble(1, 1.0).string(3, "brain.Event:2").toByteArray()));
    frames.add(TfRecord.frame(event));
    Path p = write("other-writer", concat(frames.toArray(byte[][]::new)));
    Contents c = EventFileReader.read(p);
    assertEquals("brain.Event:2", c.fileVersion());
    assertEquals(2.5f, c.scalars("new/style").getFirst().value());
    assertEquals(77, c.scalars("new/style").getFirst().step());
  }

  @Test
  void emptyFileHasNoEvents() throws IOException {
    Contents c = EventFileReader.read(write("empty", new byte[0]));
    assertTrue(c.events().isEmpty());
    assertFalse(c.truncated());
    assertEquals("", c.fileVersion());
  }

  private static byte[] le(int v) {
    byte[] b = new byte[4];
    TfRecord.putIntLe(b, 0, v);
    return b;
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
