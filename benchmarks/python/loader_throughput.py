"""Training batches per second of a PyTorch DataLoader doing what SSL4MIS's loaders do, on the same files.

Usage: python3 benchmarks/python/loader_throughput.py ROOT BATCH LABELED_BS PATCH WORKERS BATCHES

2D (ACDC layout): BaseDataSets(split="train") + RandomGenerator(patch) (random_rot_flip or random_rotate,
then scipy zoom, order 0), TwoStreamBatchSampler, DataLoader(num_workers=WORKERS, pin_memory=False).
3D (LA layout): LAHeart-style reading + RandomCrop + RandomRotFlip + ToTensor.
The reference module imports cv2/torchvision/augmentations (not installable here), so the same operations
are written out below with h5py, numpy and scipy.ndimage, in the reference's order.
"""
import itertools
import os
import random
import sys
import time

import h5py
import numpy as np
import torch
from scipy import ndimage
from scipy.ndimage import zoom
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.sampler import Sampler


def random_rot_flip(image, label):
    k = np.random.randint(0, 4)
    image = np.rot90(image, k)
    label = np.rot90(label, k)
    axis = np.random.randint(0, 2)
    return np.flip(image, axis=axis).copy(), np.flip(label, axis=axis).copy()


def random_rotate(image, label):
    angle = np.random.randint(-20, 20)
    return (ndimage.rotate(image, angle, order=0, reshape=False),
            ndimage.rotate(label, angle, order=0, reshape=False))


class Slices2D(Dataset):
    def __init__(self, root, patch):
        self.root, self.patch = root, patch
        with open(os.path.join(root, "train_slices.list")) as f:
            self.names = [l.strip() for l in f if l.strip()]

    def __len__(self):
        return len(self.names)

    def __getitem__(self, idx):
        with h5py.File(os.path.join(self.root, "data", "slices", self.names[idx] + ".h5"), "r") as h:
            image, label = h["image"][:], h["label"][:]
        if random.random() < 0.5:
            image, label = random_rot_flip(image, label)
        else:
            image, label = random_rotate(image, label)
        x, y = image.shape
        image = zoom(image, (self.patch[0] / x, self.patch[1] / y), order=0)
        label = zoom(label, (self.patch[0] / x, self.patch[1] / y), order=0)
        return {"image": torch.from_numpy(image.astype(np.float32)).unsqueeze(0),
                "label": torch.from_numpy(label.astype(np.uint8))}


class Volumes3D(Dataset):
    def __init__(self, root, patch):
        self.root, self.patch = root, patch
        with open(os.path.join(root, "train.list")) as f:
            self.names = [l.strip() for l in f if l.strip()]

    def __len__(self):
        return len(self.names)

    def __getitem__(self, idx):
        path = os.path.join(self.root, "2018LA_Seg_Training Set", self.names[idx], "mri_norm2.h5")
        with h5py.File(path, "r") as h:
            image, label = h["image"][:], h["label"][:]
        o = self.patch
        if label.shape[0] <= o[0] or label.shape[1] <= o[1] or label.shape[2] <= o[2]:
            p = [(max((o[i] - label.shape[i]) // 2 + 3, 0),) * 2 for i in range(3)]
            image = np.pad(image, p, mode="constant", constant_values=0)
            label = np.pad(label, p, mode="constant", constant_values=0)
        w, h, d = image.shape
        w1, h1, d1 = np.random.randint(0, w - o[0]), np.random.randint(0, h - o[1]), np.random.randint(0, d - o[2])
        image = image[w1:w1 + o[0], h1:h1 + o[1], d1:d1 + o[2]]
        label = label[w1:w1 + o[0], h1:h1 + o[1], d1:d1 + o[2]]
        image, label = random_rot_flip(image, label)
        return {"image": torch.from_numpy(image.reshape(1, *image.shape).astype(np.float32)),
                "label": torch.from_numpy(label).long()}


class TwoStreamBatchSampler(Sampler):
    def __init__(self, primary, secondary, batch_size, secondary_batch_size):
        self.primary, self.secondary = primary, secondary
        self.secondary_batch_size = secondary_batch_size
        self.primary_batch_size = batch_size - secondary_batch_size

    def __iter__(self):
        primary_iter = np.random.permutation(self.primary)
        secondary_iter = itertools.chain.from_iterable(np.random.permutation(self.secondary) for _ in itertools.count())
        grouper = lambda it, n: zip(*[iter(it)] * n)
        return (a + b for a, b in zip(grouper(primary_iter, self.primary_batch_size),
                                      grouper(secondary_iter, self.secondary_batch_size)))

    def __len__(self):
        return len(self.primary) // self.primary_batch_size


def main():
    root, batch, labeled_bs, patch, workers, batches = sys.argv[1:7]
    batch, labeled_bs, workers, batches = int(batch), int(labeled_bs), int(workers), int(batches)
    patch = [int(p) for p in patch.split(",")]
    ds = Slices2D(root, patch) if len(patch) == 2 else Volumes3D(root, patch)
    labeled = max(labeled_bs, len(ds) // 5)
    sampler = TwoStreamBatchSampler(list(range(labeled)), list(range(labeled, len(ds))), batch, batch - labeled_bs)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=workers, pin_memory=False,
                        worker_init_fn=lambda w: random.seed(1337 + w), persistent_workers=workers > 0)
    warmup = max(2, batches // 10)
    seen = 0
    t0 = None
    while seen < warmup + batches:
        for _ in loader:
            seen += 1
            if seen == warmup:
                t0 = time.perf_counter()
            if seen >= warmup + batches:
                break
    seconds = time.perf_counter() - t0
    print("python\t%s\tbatch %d\tpatch %s\tworkers %d\t%.2f batches/s" % (os.path.basename(root), batch, patch, workers,
                                                                        batches / seconds))


if __name__ == "__main__":
    main()
