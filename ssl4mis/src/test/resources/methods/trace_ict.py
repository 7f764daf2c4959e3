# train_interpolation_consistency_training_2D.py's (and _3D.py's) loop for the trace test, the np.random.beta
# draws precomputed.
# Usage: trace_ict.py model.pth ema.pth trace.pth


def trace_ict():
    model = load_unet(sys.argv[1])
    ema_model = teacher(sys.argv[2])
    t = load_trace(sys.argv[3])
    lb, num_classes, base_lr, max_iterations = t['labeled_bs'], t['num_classes'], t['base_lr'], t['max_iterations']
    model.train()
    optimizer = sgd(model, base_lr)
    out = Trace()
    iter_num = t['start_iter']
    for k, (volume_batch, label_batch) in enumerate(zip(t['images'], t['labels'])):
        unlabeled_volume_batch = volume_batch[lb:]
        labeled_volume_batch = volume_batch[:lb]

        # ICT mix factors: np.random.beta(ict_alpha, ict_alpha, size=(lb // 2, 1, 1, 1)) (3D: one more 1), drawn
        # in Java
        ict_mix_factors = t['factors'][k].numpy().reshape((lb // 2,) + (1,) * (volume_batch.dim() - 1))
        ict_mix_factors = torch.tensor(ict_mix_factors, dtype=torch.float)
        if t['dim'] == 2:
            unlabeled_volume_batch_0 = unlabeled_volume_batch[0:lb // 2, ...]
            unlabeled_volume_batch_1 = unlabeled_volume_batch[lb // 2:, ...]
        else:  # the 3D script mixes the first two unlabelled volumes whatever the batch
            unlabeled_volume_batch_0 = unlabeled_volume_batch[0:1, ...]
            unlabeled_volume_batch_1 = unlabeled_volume_batch[1:2, ...]

        batch_ux_mixed = unlabeled_volume_batch_0 * (1.0 - ict_mix_factors) + \
            unlabeled_volume_batch_1 * ict_mix_factors
        input_volume_batch = torch.cat([labeled_volume_batch, batch_ux_mixed], dim=0)
        outputs = model(input_volume_batch)
        outputs_soft = torch.softmax(outputs, dim=1)
        with torch.no_grad():
            ema_output_ux0 = torch.softmax(ema_model(unlabeled_volume_batch_0), dim=1)
            ema_output_ux1 = torch.softmax(ema_model(unlabeled_volume_batch_1), dim=1)
            batch_pred_mixed = ema_output_ux0 * (1.0 - ict_mix_factors) + ema_output_ux1 * ict_mix_factors

        loss_ce = F.cross_entropy(outputs[:lb], label_batch[:lb][:].long())
        loss_dice = dice_loss(outputs_soft[:lb], label_batch[:lb], num_classes)
        supervised_loss = 0.5 * (loss_dice + loss_ce)
        consistency_weight = get_current_consistency_weight(t, iter_num // 150)
        consistency_loss = torch.mean((outputs_soft[lb:] - batch_pred_mixed) ** 2)
        loss = supervised_loss + consistency_weight * consistency_loss

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        update_ema_variables(model, ema_model, t['ema_decay'], iter_num)
        lr_ = poly_lr(base_lr, iter_num, max_iterations)
        set_lr(optimizer, lr_)
        iter_num = iter_num + 1
        out.add(k, loss=loss, lr=lr_, info__loss_ce=loss_ce, info__loss_dice=loss_dice,
                info__consistency_loss=consistency_loss, info__consistency_weight=consistency_weight)
    out.emit()


trace_ict()
