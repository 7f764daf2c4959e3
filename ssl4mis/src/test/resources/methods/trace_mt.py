# train_mean_teacher_2D.py's and train_mean_teacher_3D.py's loop for the trace test, the teacher's
# torch.randn_like draws precomputed.
# Usage: trace_mt.py model.pth ema.pth trace.pth


def trace_mt():
    model = load_unet(sys.argv[1])
    ema_model = teacher(sys.argv[2])
    t = load_trace(sys.argv[3])
    lb, num_classes, base_lr, max_iterations = t['labeled_bs'], t['num_classes'], t['base_lr'], t['max_iterations']
    model.train()
    optimizer = sgd(model, base_lr)
    out = Trace()
    iter_num = t['start_iter']
    for k, (volume_batch, label_batch) in enumerate(zip(t['images'], t['labels'])):
        draws = Draws(t['draws'][k])
        unlabeled_volume_batch = volume_batch[lb:]

        noise = torch.clamp(draws.randn_like(unlabeled_volume_batch) * 0.1, -0.2, 0.2)
        ema_inputs = unlabeled_volume_batch + noise

        outputs = model(volume_batch)
        outputs_soft = torch.softmax(outputs, dim=1)
        with torch.no_grad():
            ema_output = ema_model(ema_inputs)
            ema_output_soft = torch.softmax(ema_output, dim=1)

        loss_ce = F.cross_entropy(outputs[:lb], label_batch[:][:lb].long())
        loss_dice = dice_loss(outputs_soft[:lb], label_batch[:lb], num_classes)
        supervised_loss = 0.5 * (loss_dice + loss_ce)
        consistency_weight = get_current_consistency_weight(t, iter_num // 150)
        if t['dim'] == 2 and iter_num < 1000:  # the 3D script has no such start
            consistency_loss = 0.0
        else:
            consistency_loss = torch.mean((outputs_soft[lb:] - ema_output_soft) ** 2)
        loss = supervised_loss + consistency_weight * consistency_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        update_ema_variables(model, ema_model, t['ema_decay'], iter_num)
        lr_ = poly_lr(base_lr, iter_num, max_iterations)
        set_lr(optimizer, lr_)
        iter_num = iter_num + 1
        draws.done()
        out.add(k, loss=loss, lr=lr_, info__loss_ce=loss_ce, info__loss_dice=loss_dice,
                info__consistency_loss=consistency_loss, info__consistency_weight=consistency_weight)
    out.emit()


trace_mt()
