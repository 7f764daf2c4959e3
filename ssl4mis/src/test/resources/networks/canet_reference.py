"""Python reference for the Java CANet, CANetTransformer and SEDiscriminator3D (torch 1.13).

Written for this project's parity test (CANetTest): module and attribute names are the ones the Java classes
register, so both sides produce the same state-dict keys in the same order. Run as a script it writes, for a
few small configurations, the seeded weights (``<name>.pth``) and one eval-mode forward (``<name>.io.pth``:
inputs and outputs) into the directory given as the first argument, and prints one line per network:

    net <TAB> name <TAB> parameter count <TAB> state-dict tensor count <TAB> output shapes
    meta <TAB> name <TAB> module path <TAB> _version        (one line per module, state_dict()._metadata order)
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- the VNet blocks (SSL4MIS vnet.py layout) -----------------------------------------------------------

def _norm(normalization, channels):
    if normalization == 'batchnorm':
        return [nn.BatchNorm3d(channels)]
    if normalization == 'groupnorm':
        return [nn.GroupNorm(16, channels)]
    if normalization == 'instancenorm':
        return [nn.InstanceNorm3d(channels)]
    if normalization == 'none':
        return []
    raise ValueError(normalization)


class ConvBlock(nn.Module):
    def __init__(self, n_stages, n_filters_in, n_filters_out, normalization='none'):
        super().__init__()
        layers = []
        for i in range(n_stages):
            layers.append(nn.Conv3d(n_filters_in if i == 0 else n_filters_out, n_filters_out, 3, padding=1))
            layers += _norm(normalization, n_filters_out)
            layers.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return self.conv(x)


class DownsamplingConvBlock(nn.Module):
    def __init__(self, n_filters_in, n_filters_out, stride=2, normalization='none'):
        super().__init__()
        layers = [nn.Conv3d(n_filters_in, n_filters_out, stride, padding=0, stride=stride)]
        layers += _norm(normalization, n_filters_out)
        layers.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return self.conv(x)


class UpsamplingDeconvBlock(nn.Module):
    def __init__(self, n_filters_in, n_filters_out, stride=2, normalization='none'):
        super().__init__()
        layers = [nn.ConvTranspose3d(n_filters_in, n_filters_out, stride, padding=0, stride=stride)]
        layers += _norm(normalization, n_filters_out)
        layers.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return self.conv(x)


def vnet_encoder_blocks(net, n_channels, n, normalization):
    """VNet's encoder modules, block_one .. block_five, set on `net` in the reference's registration order."""
    net.block_one = ConvBlock(1, n_channels, n, normalization)
    net.block_one_dw = DownsamplingConvBlock(n, 2 * n, normalization=normalization)
    net.block_two = ConvBlock(2, 2 * n, 2 * n, normalization)
    net.block_two_dw = DownsamplingConvBlock(2 * n, 4 * n, normalization=normalization)
    net.block_three = ConvBlock(3, 4 * n, 4 * n, normalization)
    net.block_three_dw = DownsamplingConvBlock(4 * n, 8 * n, normalization=normalization)
    net.block_four = ConvBlock(3, 8 * n, 8 * n, normalization)
    net.block_four_dw = DownsamplingConvBlock(8 * n, 16 * n, normalization=normalization)
    net.block_five = ConvBlock(3, 16 * n, 16 * n, normalization)


def vnet_decoder_blocks(net, n, normalization):
    """VNet's decoder modules, block_five_up .. block_nine (the output convolutions are the network's own)."""
    net.block_five_up = UpsamplingDeconvBlock(16 * n, 8 * n, normalization=normalization)
    net.block_six = ConvBlock(3, 8 * n, 8 * n, normalization)
    net.block_six_up = UpsamplingDeconvBlock(8 * n, 4 * n, normalization=normalization)
    net.block_seven = ConvBlock(3, 4 * n, 4 * n, normalization)
    net.block_seven_up = UpsamplingDeconvBlock(4 * n, 2 * n, normalization=normalization)
    net.block_eight = ConvBlock(2, 2 * n, 2 * n, normalization)
    net.block_eight_up = UpsamplingDeconvBlock(2 * n, n, normalization=normalization)
    net.block_nine = ConvBlock(1, n, n, normalization)


def vnet_encode(net, x):
    """The five encoder features [x1, x2, x3, x4, x5] (before any dropout)."""
    x1 = net.block_one(x)
    x2 = net.block_two(net.block_one_dw(x1))
    x3 = net.block_three(net.block_two_dw(x2))
    x4 = net.block_four(net.block_three_dw(x3))
    x5 = net.block_five(net.block_four_dw(x4))
    return [x1, x2, x3, x4, x5]


def vnet_decode(net, features):
    """x9: each upsampled level added to the encoder's, then block_nine (before any dropout)."""
    x1, x2, x3, x4, x5 = features
    x = net.block_five_up(x5) + x4
    x = net.block_six_up(net.block_six(x)) + x3
    x = net.block_seven_up(net.block_seven(x)) + x2
    x = net.block_eight_up(net.block_eight(x)) + x1
    return net.block_nine(x)


