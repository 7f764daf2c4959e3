package org.ssl4mis.train;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.tensor.Tensors;
import org.ssl4mis.train.tensorboard.EventFileReader;

/**
 * The 3D scripts' image summaries, read back from the event file: {@code make_grid} of the depth slices
 * {@code 20:61:10} of sample 0 (image normalised, class-1 probability, 0/1 label), every value checked against a
 * layout computed here from torchvision's rules (padding 2, zero background, 5 tiles per row, one tile unpadded).
 */
class EventSummarySinkTest {
  private static final int X = 4;
  private static final int Y = 6;

  @TempDir
  Path dir;

  /** Sample {@code b}, voxel {@code (x, y, z)} of the test volumes. */
  private static float voxel(int b, int x, int y, int z) {
    return b * 1000 + z * 0.5f + x - 0.25f * y;
  }

  private static long label(int b, int x, int y, int z) {
    return (x + y + z + b) % 2;
  }

  private static float logit(int b, int c, int x, int y, int z) {
    return c == 0 ? 0f : 0.1f * (x - y) + 0.01f * z + b;
  }

  private record Batch(Tensor volume, Tensor outputs, Tensor labels) {}

  private static Batch batch(int z) {
    float[] v = new float[2 * X * Y * z];
    float[] o = new float[2 * 2 * X * Y * z];
    long[] l = new long[2 * X * Y * z];
    for (int b = 0; b < 2; b++) {
      for (int x = 0; x < X; x++) {
        for (int y = 0; y < Y; y++) {
          for (int k = 0; k < z; k++) {
            int i = ((b * X + x) * Y + y) * z + k;
            v[i] = voxel(b, x, y, k);
            l[i] = label(b, x, y, k);
            for (int c = 0; c < 2; c++) {
              o[(((b * 2 + c) * X + x) * Y + y) * z + k] = logit(b, c, x, y, k);
            }
          }
        }
      }
    }
    return new Batch(Tensors.fromFloats(v, 2, 1, X, Y, z), Tensors.fromFloats(o, 2, 2, X, Y, z),
        Tensors.fromLongs(l, 2, X, Y, z));
  }

  /** Grid pixel {@code (row, col)} -> {@code {tile, x, y}}, or null on padding. */
  private static int[] tileAt(int row, int col, int tiles) {
    if (tiles == 1) {
      return new int[] {0, row, col};
    }
    int r = (row - 2) / (X + 2);
    int c = (col - 2) / (Y + 2);
    int x = (row - 2) % (X + 2);
    int y = (col - 2) % (Y + 2);
    if (row < 2 || col < 2 || x >= X || y >= Y || r * 5 + c >= tiles) {
      return null;
    }
    return new int[] {r * 5 + c, x, y};
  }

  private static int gray(BufferedImage image, int row, int col) {
    int r = image.getRaster().getSample(col, row, 0);
    assertEquals(r, image.getRaster().getSample(col, row, 1));
    assertEquals(r, image.getRaster().getSample(col, row, 2));
    return r;
  }

  private EventFileReader.Contents write(int z) throws Exception {
    Path log = dir.resolve("z" + z);
    try (MemoryScope ignored = MemoryScope.open(); EventSummarySink sink = new EventSummarySink(log)) {
      Batch b = batch(z);
      sink.images(b.volume(), b.outputs(), b.labels(), 20);
    }
    return EventFileReader.read(EventFileReader.eventFiles(log).getFirst());
  }

  private static void checkGrid(EventFileReader.Contents c, int tiles, int height, int width) throws Exception {
    BufferedImage image = c.images("train/Image").getFirst().image().decode();
    BufferedImage predicted = c.images("train/Predicted_label").getFirst().image().decode();
    BufferedImage truth = c.images("train/Groundtruth_label").getFirst().image().decode();
    for (BufferedImage im : List.of(image, predicted, truth)) {
      assertEquals(height, im.getHeight());
      assertEquals(width, im.getWidth());
      assertEquals(3, im.getRaster().getNumBands());
    }
    assertEquals(20, c.images("train/Image").getFirst().step());
    float low = Float.MAX_VALUE;
    float high = -Float.MAX_VALUE;
    for (int t = 0; t < tiles; t++) {
      for (int x = 0; x < X; x++) {
        for (int y = 0; y < Y; y++) {
          low = Math.min(low, voxel(0, x, y, 20 + 10 * t));
          high = Math.max(high, voxel(0, x, y, 20 + 10 * t));
        }
      }
    }
    for (int row = 0; row < height; row++) {
      for (int col = 0; col < width; col++) {
        int[] at = tileAt(row, col, tiles);
        if (at == null) {
          assertEquals(0, gray(image, row, col), "padding at " + row + "," + col);
          assertEquals(0, gray(predicted, row, col));
          assertEquals(0, gray(truth, row, col));
          continue;
        }
        int z = 20 + 10 * at[0];
        float normalised = (voxel(0, at[1], at[2], z) - low) / (high - low);
        assertEquals((int) (normalised * 255f), gray(image, row, col), 1, "image at " + row + "," + col);
        double p1 = 1 / (1 + Math.exp(-logit(0, 1, at[1], at[2], z)));
        assertEquals((int) (p1 * 255), gray(predicted, row, col), 1, "class-1 probability at " + row + "," + col);
        assertEquals(label(0, at[1], at[2], z) == 1 ? 255 : 0, gray(truth, row, col), "label at " + row + "," + col);
      }
    }
  }

  @Test
  void threeSlicesMakeOnePaddedRow() throws Exception {
    // depth 45: slices 20, 30, 40 -> one row of 3 tiles, (4 + 2) + 2 high and 3 * (6 + 2) + 2 wide
    checkGrid(write(45), 3, X + 4, 3 * (Y + 2) + 2);
  }

  @Test
  void fiveSlicesFillOneRow() throws Exception {
    // depth 80: slices 20, 30, 40, 50, 60 -> 5 tiles, the most 20:61:10 gives
    checkGrid(write(80), 5, X + 4, 5 * (Y + 2) + 2);
  }

  @Test
  void oneSliceIsTheTileItself() throws Exception {
    checkGrid(write(25), 1, X, Y); // make_grid returns a single tile unpadded
  }

  @Test
  void noSliceNoImage() throws Exception {
    EventFileReader.Contents c = write(20); // 20:61:10 of 20 slices is empty
    assertTrue(c.images("train/Image").isEmpty());
    assertTrue(c.images("train/Predicted_label").isEmpty());
  }

  @Test
  void makeGridWrapsRows() {
    try (MemoryScope ignored = MemoryScope.open()) {
      Tensor tiles = org.bytedeco.pytorch.global.torch.ones(7, 3, 2, 2);
      Tensor grid = EventSummarySink.makeGrid(tiles, 5, false);
      // 2 rows of up to 5 tiles: (2 + 2) * 2 + 2 = 10 high, (2 + 2) * 5 + 2 = 22 wide; 7 tiles of 12 ones each
      assertArrayEquals(new long[] {3, 10, 22}, Tensors.shape(grid));
      assertEquals(7 * 12, grid.sum().item_double(), 1e-9);
      assertEquals(1.0, grid.select(0, 0).select(0, 6).select(0, 6).item_double()); // tile 7 at row 1, column 1
      assertEquals(0.0, grid.select(0, 0).select(0, 6).select(0, 10).item_double()); // no tile 8
    }
  }
}
