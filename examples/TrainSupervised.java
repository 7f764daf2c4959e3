import org.ssl4mis.cli.TrainExample;

/**
 * Fully supervised baseline: trains what SSL4MIS's {@code train_fully_supervised_2D.py} ({@code --dim 3}:
 * {@code train_fully_supervised_3D.py}) trains: a network on the labelled images only, loss
 * {@code 0.5 * (cross-entropy + Dice)}, SGD with the poly learning rate, validation every 200 iterations.
 * In 3D, as the script, batches come from the labelled volumes alone and the snapshot folder is
 * {@code ../model/{exp}/{model}}. Java class: {@code org.ssl4mis.train.methods.FullySupervised}.
 *
 * <p>Scaled down on a synthetic ACDC-like set (the set-up of the end-to-end test {@code MethodsEndToEndTest}: tiny
 * widths, 64x64 slices, a higher learning rate; seconds on a CPU, where one intra-op thread is fastest for so
 * small a network):
 * <pre>
 * bin/ssl4mis run-example examples/TrainSupervised.java --synthetic 10 --synthetic_size 64,64 --labeled_slices 16 \
 *     --max_iterations 200 --batch_size 4 --labeled_bs 2 --patch_size 64,64 --val_patch_size 64,64 --base_lr 0.1 \
 *     --validate_every 50 --model_options feature_chns=4,8,16,32,64 --threads 1 --workers 1
 * </pre>
 * 3D on a synthetic LA-like set with a small V-Net:
 * <pre>
 * bin/ssl4mis run-example examples/TrainSupervised.java --dim 3 --synthetic 6 --synthetic_size 112,112,80 \
 *     --model vnet --model_options n_filters=4 --labeled_num 3 --patch_size 48,48,32 --stride_xy 32 --stride_z 24 --sw_batch_size 4 \
 *     --max_iterations 40 --validate_every 20 --threads 1 --workers 1
 * </pre>
 * On the real data: {@code --root_path ../data/ACDC --labeled_num 7} (the script's default 50 patients is
 * not in the patients-to-slices table); any option of {@code bin/ssl4mis train} applies.
 */
public class TrainSupervised {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("supervised", 2, args);
  }
}
