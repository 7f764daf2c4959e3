# The pieces the trace scripts share, restated from the reference scripts and utils/losses.py: the optimizer,
# the teacher's EMA update, the poly rate, the losses beyond the supervised ones, and the trace's input/output.
# Appended to unet2d_reference.py (and for 3D followed by vnet_reference.py); a trace_<method>.py script follows
# and calls its loop. The scripts follow the 2D reference script and, where t['dim'] == 3, the 3D one.
#
# trace.pth (written by the Java test): {'dim': 2 or 3, 'images': [N x 1 x H x W] or [N x 1 x D x H x W] * 10,
#   'labels': [N x H x W] or [N x D x H x W] * 10,
#   'draws': per iteration the list of standard normal draws the method asked for (teacher noise), or [],
#   'factors': per iteration ICT's Beta draws (float64), or [], 'start_iter', 'max_iterations', 'base_lr',
#   'labeled_bs', 'num_classes', 'consistency', 'consistency_rampup', 'ema_decay'}

torch.set_num_threads(1)  # tiny networks: worker threads only contend on a busy machine, as on the Java side


def load_trace(path):
    t = torch.load(path)
    for k in ('dim', 'start_iter', 'max_iterations', 'labeled_bs', 'num_classes'):
        t[k] = int(t[k])
    for k in ('base_lr', 'consistency', 'consistency_rampup', 'ema_decay'):
        t[k] = float(t[k])
    return t


def sgd(model, base_lr):
    return torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=0.0001)


def teacher(path, network=None):
    """create_model(ema=True): the teacher's parameters detached, never given to an optimizer."""
    model = load_unet(path, network)
    for param in model.parameters():
        param.detach_()
    return model


def update_ema_variables(model, ema_model, alpha, global_step):
    alpha = min(1 - 1 / (global_step + 1), alpha)
    for ema_param, param in zip(ema_model.parameters(), model.parameters()):
        ema_param.data.mul_(alpha).add_(param.data, alpha=1 - alpha)


def sigmoid_rampup(current, rampup_length):
    """utils/ramps.py's sigmoid_rampup."""
    if rampup_length == 0:
        return 1.0
    current = np.clip(current, 0.0, rampup_length)
    phase = 1.0 - current / rampup_length
    return float(np.exp(-5.0 * phase * phase))


def get_current_consistency_weight(t, epoch):
    return t['consistency'] * sigmoid_rampup(epoch, t['consistency_rampup'])


def poly_lr(base_lr, iter_num, max_iterations):
    return base_lr * (1.0 - iter_num / max_iterations) ** 0.9


def set_lr(optimizer, lr_):
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr_


def softmax_mse_loss(input_logits, target_logits):
    return (F.softmax(input_logits, dim=1) - F.softmax(target_logits, dim=1)) ** 2


def compute_kl_loss(p, q):
    p_loss = F.kl_div(F.log_softmax(p, dim=-1), F.softmax(q, dim=-1), reduction='none')
    q_loss = F.kl_div(F.log_softmax(q, dim=-1), F.softmax(p, dim=-1), reduction='none')
    return (p_loss.mean() + q_loss.mean()) / 2


def entropy_loss(p, C=2):
    # the reference divides by torch.tensor(np.log(C)).cuda(), a float64 scalar tensor
    y1 = -1 * torch.sum(p * torch.log(p + 1e-6), dim=1) / torch.tensor(np.log(C))
    return torch.mean(y1)


class Draws:
    """The iteration's precomputed torch.randn_like draws, handed out in the order the script asks for them."""

    def __init__(self, draws):
        self.draws = list(draws)

    def randn_like(self, x):
        d = self.draws.pop(0)
        assert d.shape == x.shape, 'draw of shape %s for a tensor of shape %s' % (tuple(d.shape), tuple(x.shape))
        return d.to(x.dtype)

    def done(self):
        assert not self.draws, '%d draws left unused' % len(self.draws)


class Trace:
    """Iteration k's terms under the script's tags, printed as one flat JSON object {"k|tag": value}."""

    def __init__(self):
        self.values = {}

    def add(self, k, **terms):
        for tag, v in terms.items():
            self.values['%d|%s' % (k, tag.replace('__', '/'))] = float(v)

    def emit(self):
        print(json.dumps(self.values))
