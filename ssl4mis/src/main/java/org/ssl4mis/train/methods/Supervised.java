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

  /**
   * The supervised term of the scripts whose network has several full-resolution outputs (URPC's pyramid,
   * CCT's main and auxiliary decoders): {@code (CE(o_0) + ... + CE(o_k) + Dice(p_0) + ... + Dice(p_k)) / (2 (k+1))}
   * added left to right as the scripts write it, with each output's softmax and terms.
   */
  record Outputs(Tensor[] soft, Tensor[] ce, Tensor[] dice, Tensor supervised) {
    static Outputs of(DiceLoss diceLoss, java.util.List<Tensor> outputs, Tensor labelBatch, int labeledBs) {
      int n = outputs.size();
      Tensor[] soft = new Tensor[n];
      Tensor[] ce = new Tensor[n];
      Tensor[] dice = new Tensor[n];
      for (int s = 0; s < n; s++) {
        soft[s] = torch.softmax(outputs.get(s), 1);
        Supervised sup = Supervised.of(diceLoss, outputs.get(s), labelBatch, labeledBs);
        ce[s] = sup.lossCe();
        dice[s] = sup.lossDice();
      }
      Tensor supervised = ce[0];
      for (int s = 1; s < n; s++) {
        supervised = supervised.add(ce[s]);
      }
      for (int s = 0; s < n; s++) {
        supervised = supervised.add(dice[s]);
      }
      return new Outputs(soft, ce, dice, supervised.div(new Scalar(2.0 * n)));
    }
  }
}
