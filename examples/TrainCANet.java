import java.util.ArrayList;
import java.util.List;
import org.ssl4mis.cli.Main;

/**
 * Trains CANet on left-atrium volumes: the {@code canet} network (VNet with a transformer bottleneck, a tanh
 * signed-distance head and a segmentation head) with dice + beta * SDF loss on the labelled volumes and an
 * adversarial consistency term from a squeeze-and-excitation discriminator that sees the SDF map and the image
 * (SASSNet's scheme; see {@code ContextAwareNetwork}'s documentation for every choice). Defaults: batches of two
 * labelled and two unlabelled 112x112x80 patches, 16 labelled volumes, 6000 iterations, beta 0.3, discriminator
 * Adam at 1e-4; snapshot folder {@code ../model/LA/CANet_{labeled_num}/canet}; {@code --resume} restores the
 * discriminator and its Adam state too.
 *
 * <p>Run (after one build, e.g. {@code bin/ssl4mis doctor}):
 * <pre>
 * bin/ssl4mis run-example examples/TrainCANet.java --root_path ../data/LA
 * </pre>
 * Another patch size needs the same {@code img_size}: {@code --patch_size 96,96,96 --model_options img_size=96,96,96}.
 */
public class TrainCANet {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The {@code train} command's exit code for these arguments. */
  public static int run(String... args) {
    List<String> line = new ArrayList<>(List.of("train", "--method", "canet", "--dim", "3"));
    line.addAll(List.of(args));
    return Main.run(line.toArray(String[]::new));
  }
}
