# The CANet loop (ContextAwareNetwork: SASSNet's train_gan_sdfloss.py scheme with CANet and SEDiscriminator3D),
# restated for the CANet trace test, and SASSNet's compute_sdf on SciPy's exact EDT.
# Usage: canet_trace.py model.pth d.pth batches.pth sdf_out.pth  (appended to canet_reference.py, without its main)
# batches.pth: {'images': [...], 'labels': [...], 'masks': [...], 'labeled_bs', 'num_classes', 'consistency',
#               'consistency_rampup', 'beta', 'iter_start', 'max_iterations', 'base_lr', 'd_lr', 'canet': {...},
#               'd_ndf', 'd_reduction'}
# Writes compute_sdf of every mask in 'masks' to sdf_out.pth and prints the trace as one JSON line.
import json

import numpy as np
from scipy.ndimage import distance_transform_edt, generate_binary_structure, grey_dilation, grey_erosion


def find_inner_boundaries(mask):
    """skimage.segmentation.find_boundaries(mask, mode='inner'): dilation != erosion (face neighbours), in mask."""
    footprint = generate_binary_structure(mask.ndim, 1)
    m = mask.astype(np.uint8)
    return (grey_dilation(m, footprint=footprint) != grey_erosion(m, footprint=footprint)) & mask


def sassnet_sdf(posmask):
    """SASSNet's normalised SDF of one mask; -1 where the mask has no outside (SASSNet: 0 / 0)."""
    if not posmask.any():
        return np.zeros(posmask.shape)
    if posmask.all():
        return -np.ones(posmask.shape)
    negmask = ~posmask
    posdis = distance_transform_edt(posmask)
    negdis = distance_transform_edt(negmask)
    boundary = find_inner_boundaries(posmask)
    sdf = (negdis - np.min(negdis)) / (np.max(negdis) - np.min(negdis)) \
        - (posdis - np.min(posdis)) / (np.max(posdis) - np.min(posdis))
    sdf[boundary] = 0
    return sdf


def compute_sdf(labels, n_classes):
    """(B, *spatial) labels -> (B, C, *spatial) float32: channel c is the SDF of label == c."""
    lab = labels.numpy()
    out = np.zeros((lab.shape[0], n_classes) + lab.shape[1:])
    for b in range(lab.shape[0]):
        for c in range(n_classes):
            out[b, c] = sassnet_sdf(lab[b] == c)
    return torch.from_numpy(out).float()


def canet_main():
    torch.set_num_threads(1)
    b = torch.load(sys.argv[3])
    sdfs = [torch.from_numpy(sassnet_sdf(m.numpy().astype(bool))) for m in b['masks']]
    torch.save({'sdf': sdfs}, sys.argv[4])
    cfg = b['canet']
    model = CANet(n_channels=1, n_classes=int(b['num_classes']), n_filters=int(cfg['n_filters']),
                  normalization='batchnorm', has_dropout=False, img_size=tuple(int(s) for s in cfg['img_size']),
                  patch_size=1, hidden_size=int(cfg['hidden_size']), num_heads=int(cfg['num_heads']),
                  mlp_dim=int(cfg['mlp_dim']), num_layers=int(cfg['num_layers']), dropout_rate=0.0,
                  attention_dropout_rate=0.0)
    model.load_state_dict(torch.load(sys.argv[1]))
    d = SEDiscriminator3D(int(b['num_classes']), ndf=int(b['d_ndf']), reduction=int(b['d_reduction']))
    d.load_state_dict(torch.load(sys.argv[2]))
    lb, n_classes, beta = int(b['labeled_bs']), int(b['num_classes']), float(b['beta'])
    base_lr, max_iter = float(b['base_lr']), int(b['max_iterations'])
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)
    d_optimizer = torch.optim.Adam(d.parameters(), lr=float(b['d_lr']), betas=(0.9, 0.99))
    out = {}
    for i, (volume, label) in enumerate(zip(b['images'], b['labels'])):
        iter_num = int(b['iter_start']) + i
        batch = volume.shape[0]
        d_target = torch.zeros(batch, 1)
        d_target[:lb] = 1
        model.train()
        d.eval()
        sdf, seg = model(volume)
        gt_sdf = compute_sdf(label[:lb], n_classes)
        loss_sdf = F.mse_loss(sdf[:lb], gt_sdf)
        loss_seg = F.cross_entropy(seg[:lb], label[:lb])
        probs = torch.softmax(seg, dim=1)[:lb]
        loss_dice = 0.0
        for c in range(n_classes):
            target = (label[:lb] == c).float()
            score = probs[:, c]
            loss_dice += 1 - (2 * torch.sum(score * target) + 1e-5) / (
                torch.sum(score * score) + torch.sum(target * target) + 1e-5)
        loss_dice = loss_dice / n_classes
        epoch = iter_num // 150
        phase = 1.0 - np.clip(epoch, 0.0, float(b['consistency_rampup'])) / float(b['consistency_rampup'])
        w = float(b['consistency']) * float(np.exp(-5.0 * phase * phase))
        d_out = d(sdf[lb:], volume[lb:])
        loss_adv = F.binary_cross_entropy_with_logits(d_out, torch.ones_like(d_out))
        loss = loss_dice + beta * loss_sdf + w * loss_adv
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        d.train()
        with torch.no_grad():
            sdf_all, _ = model(volume)
        d_loss = F.binary_cross_entropy_with_logits(d(sdf_all, volume), d_target)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        lr = base_lr * (1.0 - iter_num / max_iter) ** 0.9
        for group in optimizer.param_groups:
            group['lr'] = lr
        out['loss_%d' % i] = loss
        out['loss_sdf_%d' % i] = loss_sdf
        out['loss_dice_%d' % i] = loss_dice
        out['loss_seg_%d' % i] = loss_seg
        out['loss_adv_%d' % i] = loss_adv
        out['d_loss_%d' % i] = d_loss
        out['weight_%d' % i] = w
    print(json.dumps({k: float(v) for k, v in out.items()}))


canet_main()
