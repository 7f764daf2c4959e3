package org.ssl4mis.io.pth;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes an uncompressed zip archive the way PyTorch's {@code PyTorchStreamWriter} lays it out: every entry's
 * data starts at a multiple of 64 bytes (padding goes into an {@code FB} extra field), so a reader can map
 * tensors straight from the file. Zip64 records are written where sizes or offsets need them.
 */
final class ZipWriter {
  private static final int ALIGNMENT = 64;
  private static final long ZIP32_LIMIT = 0xffffffffL;
  /** 1980-01-01, the earliest DOS date. */
  private static final int DOS_DATE = (1 << 5) | 1;

  private record Written(byte[] name, int crc, long size, long offset, boolean zip64) {
  }

  private final WritableByteChannel channel;
  private final boolean forceZip64;
  private final List<Written> written = new ArrayList<>();
  private long position;

  /** @param forceZip64 write zip64 records even for small archives (for tests) */
  ZipWriter(WritableByteChannel channel, boolean forceZip64) {
    this.channel = channel;
    this.forceZip64 = forceZip64;
  }

  void add(String name, byte[] data) throws IOException {
    add(name, MemorySegment.ofArray(data));
  }

  void add(String name, MemorySegment data) throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    long size = data.byteSize();
    int crc = ZipReader.crc32(data);
    boolean zip64 = forceZip64 || size >= ZIP32_LIMIT || position >= ZIP32_LIMIT;
    int zip64Extra = zip64 ? 20 : 0;
    long headerEnd = position + 30 + nameBytes.length + zip64Extra + 4;
    int padding = (int) ((ALIGNMENT - headerEnd % ALIGNMENT) % ALIGNMENT);
    ByteBuffer header = buffer(30 + nameBytes.length + zip64Extra + 4 + padding);
    header.putInt(0x04034b50)
        .putShort((short) (zip64 ? 45 : 20))
        .putShort((short) 0) // flags
        .putShort((short) ZipReader.STORED)
        .putShort((short) 0) // time
        .putShort((short) DOS_DATE)
        .putInt(crc)
        .putInt((int) (zip64 ? ZIP32_LIMIT : size))
        .putInt((int) (zip64 ? ZIP32_LIMIT : size))
        .putShort((short) nameBytes.length)
        .putShort((short) (zip64Extra + 4 + padding))
        .put(nameBytes);
    if (zip64) {
      header.putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
    }
    header.putShort((short) 0x4246).putShort((short) padding); // "FB"
    for (int i = 0; i < padding; i++) {
      header.put((byte) 'Z');
    }
    written.add(new Written(nameBytes, crc, size, position, zip64));
    write(header.flip());
    for (long at = 0; at < size; at += 1 << 30) {
      write(data.asSlice(at, Math.min(size - at, 1 << 30)).asByteBuffer());
    }
  }

  /** Writes the central directory and the end records. */
  void finish() throws IOException {
    long directoryOffset = position;
    for (Written w : written) {
      boolean offset64 = forceZip64 || w.offset() >= ZIP32_LIMIT;
      boolean size64 = w.zip64();
      int extraLength = (size64 || offset64) ? 4 + (size64 ? 16 : 0) + (offset64 ? 8 : 0) : 0;
      ByteBuffer entry = buffer(46 + w.name().length + extraLength);
      entry.putInt(0x02014b50)
          .putShort((short) (size64 || offset64 ? 45 : 20)) // made by
          .putShort((short) (size64 || offset64 ? 45 : 20)) // needed
          .putShort((short) 0)
          .putShort((short) ZipReader.STORED)
          .putShort((short) 0)
          .putShort((short) DOS_DATE)
          .putInt(w.crc())
          .putInt((int) (size64 ? ZIP32_LIMIT : w.size()))
          .putInt((int) (size64 ? ZIP32_LIMIT : w.size()))
          .putShort((short) w.name().length)
          .putShort((short) extraLength)
          .putShort((short) 0) // comment
          .putShort((short) 0) // disk
          .putShort((short) 0) // internal attributes
          .putInt(0) // external attributes
          .putInt((int) (offset64 ? ZIP32_LIMIT : w.offset()))
          .put(w.name());
      if (extraLength > 0) {
        entry.putShort((short) 1).putShort((short) (extraLength - 4));
        if (size64) {
          entry.putLong(w.size()).putLong(w.size());
        }
        if (offset64) {
          entry.putLong(w.offset());
        }
      }
      write(entry.flip());
    }
    long directorySize = position - directoryOffset;
    boolean zip64End = forceZip64 || directoryOffset >= ZIP32_LIMIT || written.size() >= 0xffff
        || written.stream().anyMatch(Written::zip64);
    if (zip64End) {
      long zip64EndOffset = position;
      ByteBuffer end64 = buffer(56 + 20);
      end64.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
          .putLong(written.size()).putLong(written.size()).putLong(directorySize).putLong(directoryOffset);
      end64.putInt(0x07064b50).putInt(0).putLong(zip64EndOffset).putInt(1);
      write(end64.flip());
    }
    ByteBuffer end = buffer(22);
    int count = Math.min(written.size(), 0xffff);
    end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count)
        .putShort((short) count)
        .putInt((int) Math.min(directorySize, ZIP32_LIMIT))
        .putInt((int) Math.min(directoryOffset, ZIP32_LIMIT))
        .putShort((short) 0);
    write(end.flip());
  }

  private static ByteBuffer buffer(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private void write(ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      position += channel.write(buffer);
    }
  }
}
