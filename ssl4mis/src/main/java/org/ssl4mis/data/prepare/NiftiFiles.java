package org.ssl4mis.data.prepare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.ssl4mis.data.DataException;

/**
 * Finds NIfTI files from a folder or a glob and pairs images with labels by file name.
 *
 * <p><b>Finding.</b> A folder stands for the NIfTI files directly inside it ({@code *.nii}, {@code *.nii.gz},
 * {@code *.hdr}, {@code *.hdr.gz}; the {@code .img} halves of pairs are reached through their {@code .hdr}); a
 * NIfTI file stands for itself.
 * Anything else is a glob in Java's {@code glob:} syntax ({@code *} within a name, {@code **} across folders,
 * {@code ?}, {@code [..]}, {@code {a,b}}) over paths, matched below its longest leading part without glob
 * characters; matches that are not NIfTI files are ignored.
 *
 * <p><b>Pairing.</b> A file's stem is its name without {@code .nii.gz}/{@code .nii}/{@code .hdr.gz}/{@code .hdr}.
 * An image's key is its stem without a trailing {@code _0000} (nnU-Net's channel), {@code _image} or
 * {@code _img}; a label's key is its stem without a trailing {@code _gt}, {@code _seg}, {@code _label},
 * {@code _labels}, {@code _mask} or {@code _lbl} (suffixes in any letter case). Images and labels with equal
 * keys form a case named by the key. A file matched as both image and label counts as a label.
 */
public final class NiftiFiles {
  private static final String[] EXTENSIONS = {".nii.gz", ".nii", ".hdr.gz", ".hdr"};
  private static final String[] IMAGE_SUFFIXES = {"_0000", "_image", "_img"};
  private static final String[] LABEL_SUFFIXES = {"_gt", "_seg", "_labels", "_label", "_mask", "_lbl"};
  private static final int LISTED = 10;

  private NiftiFiles() {}

  /** One image with its label. */
  public record CasePair(String name, Path image, Path label) {}

  /** Whether a file name is a NIfTI image this project reads (not the {@code .img} half of a pair). */
  public static boolean isNiftiName(String name) {
    return stemLength(name) >= 0;
  }

  /** The name without its NIfTI extension, or null when it has none. */
  public static String stem(String name) {
    int n = stemLength(name);
    return n < 0 ? null : name.substring(0, n);
  }

  private static int stemLength(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (String ext : EXTENSIONS) {
      if (lower.endsWith(ext) && lower.length() > ext.length()) {
        return name.length() - ext.length();
      }
    }
    return -1;
  }

  /**
   * The NIfTI files a folder or glob names, sorted by path.
   *
   * @param what what the files are, for messages ("--images")
   * @throws DataException when the folder does not exist or nothing matches
   */
  public static List<Path> find(String folderOrGlob, String what) throws DataException {
    Path asPath = null;
    try {
      asPath = Path.of(folderOrGlob);
    } catch (java.nio.file.InvalidPathException e) {
      // a glob with characters paths cannot hold; handled below
    }
    if (asPath != null && Files.isDirectory(asPath)) {
      List<Path> files = list(asPath, 1, p -> isNiftiName(p.getFileName().toString()));
      if (files.isEmpty()) {
        throw new DataException(asPath, what + " folder holds no NIfTI files (.nii, .nii.gz, .hdr)");
      }
      return files;
    }
    if (asPath != null && Files.isRegularFile(asPath) && isNiftiName(asPath.getFileName().toString())) {
      return List.of(asPath);
    }
    if (!hasGlobCharacters(folderOrGlob)) {
      throw new DataException(Path.of(folderOrGlob), what + ": no such folder");
    }
    String normalized = folderOrGlob.replace('\\', '/');
    int firstGlob = firstGlobCharacter(normalized);
    int slash = normalized.lastIndexOf('/', firstGlob);
    Path base = slash < 0 ? Path.of(".") : Path.of(slash == 0 ? "/" : normalized.substring(0, slash));
    if (!Files.isDirectory(base)) {
      throw new DataException(base, what + " glob '" + folderOrGlob + "': its folder does not exist");
    }
    String rest = normalized.substring(slash + 1);
    int depth = rest.contains("**") ? Integer.MAX_VALUE : (int) rest.chars().filter(c -> c == '/').count() + 1;
    String pattern = base.toAbsolutePath().normalize().toString().replaceAll("/$", "") + "/" + rest;
    PathMatcher matcher;
    try {
      matcher = FileSystems.getDefault().getPathMatcher("glob:" + pattern);
    } catch (IllegalArgumentException e) {
      throw new DataException(base, what + " glob '" + folderOrGlob + "' is malformed: " + e.getMessage());
    }
    List<Path> files = list(base, depth, p -> matcher.matches(p.toAbsolutePath().normalize())
        && isNiftiName(p.getFileName().toString()));
    if (files.isEmpty()) {
      throw new DataException(base, what + " glob '" + folderOrGlob + "' matches no NIfTI files");
    }
    return files;
  }

