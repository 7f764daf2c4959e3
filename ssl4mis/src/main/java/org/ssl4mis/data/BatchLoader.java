package org.ssl4mis.data;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.runtime.Device;
import org.ssl4mis.runtime.NativeRuntime;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * Turns batches of sample indices into tensors on worker threads, a few batches ahead of the training loop
 * (the reference's {@code DataLoader(batch_sampler=..., num_workers=...)}).
 *
 * <p>Determinism: sample {@code p} of batch {@code b} is transformed with its own generator seeded from
 * {@code (seed, b, p)}, and batches are handed out in order, so what the loop sees depends only on the
 * seed, the index stream and the transform, not on the number of workers or thread scheduling.
 *
 * <p>Each {@link Batch} owns its tensors (they are created on a worker thread, outside the caller's memory
 * scope): close it when the iteration is done.
 */
public final class BatchLoader implements AutoCloseable {

  /** A sample transform: augmentation and cropping with the sample's own generator. */
  @FunctionalInterface
  public interface Transform {
    Volume apply(Volume v, SplittableRandom random);
  }

  /**
   * A transform that makes more than one image of a sample (FixMatch's weak and strong views) and may depend
   * on the batch's number (CTAugment's policy of the epoch the batch belongs to). Called on loader threads.
   */
  @FunctionalInterface
  public interface SampleTransform {
    Sample apply(Volume v, long batchNumber, SplittableRandom random);
  }

  /**
   * A transformed sample: the image and label that become {@link Batch#image()} and {@link Batch#label()}, and
   * further images of the same shape by name (e.g. {@code image_strong}), batched into {@link Batch#extras()}.
   */
  public record Sample(Volume volume, Map<String, float[]> extraImages) {
    public Sample {
      extraImages = Map.copyOf(extraImages);
      for (Map.Entry<String, float[]> e : extraImages.entrySet()) {
        if (e.getValue().length != volume.voxels()) {
          throw new IllegalArgumentException("extra image '" + e.getKey() + "' of " + volume.name() + " has "
              + e.getValue().length + " values, the sample " + volume.voxels());
        }
      }
    }
  }

  /**
   * A batch: images {@code (B, 1, *patch)} float32 and labels {@code (B, *patch)} int64, on the loader's
   * device, with the dataset indices and case names it came from, and any extra images of the samples by name
   * ({@code (B, 1, *patch)} float32; empty for plain transforms).
   */
  public record Batch(long number, Tensor image, Tensor label, int[] indices, List<String> names,
      Map<String, Tensor> extras) implements AutoCloseable {
    public Batch {
      extras = Map.copyOf(extras);
    }

    public Batch(long number, Tensor image, Tensor label, int[] indices, List<String> names) {
      this(number, image, label, indices, names, Map.of());
    }

    @Override
    public void close() {
      image.close();
      label.close();
      extras.values().forEach(Tensor::close);
    }
  }

  private final CaseDataset dataset;
  private final Iterator<int[]> indexBatches;
  private final SampleTransform transform;
  private final long seed;
  private final Device device;
  private final ExecutorService workers;
  private final ArrayDeque<Future<Batch>> ahead = new ArrayDeque<>();
  private final int depth;
  private long submitted;
  private boolean closed;

  /**
   * @param workers loader threads (0: batches are made on the calling thread)
   * @param prefetch how many batches to prepare ahead (at least 1)
   * @param device where the tensors go; on CUDA the host copies are pinned and copied asynchronously
   */
  public BatchLoader(CaseDataset dataset, Iterator<int[]> indexBatches, Transform transform, long seed, int workers,
      int prefetch, Device device) {
    this(dataset, indexBatches, transform, seed, workers, prefetch, device, 0);
  }

  /**
   * A loader whose first batch is number {@code firstBatchNumber} (a resumed run continues the numbering, so
   * its batches are the ones the uninterrupted run would have seen).
   */
  public BatchLoader(CaseDataset dataset, Iterator<int[]> indexBatches, Transform transform, long seed, int workers,
      int prefetch, Device device, long firstBatchNumber) {
    this(dataset, indexBatches, (SampleTransform) (v, number, r) -> new Sample(transform.apply(v, r), Map.of()), seed,
        workers, prefetch, device, firstBatchNumber);
  }

  /** A loader whose samples may carry extra images ({@link SampleTransform}). */
  public BatchLoader(CaseDataset dataset, Iterator<int[]> indexBatches, SampleTransform transform, long seed,
      int workers, int prefetch, Device device, long firstBatchNumber) {
    if (workers < 0 || prefetch < 1) {
      throw new IllegalArgumentException("workers must be >= 0 and prefetch >= 1, got " + workers + " and " + prefetch);
    }
    this.dataset = dataset;
    this.indexBatches = indexBatches;
    this.transform = transform;
    this.seed = seed;
    this.device = device;
    this.depth = workers == 0 ? 1 : Math.max(prefetch, workers);
    this.submitted = firstBatchNumber;
    AtomicInteger n = new AtomicInteger();
    this.workers = workers == 0 ? null : Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "ssl4mis-loader-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    if (this.workers != null) {
      fill();
    }
  }

  /** The next batch, or null when the index stream is exhausted. */
  public Batch next() throws DataException {
    if (closed) {
      throw new IllegalStateException("the loader is closed");
    }
    if (workers == null) {
      if (!indexBatches.hasNext()) {
        return null;
      }
      return make(submitted++, indexBatches.next());
    }
    fill();
    Future<Batch> head = ahead.poll();
    if (head == null) {
      return null;
    }
    try {
      Batch b = head.get();
      fill();
      return b;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof DataException d) {
        throw d;
      }
      throw new IllegalStateException("a loader thread failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a batch", e);
    }
  }

  /** The number of the batch {@link #next()} returns next. */
  public long nextNumber() {
    return workers == null || ahead.isEmpty() ? submitted : submitted - ahead.size();
  }

  private void fill() {
    while (ahead.size() < depth && indexBatches.hasNext()) {
      long number = submitted++;
      int[] indices = indexBatches.next();
      ahead.add(workers.submit(() -> make(number, indices)));
    }
  }

  private Batch make(long number, int[] indices) throws DataException {
    List<Volume> samples = new ArrayList<>(indices.length);
    List<Map<String, float[]>> extraImages = new ArrayList<>(indices.length);
    List<String> names = new ArrayList<>(indices.length);
    for (int p = 0; p < indices.length; p++) {
      Volume v = dataset.get(indices[p]);
      SplittableRandom random = new SplittableRandom(NativeRuntime.mix(seed, "sample/" + number + "/" + p));
      Sample t = transform.apply(v, number, random);
      samples.add(t.volume());
      extraImages.add(t.extraImages());
      names.add(v.name());
    }
    for (Map<String, float[]> e : extraImages) {
      if (!e.keySet().equals(extraImages.getFirst().keySet())) {
        throw new IllegalStateException("samples of one batch must have the same extra images; got "
            + extraImages.getFirst().keySet() + " and " + e.keySet());
      }
    }
    int[] shape = samples.getFirst().shape();
    for (Volume s : samples) {
      if (!Arrays.equals(s.shape(), shape)) {
        throw new IllegalStateException("samples of one batch must have one shape after the transform; " + s.name()
            + " has " + Arrays.toString(s.shape()) + ", " + samples.getFirst().name() + " has " + Arrays.toString(shape));
      }
    }
    int voxels = samples.getFirst().voxels();
    float[] image = new float[voxels * samples.size()];
    long[] label = new long[voxels * samples.size()];
    for (int i = 0; i < samples.size(); i++) {
      Volume s = samples.get(i);
      System.arraycopy(s.image(), 0, image, i * voxels, voxels);
      for (int j = 0; j < voxels; j++) {
        label[i * voxels + j] = s.labelAt(j);
      }
    }
    long[] imageShape = new long[shape.length + 2];
    long[] labelShape = new long[shape.length + 1];
    imageShape[0] = samples.size();
    imageShape[1] = 1;
    labelShape[0] = samples.size();
    for (int i = 0; i < shape.length; i++) {
      imageShape[i + 2] = shape[i];
      labelShape[i + 1] = shape[i];
    }
    // The loader thread's own scope frees every temporary; only the batch tensors leave it.
    try (MemoryScope scope = MemoryScope.open()) {
      Tensor imageTensor = toDevice(Tensors.fromFloats(image, imageShape), DType.FLOAT32);
      Tensor labelTensor = toDevice(Tensors.fromLongs(label, labelShape), DType.INT64);
      Map<String, Tensor> extras = new LinkedHashMap<>();
      for (String key : extraImages.getFirst().keySet()) {
        float[] values = new float[voxels * samples.size()];
        for (int i = 0; i < samples.size(); i++) {
          System.arraycopy(extraImages.get(i).get(key), 0, values, i * voxels, voxels);
        }
        extras.put(key, scope.keep(toDevice(Tensors.fromFloats(values, imageShape), DType.FLOAT32)));
      }
      return new Batch(number, scope.keep(imageTensor), scope.keep(labelTensor), indices.clone(), List.copyOf(names),
          extras);
    }
  }

  private Tensor toDevice(Tensor host, DType dtype) {
    if (!device.isCuda()) {
      return host;
    }
    // Pinned host memory lets the copy to the GPU run asynchronously (libtorch's host allocator keeps the
    // pinned block alive until the copy is done).
    org.bytedeco.pytorch.Device d = new org.bytedeco.pytorch.Device(device.toString());
    return host.pin_memory().to(d, dtype.scalarType(), true, false, new org.bytedeco.pytorch.MemoryFormatOptional());
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (workers != null) {
      // Batches not started yet are cancelled; running ones finish, and every finished batch is freed.
      for (Future<Batch> f : ahead) {
        f.cancel(false);
      }
      workers.shutdown();
      try {
        if (!workers.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)) {
          workers.shutdownNow();
        }
      } catch (InterruptedException e) {
        workers.shutdownNow();
        Thread.currentThread().interrupt();
      }
      for (Future<Batch> f : ahead) {
        if (f.isDone() && !f.isCancelled()) {
          try {
            f.get().close();
          } catch (Exception ignored) {
            // a failed batch owns nothing
          }
        }
      }
      ahead.clear();
    }
  }
}
