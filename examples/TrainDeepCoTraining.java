import org.ssl4mis.cli.TrainExample;

/**
 * Deep co-training as SSL4MIS's {@code train_deep_co_training_2D.py} trains it: despite the name, one network
 * with a rotation consistency (its prediction on a rotated copy of the unlabelled images should be its rotated
 * prediction), on top of the supervised 0.5 * (CE + Dice). Java class:
 * {@code org.ssl4mis.train.methods.DeepCoTraining} (its Javadoc gives the loop and the script's quirks).
 *
 * <p>Scaled down on a synthetic ACDC-like set (the end-to-end tests' set-up: tiny widths, 64x64 slices, a higher
 * learning rate; seconds on a CPU):
 * <pre>
 * bin/ssl4mis run-example examples/TrainDeepCoTraining.java --synthetic 10 --synthetic_size 64,64 \
 *     --labeled_slices 16 --max_iterations 200 --batch_size 4 --labeled_bs 2 --patch_size 64,64 \
 *     --val_patch_size 64,64 --base_lr 0.1 --validate_every 50 --model_options feature_chns=4,8,16,32,64 \
 *     --threads 1 --workers 1
 * </pre>
 * On the real data: {@code --root_path ../data/ACDC --labeled_num 7}.
 */
public class TrainDeepCoTraining {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("dct", 2, args);
  }
}
