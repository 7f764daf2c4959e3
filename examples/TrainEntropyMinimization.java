import org.ssl4mis.cli.TrainExample;

/**
 * Entropy minimization: trains what SSL4MIS's {@code train_entropy_minimization_2D.py} trains: the supervised
 * loss plus a ramped-up mean entropy of the softmax predictions over the whole batch. Java class:
 * {@code org.ssl4mis.train.methods.EntropyMinimization} (its Javadoc lists the script's quirks).
 *
 * <p>Scaled down on a synthetic ACDC-like set (the set-up of the end-to-end test {@code MethodsEndToEndTest}: tiny
 * widths, 64x64 slices, a higher learning rate; seconds on a CPU, where one intra-op thread is fastest for so
 * small a network):
 * <pre>
 * bin/ssl4mis run-example examples/TrainEntropyMinimization.java --synthetic 10 --synthetic_size 64,64 --labeled_slices 16 \
 *     --max_iterations 200 --batch_size 4 --labeled_bs 2 --patch_size 64,64 --val_patch_size 64,64 --base_lr 0.1 \
 *     --validate_every 50 --model_options feature_chns=4,8,16,32,64 --threads 1 --workers 1
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
