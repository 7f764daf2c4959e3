# Reads a checkpoint of `train --method fixmatch` as the FixMatch scripts' util.load_checkpoint would: torch.load,
# model.load_state_dict(ckpt['state_dict']) into the re-stated UNet (strict), optimizer.load_state_dict of an
# optim.SGD like the scripts'; and compares the optimizer dictionary's layout with the one PyTorch itself writes
# for the same network after a step. Arguments: the checkpoint file. Prints epoch, loss, lr and counts as JSON.
from collections import OrderedDict

if __name__ == "__main__":
    ckpt = torch.load(sys.argv[1], map_location='cpu')
    assert list(ckpt.keys()) == ['epoch', 'state_dict', 'optimizer_state_dict', 'loss'], list(ckpt.keys())
    assert type(ckpt['epoch']) is int, type(ckpt['epoch'])
    sd = ckpt['state_dict']
    assert isinstance(sd, OrderedDict) and hasattr(sd, '_metadata'), type(sd)
    classes = sd['decoder.out_conv.weight'].shape[0]
    net = UNet(1, classes, unet_widths(sd))
    net.load_state_dict(sd)  # strict: every name and shape
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0001)
    ours = ckpt['optimizer_state_dict']
    optimizer.load_state_dict(ours)
    params = list(net.parameters())
    for i, s in ours['state'].items():
        assert type(i) is int and list(s.keys()) == ['momentum_buffer'], (i, list(s.keys()))
        assert torch.equal(optimizer.state[params[i]]['momentum_buffer'], s['momentum_buffer']), i

    # the layout PyTorch writes for the scripts' optimizer after one step on the same network
    ref_net = UNet(1, classes, unet_widths(sd))
    ref_optimizer = torch.optim.SGD(ref_net.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0001)
    ref_net(torch.randn(2, 1, 32, 32)).sum().backward()
    ref_optimizer.step()
    theirs = ref_optimizer.state_dict()
    assert list(ours.keys()) == list(theirs.keys()), (list(ours.keys()), list(theirs.keys()))
    assert list(ours['state'].keys()) == list(theirs['state'].keys()), list(ours['state'].keys())
    group, ref_group = ours['param_groups'][0], theirs['param_groups'][0]
    assert len(ours['param_groups']) == 1
    assert list(group.keys()) == list(ref_group.keys()), (list(group.keys()), list(ref_group.keys()))
    for k in ref_group:
        if k != 'lr':
            assert group[k] == ref_group[k] and type(group[k]) is type(ref_group[k]), (k, group[k], ref_group[k])
    loss = ckpt['loss']
    assert loss.dim() == 0 and loss.dtype == torch.float32 and loss.requires_grad, loss
    emit({'epoch': ckpt['epoch'], 'loss': loss.item(), 'lr': group['lr'], 'buffers': len(ours['state']),
          'parameters': len(params)})
