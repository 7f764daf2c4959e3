package org.ssl4mis.train;

import java.util.List;
import org.ssl4mis.networks.Networks;

/**
 * What a {@link Method} sees during an iteration: the students ({@link Method#students}: the scripts'
 * {@code model}, or {@code model1} and {@code model2}), the EMA teacher when the method uses one, the
 * configuration and the iteration counter before the step ({@code iter_num} in the scripts).
 */
public record TrainingContext(TrainConfig config, List<Networks.Network> students, Networks.Network emaModel,
    int iterNum) {
  public TrainingContext {
    students = List.copyOf(students);
    if (students.isEmpty()) {
      throw new IllegalArgumentException("a training context needs at least one network");
    }
  }

  /** One network, as the single-network scripts have it. */
  public TrainingContext(TrainConfig config, Networks.Network model, Networks.Network emaModel, int iterNum) {
    this(config, List.of(model), emaModel, iterNum);
  }

  /** The first student: the scripts' {@code model} (or {@code model1}). */
  public Networks.Network model() {
    return students.get(0);
  }

  /** Student {@code i} (0: {@code model1}, 1: {@code model2}). */
  public Networks.Network student(int i) {
    if (i < 0 || i >= students.size()) {
      throw new IllegalArgumentException("student " + i + " of " + students.size() + " requested");
    }
    return students.get(i);
  }

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
