"""SSL4MIS's Effi_UNet (networks/efficientunet.py + networks/efficient_encoder.py) rebuilt on plain PyTorch
1.13, the reference for the Java EfficientUNet tests.

efficientnet_pytorch (0.7.1, what SSL4MIS's unpinned `pip install efficientnet_pytorch` gives) is not
installed here, so its EfficientNet is re-implemented below with the same module names, the same order of
registration (hence the same state-dict keys), the same static "same" padding computed at construction
for the variant's resolution, the same drop connect and the same absence of a custom initialisation.

Usage: python3 efficient_unet_reference.py OUT_DIR
Writes, per configuration NAME, OUT_DIR/NAME.pth (state dict) and OUT_DIR/NAME.io.pth (input, encoder
features, outputs), and prints one line per configuration: NAME <tab> state-dict tensors <tab> parameters.
It also writes OUT_DIR/efficientnet-b3-synthetic.pth, a state dict in the format of the published
efficientnet_pytorch ImageNet files (no num_batches_tracked, no _metadata, with _fc), and the encoders
SSL4MIS's get_encoder makes from it: OUT_DIR/loaded_in1.pth (in_channels=1, every encoder tensor) and
OUT_DIR/loaded_in2.pth (in_channels=2, the patched stem weight only).
"""
import collections
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------
# EfficientNet (efficientnet_pytorch semantics)
# ---------------------------------------------------------------------------------------------------------

# width, depth, resolution, dropout
COEFFICIENTS = {
    'efficientnet-b0': (1.0, 1.0, 224, 0.2),
    'efficientnet-b1': (1.0, 1.1, 240, 0.2),
    'efficientnet-b2': (1.1, 1.2, 260, 0.3),
    'efficientnet-b3': (1.2, 1.4, 300, 0.3),
    'efficientnet-b4': (1.4, 1.8, 380, 0.4),
    'efficientnet-b5': (1.6, 2.2, 456, 0.4),
    'efficientnet-b6': (1.8, 2.6, 528, 0.5),
    'efficientnet-b7': (2.0, 3.1, 600, 0.5),
}

# repeats, kernel, stride, expansion, in, out, squeeze-excitation ratio (the b0 stages)
STAGES = [
    (1, 3, 1, 1, 32, 16, 0.25),
    (2, 3, 2, 6, 16, 24, 0.25),
    (2, 5, 2, 6, 24, 40, 0.25),
    (3, 3, 2, 6, 40, 80, 0.25),
    (3, 5, 1, 6, 80, 112, 0.25),
    (4, 5, 2, 6, 112, 192, 0.25),
    (1, 3, 1, 6, 192, 320, 0.25),
]

Globals = collections.namedtuple('Globals', 'width depth image_size dropout drop_connect bn_momentum bn_eps divisor')
Block = collections.namedtuple('Block', 'repeats kernel stride expand cin cout se first')


def model_globals(name, drop_connect=0.2):
    w, d, res, p = COEFFICIENTS[name]
    return Globals(w, d, res, p, drop_connect, 0.99, 1e-3, 8)


