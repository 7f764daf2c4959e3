package org.ssl4mis.train.methods;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.losses.DiceLoss;
import org.ssl4mis.losses.Losses;

/**
 * The supervised part every 2D script computes on the labelled head of the batch:
 * {@code loss_ce = CE(outputs[:lb], label[:lb])}, {@code loss_dice = DiceLoss(softmax(outputs)[:lb],
 * label[:lb].unsqueeze(1))}, {@code supervised = 0.5 * (loss_dice + loss_ce)}.
 */
record Supervised(Tensor lossCe, Tensor lossDice, Tensor loss) {

  static Supervised of(DiceLoss dice, Tensor outputs, Tensor labelBatch, int labeledBs) {
    Tensor labels = Slicing.head(labelBatch, labeledBs);
    Tensor lossCe = Losses.cross_entropy(Slicing.head(outputs, labeledBs), labels);
    Tensor lossDice = dice.forward(Slicing.head(torch.softmax(outputs, 1), labeledBs), labels.unsqueeze(1));
    return new Supervised(lossCe, lossDice, lossDice.add(lossCe).mul(new Scalar(0.5)));
  }
}
