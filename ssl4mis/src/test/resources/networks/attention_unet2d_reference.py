"""A 2D attention U-Net with deep supervision in plain PyTorch 1.13, the reference for the Java
AttentionUNet2D parity test: SSL4MIS's 2D UNet encoder and up blocks (same member names, so the same
state-dict keys), additive attention gates (Oktay et al., MIDL 2018) on the skips, and heads at every
decoder scale resized to the input size.

Usage: python3 attention_unet2d_reference.py OUT_DIR
For each configuration NAME it writes OUT_DIR/NAME.pth (state dict) and OUT_DIR/NAME.io.pth (input,
outputs, attention maps) and prints: NAME <tab> state-dict tensors <tab> parameter elements.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.conv_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU(),
            nn.Dropout(p),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU())

    def forward(self, x):
        return self.conv_conv(x)


class DownBlock(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), ConvBlock(cin, cout, p))

    def forward(self, x):
        return self.maxpool_conv(x)


class UpBlock(nn.Module):
    """SSL4MIS's up block in its bilinear form: 1x1 convolution, x2 bilinear (align_corners=True)."""

    def __init__(self, c_low, c_skip, cout):
        super().__init__()
        self.conv1x1 = nn.Conv2d(c_low, c_skip, 1)
        self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
        self.conv = ConvBlock(2 * c_skip, cout, 0.0)

    def forward(self, low, skip):
        return self.conv(torch.cat([skip, self.up(self.conv1x1(low))], dim=1))


class Encoder(nn.Module):
    def __init__(self, in_chns, ft, dropout):
        super().__init__()
        self.in_conv = ConvBlock(in_chns, ft[0], dropout[0])
        self.down1 = DownBlock(ft[0], ft[1], dropout[1])
        self.down2 = DownBlock(ft[1], ft[2], dropout[2])
        self.down3 = DownBlock(ft[2], ft[3], dropout[3])
        self.down4 = DownBlock(ft[3], ft[4], dropout[4])

    def forward(self, x):
        x0 = self.in_conv(x)
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        x3 = self.down3(x2)
        return [x0, x1, x2, x3, self.down4(x3)]


class AttentionGate(nn.Module):
    """Skip mapped with kernel = stride = 2 onto the gating grid, gating signal by 1x1, ReLU, 1x1 to one
    channel, sigmoid, bilinear back to the skip's grid, product with the skip."""

    def __init__(self, c_skip, c_gate):
        super().__init__()
        inter = max(c_skip // 2, 1)
        self.theta = nn.Conv2d(c_skip, inter, 2, stride=2, bias=False)
        self.phi = nn.Conv2d(c_gate, inter, 1)
        self.psi = nn.Conv2d(inter, 1, 1)

    def forward(self, x, g):
        t = self.theta(x)
        p = self.phi(g)
        if p.shape[2:] != t.shape[2:]:
            p = F.interpolate(p, size=t.shape[2:], mode='bilinear', align_corners=False)
        a = torch.sigmoid(self.psi(F.relu(t + p)))
        a = F.interpolate(a, size=x.shape[2:], mode='bilinear', align_corners=False)
        return x * a, a


class Decoder(nn.Module):
    def __init__(self, ft, class_num):
        super().__init__()
        self.gate1 = AttentionGate(ft[3], ft[4])
        self.up1 = UpBlock(ft[4], ft[3], ft[3])
        self.gate2 = AttentionGate(ft[2], ft[3])
        self.up2 = UpBlock(ft[3], ft[2], ft[2])
        self.gate3 = AttentionGate(ft[1], ft[2])
        self.up3 = UpBlock(ft[2], ft[1], ft[1])
        self.gate4 = AttentionGate(ft[0], ft[1])
        self.up4 = UpBlock(ft[1], ft[0], ft[0])
        self.out_conv = nn.Conv2d(ft[0], class_num, 3, padding=1)
        self.out_conv_dp1 = nn.Conv2d(ft[1], class_num, 1)
        self.out_conv_dp2 = nn.Conv2d(ft[2], class_num, 1)
        self.out_conv_dp3 = nn.Conv2d(ft[3], class_num, 1)

    def forward(self, f, size):
        def resize(t):
            return F.interpolate(t, size=size, mode='bilinear', align_corners=False)

        s3, a3 = self.gate1(f[3], f[4])
        d = self.up1(f[4], s3)
        dp3 = resize(self.out_conv_dp3(d))
        s2, a2 = self.gate2(f[2], d)
        d = self.up2(d, s2)
        dp2 = resize(self.out_conv_dp2(d))
        s1, a1 = self.gate3(f[1], d)
        d = self.up3(d, s1)
        dp1 = resize(self.out_conv_dp1(d))
        s0, a0 = self.gate4(f[0], d)
        d = self.up4(d, s0)
        return [self.out_conv(d), dp1, dp2, dp3], [a0, a1, a2, a3]


class AttentionUNet2D(nn.Module):
    def __init__(self, in_chns, class_num, ft=(16, 32, 64, 128, 256), dropout=(0.05, 0.1, 0.2, 0.3, 0.5)):
        super().__init__()
        self.encoder = Encoder(in_chns, ft, dropout)
        self.decoder = Decoder(ft, class_num)

    def forward(self, x):
        return self.decoder(self.encoder(x), x.shape[2:])


def plain(t):
    return t.detach().contiguous().clone()


def build(name, out_dir, seed, in_chns, class_num, ft, dropout, shape):
    torch.manual_seed(seed)
    net = AttentionUNet2D(in_chns, class_num, ft, dropout)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(shape) * 1.5 + 0.5)
    net.eval()
    x = torch.randn(shape)
    io = {'input': x}
    with torch.no_grad():
        logits, attention = net(x)
    for k, t in enumerate(logits):
        io['out_%d' % k] = plain(t)
    for k, t in enumerate(attention):
        io['attention_%d' % k] = plain(t)
    torch.save(net.state_dict(), os.path.join(out_dir, name + '.pth'))
    if all(p == 0 for p in dropout):
        # without dropout the training-mode pass (batch statistics) is deterministic too
        net.train()
        with torch.no_grad():
            logits, _ = net(x)
        for k, t in enumerate(logits):
            io['train_%d' % k] = plain(t)
    torch.save(io, os.path.join(out_dir, name + '.io.pth'))
    print('%s\t%d\t%d' % (name, len(net.state_dict()), sum(p.numel() for p in net.parameters())))


def main():
    torch.set_num_threads(1)
    out_dir = sys.argv[1]
    build('default_dropout', out_dir, 21, 1, 4, (4, 8, 8, 12, 16), (0.05, 0.1, 0.2, 0.3, 0.5), (2, 1, 32, 48))
    build('no_dropout', out_dir, 22, 3, 2, (3, 5, 6, 7, 9), (0.0, 0.0, 0.0, 0.0, 0.0), (2, 3, 32, 32))


if __name__ == '__main__':
    main()
