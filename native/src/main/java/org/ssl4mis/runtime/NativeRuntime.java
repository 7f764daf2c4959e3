package org.ssl4mis.runtime;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;

/**
 * The one place that loads the native libraries and controls the libtorch runtime: versions, devices,
 * intra-op threads, global seeding and the deterministic-algorithms switch.
 *
 * <p>Every entry point of the project calls {@link #init()} (directly or through the bindings) before
 * touching libtorch. Loading happens once per JVM; later calls return at once.
 *
 * <p>Thread count: by default libtorch uses one intra-op thread per available processor. The system
 * property {@code ssl4mis.threads} or the environment variable {@code SSL4MIS_THREADS} overrides it at
 * start-up, and {@link #setThreads(int)} at any time.
 */
public final class NativeRuntime {

  /** System property that sets the intra-op thread count at start-up. */
  public static final String THREADS_PROPERTY = "ssl4mis.threads";
  /** Environment variable that sets the intra-op thread count at start-up (the property wins). */
  public static final String THREADS_ENV = "SSL4MIS_THREADS";

  private static final Pattern TORCH_VERSION = Pattern.compile("TORCH_VERSION=([0-9][^,\\s]*)");
  private static final Pattern USE_CUDA = Pattern.compile("USE_CUDA=(\\w+)");

  private static volatile boolean loaded;
  private static String buildConfig = "";
  private static long loadMillis;
  private static volatile OptionalLong seed = OptionalLong.empty();
  private static volatile Hdf5Status hdf5;

  private NativeRuntime() {}

  /** Loads libtorch (and its BLAS) once and applies the configured thread count. Thread-safe, idempotent. */
  public static void init() {
    if (loaded) {
      return;
    }
    synchronized (NativeRuntime.class) {
      if (loaded) {
        return;
      }
      long t0 = System.nanoTime();
      try {
        Loader.load(torch.class);
        buildConfig = torch.show_config().getString();
      } catch (UnsatisfiedLinkError | RuntimeException e) {
        throw new NativeRuntimeException(
            "could not load libtorch (org.bytedeco:pytorch " + presetVersion("pytorch")
                + ") for platform " + Loader.getPlatform()
                + "; check that the natives jar for this platform is on the class path", e);
      }
      loadMillis = (System.nanoTime() - t0) / 1_000_000;
      loaded = true;
      configuredThreads().ifPresent(NativeRuntime::setThreads);
      if (configuredThreads().isEmpty()) {
        setThreads(Runtime.getRuntime().availableProcessors());
      }
    }
  }

