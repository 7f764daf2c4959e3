"""Reads the NIfTI files of `ssl4mis test` back with nibabel and checks them against the HDF5 cases.

usage: check_nifti_outputs.py OUT_DIR LABEL_SUFFIX LABEL_DTYPE S0,S1,S2 CASE=H5 [CASE=H5 ...]

S0,S1,S2 is the spacing along the HDF5 array's axes; SimpleITK-style files hold the array transposed, so the
expected zooms are reversed and the affine is diag(-S2, -S1, S0). Prints one line per case:
`case md5-of-the-prediction-in-C-order-as-int64` for the Java side to compare.
"""
import hashlib
import sys

import h5py
import nibabel as nib
import numpy as np

out_dir, label_suffix, label_dtype, spacing = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = [float(v) for v in spacing.split(",")]
for pair in sys.argv[5:]:
    case, h5 = pair.split("=", 1)
    with h5py.File(h5, "r") as f:
        image = f["image"][:]
        label = f["label"][:]
    files = {"img": out_dir + "/" + case + "_img.nii.gz", "gt": out_dir + "/" + case + label_suffix + ".nii.gz",
             "pred": out_dir + "/" + case + "_pred.nii.gz"}
    arrays = {}
    for kind, path in files.items():
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
        assert data.shape == image.shape[::-1], (path, data.shape, image.shape)
        zooms = tuple(float(z) for z in img.header.get_zooms())
        assert np.allclose(zooms, s[::-1]), (path, zooms, s)
        assert np.allclose(img.affine, np.diag([-s[2], -s[1], s[0], 1.0])), (path, img.affine)
        assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1, path
        arrays[kind] = data
    assert arrays["img"].dtype == np.float32, arrays["img"].dtype
    assert np.array_equal(arrays["img"], image.T.astype(np.float32)), case + ": image differs"
    assert arrays["gt"].dtype == np.dtype(label_dtype), (arrays["gt"].dtype, label_dtype)
    assert np.array_equal(arrays["gt"], label.T.astype(label_dtype)), case + ": label differs"
    assert arrays["pred"].dtype == np.dtype(label_dtype), (arrays["pred"].dtype, label_dtype)
    pred = np.ascontiguousarray(arrays["pred"].T).astype("<i8")
    print(case, hashlib.md5(pred.tobytes()).hexdigest())
