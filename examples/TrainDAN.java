import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains what SSL4MIS's {@code train_adversarial_network_2D.py} trains (or {@code _3D.py} with {@code --dim 3}):
 * a segmentation network and its evaluation network DAN ({@code FCDiscriminator}, {@code FC3DDiscriminator}) with
 * its own Adam optimizer ({@code --extra DAN_lr=0.0001}), the same arguments under the same names and defaults,
 * the same schedule and snapshot folder ({@code ../model/{exp}_{labeled_num}_labeled/{model}}; 3D
 * {@code ../model/{exp}_{labeled_num}/{model}}). {@code --resume} also restores the DAN and its Adam state.
 *
 * <p>Run (after one build, e.g. {@code bin/ssl4mis doctor}):
 * <pre>
 * bin/ssl4mis run-example examples/TrainDAN.java --root_path ../data/ACDC
 * bin/ssl4mis run-example examples/TrainDAN.java --dim 3 --root_path ../data/BraTS2019
 * </pre>
 * The 2D DAN takes square patches of 224 to 335 (default 256), the 3D one sides of 96 to 191 (default 96^3; on
 * LA pass {@code --patch_size 96,96,96}).
 */
public class TrainDAN {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The {@code train} command's exit code for these arguments (2D unless {@code --dim 3} is given). */
  public static int run(String... args) {
    List<String> line = new ArrayList<>(List.of("train", "--method", "dan"));
    if (!List.of(args).contains("--dim")) {
      line.addAll(List.of("--dim", "2"));
    }
    line.addAll(List.of(args));
    return Main.run(line.toArray(String[]::new));
  }
}
