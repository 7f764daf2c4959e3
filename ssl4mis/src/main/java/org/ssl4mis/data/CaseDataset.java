package org.ssl4mis.data;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The cases of one split of a dataset, read through {@link VolumeReader} (validated) and optionally kept in
 * memory after the first read (the reference re-reads the HDF5 file each time; caching trades memory for
 * speed and is on by default for training).
 */
public final class CaseDataset {
  private final DatasetLayout layout;
  private final Split split;
  private final List<DatasetLayout.CaseFile> cases;
  private final int numClasses;
  private final AtomicReferenceArray<Volume> cache;

  private CaseDataset(DatasetLayout layout, Split split, List<DatasetLayout.CaseFile> cases, int numClasses, boolean cache) {
    this.layout = layout;
    this.split = split;
    this.cases = List.copyOf(cases);
    this.numClasses = numClasses;
    this.cache = cache ? new AtomicReferenceArray<>(cases.size()) : null;
  }

  /**
   * The first {@code limit} cases of {@code split} ({@link Integer#MAX_VALUE} for all).
   *
   * @param numClasses labels are checked to lie in {@code [0, numClasses)} as cases are read
   */
  public static CaseDataset open(DatasetLayout layout, Split split, int limit, int numClasses, boolean cache)
      throws DataException {
    return new CaseDataset(layout, split, layout.cases(split, limit), numClasses, cache);
  }

  public int size() {
    return cases.size();
  }

  public DatasetLayout.CaseFile caseFile(int index) {
    return cases.get(index);
  }

  public List<String> names() {
    List<String> out = new ArrayList<>();
    cases.forEach(c -> out.add(c.name()));
    return out;
  }

  public DatasetLayout layout() {
    return layout;
  }

  public Split split() {
    return split;
  }

  /** Case {@code index}, read (and validated) on first use. Thread-safe. */
  public Volume get(int index) throws DataException {
    if (cache != null) {
      Volume v = cache.get(index);
      if (v != null) {
        return v;
      }
    }
    Volume v = VolumeReader.read(cases.get(index), numClasses);
    if (cache != null) {
      cache.compareAndSet(index, null, v);
    }
    return v;
  }

  /** Reads every case once (validating all of them before training starts). */
  public void validateAll() throws DataException {
    for (int i = 0; i < cases.size(); i++) {
      get(i);
    }
  }
}