  private static Optional<Integer> configuredThreads() {
    String source = THREADS_PROPERTY;
    String value = System.getProperty(THREADS_PROPERTY);
    if (value == null || value.isBlank()) {
      source = THREADS_ENV;
      value = System.getenv(THREADS_ENV);
    }
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    try {
      int n = Integer.parseInt(value.strip());
      if (n >= 1) {
        return Optional.of(n);
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new IllegalArgumentException(source + "='" + value + "' is not a thread count (an integer >= 1)");
  }

  /** The libtorch version, e.g. {@code 2.10.0}, read from libtorch's own build configuration. */
  public static String torchVersion() {
    init();
    Matcher m = TORCH_VERSION.matcher(buildConfig);
    return m.find() ? m.group(1) : "unknown";
  }

  /** The JavaCPP runtime version, e.g. {@code 1.5.13}. */
  public static String javacppVersion() {
    try {
      return Loader.getVersion();
    } catch (java.io.IOException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  /** The version of an {@code org.bytedeco} preset on the class path, or {@code "not on class path"}. */
  public static String presetVersion(String artifactId) {
    try {
      String v = Loader.getVersion("org.bytedeco", artifactId);
      return v == null ? "not on class path" : v;
    } catch (Exception e) {
      return "not on class path";
    }
  }

  /** libtorch's own description of how it was built ({@code torch::show_config()}). */
  public static String buildConfig() {
    init();
    return buildConfig;
  }

  /** Milliseconds the first {@link #init()} spent loading the libraries (extraction included). */
  public static long loadMillis() {
    init();
    return loadMillis;
  }

  /** True when the loaded libtorch was built with CUDA (the {@code gpu} Maven profile). */
  public static boolean isCudaBuild() {
    init();
    Matcher m = USE_CUDA.matcher(buildConfig);
    return m.find() && !m.group(1).equals("0") && !m.group(1).equalsIgnoreCase("OFF");
  }

  /** Number of CUDA devices libtorch can use; 0 on the CPU build or without a working driver. */
  public static int cudaDeviceCount() {
    init();
    if (!isCudaBuild()) {
      return 0;
    }
    try {
      return torch.cuda_is_available() ? Byte.toUnsignedInt(torch.cuda_device_count()) : 0;
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /** Why CUDA cannot be used here, or empty when it can. */
  public static Optional<String> cudaUnavailableReason() {
    init();
    if (!isCudaBuild()) {
      return Optional.of("this build uses the CPU natives of libtorch; build with ./mvnw -Pgpu and install"
          + " CUDA 13.1 and cuDNN 9 (README, 'GPU')");
    }
    if (cudaDeviceCount() == 0) {
      return Optional.of("libtorch was built with CUDA but sees no device: check the NVIDIA driver"
          + " (nvidia-smi) and that the CUDA 13.1 and cuDNN 9 libraries are on the library path");
    }
    return Optional.empty();
  }

  /** The devices usable here: {@code cpu} first, then {@code cuda:0..N-1}. */
  public static List<Device> devices() {
    List<Device> out = new ArrayList<>();
    out.add(Device.CPU);
    for (int i = 0; i < cudaDeviceCount(); i++) {
      out.add(Device.cuda(i));
    }
    return List.copyOf(out);
  }

  /**
   * Parses a device name and checks that it exists here.
   *
   * @throws IllegalArgumentException when the name is malformed or the device is not available, saying why
   */
  public static Device resolve(String name) {
    Device d = Device.parse(name);
    if (d.isCuda()) {
      Optional<String> why = cudaUnavailableReason();
      if (why.isPresent()) {
        throw new IllegalArgumentException("device '" + name + "' is not available: " + why.get());
      }
      int n = cudaDeviceCount();
      if (d.index() >= n) {
        throw new IllegalArgumentException(
            "device '" + name + "' is not available: this machine has " + n + " CUDA device(s)");
      }
    }
    return d;
  }

  /** The best device for {@code "auto"}: {@code cuda:0} when usable, else {@code cpu}. */
  public static Device resolveAuto(String name) {
    if (name == null || name.isBlank() || name.strip().equalsIgnoreCase("auto")) {
      return cudaDeviceCount() > 0 ? Device.cuda(0) : Device.CPU;
    }
    return resolve(name);
  }

  /** Current intra-op thread count of libtorch. */
  public static int threads() {
    init();
    return torch.get_num_threads();
  }

  /** Sets the intra-op thread count of libtorch (all threads of the process). */
  public static void setThreads(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("thread count must be >= 1, got " + n);
    }
    init();
    torch.set_num_threads(n);
  }

  /**
   * Seeds libtorch's CPU generator, every CUDA generator when CUDA is usable, and the Java random
   * streams handed out by {@link #random(String)}.
   */
  public static void seed(long value) {
    init();
    torch.manual_seed(value);
    if (cudaDeviceCount() > 0) {
      torch.cuda_manual_seed_all(value);
    }
    seed = OptionalLong.of(value);
  }

  /** The seed last given to {@link #seed(long)}, if any. */
  public static OptionalLong currentSeed() {
    return seed;
  }

  /**
   * A Java random stream derived from the global seed and a purpose name, so that e.g. the data loader's
   * shuffling does not depend on how many numbers other parts of the program drew. Without a global seed
   * the stream is seeded from the system's entropy.
   */
  public static java.util.SplittableRandom random(String purpose) {
    OptionalLong s = seed;
    if (s.isEmpty()) {
      return new java.util.SplittableRandom();
    }
    return new java.util.SplittableRandom(mix(s.getAsLong(), purpose));
  }

  /** Mixes a seed with a name into a well-spread 64-bit value (SplitMix64 finaliser over a string hash). */
  public static long mix(long seedValue, String purpose) {
    long h = seedValue ^ 0x9E3779B97F4A7C15L;
    for (int i = 0; i < purpose.length(); i++) {
      h = (h ^ purpose.charAt(i)) * 0x100000001B3L;
    }
    h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
    h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
    return h ^ (h >>> 31);
  }

  /**
   * Switches libtorch's deterministic algorithms on or off (as {@code torch.use_deterministic_algorithms});
   * on also makes cuDNN deterministic and turns its benchmark mode off.
   */
  public static void setDeterministic(boolean on) {
    init();
    var ctx = torch.globalContext();
    ctx.setDeterministicAlgorithms(on, false);
    ctx.setDeterministicCuDNN(on);
    if (on) {
      ctx.setBenchmarkCuDNN(false);
    }
  }

  /**
   * What the reference scripts' {@code --deterministic 1} does: {@code cudnn.deterministic = True} and
   * {@code cudnn.benchmark = False} (and the reverse for 0). Unlike {@link #setDeterministic}, it does not
   * forbid operations that lack a deterministic implementation (e.g. ENet's max-unpooling).
   */
  public static void setCudnnDeterministic(boolean on) {
    init();
    var ctx = torch.globalContext();
    ctx.setDeterministicCuDNN(on);
    ctx.setBenchmarkCuDNN(!on);
  }

  public static boolean isCudnnDeterministic() {
    init();
    return torch.globalContext().deterministicCuDNN();
  }

  public static boolean isDeterministic() {
    init();
    return torch.globalContext().deterministicAlgorithms();
  }

  /** Loads the HDF5 natives once and reports their version; never throws. */
  public static Hdf5Status hdf5() {
    Hdf5Status s = hdf5;
    if (s != null) {
      return s;
    }
    synchronized (NativeRuntime.class) {
      if (hdf5 == null) {
        hdf5 = loadHdf5();
      }
      return hdf5;
    }
  }

  /**
   * Loads HDF5, failing with a clear message when it cannot. Readers of HDF5 files call this first.
   *
   * @throws NativeRuntimeException when the HDF5 natives do not load
   */
  public static void requireHdf5() {
    Hdf5Status s = hdf5();
    if (!s.loaded()) {
      throw new NativeRuntimeException("HDF5 natives are not usable: " + s.detail());
    }
  }

  private static Hdf5Status loadHdf5() {
    // The newest HDF5 preset (1.5.10) predates JavaCPP 1.5.13, so JavaCPP prints a version-mismatch
    // warning on stderr while loading it. It is expected and harmless; keep it for doctor, off the console.
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      Loader.load(org.bytedeco.hdf5.global.hdf5.class);
      int[] major = new int[1];
      int[] minor = new int[1];
      int[] release = new int[1];
      org.bytedeco.hdf5.global.hdf5.H5open();
      org.bytedeco.hdf5.global.hdf5.H5get_libversion(major, minor, release);
      String version = major[0] + "." + minor[0] + "." + release[0];
      String note = captured.toString(StandardCharsets.UTF_8).strip();
      return new Hdf5Status(true, version, note.isEmpty() ? "" : "JavaCPP said: " + note.replace('\n', ' '));
    } catch (Throwable e) {
      return new Hdf5Status(false, "", e.getClass().getSimpleName() + ": " + e.getMessage());
    } finally {
      System.setErr(err);
    }
  }

  /** Whether HDF5 loaded, its library version, and anything noteworthy said while loading it. */
  public record Hdf5Status(boolean loaded, String version, String detail) {}

  /** The few lines {@code ssl4mis doctor} prints. */
  public static List<String> report() {
    init();
    List<String> lines = new ArrayList<>();
    lines.add("java       " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
        + System.getProperty("java.home") + ")");
    lines.add("platform   " + Loader.getPlatform() + ", " + Runtime.getRuntime().availableProcessors() + " cores, max heap "
        + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
    lines.add("libtorch   " + torchVersion() + " (org.bytedeco:pytorch " + presetVersion("pytorch") + ", JavaCPP "
        + javacppVersion() + ", " + (isCudaBuild() ? "CUDA build" : "CPU build") + ", loaded in " + loadMillis + " ms)");
    lines.add("threads    " + threads() + " intra-op (set with -D" + THREADS_PROPERTY + "=N or " + THREADS_ENV + "=N)");
    StringBuilder dev = new StringBuilder("devices    ");
    dev.append(String.join(", ", devices().stream().map(Device::toString).toList()));
    cudaUnavailableReason().ifPresent(r -> dev.append(" (no CUDA: ").append(r).append(')'));
    lines.add(dev.toString());
    lines.add("seed       " + (seed.isPresent() ? Long.toString(seed.getAsLong()) : "not set (nondeterministic)")
        + "; deterministic algorithms " + (isDeterministic() ? "on" : "off"));
    Hdf5Status h = hdf5();
    lines.add("hdf5       " + (h.loaded()
        ? h.version() + " (org.bytedeco:hdf5 " + presetVersion("hdf5") + ")"
        : "NOT LOADED: " + h.detail()));
    lines.add("cpu        " + cpuCapability());
    Allocator a = allocator();
    lines.add("allocator  " + (a.isSystemMalloc()
        ? "system malloc: large tensors get fresh zeroed pages on every allocation (3D training about 2x slower); "
            + "install libtcmalloc-minimal4 and run through bin/ssl4mis, or preload it (LD_PRELOAD)"
        : a.name() + " (" + a.library() + ")"));
    return lines;
  }

  /**
   * The malloc this process runs with: a library preloaded in its place (tcmalloc, jemalloc, mimalloc; found
   * among the process's mapped libraries) or the system's.
   *
   * @param name {@code tcmalloc}, {@code jemalloc}, {@code mimalloc} or {@code system}
   * @param library the mapped file, or empty for the system's malloc
   */
  public record Allocator(String name, String library) {
    public boolean isSystemMalloc() {
      return name.equals("system");
    }
  }

  /**
   * Which malloc serves libtorch's CPU tensors here (see {@link Allocator}): {@code bin/ssl4mis} preloads
   * tcmalloc where installed ({@code bin/native-allocator}), since glibc's malloc maps and zeroes fresh pages for
   * every allocation above 32 MiB.
   */
  public static Allocator allocator() {
    java.nio.file.Path maps = java.nio.file.Path.of("/proc/self/maps");
    if (!java.nio.file.Files.isReadable(maps)) {
      return new Allocator("system", "");
    }
    try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(maps)) {
      return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
          .filter(p -> p.contains("/libtcmalloc") || p.contains("/libjemalloc") || p.contains("/libmimalloc"))
          .findFirst()
          .map(p -> new Allocator(p.contains("/libtcmalloc") ? "tcmalloc" : p.contains("/libjemalloc") ? "jemalloc"
              : "mimalloc", p))
          .orElse(new Allocator("system", ""));
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      return new Allocator("system", "");
    }
  }

  private static String cpuCapability() {
    Matcher m = Pattern.compile("CPU capability usage: (\\S+)").matcher(buildConfig);
    String blas = buildConfig.contains("BLAS_INFO=open") ? "OpenBLAS" : buildConfig.contains("BLAS_INFO=mkl") ? "MKL" : "BLAS";
    String dnn = buildConfig.toLowerCase(Locale.ROOT).contains("mkl-dnn") ? ", oneDNN" : "";
    return (m.find() ? m.group(1) : "unknown") + " kernels, " + blas + dnn;
  }
}
