# train_entropy_minimization_2D.py's and train_entropy_minimization_3D.py's loop for the trace test (no
# randomness of its own).
# Usage: trace_em.py model.pth trace.pth


def trace_em():
    model = load_unet(sys.argv[1])
    t = load_trace(sys.argv[2])
    lb, num_classes, base_lr, max_iterations = t['labeled_bs'], t['num_classes'], t['base_lr'], t['max_iterations']
    model.train()
    optimizer = sgd(model, base_lr)
    out = Trace()
    iter_num = t['start_iter']
    for k, (volume_batch, label_batch) in enumerate(zip(t['images'], t['labels'])):
        outputs = model(volume_batch)
        outputs_soft = torch.softmax(outputs, dim=1)

        loss_ce = F.cross_entropy(outputs[:lb], label_batch[:][:lb].long())
        loss_dice = dice_loss(outputs_soft[:lb], label_batch[:lb], num_classes)
        supervised_loss = 0.5 * (loss_dice + loss_ce)

        consistency_weight = get_current_consistency_weight(t, iter_num // 150)
        consistency_loss = entropy_loss(outputs_soft, C=4 if t['dim'] == 2 else 2)  # the scripts' constants
        loss = supervised_loss + consistency_weight * consistency_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        lr_ = poly_lr(base_lr, iter_num, max_iterations)
        set_lr(optimizer, lr_)
        iter_num = iter_num + 1
        out.add(k, loss=loss, lr=lr_, info__loss_ce=loss_ce, info__loss_dice=loss_dice,
                info__consistency_loss=consistency_loss, info__consistency_weight=consistency_weight)
    out.emit()


trace_em()