# ---- the transformer bottleneck (TransUNet-style, pre-norm) -----------------------------------------------

class Embeddings(nn.Module):
    def __init__(self, in_channels, grid_size, patch_size, hidden_size, dropout_rate):
        super().__init__()
        tokens = 1
        for g in grid_size:
            tokens *= g // patch_size
        self.patch_embeddings = nn.Conv3d(in_channels, hidden_size, patch_size, stride=patch_size)
        self.position_embeddings = nn.Parameter(torch.zeros(1, tokens, hidden_size))
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x):
        x = self.patch_embeddings(x)                 # (B, hidden, d, h, w)
        x = x.flatten(2).transpose(1, 2)             # (B, d*h*w, hidden)
        return self.dropout(x + self.position_embeddings)


class Attention(nn.Module):
    def __init__(self, hidden_size, num_heads, attention_dropout_rate, dropout_rate):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.attn_dropout = nn.Dropout(attention_dropout_rate)
        self.proj_dropout = nn.Dropout(dropout_rate)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]             # (B, heads, N, head_dim)
        weights = torch.matmul(q, k.transpose(-2, -1)) * (self.head_dim ** -0.5)
        weights = self.attn_dropout(weights.softmax(dim=-1))
        out = torch.matmul(weights, v).transpose(1, 2).reshape(b, n, c)
        return self.proj_dropout(self.proj(out))


