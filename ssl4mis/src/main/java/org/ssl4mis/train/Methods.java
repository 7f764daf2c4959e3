package org.ssl4mis.train;

import java.util.List;
import org.ssl4mis.train.methods.ContextAwareNetwork;
import org.ssl4mis.train.methods.CrossPseudoSupervision;
import org.ssl4mis.train.methods.CrossTeaching;
import org.ssl4mis.train.methods.DeepAdversarialNetwork;
import org.ssl4mis.train.methods.DeepCoTraining;
import org.ssl4mis.train.methods.CrossConsistencyTraining;
import org.ssl4mis.train.methods.EntropyMinimization;
import org.ssl4mis.train.methods.FixMatchCta;
import org.ssl4mis.train.methods.FixMatchStandardAugs;
import org.ssl4mis.train.methods.FullySupervised;
import org.ssl4mis.train.methods.InterpolationConsistency;
import org.ssl4mis.train.methods.RegularizedDropout;
import org.ssl4mis.train.methods.UncertaintyRectifiedPyramidConsistency;
import org.ssl4mis.train.methods.MeanTeacher;
import org.ssl4mis.train.methods.UncertaintyAwareMeanTeacher;

/** The methods {@code --method} accepts, by name. */
public final class Methods {
  private Methods() {}

  public static List<String> names() {
    return List.of("supervised", "mt", "uamt", "ict", "em", "urpc", "rdrop", "cct", "fixmatch", "fixmatch_cta",
        "cps", "dct", "ct", "dan", "canet");
  }

  public static Method create(String name) {
    return switch (name) {
      case "supervised", "fully_supervised" -> new FullySupervised();
      case "mt", "mean_teacher" -> new MeanTeacher();
      case "uamt", "uncertainty_aware_mean_teacher" -> new UncertaintyAwareMeanTeacher();
      case "ict", "interpolation_consistency" -> new InterpolationConsistency();
      case "em", "entropy_minimization" -> new EntropyMinimization();
      case "urpc", "uncertainty_rectified_pyramid_consistency" -> new UncertaintyRectifiedPyramidConsistency();
      case "rdrop", "regularized_dropout" -> new RegularizedDropout();
      case "cps", "cross_pseudo_supervision" -> new CrossPseudoSupervision();
      case "dct", "deep_co_training" -> new DeepCoTraining();
      case "ct", "cross_teaching", "cross_teaching_between_cnn_transformer" -> new CrossTeaching();
      case "dan", "adversarial_network" -> new DeepAdversarialNetwork();
      case "canet" -> new ContextAwareNetwork();
      case "cct", "cross_consistency_training" -> new CrossConsistencyTraining();
      case "fixmatch", "fixmatch_standard_augs" -> new FixMatchStandardAugs();
      case "fixmatch_cta" -> new FixMatchCta();
      default -> throw new IllegalArgumentException("unknown method '" + name + "'; available: " + names());
    };
  }
}
