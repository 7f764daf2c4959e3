package org.ssl4mis.io.pth;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads the central directory of a zip archive held in memory (usually a mapped file) and hands out entry
 * contents as slices (stored entries) or inflated copies (deflated ones), CRC-checked. Every offset and size
 * is checked against the archive before use. Supports zip64, which PyTorch writes for every archive.
 */
final class ZipReader {
  /** One central-directory entry. {@code dataOffset} is where its (possibly compressed) bytes start. */
  record Entry(String name, int method, int crc, long compressedSize, long size, long dataOffset) {
  }

  private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private static final int LOCAL_HEADER = 0x04034b50;
  private static final int CENTRAL_HEADER = 0x02014b50;
  private static final int END_OF_CENTRAL_DIRECTORY = 0x06054b50;
  private static final int ZIP64_END = 0x06064b50;
  private static final int ZIP64_LOCATOR = 0x07064b50;
  private static final int ZIP64_EXTRA = 0x0001;
  private static final int EOCD_SIZE = 22;
  private static final int CENTRAL_HEADER_SIZE = 46;
  private static final int LOCAL_HEADER_SIZE = 30;
  static final int STORED = 0;
  static final int DEFLATED = 8;
  /** Deflate cannot expand data by more than about 1032:1; a larger claim is a zip bomb or corruption. */
  private static final long MAX_DEFLATE_RATIO = 1032;

  private final MemorySegment archive;
  private final long size;
  private final List<Entry> entries = new ArrayList<>();
  private final Map<String, Entry> byName = new HashMap<>();

  private ZipReader(MemorySegment archive) {
    this.archive = archive;
    this.size = archive.byteSize();
  }

  static ZipReader open(MemorySegment archive) {
    ZipReader reader = new ZipReader(archive);
    reader.readCentralDirectory();
    return reader;
  }

  List<Entry> entries() {
    return entries;
  }

  /** The entry called {@code name}, or null. */
  Entry find(String name) {
    return byName.get(name);
  }

  private void readCentralDirectory() {
    long eocd = findEndOfCentralDirectory();
    long entryCount = u16(eocd + 10);
    long directorySize = u32(eocd + 12);
    long directoryOffset = u32(eocd + 16);
    long directoryLimit = eocd;
    if (eocd >= 20 && archive.get(U32, eocd - 20) == ZIP64_LOCATOR) {
      long zip64End = archive.get(U64, eocd - 20 + 8);
      if (zip64End < 0 || zip64End > eocd - 20 - 56) {
        throw new Malformed("zip64 end of central directory at offset " + Long.toUnsignedString(zip64End)
            + " lies outside the archive");
      }
      if (archive.get(U32, zip64End) != ZIP64_END) {
        throw new Malformed("zip64 end of central directory record not found at offset " + zip64End);
      }
      entryCount = archive.get(U64, zip64End + 32);
      directorySize = archive.get(U64, zip64End + 40);
      directoryOffset = archive.get(U64, zip64End + 48);
      directoryLimit = zip64End;
    }
    if (directoryOffset < 0 || directorySize < 0 || directoryOffset > directoryLimit
        || directorySize > directoryLimit - directoryOffset) {
      throw new Malformed("central directory (offset " + Long.toUnsignedString(directoryOffset) + ", "
          + Long.toUnsignedString(directorySize) + " bytes) lies outside the " + size + "-byte file");
    }
    if (entryCount < 0 || entryCount > directorySize / CENTRAL_HEADER_SIZE) {
      throw new Malformed("central directory of " + directorySize + " bytes cannot hold "
          + Long.toUnsignedString(entryCount) + " entries");
    }
    long at = directoryOffset;
    long directoryEnd = directoryOffset + directorySize;
    for (long i = 0; i < entryCount; i++) {
      at = readCentralEntry(at, directoryEnd, directoryOffset);
    }
  }

