package org.ssl4mis.evaluation;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.train.tensorboard.EventFileWriter;

class TrainingCurvesTest {
  @TempDir
  Path snapshot;

  @Test
  void drawsTheEventFilesScalarsInPanels() throws Exception {
    try (EventFileWriter w = new EventFileWriter(snapshot.resolve("log"))) {
      for (int i = 1; i <= 200; i++) {
        w.addScalar("info/lr", 0.01 * Math.pow(1 - i / 200.0, 0.9), i);
        w.addScalar("info/total_loss", 1.0 / i + 0.05 * Math.sin(i), i);
        w.addScalar("info/loss_ce", 0.8 / i, i);
        if (i % 50 == 0) {
          w.addScalar("info/val_mean_dice", i / 250.0, i);
          w.addScalar("info/val_mean_hd95", 40.0 / i, i);
        }
      }
    }
    Path png = TrainingCurves.write(snapshot);
    assertEquals(snapshot.resolve("training_curves.png"), png);
    BufferedImage image = ImageIO.read(png.toFile());
    assertNotNull(image);
    assertEquals(2 * 520, image.getWidth(), "two panels a row");

    List<TrainingCurves.Panel> panels = TrainingCurves.panels(TrainingCurves.read(snapshot));
    assertEquals(List.of("losses", "learning rate", "validation Dice", "validation HD95"),
        panels.stream().map(TrainingCurves.Panel::title).toList());
    assertEquals(4, panels.get(2).series().get("info/val_mean_dice").size());
  }

  @Test
  void fallsBackToLogTxt() throws Exception {
    Files.writeString(snapshot.resolve("log.txt"), String.join("\n",
        "[10:00:00.000] Namespace(root_path='../data/ACDC')",
        "[10:00:01.000] iteration 1 : loss : 0.900000, loss_ce: 0.700000, loss_dice: 0.800000",
        "[10:00:02.000] iteration 2 : loss : 0.800000, loss_ce: 0.600000, loss_dice: 0.700000",
        "[10:00:03.000] iteration 2 : mean_dice : 0.512000 mean_hd95 : 12.500000", ""));
    Map<String, TreeMap<Long, Double>> scalars = TrainingCurves.read(snapshot);
    assertEquals(Map.of(1L, 0.7, 2L, 0.6), scalars.get("loss_ce"));
    assertEquals(0.512, scalars.get("mean_dice").get(2L));
    assertEquals(List.of("losses", "validation Dice", "validation HD95"),
        TrainingCurves.panels(scalars).stream().map(TrainingCurves.Panel::title).toList());
    assertNotNull(ImageIO.read(TrainingCurves.write(snapshot).toFile()));
  }

  @Test
  void saysWhenThereIsNothingToDraw() {
    var e = assertThrows(java.io.IOException.class, () -> TrainingCurves.write(snapshot));
    assertTrue(e.getMessage().contains("no training values"), e.getMessage());
  }

  @Test
  void ticksAreRound() {
    assertArrayEquals(new double[] {0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}, TrainingCurves.ticks(0, 1, 5), 1e-12);
    assertArrayEquals(new double[] {0, 50, 100, 150, 200}, TrainingCurves.ticks(1, 200, 5), 0);
  }
}
