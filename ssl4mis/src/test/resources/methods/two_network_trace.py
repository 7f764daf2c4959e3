# Ten iterations of train_cross_pseudo_supervision_2D.py, train_cross_teaching_between_cnn_transformer_2D.py
# and train_deep_co_training_2D.py, restated for the trace tests: the scripts' losses, one backward of the sum,
# one SGD per network (momentum 0.9, weight decay 1e-4) and the scripts' poly learning rate after each step.
# Usage: two_network_trace.py METHOD trace.pth model1.pth [model2.pth]
#   (appended to unet2d_reference.py, and for ct to the Swin-UNet re-statement, by the test)
# trace.pth: {'images': [...], 'labels': [...], 'labeled_bs', 'num_classes', 'consistency', 'consistency_rampup',
#             'iter_num' (of the first step), 'base_lr', 'max_iterations', 'rotations' (dct), 'swin' (ct: yacs values)}
# Prints {"<i>_<term>": value} for every iteration i.


def poly(base_lr, it, max_iterations):
    return base_lr * (1.0 - it / max_iterations) ** 0.9


def trace_main():
    method = sys.argv[1]
    t = torch.load(sys.argv[2])
    lb, n_classes = int(t['labeled_bs']), int(t['num_classes'])
    base_lr, max_it = float(t['base_lr']), int(t['max_iterations'])
    model1 = load_unet(sys.argv[3])
    nets = [model1]
    if method in ('cps', 'ct'):
        if method == 'ct' and 'swin' in t:
            model2 = SwinUnet(make_config(dict(t['swin'])), num_classes=n_classes)
            model2.load_state_dict(torch.load(sys.argv[4]), strict=True)
            model2.train()
        else:
            model2 = load_unet(sys.argv[4])
        nets.append(model2)
    opts = [torch.optim.SGD(n.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001) for n in nets]
    out = {}
    iter_num = int(t['iter_num'])
    for i, (volume, label) in enumerate(zip(t['images'], t['labels'])):
        w = consistency_weight(float(t['consistency']), float(t['consistency_rampup']), iter_num)
        if method == 'dct':
            k = int(t['rotations'][i])
            outputs = model1(volume)
            soft = torch.softmax(outputs, dim=1)
            rot_soft = torch.softmax(model1(torch.rot90(volume[lb:], k, [2, 3])), dim=1)
            ce, dice = supervised(outputs, label, lb, n_classes)
            cons = 0.5 * (torch.mean((rot_soft.detach() - torch.rot90(soft[lb:], k, [2, 3])) ** 2)
                          + torch.mean((rot_soft - torch.rot90(soft[lb:].detach(), k, [2, 3])) ** 2))
            loss = 0.5 * (dice + ce) + w * cons
            terms = {'loss': loss, 'loss_ce': ce, 'loss_dice': dice, 'consistency_loss': cons}
        else:
            o1, o2 = model1(volume), nets[1](volume)
            s1, s2 = torch.softmax(o1, dim=1), torch.softmax(o2, dim=1)
            l1 = 0.5 * sum(supervised(o1, label, lb, n_classes))
            l2 = 0.5 * sum(supervised(o2, label, lb, n_classes))
            p1 = torch.argmax(s1[lb:].detach(), dim=1, keepdim=False)
            p2 = torch.argmax(s2[lb:].detach(), dim=1, keepdim=False)
            if method == 'cps':
                ps1 = F.cross_entropy(o1[lb:], p2)
                ps2 = F.cross_entropy(o2[lb:], p1)
            else:
                ps1 = dice_loss(s1[lb:], p2, n_classes)
                ps2 = dice_loss(s2[lb:], p1, n_classes)
            m1, m2 = l1 + w * ps1, l2 + w * ps2
            loss = m1 + m2
            terms = {'loss': loss, 'model1_loss': m1, 'model2_loss': m2}
        for o in opts:
            o.zero_grad()
        loss.backward()
        for o in opts:
            o.step()
        # CPS and cross teaching set the rate after iter_num += 1, deep co-training before
        lr = poly(base_lr, iter_num + 1 if method in ('cps', 'ct') else iter_num, max_it)
        for o in opts:
            for g in o.param_groups:
                g['lr'] = lr
        iter_num += 1
        terms['lr'] = lr
        terms['consistency_weight'] = w
        for k, v in terms.items():
            out['%d_%s' % (i, k)] = v
    emit(out)


trace_main()