  private long findEndOfCentralDirectory() {
    if (size < EOCD_SIZE) {
      throw new Malformed("truncated zip archive: " + size + " bytes cannot hold an end of central directory");
    }
    long lowest = Math.max(0, size - EOCD_SIZE - 0xffff);
    for (long at = size - EOCD_SIZE; at >= lowest; at--) {
      if (archive.get(U32, at) == END_OF_CENTRAL_DIRECTORY && at + EOCD_SIZE + u16(at + 20) <= size) {
        return at;
      }
    }
    throw new Malformed("truncated or corrupt zip archive: no end of central directory record");
  }

  /** Reads the entry at {@code at} and returns the offset of the next one. */
  private long readCentralEntry(long at, long directoryEnd, long dataLimit) {
    if (directoryEnd - at < CENTRAL_HEADER_SIZE || archive.get(U32, at) != CENTRAL_HEADER) {
      throw new Malformed("corrupt central directory entry at offset " + at);
    }
    int flags = u16(at + 8);
    int method = u16(at + 10);
    int crc = archive.get(U32, at + 16);
    long compressedSize = u32(at + 20);
    long uncompressedSize = u32(at + 24);
    int nameLength = u16(at + 28);
    int extraLength = u16(at + 30);
    int commentLength = u16(at + 32);
    long localHeader = u32(at + 42);
    long next = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (next > directoryEnd) {
      throw new Malformed("central directory entry at offset " + at + " runs past the directory");
    }
    String name = decodeName(at + CENTRAL_HEADER_SIZE, nameLength);
    // Zip64: the 32-bit fields that are all ones continue in the extra field, in this order.
    long extra = at + CENTRAL_HEADER_SIZE + nameLength;
    long extraEnd = extra + extraLength;
    while (extraEnd - extra >= 4) {
      int id = u16(extra);
      int length = u16(extra + 2);
      long body = extra + 4;
      if (length > extraEnd - body) {
        throw new Malformed("corrupt extra field of entry '" + name + "'");
      }
      if (id == ZIP64_EXTRA) {
        long field = body;
        long fieldEnd = body + length;
        if (uncompressedSize == 0xffffffffL) {
          uncompressedSize = zip64Field(field, fieldEnd, name);
          field += 8;
        }
        if (compressedSize == 0xffffffffL) {
          compressedSize = zip64Field(field, fieldEnd, name);
          field += 8;
        }
        if (localHeader == 0xffffffffL) {
          localHeader = zip64Field(field, fieldEnd, name);
        }
      }
      extra = body + length;
    }
    if ((flags & 1) != 0) {
      throw new Malformed("entry '" + name + "' is encrypted");
    }
    if (method != STORED && method != DEFLATED) {
      throw new Malformed("entry '" + name + "' uses unsupported compression method " + method);
    }
    if (method == STORED && compressedSize != uncompressedSize) {
      throw new Malformed("stored entry '" + name + "' has " + compressedSize + " bytes but declares "
          + uncompressedSize);
    }
    if (localHeader < 0 || localHeader > dataLimit - LOCAL_HEADER_SIZE
        || archive.get(U32, localHeader) != LOCAL_HEADER) {
      throw new Malformed("entry '" + name + "': no local header at offset " + Long.toUnsignedString(localHeader));
    }
    long dataOffset = localHeader + LOCAL_HEADER_SIZE + u16(localHeader + 26) + u16(localHeader + 28);
    if (compressedSize < 0 || dataOffset > dataLimit || compressedSize > dataLimit - dataOffset) {
      throw new Malformed("entry '" + name + "' declares " + Long.toUnsignedString(compressedSize)
          + " bytes at offset " + dataOffset + ", beyond the end of the data (" + dataLimit + " bytes)");
    }
    if (uncompressedSize < 0 || (method == DEFLATED
        && uncompressedSize > compressedSize * MAX_DEFLATE_RATIO + 1024)) {
      throw new Malformed("entry '" + name + "' declares " + Long.toUnsignedString(uncompressedSize)
          + " bytes, more than its " + compressedSize + " compressed bytes can hold");
    }
    Entry entry = new Entry(name, method, crc, compressedSize, uncompressedSize, dataOffset);
    if (byName.putIfAbsent(name, entry) != null) {
      throw new Malformed("duplicate zip entry '" + name + "'");
    }
    entries.add(entry);
    return next;
  }

