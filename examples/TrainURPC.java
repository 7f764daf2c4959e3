import org.ssl4mis.cli.TrainExample;

/**
 * Uncertainty rectified pyramid consistency (URPC): trains what SSL4MIS's
 * {@code train_uncertainty_rectified_pyramid_consistency_2D.py} trains: a {@code unet_urpc} (a UNet whose decoder
 * predicts at four scales) with the supervised loss on every scale and, on the unlabelled images, each scale's
 * distance to the mean prediction, rectified by the scales' disagreement (uncertainty). Java class:
 * {@code org.ssl4mis.train.methods.UncertaintyRectifiedPyramidConsistency}.
 *
 * <p>Scaled down on a synthetic ACDC-like set:
 * <pre>
 * bin/ssl4mis run-example examples/TrainURPC.java --synthetic 12 --max_iterations 300 --batch_size 8 --labeled_bs 4 \
 *     --labeled_slices 24 --patch_size 128,128 --val_patch_size 128,128 --validate_every 100
 * </pre>
 * The network is the script's {@code unet_urpc} unless {@code --model} says otherwise. On the real data:
 * {@code --root_path ../data/ACDC} (the script's default {@code --labeled_num 7}).
 */
public class TrainURPC {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("urpc", 2, args);
  }
}
