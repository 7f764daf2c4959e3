/**
 * NIfTI-1 images ({@code .nii}, {@code .nii.gz}, and {@code .hdr}/{@code .img} pairs for reading) in pure Java,
 * read with the values, shape, zooms and affine nibabel gives.
 *
 * <p>{@link org.ssl4mis.io.nifti.Nifti} reads and writes; {@link org.ssl4mis.io.nifti.NiftiImage} holds an image
 * (voxels in the file's x-fastest order; {@link org.ssl4mis.io.nifti.NiftiArrays} converts to numpy's C order);
 * {@link org.ssl4mis.io.nifti.NiftiHeader} is the parsed header with nibabel's affines;
 * {@link org.ssl4mis.io.nifti.NiftiDataType} lists the voxel types; every malformed file gives a
 * {@link org.ssl4mis.io.nifti.NiftiFormatException} naming the file and the problem.
 */
package org.ssl4mis.io.nifti;
