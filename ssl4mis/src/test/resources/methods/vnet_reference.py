# SSL4MIS's VNet (networks/vnet.py) for the 3D trace tests, assembled from the VNet blocks that
# networks/canet_reference.py re-states (vnet_encoder_blocks, vnet_decoder_blocks, vnet_encode, vnet_decode): the
# same layers and state-dict names as the Java VNet, the width read from the checkpoint. Appended after
# canet_reference.py, unet2d_reference.py and trace_reference.py; it widens the trace scripts' load_unet to VNet
# checkpoints so that trace_<method>.py runs unchanged on either network.


class VNet(nn.Module):
    def __init__(self, n_channels, n_classes, n_filters, normalization, has_dropout=False):
        super().__init__()
        self.has_dropout = has_dropout
        vnet_encoder_blocks(self, n_channels, n_filters, normalization)
        vnet_decoder_blocks(self, n_filters, normalization)
        self.out_conv = nn.Conv3d(n_filters, n_classes, 1, padding=0)
        self.dropout = nn.Dropout3d(p=0.5)

    def forward(self, x):
        features = vnet_encode(self, x)
        if self.has_dropout:
            features[4] = self.dropout(features[4])
        x9 = vnet_decode(self, features)
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
