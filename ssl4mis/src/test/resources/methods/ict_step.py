# One iteration of train_interpolation_consistency_training_2D.py's loss, restated for the ICT step test.
# Usage: ict_step.py student.pth teacher.pth batch.pth  (appended to unet2d_reference.py by the test)
# batch.pth: {'image', 'label', 'factors' (the Beta draws, float64), 'labeled_bs', 'num_classes',
#             'consistency', 'consistency_rampup', 'iter_num'}


def ict_main():
    student = load_unet(sys.argv[1])
    teacher = load_unet(sys.argv[2])
    b = torch.load(sys.argv[3])
    volume, label = b['image'], b['label']
    lb, n_classes = int(b['labeled_bs']), int(b['num_classes'])
    half = lb // 2
    lam = torch.tensor(b['factors'].numpy().reshape(half, 1, 1, 1), dtype=torch.float)

    unlabeled = volume[lb:]
    u0 = unlabeled[0:half, ...]
    u1 = unlabeled[half:, ...]
    mixed = u0 * (1.0 - lam) + u1 * lam
    outputs = student(torch.cat([volume[:lb], mixed], dim=0))
    soft = torch.softmax(outputs, dim=1)
    with torch.no_grad():
        t0 = torch.softmax(teacher(u0), dim=1)
        t1 = torch.softmax(teacher(u1), dim=1)
        target = t0 * (1.0 - lam) + t1 * lam
    ce, dice = supervised(outputs, label, lb, n_classes)
    w = consistency_weight(float(b['consistency']), float(b['consistency_rampup']), int(b['iter_num']))
    cons = torch.mean((soft[lb:] - target) ** 2)
    loss = 0.5 * (dice + ce) + w * cons
    emit({'loss': loss, 'loss_ce': ce, 'loss_dice': dice, 'consistency_loss': cons, 'consistency_weight': w,
          'mixed_sum': mixed.double().sum()})


ict_main()
