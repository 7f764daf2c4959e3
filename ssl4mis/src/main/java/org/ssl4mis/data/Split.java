package org.ssl4mis.data;

import java.util.Locale;

/** The parts of a dataset the reference scripts read. */
public enum Split {
  TRAIN,
  VAL,
  TEST;

  public static Split parse(String s) {
    return switch (s.strip().toLowerCase(Locale.ROOT)) {
      case "train" -> TRAIN;
      case "val", "valid", "validation" -> VAL;
      case "test" -> TEST;
      default -> throw new IllegalArgumentException("split '" + s + "' is not train, val or test");
    };
  }
}
