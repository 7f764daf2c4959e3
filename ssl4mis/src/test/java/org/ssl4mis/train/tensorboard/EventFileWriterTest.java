package org.ssl4mis.train.tensorboard;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.tensorboard.EventFileReader.Contents;
import org.ssl4mis.train.tensorboard.EventFileReader.Event;
import org.ssl4mis.train.tensorboard.EventFileReader.Image;
import org.ssl4mis.train.tensorboard.EventFileReader.ScalarPoint;
import org.ssl4mis.train.tensorboard.EventFileReader.Text;

/** {@link EventFileWriter} round trips through {@link EventFileReader}, flushing, concurrency and I/O errors. */
class EventFileWriterTest {

  @TempDir
  Path dir;

  @Test
  void fileNameAndFirstRecord() throws IOException {
    long before = Instant.now().getEpochSecond();
    Path file;
    try (EventFileWriter w = new EventFileWriter(dir.resolve("log"))) {
      file = w.file();
      assertEquals(dir.resolve("log"), file.getParent());
      // The first record is on disk before anything else is written.
      Contents early = EventFileReader.read(file);
      assertEquals(1, early.events().size());
      assertEquals(EventFileWriter.FILE_VERSION, early.fileVersion());
    }
    long after = Instant.now().getEpochSecond();
    String name = file.getFileName().toString();
    var m = Pattern.compile("events\\.out\\.tfevents\\.(\\d{10})\\.(.+)\\.(\\d+)\\.(\\d+)").matcher(name);
    assertTrue(m.matches(), name);
    long seconds = Long.parseLong(m.group(1));
    assertTrue(seconds >= before && seconds <= after, name);
    assertEquals(EventFileWriter.hostname(), m.group(2));
    assertEquals(ProcessHandle.current().pid(), Long.parseLong(m.group(3)));

    Contents c = EventFileReader.read(file);
    assertFalse(c.truncated());
    Event first = c.events().getFirst();
    assertEquals("brain.Event:2", first.fileVersion());
    assertEquals(0, first.step());
    assertTrue(first.values().isEmpty());
    assertTrue(first.wallTime() >= before && first.wallTime() <= after + 1, "wall time " + first.wallTime());

    // Two writers in the same second get different files; a suffix is appended.
    try (EventFileWriter a = new EventFileWriter(dir);
        EventFileWriter b = new EventFileWriter(dir, EventFileWriter.Options.defaults().withFilenameSuffix(".v2"))) {
      assertNotEquals(a.file(), b.file());
      assertTrue(b.file().getFileName().toString().endsWith(".v2"));
      assertEquals(List.of(a.file(), b.file()).stream().sorted().toList(), EventFileReader.eventFiles(dir));
    }
  }

