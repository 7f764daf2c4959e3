# train_regularized_dropout_2D.py's (and _3D.py's) loop for the trace test: two networks, two optimizers, the
# learning rate set after iter_num += 1.
# Usage: trace_rdrop.py model1.pth model2.pth trace.pth


def trace_rdrop():
    model1 = load_unet(sys.argv[1])
    model2 = load_unet(sys.argv[2])
    t = load_trace(sys.argv[3])
    lb, num_classes, base_lr, max_iterations = t['labeled_bs'], t['num_classes'], t['base_lr'], t['max_iterations']
    model1.train()
    model2.train()
    optimizer1 = sgd(model1, base_lr)
    optimizer2 = sgd(model2, base_lr)
    out = Trace()
    iter_num = t['start_iter']
    for k, (volume_batch, label_batch) in enumerate(zip(t['images'], t['labels'])):
        outputs1 = model1(volume_batch)
        outputs_soft1 = torch.softmax(outputs1, dim=1)

        outputs2 = model2(volume_batch)
        outputs_soft2 = torch.softmax(outputs2, dim=1)
        consistency_weight = get_current_consistency_weight(t, iter_num // 150)

        model1_loss = 0.5 * (F.cross_entropy(outputs1[:lb], label_batch[:lb].long()) + dice_loss(
            outputs_soft1[:lb], label_batch[:lb], num_classes))
        model2_loss = 0.5 * (F.cross_entropy(outputs2[:lb], label_batch[:lb].long()) + dice_loss(
            outputs_soft2[:lb], label_batch[:lb], num_classes))

        r_drop_loss = compute_kl_loss(outputs1[lb:], outputs2[lb:])

        loss = model1_loss + model2_loss + consistency_weight * r_drop_loss

        optimizer1.zero_grad()
        optimizer2.zero_grad()

        loss.backward()

        optimizer1.step()
        optimizer2.step()

        iter_num = iter_num + 1

        lr_ = poly_lr(base_lr, iter_num, max_iterations)
        set_lr(optimizer1, lr_)
        set_lr(optimizer2, lr_)
        out.add(k, loss=loss, lr=lr_, consistency_weight__consistency_weight=consistency_weight,
                loss__model1_loss=model1_loss, loss__model2_loss=model2_loss, loss__r_drop_loss=r_drop_loss)
    out.emit()


trace_rdrop()