def scale_channels(c, g):
    scaled = c * g.width
    rounded = max(g.divisor, int(scaled + g.divisor / 2) // g.divisor * g.divisor)
    if rounded < 0.9 * scaled:
        rounded += g.divisor
    return int(rounded)


def scale_repeats(r, g):
    return int(math.ceil(g.depth * r))


def halve(size, stride):
    return int(math.ceil(size / stride))


class Conv2dStaticSamePadding(nn.Conv2d):
    """TensorFlow 'SAME' padding fixed at construction for an input of image_size x image_size."""

    def __init__(self, cin, cout, kernel_size, stride=1, image_size=None, **kwargs):
        super().__init__(cin, cout, kernel_size, stride, **kwargs)
        k = self.kernel_size[0]
        s = self.stride[0]
        total = max((halve(image_size, s) - 1) * s + (k - 1) * self.dilation[0] + 1 - image_size, 0)
        if total > 0:
            self.static_padding = nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2))
        else:
            self.static_padding = nn.Identity()

    def forward(self, x):
        return F.conv2d(self.static_padding(x), self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def drop_connect(x, p, training):
    if not training:
        return x
    keep = 1 - p
    mask = torch.floor(keep + torch.rand([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device))
    return x / keep * mask


class MBConvBlock(nn.Module):
    def __init__(self, b, g, image_size):
        super().__init__()
        self._b = b
        mom, eps = 1 - g.bn_momentum, g.bn_eps
        hidden = b.cin * b.expand
        if b.expand != 1:
            self._expand_conv = Conv2dStaticSamePadding(b.cin, hidden, 1, bias=False, image_size=image_size)
            self._bn0 = nn.BatchNorm2d(hidden, momentum=mom, eps=eps)
        self._depthwise_conv = Conv2dStaticSamePadding(hidden, hidden, b.kernel, stride=b.stride, groups=hidden,
                                                       bias=False, image_size=image_size)
        self._bn1 = nn.BatchNorm2d(hidden, momentum=mom, eps=eps)
        image_size = halve(image_size, b.stride)
        squeezed = max(1, int(b.cin * b.se))
        self._se_reduce = Conv2dStaticSamePadding(hidden, squeezed, 1, image_size=1)
        self._se_expand = Conv2dStaticSamePadding(squeezed, hidden, 1, image_size=1)
        self._project_conv = Conv2dStaticSamePadding(hidden, b.cout, 1, bias=False, image_size=image_size)
        self._bn2 = nn.BatchNorm2d(b.cout, momentum=mom, eps=eps)
        self._swish = Swish()

    def forward(self, inputs, drop_connect_rate=None):
        b = self._b
        x = inputs
        if b.expand != 1:
            x = self._swish(self._bn0(self._expand_conv(x)))
        x = self._swish(self._bn1(self._depthwise_conv(x)))
        s = F.adaptive_avg_pool2d(x, 1)
        s = self._se_expand(self._swish(self._se_reduce(s)))
        x = torch.sigmoid(s) * x
        x = self._bn2(self._project_conv(x))
        # efficientnet_pytorch keeps a stage's first stride as a list, which never equals 1: no skip there
        if not b.first and b.stride == 1 and b.cin == b.cout:
            if drop_connect_rate:
                x = drop_connect(x, drop_connect_rate, self.training)
            x = x + inputs
        return x


class EfficientNet(nn.Module):
    def __init__(self, g, num_classes=1000):
        super().__init__()
        self._global_params = g
        mom, eps = 1 - g.bn_momentum, g.bn_eps
        size = g.image_size
        stem = scale_channels(32, g)
        self._conv_stem = Conv2dStaticSamePadding(3, stem, 3, stride=2, bias=False, image_size=size)
        self._bn0 = nn.BatchNorm2d(stem, momentum=mom, eps=eps)
        size = halve(size, 2)
        self._blocks = nn.ModuleList([])
        for r, k, s, e, cin, cout, se in STAGES:
            b = Block(scale_repeats(r, g), k, s, e, scale_channels(cin, g), scale_channels(cout, g), se, True)
            self._blocks.append(MBConvBlock(b, g, size))
            size = halve(size, s)
            b = b._replace(cin=b.cout, stride=1, first=False)
            for _ in range(b.repeats - 1):
                self._blocks.append(MBConvBlock(b, g, size))
        head = scale_channels(1280, g)
        self._conv_head = Conv2dStaticSamePadding(b.cout, head, 1, bias=False, image_size=size)
        self._bn1 = nn.BatchNorm2d(head, momentum=mom, eps=eps)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(g.dropout)
        self._fc = nn.Linear(head, num_classes)
        self._swish = Swish()


# ---------------------------------------------------------------------------------------------------------
# SSL4MIS's encoder wrapper (efficient_encoder.py)
# ---------------------------------------------------------------------------------------------------------

STAGE_IDXS = {
    'efficientnet-b0': (3, 5, 9), 'efficientnet-b1': (5, 8, 16), 'efficientnet-b2': (5, 8, 16),
    'efficientnet-b3': (5, 8, 18), 'efficientnet-b4': (6, 10, 22), 'efficientnet-b5': (8, 13, 27),
    'efficientnet-b6': (9, 15, 31), 'efficientnet-b7': (11, 18, 38),
}
OUT_CHANNELS = {
    'efficientnet-b0': (3, 32, 24, 40, 112, 320), 'efficientnet-b1': (3, 32, 24, 40, 112, 320),
    'efficientnet-b2': (3, 32, 24, 48, 120, 352), 'efficientnet-b3': (3, 40, 32, 48, 136, 384),
    'efficientnet-b4': (3, 48, 32, 56, 160, 448), 'efficientnet-b5': (3, 48, 40, 64, 176, 512),
    'efficientnet-b6': (3, 56, 40, 72, 200, 576), 'efficientnet-b7': (3, 64, 48, 80, 224, 640),
}


def patch_first_conv(model, in_channels):
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    conv.in_channels = in_channels
    w = conv.weight.detach()
    if in_channels == 1:
        conv.weight = nn.Parameter(w.sum(1, keepdim=True))
    elif in_channels == 2:
        conv.weight = nn.Parameter(w[:, :2] * (3.0 / 2.0))
    else:
        conv.weight = nn.Parameter(torch.Tensor(conv.out_channels, in_channels // conv.groups, *conv.kernel_size))
        conv.reset_parameters()


class EfficientNetEncoder(EfficientNet):
    def __init__(self, name, depth=5, drop_connect=0.2):
        super().__init__(model_globals(name, drop_connect))
        self._stage_idxs = list(STAGE_IDXS[name]) + [len(self._blocks)]
        self._out_channels = OUT_CHANNELS[name]
        self._depth = depth
        del self._fc

    @property
    def out_channels(self):
        return self._out_channels[: self._depth + 1]

    def set_in_channels(self, in_channels):
        if in_channels == 3:
            return
        self._out_channels = tuple([in_channels] + list(self._out_channels)[1:])
        patch_first_conv(self, in_channels)

    def forward(self, x):
        features = [x]
        if self._depth > 0:
            x = self._swish(self._bn0(self._conv_stem(x)))
            features.append(x)
        if self._depth > 1:
            tap = 0
            rate0 = self._global_params.drop_connect
            for idx, block in enumerate(self._blocks):
                rate = rate0 * (float(idx) / len(self._blocks)) if rate0 else rate0
                x = block(x, drop_connect_rate=rate)
                if idx == self._stage_idxs[tap] - 1:
                    tap += 1
                    features.append(x)
                    if tap + 1 == self._depth:
                        break
        return features

    def load_state_dict(self, state_dict, **kwargs):
        state_dict.pop('_fc.bias')
        state_dict.pop('_fc.weight')
        return super().load_state_dict(state_dict, **kwargs)


def get_encoder(name, in_channels=3, depth=5, weights_path=None, drop_connect=0.2):
    encoder = EfficientNetEncoder(name, depth, drop_connect)
    if weights_path is not None:
        encoder.load_state_dict(torch.load(weights_path))
    encoder.set_in_channels(in_channels)
    return encoder


# ---------------------------------------------------------------------------------------------------------
# SSL4MIS's decoder (attention.py, efficientunet.py)
# ---------------------------------------------------------------------------------------------------------

class Conv2dReLU(nn.Sequential):
    def __init__(self, cin, cout, kernel_size, padding=0, stride=1, use_batchnorm=True):
        conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=not use_batchnorm)
        bn = nn.BatchNorm2d(cout) if use_batchnorm else nn.Identity()
        super().__init__(conv, bn, nn.ReLU(inplace=True))


class SCSEModule(nn.Module):
    def __init__(self, in_channels, reduction=16):
        super().__init__()
        self.cSE = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, in_channels // reduction, 1),
                                 nn.ReLU(inplace=True), nn.Conv2d(in_channels // reduction, in_channels, 1),
                                 nn.Sigmoid())
        self.sSE = nn.Sequential(nn.Conv2d(in_channels, 1, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.cSE(x) + x * self.sSE(x)


class Attention(nn.Module):
    def __init__(self, name, **params):
        super().__init__()
        if name is None:
            self.attention = nn.Identity()
        elif name == 'scse':
            self.attention = SCSEModule(**params)
        else:
            raise ValueError(name)

    def forward(self, x):
        return self.attention(x)


class DecoderBlock(nn.Module):
    def __init__(self, cin, cskip, cout, use_batchnorm=True, attention_type=None):
        super().__init__()
        self.conv1 = Conv2dReLU(cin + cskip, cout, 3, padding=1, use_batchnorm=use_batchnorm)
        self.attention1 = Attention(attention_type, in_channels=cin + cskip)
        self.conv2 = Conv2dReLU(cout, cout, 3, padding=1, use_batchnorm=use_batchnorm)
        self.attention2 = Attention(attention_type, in_channels=cout)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        if skip is not None:
            x = self.attention1(torch.cat([x, skip], dim=1))
        return self.attention2(self.conv2(self.conv1(x)))


class CenterBlock(nn.Sequential):
    def __init__(self, cin, cout, use_batchnorm=True):
        super().__init__(Conv2dReLU(cin, cout, 3, padding=1, use_batchnorm=use_batchnorm),
                         Conv2dReLU(cout, cout, 3, padding=1, use_batchnorm=use_batchnorm))


class UnetDecoder(nn.Module):
    def __init__(self, encoder_channels, decoder_channels, n_blocks=5, use_batchnorm=True, attention_type=None,
                 center=False):
        super().__init__()
        assert n_blocks == len(decoder_channels)
        enc = list(encoder_channels[1:])[::-1]
        ins = [enc[0]] + list(decoder_channels[:-1])
        skips = enc[1:] + [0]
        self.center = CenterBlock(enc[0], enc[0], use_batchnorm) if center else nn.Identity()
        self.blocks = nn.ModuleList([DecoderBlock(i, s, o, use_batchnorm, attention_type)
                                     for i, s, o in zip(ins, skips, decoder_channels)])

    def forward(self, *features):
        features = features[1:][::-1]
        x = self.center(features[0])
        skips = features[1:]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return x


def initialize_decoder(module):
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, mode='fan_in', nonlinearity='relu')
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


class Effi_UNet(nn.Module):
    def __init__(self, encoder_name='efficientnet-b3', encoder_depth=5, decoder_use_batchnorm=True,
                 decoder_channels=(256, 128, 64, 32, 16), decoder_attention_type=None, in_channels=3, classes=1,
                 center=False, drop_connect=0.2):
        super().__init__()
        self.encoder = get_encoder(encoder_name, in_channels=in_channels, depth=encoder_depth,
                                   drop_connect=drop_connect)
        self.decoder = UnetDecoder(self.encoder.out_channels, decoder_channels, encoder_depth,
                                   decoder_use_batchnorm, decoder_attention_type, center)
        initialize_decoder(self.decoder)
        self.classifier = nn.Conv2d(decoder_channels[-1], classes, 1)

    def forward(self, x):
        return self.classifier(self.decoder(*self.encoder(x)))


# ---------------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------------

def randomise_batch_norm(net, statistics=False):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
                if statistics:
                    m.running_mean.normal_(0.0, 0.1)
                    m.running_var.uniform_(0.5, 1.5)


def plain(t):
    return t.detach().contiguous().clone()


def build(name, out_dir, seed, shape, train_output=False, **kwargs):
    torch.manual_seed(seed)
    net = Effi_UNet(**kwargs)
    randomise_batch_norm(net)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(shape) * 1.5 + 0.5)
    net.eval()
    x = torch.randn(shape)
    io = {'input': x}
    with torch.no_grad():
        for k, f in enumerate(net.encoder(x)):
            io['feature_%d' % k] = plain(f)
        io['output'] = plain(net(x))
    torch.save(net.state_dict(), os.path.join(out_dir, name + '.pth'))
    if train_output:
        net.train()
        with torch.no_grad():
            io['train_output'] = plain(net(x))
    torch.save(io, os.path.join(out_dir, name + '.io.pth'))
    print('%s\t%d\t%d' % (name, len(net.state_dict()), sum(p.numel() for p in net.parameters())))


def synthetic_pretrained(out_dir):
    torch.manual_seed(5)
    net = EfficientNet(model_globals('efficientnet-b3'))
    randomise_batch_norm(net, statistics=True)
    # the published files: plain tensors, no num_batches_tracked, no _metadata
    sd = collections.OrderedDict((k, v.clone()) for k, v in net.state_dict().items()
                                 if not k.endswith('num_batches_tracked'))
    path = os.path.join(out_dir, 'efficientnet-b3-synthetic.pth')
    torch.save(sd, path)
    enc1 = get_encoder('efficientnet-b3', in_channels=1, weights_path=path)
    torch.save(enc1.state_dict(), os.path.join(out_dir, 'loaded_in1.pth'))
    enc2 = get_encoder('efficientnet-b3', in_channels=2, weights_path=path)
    torch.save({'_conv_stem.weight': plain(enc2._conv_stem.weight)}, os.path.join(out_dir, 'loaded_in2.pth'))
    print('synthetic\t%d\t%d' % (len(sd), sum(p.numel() for p in net.parameters())))


def main():
    torch.set_num_threads(1)
    out_dir = sys.argv[1]
    build('b3', out_dir, 21, (1, 1, 64, 64), encoder_name='efficientnet-b3', in_channels=1, classes=4)
    build('b0_scse', out_dir, 22, (2, 2, 64, 96), train_output=True, encoder_name='efficientnet-b0',
          in_channels=2, classes=3, decoder_attention_type='scse', drop_connect=0.0)
    build('b1_depth3', out_dir, 23, (2, 3, 32, 40), train_output=True, encoder_name='efficientnet-b1',
          in_channels=3, classes=2, encoder_depth=3, decoder_channels=(24, 16, 8),
          decoder_use_batchnorm=False, center=True, drop_connect=0.0)
    synthetic_pretrained(out_dir)


if __name__ == '__main__':
    main()