  @Test
  void scalarsRoundTrip() throws IOException {
    Path file;
    float[] values = {0.5f, -3.25f, Float.NaN, Float.POSITIVE_INFINITY, 1e-30f, 12345.678f};
    try (EventFileWriter w = new EventFileWriter(dir)) {
      file = w.file();
      for (int i = 0; i < values.length; i++) {
        w.addScalar("info/total_loss", values[i], i * 10L);
        w.addScalar("info/lr", 0.01 * Math.pow(1 - i / 100.0, 0.9), i * 10L);
      }
      w.addScalar("big/step", 1.0, 1L << 40);
      w.addScalar("negative/step", 2.0, -5);
      w.addText("notes", "lr *poly*, 2 labeled", 3);
      assertEquals(1 + 2 * values.length + 3, w.recordsWritten());
    }
    Contents c = EventFileReader.read(file);
    assertEquals(1 + 2 * values.length + 3, c.events().size());
    List<ScalarPoint> loss = c.scalars("info/total_loss");
    assertEquals(values.length, loss.size());
    for (int i = 0; i < values.length; i++) {
      assertEquals(i * 10L, loss.get(i).step());
      assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(loss.get(i).value()), "value " + i);
    }
    List<ScalarPoint> lr = c.scalars("info/lr");
    for (int i = 0; i < values.length; i++) {
      assertEquals((float) (0.01 * Math.pow(1 - i / 100.0, 0.9)), lr.get(i).value());
    }
    assertEquals(1L << 40, c.scalars("big/step").getFirst().step());
    assertEquals(-5, c.scalars("negative/step").getFirst().step());
    // Wall times do not go backwards.
    double last = 0;
    for (Event e : c.events()) {
      assertTrue(e.wallTime() >= last);
      last = e.wallTime();
    }
    Event text = c.events().getLast();
    assertEquals(3, text.step());
    assertEquals(List.of(new Text("notes/text_summary", "lr *poly*, 2 labeled")), text.texts());
    assertEquals("", text.fileVersion());
  }

  @Test
  void imagesRoundTripAsPng() throws IOException {
    Random random = new Random(11);
    int h = 9;
    int w = 13;
    float[] gray = new float[h * w];
    for (int i = 0; i < gray.length; i++) {
      gray[i] = random.nextFloat() * 1.4f - 0.2f; // some below 0 and above 1: clipped
    }
    gray[0] = Float.NaN;
    gray[1] = 0.5f; // 127.5 truncates to 127, like tensorboardX's astype(np.uint8)
    gray[2] = 1f;
    byte[] rgb = new byte[3 * h * w];
    random.nextBytes(rgb);
    byte[] rgba = new byte[4 * h * w];
    random.nextBytes(rgba);
    float[] oneChannel = new float[h * w];
    for (int i = 0; i < oneChannel.length; i++) {
      oneChannel[i] = (i % 5) / 4f;
    }
    BufferedImage awt = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        awt.setRGB(x, y, (x * 19) << 16 | (y * 28) << 8 | (x + y));
      }
    }
    Path file;
    try (EventFileWriter writer = new EventFileWriter(dir)) {
      file = writer.file();
      writer.addImage("train/Image", gray, new int[] {h, w}, 20);
      writer.addImage("train/RGB", rgb, new int[] {3, h, w}, 40);
      writer.addImage("train/RGBA", rgba, new int[] {4, h, w}, 60);
      writer.addImage("train/OneChannel", oneChannel, new int[] {1, h, w}, 80);
      writer.addImage("train/Awt", awt, 100);
      assertThrows(IllegalArgumentException.class, () -> writer.addImage("bad", new float[2 * h * w], new int[] {2, h, w}, 1));
      assertThrows(IllegalArgumentException.class, () -> writer.addImage("bad", new float[5], new int[] {h, w}, 1));
      assertThrows(IllegalArgumentException.class, () -> writer.addImage("bad", new float[h], new int[] {h}, 1));
    }
    Contents c = EventFileReader.read(file);
    assertEquals(6, c.events().size());

    Image g = c.images("train/Image").getFirst().image();
    assertEquals(20, c.images("train/Image").getFirst().step());
    assertEquals(h, g.height());
    assertEquals(w, g.width());
    assertEquals(1, g.colorspace());
    byte[] expectedGray = new byte[gray.length];
    for (int i = 0; i < gray.length; i++) {
      float v = gray[i] * 255f;
      expectedGray[i] = (byte) (Float.isNaN(v) ? 0 : (int) Math.max(0f, Math.min(255f, v)));
    }
    assertEquals(0, expectedGray[0]);
    assertEquals(127, expectedGray[1]);
    assertEquals((byte) 255, expectedGray[2]);
    assertArrayEquals(expectedGray, chw(g.decode(), 1));

    Image c3 = c.images("train/RGB").getFirst().image();
    assertEquals(3, c3.colorspace());
    assertArrayEquals(rgb, chw(c3.decode(), 3));
    Image c4 = c.images("train/RGBA").getFirst().image();
    assertEquals(4, c4.colorspace());
    assertArrayEquals(rgba, chw(c4.decode(), 4));
    Image one = c.images("train/OneChannel").getFirst().image();
    assertEquals(1, one.colorspace());
    byte[] expectedOne = new byte[oneChannel.length];
    for (int i = 0; i < oneChannel.length; i++) {
      expectedOne[i] = (byte) (int) (oneChannel[i] * 255f);
    }
    assertArrayEquals(expectedOne, chw(one.decode(), 1));
    Image fromAwt = c.images("train/Awt").getFirst().image();
    assertEquals(3, fromAwt.colorspace());
    BufferedImage back = fromAwt.decode();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        assertEquals(awt.getRGB(x, y), back.getRGB(x, y));
      }
    }
    // PNG signature.
    assertEquals((byte) 0x89, g.encoded()[0]);
    assertEquals('P', g.encoded()[1]);
  }

  @Test
  void tensorImages() throws IOException {
    Path file;
    int h = 4;
    int w = 6;
    float[] values = new float[h * w];
    long[] labels = new long[h * w];
    byte[] bytes = new byte[3 * h * w];
    for (int i = 0; i < values.length; i++) {
      values[i] = i / (float) (values.length - 1);
      labels[i] = i % 3;
    }
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 7);
    }
    try (MemoryScope ignored = MemoryScope.open(); EventFileWriter writer = new EventFileWriter(dir)) {
      file = writer.file();
      writer.addImage("train/Image", Tensors.fromFloats(values, 1, h, w), 1);
      // SSL4MIS logs label maps times 50 as int64: tensorboardX scales every non-uint8 dtype by 255.
      Tensor labs = Tensors.fromLongs(labels, 1, h, w).mul(Tensors.scalar(50, DType.INT64));
      writer.addImage("train/GroundTruth", labs, 1);
      writer.addImage("train/Bytes", Tensors.fromBytes(bytes, DType.UINT8, 3, h, w), 1);
    }
    Contents c = EventFileReader.read(file);
    byte[] expected = new byte[values.length];
    byte[] expectedLabels = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      expected[i] = (byte) (int) (values[i] * 255f);
      expectedLabels[i] = (byte) (labels[i] == 0 ? 0 : 255);
    }
    assertArrayEquals(expected, chw(c.images("train/Image").getFirst().image().decode(), 1));
    assertArrayEquals(expectedLabels, chw(c.images("train/GroundTruth").getFirst().image().decode(), 1));
    assertArrayEquals(bytes, chw(c.images("train/Bytes").getFirst().image().decode(), 3));
  }

  /** The samples of a decoded PNG in C order. */
  static byte[] chw(BufferedImage image, int channels) {
    assertEquals(channels, image.getRaster().getNumBands());
    int h = image.getHeight();
    int w = image.getWidth();
    byte[] out = new byte[channels * h * w];
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          out[(c * h + y) * w + x] = (byte) image.getRaster().getSample(x, y, c);
        }
      }
    }
    return out;
  }

  @Test
  void addScalarsWritesOneRunPerKeyLikeTensorboardX() throws IOException {
    Map<String, Double> dice = new LinkedHashMap<>();
    dice.put("class1", 0.5);
    dice.put("class2", 0.75);
    try (EventFileWriter w = new EventFileWriter(dir)) {
      w.addScalars("val/dice", dice, 200);
      w.addScalars("val/dice", Map.of("class1", 0.625), 400);
      assertThrows(IllegalArgumentException.class, () -> w.addScalars("x", Map.of("../../../escape", 1), 1));
    }
    List<ScalarPoint> class1 = EventFileReader.read(only(dir.resolve("val_dice_class1"))).scalars("val/dice");
    assertEquals(List.of(200L, 400L), class1.stream().map(ScalarPoint::step).toList());
    assertEquals(List.of(0.5f, 0.625f), class1.stream().map(ScalarPoint::value).toList());
    List<ScalarPoint> class2 = EventFileReader.read(only(dir.resolve("val_dice_class2"))).scalars("val/dice");
    assertEquals(List.of(0.75f), class2.stream().map(ScalarPoint::value).toList());
  }

  private static Path only(Path logDir) throws IOException {
    List<Path> files = EventFileReader.eventFiles(logDir);
    assertEquals(1, files.size(), files.toString());
    return files.getFirst();
  }

  @Test
  void flushesEveryNRecordsOnFlushAndPeriodically() throws Exception {
    // No periodic flush within the test: records stay in the buffer until the 3rd, then on flush().
    try (EventFileWriter w = new EventFileWriter(dir.resolve("count"),
        EventFileWriter.Options.defaults().withFlushEveryRecords(3))) {
      long initial = Files.size(w.file());
      w.addScalar("a", 1, 1);
      w.addScalar("a", 2, 2);
      assertEquals(initial, Files.size(w.file()), "two records are still buffered");
      w.addScalar("a", 3, 3);
      long afterThree = Files.size(w.file());
      assertTrue(afterThree > initial);
      assertEquals(4, EventFileReader.read(w.file()).events().size());
      w.addScalar("a", 4, 4);
      assertEquals(afterThree, Files.size(w.file()));
      w.flush();
      assertEquals(5, EventFileReader.read(w.file()).events().size());
    }
    // The periodic flush writes a lone record out without any further call.
    try (EventFileWriter w = new EventFileWriter(dir.resolve("timer"),
        EventFileWriter.Options.defaults().withFlushInterval(Duration.ofMillis(50)).withFlushEveryRecords(1000))) {
      long initial = Files.size(w.file());
      w.addScalar("a", 1, 1);
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (Files.size(w.file()) == initial && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(Files.size(w.file()) > initial, "the periodic flush did not run");
      assertEquals(List.of(1f), EventFileReader.read(w.file()).scalars("a").stream().map(ScalarPoint::value).toList());
    }
  }

  @Test
  void concurrentWritersLoseNothing() throws Exception {
    int threads = 8;
    int perThread = 1500;
    Path file;
    try (EventFileWriter w = new EventFileWriter(dir, EventFileWriter.Options.defaults()
        .withFlushEveryRecords(7).withFlushInterval(Duration.ofMillis(5)))) {
      file = w.file();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < perThread; i++) {
            w.addScalar("thread/" + thread, thread * 1_000_000 + i, i);
            if (i % 500 == 0) {
              w.addImage("img/" + thread, new byte[] {(byte) i, (byte) thread, 0, 1}, new int[] {2, 2}, i);
              w.flush();
            }
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> f : futures) {
        f.get();
      }
      pool.shutdown();
      assertEquals(1L + threads * perThread + threads * 3L, w.recordsWritten());
    }
    Contents c = EventFileReader.read(file);
    assertFalse(c.truncated());
    assertEquals(1 + threads * perThread + threads * 3, c.events().size());
    for (int t = 0; t < threads; t++) {
      List<ScalarPoint> points = c.scalars("thread/" + t);
      assertEquals(perThread, points.size());
      Set<Long> steps = new HashSet<>();
      for (int i = 0; i < perThread; i++) {
        ScalarPoint p = points.get(i);
        assertEquals(i, p.step(), "one thread's records stay in order");
        assertEquals((float) (t * 1_000_000 + i), p.value());
        steps.add(p.step());
      }
      assertEquals(perThread, steps.size());
      assertEquals(3, c.images("img/" + t).size());
    }
  }

  /** Accepts {@code limit} bytes, then fails every write and flush. */
  static final class FailingStream extends OutputStream {
    private long left;
    int attempts;

    FailingStream(long limit) {
      this.left = limit;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      attempts++;
      if (len > left) {
        throw new IOException("No space left on device");
      }
      left -= len;
    }

    @Override
    public void flush() throws IOException {
      if (left <= 0) {
        throw new IOException("No space left on device");
      }
    }
  }

  @Test
  void anIoErrorIsReportedOnceWithTheFileNameAndNotDropped() throws Exception {
    Path file = dir.resolve("events.out.tfevents.0000000001.test.1.0");
    List<IOException> reported = new CopyOnWriteArrayList<>();
    FailingStream stream = new FailingStream(200);
    EventFileWriter w = new EventFileWriter(dir, file, stream,
        EventFileWriter.Options.defaults().withFlushEveryRecords(1).withOnError(reported::add));
    for (int i = 0; i < 50; i++) {
      w.addScalar("info/loss", i, i); // about 30 bytes a record: fails after a few
    }
    assertEquals(1, reported.size(), "reported exactly once");
    IOException e = reported.getFirst();
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
    assertTrue(w.failure().isPresent());
    assertTrue(w.recordsDropped() > 0);
    assertEquals(51, w.recordsWritten() + w.recordsDropped());
    int attempts = stream.attempts;
    w.addScalar("info/loss", 0, 100);
    assertEquals(attempts, stream.attempts, "no further writes after the failure");
    IOException onFlush = assertThrows(IOException.class, w::flush);
    assertTrue(onFlush.getMessage().contains(file.toString()), onFlush.getMessage());
    assertTrue(onFlush.getMessage().contains("records dropped"), onFlush.getMessage());
    IOException onClose = assertThrows(IOException.class, w::close);
    assertTrue(onClose.getMessage().contains(file.toString()));
    w.close(); // idempotent
    assertEquals(1, reported.size());
    assertThrows(IllegalStateException.class, () -> w.addScalar("late", 1, 1));

    // A writer that cannot write its first record fails at once, naming the file.
    IOException atOpen = assertThrows(IOException.class,
        () -> new EventFileWriter(dir, file, new FailingStream(0), EventFileWriter.Options.defaults()));
    assertTrue(atOpen.getMessage().contains(file.toString()), atOpen.getMessage());
  }

  @Test
  void optionsAreValidated() {
    var d = EventFileWriter.Options.defaults();
    assertEquals(Duration.ofSeconds(120), d.flushInterval());
    assertEquals(10, d.flushEveryRecords());
    assertThrows(IllegalArgumentException.class, () -> d.withFlushEveryRecords(0));
    assertThrows(IllegalArgumentException.class, () -> d.withFlushInterval(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> d.withFilenameSuffix("a/b"));
  }
}
