package org.ssl4mis.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The first log line, {@code logging.info(str(args))}: the script's argparse options in declaration order (the
 * repr of Python 3.9+'s {@code Namespace}), per method and dimension.
 */
class TrainConfigNamespaceTest {
  private static TrainConfig config(String method, int dim, Map<String, String> extra) {
    int[] patch = dim == 3 ? new int[] {96, 96, 96} : new int[] {256, 256};
    return new TrainConfig(method, dim, "../data/BraTS2019", "BraTs2019_Mean_Teacher", "unet_3D", 30000, 4, true, 0.01,
        patch, 1337, 2, 2, 25, 0, 0.99, "mse", 0.1, 200.0, "cpu", 0, 0, false, true, "../model", 200, 3000, extra);
  }

  @Test
  void meanTeacher3dAsTheScriptLogsIt() {
    // python3 train_mean_teacher_3D.py (no num_classes, no labeled_slices in its argparse)
    assertEquals("Namespace(root_path='../data/BraTS2019', exp='BraTs2019_Mean_Teacher', model='unet_3D',"
        + " max_iterations=30000, batch_size=4, deterministic=1, base_lr=0.01, patch_size=[96, 96, 96], seed=1337,"
        + " labeled_bs=2, labeled_num=25, ema_decay=0.99, consistency_type='mse', consistency=0.1,"
        + " consistency_rampup=200.0)", config("mt", 3, Map.of()).namespace(Methods.create("mt").scriptArguments(3)));
  }

  @Test
  void scriptOptionsComeFromExtraInTheirPlace() {
    TrainConfig ict = config("ict", 3, Map.of("total_labeled_num", "140", "ict_alpha", "0.2", "model_options", "x=1"));
    assertTrue(ict.namespace(Methods.create("ict").scriptArguments(3)).contains(
        " labeled_num=25, total_labeled_num=140, ict_alpha=0.2, ema_decay=0.99,"));
    TrainConfig rdrop = config("rdrop", 3, Map.of("total_num", "50"));
    assertTrue(rdrop.namespace(Methods.create("rdrop").scriptArguments(3)).contains(" labeled_num=25, total_num=50, "));
    TrainConfig urpc = config("urpc", 3, Map.of("total_labeled_num", "180"));
    assertTrue(urpc.namespace(Methods.create("urpc").scriptArguments(3)).contains(
        " labeled_num=25, total_labeled_num=180, ema_decay="));
    // train_fully_supervised_3D.py declares ten options
    assertEquals("Namespace(root_path='../data/BraTS2019', exp='BraTs2019_Mean_Teacher', model='unet_3D',"
        + " max_iterations=30000, batch_size=4, deterministic=1, base_lr=0.01, patch_size=[96, 96, 96], seed=1337,"
        + " labeled_num=25)", config("supervised", 3, Map.of()).namespace(Methods.create("supervised").scriptArguments(3)));
    // a script option missing from extra is an error naming it
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> config("ict", 3, Map.of()).namespace(Methods.create("ict").scriptArguments(3)));
    assertTrue(e.getMessage().contains("total_labeled_num"), e.getMessage());
  }

  @Test
  void twoDimensionalLineUnchanged() {
    TrainConfig c = config("mt", 2, Map.of());
    assertEquals(c.namespace(), c.namespace(Methods.create("mt").scriptArguments(2)));
    assertTrue(c.namespace().contains("patch_size=[256, 256], seed=1337, num_classes=2, labeled_bs=2,"), c.namespace());
  }
}