  private static boolean hasGlobCharacters(String s) {
    return firstGlobCharacter(s) < s.length();
  }

  private static int firstGlobCharacter(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == '{') {
        return i;
      }
    }
    return s.length();
  }

  private static List<Path> list(Path base, int depth, java.util.function.Predicate<Path> keep) throws DataException {
    try (Stream<Path> s = Files.walk(base, depth)) {
      return s.filter(Files::isRegularFile).filter(keep).sorted(Comparator.comparing(Path::toString)).toList();
    } catch (IOException | UncheckedIOException e) {
      throw new DataException(base, "cannot be listed: " + e.getMessage(), e);
    }
  }

  /**
   * Pairs images with labels by key.
   *
   * @throws DataException listing every unpaired file, or naming two files with the same key
   */
  public static List<CasePair> pair(List<Path> images, List<Path> labels) throws DataException {
    java.util.Set<Path> labelSet = new java.util.HashSet<>();
    for (Path l : labels) {
      labelSet.add(l.toAbsolutePath().normalize());
    }
    Map<String, Path> imageByKey = byKey(images.stream().filter(p -> !labelSet.contains(p.toAbsolutePath().normalize()))
        .toList(), IMAGE_SUFFIXES, "image");
    Map<String, Path> labelByKey = byKey(labels, LABEL_SUFFIXES, "label");
    List<CasePair> pairs = new ArrayList<>();
    List<String> lonelyImages = new ArrayList<>();
    for (Map.Entry<String, Path> e : imageByKey.entrySet()) {
      Path label = labelByKey.get(e.getKey());
      if (label == null) {
        lonelyImages.add(e.getValue().toString());
      } else {
        pairs.add(new CasePair(e.getKey(), e.getValue(), label));
      }
    }
    List<String> lonelyLabels = labelByKey.entrySet().stream().filter(e -> !imageByKey.containsKey(e.getKey()))
        .map(e -> e.getValue().toString()).toList();
    if (!lonelyImages.isEmpty() || !lonelyLabels.isEmpty()) {
      Path where = !lonelyImages.isEmpty() ? Path.of(lonelyImages.get(0)).getParent()
          : Path.of(lonelyLabels.get(0)).getParent();
      StringBuilder sb = new StringBuilder("unpaired files (images and labels pair by name, see --help):");
      if (!lonelyImages.isEmpty()) {
        sb.append(' ').append(lonelyImages.size()).append(" image(s) without a label: ").append(shortList(lonelyImages));
      }
      if (!lonelyLabels.isEmpty()) {
        sb.append(lonelyImages.isEmpty() ? " " : "; ").append(lonelyLabels.size()).append(" label(s) without an image: ")
            .append(shortList(lonelyLabels));
      }
      throw new DataException(where == null ? Path.of(".") : where, sb.toString());
    }
    if (pairs.isEmpty()) {
      throw new DataException(images.isEmpty() ? Path.of(".") : images.get(0).getParent(), "no image/label pairs");
    }
    return pairs;
  }

  private static String shortList(List<String> names) {
    List<String> shown = names.subList(0, Math.min(LISTED, names.size()));
    return String.join(", ", shown) + (names.size() > LISTED ? ", ... and " + (names.size() - LISTED) + " more" : "");
  }

  private static Map<String, Path> byKey(List<Path> files, String[] suffixes, String kind) throws DataException {
    Map<String, Path> out = new TreeMap<>();
    for (Path p : files) {
      String key = key(stem(p.getFileName().toString()), suffixes);
      Path before = out.put(key, p);
      if (before != null) {
        throw new DataException(p, "this " + kind + " and " + before + " both pair as case '" + key + "'");
      }
    }
    return out;
  }

  /** The stem without one of the suffixes (case-insensitive), if that leaves something. */
  static String key(String stem, String[] suffixes) {
    String lower = stem.toLowerCase(Locale.ROOT);
    for (String s : suffixes) {
      if (lower.endsWith(s) && lower.length() > s.length()) {
        return stem.substring(0, stem.length() - s.length());
      }
    }
    return stem;
  }
}
