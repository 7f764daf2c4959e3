package org.ssl4mis.io.pth;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ssl4mis.io.pth.TorchGlobals.StorageType;
import org.ssl4mis.tensor.DType;

/**
 * Reads PyTorch checkpoints ({@code torch.save} files) in pure Java, as safely as
 * {@code torch.load(weights_only=True)}: the pickle may only build plain data, tensors and storages, and
 * any other global (such as {@code os.system}) is refused by name. Both the zip format of PyTorch 1.6+ and
 * the legacy format ({@code _use_new_zipfile_serialization=False}) are read.
 *
 * <p>Every size and offset is checked against the file before anything is allocated, so a truncated,
 * corrupt or hostile file gives a {@link CheckpointFormatException} naming the file and the problem, not
 * an {@link OutOfMemoryError}, a hang or a stray runtime exception. Zip entries are CRC-checked.
 *
 * <p>A file is mapped into memory and stored storages are slices of the mapping (no copy), valid for as
 * long as they are reachable.
 */
public final class PthReader {
  /** The number the legacy format starts with (its first pickle). */
  private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
  private static final long LEGACY_PROTOCOL_VERSION = 1001;

  private PthReader() {
  }

  /**
   * Reads the checkpoint at {@code file}.
   *
   * @throws CheckpointFormatException when the file is not a valid, safe checkpoint
   * @throws IOException when it cannot be read
   */
  public static Checkpoint read(Path file) throws IOException {
    String source = file.toString();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      MemorySegment content = size == 0
          ? MemorySegment.ofArray(new byte[0])
          : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
      return parse(source, content.asReadOnly());
    }
  }

  /**
   * Reads a checkpoint held in memory (the array is copied).
   *
   * @param source a name for messages, e.g. the file name it came from
   * @throws CheckpointFormatException when the bytes are not a valid, safe checkpoint
   */
  public static Checkpoint read(String source, byte[] content) throws CheckpointFormatException {
    return parse(source, MemorySegment.ofArray(content.clone()).asReadOnly());
  }

  private static Checkpoint parse(String source, MemorySegment content) throws CheckpointFormatException {
    try {
      if (content.byteSize() >= 4 && content.get(ValueLayout.JAVA_BYTE, 0) == 'P'
          && content.get(ValueLayout.JAVA_BYTE, 1) == 'K') {
        return readZip(source, content);
      }
      if (content.byteSize() >= 2 && Byte.toUnsignedInt(content.get(ValueLayout.JAVA_BYTE, 0)) == 0x80) {
        return readLegacy(source, content);
      }
      if (content.byteSize() >= 262 && new String(content.asSlice(257, 5).toArray(ValueLayout.JAVA_BYTE),
          StandardCharsets.US_ASCII).equals("ustar")) {
        throw new Malformed("tar checkpoints of PyTorch before 0.4 are not supported");
      }
      throw new Malformed("not a PyTorch checkpoint: wrong magic bytes (neither a zip archive nor a pickle)");
    } catch (Malformed e) {
      throw new CheckpointFormatException(source, e.getMessage(), e.getCause());
    } catch (RuntimeException e) {
      // A gap in the checks above; still report it as a format problem of this file.
      throw new CheckpointFormatException(source, "unexpected error while parsing: " + e, e);
    }
  }

  // ---- zip format

  private static Checkpoint readZip(String source, MemorySegment content) {
    ZipReader zip = ZipReader.open(content);
    if (zip.entries().isEmpty()) {
      throw new Malformed("zip archive has no entries");
    }
    String first = zip.entries().getFirst().name();
    int slash = first.indexOf('/');
    if (slash <= 0) {
      throw new Malformed("zip entry '" + TorchGlobals.printable(first) + "' is not inside an archive folder");
    }
    String archive = first.substring(0, slash);
    for (ZipReader.Entry e : zip.entries()) {
      if (!e.name().startsWith(archive + "/")) {
        throw new Malformed("zip entry '" + TorchGlobals.printable(e.name()) + "' is outside the archive folder '"
            + TorchGlobals.printable(archive) + "'");
      }
    }
    ZipReader.Entry pickle = zip.find(archive + "/data.pkl");
    if (pickle == null) {
      throw new Malformed("no '" + archive + "/data.pkl' record: not a torch.save archive");
    }
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    ZipReader.Entry byteOrderEntry = zip.find(archive + "/byteorder");
    if (byteOrderEntry != null) {
      String text = smallText(zip, byteOrderEntry);
      order = switch (text) {
        case "little" -> ByteOrder.LITTLE_ENDIAN;
        case "big" -> ByteOrder.BIG_ENDIAN;
        default -> throw new Malformed("byteorder record says '" + TorchGlobals.printable(text)
            + "' instead of little or big");
      };
    }
    ZipReader.Entry versionEntry = zip.find(archive + "/version");
    String version = versionEntry == null ? "" : smallText(zip, versionEntry);

    ZipStorages storages = new ZipStorages(zip, archive, order);
    MemorySegment pickleBytes = zip.contents(pickle);
    Object root = new Unpickler(pickleBytes, 0, pickleBytes.byteSize(), storages::load).load();
    return new Checkpoint(source, root, Checkpoint.Format.ZIP, archive, order, version,
        new ArrayList<>(storages.byKey.values()));
  }

  private static String smallText(ZipReader zip, ZipReader.Entry entry) {
    if (entry.size() > 64) {
      throw new Malformed("record '" + entry.name() + "' is " + entry.size() + " bytes, expected a short text");
    }
    return new String(zip.contents(entry).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
  }

  /** Resolves the storage persistent ids of a zip checkpoint to {@code <archive>/data/<key>} records. */
  private static final class ZipStorages {
    final ZipReader zip;
    final String archive;
    final ByteOrder order;
    final Map<String, StorageRef> byKey = new LinkedHashMap<>();

    ZipStorages(ZipReader zip, String archive, ByteOrder order) {
      this.zip = zip;
      this.archive = archive;
      this.order = order;
    }

    Object load(Object pid) {
      StorageId id = StorageId.parse(pid, false);
      StorageRef known = byKey.get(id.key());
      if (known != null) {
        return id.sameStorageAs(known);
      }
      String record = archive + "/data/" + id.key();
      ZipReader.Entry entry = zip.find(record);
      if (entry == null) {
        throw new Malformed("missing storage record '" + record + "'");
      }
      long bytes = id.byteSize();
      if (entry.size() != bytes) {
        throw new Malformed("storage '" + record + "' declares " + bytes + " bytes (" + id.numel() + " "
            + id.dtype().pythonName() + ") but the entry has " + entry.size());
      }
      MemorySegment data = zip.contents(entry);
      if (order == ByteOrder.BIG_ENDIAN) {
        data = toLittleEndian(data, id.dtype().byteSize());
      }
      StorageRef storage = new StorageRef(id.key(), id.dtype(), id.numel(), id.location(), data);
      byKey.put(id.key(), storage);
      return storage;
    }
  }

  /** A copy of big-endian elements of {@code elementSize} bytes in little-endian order. */
  private static MemorySegment toLittleEndian(MemorySegment data, int elementSize) {
    MemorySegment copy = Arena.ofAuto().allocate(Math.max(1, data.byteSize()), 64).asSlice(0, data.byteSize());
    for (long at = 0; at < data.byteSize(); at += elementSize) {
      for (int i = 0; i < elementSize; i++) {
        copy.set(ValueLayout.JAVA_BYTE, at + i, data.get(ValueLayout.JAVA_BYTE, at + elementSize - 1 - i));
      }
    }
    return copy;
  }

  /**
   * A storage persistent id: {@code ('storage', storage_type, key, location, numel)}, with a sixth element
   * {@code view_metadata} in legacy files (always None since PyTorch 1.0; older storage views are refused).
   */
  private record StorageId(DType dtype, String key, String location, long numel) {
    static StorageId parse(Object pid, boolean legacy) {
      if (!(pid instanceof PyTuple tuple) || tuple.isEmpty()) {
        throw new Malformed("persistent id must be a tuple, not " + Unpickler.typeName(pid));
      }
      Object kind = tuple.get(0);
      if (kind instanceof byte[] bytes) {
        kind = new String(bytes, StandardCharsets.US_ASCII);
      }
      if (!"storage".equals(kind)) {
        throw new Malformed("only storages may be referenced from a pickle, not "
            + (kind instanceof String s ? "'" + TorchGlobals.printable(s) + "'" : Unpickler.typeName(kind)));
      }
      if (tuple.size() != 5 && tuple.size() != 6) {
        throw new Malformed("storage id has " + tuple.size() + " elements instead of " + (legacy ? 6 : 5));
      }
      if (!(tuple.get(1) instanceof StorageType type)) {
        throw new Malformed("storage id names " + Unpickler.typeName(tuple.get(1)) + " instead of a storage type");
      }
      if (!(tuple.get(2) instanceof String key) || key.isEmpty() || key.contains("/") || key.length() > 256) {
        throw new Malformed("storage key must be a short non-empty string without '/'");
      }
      if (!(tuple.get(3) instanceof String location)) {
        throw new Malformed("storage '" + key + "' has a location of type " + Unpickler.typeName(tuple.get(3)));
      }
      if (!(tuple.get(4) instanceof Long numel) || numel < 0) {
        throw new Malformed("storage '" + key + "' has an invalid element count");
      }
      if (tuple.size() == 6 && tuple.get(5) != null) {
        throw new Malformed("storage '" + key + "' is a storage view (PyTorch before 1.0), which is not supported");
      }
      StorageId id = new StorageId(type.dtype(), key, location, numel);
      id.byteSize(); // overflow check
      return id;
    }

    long byteSize() {
      try {
        return Math.multiplyExact(numel, dtype.byteSize());
      } catch (ArithmeticException e) {
        throw new Malformed("storage '" + key + "' declares " + numel + " elements, more than 64 bits of bytes");
      }
    }

    /** A second reference to a storage must describe it the same way. */
    StorageRef sameStorageAs(StorageRef known) {
      if (known.dtype() != dtype || known.numel() != numel) {
        throw new Malformed("storage '" + key + "' is referenced as " + numel + " " + dtype.pythonName()
            + " and as " + known.numel() + " " + known.dtype().pythonName());
      }
      return known;
    }
  }

  // ---- legacy format: magic, protocol version, sys_info, the object, storage keys, then each storage

  private static Checkpoint readLegacy(String source, MemorySegment content) {
    long end = content.byteSize();
    Unpickler.PersistentLoader noStorages = pid -> {
      throw new Malformed("unexpected persistent id in the legacy header");
    };
    Unpickler magicPickle = new Unpickler(content, 0, end, noStorages);
    Object magic;
    try {
      magic = magicPickle.load();
    } catch (Malformed e) {
      throw new Malformed("not a PyTorch checkpoint: wrong magic number (" + e.getMessage() + ")");
    }
    if (!(magic instanceof BigInteger number) || !number.equals(LEGACY_MAGIC)) {
      throw new Malformed("not a PyTorch checkpoint: wrong magic number");
    }
    Unpickler protocolPickle = new Unpickler(content, magicPickle.position(), end, noStorages);
    Object protocol = protocolPickle.load();
    if (!(protocol instanceof Long p) || p != LEGACY_PROTOCOL_VERSION) {
      throw new Malformed("legacy protocol version is not " + LEGACY_PROTOCOL_VERSION);
    }
    Unpickler sysInfoPickle = new Unpickler(content, protocolPickle.position(), end, noStorages);
    if (!(sysInfoPickle.load() instanceof Map<?, ?>)) {
      throw new Malformed("legacy sys_info record is not a dict");
    }
    // Storage data is always little-endian in legacy files (PyTorch converts on big-endian machines), so
    // sys_info's little_endian flag does not matter here.
    Map<String, StorageRef> declared = new LinkedHashMap<>();
    Unpickler.PersistentLoader loader = pid -> {
      StorageId id = StorageId.parse(pid, true);
      StorageRef known = declared.get(id.key());
      if (known != null) {
        return id.sameStorageAs(known);
      }
      if (id.byteSize() > end) {
        throw new Malformed("storage '" + id.key() + "' declares " + id.byteSize() + " bytes, more than the "
            + end + "-byte file");
      }
      StorageRef storage = new StorageRef(id.key(), id.dtype(), id.numel(), id.location(), null);
      declared.put(id.key(), storage);
      return storage;
    };
    Unpickler main = new Unpickler(content, sysInfoPickle.position(), end, loader);
    Object root = main.load();
    Unpickler keysPickle = new Unpickler(content, main.position(), end, noStorages);
    Object keys = keysPickle.load();
    if (!(keys instanceof List<?> keyList)) {
      throw new Malformed("legacy storage key list is a " + Unpickler.typeName(keys) + ", not a list");
    }
    long at = keysPickle.position();
    Set<String> seen = new HashSet<>();
    for (Object k : keyList) {
      if (!(k instanceof String key)) {
        throw new Malformed("legacy storage key of type " + Unpickler.typeName(k));
      }
      StorageRef storage = declared.get(key);
      if (storage == null) {
        throw new Malformed("storage record '" + key + "' is not referenced by the pickle");
      }
      if (!seen.add(key)) {
        throw new Malformed("storage record '" + key + "' appears twice");
      }
      if (end - at < 8) {
        throw new Malformed("truncated file: storage record '" + key + "' at offset " + at + " has no size");
      }
      long count = content.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at);
      at += 8;
      if (count != storage.numel()) {
        throw new Malformed("storage record '" + key + "' holds " + count + " elements but the pickle declares "
            + storage.numel());
      }
      if (storage.byteSize() > end - at) {
        throw new Malformed("truncated file: storage '" + key + "' declares " + storage.byteSize()
            + " bytes at offset " + at + " but the file has " + (end - at) + " left");
      }
      storage.bind(content.asSlice(at, storage.byteSize()));
      at += storage.byteSize();
    }
    for (StorageRef storage : declared.values()) {
      if (!storage.isBound()) {
        throw new Malformed("missing storage record for key '" + storage.key() + "'");
      }
    }
    return new Checkpoint(source, root, Checkpoint.Format.LEGACY, "", ByteOrder.LITTLE_ENDIAN,
        String.valueOf(LEGACY_PROTOCOL_VERSION), new ArrayList<>(declared.values()));
  }
}
