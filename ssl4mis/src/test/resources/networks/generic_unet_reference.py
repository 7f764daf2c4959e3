"""Reference for the Java GenericUNet parity test: SSL4MIS's nnU-Net network (networks/nnunet.py,
Generic_UNet as built by initialize_network) re-stated in plain PyTorch 1.13, without batchgenerators.

The module tree and member names are those of the SSL4MIS module, so that the state-dict keys (and their
order) are the ones the Java port must produce:
  conv_blocks_localization, conv_blocks_context, td, tu, seg_outputs[, upscale_logits_ops]
  StackedConvLayers.blocks = Sequential of ConvDropoutNormNonlin(conv[, dropout], instnorm, lrelu)

Usage: python3 generic_unet_reference.py OUT_DIR
For each small configuration NAME it writes OUT_DIR/NAME.pth (state dict) and OUT_DIR/NAME.io.pth (input
and outputs) and prints: NAME <tab> state-dict tensors <tab> parameter elements.
For the full default plans (full3d: initialize_network(threeD=True, num_classes=2); full2d: its 2D variant
with the in-plane part of the kernels, 4 classes) it writes OUT_DIR/PLAN.keys.txt (key <tab> shape, in
state-dict order) and prints the same line; full3d also gets weights (full3d.pth) and one eval-mode forward
pass (full3d.io.pth) at (1, 1, 8, 128, 128), a small valid size whose bottleneck is 2x2x2.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- building blocks ------------------------------------------------------------------------------------

class ConvDropoutNormNonlin(nn.Module):
    """conv -> optional dropout -> norm -> nonlinearity; the members keep the reference's names."""

    def __init__(self, cin, cout, conv_op, conv_kwargs, norm_op, norm_kwargs, dropout_op, dropout_kwargs,
                 nonlin, nonlin_kwargs):
        super().__init__()
        self.conv = conv_op(cin, cout, **conv_kwargs)
        p = dropout_kwargs.get('p')
        self.dropout = dropout_op(**dropout_kwargs) if dropout_op is not None and p is not None and p > 0 else None
        self.instnorm = norm_op(cout, **norm_kwargs)
        self.lrelu = nonlin(**nonlin_kwargs)

    def forward(self, x):
        x = self.conv(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.lrelu(self.instnorm(x))


class ConvDropoutNonlinNorm(ConvDropoutNormNonlin):
    def forward(self, x):
        x = self.conv(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.instnorm(self.lrelu(x))


class StackedConvLayers(nn.Module):
    """max(1, num_convs) blocks; only the first may be strided."""

    def __init__(self, cin, cout, num_convs, conv_op, conv_kwargs, norm_op, norm_kwargs, dropout_op,
                 dropout_kwargs, nonlin, nonlin_kwargs, first_stride=None, basic_block=ConvDropoutNormNonlin):
        super().__init__()
        self.input_channels = cin
        self.output_channels = cout
        first_kwargs = dict(conv_kwargs)
        if first_stride is not None:
            first_kwargs['stride'] = first_stride
        layers = [basic_block(cin, cout, conv_op, first_kwargs, norm_op, norm_kwargs, dropout_op, dict(dropout_kwargs),
                              nonlin, nonlin_kwargs)]
        for _ in range(num_convs - 1):
            layers.append(basic_block(cout, cout, conv_op, dict(conv_kwargs), norm_op, norm_kwargs, dropout_op,
                                      dict(dropout_kwargs), nonlin, nonlin_kwargs))
        self.blocks = nn.Sequential(*layers)

    def forward(self, x):
        return self.blocks(x)


class Upsample(nn.Module):
    def __init__(self, scale_factor, mode):
        super().__init__()
        self.scale_factor = scale_factor
        self.mode = mode

    def forward(self, x):
        return F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode, align_corners=False)


def he_init(neg_slope):
    def init(m):
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(m.weight, a=neg_slope)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return init


def softmax_helper(x):
    return F.softmax(x, 1)


def identity(x):
    return x


# ---- the network ----------------------------------------------------------------------------------------

class Generic_UNet(nn.Module):
    def __init__(self, input_channels, base_num_features, num_classes, num_pool, num_conv_per_stage=2,
                 feat_map_mul_on_downscale=2, conv_op=nn.Conv2d, norm_op=nn.BatchNorm2d, norm_op_kwargs=None,
                 dropout_op=nn.Dropout2d, dropout_op_kwargs=None, nonlin=nn.LeakyReLU, nonlin_kwargs=None,
                 deep_supervision=True, dropout_in_localization=False, final_nonlin=softmax_helper,
                 weight_initializer=he_init(1e-2), pool_op_kernel_sizes=None, conv_kernel_sizes=None,
                 upscale_logits=False, convolutional_pooling=False, convolutional_upsampling=False,
                 max_num_features=None, basic_block=ConvDropoutNormNonlin, seg_output_use_bias=False):
        super().__init__()
        if nonlin_kwargs is None:
            nonlin_kwargs = {'negative_slope': 1e-2, 'inplace': True}
        dropout_op_kwargs = dict({'p': 0.5, 'inplace': True} if dropout_op_kwargs is None else dropout_op_kwargs)
        if norm_op_kwargs is None:
            norm_op_kwargs = {'eps': 1e-5, 'affine': True, 'momentum': 0.1}
        three_d = conv_op is nn.Conv3d
        dims = 3 if three_d else 2
        mode = 'trilinear' if three_d else 'bilinear'
        pool_op = nn.MaxPool3d if three_d else nn.MaxPool2d
        transpconv = nn.ConvTranspose3d if three_d else nn.ConvTranspose2d
        pools = pool_op_kernel_sizes if pool_op_kernel_sizes is not None else [(2,) * dims] * num_pool
        kernels = conv_kernel_sizes if conv_kernel_sizes is not None else [(3,) * dims] * (num_pool + 1)
        pads = [[1 if k == 3 else 0 for k in kernel] for kernel in kernels]
        if max_num_features is None:
            max_num_features = 320 if three_d else 480
        self.final_nonlin = final_nonlin
        self.convolutional_pooling = convolutional_pooling
        self._deep_supervision = deep_supervision
        self.do_ds = deep_supervision

        def stack(cin, cout, n, level, drop_kwargs, first_stride=None):
            conv_kwargs = {'kernel_size': kernels[level], 'padding': pads[level], 'stride': 1, 'dilation': 1,
                           'bias': True}
            return StackedConvLayers(cin, cout, n, conv_op, conv_kwargs, norm_op, norm_op_kwargs, dropout_op,
                                     drop_kwargs, nonlin, nonlin_kwargs, first_stride, basic_block)

        context, td = [], []
        cin, cout = input_channels, base_num_features
        for d in range(num_pool):
            stride = pools[d - 1] if d > 0 and convolutional_pooling else None
            context.append(stack(cin, cout, num_conv_per_stage, d, dropout_op_kwargs, stride))
            if not convolutional_pooling:
                td.append(pool_op(pools[d]))
            cin = cout
            cout = min(int(np.round(cout * feat_map_mul_on_downscale)), max_num_features)
        bottom_out = cout if convolutional_upsampling else context[-1].output_channels
        stride = pools[-1] if convolutional_pooling else None
        context.append(nn.Sequential(
            stack(cin, cout, num_conv_per_stage - 1, num_pool, dropout_op_kwargs, stride),
            stack(cout, bottom_out, 1, num_pool, dropout_op_kwargs)))

        loc_drop = dict(dropout_op_kwargs)
        if not dropout_in_localization:
            loc_drop['p'] = 0.0
        localization, tu = [], []
        down = bottom_out
        for u in range(num_pool):
            skip = context[-(2 + u)].output_channels
            last = u == num_pool - 1
            out = skip if (last or convolutional_upsampling) else context[-(3 + u)].output_channels
            level = num_pool - u  # conv_kernel_sizes[-(u + 1)]
            if convolutional_upsampling:
                tu.append(transpconv(down, skip, pools[-(u + 1)], pools[-(u + 1)], bias=False))
            else:
                tu.append(Upsample(pools[-(u + 1)], mode))
            localization.append(nn.Sequential(
                stack(2 * skip, skip, num_conv_per_stage - 1, level, loc_drop),
                stack(skip, out, 1, level, loc_drop)))
            down = out

        seg = [conv_op(block[-1].output_channels, num_classes, 1, 1, 0, 1, 1, seg_output_use_bias)
               for block in localization]
        cumulative = np.cumprod(np.vstack(pools), axis=0)[::-1]
        ups = [Upsample(tuple(int(i) for i in cumulative[k + 1]), mode) for k in range(num_pool - 1)] \
            if upscale_logits else [identity] * (num_pool - 1)

        # registration order decides the state-dict order: the reference wraps its lists in this order
        self.conv_blocks_localization = nn.ModuleList(localization)
        self.conv_blocks_context = nn.ModuleList(context)
        self.td = nn.ModuleList(td)
        self.tu = nn.ModuleList(tu)
        self.seg_outputs = nn.ModuleList(seg)
        self.upscale_logits_ops = nn.ModuleList(ups) if upscale_logits else ups
        if weight_initializer is not None:
            self.apply(weight_initializer)

    def forward(self, x):
        skips = []
        for d in range(len(self.conv_blocks_context) - 1):
            x = self.conv_blocks_context[d](x)
            skips.append(x)
            if not self.convolutional_pooling:
                x = self.td[d](x)
        x = self.conv_blocks_context[-1](x)
        outs = []
        for u in range(len(self.tu)):
            x = self.conv_blocks_localization[u](torch.cat((self.tu[u](x), skips[-(u + 1)]), dim=1))
            outs.append(self.final_nonlin(self.seg_outputs[u](x)))
        if self._deep_supervision and self.do_ds:
            ops = list(self.upscale_logits_ops)
            return tuple([outs[-1]] + [ops[k](outs[k]) for k in range(len(outs) - 2, -1, -1)])
        return outs[-1]


# ---- the default plan of networks/nnunet.py -------------------------------------------------------------

CONV_KERNELS = [[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]]
POOL_KERNELS = [[1, 2, 2], [1, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2], [1, 2, 2]]


def nnunet(three_d, num_classes, in_channels=1, base=16, pools=None, kernels=None, max_features=None,
           deep_supervision=False):
    """initialize_network's flags. For 2D, the Java port takes the in-plane (last two) axes of the plan."""
    pools = pools if pools is not None else POOL_KERNELS
    kernels = kernels if kernels is not None else CONV_KERNELS
    if three_d:
        conv, drop, norm = nn.Conv3d, nn.Dropout3d, nn.InstanceNorm3d
    else:
        conv, drop, norm = nn.Conv2d, nn.Dropout2d, nn.InstanceNorm2d
        pools = [p[-2:] for p in pools]
        kernels = [k[-2:] for k in kernels]
    return Generic_UNet(in_channels, base, num_classes, len(pools), 2, 2, conv, norm, {'eps': 1e-5, 'affine': True},
                        drop, {'p': 0, 'inplace': True}, nn.LeakyReLU, {'negative_slope': 1e-2, 'inplace': True},
                        deep_supervision, False, identity, he_init(1e-2), pools, kernels, False, True, True,
                        max_features)


# ---- fixtures -------------------------------------------------------------------------------------------

def randomise_norms(net):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._NormBase) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)) and m.bias is not None:
                m.bias.normal_(0.0, 0.1)


