# Ten iterations of the FixMatch scripts' loop, restated for the FixMatch trace tests, on given augmented
# batches (image_weak, image_strong, label_aug), so only the loop is compared:
#  standard: train_fixmatch_standard_augs.py (normalised-threshold pseudo-labels from the student, the
#            complementary loss, lr set before iter_num += 1, EMA updated and unused);
#  cta:      train_fixmatch_cta.py (pseudo-labels from the EMA model in training mode, EMA update, lr set after
#            iter_num += 1).
# Usage: fixmatch_trace.py standard|cta model.pth trace.pth out.pth  (appended to unet2d_reference.py)
from torch.distributions import Categorical


def normalize(tensor):
    min_val = tensor.min(1, keepdim=True)[0]
    max_val = tensor.max(1, keepdim=True)[0]
    return (tensor - min_val) / max_val


def fixmatch_trace_main():
    mode = sys.argv[1]
    t = torch.load(sys.argv[3])
    lb, n_classes = int(t['labeled_bs']), int(t['num_classes'])
    base_lr, max_iterations = float(t['base_lr']), int(t['max_iterations'])
    batch_size, side = int(t['batch_size']), int(t['side'])
    conf_thresh, ema_decay = float(t['conf_thresh']), float(t['ema_decay'])
    model = load_unet(sys.argv[2])
    ema_model = load_unet(sys.argv[2])
    for p in ema_model.parameters():
        p.detach_()
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)
    ce_loss = torch.nn.CrossEntropyLoss()
    out = {}
    for iter_num in range(int(t['iterations'])):
        weak_batch, strong_batch, label_batch = t['weak_%d' % iter_num], t['strong_%d' % iter_num], t['label_%d' % iter_num]
        outputs_weak = model(weak_batch)
        outputs_weak_soft = torch.softmax(outputs_weak, dim=1)
        outputs_strong = model(strong_batch)
        outputs_strong_soft = torch.softmax(outputs_strong, dim=1)
        w = consistency_weight(float(t['consistency']), float(t['consistency_rampup']), iter_num)
        sup_loss = ce_loss(outputs_weak[:lb], label_batch[:lb].long()) + dice_loss(outputs_weak_soft[:lb], label_batch[:lb], n_classes)
        if mode == 'standard':
            pseudo_mask = (normalize(outputs_weak_soft) > conf_thresh).float()
            outputs_weak_masked = outputs_weak_soft * pseudo_mask
            pseudo_outputs = torch.argmax(outputs_weak_masked[lb:].detach(), dim=1, keepdim=False)
            il_output = torch.reshape(outputs_strong_soft, (batch_size, n_classes, side * side))
            as_weight = 1 - (Categorical(probs=il_output).entropy() / np.log(side * side))
            as_weight = torch.mean(as_weight)
            comp_labels = torch.argmin(outputs_weak_soft.detach(), dim=1, keepdim=False)
            comp_loss = as_weight * ce_loss(torch.add(torch.negative(outputs_strong_soft), 1), comp_labels)
            unsup_loss = (ce_loss(outputs_strong[lb:], pseudo_outputs)
                          + dice_loss(outputs_strong_soft[lb:], pseudo_outputs, n_classes) + as_weight * comp_loss)
        else:
            with torch.no_grad():
                ema_outputs_soft = torch.softmax(ema_model(weak_batch), dim=1)
                pseudo_outputs = torch.argmax(ema_outputs_soft.detach(), dim=1, keepdim=False)
            unsup_loss = ce_loss(outputs_strong[lb:], pseudo_outputs[lb:]) + dice_loss(
                outputs_strong_soft[lb:], pseudo_outputs[lb:], n_classes)
        loss = sup_loss + w * unsup_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        alpha = min(1 - 1 / (iter_num + 1), ema_decay)
        for ema_param, param in zip(ema_model.parameters(), model.parameters()):
            ema_param.data.mul_(alpha).add_(param.data, alpha=1 - alpha)
        step = iter_num + 1 if mode == 'cta' else iter_num
        lr_ = base_lr * (1.0 - step / max_iterations) ** 0.9
        for g in optimizer.param_groups:
            g['lr'] = lr_
        out['loss_%d' % iter_num] = loss.item()
        out['weight_%d' % iter_num] = w
        out['lr_%d' % iter_num] = lr_
    torch.save(model.state_dict(), sys.argv[4])
    torch.save(ema_model.state_dict(), sys.argv[4].replace('.pth', '_ema.pth'))
    emit(out)


fixmatch_trace_main()
