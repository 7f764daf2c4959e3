import org.ssl4mis.cli.TrainExample;

/**
 * Uncertainty-aware mean teacher (UA-MT): trains what SSL4MIS's {@code train_uncertainty_aware_mean_teacher_2D.py}
 * ({@code --dim 3}: {@code train_uncertainty_aware_mean_teacher_3D.py}) trains, with the same arguments under the
 * same names and defaults, the same schedule and the same snapshot folder
 * ({@code ../model/{exp}_{labeled_num}_labeled/{model}}: log.txt, TensorBoard files, iter_*_dice_*.pth,
 * unet_best_model.pth), checkpoints Python's {@code torch.load} + {@code load_state_dict} read unchanged.
 * Java class: {@code org.ssl4mis.train.methods.UncertaintyAwareMeanTeacher}.
 *
 * <p>Scaled down on a synthetic ACDC-like set (the set-up of the end-to-end test {@code MethodsEndToEndTest}: tiny
 * widths, 64x64 slices, a higher learning rate; seconds on a CPU, where one intra-op thread is fastest for so
 * small a network):
 * <pre>
 * bin/ssl4mis run-example examples/TrainUAMT.java --synthetic 10 --synthetic_size 64,64 --labeled_slices 16 \
 *     --max_iterations 200 --batch_size 4 --labeled_bs 2 --patch_size 64,64 --val_patch_size 64,64 --base_lr 0.1 \
 *     --validate_every 50 --model_options feature_chns=4,8,16,32,64 --threads 1 --workers 1
 * </pre>
 * On the real data with the script's defaults:
 * <pre>
 * bin/ssl4mis run-example examples/TrainUAMT.java --root_path ../data/ACDC --labeled_num 7
 * </pre>
 * The reference's default {@code --labeled_num 136} is not in its own patients-to-slices table (Python
 * stops with a KeyError); pass {@code --labeled_num 7} (136 slices) or {@code --labeled_slices 136}.
 * Any option of {@code bin/ssl4mis train} applies ({@code bin/ssl4mis train --help}).
 */
public class TrainUAMT {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("uamt", 2, args);
  }
}