def outputs(net, x, prefix, io):
    """Both forms: the deep-supervision tuple (ds_k, finest first) and the main output alone (out)."""
    with torch.no_grad():
        if net._deep_supervision:
            net.do_ds = True
            for k, o in enumerate(net(x)):
                io['%sds_%d' % (prefix, k)] = o.detach().contiguous().clone()
        net.do_ds = False
        io[prefix + 'out'] = net(x).detach().contiguous().clone()
        net.do_ds = net._deep_supervision


def report(name, net):
    params = sum(p.numel() for p in net.parameters())
    print('%s\t%d\t%d' % (name, len(net.state_dict()), params))


def fixture(name, out_dir, seed, net_fn, shape, train_outputs):
    torch.manual_seed(seed)
    net = net_fn()
    randomise_norms(net)
    has_bn = any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)) for m in net.modules())
    if has_bn:
        net.train()
        with torch.no_grad():
            for _ in range(2):
                net(torch.randn(shape) * 1.5 + 0.5)
    x = torch.randn(shape)
    io = {'input': x}
    net.eval()
    outputs(net, x, 'eval_', io)
    torch.save(net.state_dict(), os.path.join(out_dir, name + '.pth'))
    if train_outputs:
        net.train()
        outputs(net, x, 'train_', io)
    torch.save(io, os.path.join(out_dir, name + '.io.pth'))
    report(name, net)


