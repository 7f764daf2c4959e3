# train_uncertainty_rectified_pyramid_consistency_2D.py's loop for the trace test, with UNet_URPC's head
# perturbations (dropout, FeatureDropout, FeatureNoise) left out on both sides.
# Usage: trace_urpc.py model.pth trace.pth


def trace_urpc():
    model = load_unet(sys.argv[1], UNetURPC)
    t = load_trace(sys.argv[2])
    lb, num_classes, base_lr, max_iterations = t['labeled_bs'], t['num_classes'], t['base_lr'], t['max_iterations']
    model.train()
    optimizer = sgd(model, base_lr)
    kl_distance = nn.KLDivLoss(reduction='none')
    out = Trace()
    iter_num = t['start_iter']
    for k, (volume_batch, label_batch) in enumerate(zip(t['images'], t['labels'])):
        outputs, outputs_aux1, outputs_aux2, outputs_aux3 = model(volume_batch)
        outputs_soft = torch.softmax(outputs, dim=1)
        outputs_aux1_soft = torch.softmax(outputs_aux1, dim=1)
        outputs_aux2_soft = torch.softmax(outputs_aux2, dim=1)
        outputs_aux3_soft = torch.softmax(outputs_aux3, dim=1)

        loss_ce = F.cross_entropy(outputs[:lb], label_batch[:lb][:].long())
        loss_ce_aux1 = F.cross_entropy(outputs_aux1[:lb], label_batch[:lb][:].long())
        loss_ce_aux2 = F.cross_entropy(outputs_aux2[:lb], label_batch[:lb][:].long())
        loss_ce_aux3 = F.cross_entropy(outputs_aux3[:lb], label_batch[:lb][:].long())

        loss_dice = dice_loss(outputs_soft[:lb], label_batch[:lb], num_classes)
        loss_dice_aux1 = dice_loss(outputs_aux1_soft[:lb], label_batch[:lb], num_classes)
        loss_dice_aux2 = dice_loss(outputs_aux2_soft[:lb], label_batch[:lb], num_classes)
        loss_dice_aux3 = dice_loss(outputs_aux3_soft[:lb], label_batch[:lb], num_classes)

        supervised_loss = (loss_ce + loss_ce_aux1 + loss_ce_aux2 + loss_ce_aux3 +
                           loss_dice + loss_dice_aux1 + loss_dice_aux2 + loss_dice_aux3) / 8

        preds = (outputs_soft + outputs_aux1_soft + outputs_aux2_soft + outputs_aux3_soft) / 4

        terms = []
        for soft in (outputs_soft, outputs_aux1_soft, outputs_aux2_soft, outputs_aux3_soft):
            # variance_x, exp_variance_x, consistency_dist_x, consistency_loss_x, written once for the four scales
            variance = torch.sum(kl_distance(torch.log(soft[lb:]), preds[lb:]), dim=1, keepdim=True)
            exp_variance = torch.exp(-variance)
            consistency_dist = (preds[lb:] - soft[lb:]) ** 2
            terms.append(torch.mean(consistency_dist * exp_variance) / (torch.mean(exp_variance) + 1e-8)
                         + torch.mean(variance))
        consistency_weight = get_current_consistency_weight(t, iter_num // 150)
        consistency_loss = (terms[0] + terms[1] + terms[2] + terms[3]) / 4
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


trace_urpc()
