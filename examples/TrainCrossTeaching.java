import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains what SSL4MIS's {@code train_cross_teaching_between_cnn_transformer_2D.py} trains: a UNet and a
 * Swin-UNet (224x224, the configuration of {@code swin_tiny_patch4_window7_224_lite.yaml}) teaching each other,
 * with the script's arguments, defaults ({@code --batch_size 16 --labeled_bs 8 --patch_size 224,224
 * --labeled_num 7}) and snapshot folder ({@code ../model/{exp}_{labeled_num}/{model}}).
 *
 * <p>The script loads ImageNet Swin-T weights into the Swin-UNet from
 * {@code ../code/pretrained_ckpt/swin_tiny_patch4_window7_224.pth}; download that file as the reference's README
 * says (nothing is downloaded here) and pass its path, or train the Swin-UNet from random weights:
 * <pre>
 * bin/ssl4mis run-example examples/TrainCrossTeaching.java --root_path ../data/ACDC \
 *     --extra swin_pretrained=pretrained_ckpt/swin_tiny_patch4_window7_224.pth
 * bin/ssl4mis run-example examples/TrainCrossTeaching.java --root_path ../data/ACDC --extra swin_pretrained=none
 * </pre>
 */
public class TrainCrossTeaching {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The train command's exit status (0 on success). */
  public static int run(String[] args) {
    List<String> line = new ArrayList<>(List.of("train", "--method", "ct", "--dim", "2"));
    line.addAll(List.of(args));
    return Main.run(line.toArray(String[]::new));
  }
}
