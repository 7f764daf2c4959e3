# Ten iterations of train_cross_consistency_training_2D.py's loop, restated for the CCT trace test: UNet_CCT
# (encoder, main decoder, three auxiliary decoders), the script's losses, optim.SGD(lr, momentum=0.9,
# weight_decay=1e-4) and lr = base_lr * (1 - iter_num / max_iterations) ** 0.9 set before iter_num += 1.
# The auxiliary decoders' random perturbations are given (drawn by the test; FeatureDropout's keep masks as the
# Java run computed them), so only the loop is compared.
# Usage: cct_trace.py model.pth trace.pth out.pth  (appended to unet2d_reference.py by the test)


class UNetCCT(nn.Module):
    def __init__(self, cin, classes, widths):
        super().__init__()
        self.encoder = _Encoder(cin, widths, (0.0,) * 5)
        self.main_decoder = _Decoder(widths, classes)
        self.aux_decoder1 = _Decoder(widths, classes)
        self.aux_decoder2 = _Decoder(widths, classes)
        self.aux_decoder3 = _Decoder(widths, classes)

    def forward(self, x, noise, masks, keeps):
        feature = self.encoder(x)
        main_seg = self.main_decoder(feature)
        # FeatureNoise: x * noise + x, one (C, H, W) map per stage
        aux1 = self.aux_decoder1([f.mul(n.unsqueeze(0)) + f for f, n in zip(feature, noise)])
        # Dropout(x, p=0.3): the given masks hold 0 or 1 / (1 - p)
        aux2 = self.aux_decoder2([f * m for f, m in zip(feature, masks)])
        # FeatureDropout: the keep masks the Java run computed (attention < max * fraction), recorded
        aux3 = self.aux_decoder3([f.mul(k) for f, k in zip(feature, keeps)])
        return main_seg, aux1, aux2, aux3


def cct_trace_main():
    sd = torch.load(sys.argv[1])
    t = torch.load(sys.argv[2])
    w = [sd['encoder.in_conv.conv_conv.0.weight'].shape[0]]
    for k in range(1, 5):
        w.append(sd['encoder.down%d.maxpool_conv.1.conv_conv.0.weight' % k].shape[0])
    lb, n_classes = int(t['labeled_bs']), int(t['num_classes'])
    base_lr, max_iterations = float(t['base_lr']), int(t['max_iterations'])
    model = UNetCCT(1, n_classes, w)
    model.load_state_dict(sd)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)
    out = {}
    for it in range(int(t['iterations'])):
        volume, label = t['image_%d' % it], t['label_%d' % it]
        noise = [t['noise_%d_%d' % (it, k)] for k in range(5)]
        masks = [t['mask_%d_%d' % (it, k)] for k in range(5)]
        keeps = [t['keep_%d_%d' % (it, k)] for k in range(5)]
        outputs = model(volume, noise, masks, keeps)
        soft = [torch.softmax(o, dim=1) for o in outputs]
        ce, dice = [], []
        for o in outputs:
            c, d = supervised(o, label, lb, n_classes)
            ce.append(c)
            dice.append(d)
        supervised_loss = (ce[0] + ce[1] + ce[2] + ce[3] + dice[0] + dice[1] + dice[2] + dice[3]) / 8
        weight = consistency_weight(float(t['consistency']), float(t['consistency_rampup']), it)
        cons = [torch.mean((soft[0][lb:] - soft[s][lb:]) ** 2) for s in (1, 2, 3)]
        consistency = (cons[0] + cons[1] + cons[2]) / 3
        loss = supervised_loss + weight * consistency
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr_ = base_lr * (1.0 - it / max_iterations) ** 0.9
        for g in optimizer.param_groups:
            g['lr'] = lr_
        out['loss_%d' % it] = loss.item()
        out['loss_ce_%d' % it] = ce[0].item()
        out['loss_dice_%d' % it] = dice[0].item()
        out['consistency_loss_%d' % it] = consistency.item()
        out['consistency_weight_%d' % it] = weight
        out['lr_%d' % it] = lr_
    torch.save(model.state_dict(), sys.argv[3])
    emit(out)


cct_trace_main()
