package org.ssl4mis.data.prepare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.io.hdf5.Hdf5File;
import org.ssl4mis.io.hdf5.WriteOptions;
import org.ssl4mis.io.nifti.NiftiArrays;
import org.ssl4mis.tensor.DType;

/**
 * Writes prepared cases in the folder layouts the reference's data loaders read. Every file is written under a
 * temporary name and renamed into place, so an interrupted run leaves no half-written file under a real name.
 * Datasets are gzip-compressed (h5py's {@code compression="gzip"}, level 4).
 */
public final class LayoutWriter {
  /** The LA layout's case folder parent, as UA-MT names it (with the space). */
  public static final String LA_FOLDER = "2018LA_Seg_Training Set";
  /** The LA layout's per-case file. */
  public static final String LA_FILE = "mri_norm2.h5";

  private LayoutWriter() {}

  /** {@code <root>/data/<case>.h5}: {@code image} float32 and {@code label} uint8, shape {@code (z, y, x)}. */
  public static Path writeAcdcVolume(Path root, PreparedCase c) throws IOException {
    Path file = root.resolve("data").resolve(c.name() + ".h5");
    long[] zyx = NiftiArrays.reversedLong(c.shape());
    writeH5(file, c.image(), c.label(), zyx);
    return file;
  }

  /**
   * {@code <root>/data/slices/<case>_slice_<z>.h5} for every z from 0: {@code image} float32 and {@code label}
   * uint8, shape {@code (y, x)}.
   *
   * @return the slice names ({@code <case>_slice_<z>}), z ascending
   */
  public static List<String> writeAcdcSlices(Path root, PreparedCase c) throws IOException {
    Path dir = root.resolve("data").resolve("slices");
    long[] yx = {c.shape()[1], c.shape()[0]};
    List<String> names = new ArrayList<>();
    for (int z = 0; z < c.slices(); z++) {
      String name = c.name() + "_slice_" + z;
      writeH5(dir.resolve(name + ".h5"), c.imageSlice(z), c.labelSlice(z), yx);
      names.add(name);
    }
    return names;
  }

  /**
   * {@code <root>/2018LA_Seg_Training Set/<case>/mri_norm2.h5}: {@code image} float32 and {@code label} uint8,
   * shape {@code (x, y, z)} in C order, as UA-MT's LA files (read with pynrrd, x first) hold them.
   */
  public static Path writeLaCase(Path root, PreparedCase c) throws IOException {
    Path file = root.resolve(LA_FOLDER).resolve(c.name()).resolve(LA_FILE);
    int[] s = c.shape();
    long[] xyz = {s[0], s[1], s[2]};
    writeH5(file, NiftiArrays.toCOrder(c.image(), s), NiftiArrays.toCOrder(c.label(), s), xyz);
    return file;
  }

  /** A list file: one name per line, each line ending in a newline, as the reference's lists. */
  public static void writeList(Path file, List<String> names) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (String n : names) {
      sb.append(n).append('\n');
    }
    Path tmp = temporary(file);
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(tmp, sb, StandardCharsets.UTF_8);
      moveIntoPlace(tmp, file);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static void writeH5(Path file, float[] image, byte[] label, long[] shape) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path tmp = temporary(file);
    try {
      try (Hdf5File h5 = Hdf5File.create(tmp)) {
        h5.write("image", image, shape, WriteOptions.gzip());
        h5.write("label", label, shape, DType.UINT8, WriteOptions.gzip());
      }
      moveIntoPlace(tmp, file);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static Path temporary(Path file) {
    return file.resolveSibling("." + file.getFileName() + ".part");
  }

  private static void moveIntoPlace(Path tmp, Path file) throws IOException {
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
