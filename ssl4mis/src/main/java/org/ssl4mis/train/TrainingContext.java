package org.ssl4mis.train;

import org.ssl4mis.networks.Networks;

/**
 * What a {@link Method} sees during an iteration: the student and (when the method uses one) the EMA
 * teacher, the configuration and the iteration counter before the step ({@code iter_num} in the scripts).
 */
public record TrainingContext(TrainConfig config, Networks.Network model, Networks.Network emaModel, int iterNum) {
  public int labeledBs() {
    return config.labeledBs();
  }

  public int numClasses() {
    return config.numClasses();
  }

  public int maxIterations() {
    return config.maxIterations();
  }
}
