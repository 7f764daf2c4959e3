package org.ssl4mis.train;

import org.ssl4mis.networks.Networks;

/** The periodic validation of a training run (2D: the reference's slice-wise {@code test_single_volume}). */
@FunctionalInterface
public interface Validator {
  /**
   * Evaluates the model (already in eval mode) on the validation set.
   *
   * @return per foreground class {@code [dice, hd95]} averaged over the cases, as the scripts' {@code metric_list}
   */
  double[][] validate(Networks.Network model) throws Exception;
}
