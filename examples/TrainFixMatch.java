import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains what SSL4MIS's FixMatch scripts train: {@code train_fixmatch_standard_augs.py} (weak = rotation/flip,
 * strong = colour jitter, pseudo-labels from the student, plus the script's complementary loss), or with
 * {@code --cta} {@code train_fixmatch_cta.py} (CTAugment's learned weak and strong policies, refreshed every
 * epoch and scored by the epoch's mean loss, pseudo-labels from the EMA teacher). Same arguments, defaults,
 * schedule and snapshot folder ({@code ../model/{exp}_{labeled_num}/unet}: log.txt with the policies,
 * TensorBoard files, model_iter_*_dice_*.pth, unet_best_model.pth).
 *
 * <p>Run (after one build, e.g. {@code bin/ssl4mis doctor}):
 * <pre>
 * bin/ssl4mis run-example examples/TrainFixMatch.java --root_path ../data/ACDC --labeled_num 7
 * bin/ssl4mis run-example examples/TrainFixMatch.java --cta --root_path ../data/ACDC --labeled_num 7
 * </pre>
 * The CTA script skips batches whose labels are at most 2% foreground of {@code 24 * 256 * 256} pixels; with a
 * smaller batch or patch add {@code --extra fixmatch_cta_nonzero_ratio=batch}.
 */
public class TrainFixMatch {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The command's exit status (0 on success); {@code --cta} selects the CTAugment script. */
  public static int run(String... args) {
    List<String> rest = new ArrayList<>(List.of(args));
    String method = rest.remove("--cta") ? "fixmatch_cta" : "fixmatch";
    List<String> line = new ArrayList<>(List.of("train", "--method", method, "--dim", "2"));
    line.addAll(rest);
    return Main.run(line.toArray(String[]::new));
  }
}
