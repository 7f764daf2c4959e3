import org.ssl4mis.cli.TrainExample;

/**
 * Interpolation consistency training (ICT): trains what SSL4MIS's
 * {@code train_interpolation_consistency_training_2D.py} trains: the supervised loss plus a ramped-up MSE between
 * the student's prediction on a mixup of two unlabelled images and the same mixup of the EMA teacher's
 * predictions on each. Java class: {@code org.ssl4mis.train.methods.InterpolationConsistency} (its Javadoc
 * lists the script's quirks).
 *
 * <p>Scaled down on a synthetic ACDC-like set (the set-up of the end-to-end test {@code MethodsEndToEndTest}: tiny
 * widths, 64x64 slices, a higher learning rate; seconds on a CPU, where one intra-op thread is fastest for so
 * small a network):
 * <pre>
 * bin/ssl4mis run-example examples/TrainICT.java --synthetic 10 --synthetic_size 64,64 --labeled_slices 16 \
 *     --max_iterations 200 --batch_size 4 --labeled_bs 2 --patch_size 64,64 --val_patch_size 64,64 --base_lr 0.1 \
 *     --validate_every 50 --model_options feature_chns=4,8,16,32,64 --threads 1 --workers 1
 * </pre>
 * Method options go in {@code --extra}: {@code ict_alpha=0.2} (the Beta distribution of the mixing
 * coefficients; the script's {@code type=int} argument cannot take it from its command line) and
 * {@code ict_split=unlabeled} (mix the two halves of the unlabelled part; the script splits it at
 * {@code labeled_bs // 2}, which mixes as intended only when {@code batch_size == 2 * labeled_bs}). On the real data:
 * {@code --root_path ../data/ACDC --labeled_num 7} (the script's default 300 is not in its table).
 */
public class TrainICT {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("ict", 2, args);
  }
}
