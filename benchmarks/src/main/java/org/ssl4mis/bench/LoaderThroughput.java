package org.ssl4mis.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.ssl4mis.data.Augment;
import org.ssl4mis.data.BatchLoader;
import org.ssl4mis.data.CaseDataset;
import org.ssl4mis.data.DatasetLayout;
import org.ssl4mis.data.Split;
import org.ssl4mis.data.TwoStreamBatchSampler;
import org.ssl4mis.runtime.Device;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * Training batches per second of the data loader, as the training engine builds it: the two-stream sampler,
 * the reference transform ({@code RandomGenerator} in 2D, {@code RandomCrop} + {@code RandomRotFlip} in 3D),
 * collation into tensors on worker threads. {@code benchmarks/python/loader_throughput.py} measures the
 * reference's {@code DataLoader} on the same files.
 *
 * <p>Usage: {@code LoaderThroughput ROOT BATCH LABELED_BS PATCH(e.g. 256,256) WORKERS BATCHES [cache=true]}
 */
public final class LoaderThroughput {
  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    int batch = Integer.parseInt(args[1]);
    int labeledBs = Integer.parseInt(args[2]);
    int[] patch = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
    int workers = Integer.parseInt(args[4]);
    int batches = Integer.parseInt(args[5]);
    boolean cache = args.length <= 6 || Boolean.parseBoolean(args[6]);
    NativeRuntime.seed(1337);
    DatasetLayout layout = DatasetLayout.detect(root);
    CaseDataset train = CaseDataset.open(layout, Split.TRAIN, Integer.MAX_VALUE, 0, cache);
    int labeled = Math.max(labeledBs, train.size() / 5);
    TwoStreamBatchSampler sampler = new TwoStreamBatchSampler(TwoStreamBatchSampler.range(0, labeled),
        TwoStreamBatchSampler.range(labeled, train.size()), batch, batch - labeledBs, NativeRuntime.random("sampler"));
    BatchLoader.Transform t = patch.length == 2 ? (v, r) -> Augment.randomGenerator(v, patch, r)
        : (v, r) -> Augment.randomRotFlip(Augment.randomCrop(v, patch, r), r);
    try (BatchLoader loader = new BatchLoader(train, sampler.forever(), t, 1337, workers, Math.max(2, 2 * workers), Device.CPU)) {
      int warmup = Math.max(2, batches / 10);
      for (int i = 0; i < warmup; i++) {
        loader.next().close();
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < batches; i++) {
        loader.next().close();
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "java\t%s\tbatch %d\tpatch %s\tworkers %d\tcache %s\t%.2f batches/s%n", root.getFileName(),
          batch, Arrays.toString(patch), workers, cache, batches / seconds);
    }
  }
}
