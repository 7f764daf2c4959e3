/**
 * Data preparation: NIfTI volumes to the HDF5 layouts the reference's data loaders read.
 *
 * <p>{@link org.ssl4mis.data.prepare.AcdcPreparer} reproduces SSL4MIS's ACDC preprocessing from the raw ACDC
 * release; {@link org.ssl4mis.data.prepare.NiftiPairPreparer} does the same, or UA-MT's LA preparation, for any
 * image/label pairs ({@link org.ssl4mis.data.prepare.NiftiFiles} finds and pairs them). Cases are read and
 * normalised by {@link org.ssl4mis.data.prepare.PreparedCase}, written by
 * {@link org.ssl4mis.data.prepare.LayoutWriter}, split by {@link org.ssl4mis.data.prepare.SplitPlan}. Problems
 * with the input are {@link org.ssl4mis.data.DataException}s naming the file.
 *
 * <p>Array order: NIfTI stores x fastest; the ACDC layout stores that as C-order {@code (z, y, x)} arrays, as the
 * reference (SimpleITK's {@code GetArrayFromImage}) does, and slices along z; the LA layout stores C-order
 * {@code (x, y, z)} arrays, as UA-MT's files (pynrrd's x-first arrays) do.
 */
package org.ssl4mis.data.prepare;
