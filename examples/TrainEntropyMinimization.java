import org.ssl4mis.cli.TrainExample;

/**
 * Entropy minimization: trains what SSL4MIS's {@code train_entropy_minimization_2D.py} trains: the supervised
 * loss plus a ramped-up mean entropy of the softmax predictions over the whole batch. Java class:
 * {@code org.ssl4mis.train.methods.EntropyMinimization} (its Javadoc lists the script's quirks).
 *
 * <p>Scaled down on a synthetic ACDC-like set:
 * <pre>
 * bin/ssl4mis run-example examples/TrainEntropyMinimization.java --synthetic 12 --max_iterations 300 --batch_size 8 \
 *     --labeled_bs 4 --labeled_slices 24 --patch_size 128,128 --val_patch_size 128,128 --validate_every 100
 * </pre>
 * The script normalises the entropy with a hard-coded {@code C=4}; {@code --extra em_entropy_c=num_classes}
 * uses the real number of classes. On the real data: {@code --root_path ../data/ACDC} (the script's default
 * {@code --labeled_num 3}).
 */
public class TrainEntropyMinimization {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("em", 2, args);
  }
}
