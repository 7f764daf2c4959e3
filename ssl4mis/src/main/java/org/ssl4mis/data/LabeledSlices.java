package org.ssl4mis.data;

import java.util.Map;
import java.util.TreeMap;

/**
 * How many training slices the 2D scripts treat as labelled: the reference's {@code patients_to_slices}
 * tables for ACDC and Prostate (the first slices of {@code train_slices.list} belong to the first patients),
 * plus a direct slice count for every other dataset.
 *
 * <p>Reference quirks: the lookup raises {@code KeyError} for any patient count not in the table, and its
 * {@code elif "Prostate":} is always true, so every root path without "ACDC" uses the Prostate table. Here
 * an unknown count or dataset is an error that lists the known counts and points to {@code --labeled_slices}.
 */
public final class LabeledSlices {
  private LabeledSlices() {}

  /** ACDC: labelled patients to slices. */
  public static final Map<Integer, Integer> ACDC = Map.of(3, 68, 7, 136, 14, 256, 21, 396, 28, 512, 35, 664, 140, 1312);
  /** Prostate: labelled patients to slices. */
  public static final Map<Integer, Integer> PROSTATE = Map.of(2, 27, 4, 53, 8, 120, 12, 179, 16, 256, 21, 312, 42, 623);

  /**
   * The labelled slice count for {@code patients} labelled patients of the dataset at {@code rootPath}
   * (chosen as the reference does: "ACDC" in the path, else Prostate), or {@code labeledSlices} when it is
   * positive (then the tables are not consulted).
   *
   * @throws IllegalArgumentException for a patient count the table does not know, naming the known ones
   */
  public static int resolve(String rootPath, int patients, int labeledSlices) {
    if (labeledSlices > 0) {
      return labeledSlices;
    }
    boolean acdc = rootPath.contains("ACDC");
    boolean prostate = rootPath.toLowerCase(java.util.Locale.ROOT).contains("prostate");
    if (!acdc && !prostate) {
      throw new IllegalArgumentException("--labeled_num " + patients + " counts patients, which the reference maps to"
          + " slices only for ACDC and Prostate; '" + rootPath + "' is neither: give --labeled_slices N instead");
    }
    Map<Integer, Integer> table = acdc ? ACDC : PROSTATE;
    Integer slices = table.get(patients);
    if (slices == null) {
      throw new IllegalArgumentException("--labeled_num " + patients + " is not in the " + (acdc ? "ACDC" : "Prostate")
          + " table (patients -> slices: " + new TreeMap<>(table) + "); give --labeled_slices N for another split");
    }
    return slices;
  }
}
