import org.ssl4mis.cli.TrainExample;

/**
 * Regularized dropout (R-Drop): trains what SSL4MIS's {@code train_regularized_dropout_2D.py} trains: two networks
 * ({@code model1}, {@code model2}), each with its supervised loss, plus a ramped-up symmetric KL divergence
 * between their predictions on the unlabelled images (consistency weight 4.0). Both are validated and saved
 * under the script's names ({@code model1_iter_*}, {@code unet_best_model1.pth}, ...). Java class:
 * {@code org.ssl4mis.train.methods.RegularizedDropout} (its Javadoc lists the script's quirks).
 *
 * <p>Scaled down on a synthetic ACDC-like set (the set-up of the end-to-end test {@code MethodsEndToEndTest}: tiny
 * widths, 64x64 slices, a higher learning rate; seconds on a CPU, where one intra-op thread is fastest for so
 * small a network):
 * <pre>
 * bin/ssl4mis run-example examples/TrainRDrop.java --synthetic 10 --synthetic_size 64,64 --labeled_slices 16 \
 *     --max_iterations 200 --batch_size 4 --labeled_bs 2 --patch_size 64,64 --val_patch_size 64,64 --base_lr 0.1 \
 *     --validate_every 50 --model_options feature_chns=4,8,16,32,64 --threads 1 --workers 1
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
