package org.ssl4mis.train.tensorboard;

import java.util.zip.CRC32C;

/**
 * The TFRecord framing of TensorBoard event files: each record is
 *
 * <pre>
 *   uint64 length           (little-endian)
 *   uint32 masked_crc32c(length bytes)
 *   byte   data[length]
 *   uint32 masked_crc32c(data)
 * </pre>
 *
 * where the CRC is CRC-32C (Castagnoli) and the mask is {@code ((crc >>> 15) | (crc << 17)) + 0xa282ead8}.
 */
final class TfRecord {
  /** Bytes before the data: the length and its CRC. */
  static final int HEADER_BYTES = 12;
  /** Bytes after the data: its CRC. */
  static final int FOOTER_BYTES = 4;
  private static final int MASK_DELTA = 0xa282ead8;

  private TfRecord() {}

  /** CRC-32C of {@code length} bytes of {@code bytes} from {@code offset}, as an unsigned value in an int. */
  static int crc32c(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }

  static int mask(int crc) {
    return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
  }

  static int unmask(int masked) {
    int rotated = masked - MASK_DELTA;
    return (rotated >>> 17) | (rotated << 15);
  }

  static int maskedCrc32c(byte[] bytes, int offset, int length) {
    return mask(crc32c(bytes, offset, length));
  }

  /** The whole record (header, data, footer) for {@code data}, ready for one write. */
  static byte[] frame(byte[] data) {
    byte[] record = new byte[HEADER_BYTES + data.length + FOOTER_BYTES];
    putLongLe(record, 0, data.length);
    putIntLe(record, 8, maskedCrc32c(record, 0, 8));
    System.arraycopy(data, 0, record, HEADER_BYTES, data.length);
    putIntLe(record, HEADER_BYTES + data.length, maskedCrc32c(data, 0, data.length));
    return record;
  }

  static void putLongLe(byte[] b, int at, long v) {
    for (int i = 0; i < 8; i++) {
      b[at + i] = (byte) (v >>> (8 * i));
    }
  }

  static void putIntLe(byte[] b, int at, int v) {
    for (int i = 0; i < 4; i++) {
      b[at + i] = (byte) (v >>> (8 * i));
    }
  }

  static long getLongLe(byte[] b, int at) {
    long v = 0;
    for (int i = 7; i >= 0; i--) {
      v = (v << 8) | (b[at + i] & 0xFF);
    }
    return v;
  }

  static int getIntLe(byte[] b, int at) {
    int v = 0;
    for (int i = 3; i >= 0; i--) {
      v = (v << 8) | (b[at + i] & 0xFF);
    }
    return v;
  }
}
