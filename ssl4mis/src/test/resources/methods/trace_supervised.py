# train_fully_supervised_2D.py's (and _3D.py's, with DiceLoss(2) = DiceLoss(num_classes) at 2 classes) loop for
# the trace test: labelled batches only, the loss on the whole batch.
# Usage: trace_supervised.py model.pth trace.pth


def trace_supervised():
    model = load_unet(sys.argv[1])
    t = load_trace(sys.argv[2])
    num_classes, base_lr, max_iterations = t['num_classes'], t['base_lr'], t['max_iterations']
    model.train()
    optimizer = sgd(model, base_lr)
    out = Trace()
    iter_num = t['start_iter']
    for k, (volume_batch, label_batch) in enumerate(zip(t['images'], t['labels'])):
        outputs = model(volume_batch)
        outputs_soft = torch.softmax(outputs, dim=1)
        loss_ce = F.cross_entropy(outputs, label_batch[:].long())
        loss_dice = dice_loss(outputs_soft, label_batch, num_classes)
        loss = 0.5 * (loss_dice + loss_ce)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr_ = poly_lr(base_lr, iter_num, max_iterations)
        set_lr(optimizer, lr_)
        iter_num = iter_num + 1
        out.add(k, loss=loss, lr=lr_, info__loss_ce=loss_ce, info__loss_dice=loss_dice)
    out.emit()


trace_supervised()
