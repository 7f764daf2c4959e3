# train_uncertainty_aware_mean_teacher_2D.py's (and _3D.py's) loop for the trace test, every torch.randn_like
# draw (the teacher's input noise, then the T/2 noisy passes over the repeated batch) precomputed.
# Usage: trace_uamt.py model.pth ema.pth trace.pth


def trace_uamt():
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
        T = 8
        spatial = list(unlabeled_volume_batch.shape[2:])  # w, h (2D) or d, w, h (3D)
        volume_batch_r = unlabeled_volume_batch.repeat(2, *[1] * (unlabeled_volume_batch.dim() - 1))
        stride = volume_batch_r.shape[0] // 2
        # the 3D script writes 2 where the 2D one writes num_classes (its num_classes is 2)
        preds = torch.zeros([stride * T, num_classes] + spatial)
        for i in range(T // 2):
            ema_inputs = volume_batch_r + torch.clamp(draws.randn_like(volume_batch_r) * 0.1, -0.2, 0.2)
            with torch.no_grad():
                preds[2 * stride * i:2 * stride * (i + 1)] = ema_model(ema_inputs)
        preds = F.softmax(preds, dim=1)
        preds = preds.reshape([T, stride, num_classes] + spatial)
        preds = torch.mean(preds, dim=0)
        uncertainty = -1.0 * torch.sum(preds * torch.log(preds + 1e-6), dim=1, keepdim=True)

        loss_ce = F.cross_entropy(outputs[:lb], label_batch[:lb][:].long())
        loss_dice = dice_loss(outputs_soft[:lb], label_batch[:lb], num_classes)
        supervised_loss = 0.5 * (loss_dice + loss_ce)
        consistency_weight = get_current_consistency_weight(t, iter_num // 150)
        consistency_dist = softmax_mse_loss(outputs[lb:], ema_output)
        threshold = (0.75 + 0.25 * sigmoid_rampup(iter_num, max_iterations)) * np.log(2)
        mask = (uncertainty < threshold).float()
        consistency_loss = torch.sum(mask * consistency_dist) / (2 * torch.sum(mask) + 1e-16)

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
        out.add(k, certain_fraction=mask.mean())  # not a script term: shows the mask is neither empty nor full
    out.emit()


trace_uamt()
