import org.ssl4mis.cli.TrainExample;

/**
 * Uncertainty rectified pyramid consistency (URPC): trains what SSL4MIS's
 * {@code train_uncertainty_rectified_pyramid_consistency_2D.py} trains: a {@code unet_urpc} (a UNet whose decoder
 * predicts at four scales) with the supervised loss on every scale and, on the unlabelled images, each scale's
 * distance to the mean prediction, rectified by the scales' disagreement (uncertainty). Java class:
 * {@code org.ssl4mis.train.methods.UncertaintyRectifiedPyramidConsistency}.
 *
 * <p>Scaled down on a synthetic ACDC-like set (the set-up of the end-to-end test {@code MethodsEndToEndTest}: tiny
 * widths, 64x64 slices, a higher learning rate; seconds on a CPU, where one intra-op thread is fastest for so
 * small a network):
 * <pre>
 * bin/ssl4mis run-example examples/TrainURPC.java --synthetic 10 --synthetic_size 64,64 --labeled_slices 16 \
 *     --max_iterations 300 --batch_size 4 --labeled_bs 2 --patch_size 64,64 --val_patch_size 64,64 --base_lr 0.1 \
 *     --validate_every 50 --model_options feature_chns=4,8,16,32,64 --threads 1 --workers 1
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