def key_list(name, out_dir, net):
    with open(os.path.join(out_dir, name + '.keys.txt'), 'w') as f:
        for k, v in net.state_dict().items():
            f.write('%s\t%s\n' % (k, ','.join(str(s) for s in v.shape)))
    report(name, net)


def main():
    torch.set_num_threads(1)
    out = sys.argv[1]
    # initialize_network's flags at a small plan: convolutional pooling and upsampling, instance norm
    # (affine), no dropout, identity final nonlinearity, features 4 -> 8 -> 16 -> capped at 16
    small_pools = [[1, 2, 2], [2, 2, 2], [2, 2, 2]]
    small_kernels = [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]]
    fixture('nnunet3d', out, 21,
            lambda: nnunet(True, 3, base=4, pools=small_pools, kernels=small_kernels, max_features=16,
                           deep_supervision=True), (2, 1, 16, 32, 32), False)
    fixture('nnunet2d', out, 22,
            lambda: nnunet(False, 2, in_channels=2, base=4, pools=small_pools, kernels=small_kernels,
                           deep_supervision=True), (2, 2, 32, 24), False)
    # Generic_UNet's own defaults in 3D: batch norm, max pooling, trilinear upsampling, softmax, and
    # upscaled logits, channel dropout in the localization path too (outputs compared in eval mode)
    fixture('maxpool_trilinear', out, 23,
            lambda: Generic_UNet(2, 7, 3, 3, 3, 1.5, nn.Conv3d, nn.BatchNorm3d, None, nn.Dropout3d,
                                 {'p': 0.3, 'inplace': True}, deep_supervision=True, dropout_in_localization=True,
                                 pool_op_kernel_sizes=[[2, 2, 1], [2, 2, 2], [1, 2, 2]], upscale_logits=True,
                                 seg_output_use_bias=True), (2, 2, 16, 16, 8), False)
    # max pooling with transposed convolutions, batch norm without dropout: training mode is deterministic
    fixture('maxpool_transposed', out, 24,
            lambda: Generic_UNet(1, 5, 2, 2, 2, 2, nn.Conv3d, nn.BatchNorm3d, {'eps': 1e-3, 'affine': True,
                                                                                 'momentum': 0.3},
                                 None, None, nn.LeakyReLU, {'negative_slope': 0.2}, True, False, softmax_helper,
                                 pool_op_kernel_sizes=[[2, 2, 2], [2, 1, 2]], convolutional_upsampling=True,
                                 max_num_features=8), (3, 1, 8, 12, 8), True)
    # 2D: strided convolutions with bilinear upsampling, the other block order, ReLU, one conv per stage,
    # anisotropic pooling, 1x1 kernels (padding 0), non-affine instance norm
    fixture('conv_bilinear_2d', out, 25,
            lambda: Generic_UNet(3, 6, 4, 3, 1, 2, nn.Conv2d, nn.InstanceNorm2d, {'eps': 1e-5, 'affine': False},
                                 nn.Dropout2d, {'p': 0.0}, nn.ReLU, {}, True, False, identity,
                                 pool_op_kernel_sizes=[[2, 2], [1, 2], [2, 2]],
                                 conv_kernel_sizes=[[3, 3], [1, 3], [3, 1], [3, 3]], upscale_logits=True,
                                 convolutional_pooling=True, basic_block=ConvDropoutNonlinNorm,
                                 seg_output_use_bias=True), (2, 3, 16, 24), True)

    torch.manual_seed(26)
    full3d = nnunet(True, 2)
    key_list('full3d', out, full3d)
    full3d.eval()
    x = torch.randn(1, 1, 8, 128, 128)
    with torch.no_grad():
        y = full3d(x)
    torch.save(full3d.state_dict(), os.path.join(out, 'full3d.pth'))
    torch.save({'input': x, 'eval_out': y.contiguous()}, os.path.join(out, 'full3d.io.pth'))
    key_list('full2d', out, nnunet(False, 4))


if __name__ == '__main__':
    main()
