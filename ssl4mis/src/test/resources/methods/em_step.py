# One iteration of train_entropy_minimization_2D.py's loss, restated for the EM step test.
# Usage: em_step.py model.pth batch.pth  (appended to unet2d_reference.py by the test)
# batch.pth: {'image', 'label', 'labeled_bs', 'num_classes', 'consistency', 'consistency_rampup', 'iter_num',
#             'entropy_c'}


def em_main():
    model = load_unet(sys.argv[1])
    b = torch.load(sys.argv[2])
    volume, label = b['image'], b['label']
    lb, n_classes = int(b['labeled_bs']), int(b['num_classes'])
    outputs = model(volume)
    soft = torch.softmax(outputs, dim=1)
    ce, dice = supervised(outputs, label, lb, n_classes)
    w = consistency_weight(float(b['consistency']), float(b['consistency_rampup']), int(b['iter_num']))
    c = int(b['entropy_c'])
    # losses.entropy_loss(p, C): the per-position entropy over classes, divided by a float64 log(C), averaged
    entropy = torch.mean(-1 * torch.sum(soft * torch.log(soft + 1e-6), dim=1) / torch.tensor(np.log(c)))
    loss = 0.5 * (dice + ce) + w * entropy
    emit({'loss': loss, 'loss_ce': ce, 'loss_dice': dice, 'consistency_loss': entropy, 'consistency_weight': w})


em_main()
