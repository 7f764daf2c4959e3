"""Times SSL4MIS's networks with Python PyTorch for the cases of NetworkBenchmark.java.

Usage: python3 benchmarks/python/network_timing.py --ssl4mis PATH/TO/SSL4MIS [--threads N] [--repeats R]

PATH/TO/SSL4MIS is a checkout of github.com/HiLab-git/SSL4MIS (its code/ folder is imported; nothing of
it is part of this project). Prints one tab-separated line per case and mode: case, mode, median ms, min ms.
"""
import argparse
import statistics
import sys
import time

import torch


def build(name, in_ch):
    if name == "unet":
        from networks.unet import UNet
        return UNet(in_chns=in_ch, class_num=4)
    if name == "vnet":
        from networks.vnet import VNet
        return VNet(n_channels=in_ch, n_classes=2, normalization="batchnorm", has_dropout=True)
    raise SystemExit("unknown network " + name)


def first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ssl4mis", required=True)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--cases", default="unet:1:1x256x256,unet:24:1x256x256,vnet:2:1x112x112x80")
    a = p.parse_args()
    sys.path.insert(0, a.ssl4mis.rstrip("/") + "/code")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print("# torch", torch.__version__, "threads", torch.get_num_threads())
    for case in a.cases.split(","):
        name, batch, dims = case.split(":")
        shape = [int(batch)] + [int(d) for d in dims.split("x")]
        net = build(name, shape[1])
        x = torch.randn(*shape)

        def eval_forward():
            net.eval()
            with torch.inference_mode():
                first(net(x)).sum().item()

        def train_forward():
            net.train()
            first(net(x)).sum().item()

        def train_forward_backward():
            net.train()
            net.zero_grad()
            loss = first(net(x)).square().mean()
            loss.backward()
            loss.item()

        for mode, fn in (("evalForward", eval_forward), ("trainForward", train_forward),
                         ("trainForwardBackward", train_forward_backward)):
            med, best = timed(fn, a.warmup, a.repeats)
            print("%s\t%s\t%.1f\t%.1f" % (case, mode, med, best), flush=True)


if __name__ == "__main__":
    main()
