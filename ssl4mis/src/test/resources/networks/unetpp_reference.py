"""UNet++ (Zhou et al., DLMIA 2018 / IEEE TMI 2020) in plain PyTorch 1.13, the reference for the Java
UNetPlusPlus parity test.

Member names follow the authors' public PyTorch code (conv<i>_<j> nodes with conv1/bn1/conv2/bn2, heads
final1..final4 or final), so the state-dict keys are the ones Java must produce.

Usage: python3 unetpp_reference.py OUT_DIR
For each configuration NAME it writes OUT_DIR/NAME.pth (the state dict) and OUT_DIR/NAME.io.pth (input and
outputs) and prints one line per configuration: NAME <tab> state-dict tensors <tab> parameter elements.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DEPTH = 4


class VGGBlock(nn.Module):
    """Twice (3x3 convolution, batch norm, ReLU)."""

    def __init__(self, cin, cmid, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cmid, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(cmid)
        self.conv2 = nn.Conv2d(cmid, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)))


class NestedUNet(nn.Module):
    def __init__(self, in_chns, class_num, widths=(32, 64, 128, 256, 512), deep_supervision=True):
        super().__init__()
        self.deep_supervision = deep_supervision
        w = list(widths)
        # node X(i, j): column j left to right, depth i top to bottom
        for j in range(DEPTH + 1):
            for i in range(DEPTH + 1 - j):
                if j == 0:
                    cin = in_chns if i == 0 else w[i - 1]
                else:
                    cin = j * w[i] + w[i + 1]
                setattr(self, 'conv%d_%d' % (i, j), VGGBlock(cin, w[i], w[i]))
        if deep_supervision:
            for j in range(1, DEPTH + 1):
                setattr(self, 'final%d' % j, nn.Conv2d(w[0], class_num, 1))
        else:
            self.final = nn.Conv2d(w[0], class_num, 1)

    def node(self, i, j):
        return getattr(self, 'conv%d_%d' % (i, j))

    def grid(self, x, level):
        g = {(0, 0): self.node(0, 0)(x)}
        for d in range(1, level + 1):
            g[d, 0] = self.node(d, 0)(F.max_pool2d(g[d - 1, 0], 2))
            for j in range(1, d + 1):
                i = d - j
                up = F.interpolate(g[i + 1, j - 1], scale_factor=2, mode='bilinear', align_corners=True)
                g[i, j] = self.node(i, j)(torch.cat([g[i, k] for k in range(j)] + [up], dim=1))
        return g

    def deep_outputs(self, x):
        """Main first: final4(X04), final3(X03), final2(X02), final1(X01)."""
        g = self.grid(x, DEPTH)
        return [getattr(self, 'final%d' % j)(g[0, j]) for j in range(DEPTH, 0, -1)]

    def accurate(self, x):
        if not self.deep_supervision:
            return self.final(self.grid(x, DEPTH)[0, DEPTH])
        g = self.grid(x, DEPTH)
        total = self.final1(g[0, 1])
        for j in range(2, DEPTH + 1):
            total = total + getattr(self, 'final%d' % j)(g[0, j])
        return total / DEPTH

    def pruned(self, x, level):
        g = self.grid(x, level)
        head = getattr(self, 'final%d' % level) if self.deep_supervision else self.final
        return head(g[0, level])


def randomise_batch_norm(net):
    """Non-trivial affine parameters, so the parity check sees them."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)


def warm_up(net, shape):
    net.train()
    with torch.no_grad():
        for _ in range(3):
            x = torch.randn(shape) * 1.5 + 0.5
            if net.deep_supervision:
                net.deep_outputs(x)
            else:
                net.accurate(x)


def plain(t):
    return t.detach().contiguous().clone()


def build(name, out_dir, seed, in_chns, class_num, widths, deep_supervision, shape):
    torch.manual_seed(seed)
    net = NestedUNet(in_chns, class_num, widths, deep_supervision)
    randomise_batch_norm(net)
    warm_up(net, shape)
    net.eval()
    x = torch.randn(shape)
    io = {'input': x}
    with torch.no_grad():
        if deep_supervision:
            for k, o in enumerate(net.deep_outputs(x)):
                io['eval_ds_%d' % k] = plain(o)
            io['accurate'] = plain(net.accurate(x))
            for level in range(1, DEPTH + 1):
                io['fast_%d' % level] = plain(net.pruned(x, level))
        else:
            io['accurate'] = plain(net.accurate(x))
    # the state dict before the training-mode pass below changes the running statistics
    torch.save(net.state_dict(), os.path.join(out_dir, name + '.pth'))
    net.train()
    with torch.no_grad():
        # batch statistics: deterministic, since the network has no dropout
        if deep_supervision:
            for k, o in enumerate(net.deep_outputs(x)):
                io['train_ds_%d' % k] = plain(o)
        else:
            io['train'] = plain(net.accurate(x))
    torch.save(io, os.path.join(out_dir, name + '.io.pth'))
    tensors = len(net.state_dict())
    params = sum(p.numel() for p in net.parameters())
    print('%s\t%d\t%d' % (name, tensors, params))


def main():
    torch.set_num_threads(1)
    out_dir = sys.argv[1]
    build('ds', out_dir, 11, 2, 3, (4, 8, 8, 12, 16), True, (2, 2, 32, 48))
    build('plain', out_dir, 12, 1, 2, (3, 5, 6, 7, 9), False, (2, 1, 32, 32))


if __name__ == '__main__':
    main()