class Mlp(nn.Module):
    def __init__(self, hidden_size, mlp_dim, dropout_rate):
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, mlp_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp_dim, hidden_size)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(self.act(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, hidden_size, num_heads, mlp_dim, dropout_rate, attention_dropout_rate):
        super().__init__()
        self.attention_norm = nn.LayerNorm(hidden_size, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads, attention_dropout_rate, dropout_rate)
        self.ffn_norm = nn.LayerNorm(hidden_size, eps=1e-6)
        self.ffn = Mlp(hidden_size, mlp_dim, dropout_rate)

    def forward(self, x):
        x = x + self.attn(self.attention_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class Encoder(nn.Module):
    def __init__(self, hidden_size, num_heads, mlp_dim, num_layers, dropout_rate, attention_dropout_rate):
        super().__init__()
        self.layer = nn.ModuleList([Block(hidden_size, num_heads, mlp_dim, dropout_rate, attention_dropout_rate)
                                    for _ in range(num_layers)])
        self.encoder_norm = nn.LayerNorm(hidden_size, eps=1e-6)

    def forward(self, x):
        for block in self.layer:
            x = block(x)
        return self.encoder_norm(x)


class CANetTransformer(nn.Module):
    def __init__(self, in_channels, grid_size, patch_size=1, hidden_size=256, num_heads=8, mlp_dim=1024,
                 num_layers=12, dropout_rate=0.1, attention_dropout_rate=0.0):
        super().__init__()
        self.token_grid = [g // patch_size for g in grid_size]
        self.embeddings = Embeddings(in_channels, grid_size, patch_size, hidden_size, dropout_rate)
        self.encoder = Encoder(hidden_size, num_heads, mlp_dim, num_layers, dropout_rate, attention_dropout_rate)

    def forward(self, x):
        tokens = self.encoder(self.embeddings(x))    # (B, N, hidden)
        b, n, c = tokens.shape
        return tokens.transpose(1, 2).reshape(b, c, *self.token_grid)


# ---- CANet --------------------------------------------------------------------------------------------------

class CANet(nn.Module):
    def __init__(self, n_channels=1, n_classes=2, n_filters=16, normalization='batchnorm', has_dropout=True,
                 img_size=(112, 112, 80), patch_size=1, hidden_size=256, num_heads=8, mlp_dim=1024, num_layers=12,
                 dropout_rate=0.1, attention_dropout_rate=0.0):
        super().__init__()
        self.has_dropout = has_dropout
        n = n_filters
        grid = [s // 16 for s in img_size]
        vnet_encoder_blocks(self, n_channels, n, normalization)
        self.transformer = CANetTransformer(16 * n, grid, patch_size, hidden_size, num_heads, mlp_dim, num_layers,
                                            dropout_rate, attention_dropout_rate)
        if hidden_size != 16 * n:
            self.restore_conv = nn.Conv3d(hidden_size, 16 * n, 1)
        if patch_size > 1:
            self.upsample = nn.Upsample(scale_factor=patch_size, mode='trilinear', align_corners=False)
        vnet_decoder_blocks(self, n, normalization)
        self.out_conv = nn.Conv3d(n, n_classes, 1, padding=0)
        self.out_conv2 = nn.Conv3d(n, n_classes, 1, padding=0)
        self.tanh = nn.Tanh()
        self.dropout = nn.Dropout3d(p=0.5)

    def encoder(self, x):
        x1, x2, x3, x4, x5 = vnet_encode(self, x)
        if self.has_dropout:
            x5 = self.dropout(x5)
        t = self.transformer(x5)
        if hasattr(self, 'restore_conv'):
            t = self.restore_conv(t)
        if hasattr(self, 'upsample'):
            t = self.upsample(t)
        return [x1, x2, x3, x4, t]

    def decoder(self, features):
        x9 = vnet_decode(self, features)
        if self.has_dropout:
            x9 = self.dropout(x9)
        return self.tanh(self.out_conv(x9)), self.out_conv2(x9)

    def forward(self, x, turnoff_drop=False):
        saved = self.has_dropout
        if turnoff_drop:
            self.has_dropout = False
        try:
            return self.decoder(self.encoder(x))
        finally:
            self.has_dropout = saved


# ---- SEDiscriminator3D ----------------------------------------------------------------------------------------

class SEBlock3D(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.avg_pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Sequential(nn.Linear(channels, hidden, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(hidden, channels, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c = x.shape[:2]
        w = self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1, 1)
        return x * w


class SEDiscriminator3D(nn.Module):
    def __init__(self, num_classes, ndf=64, n_channel=1, reduction=16, num_outputs=1):
        super().__init__()
        self.conv0 = nn.Conv3d(num_classes, ndf, 4, stride=2, padding=1)
        self.conv1 = nn.Conv3d(n_channel, ndf, 4, stride=2, padding=1)
        self.conv2 = nn.Conv3d(ndf, 2 * ndf, 4, stride=2, padding=1)
        self.conv3 = nn.Conv3d(2 * ndf, 4 * ndf, 4, stride=2, padding=1)
        self.conv4 = nn.Conv3d(4 * ndf, 8 * ndf, 4, stride=2, padding=1)
        self.se = SEBlock3D(8 * ndf, reduction)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.classifier = nn.Linear(8 * ndf, num_outputs)
        self.leaky_relu = nn.LeakyReLU(0.2)

    def forward(self, seg_map, image):
        x = self.leaky_relu(self.conv0(seg_map) + self.conv1(image))
        x = self.leaky_relu(self.conv2(x))
        x = self.leaky_relu(self.conv3(x))
        x = self.leaky_relu(self.conv4(x))
        x = self.avgpool(self.se(x)).flatten(1)
        return self.classifier(x)


# ---- fixtures -----------------------------------------------------------------------------------------------

def _perturb(net, gen):
    """Non-trivial values where the default initialisation is constant, so that parity sees every term."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm3d)):
                m.weight.add_(0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.add_(0.1 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, Embeddings):
                m.position_embeddings.normal_(0.0, 0.1, generator=gen)


def _record(out_dir, name, net, inputs, outputs):
    torch.save(net.state_dict(), os.path.join(out_dir, name + '.pth'))
    io = {}
    for i, x in enumerate(inputs):
        io['input_%d' % i] = x
    for i, y in enumerate(outputs):
        io['output_%d' % i] = y
    torch.save(io, os.path.join(out_dir, name + '.io.pth'))
    params = sum(p.numel() for p in net.parameters())
    shapes = ';'.join(','.join(str(s) for s in y.shape) for y in outputs)
    print('net', name, params, len(net.state_dict()), shapes, sep='\t')
    for path, meta in net.state_dict()._metadata.items():
        print('meta', name, path, meta.get('version'), sep='\t')


def _canet_fixture(out_dir, name, seed, input_shape, **kwargs):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    net = CANet(**kwargs)
    _perturb(net, gen)
    net.train()
    with torch.no_grad():
        for _ in range(3):  # batch-norm warm-up: running statistics away from 0 / 1
            net(torch.randn(input_shape, generator=gen))
    net.eval()
    x = torch.randn(input_shape, generator=gen)
    with torch.no_grad():
        out = net(x)
    _record(out_dir, name, net, [x], list(out))


def _disc_fixture(out_dir, name, seed, num_classes, n_channel, batch, size, **kwargs):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    net = SEDiscriminator3D(num_classes, n_channel=n_channel, **kwargs)
    net.eval()
    seg_map = torch.tanh(torch.randn((batch, num_classes) + size, generator=gen))
    image = torch.randn((batch, n_channel) + size, generator=gen)
    with torch.no_grad():
        out = net(seg_map, image)
    _record(out_dir, name, net, [seg_map, image], [out])


def main(out_dir):
    torch.set_num_threads(1)
    # depth 2, hidden 32 != 16 * n_filters = 64: the restore convolution; batch norm; 3x3x2 tokens
    _canet_fixture(out_dir, 'canet_depth2', 1234, (2, 1, 48, 48, 32), n_channels=1, n_classes=2, n_filters=4,
                   normalization='batchnorm', has_dropout=True, img_size=(48, 48, 32), patch_size=1, hidden_size=32,
                   num_heads=4, mlp_dim=64, num_layers=2)
    # depth 12 (the default), as the key list of the full model; 2x2x1 tokens
    _canet_fixture(out_dir, 'canet_depth12', 4321, (1, 1, 32, 32, 16), n_channels=1, n_classes=2, n_filters=4,
                   normalization='batchnorm', has_dropout=True, img_size=(32, 32, 16), patch_size=1, hidden_size=32,
                   num_heads=4, mlp_dim=64)
    # patch 2 (tokens 2x2x1, trilinear upsampling back to the 4x4x2 bottleneck), hidden = 16 * n_filters (no
    # restore convolution), no normalisation, three classes, two input channels. (Instance norm over such tiny
    # maps is ill-conditioned: float32 alone moves the outputs by ~2e-5 there, more than the parity tolerance.)
    _canet_fixture(out_dir, 'canet_patch2', 99, (1, 2, 64, 64, 32), n_channels=2, n_classes=3, n_filters=4,
                   normalization='none', has_dropout=False, img_size=(64, 64, 32), patch_size=2,
                   hidden_size=64, num_heads=2, mlp_dim=48, num_layers=2)
    # the discriminator at the LA patch size, one logit; and a smaller one with two logits and r = 4
    _disc_fixture(out_dir, 'sedisc_la', 7, 2, 1, 2, (112, 112, 80), ndf=4)
    _disc_fixture(out_dir, 'sedisc_two', 8, 3, 1, 1, (48, 64, 32), ndf=4, reduction=4, num_outputs=2)


if __name__ == '__main__':
    main(sys.argv[1])
