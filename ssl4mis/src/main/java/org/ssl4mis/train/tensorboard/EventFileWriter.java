package org.ssl4mis.train.tensorboard;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * Writes a TensorBoard event file, as the reference training scripts do with tensorboardX's
 * {@code SummaryWriter(snapshot_path + '/log')}: scalars ({@code add_scalar}, {@code add_scalars}), images
 * ({@code add_image}, PNG-encoded) and text ({@code add_text}).
 *
 * <p>The file is {@code events.out.tfevents.<unix seconds, 10 digits>.<hostname>.<pid>.<n><suffix>} in the log
 * directory (created if missing), the naming of {@code torch.utils.tensorboard}: {@code n} counts the writers this
 * JVM opened, so two writers never share a file. Its first record is an event with {@code file_version =
 * "brain.Event:2"}; every record is a serialized {@code tensorflow.Event} in TFRecord framing (length, masked CRC-32C),
 * so TensorBoard, tensorboardX and TensorFlow read it.
 *
 * <p>Records go through a buffered stream, flushed after every {@link Options#flushEveryRecords()} records and every
 * {@link Options#flushInterval()} (by a shared daemon thread, like tensorboardX's {@code flush_secs=120}), on
 * {@link #flush()} and on {@link #close()}. All methods are thread-safe; the {@code add*} methods encode outside the
 * lock, so threads only contend for the write itself.
 *
 * <p>The {@code add*} methods do not throw on I/O errors, so that logging never stops a training run: the first
 * {@link IOException} is reported once, with the file name, to {@link Options#onError()} (by default a
 * {@link System.Logger} warning), later records are dropped (and counted), and {@link #flush()} and {@link #close()}
 * throw that first error. {@link #failure()} tells whether one happened.
 *
 * <p>Close every writer: until then the flush thread keeps it (and its buffer) alive.
 */
public final class EventFileWriter implements AutoCloseable {
  /** The {@code file_version} of the first event, as TensorFlow, TensorBoard and tensorboardX write it. */
  public static final String FILE_VERSION = "brain.Event:2";
  /** The prefix of every event file name. */
  public static final String FILE_PREFIX = "events.out.tfevents.";

  // Field numbers of tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto.
  static final int EVENT_WALL_TIME = 1;
  static final int EVENT_STEP = 2;
  static final int EVENT_FILE_VERSION = 3;
  static final int EVENT_SUMMARY = 5;
  static final int SUMMARY_VALUE = 1;
  static final int VALUE_TAG = 1;
  static final int VALUE_SIMPLE_VALUE = 2;
  static final int VALUE_IMAGE = 4;
  static final int VALUE_TENSOR = 8;
  static final int VALUE_METADATA = 9;
  static final int IMAGE_HEIGHT = 1;
  static final int IMAGE_WIDTH = 2;
  static final int IMAGE_COLORSPACE = 3;
  static final int IMAGE_ENCODED = 4;
  static final int METADATA_PLUGIN_DATA = 1;
  static final int PLUGIN_NAME = 1;
  static final int TENSOR_DTYPE = 1;
  static final int TENSOR_SHAPE = 2;
  static final int TENSOR_CONTENT = 4;
  static final int TENSOR_FLOAT_VAL = 5;
  static final int TENSOR_DOUBLE_VAL = 6;
  static final int TENSOR_STRING_VAL = 8;
  static final int SHAPE_DIM = 2;
  static final int DIM_SIZE = 1;
  static final int DT_FLOAT = 1;
  static final int DT_DOUBLE = 2;
  static final int DT_STRING = 7;
  /** The suffix tensorboardX and torch add to {@code add_text} tags. */
  static final String TEXT_TAG_SUFFIX = "/text_summary";

  private static final System.Logger LOG = System.getLogger(EventFileWriter.class.getName());
  private static final AtomicInteger WRITER_COUNT = new AtomicInteger();
  private static final int BUFFER_BYTES = 1 << 16;

  /**
   * How a writer names, flushes and reports.
   *
   * @param filenameSuffix appended to the file name (tensorboardX's {@code filename_suffix}); may be empty
   * @param flushInterval the longest time a record waits in the buffer (tensorboardX: 120 s)
   * @param flushEveryRecords flush after this many records since the last flush (tensorboardX's {@code max_queue}:
   *     10); 1 writes every record through
   * @param onError receives the first I/O error (its message names the file); the default logs a warning
   */
  public record Options(String filenameSuffix, Duration flushInterval, int flushEveryRecords,
      Consumer<IOException> onError) {
    public Options {
      Objects.requireNonNull(filenameSuffix, "filenameSuffix");
      Objects.requireNonNull(flushInterval, "flushInterval");
      Objects.requireNonNull(onError, "onError");
      if (filenameSuffix.contains("/") || filenameSuffix.contains("\\")) {
        throw new IllegalArgumentException("filenameSuffix '" + filenameSuffix + "' contains a path separator");
      }
      if (flushInterval.isNegative() || flushInterval.isZero()) {
        throw new IllegalArgumentException("flushInterval must be positive, not " + flushInterval);
      }
      if (flushEveryRecords < 1) {
        throw new IllegalArgumentException("flushEveryRecords must be at least 1, not " + flushEveryRecords);
      }
    }

    /** No suffix, flush every 120 s or 10 records, errors logged as warnings. */
    public static Options defaults() {
      return new Options("", Duration.ofSeconds(120), 10,
          e -> LOG.log(Level.WARNING, "TensorBoard logging stopped: " + e.getMessage(), e));
    }

    public Options withFilenameSuffix(String suffix) {
      return new Options(suffix, flushInterval, flushEveryRecords, onError);
    }

    public Options withFlushInterval(Duration interval) {
      return new Options(filenameSuffix, interval, flushEveryRecords, onError);
    }

    public Options withFlushEveryRecords(int records) {
      return new Options(filenameSuffix, flushInterval, records, onError);
    }

    public Options withOnError(Consumer<IOException> handler) {
      return new Options(filenameSuffix, flushInterval, flushEveryRecords, handler);
    }
  }

  private final Path logDir;
  private final Path file;
  private final Options options;
  private final OutputStream out;
  private final ScheduledFuture<?> periodicFlush;
  /** Writers of {@link #addScalars}, by subdirectory name, created on first use. */
  private final Map<String, EventFileWriter> children = new LinkedHashMap<>();

  // Guarded by this.
  private int unflushedRecords;
  private long recordsWritten;
  private long recordsDropped;
  private IOException failure;
  private boolean closed;

  /** Opens a new event file in {@code logDir} (created if missing) with {@link Options#defaults()}. */
  public EventFileWriter(Path logDir) throws IOException {
    this(logDir, Options.defaults());
  }

  /** Opens a new event file in {@code logDir} (created if missing). */
  public EventFileWriter(Path logDir, Options options) throws IOException {
    this(logDir, createFile(logDir, options.filenameSuffix()), options);
  }

  private EventFileWriter(Path logDir, Path file, Options options) throws IOException {
    this(logDir, file, new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.WRITE), BUFFER_BYTES),
        options);
  }

  /** For tests: writes to {@code out} as if it were {@code file}. */
  EventFileWriter(Path logDir, Path file, OutputStream out, Options options) throws IOException {
    this.logDir = logDir;
    this.file = file;
    this.options = options;
    this.out = out;
    byte[] first = new Protobuf.Writer()
        .fixedDouble(EVENT_WALL_TIME, now())
        .string(EVENT_FILE_VERSION, FILE_VERSION)
        .toByteArray();
    try {
      out.write(TfRecord.frame(first));
      out.flush();
      recordsWritten = 1;
    } catch (IOException e) {
      closeQuietly(out);
      throw new IOException("cannot write the TensorBoard event file " + file + ": " + e.getMessage(), e);
    }
    long periodMillis = Math.max(1, options.flushInterval().toMillis());
    periodicFlush = Flusher.EXECUTOR.scheduleAtFixedRate(this::periodicFlush, periodMillis, periodMillis,
        TimeUnit.MILLISECONDS);
  }

  /** The shared daemon thread of the periodic flushes. */
  private static final class Flusher {
    static final ScheduledExecutorService EXECUTOR = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "tensorboard-flush");
        t.setDaemon(true);
        return t;
      });
      executor.setRemoveOnCancelPolicy(true);
      return executor;
    }
  }

  private static Path createFile(Path logDir, String suffix) throws IOException {
    Files.createDirectories(logDir);
    long seconds = Instant.now().getEpochSecond();
    String host = hostname();
    long pid = ProcessHandle.current().pid();
    for (int attempt = 0; ; attempt++) {
      String name = String.format(Locale.ROOT, "%s%010d.%s.%d.%d%s", FILE_PREFIX, seconds, host, pid,
          WRITER_COUNT.getAndIncrement(), suffix);
      Path file = logDir.resolve(name);
      try {
        Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        return file;
      } catch (FileAlreadyExistsException e) {
        if (attempt >= 1000) {
          throw new IOException("cannot create a new TensorBoard event file in " + logDir + ": " + name
              + " and 1000 others exist", e);
        }
      }
    }
  }

  /** The host name as Python's {@code socket.gethostname()} gives it (no DNS look-up where avoidable). */
  static String hostname() {
    String host = null;
    try {
      Path proc = Path.of("/proc/sys/kernel/hostname");
      if (Files.isReadable(proc)) {
        host = Files.readString(proc).strip();
      }
    } catch (IOException | SecurityException e) {
      host = null;
    }
    if (host == null || host.isEmpty()) {
      host = System.getenv("HOSTNAME");
    }
    if (host == null || host.isEmpty()) {
      host = System.getenv("COMPUTERNAME");
    }
    if (host == null || host.isEmpty()) {
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (IOException | SecurityException e) {
        host = "localhost";
      }
    }
    return host.replaceAll("[/\\\\\\s]", "_");
  }

  /** The log directory. */
  public Path logDir() {
    return logDir;
  }

  /** The event file this writer appends to. */
  public Path file() {
    return file;
  }

  public Options options() {
    return options;
  }

  /** The first I/O error, if one happened (its message names the file). */
  public synchronized Optional<IOException> failure() {
    return Optional.ofNullable(failure);
  }

  /** Records handed to the stream so far, the {@code file_version} event included. */
  public synchronized long recordsWritten() {
    return recordsWritten;
  }

  /** Records dropped after an I/O error. */
  public synchronized long recordsDropped() {
    return recordsDropped;
  }

  // ---- scalars -------------------------------------------------------------------------------------

  /** Logs {@code value} (as a 32-bit float, TensorBoard's {@code simple_value}) under {@code tag} at {@code step}. */
  public void addScalar(String tag, double value, long step) {
    requireTag(tag);
    write(event(step, valueBuilder(tag).fixedFloat(VALUE_SIMPLE_VALUE, (float) value)));
  }

  /**
   * tensorboardX's {@code add_scalars(main_tag, tag_scalar_dict, global_step)}: several curves in one chart. Each
   * entry goes, under the tag {@code mainTag}, to the event file of its own subdirectory {@code
   * <mainTag with '/' as '_'>_<key>} of the log directory (a writer created on first use, closed with this one).
   */
  public void addScalars(String mainTag, Map<String, ? extends Number> tagScalars, long step) {
    requireTag(mainTag);
    Objects.requireNonNull(tagScalars, "tagScalars");
    for (Map.Entry<String, ? extends Number> e : tagScalars.entrySet()) {
      requireTag(e.getKey());
      Objects.requireNonNull(e.getValue(), () -> "value of " + e.getKey());
      EventFileWriter child = child(mainTag.replace('/', '_') + "_" + e.getKey());
      if (child != null) {
        child.addScalar(mainTag, e.getValue().doubleValue(), step);
      }
    }
  }

  private EventFileWriter child(String subdirectory) {
    synchronized (this) {
      ensureOpen();
      EventFileWriter child = children.get(subdirectory);
      if (child == null && failure == null) {
        Path dir = logDir.resolve(subdirectory).normalize();
        if (!dir.startsWith(logDir.normalize()) || dir.equals(logDir.normalize())) {
          throw new IllegalArgumentException("add_scalars subdirectory '" + subdirectory + "' leaves " + logDir);
        }
        try {
          child = new EventFileWriter(dir, options);
          children.put(subdirectory, child);
        } catch (IOException e) {
          report(new IOException("cannot open the add_scalars event file in " + dir + ": " + e.getMessage(), e));
        }
      }
      if (child == null) {
        recordsDropped++;
      }
      return child;
    }
  }

  // ---- images --------------------------------------------------------------------------------------

  /**
   * Logs an image given as floats in C order with {@code shape} {@code {H, W}} (grayscale) or {@code {C, H, W}}
   * with C = 1 (grayscale), 3 (RGB) or 4 (RGBA). As in tensorboardX, values are multiplied by 255, clipped to [0,
   * 255] and truncated to uint8 (so [0, 1] spans the range; NaN becomes 0). The image is stored as PNG; one channel
   * as 8-bit grayscale (colorspace 1), where tensorboardX repeats it to RGB: TensorBoard shows both alike.
   */
  public void addImage(String tag, float[] pixels, int[] shape, long step) {
    requireTag(tag);
    int[] chw = chw(shape, pixels.length);
    byte[] bytes = new byte[pixels.length];
    for (int i = 0; i < pixels.length; i++) {
      bytes[i] = toUint8(pixels[i]);
    }
    writeImage(tag, bytes, chw, step);
  }

  /** Logs a uint8 image (values 0..255 as unsigned bytes) in C order with shape {@code {H, W}} or {@code {C, H, W}}. */
  public void addImage(String tag, byte[] pixels, int[] shape, long step) {
    requireTag(tag);
    writeImage(tag, pixels, chw(shape, pixels.length), step);
  }

  /**
   * Logs an image tensor of shape {@code [H, W]} or {@code [C, H, W]} (any device): uint8 as is, any other dtype
   * scaled like {@link #addImage(String, float[], int[], long)} (so tensorboardX's treatment of, say, an int64
   * label map times 50 is reproduced).
   */
  public void addImage(String tag, Tensor image, long step) {
    requireTag(tag);
    long[] shape = Tensors.shape(image);
    int[] intShape = new int[shape.length];
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("image " + tag + " is too large: " + Arrays.toString(shape));
      }
      intShape[i] = (int) shape[i];
    }
    chw(intShape, Tensors.numel(shape));
    if (Tensors.dtype(image) == DType.UINT8) {
      addImage(tag, Tensors.toBytes(image), intShape, step);
    } else {
      addImage(tag, Tensors.toFloats(image), intShape, step);
    }
  }

  /** Logs a Java image: grayscale when it is {@link BufferedImage#TYPE_BYTE_GRAY}, else RGB, or RGBA with alpha. */
  public void addImage(String tag, BufferedImage image, long step) {
    requireTag(tag);
    int h = image.getHeight();
    int w = image.getWidth();
    byte[] chw;
    int channels;
    if (image.getType() == BufferedImage.TYPE_BYTE_GRAY) {
      channels = 1;
      chw = new byte[h * w];
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        image.getRaster().getSamples(0, y, w, 1, 0, row);
        for (int x = 0; x < w; x++) {
          chw[y * w + x] = (byte) row[x];
        }
      }
    } else {
      channels = image.getColorModel().hasAlpha() ? 4 : 3;
      chw = new byte[channels * h * w];
      int plane = h * w;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int argb = image.getRGB(x, y);
          int i = y * w + x;
          chw[i] = (byte) (argb >>> 16);
          chw[plane + i] = (byte) (argb >>> 8);
          chw[2 * plane + i] = (byte) argb;
          if (channels == 4) {
            chw[3 * plane + i] = (byte) (argb >>> 24);
          }
        }
      }
    }
    writeImage(tag, chw, new int[] {channels, h, w}, step);
  }

  static byte toUint8(float v) {
    float scaled = v * 255f;
    if (!(scaled > 0f)) {
      return 0; // negative, zero and NaN
    }
    return (byte) (int) Math.min(scaled, 255f);
  }

  private static int[] chw(int[] shape, long length) {
    Objects.requireNonNull(shape, "shape");
    int[] chw = switch (shape.length) {
      case 2 -> new int[] {1, shape[0], shape[1]};
      case 3 -> shape.clone();
      default -> throw new IllegalArgumentException("an image has shape {H, W} or {C, H, W}, not "
          + Arrays.toString(shape));
    };
    if (chw[0] != 1 && chw[0] != 3 && chw[0] != 4) {
      throw new IllegalArgumentException("an image has 1, 3 or 4 channels, not " + chw[0] + " (shape "
          + Arrays.toString(shape) + ")");
    }
    if (chw[1] <= 0 || chw[2] <= 0) {
      throw new IllegalArgumentException("an image needs a positive height and width, not " + Arrays.toString(shape));
    }
    if ((long) chw[0] * chw[1] * chw[2] != length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs "
          + (long) chw[0] * chw[1] * chw[2] + " values, not " + length);
    }
    return chw;
  }

  private void writeImage(String tag, byte[] chw, int[] shape, long step) {
    byte[] png = encodePng(chw, shape[0], shape[1], shape[2]);
    Protobuf.Writer image = new Protobuf.Writer()
        .varint(IMAGE_HEIGHT, shape[1])
        .varint(IMAGE_WIDTH, shape[2])
        .varint(IMAGE_COLORSPACE, shape[0])
        .bytes(IMAGE_ENCODED, png);
    write(event(step, valueBuilder(tag).message(VALUE_IMAGE, image)));
  }

  /** PNG of a C-order uint8 image: 8-bit grayscale, RGB or RGBA. */
  static byte[] encodePng(byte[] chw, int channels, int height, int width) {
    int type = switch (channels) {
      case 1 -> BufferedImage.TYPE_BYTE_GRAY;
      case 3 -> BufferedImage.TYPE_3BYTE_BGR;
      case 4 -> BufferedImage.TYPE_4BYTE_ABGR;
      default -> throw new IllegalArgumentException("channels " + channels);
    };
    BufferedImage image = new BufferedImage(width, height, type);
    WritableRaster raster = image.getRaster();
    int plane = height * width;
    int[] row = new int[width * channels];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < channels; c++) {
          row[x * channels + c] = chw[c * plane + y * width + x] & 0xFF;
        }
      }
      raster.setPixels(0, y, width, 1, row);
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream(plane * channels / 2 + 128);
    try {
      if (!ImageIO.write(image, "png", png)) {
        throw new IllegalStateException("javax.imageio has no PNG writer");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("PNG encoding failed", e); // in memory: does not happen
    }
    return png.toByteArray();
  }

  // ---- text ----------------------------------------------------------------------------------------

  /**
   * tensorboardX's {@code add_text}: a string tensor under {@code tag + "/text_summary"} for TensorBoard's text
   * plugin (which renders Markdown).
   */
  public void addText(String tag, String text, long step) {
    requireTag(tag);
    Objects.requireNonNull(text, "text");
    Protobuf.Writer metadata = new Protobuf.Writer()
        .message(METADATA_PLUGIN_DATA, new Protobuf.Writer().string(PLUGIN_NAME, "text"));
    Protobuf.Writer tensor = new Protobuf.Writer()
        .varint(TENSOR_DTYPE, DT_STRING)
        .message(TENSOR_SHAPE, new Protobuf.Writer().message(SHAPE_DIM, new Protobuf.Writer().varint(DIM_SIZE, 1)))
        .string(TENSOR_STRING_VAL, text);
    write(event(step, valueBuilder(tag + TEXT_TAG_SUFFIX).message(VALUE_TENSOR, tensor)
        .message(VALUE_METADATA, metadata)));
  }

  // ---- writing -------------------------------------------------------------------------------------

  private static void requireTag(String tag) {
    Objects.requireNonNull(tag, "tag");
    if (tag.isEmpty()) {
      throw new IllegalArgumentException("a tag may not be empty");
    }
  }

  private static Protobuf.Writer valueBuilder(String tag) {
    return new Protobuf.Writer().string(VALUE_TAG, tag);
  }

  private static double now() {
    Instant t = Instant.now();
    return t.getEpochSecond() + t.getNano() / 1e9;
  }

  private static byte[] event(long step, Protobuf.Writer value) {
    Protobuf.Writer event = new Protobuf.Writer().fixedDouble(EVENT_WALL_TIME, now());
    if (step != 0) {
      event.varint(EVENT_STEP, step);
    }
    return event.message(EVENT_SUMMARY, new Protobuf.Writer().message(SUMMARY_VALUE, value)).toByteArray();
  }

  private void write(byte[] event) {
    byte[] record = TfRecord.frame(event);
    synchronized (this) {
      ensureOpen();
      if (failure != null) {
        recordsDropped++;
        return;
      }
      try {
        out.write(record);
        recordsWritten++;
        if (++unflushedRecords >= options.flushEveryRecords()) {
          out.flush();
          unflushedRecords = 0;
        }
      } catch (IOException e) {
        recordsDropped++;
        fail(e);
      }
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the TensorBoard event file writer of " + file + " is closed");
    }
  }

  /** Records the first failure and reports it once. Called with the lock held. */
  private void fail(IOException e) {
    report(new IOException("TensorBoard event file " + file + ": " + e, e));
  }

  /** Like {@link #fail} for an error whose message already says where. */
  private void report(IOException e) {
    if (failure != null) {
      return;
    }
    failure = e;
    try {
      options.onError().accept(failure);
    } catch (RuntimeException handlerFailure) {
      failure.addSuppressed(handlerFailure);
    }
  }

  private void periodicFlush() {
    synchronized (this) {
      if (closed || failure != null || unflushedRecords == 0) {
        return;
      }
      try {
        out.flush();
        unflushedRecords = 0;
      } catch (IOException e) {
        fail(e);
      }
    }
  }

  /** Writes the buffered records to the file (and those of the {@link #addScalars} writers). */
  public void flush() throws IOException {
    EventFileWriter[] kids;
    synchronized (this) {
      ensureOpen();
      if (failure == null) {
        try {
          out.flush();
          unflushedRecords = 0;
        } catch (IOException e) {
          fail(e);
        }
      }
      if (failure != null) {
        throw withDropped(failure);
      }
      kids = children.values().toArray(EventFileWriter[]::new);
    }
    for (EventFileWriter child : kids) {
      child.flush();
    }
  }

  private IOException withDropped(IOException e) {
    return recordsDropped == 0 ? e : new IOException(e.getMessage() + " (" + recordsDropped + " records dropped)", e);
  }

  /**
   * Flushes and closes the file and the {@link #addScalars} writers; repeated calls do nothing. Throws the first
   * I/O error of this writer's life, if any (the file is closed all the same).
   */
  @Override
  public void close() throws IOException {
    EventFileWriter[] kids;
    IOException error = null;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      periodicFlush.cancel(false);
      kids = children.values().toArray(EventFileWriter[]::new);
      if (failure == null) {
        try {
          out.flush();
        } catch (IOException e) {
          fail(e);
        }
      }
      try {
        out.close();
      } catch (IOException e) {
        fail(e);
      }
      if (failure != null) {
        error = withDropped(failure);
      }
    }
    for (EventFileWriter child : kids) {
      try {
        child.close();
      } catch (IOException e) {
        if (error == null) {
          error = e;
        } else {
          error.addSuppressed(e);
        }
      }
    }
    if (error != null) {
      throw error;
    }
  }

  private static void closeQuietly(OutputStream s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // the caller reports the original error
    }
  }

  @Override
  public String toString() {
    return "EventFileWriter[" + file + "]";
  }
}
