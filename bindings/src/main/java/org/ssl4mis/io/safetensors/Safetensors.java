package org.ssl4mis.io.safetensors;

import org.ssl4mis.io.json.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.ssl4mis.io.pth.CheckpointFormatException;
import org.ssl4mis.io.pth.RawTensor;
import org.ssl4mis.tensor.DType;

/**
 * Reads and writes <a href="https://github.com/huggingface/safetensors">safetensors</a> files in pure Java.
 *
 * <p>The format: an 8-byte little-endian unsigned header length {@code N}; {@code N} bytes of UTF-8 JSON, an
 * object that maps each tensor name to {@code {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}}
 * (offsets into the byte buffer that follows the header) and may hold a {@code "__metadata__"} object of
 * strings; the header may end with spaces; then the byte buffer, the tensors' elements in C order,
 * little-endian, which the tensors cover exactly, without overlap or holes.
 *
 * <p>{@link #read} checks all of that before it allocates anything for the tensors, against the size of
 * the file, so a truncated, corrupt or hostile file gives a {@link CheckpointFormatException} naming the file
 * and the problem, never an {@link OutOfMemoryError} for an absurd declared size, nor a hang. The header may
 * be at most {@link #MAX_HEADER_SIZE} bytes (the limit of the reference implementation). The JSON must be
 * strict: no duplicate keys, no literals ({@code true}, {@code null}, ...), no fractions, and a tensor entry
 * holds exactly the three fields above. The dtypes are those of {@link DType} (codes {@code F32}, {@code F16},
 * {@code BF16}, {@code F64}, {@code I8}, {@code I16}, {@code I32}, {@code I64}, {@code U8}, {@code BOOL});
 * others (e.g. {@code F8_E4M3}, {@code U16}) are refused by name.
 *
 * <p>{@link #write} writes the layout of the reference implementation: compact JSON with
 * {@code __metadata__} first, the header padded with spaces to a multiple of 8 bytes (so the data start
 * 8-aligned), the tensors' data in the order of the map, without gaps.
 */
public final class Safetensors {
  /** The largest header read or written, in bytes (as in the reference implementation). */
  public static final long MAX_HEADER_SIZE = 100_000_000L;
  /** The header key of the string-to-string metadata. */
  public static final String METADATA_KEY = "__metadata__";
  /** The header is padded so that the data start at a multiple of this. */
  static final int ALIGNMENT = 8;

  private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final String DTYPE = "dtype";
  private static final String SHAPE = "shape";
  private static final String OFFSETS = "data_offsets";
  /** Bytes handed to the channel per write call, so that tensors over 2 GiB write too. */
  private static final long WRITE_CHUNK = 1 << 26;

  private Safetensors() {
  }

  // ---------------------------------------------------------------------------------------------- reading

