# Ten iterations of train_adversarial_network_2D.py's loop, restated for the DAN trace test: the segmentation
# step (0.5 * (CE + Dice) + w * CE(DAN(softmax[lb:], image[lb:]), 1)), SGD(momentum 0.9, weight decay 1e-4),
# then model.eval(), DAN.train(), the DAN update with Adam(betas=(0.9, 0.99)) on the eval-mode softmax of the
# whole batch against [1] * lb + [0] * (batch - lb), then the poly rate. The DAN's Dropout2d has p = 0 here and
# in the Java run, so that both sides compute the same deterministic pass.
# Usage: dan_trace.py model.pth dan.pth batches.pth  (appended to unet2d_reference.py by the test)
# batches.pth: {'images': [...], 'labels': [...], 'labeled_bs', 'num_classes', 'consistency',
#               'consistency_rampup', 'iter_start', 'max_iterations', 'base_lr', 'dan_lr'}


class FCDiscriminator(nn.Module):
    """networks/discriminator.py's 2D evaluation network: two stems added, three strided convolutions."""

    def __init__(self, num_classes, ndf, n_channel=1):
        super().__init__()
        self.conv0 = nn.Conv2d(num_classes, ndf, kernel_size=4, stride=2, padding=1)
        self.conv1 = nn.Conv2d(n_channel, ndf, kernel_size=4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(ndf, ndf * 2, kernel_size=4, stride=2, padding=1)
        self.conv3 = nn.Conv2d(ndf * 2, ndf * 4, kernel_size=4, stride=2, padding=1)
        self.conv4 = nn.Conv2d(ndf * 4, ndf * 8, kernel_size=4, stride=2, padding=1)
        self.classifier = nn.Linear(ndf * 32, 2)
        self.avgpool = nn.AvgPool2d((7, 7))
        self.leaky_relu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        self.dropout = nn.Dropout2d(0.0)

    def forward(self, seg_map, image):
        x = self.conv0(seg_map) + self.conv1(image)
        x = self.dropout(self.leaky_relu(self.conv2(x)))
        x = self.dropout(self.leaky_relu(self.conv3(x)))
        x = self.avgpool(self.leaky_relu(self.conv4(x)))
        return self.classifier(x.view(x.size(0), -1))


def dan_main():
    torch.set_num_threads(1)
    model = load_unet(sys.argv[1])
    sd = torch.load(sys.argv[2])
    dan = FCDiscriminator(sd['conv0.weight'].shape[1], sd['conv0.weight'].shape[0])
    dan.load_state_dict(sd)
    b = torch.load(sys.argv[3])
    lb, n_classes = int(b['labeled_bs']), int(b['num_classes'])
    base_lr, max_iter = float(b['base_lr']), int(b['max_iterations'])
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)
    dan_optimizer = torch.optim.Adam(dan.parameters(), lr=float(b['dan_lr']), betas=(0.9, 0.99))
    out = {}
    for i, (volume, label) in enumerate(zip(b['images'], b['labels'])):
        iter_num = int(b['iter_start']) + i
        batch = volume.shape[0]
        dan_target = torch.tensor([0] * batch)
        dan_target[:lb] = 1
        model.train()
        dan.eval()
        outputs = model(volume)
        outputs_soft = torch.softmax(outputs, dim=1)
        ce, dice = supervised(outputs, label, lb, n_classes)
        w = consistency_weight(float(b['consistency']), float(b['consistency_rampup']), iter_num)
        consistency = F.cross_entropy(dan(outputs_soft[lb:], volume[lb:]), dan_target[:lb].long())
        loss = 0.5 * (dice + ce) + w * consistency
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        dan.train()
        with torch.no_grad():
            outputs_soft = torch.softmax(model(volume), dim=1)
        dan_loss = F.cross_entropy(dan(outputs_soft, volume), dan_target.long())
        dan_optimizer.zero_grad()
        dan_loss.backward()
        dan_optimizer.step()
        lr = base_lr * (1.0 - iter_num / max_iter) ** 0.9
        for group in optimizer.param_groups:
            group['lr'] = lr
        out['loss_%d' % i] = loss
        out['loss_ce_%d' % i] = ce
        out['loss_dice_%d' % i] = dice
        out['consistency_%d' % i] = consistency
        out['dan_loss_%d' % i] = dan_loss
    with torch.no_grad():
        model.eval()
        dan.eval()
        logits = dan(torch.softmax(model(b['images'][0]), dim=1), b['images'][0])
    for k in range(logits.numel()):
        out['final_dan_logit_%d' % k] = logits.flatten()[k]
    out['dan_step'] = float(dan_optimizer.state[dan.conv0.weight]['step'])
    emit(out)


dan_main()
