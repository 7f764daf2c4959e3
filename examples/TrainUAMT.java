import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains what SSL4MIS's {@code train_uncertainty_aware_mean_teacher_2D.py} trains: the same arguments
 * under the same names and defaults, the same schedule, the same snapshot folder
 * ({@code ../model/{exp}_{labeled_num}_labeled/{model}}: log.txt, TensorBoard files, iter_*_dice_*.pth,
 * unet_best_model.pth), checkpoints Python's {@code torch.load} + {@code load_state_dict} read unchanged.
 *
 * <p>Run (after one build, e.g. {@code bin/ssl4mis doctor}):
 * <pre>
 * bin/ssl4mis run-example examples/TrainUAMT.java --root_path ../data/ACDC --labeled_num 7
 * </pre>
 * The reference's default {@code --labeled_num 136} is not in its own patients-to-slices table (Python
 * stops with a KeyError); pass {@code --labeled_num 7} (136 slices) or {@code --labeled_slices 136}.
 */
public class TrainUAMT {
  public static void main(String[] args) {
    List<String> line = new ArrayList<>(List.of("train", "--method", "uamt", "--dim", "2"));
    line.addAll(List.of(args));
    System.exit(Main.run(line.toArray(String[]::new)));
  }
}
