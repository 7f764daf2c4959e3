import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains what SSL4MIS's {@code train_cross_consistency_training_2D.py} trains: {@code unet_cct} (a UNet encoder,
 * a main decoder and three auxiliary decoders on perturbed features), the same arguments under the same names
 * and defaults, the same schedule and the same snapshot folder ({@code ../model/{exp}_{labeled_num}_labeled/unet_cct}:
 * log.txt, TensorBoard files, iter_*_dice_*.pth, unet_cct_best_model.pth).
 *
 * <p>Run (after one build, e.g. {@code bin/ssl4mis doctor}):
 * <pre>
 * bin/ssl4mis run-example examples/TrainCCT.java --root_path ../data/ACDC --labeled_num 7
 * </pre>
 */
public class TrainCCT {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The command's exit status (0 on success). */
  public static int run(String... args) {
    List<String> line = new ArrayList<>(List.of("train", "--method", "cct", "--dim", "2"));
    line.addAll(List.of(args));
    return Main.run(line.toArray(String[]::new));
  }
}
