package org.ssl4mis.train.tensorboard;

import static org.ssl4mis.train.tensorboard.EventFileWriter.*;

import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Reads TensorBoard event files (of {@link EventFileWriter}, tensorboardX, {@code torch.utils.tensorboard} or
 * TensorFlow): the TFRecord framing with both CRCs verified, and each record decoded as a {@code tensorflow.Event}
 * into {@link Event} — wall time, step, {@code file_version}, and the summary values: scalars (simple values, and
 * the tensor scalars of the {@code scalars} plugin), PNG images, text; other kinds are kept as {@link Other} with
 * their tag.
 *
 * <p>A CRC mismatch or a malformed record throws {@link CorruptEventFileException}, naming the file, the record and
 * its byte offset. A final record cut short (a run that crashed, or a file still being written) is not an error:
 * the records before it are returned and {@link Contents#truncation()} reports where it starts.
 */
public final class EventFileReader {
  private static final int VALUE_HISTO = 5;
  private static final int VALUE_AUDIO = 6;

  private EventFileReader() {}

  // ---- model ---------------------------------------------------------------------------------------

  /** One summary value of an event. */
  public sealed interface Value permits Scalar, Image, Text, Other {
    String tag();
  }

  /** A scalar ({@code simple_value}, or a one-element float tensor of the {@code scalars} plugin). */
  public record Scalar(String tag, float value) implements Value {}

  /**
   * An image: its declared height, width and colorspace (channels: 1 grayscale, 3 RGB, 4 RGBA) and the encoded
   * bytes (PNG for the writers above).
   */
  public record Image(String tag, int height, int width, int colorspace, byte[] encoded) implements Value {
    /** Decodes {@link #encoded()} with javax.imageio. */
    public BufferedImage decode() throws IOException {
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(encoded));
      if (image == null) {
        throw new IOException("image " + tag + " is not in a format javax.imageio reads");
      }
      return image;
    }
  }

  /** A text summary (the {@code text} plugin: a string tensor; the tag ends in {@code /text_summary}). */
  public record Text(String tag, String text) implements Value {}

  /** Any other value (histogram, audio, another plugin's tensor), by tag; {@code kind} says which. */
  public record Other(String tag, String kind) implements Value {}

  /**
   * One event; {@code fileVersion} is empty except in the first event of a file ({@code "brain.Event:2"}), and
   * {@code values} is empty for events without a summary.
   */
  public record Event(double wallTime, long step, String fileVersion, List<Value> values) {
    public Event {
      values = List.copyOf(values);
    }

    public List<Scalar> scalars() {
      return values.stream().filter(Scalar.class::isInstance).map(Scalar.class::cast).toList();
    }

    public List<Image> images() {
      return values.stream().filter(Image.class::isInstance).map(Image.class::cast).toList();
    }

    public List<Text> texts() {
      return values.stream().filter(Text.class::isInstance).map(Text.class::cast).toList();
    }
  }

  /** One point of a scalar curve. */
  public record ScalarPoint(long step, double wallTime, float value) {}

  /** A record's data and where its header starts in the file. */
  public record Record(long offset, byte[] data) {}

  /**
   * A final record cut short: its header starts at {@code offset}, the file ends at {@code fileSize}.
   *
   * @param message says so, naming the file
   */
  public record Truncation(Path file, long offset, long fileSize, String message) {}

  /** The records of a file, and the truncated final record if there is one. */
  public record Records(Path file, List<Record> records, Optional<Truncation> truncation) {
    public Records {
      records = List.copyOf(records);
    }
  }

  /** The events of a file, and the truncated final record if there is one. */
  public record Contents(Path file, List<Event> events, Optional<Truncation> truncation) {
    public Contents {
      events = List.copyOf(events);
    }

    public boolean truncated() {
      return truncation.isPresent();
    }

    /** The {@code file_version} of the first event ({@code ""} if it has none). */
    public String fileVersion() {
      return events.isEmpty() ? "" : events.getFirst().fileVersion();
    }

    /** The values logged under {@code tag} by {@code add_scalar}, in file order. */
    public List<ScalarPoint> scalars(String tag) {
      List<ScalarPoint> points = new ArrayList<>();
      for (Event e : events) {
        for (Value v : e.values()) {
          if (v instanceof Scalar s && s.tag().equals(tag)) {
            points.add(new ScalarPoint(e.step(), e.wallTime(), s.value()));
          }
        }
      }
      return points;
    }

    /** The images logged under {@code tag}, in file order, with their steps. */
    public List<StepImage> images(String tag) {
      List<StepImage> images = new ArrayList<>();
      for (Event e : events) {
        for (Value v : e.values()) {
          if (v instanceof Image i && i.tag().equals(tag)) {
            images.add(new StepImage(e.step(), i));
          }
        }
      }
      return images;
    }
  }

  /** An image and the step it was logged at. */
  public record StepImage(long step, Image image) {}

  /** A CRC mismatch or malformed record in an event file, with the file and the record's byte offset. */
  public static final class CorruptEventFileException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final long offset;

    public CorruptEventFileException(Path file, long offset, long recordIndex, String detail) {
      super(file + ": record " + recordIndex + " at byte offset " + offset + ": " + detail);
      this.file = file;
      this.offset = offset;
    }

    public Path file() {
      return file;
    }

    /** Where the bad record's header starts. */
    public long offset() {
      return offset;
    }
  }

  // ---- reading -------------------------------------------------------------------------------------

  /** The event files of a log directory (not its subdirectories), in name order, which is creation-time order. */
  public static List<Path> eventFiles(Path logDir) throws IOException {
    try (Stream<Path> files = Files.list(logDir)) {
      return files.filter(p -> p.getFileName().toString().startsWith(FILE_PREFIX) && Files.isRegularFile(p))
          .sorted()
          .toList();
    }
  }

  /** Reads and decodes every event of {@code file}. */
  public static Contents read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return read(file, in);
    }
  }

  /** Like {@link #read(Path)} from a stream; {@code file} names it in messages. */
  static Contents read(Path file, InputStream in) throws IOException {
    Records records = readRecords(file, in);
    List<Event> events = new ArrayList<>(records.records().size());
    int index = 0;
    for (Record r : records.records()) {
      try {
        events.add(decodeEvent(r.data()));
      } catch (Protobuf.MalformedException e) {
        throw new CorruptEventFileException(file, r.offset(), index,
            "the data is not a tensorflow.Event (" + e.getMessage() + ")");
      }
      index++;
    }
    return new Contents(file, events, records.truncation());
  }

  /** Reads the framed records of {@code file}, verifying the CRCs of every length and every record's data. */
  public static Records readRecords(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return readRecords(file, in);
    }
  }

  /** Like {@link #readRecords(Path)} from a stream (not closed here); {@code file} names it in messages. */
  static Records readRecords(Path file, InputStream source) throws IOException {
    List<Record> records = new ArrayList<>();
    Truncation truncation = null;
    InputStream in = new BufferedInputStream(source, 1 << 16);
    byte[] header = new byte[TfRecord.HEADER_BYTES];
    byte[] footer = new byte[TfRecord.FOOTER_BYTES];
    long offset = 0;
    long index = 0;
    while (true) {
      int n = in.readNBytes(header, 0, header.length);
      if (n == 0) {
        break;
      }
      if (n < header.length) {
        truncation = truncation(file, offset, offset + n, index, "only " + n + " of the 12 header bytes");
        break;
      }
      int storedLengthCrc = TfRecord.getIntLe(header, 8);
      int lengthCrc = TfRecord.maskedCrc32c(header, 0, 8);
      if (storedLengthCrc != lengthCrc) {
        throw new CorruptEventFileException(file, offset, index, String.format(
            "length CRC mismatch (stored 0x%08x, computed 0x%08x)", storedLengthCrc, lengthCrc));
      }
      long length = TfRecord.getLongLe(header, 0);
      if (length < 0 || length > Integer.MAX_VALUE - 64) {
        throw new CorruptEventFileException(file, offset, index, "record length " + Long.toUnsignedString(length)
            + " is not supported (over 2 GiB)");
      }
      byte[] data = in.readNBytes((int) length);
      if (data.length < length) {
        truncation = truncation(file, offset, offset + header.length + data.length, index,
            "only " + data.length + " of its " + length + " data bytes");
        break;
      }
      n = in.readNBytes(footer, 0, footer.length);
      if (n < footer.length) {
        truncation = truncation(file, offset, offset + header.length + length + n, index,
            "only " + n + " of the 4 bytes of its data CRC");
        break;
      }
      int storedDataCrc = TfRecord.getIntLe(footer, 0);
      int dataCrc = TfRecord.maskedCrc32c(data, 0, data.length);
      if (storedDataCrc != dataCrc) {
        throw new CorruptEventFileException(file, offset, index, String.format(
            "data CRC mismatch (stored 0x%08x, computed 0x%08x) over the %d data bytes from offset %d",
            storedDataCrc, dataCrc, length, offset + header.length));
      }
      records.add(new Record(offset, data));
      offset += header.length + length + footer.length;
      index++;
    }
    return new Records(file, records, Optional.ofNullable(truncation));
  }

  private static Truncation truncation(Path file, long offset, long fileSize, long index, String what) {
    return new Truncation(file, offset, fileSize, file + ": the final record (" + index + ", at byte offset " + offset
        + ") is truncated: the file ends at byte " + fileSize + " with " + what
        + "; the run that wrote it probably stopped mid-write. The " + index + " records before it are intact.");
  }

  // ---- decoding ------------------------------------------------------------------------------------

  /**
   * Decodes one serialized {@code tensorflow.Event}; unknown fields are skipped.
   *
   * @throws IllegalArgumentException if the bytes are not a well-formed message
   */
  public static Event decodeEvent(byte[] data) {
    Protobuf.Reader r = new Protobuf.Reader(data);
    double wallTime = 0;
    long step = 0;
    String fileVersion = "";
    List<Value> values = new ArrayList<>();
    while (r.hasMore()) {
      switch (r.nextField()) {
        case EVENT_WALL_TIME -> wallTime = r.fixedDouble("Event.wall_time");
        case EVENT_STEP -> step = r.varint("Event.step");
        case EVENT_FILE_VERSION -> fileVersion = r.string("Event.file_version");
        case EVENT_SUMMARY -> decodeSummary(r.message("Event.summary"), values);
        default -> r.skip();
      }
    }
    return new Event(wallTime, step, fileVersion, values);
  }

  private static void decodeSummary(Protobuf.Reader r, List<Value> values) {
    while (r.hasMore()) {
      if (r.nextField() == SUMMARY_VALUE) {
        values.add(decodeValue(r.message("Summary.value")));
      } else {
        r.skip();
      }
    }
  }

  private static Value decodeValue(Protobuf.Reader r) {
    String tag = "";
    Float simple = null;
    String kind = "empty";
    String plugin = "";
    TensorValue tensor = null;
    Protobuf.Reader imageReader = null;
    while (r.hasMore()) {
      int field = r.nextField();
      switch (field) {
        case VALUE_TAG -> tag = r.string("Value.tag");
        case VALUE_SIMPLE_VALUE -> simple = r.fixedFloat("Value.simple_value");
        case VALUE_IMAGE -> imageReader = r.message("Value.image");
        case VALUE_TENSOR -> tensor = decodeTensor(r.message("Value.tensor"));
        case VALUE_METADATA -> plugin = decodePluginName(r.message("Value.metadata"));
        case VALUE_HISTO -> {
          kind = "histogram";
          r.skip();
        }
        case VALUE_AUDIO -> {
          kind = "audio";
          r.skip();
        }
        default -> r.skip();
      }
    }
    if (simple != null) {
      return new Scalar(tag, simple);
    }
    if (imageReader != null) {
      return decodeImage(tag, imageReader);
    }
    if (tensor != null) {
      if (plugin.equals("text") && !tensor.strings.isEmpty()) {
        return new Text(tag, new String(tensor.strings.getFirst(), StandardCharsets.UTF_8));
      }
      if (plugin.equals("scalars") && tensor.scalar != null) {
        return new Scalar(tag, tensor.scalar);
      }
      kind = plugin.isEmpty() ? "tensor" : plugin;
    }
    return new Other(tag, kind);
  }

  private static Image decodeImage(String tag, Protobuf.Reader r) {
    int height = 0;
    int width = 0;
    int colorspace = 0;
    byte[] encoded = new byte[0];
    while (r.hasMore()) {
      switch (r.nextField()) {
        case IMAGE_HEIGHT -> height = (int) r.varint("Image.height");
        case IMAGE_WIDTH -> width = (int) r.varint("Image.width");
        case IMAGE_COLORSPACE -> colorspace = (int) r.varint("Image.colorspace");
        case IMAGE_ENCODED -> encoded = r.bytes("Image.encoded_image_string");
        default -> r.skip();
      }
    }
    return new Image(tag, height, width, colorspace, encoded);
  }

  private static String decodePluginName(Protobuf.Reader r) {
    String name = "";
    while (r.hasMore()) {
      if (r.nextField() == METADATA_PLUGIN_DATA) {
        Protobuf.Reader data = r.message("SummaryMetadata.plugin_data");
        while (data.hasMore()) {
          if (data.nextField() == PLUGIN_NAME) {
            name = data.string("PluginData.plugin_name");
          } else {
            data.skip();
          }
        }
      } else {
        r.skip();
      }
    }
    return name;
  }

  /** What a summary tensor holds, as far as the text and scalar plugins need. */
  private static final class TensorValue {
    int dtype;
    Float scalar;
    final List<byte[]> strings = new ArrayList<>();
  }

  private static TensorValue decodeTensor(Protobuf.Reader r) {
    TensorValue t = new TensorValue();
    byte[] content = null;
    Float firstFloat = null;
    Double firstDouble = null;
    while (r.hasMore()) {
      switch (r.nextField()) {
        case TENSOR_DTYPE -> t.dtype = (int) r.varint("TensorProto.dtype");
        case TENSOR_CONTENT -> content = r.bytes("TensorProto.tensor_content");
        case TENSOR_FLOAT_VAL -> {
          if (r.wireType() == Protobuf.LENGTH_DELIMITED) {
            Protobuf.Reader packed = r.message("TensorProto.float_val");
            if (packed.hasMore() && firstFloat == null) {
              firstFloat = packed.rawFloat();
            }
          } else {
            float f = r.fixedFloat("TensorProto.float_val");
            firstFloat = firstFloat == null ? f : firstFloat;
          }
        }
        case TENSOR_DOUBLE_VAL -> {
          if (r.wireType() == Protobuf.LENGTH_DELIMITED) {
            Protobuf.Reader packed = r.message("TensorProto.double_val");
            if (packed.hasMore() && firstDouble == null) {
              firstDouble = packed.rawDouble();
            }
          } else {
            double d = r.fixedDouble("TensorProto.double_val");
            firstDouble = firstDouble == null ? d : firstDouble;
          }
        }
        case TENSOR_STRING_VAL -> t.strings.add(r.bytes("TensorProto.string_val"));
        default -> r.skip();
      }
    }
    if (t.dtype == DT_FLOAT) {
      if (firstFloat != null) {
        t.scalar = firstFloat;
      } else if (content != null && content.length == 4) {
        t.scalar = Float.intBitsToFloat(TfRecord.getIntLe(content, 0));
      }
    } else if (t.dtype == DT_DOUBLE) {
      if (firstDouble != null) {
        t.scalar = (float) (double) firstDouble;
      } else if (content != null && content.length == 8) {
        t.scalar = (float) Double.longBitsToDouble(TfRecord.getLongLe(content, 0));
      }
    }
    return t;
  }
}