  private long zip64Field(long at, long end, String name) {
    if (end - at < 8) {
      throw new Malformed("zip64 extra field of entry '" + name + "' is too short");
    }
    return archive.get(U64, at);
  }

  private String decodeName(long at, int length) {
    byte[] bytes = archive.asSlice(at, length).toArray(ValueLayout.JAVA_BYTE);
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new Malformed("zip entry name at offset " + at + " is not valid UTF-8");
    }
  }

  /** The entry's uncompressed bytes, after checking their CRC. */
  MemorySegment contents(Entry entry) {
    MemorySegment raw = archive.asSlice(entry.dataOffset(), entry.compressedSize());
    MemorySegment data = entry.method() == STORED ? raw : inflate(entry, raw);
    int crc = crc32(data);
    if (crc != entry.crc()) {
      throw new Malformed("entry '" + entry.name() + "' is corrupt: CRC-32 " + String.format("%08x", crc)
          + " instead of " + String.format("%08x", entry.crc()));
    }
    return data;
  }

  private static MemorySegment inflate(Entry entry, MemorySegment compressed) {
    MemorySegment target = Arena.ofAuto().allocate(Math.max(1, entry.size()), 64).asSlice(0, entry.size());
    Inflater inflater = new Inflater(true);
    try {
      long inputAt = 0;
      long outputAt = 0;
      boolean dummyFed = false;
      while (!inflater.finished()) {
        if (inflater.needsDictionary()) {
          throw new Malformed("entry '" + entry.name() + "': deflate stream needs a preset dictionary");
        }
        if (inflater.needsInput()) {
          if (inputAt < compressed.byteSize()) {
            long chunk = Math.min(compressed.byteSize() - inputAt, 1 << 30);
            inflater.setInput(compressed.asSlice(inputAt, chunk).asByteBuffer());
            inputAt += chunk;
          } else if (!dummyFed) {
            // zlib's raw mode may want one byte past the stream to finish, as java.util.zip.ZipFile gives it.
            inflater.setInput(new byte[1]);
            dummyFed = true;
          } else {
            throw new Malformed("entry '" + entry.name() + "': deflate stream is truncated");
          }
        }
        long room = entry.size() - outputAt;
        ByteBuffer out = room == 0
            // Declared size reached: the stream must end without more output. Probe with a spare byte.
            ? ByteBuffer.allocate(1)
            : target.asSlice(outputAt, Math.min(room, 1 << 30)).asByteBuffer();
        int produced = inflater.inflate(out);
        if (room == 0 && produced > 0) {
          throw new Malformed("entry '" + entry.name() + "' inflates to more than its declared "
              + entry.size() + " bytes");
        }
        outputAt += produced;
        if (produced == 0 && !inflater.finished() && !inflater.needsInput() && !inflater.needsDictionary()) {
          throw new Malformed("entry '" + entry.name() + "': corrupt deflate stream");
        }
      }
      if (outputAt != entry.size()) {
        throw new Malformed("entry '" + entry.name() + "' inflates to " + outputAt + " bytes but declares "
            + entry.size());
      }
    } catch (DataFormatException e) {
      throw new Malformed("entry '" + entry.name() + "': corrupt deflate stream (" + e.getMessage() + ")", e);
    } finally {
      inflater.end();
    }
    return target;
  }

  static int crc32(MemorySegment data) {
    CRC32 crc = new CRC32();
    for (long at = 0; at < data.byteSize(); at += 1 << 30) {
      crc.update(data.asSlice(at, Math.min(data.byteSize() - at, 1 << 30)).asByteBuffer());
    }
    return (int) crc.getValue();
  }

  private int u16(long at) {
    return Short.toUnsignedInt(archive.get(U16, at));
  }

  private long u32(long at) {
    return Integer.toUnsignedLong(archive.get(U32, at));
  }
}
