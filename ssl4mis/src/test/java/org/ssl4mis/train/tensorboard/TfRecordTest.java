package org.ssl4mis.train.tensorboard;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The TFRecord framing and CRC-32C masking of {@link TfRecord}, and the protobuf helpers of {@link Protobuf}. */
class TfRecordTest {

  @Test
  void crc32cKnownAnswer() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertEquals(0xE3069283, TfRecord.crc32c(check, 0, check.length));
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros and of 0xFF.
    assertEquals(0x8A9136AA, TfRecord.crc32c(new byte[32], 0, 32));
    byte[] ones = new byte[32];
    java.util.Arrays.fill(ones, (byte) 0xFF);
    assertEquals(0x62A8AB43, TfRecord.crc32c(ones, 0, 32));
  }

  @Test
  void maskIsTheRotationPlusDeltaAndUnmaskInvertsIt() {
    int crc = 0xE3069283;
    int expected = (int) ((((crc >>> 15) | ((long) crc << 17)) + 0xa282ead8L) & 0xFFFFFFFFL);
    assertEquals(expected, TfRecord.mask(crc));
    Random random = new Random(7);
    for (int i = 0; i < 10_000; i++) {
      int c = random.nextInt();
      assertEquals(c, TfRecord.unmask(TfRecord.mask(c)));
    }
    assertEquals(0, TfRecord.unmask(TfRecord.mask(0)));
    assertEquals(0xa282ead8, TfRecord.mask(0));
  }

  @Test
  void frameLayout() {
    byte[] data = "hello, event".getBytes(StandardCharsets.UTF_8);
    byte[] record = TfRecord.frame(data);
    assertEquals(12 + data.length + 4, record.length);
    assertEquals(data.length, TfRecord.getLongLe(record, 0));
    for (int i = 1; i < 8; i++) {
      assertEquals(0, record[i], "high length bytes are zero");
    }
    assertEquals(TfRecord.mask(TfRecord.crc32c(record, 0, 8)), TfRecord.getIntLe(record, 8));
    assertArrayEquals(data, java.util.Arrays.copyOfRange(record, 12, 12 + data.length));
    assertEquals(TfRecord.mask(TfRecord.crc32c(data, 0, data.length)), TfRecord.getIntLe(record, 12 + data.length));
    // Little-endian helpers.
    byte[] b = new byte[8];
    TfRecord.putLongLe(b, 0, 0x0102030405060708L);
    assertArrayEquals(new byte[] {8, 7, 6, 5, 4, 3, 2, 1}, b);
    TfRecord.putIntLe(b, 0, 0xA1B2C3D4);
    assertEquals(0xA1B2C3D4, TfRecord.getIntLe(b, 0));
    // An empty record frames too.
    assertEquals(16, TfRecord.frame(new byte[0]).length);
  }

  @Test
  void protobufRoundTrip() {
    byte[] nested = new Protobuf.Writer().string(1, "näme").toByteArray();
    byte[] message = new Protobuf.Writer()
        .fixedDouble(1, 1234.5)
        .varint(2, 300)
        .varint(3, -1)
        .fixedFloat(4, -0.25f)
        .bytes(5, nested)
        .varint(6, Long.MAX_VALUE)
        .toByteArray();
    // Field 2, wire type 0: key 0x10, then 300 = 0xAC 0x02.
    assertEquals(0x10, message[9] & 0xFF);
    assertEquals(0xAC, message[10] & 0xFF);
    assertEquals(0x02, message[11] & 0xFF);
    Protobuf.Reader r = new Protobuf.Reader(message);
    assertEquals(1, r.nextField());
    assertEquals(1234.5, r.fixedDouble("d"));
    assertEquals(2, r.nextField());
    assertEquals(300, r.varint("v"));
    assertEquals(3, r.nextField());
    assertEquals(-1, r.varint("v"));
    assertEquals(4, r.nextField());
    assertEquals(-0.25f, r.fixedFloat("f"));
    assertEquals(5, r.nextField());
    Protobuf.Reader inner = r.message("m");
    assertEquals(1, inner.nextField());
    assertEquals("näme", inner.string("s"));
    assertFalse(inner.hasMore());
    assertEquals(6, r.nextField());
    r.skip();
    assertFalse(r.hasMore());
    // Wrong wire type and truncation are reported, not misread.
    Protobuf.Reader wrong = new Protobuf.Reader(message);
    wrong.nextField();
    assertThrows(Protobuf.MalformedException.class, () -> wrong.varint("wall_time"));
    Protobuf.Reader cut = new Protobuf.Reader(java.util.Arrays.copyOf(message, 5));
    cut.nextField();
    assertThrows(Protobuf.MalformedException.class, () -> cut.fixedDouble("d"));
  }
}
