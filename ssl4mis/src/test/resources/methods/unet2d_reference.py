# A compact re-statement of SSL4MIS's 2D UNet (networks/unet.py) for the method-step tests: the same layers,
# the same state-dict names, widths read from the checkpoint. The decoder's up blocks are the bilinear ones
# (1x1 convolution then align_corners upsampling), as the reference's Decoder builds them. Dropout rates are
# arguments (the tests use 0 so that both sides compute the same deterministic forward pass).
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class _Conv(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.conv_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU(), nn.Dropout(p),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU())

    def forward(self, x):
        return self.conv_conv(x)


class _Down(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), _Conv(cin, cout, p))

    def forward(self, x):
        return self.maxpool_conv(x)


class _Up(nn.Module):
    def __init__(self, c1, c2, cout):
        super().__init__()
        self.conv1x1 = nn.Conv2d(c1, c2, 1)
        self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
        self.conv = _Conv(2 * c2, cout, 0.0)

    def forward(self, low, skip):
        return self.conv(torch.cat([skip, self.up(self.conv1x1(low))], dim=1))


class _Encoder(nn.Module):
    def __init__(self, cin, w, p):
        super().__init__()
        self.in_conv = _Conv(cin, w[0], p[0])
        self.down1 = _Down(w[0], w[1], p[1])
        self.down2 = _Down(w[1], w[2], p[2])
        self.down3 = _Down(w[2], w[3], p[3])
        self.down4 = _Down(w[3], w[4], p[4])

    def forward(self, x):
        f0 = self.in_conv(x)
        f1 = self.down1(f0)
        f2 = self.down2(f1)
        f3 = self.down3(f2)
        return [f0, f1, f2, f3, self.down4(f3)]


class _Decoder(nn.Module):
    def __init__(self, w, classes):
        super().__init__()
        self.up1 = _Up(w[4], w[3], w[3])
        self.up2 = _Up(w[3], w[2], w[2])
        self.up3 = _Up(w[2], w[1], w[1])
        self.up4 = _Up(w[1], w[0], w[0])
        self.out_conv = nn.Conv2d(w[0], classes, 3, padding=1)

    def forward(self, f):
        x = self.up1(f[4], f[3])
        x = self.up2(x, f[2])
        x = self.up3(x, f[1])
        return self.out_conv(self.up4(x, f[0]))


class UNet(nn.Module):
    def __init__(self, cin, classes, widths, dropout=(0.0, 0.0, 0.0, 0.0, 0.0)):
        super().__init__()
        self.encoder = _Encoder(cin, widths, dropout)
        self.decoder = _Decoder(widths, classes)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class _PyramidDecoder(_Decoder):
    """Decoder_URPC with its training-time head perturbations (dropout, FeatureDropout, FeatureNoise) left out,
    i.e. Decoder_DS: a 3x3 head after up1, up2 and up3, resized to the input by nearest interpolation."""

    def __init__(self, w, classes):
        super().__init__(w, classes)
        self.out_conv_dp4 = nn.Conv2d(w[4], classes, 3, padding=1)  # created, never used, as in the reference
        self.out_conv_dp3 = nn.Conv2d(w[3], classes, 3, padding=1)
        self.out_conv_dp2 = nn.Conv2d(w[2], classes, 3, padding=1)
        self.out_conv_dp1 = nn.Conv2d(w[1], classes, 3, padding=1)

    def forward(self, f, shape):
        x = self.up1(f[4], f[3])
        dp3 = F.interpolate(self.out_conv_dp3(x), shape)
        x = self.up2(x, f[2])
        dp2 = F.interpolate(self.out_conv_dp2(x), shape)
        x = self.up3(x, f[1])
        dp1 = F.interpolate(self.out_conv_dp1(x), shape)
        x = self.up4(x, f[0])
        return self.out_conv(x), dp1, dp2, dp3


class UNetURPC(nn.Module):
    """UNet_URPC without its head perturbations: (dp0, dp1, dp2, dp3)."""

    def __init__(self, cin, classes, widths, dropout=(0.0, 0.0, 0.0, 0.0, 0.0)):
        super().__init__()
        self.encoder = _Encoder(cin, widths, dropout)
        self.decoder = _PyramidDecoder(widths, classes)

    def forward(self, x):
        return self.decoder(self.encoder(x), x.shape[2:])


def unet_widths(sd):
    """The five feature widths of a UNet state dict."""
    w = [sd['encoder.in_conv.conv_conv.0.weight'].shape[0]]
    for k in range(1, 5):
        w.append(sd['encoder.down%d.maxpool_conv.1.conv_conv.0.weight' % k].shape[0])
    return w


def load_unet(path, network=None):
    """A UNet (or `network`, e.g. UNetURPC) in training mode with the weights of a state-dict file, its shape read
    from the file."""
    sd = torch.load(path, map_location='cpu')
    cin = sd['encoder.in_conv.conv_conv.0.weight'].shape[1]
    classes = sd['decoder.out_conv.weight'].shape[0]
    net = (network or UNet)(cin, classes, unet_widths(sd))
    net.load_state_dict(sd)
    net.train()
    return net


# ---- the scripts' shared pieces, restated from utils/losses.py and utils/ramps.py -------------------------

def dice_loss(probs, label, n_classes):
    """losses.DiceLoss(n)(probs, label.unsqueeze(1)): mean over classes of 1 - (2I + s) / (Z + Y + s)."""
    total = 0.0
    for c in range(n_classes):
        score = probs[:, c]
        target = (label == c).float()
        inter = torch.sum(score * target)
        y = torch.sum(target * target)
        z = torch.sum(score * score)
        total += 1 - (2 * inter + 1e-5) / (z + y + 1e-5)
    return total / n_classes


def supervised(logits, label, lb, n_classes):
    """(loss_ce, loss_dice) on the labelled head, as every 2D script computes them."""
    ce = F.cross_entropy(logits[:lb], label[:lb].long())
    dice = dice_loss(torch.softmax(logits, dim=1)[:lb], label[:lb], n_classes)
    return ce, dice


def consistency_weight(consistency, rampup, iter_num):
    """consistency * sigmoid_rampup(iter_num // 150, rampup)."""
    epoch = iter_num // 150
    if rampup == 0:
        return consistency * 1.0
    phase = 1.0 - np.clip(epoch, 0.0, rampup) / rampup
    return consistency * float(np.exp(-5.0 * phase * phase))


def emit(values):
    print(json.dumps({k: float(v) for k, v in values.items()}))
