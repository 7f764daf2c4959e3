import org.ssl4mis.cli.TrainExample;

/**
 * Regularized dropout (R-Drop): trains what SSL4MIS's {@code train_regularized_dropout_2D.py} trains: two networks
 * ({@code model1}, {@code model2}), each with its supervised loss, plus a ramped-up symmetric KL divergence
 * between their predictions on the unlabelled images (consistency weight 4.0). Both are validated and saved
 * under the script's names ({@code model1_iter_*}, {@code unet_best_model1.pth}, ...). Java class:
 * {@code org.ssl4mis.train.methods.RegularizedDropout} (its Javadoc lists the script's quirks).
 *
 * <p>Scaled down on a synthetic ACDC-like set:
 * <pre>
 * bin/ssl4mis run-example examples/TrainRDrop.java --synthetic 12 --max_iterations 300 --batch_size 8 --labeled_bs 4 \
 *     --labeled_slices 24 --patch_size 128,128 --val_patch_size 128,128 --validate_every 100
 * </pre>
 * {@code --extra rdrop_models=one} gives R-Drop as published (two dropout passes through one network) and
 * {@code --extra rdrop_kl_dim=class} takes the KL over the classes (the script takes its softmax over the image
 * width). On the real data: {@code --root_path ../data/ACDC --labeled_num 7} (the script's default 136 is not
 * in its table).
 */
public class TrainRDrop {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return TrainExample.run("rdrop", 2, args);
  }
}
