package org.ssl4mis.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one reader of the dataset layouts the reference scripts use: which list file names the cases of a
 * split and where each case's HDF5 file lives.
 *
 * <ul>
 *   <li>{@link Kind#ACDC} ({@code BaseDataSets}): train = {@code train_slices.list} naming
 *       {@code data/slices/<case>.h5}; val = {@code val.list}, test = {@code test.list}, naming volumes
 *       {@code data/<case>.h5}.
 *   <li>{@link Kind#LA} (UA-MT's {@code LAHeart}): {@code train.list} and {@code test.list} naming
 *       {@code 2018LA_Seg_Training Set/<case>/mri_norm2.h5}; validation uses the test list, as UA-MT does.
 *   <li>{@link Kind#BRATS} ({@code BraTS2019}): {@code train.txt}, {@code val.txt}, {@code test.txt} naming
 *       {@code data/<case>.h5}; a list line may carry more comma-separated fields, of which the first is the
 *       case. Reference quirk: its {@code BraTS2019(split='test')} reads {@code val.txt} — that is this
 *       class's {@link Split#VAL}, which the 3D training scripts validate on.
 * </ul>
 */
public final class DatasetLayout {

  /** The supported layouts. */
  public enum Kind {
    ACDC,
    LA,
    BRATS
  }

  /** One case: its name in the list and its file. */
  public record CaseFile(String name, Path file) {}

  private final Kind kind;
  private final Path root;

  private DatasetLayout(Kind kind, Path root) {
    this.kind = kind;
    this.root = root;
  }

  public static DatasetLayout of(Kind kind, Path root) {
    return new DatasetLayout(kind, root);
  }

  /**
   * The layout of {@code root}, recognised by its list files: {@code train_slices.list} (ACDC),
   * {@code 2018LA_Seg_Training Set} (LA) or {@code train.txt} (BraTS).
   *
   * @throws DataException when none is recognised, saying what was looked for
   */
  public static DatasetLayout detect(Path root) throws DataException {
    if (!Files.isDirectory(root)) {
      throw new DataException(root, "is not a folder");
    }
    if (Files.exists(root.resolve("train_slices.list"))) {
      return new DatasetLayout(Kind.ACDC, root);
    }
    if (Files.isDirectory(root.resolve("2018LA_Seg_Training Set"))) {
      return new DatasetLayout(Kind.LA, root);
    }
    if (Files.exists(root.resolve("train.txt"))) {
      return new DatasetLayout(Kind.BRATS, root);
    }
    throw new DataException(root, "not a known dataset layout: expected train_slices.list (ACDC), a"
        + " '2018LA_Seg_Training Set' folder (LA) or train.txt (BraTS2019)");
  }

  /** Parses {@code acdc}, {@code la} or {@code brats} (case-insensitive). */
  public static Kind parseKind(String s) {
    return switch (s.strip().toLowerCase(Locale.ROOT)) {
      case "acdc", "prostate" -> Kind.ACDC;
      case "la", "la2018", "laheart" -> Kind.LA;
      case "brats", "brats2019" -> Kind.BRATS;
      default -> throw new IllegalArgumentException("dataset layout '" + s + "' is not acdc, la or brats");
    };
  }

  public Kind kind() {
    return kind;
  }

  public Path root() {
    return root;
  }

  /** Whether the training samples of this layout are 2D slices. */
  public boolean isTwoDimensional() {
    return kind == Kind.ACDC;
  }

  /** The list file a split reads. */
  public Path listFile(Split split) {
    return root.resolve(switch (kind) {
      case ACDC -> switch (split) {
        case TRAIN -> "train_slices.list";
        case VAL -> "val.list";
        case TEST -> "test.list";
      };
      case LA -> split == Split.TRAIN ? "train.list" : "test.list";
      case BRATS -> switch (split) {
        case TRAIN -> "train.txt";
        case VAL -> "val.txt";
        case TEST -> "test.txt";
      };
    });
  }

  /** Where a case's file lives for a split. */
  public Path caseFile(Split split, String name) {
    return switch (kind) {
      case ACDC -> split == Split.TRAIN ? root.resolve("data").resolve("slices").resolve(name + ".h5")
          : root.resolve("data").resolve(name + ".h5");
      case LA -> root.resolve("2018LA_Seg_Training Set").resolve(name).resolve("mri_norm2.h5");
      case BRATS -> root.resolve("data").resolve(name + ".h5");
    };
  }

  /** The cases of a split, in list order. */
  public List<CaseFile> cases(Split split) throws DataException {
    return cases(split, Integer.MAX_VALUE);
  }

  /**
   * The first {@code limit} cases of a split (the reference's {@code num}), in list order; every named file
   * must exist.
   *
   * @throws DataException naming the list file: missing, empty, a blank line inside it, or a missing case file
   */
  public List<CaseFile> cases(Split split, int limit) throws DataException {
    Path list = listFile(split);
    List<String> lines;
    try {
      lines = Files.readAllLines(list, StandardCharsets.UTF_8);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new DataException(list, "the " + kind + " " + split.name().toLowerCase(Locale.ROOT)
          + " list does not exist");
    } catch (IOException e) {
      throw new DataException(list, "cannot be read: " + e.getMessage(), e);
    }
    while (!lines.isEmpty() && lines.getLast().isBlank()) {
      lines.removeLast(); // a trailing newline is fine
    }
    List<CaseFile> out = new ArrayList<>();
    for (int i = 0; i < lines.size() && out.size() < limit; i++) {
      String name = lines.get(i).strip();
      if (kind == Kind.BRATS) {
        name = name.split(",", 2)[0].strip();
      }
      if (name.isEmpty()) {
        throw new DataException(list, "line " + (i + 1) + " is blank; every line names a case");
      }
      Path file = caseFile(split, name);
      if (!Files.isRegularFile(file)) {
        throw new DataException(list, "line " + (i + 1) + " names case '" + name + "' but " + file + " does not exist");
      }
      out.add(new CaseFile(name, file));
    }
    if (out.isEmpty()) {
      throw new DataException(list, "names no cases");
    }
    return out;
  }

  @Override
  public String toString() {
    return kind + " dataset at " + root;
  }
}
