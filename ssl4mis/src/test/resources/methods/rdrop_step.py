# One iteration of train_regularized_dropout_2D.py's loss, restated for the R-Drop step test, with the KL term
# over the last axis (the script's compute_kl_loss) and over the class axis (the fix).
# Usage: rdrop_step.py model1.pth model2.pth batch.pth  (appended to unet2d_reference.py by the test)
# batch.pth: {'image', 'label', 'labeled_bs', 'num_classes', 'consistency', 'consistency_rampup', 'iter_num'}


def kl_both_ways(p, q, dim):
    a = F.kl_div(F.log_softmax(p, dim=dim), F.softmax(q, dim=dim), reduction='none').mean()
    b = F.kl_div(F.log_softmax(q, dim=dim), F.softmax(p, dim=dim), reduction='none').mean()
    return (a + b) / 2


def rdrop_main():
    model1 = load_unet(sys.argv[1])
    model2 = load_unet(sys.argv[2])
    b = torch.load(sys.argv[3])
    volume, label = b['image'], b['label']
    lb, n_classes = int(b['labeled_bs']), int(b['num_classes'])
    o1 = model1(volume)
    o2 = model2(volume)
    w = consistency_weight(float(b['consistency']), float(b['consistency_rampup']), int(b['iter_num']))
    ce1, dice1 = supervised(o1, label, lb, n_classes)
    ce2, dice2 = supervised(o2, label, lb, n_classes)
    m1 = 0.5 * (ce1 + dice1)
    m2 = 0.5 * (ce2 + dice2)
    kl_last = kl_both_ways(o1[lb:], o2[lb:], -1)
    kl_class = kl_both_ways(o1[lb:], o2[lb:], 1)
    emit({'model1_loss': m1, 'model2_loss': m2, 'r_drop_loss': kl_last, 'r_drop_loss_class': kl_class,
          'consistency_weight': w, 'loss': m1 + m2 + w * kl_last, 'loss_class': m1 + m2 + w * kl_class})


rdrop_main()