  /**
   * Reads the safetensors file at {@code file}. The file is mapped while it is read; the tensors returned
   * hold copies of their bytes.
   *
   * @throws CheckpointFormatException when the file is not a valid safetensors file
   * @throws IOException when it cannot be read
   */
  public static SafetensorsFile read(Path file) throws IOException {
    String source = file.toString();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
      long size = channel.size();
      MemorySegment content = size == 0
          ? MemorySegment.ofArray(new byte[0])
          : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      return parse(source, content);
    }
  }

  /**
   * Reads a safetensors file held in memory.
   *
   * @param source a name for messages, e.g. the file it came from
   * @throws CheckpointFormatException when the bytes are not a valid safetensors file
   */
  public static SafetensorsFile read(String source, byte[] content) throws CheckpointFormatException {
    return parse(source, MemorySegment.ofArray(content));
  }

  /** A tensor entry of the header, checked. */
  private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    String describe() {
      return quoteForMessage(name) + " (data bytes [" + begin + ", " + end + "))";
    }
  }

  private static SafetensorsFile parse(String source, MemorySegment content) throws CheckpointFormatException {
    long size = content.byteSize();
    if (size < 8) {
      throw new CheckpointFormatException(source, "the file has " + size
          + " bytes, too few for the 8-byte header length of a safetensors file");
    }
    long headerSize = content.get(LE_LONG, 0);
    if (headerSize < 0 || headerSize > MAX_HEADER_SIZE) {
      throw new CheckpointFormatException(source, "the header length " + Long.toUnsignedString(headerSize)
          + " exceeds the limit of " + MAX_HEADER_SIZE + " bytes (not a safetensors file?)");
    }
    if (headerSize > size - 8) {
      throw new CheckpointFormatException(source, "the header length " + headerSize
          + " reaches beyond the end of the file (" + size + " bytes, so at most " + (size - 8)
          + " for the header; truncated?)");
    }
    if (headerSize == 0 || content.get(ValueLayout.JAVA_BYTE, 8) != '{') {
      throw new CheckpointFormatException(source, "the header does not start with '{' (not a safetensors file?)");
    }
    String text = decodeUtf8(source, content.asSlice(8, headerSize));
    Object parsed;
    try {
      parsed = Json.parse(text, false);
    } catch (Json.SyntaxException e) {
      throw new CheckpointFormatException(source, "the header is not valid JSON: " + e.getMessage(), e);
    }
    if (!(parsed instanceof Map<?, ?> header)) {
      throw new CheckpointFormatException(source, "the header is not a JSON object");
    }
    long bufferSize = size - 8 - headerSize;
    LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
    List<Entry> entries = new ArrayList<>(header.size());
    for (Map.Entry<?, ?> e : header.entrySet()) {
      String name = (String) e.getKey();
      if (name.equals(METADATA_KEY)) {
        readMetadata(source, e.getValue(), metadata);
      } else {
        entries.add(readEntry(source, name, e.getValue(), bufferSize));
      }
    }
    checkCoverage(source, entries, bufferSize);

    MemorySegment data = content.asSlice(8 + headerSize);
    LinkedHashMap<String, RawTensor> tensors = LinkedHashMap.newLinkedHashMap(entries.size());
    for (Entry e : entries) {
      try {
        tensors.put(e.name(), RawTensor.of(e.dtype(), e.shape(), data.asSlice(e.begin(), e.end() - e.begin())));
      } catch (IllegalArgumentException | ArithmeticException ex) {
        throw new CheckpointFormatException(source, "tensor " + quoteForMessage(e.name()) + ": " + ex.getMessage(), ex);
      }
    }
    return new SafetensorsFile(source, tensors, metadata);
  }

  /** Decodes the header, reporting the byte where it stops being UTF-8. */
  private static String decodeUtf8(String source, MemorySegment bytes) throws CheckpointFormatException {
    ByteBuffer in = bytes.asByteBuffer();
    CharBuffer out = CharBuffer.allocate((int) bytes.byteSize());
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    CoderResult result = decoder.decode(in, out, true);
    if (!result.isError()) {
      result = decoder.flush(out);
    }
    if (result.isError() || result.isOverflow()) {
      throw new CheckpointFormatException(source, "the header is not valid UTF-8 (" + result.length()
          + " malformed byte(s) at byte " + in.position() + " of the header)");
    }
    return out.flip().toString();
  }

  private static void readMetadata(String source, Object value, Map<String, String> metadata)
      throws CheckpointFormatException {
    if (!(value instanceof Map<?, ?> map)) {
      throw new CheckpointFormatException(source, "\"" + METADATA_KEY + "\" is " + jsonType(value)
          + ", not an object of strings");
    }
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getValue() instanceof String s)) {
        throw new CheckpointFormatException(source, "\"" + METADATA_KEY + "\"[" + quoteForMessage((String) e.getKey())
            + "] is " + jsonType(e.getValue()) + "; metadata values must be strings");
      }
      metadata.put((String) e.getKey(), s);
    }
  }

  private static Entry readEntry(String source, String name, Object value, long bufferSize)
      throws CheckpointFormatException {
    String what = name.isEmpty() ? "a tensor" : "tensor " + quoteForMessage(name);
    if (name.isEmpty()) {
      throw new CheckpointFormatException(source, "a tensor has an empty name");
    }
    if (!(value instanceof Map<?, ?> fields)) {
      throw new CheckpointFormatException(source, what + " is described by " + jsonType(value)
          + ", not an object with \"dtype\", \"shape\" and \"data_offsets\"");
    }
    for (Object key : fields.keySet()) {
      if (!key.equals(DTYPE) && !key.equals(SHAPE) && !key.equals(OFFSETS)) {
        throw new CheckpointFormatException(source, what + " has an unknown field " + quoteForMessage((String) key)
            + " (expected \"dtype\", \"shape\" and \"data_offsets\")");
      }
    }
    for (String key : List.of(DTYPE, SHAPE, OFFSETS)) {
      if (!fields.containsKey(key)) {
        throw new CheckpointFormatException(source, what + " has no \"" + key + "\"");
      }
    }
    if (!(fields.get(DTYPE) instanceof String code)) {
      throw new CheckpointFormatException(source, what + ": \"dtype\" is " + jsonType(fields.get(DTYPE))
          + ", not a string");
    }
    Optional<DType> dtype = DType.ofSafetensorsCode(code);
    if (dtype.isEmpty()) {
      throw new CheckpointFormatException(source, what + " has the unsupported dtype " + quoteForMessage(code)
          + " (supported: " + Arrays.stream(DType.values()).map(DType::safetensorsCode).toList() + ")");
    }
    long[] shape = integers(source, what, SHAPE, fields.get(SHAPE));
    if (shape.length > RawTensor.MAX_RANK) {
      throw new CheckpointFormatException(source, what + " has " + shape.length + " dimensions, more than the "
          + RawTensor.MAX_RANK + " supported");
    }
    long[] offsets = integers(source, what, OFFSETS, fields.get(OFFSETS));
    if (offsets.length != 2) {
      throw new CheckpointFormatException(source, what + ": \"data_offsets\" has " + offsets.length
          + " entries, not 2 ([begin, end])");
    }
    long begin = offsets[0];
    long end = offsets[1];
    if (begin < 0 || end < begin) {
      throw new CheckpointFormatException(source, what + " has data offsets [" + begin + ", " + end
          + "]; they must satisfy 0 <= begin <= end");
    }
    if (end > bufferSize) {
      throw new CheckpointFormatException(source, what + " has data offsets [" + begin + ", " + end
          + "] beyond the " + bufferSize + " data bytes of the file (truncated?)");
    }
    long bytes = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new CheckpointFormatException(source, what + " has the shape " + Arrays.toString(shape)
            + " with a negative size");
      }
    }
    try {
      for (long dim : shape) {
        bytes = Math.multiplyExact(bytes, dim);
      }
      bytes = Math.multiplyExact(bytes, dtype.get().byteSize());
    } catch (ArithmeticException e) {
      throw new CheckpointFormatException(source, what + " has the shape " + Arrays.toString(shape) + " of "
          + code + ", whose size overflows 64 bits");
    }
    if (bytes != end - begin) {
      throw new CheckpointFormatException(source, what + " of " + code + " and shape " + Arrays.toString(shape)
          + " needs " + bytes + " bytes, but its data offsets [" + begin + ", " + end + "] hold " + (end - begin));
    }
    return new Entry(name, dtype.get(), shape, begin, end);
  }

  private static long[] integers(String source, String what, String field, Object value)
      throws CheckpointFormatException {
    if (!(value instanceof List<?> list)) {
      throw new CheckpointFormatException(source, what + ": \"" + field + "\" is " + jsonType(value)
          + ", not an array of integers");
    }
    if (list.size() > RawTensor.MAX_RANK) {
      throw new CheckpointFormatException(source, what + ": \"" + field + "\" has " + list.size()
          + " entries, more than the " + RawTensor.MAX_RANK + " allowed");
    }
    long[] result = new long[list.size()];
    for (int i = 0; i < result.length; i++) {
      if (!(list.get(i) instanceof Long l)) {
        throw new CheckpointFormatException(source, what + ": \"" + field + "\" holds " + jsonType(list.get(i))
            + ", not an integer");
      }
      result[i] = l;
    }
    return result;
  }

  /** The tensors must cover the data exactly once: no overlap, no hole, nothing left over. */
  private static void checkCoverage(String source, List<Entry> entries, long bufferSize)
      throws CheckpointFormatException {
    List<Entry> sorted = new ArrayList<>(entries);
    sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    long covered = 0;
    Entry last = null;
    for (Entry e : sorted) {
      if (e.begin() > covered) {
        throw new CheckpointFormatException(source, "data bytes [" + covered + ", " + e.begin()
            + ") belong to no tensor: a hole " + (last == null ? "at the start of the data" : "after " + last.describe())
            + ", before " + e.describe());
      }
      if (e.begin() < covered) {
        throw new CheckpointFormatException(source, "tensors " + last.describe() + " and " + e.describe()
            + " overlap");
      }
      if (e.end() > e.begin() || last == null) {
        last = e;
      }
      covered = e.end();
    }
    if (covered < bufferSize) {
      throw new CheckpointFormatException(source, "the last " + (bufferSize - covered) + " data bytes (["
          + covered + ", " + bufferSize + ")) belong to no tensor");
    }
  }

  private static String jsonType(Object value) {
    return switch (value) {
      case null -> "null";
      case Map<?, ?> _ -> "an object";
      case List<?> _ -> "an array";
      case String s -> "the string " + quoteForMessage(s);
      case Long l -> "the integer " + l;
      case Boolean b -> "the literal " + b;
      default -> "a " + value.getClass().getSimpleName();
    };
  }

  /** A name quoted as JSON (so control characters show), shortened when very long. */
  static String quoteForMessage(String s) {
    if (s.length() <= 200) {
      return Json.quote(s);
    }
    int cut = Character.isHighSurrogate(s.charAt(199)) ? 199 : 200;
    return Json.quote(s.substring(0, cut)) + "...";
  }

  // ---------------------------------------------------------------------------------------------- writing

  /**
   * Writes {@code tensors} and {@code metadata} to {@code file} atomically: to a temporary file in the same
   * folder, then moved over {@code file}. The tensors' data follow in the order of the map; strided views
   * are written contiguous, and tensors that share a storage each get their own copy of the elements
   * (safetensors has no views). Autograd and parameter flags are not kept (the format has none).
   *
   * @param tensors names (non-empty, not {@code __metadata__}) to tensors
   * @param metadata string metadata for {@code __metadata__}; null or empty writes none
   * @throws IllegalArgumentException when a name or metadata entry is invalid or the header would exceed
   *     {@link #MAX_HEADER_SIZE}; nothing is written then
   */
  public static void write(Path file, Map<String, RawTensor> tensors, Map<String, String> metadata)
      throws IOException {
    Layout layout = layout(tensors, metadata);
    org.ssl4mis.io.AtomicFile.write(file, layout::writeTo);
  }

  /** Writes {@code tensors} without metadata; see {@link #write(Path, Map, Map)}. */
  public static void write(Path file, Map<String, RawTensor> tensors) throws IOException {
    write(file, tensors, Map.of());
  }

  /**
   * The bytes {@link #write(Path, Map, Map)} writes, for files under 2 GiB.
   *
   * @throws IllegalArgumentException as {@code write} does, or when the result would not fit an array
   */
  public static byte[] toBytes(Map<String, RawTensor> tensors, Map<String, String> metadata) {
    Layout layout = layout(tensors, metadata);
    long total = 8 + layout.header().length + layout.dataSize();
    if (total > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("the file would have " + total + " bytes, too many for an array");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream((int) total);
    try {
      layout.writeTo(Channels.newChannel(out));
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
    return out.toByteArray();
  }

  /** The padded header bytes and the tensors whose data follow it. */
  private record Layout(byte[] header, List<RawTensor> tensors, long dataSize) {
    void writeTo(WritableByteChannel channel) throws IOException {
      ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
      writeFully(channel, length);
      writeFully(channel, ByteBuffer.wrap(header));
      for (RawTensor tensor : tensors) {
        MemorySegment bytes = tensor.contiguousBytes();
        for (long offset = 0; offset < bytes.byteSize(); offset += WRITE_CHUNK) {
          writeFully(channel, bytes.asSlice(offset, Math.min(WRITE_CHUNK, bytes.byteSize() - offset)).asByteBuffer());
        }
      }
    }
  }

  private static void writeFully(WritableByteChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  private static Layout layout(Map<String, RawTensor> tensors, Map<String, String> metadata) {
    LinkedHashMap<String, Object> header = new LinkedHashMap<>();
    if (metadata != null && !metadata.isEmpty()) {
      LinkedHashMap<String, Object> meta = new LinkedHashMap<>();
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        if (e.getKey() == null || e.getValue() == null) {
          throw new IllegalArgumentException("metadata may not hold null keys or values: " + e);
        }
        meta.put(e.getKey(), e.getValue());
      }
      header.put(METADATA_KEY, meta);
    }
    List<RawTensor> order = new ArrayList<>(tensors.size());
    long offset = 0;
    for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
      String name = e.getKey();
      RawTensor tensor = e.getValue();
      if (name == null || name.isEmpty() || name.equals(METADATA_KEY)) {
        throw new IllegalArgumentException("a tensor may not be named " + (name == null ? "null" : Json.quote(name))
            + " in a safetensors file");
      }
      if (tensor == null) {
        throw new IllegalArgumentException("tensor " + quoteForMessage(name) + " is null");
      }
      long size = Math.multiplyExact(tensor.numel(), tensor.dtype().byteSize());
      List<Long> shape = Arrays.stream(tensor.shape()).boxed().toList();
      LinkedHashMap<String, Object> entry = new LinkedHashMap<>();
      entry.put(DTYPE, tensor.dtype().safetensorsCode());
      entry.put(SHAPE, shape);
      entry.put(OFFSETS, List.of(offset, Math.addExact(offset, size)));
      header.put(name, entry);
      order.add(tensor);
      offset = Math.addExact(offset, size);
    }
    byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    if (padded > MAX_HEADER_SIZE) {
      throw new IllegalArgumentException("the header would have " + padded + " bytes, more than the "
          + MAX_HEADER_SIZE + " readers accept");
    }
    byte[] headerBytes = Arrays.copyOf(json, padded);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    return new Layout(headerBytes, order, offset);
  }
}
