# SSL4MIS's VNet (networks/vnet.py) for the 3D trace tests, assembled from the VNet blocks that
# networks/canet_reference.py re-states (ConvBlock, DownsamplingConvBlock, UpsamplingDeconvBlock, _norm): the same
# layers and state-dict names as the Java VNet, the width read from the checkpoint. Appended after
# canet_reference.py, unet2d_reference.py and trace_reference.py; it widens the trace scripts' load_unet to VNet
# checkpoints so that trace_<method>.py runs unchanged on either network.


class VNet(nn.Module):
    def __init__(self, n_channels, n_classes, n_filters, normalization, has_dropout=False):
        super().__init__()
        self.has_dropout = has_dropout
        n = n_filters
        self.block_one = ConvBlock(1, n_channels, n, normalization)
        self.block_one_dw = DownsamplingConvBlock(n, 2 * n, normalization=normalization)
        self.block_two = ConvBlock(2, 2 * n, 2 * n, normalization)
        self.block_two_dw = DownsamplingConvBlock(2 * n, 4 * n, normalization=normalization)
        self.block_three = ConvBlock(3, 4 * n, 4 * n, normalization)
        self.block_three_dw = DownsamplingConvBlock(4 * n, 8 * n, normalization=normalization)
        self.block_four = ConvBlock(3, 8 * n, 8 * n, normalization)
        self.block_four_dw = DownsamplingConvBlock(8 * n, 16 * n, normalization=normalization)
        self.block_five = ConvBlock(3, 16 * n, 16 * n, normalization)
        self.block_five_up = UpsamplingDeconvBlock(16 * n, 8 * n, normalization=normalization)
        self.block_six = ConvBlock(3, 8 * n, 8 * n, normalization)
        self.block_six_up = UpsamplingDeconvBlock(8 * n, 4 * n, normalization=normalization)
        self.block_seven = ConvBlock(3, 4 * n, 4 * n, normalization)
        self.block_seven_up = UpsamplingDeconvBlock(4 * n, 2 * n, normalization=normalization)
        self.block_eight = ConvBlock(2, 2 * n, 2 * n, normalization)
        self.block_eight_up = UpsamplingDeconvBlock(2 * n, n, normalization=normalization)
        self.block_nine = ConvBlock(1, n, n, normalization)
        self.out_conv = nn.Conv3d(n, n_classes, 1, padding=0)
        self.dropout = nn.Dropout3d(p=0.5)

    def forward(self, x):
        x1 = self.block_one(x)
        x2 = self.block_two(self.block_one_dw(x1))
        x3 = self.block_three(self.block_two_dw(x2))
        x4 = self.block_four(self.block_three_dw(x3))
        x5 = self.block_five(self.block_four_dw(x4))
        if self.has_dropout:
            x5 = self.dropout(x5)
        x = self.block_five_up(x5) + x4
        x = self.block_six_up(self.block_six(x)) + x3
        x = self.block_seven_up(self.block_seven(x)) + x2
        x = self.block_eight_up(self.block_eight(x)) + x1
        x9 = self.block_nine(x)
        if self.has_dropout:
            x9 = self.dropout(x9)
        return self.out_conv(x9)


_load_unet_2d = load_unet


def load_unet(path, network=None):
    """A VNet (dropout off) in training mode when the state-dict file holds one, else the 2D UNet loader."""
    sd = torch.load(path, map_location='cpu')
    if 'block_one.conv.0.weight' not in sd:
        return _load_unet_2d(path, network)
    first = sd['block_one.conv.0.weight']
    normalization = 'batchnorm' if 'block_one.conv.1.running_mean' in sd else 'none'
    net = VNet(first.shape[1], sd['out_conv.weight'].shape[0], first.shape[0], normalization)
    net.load_state_dict(sd)
    net.train()
    return net
