"""Whole training runs with Python PyTorch, following the SSL4MIS scripts' loops, for WholeRunBenchmark.java.

Usage:
  /usr/bin/python3 benchmarks/python/whole_run.py --ssl4mis PATH/TO/SSL4MIS --case uamt2d --root_path DIR \
      [--iterations 200] [--threads 2] [--workers 4]
  ... --case mt3d --root_path LA_DIR [--iterations 20]

PATH/TO/SSL4MIS is a checkout of github.com/HiLab-git/SSL4MIS: its code/ folder provides the networks
(networks/unet.py, networks/vnet.py), the 3D transforms (dataloaders/brats2019.py), the losses and the ramps,
so the loop runs the reference's own parts; nothing of it is part of this project. Its 2D dataset module needs
OpenCV, torchvision and matplotlib, which Debian's Python lacks, so the 2D dataset, RandomGenerator and
TwoStreamBatchSampler are re-stated here with the same operations (scipy.ndimage rotate/zoom with order 0,
NumPy permutations). The loop follows train_uncertainty_aware_mean_teacher_2D.py
(uamt2d) and train_mean_teacher_3D.py (mt3d) on the CPU, without validation (the benchmark switches it off on
both sides) and without TensorBoard (the Java side writes its event files; Python's writer is not installed).

Prints one JSON line: per-iteration seconds, and the peak memory of the process tree (the main process's
VmHWM plus its DataLoader workers' proportional set size, polled every iteration from /proc; see
tree_memory_bytes).
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch


def forward_flops(model, shape):
    """Floating-point operations of one forward pass of `model` on a (1, *shape) input: 2 * multiply-adds of
    every convolution, transposed convolution and linear layer (the layers that dominate; norms, activations and
    pooling are left out), counted with forward hooks."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Conv3d)):
            per_output = module.in_channels // module.groups
            for k in module.kernel_size:
                per_output *= k
            total[0] += 2 * output.numel() * per_output
        elif isinstance(module, (torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)):
            per_input = module.out_channels // module.groups
            for k in module.kernel_size:
                per_input *= k
            total[0] += 2 * inputs[0].numel() * per_input
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2 * output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros((1, 1) + tuple(shape)))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total[0]


def _status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def tree_memory_bytes():
    """The training's memory now: this process's peak resident set (VmHWM, as the Java side reports its own)
    plus the current proportional set (Pss: shared pages split between the processes that map them, so the
    pages a worker shares with this process after fork are not counted twice) of every descendant (DataLoader
    workers are processes). Polled once per iteration: the main process's peak is exact (the kernel keeps it),
    the workers' share is their footprint at the polls."""
    me = os.getpid()
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                parts = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(parts[1]), []).append(int(pid))
        except OSError:
            continue
    total = _status_kib(me, "VmHWM")
    stack = list(children.get(me, []))
    while stack:
        pid = stack.pop()
        try:
            total += _pss_kib(pid)
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return total * 1024


class AcdcSlices(torch.utils.data.Dataset):
    """BaseDataSets(split="train"): train_slices.list, data/slices/<name>.h5, with RandomGenerator(patch)."""

    def __init__(self, base_dir, patch):
        import h5py
        self.h5py = h5py
        self.base_dir = base_dir
        self.patch = patch
        with open(os.path.join(base_dir, "train_slices.list")) as f:
            self.names = [line.strip() for line in f if line.strip()]

    def __len__(self):
        return len(self.names)

    def __getitem__(self, idx):
        from scipy import ndimage
        with self.h5py.File(os.path.join(self.base_dir, "data", "slices", self.names[idx] + ".h5"), "r") as h5f:
            image, label = h5f["image"][:], h5f["label"][:]
        if random.random() < 0.5:  # random_rot_flip
            k = np.random.randint(0, 4)
            axis = np.random.randint(0, 2)
            image = np.flip(np.rot90(image, k), axis=axis).copy()
            label = np.flip(np.rot90(label, k), axis=axis).copy()
        else:  # random_rotate
            angle = np.random.randint(-20, 20)
            image = ndimage.rotate(image, angle, order=0, reshape=False)
            label = ndimage.rotate(label, angle, order=0, reshape=False)
        x, y = image.shape
        image = ndimage.zoom(image, (self.patch[0] / x, self.patch[1] / y), order=0)
        label = ndimage.zoom(label, (self.patch[0] / x, self.patch[1] / y), order=0)
        return {"image": torch.from_numpy(image.astype(np.float32)).unsqueeze(0),
                "label": torch.from_numpy(label.astype(np.uint8))}


