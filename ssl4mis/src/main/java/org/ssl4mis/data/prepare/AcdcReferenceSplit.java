package org.ssl4mis.data.prepare;

import java.util.List;

/**
 * The patients of SSL4MIS's ACDC lists ({@code data/ACDC/train.list}, {@code val.list}, {@code test.list}), in
 * the lists' order: 70 training, 10 validation and 20 test patients of the 100 ACDC training patients, each
 * listed with its two frames {@code patientNNN_frame01} and {@code patientNNN_frame02}. The official ACDC
 * challenge split is not part of the reference code; this is the split its published lists use.
 */
final class AcdcReferenceSplit {
  private AcdcReferenceSplit() {}

  static final List<Integer> TRAIN = List.of(99, 38, 50, 100, 58, 21, 49, 20, 72, 40, 60, 89, 4, 56, 98, 96, 31, 18,
      94, 47, 48, 55, 97, 74, 43, 41, 63, 37, 95, 54, 26, 88, 32, 69, 6, 71, 12, 73, 61, 17, 25, 10, 57, 29, 51, 5, 36,
      46, 62, 34, 76, 92, 70, 77, 67, 3, 91, 16, 14, 44, 42, 90, 53, 27, 35, 86, 23, 9, 79, 15);

  static final List<Integer> VAL = List.of(28, 85, 82, 87, 19, 30, 78, 45, 2, 39);

  static final List<Integer> TEST = List.of(11, 13, 84, 33, 93, 22, 68, 24, 83, 81, 80, 1, 7, 66, 8, 65, 75, 64, 59,
      52);

  /** The reference's name of a patient, e.g. {@code patient007}. */
  static String patient(int number) {
    return String.format("patient%03d", number);
  }
}
