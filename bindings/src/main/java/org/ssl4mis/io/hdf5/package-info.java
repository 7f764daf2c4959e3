/**
 * Reading and writing the HDF5 files of SSL4MIS (h5py-written {@code image}/{@code label}/{@code scribble}
 * datasets of ACDC, LA and BraTS) over the HDF5 C library of the JavaCPP presets ({@code org.bytedeco:hdf5}).
 *
 * <p>{@link org.ssl4mis.io.hdf5.Hdf5File} opens, lists, describes ({@link org.ssl4mis.io.hdf5.DatasetInfo}),
 * reads and writes whole datasets as {@link org.ssl4mis.io.hdf5.Hdf5Array}s, primitive arrays, or
 * {@link java.lang.foreign.MemorySegment}s; {@link org.ssl4mis.io.hdf5.WriteOptions} chooses chunking and gzip as
 * h5py does. Failures are {@link org.ssl4mis.io.hdf5.Hdf5Exception}s naming the file, the dataset and the
 * problem.
 *
 * <p>The HDF5 library is not thread-safe; the package serialises all its native calls on one global lock
 * ({@link org.ssl4mis.io.hdf5.Hdf5File#nativeLock()}), so any thread may call it at any time.
 */
package org.ssl4mis.io.hdf5;