class TwoStreamBatchSampler(torch.utils.data.Sampler):
    """The reference's sampler: each batch = a slice of one permutation of the labelled indices + a slice of an
    endless chain of permutations of the unlabelled ones."""

    def __init__(self, primary, secondary, batch_size, secondary_batch_size):
        self.primary, self.secondary = primary, secondary
        self.secondary_batch_size = secondary_batch_size
        self.primary_batch_size = batch_size - secondary_batch_size

    def __iter__(self):
        import itertools
        once = iter(np.random.permutation(self.primary))
        forever = itertools.chain.from_iterable(np.random.permutation(self.secondary) for _ in itertools.count())
        while True:
            p = list(itertools.islice(once, self.primary_batch_size))
            if len(p) < self.primary_batch_size:
                return
            yield p + list(itertools.islice(forever, self.secondary_batch_size))

    def __len__(self):
        return len(self.primary) // self.primary_batch_size


class LAHeart(torch.utils.data.Dataset):
    """The LA layout (2018LA_Seg_Training Set/<case>/mri_norm2.h5, train.list) read as the 3D scripts read BraTS."""

    def __init__(self, base_dir, transform):
        import h5py
        self.h5py = h5py
        self.base_dir = base_dir
        with open(os.path.join(base_dir, "train.list")) as f:
            self.names = [line.strip() for line in f if line.strip()]
        self.transform = transform

    def __len__(self):
        return len(self.names)

    def __getitem__(self, idx):
        path = os.path.join(self.base_dir, "2018LA_Seg_Training Set", self.names[idx], "mri_norm2.h5")
        with self.h5py.File(path, "r") as h5f:
            sample = {"image": h5f["image"][:], "label": h5f["label"][:].astype(np.uint8)}
        return self.transform(sample)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ssl4mis", required=True)
    p.add_argument("--case", choices=["uamt2d", "mt3d"], required=True)
    p.add_argument("--root_path", required=True)
    p.add_argument("--iterations", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--workers", type=int, default=4, help="DataLoader workers (the scripts: 4)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--memory_format", choices=["contiguous", "channels_last"], default="contiguous",
                   help="contiguous: as the scripts; channels_last: model.to(memory_format=...) and inputs alike, "
                        "the layout the Java side trains in by default")
    a = p.parse_args()
    sys.path.insert(0, a.ssl4mis.rstrip("/") + "/code")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)

    from torch.nn import CrossEntropyLoss
    from torch.nn import functional as F
    from torch.utils.data import DataLoader
    from utils import losses, ramps

    if a.case == "uamt2d":
        from networks.unet import UNet
        iterations = a.iterations or 200
        batch_size, labeled_bs, num_classes, patch = 8, 4, 4, [128, 128]
        model = UNet(in_chns=1, class_num=num_classes)  # net_factory(net_type="unet")
        ema_model = UNet(in_chns=1, class_num=num_classes)
        db_train = AcdcSlices(a.root_path, patch)
        labeled = max(labeled_bs, len(db_train) // 4)
    else:
        from dataloaders.brats2019 import RandomCrop, RandomRotFlip, ToTensor
        from networks.vnet import VNet
        iterations = a.iterations or 20
        batch_size, labeled_bs, num_classes, patch = 4, 2, 2, [112, 112, 80]

        def vnet():  # net_factory_3d(net_type="vnet")
            return VNet(n_channels=1, n_classes=num_classes, normalization="batchnorm", has_dropout=True)
        model, ema_model = vnet(), vnet()
        steps = [RandomRotFlip(), RandomCrop(patch), ToTensor()]

        def compose(sample):
            for t in steps:
                sample = t(sample)
            return sample
        db_train = LAHeart(a.root_path, compose)
        labeled = max(labeled_bs, len(db_train) // 4)
    for param in ema_model.parameters():
        param.detach_()
    layout = None
    if a.memory_format == "channels_last":
        layout = torch.channels_last if a.case == "uamt2d" else torch.channels_last_3d
        model.to(memory_format=layout)
        ema_model.to(memory_format=layout)

    def laid(x):
        return x if layout is None else x.contiguous(memory_format=layout)

    def worker_init_fn(worker_id):
        random.seed(a.seed + worker_id)

    sampler = TwoStreamBatchSampler(list(range(labeled)), list(range(labeled, len(db_train))), batch_size,
                                    batch_size - labeled_bs)
    loader = DataLoader(db_train, batch_sampler=sampler, num_workers=a.workers, pin_memory=False,
                        worker_init_fn=worker_init_fn)
    base_lr, ema_decay, consistency, rampup = 0.01, 0.99, 0.1, 200.0
    model.train()
    ema_model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)
    ce_loss = CrossEntropyLoss()
    dice_loss = losses.DiceLoss(num_classes)

    def update_ema_variables(global_step):
        alpha = min(1 - 1 / (global_step + 1), ema_decay)
        for ema_param, param in zip(ema_model.parameters(), model.parameters()):
            ema_param.data.mul_(alpha).add_(param.data, alpha=1 - alpha)

    # One iteration's work: the student's forward and backward (backward ~ 2x forward) on the whole batch, and
    # the teacher's forward passes (uamt2d: the unlabelled part once, then T/2 = 4 passes over it repeated twice).
    unlabeled_bs = batch_size - labeled_bs
    teacher_samples = unlabeled_bs + (4 * 2 * unlabeled_bs if a.case == "uamt2d" else 0)
    flops_per_sample = forward_flops(model, patch)
    flops_per_iteration = flops_per_sample * (3 * batch_size + teacher_samples)
    stamps = [time.perf_counter()]
    peak = tree_memory_bytes()
    iter_num = 0
    while iter_num < iterations:
        for sampled_batch in loader:
            volume_batch, label_batch = sampled_batch["image"], sampled_batch["label"]
            unlabeled = volume_batch[labeled_bs:]
            ema_inputs = unlabeled + torch.clamp(torch.randn_like(unlabeled) * 0.1, -0.2, 0.2)
            outputs = model(laid(volume_batch))
            outputs_soft = torch.softmax(outputs, dim=1)
            consistency_weight = consistency * ramps.sigmoid_rampup(iter_num // 150, rampup)
            loss_ce = ce_loss(outputs[:labeled_bs], label_batch[:labeled_bs].long())
            loss_dice = dice_loss(outputs_soft[:labeled_bs], label_batch[:labeled_bs].unsqueeze(1))
            supervised_loss = 0.5 * (loss_dice + loss_ce)
            if a.case == "uamt2d":
                with torch.no_grad():
                    ema_output = ema_model(laid(ema_inputs))
                T = 8
                _, _, w, h = unlabeled.shape
                volume_batch_r = unlabeled.repeat(2, 1, 1, 1)
                stride = volume_batch_r.shape[0] // 2
                preds = torch.zeros([stride * T, num_classes, w, h])
                for i in range(T // 2):
                    noisy = volume_batch_r + torch.clamp(torch.randn_like(volume_batch_r) * 0.1, -0.2, 0.2)
                    with torch.no_grad():
                        preds[2 * stride * i:2 * stride * (i + 1)] = ema_model(laid(noisy))
                preds = F.softmax(preds, dim=1).reshape(T, stride, num_classes, w, h).mean(dim=0)
                uncertainty = -1.0 * torch.sum(preds * torch.log(preds + 1e-6), dim=1, keepdim=True)
                consistency_dist = losses.softmax_mse_loss(outputs[labeled_bs:], ema_output)
                threshold = (0.75 + 0.25 * ramps.sigmoid_rampup(iter_num, iterations)) * np.log(2)
                mask = (uncertainty < threshold).float()
                consistency_loss = torch.sum(mask * consistency_dist) / (2 * torch.sum(mask) + 1e-16)
            else:
                with torch.no_grad():
                    ema_output_soft = torch.softmax(ema_model(laid(ema_inputs)), dim=1)
                consistency_loss = torch.mean((outputs_soft[labeled_bs:] - ema_output_soft) ** 2)
            loss = supervised_loss + consistency_weight * consistency_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            update_ema_variables(iter_num)
            lr_ = base_lr * (1.0 - iter_num / iterations) ** 0.9
            for group in optimizer.param_groups:
                group["lr"] = lr_
            iter_num += 1
            loss.item()  # the scripts log loss.item() every iteration
            stamps.append(time.perf_counter())
            peak = max(peak, tree_memory_bytes())
            if iter_num >= iterations:
                break
    seconds = [b - a_ for a_, b in zip(stamps, stamps[1:])]
    print(json.dumps({"case": a.case, "side": "python", "memory": "main VmHWM + workers Pss", "memory_format": a.memory_format, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "workers": a.workers, "iterations": iterations,
                      "seconds_per_iteration": seconds, "peak_rss_bytes": peak,
                      "forward_flops_per_sample": flops_per_sample, "flops_per_iteration": flops_per_iteration}))


if __name__ == "__main__":
    main()
