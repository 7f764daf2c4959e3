import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains what SSL4MIS's {@code train_cross_pseudo_supervision_2D.py} (or, with {@code --dim 3},
 * {@code train_cross_pseudo_supervision_3D.py}) trains: two networks, each with its own SGD, teaching each other
 * with hard pseudo labels; the scripts' arguments, defaults and schedule, and their snapshot folder
 * ({@code ../model/{exp}_{labeled_num}/{model}}: log.txt, TensorBoard files, {@code model1_iter_*_dice_*.pth},
 * {@code model2_iter_*_dice_*.pth}, {@code unet_best_model1.pth}, {@code unet_best_model2.pth},
 * {@code model1_iter_3000.pth}, ...).
 *
 * <p>Run (after one build, e.g. {@code bin/ssl4mis doctor}):
 * <pre>
 * bin/ssl4mis run-example examples/TrainCPS.java --root_path ../data/ACDC --labeled_num 7
 * bin/ssl4mis run-example examples/TrainCPS.java --dim 3 --root_path ../data/BraTS2019
 * </pre>
 * As in the 2D script, model2's improvement checkpoints are named with {@code round(dice)} (0 or 1); add
 * {@code --extra cps_model2_round=4} to name them like model1's.
 */
public class TrainCPS {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The train command's exit status (0 on success). */
  public static int run(String[] args) {
    List<String> line = new ArrayList<>(List.of("train", "--method", "cps"));
    line.addAll(List.of(args));
    if (!line.contains("--dim")) {
      line.addAll(List.of("--dim", "2"));
    }
    return Main.run(line.toArray(String[]::new));
  }
}
