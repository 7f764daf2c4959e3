package org.ssl4mis.networks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * UNet++, the nested U-Net of Zhou, Rahman Siddiquee, Tajbakhsh and Liang: "UNet++: A Nested U-Net
 * Architecture for Medical Image Segmentation" (DLMIA 2018) and "UNet++: Redesigning Skip Connections to
 * Exploit Multiscale Features in Image Segmentation" (IEEE TMI 39(6), 2020). Not part of SSL4MIS; a 2D
 * network beyond the reference.
 *
 * <p><b>What it is.</b> A grid of convolution nodes X<sup>i,j</sup>: i is the depth (resolution 1/2<sup>i</sup>
 * of the input, width {@code widths[i]}), j the position along the skip pathway. The backbone column
 * X<sup>i,0</sup> is a plain encoder (X<sup>0,0</sup> on the input, then 2x2 max pooling before each deeper
 * node). Every other node sees, concatenated on the channel axis, all earlier nodes of its row
 * X<sup>i,0</sup>..X<sup>i,j-1</sup> (dense skip connections) and the bilinear x2 upsampling
 * ({@code align_corners=True}) of X<sup>i+1,j-1</sup>: node X<sup>i,j</sup> takes
 * {@code j * widths[i] + widths[i+1]} channels. Each node is a {@link VGGBlock}: twice 3x3 convolution,
 * batch norm, ReLU. The top row X<sup>0,1</sup>..X<sup>0,4</sup> ends four nested U-Nets of depth 1..4.
 *
 * <p><b>Deep supervision</b> (on by default here, as in the papers): a 1x1 convolution head
 * {@code final1}..{@code final4} on each of X<sup>0,1</sup>..X<sup>0,4</sup>. Without it there is one head,
 * {@code final}, on X<sup>0,4</sup>.
 *
 * <p><b>Outputs.</b> For input (N, in_chns, H, W), with H and W multiples of 16 (multiples of 2<sup>L</sup>
 * suffice for a network pruned at level L), every output is logits (N, class_num, H, W). {@link #forward}:
 * <ul>
 *   <li>training mode with deep supervision: the four head outputs, main first, as {@link UNetDS} orders
 *       its outputs: {@code [final4(X0,4), final3(X0,3), final2(X0,2), final1(X0,1)]}
 *       ({@link #deepSupervisionOutputs});
 *   <li>eval mode with deep supervision: one output, by the {@link InferenceMode}: {@code accurate} averages
 *       the four heads' logits ({@link #forwardAccurate}); {@code fast} at level L computes only the nodes
 *       X<sup>i,j</sup> with i + j &lt;= L (the embedded U-Net of depth L) and returns
 *       {@code finalL(X0,L)} ({@link #forwardPruned});
 *   <li>without deep supervision: one output, {@code final(X0,4)}, in both modes.
 * </ul>
 * The heads emit logits, so "accurate" averages logits (the authors' Keras code averaged sigmoid outputs).
 *
 * <p><b>State dict.</b> Members follow the authors' public PyTorch implementation ({@code NestedUNet}):
 * {@code conv0_0, conv1_0, conv2_0, conv3_0, conv4_0, conv0_1, conv1_1, conv2_1, conv3_1, conv0_2, conv1_2,
 * conv2_2, conv0_3, conv1_3, conv0_4} (column by column), each with {@code conv1, bn1, conv2, bn2}, then
 * {@code final1..final4} or {@code final}. Default widths {@code [32, 64, 128, 256, 512]} as there.
 */
public final class UNetPlusPlus extends JModule {

  /** The widths of the authors' public implementation. */
  public static final long[] DEFAULT_WIDTHS = {32, 64, 128, 256, 512};
  /** Depth of the node grid: X<sup>0,0</sup>..X<sup>4,0</sup>, four pooling steps. */
  public static final int DEPTH = 4;

  /**
   * How {@link #forward} infers in eval mode with deep supervision: {@code accurate} (average of all four
   * heads) or {@code fast} at {@code level} 1..4 (the pruned network ending at X<sup>0,level</sup>).
   */
  public record InferenceMode(boolean fast, int level) {
    public InferenceMode {
      if (fast && (level < 1 || level > DEPTH)) {
        throw new IllegalArgumentException("UNet++ pruning level must be 1.." + DEPTH + ", got " + level);
      }
      if (!fast && level != DEPTH) {
        throw new IllegalArgumentException("accurate mode uses all " + DEPTH + " levels, got level " + level);
      }
    }

    public static InferenceMode accurate() {
      return new InferenceMode(false, DEPTH);
    }

    public static InferenceMode fast(int level) {
      return new InferenceMode(true, level);
    }

    /** {@code "accurate"} or {@code "fast"} (then {@code level} is the pruning level). */
    public static InferenceMode parse(String mode, int level) {
      return switch (mode.strip().toLowerCase(Locale.ROOT)) {
        case "accurate" -> accurate();
        case "fast" -> fast(level);
        default -> throw new IllegalArgumentException("UNet++ inference mode '" + mode + "' is not accurate or fast");
      };
    }

    @Override
    public String toString() {
      return fast ? "fast(level " + level + ")" : "accurate";
    }
  }

  /** The node block: (3x3 convolution, batch norm, ReLU) twice; members {@code conv1, bn1, conv2, bn2}. */
  public static final class VGGBlock extends JModule implements Layer {
    final Conv2dImpl conv1;
    final BatchNorm2dImpl bn1;
    final Conv2dImpl conv2;
    final BatchNorm2dImpl bn2;

    public VGGBlock(long inChannels, long middleChannels, long outChannels) {
      conv1 = register("conv1", Nn.conv2d(inChannels, middleChannels, 3).padding(1).build());
      bn1 = register("bn1", Nn.batchNorm2d(middleChannels).build());
      conv2 = register("conv2", Nn.conv2d(middleChannels, outChannels, 3).padding(1).build());
      bn2 = register("bn2", Nn.batchNorm2d(outChannels).build());
    }

    @Override
    public Tensor forward(Tensor x) {
      Tensor y = bn1.forward(conv1.forward(x)).relu();
      return bn2.forward(conv2.forward(y)).relu();
    }
  }

  private final long inChannels;
  private final long classNum;
  private final long[] widths;
  private final boolean deepSupervision;
  /** nodes[i][j] is X<sup>i,j</sup>, defined for i + j &lt;= DEPTH. */
  private final VGGBlock[][] nodes = new VGGBlock[DEPTH + 1][DEPTH + 1];
  /** heads[j - 1] is {@code final<j>} with deep supervision; otherwise only heads[DEPTH - 1], {@code final}. */
  private final Conv2dImpl[] heads = new Conv2dImpl[DEPTH];
  private InferenceMode inferenceMode;

  /**
   * @param widths the five node widths, depth 0 to 4
   * @param deepSupervision heads on X<sup>0,1..4</sup> ({@code final1..final4}) rather than one on
   *     X<sup>0,4</sup> ({@code final})
   * @param inferenceMode eval-mode inference with deep supervision; without it only {@code accurate} or
   *     {@code fast(4)}, which are the same
   */
  public UNetPlusPlus(long inChannels, long classNum, long[] widths, boolean deepSupervision,
      InferenceMode inferenceMode) {
    if (inChannels < 1 || classNum < 1) {
      throw new IllegalArgumentException("UNet++: in_chns and class_num must be >= 1, got " + inChannels + " and "
          + classNum);
    }
    if (widths == null || widths.length != DEPTH + 1 || Arrays.stream(widths).anyMatch(w -> w < 1)) {
      throw new IllegalArgumentException("UNet++: widths must be " + (DEPTH + 1) + " positive numbers, got "
          + Arrays.toString(widths));
    }
    this.inChannels = inChannels;
    this.classNum = classNum;
    this.widths = widths.clone();
    this.deepSupervision = deepSupervision;
    setInferenceMode(inferenceMode);
    // column by column (j), top to bottom (i): the authors' attribute order, hence the state-dict order
    for (int j = 0; j <= DEPTH; j++) {
      for (int i = 0; i + j <= DEPTH; i++) {
        long in;
        if (j == 0) {
          in = i == 0 ? inChannels : widths[i - 1];
        } else {
          in = j * widths[i] + widths[i + 1];
        }
        nodes[i][j] = register("conv" + i + "_" + j, new VGGBlock(in, widths[i], widths[i]));
      }
    }
    if (deepSupervision) {
      for (int j = 1; j <= DEPTH; j++) {
        heads[j - 1] = register("final" + j, Nn.conv2d(widths[0], classNum, 1).build());
      }
    } else {
      heads[DEPTH - 1] = register("final", Nn.conv2d(widths[0], classNum, 1).build());
    }
  }

  /** Given widths and deep supervision, {@code accurate} inference. */
  public UNetPlusPlus(long inChannels, long classNum, long[] widths, boolean deepSupervision) {
    this(inChannels, classNum, widths, deepSupervision, InferenceMode.accurate());
  }

  /** Widths {@code [32, 64, 128, 256, 512]}, deep supervision, {@code accurate} inference. */
  public UNetPlusPlus(long inChannels, long classNum) {
    this(inChannels, classNum, DEFAULT_WIDTHS, true);
  }

  public long inChannels() {
    return inChannels;
  }

  public long classNum() {
    return classNum;
  }

  public long[] widths() {
    return widths.clone();
  }

  public boolean deepSupervision() {
    return deepSupervision;
  }

  public InferenceMode inferenceMode() {
    return inferenceMode;
  }

  /** Switches eval-mode inference; pruning below level 4 needs deep supervision (the heads it ends in). */
  public void setInferenceMode(InferenceMode mode) {
    Objects.requireNonNull(mode, "inference mode");
    if (!deepSupervision && mode.level() != DEPTH) {
      throw new IllegalArgumentException("UNet++ without deep supervision has no head at level " + mode.level()
          + "; only level " + DEPTH + " can be inferred");
    }
    this.inferenceMode = mode;
  }

  /**
   * Training mode with deep supervision: {@link #deepSupervisionOutputs}; otherwise one output, by the
   * {@link #inferenceMode()} (see the class comment). Each output is (N, class_num, H, W).
   */
  public List<Tensor> forward(Tensor x) {
    if (!deepSupervision) {
      return List.of(forwardAccurate(x));
    }
    if (is_training()) {
      return deepSupervisionOutputs(x);
    }
    return List.of(inferenceMode.fast() ? forwardPruned(x, inferenceMode.level()) : forwardAccurate(x));
  }

  /**
   * The four deep-supervision outputs, main first: {@code [final4(X0,4), final3(X0,3), final2(X0,2),
   * final1(X0,1)]}, each (N, class_num, H, W). Needs deep supervision.
   */
  public List<Tensor> deepSupervisionOutputs(Tensor x) {
    requireDeepSupervision("deep-supervision outputs");
    Tensor[][] grid = nodes(x, DEPTH);
    List<Tensor> out = new ArrayList<>(DEPTH);
    for (int j = DEPTH; j >= 1; j--) {
      out.add(heads[j - 1].forward(grid[0][j]));
    }
    return List.copyOf(out);
  }

  /**
   * The "accurate" output (N, class_num, H, W): the mean of the four heads' logits with deep supervision
   * (summed from level 1 to 4, then divided by 4), {@code final(X0,4)} without.
   */
  public Tensor forwardAccurate(Tensor x) {
    Tensor[][] grid = nodes(x, DEPTH);
    if (!deepSupervision) {
      return heads[DEPTH - 1].forward(grid[0][DEPTH]);
    }
    Tensor sum = heads[0].forward(grid[0][1]);
    for (int j = 2; j <= DEPTH; j++) {
      sum = sum.add(heads[j - 1].forward(grid[0][j]));
    }
    return sum.mul(Tensors.scalar(1.0 / DEPTH, DType.FLOAT32));
  }

  /**
   * The "fast" output of the network pruned at {@code level} (1..4): only the nodes X<sup>i,j</sup> with
   * i + j &lt;= level are computed (the input is pooled {@code level} times), and the result is
   * {@code final<level>(X0,level)}, (N, class_num, H, W). Below level 4 this needs deep supervision.
   */
  public Tensor forwardPruned(Tensor x, int level) {
    if (level < 1 || level > DEPTH) {
      throw new IllegalArgumentException("UNet++ pruning level must be 1.." + DEPTH + ", got " + level);
    }
    if (level != DEPTH) {
      requireDeepSupervision("pruning at level " + level);
    }
    Tensor[][] grid = nodes(x, level);
    return heads[level - 1].forward(grid[0][level]);
  }

  /**
   * The node outputs X<sup>i,j</sup> for i + j &lt;= {@code level} (null elsewhere), computed anti-diagonal
   * by anti-diagonal: X<sup>d,0</sup> first, then X<sup>d-1,1</sup> .. X<sup>0,d</sup>.
   */
  private Tensor[][] nodes(Tensor x, int level) {
    long[] shape = NetworkInputs.requireShape("UNet++", "input", x, 2, inChannels);
    NetworkInputs.requireMultiples("UNet++", shape, 1L << level, level + " poolings by 2 must divide the input");
    Tensor[][] grid = new Tensor[DEPTH + 1][DEPTH + 1];
    grid[0][0] = nodes[0][0].forward(x);
    for (int d = 1; d <= level; d++) {
      grid[d][0] = nodes[d][0].forward(maxPool2(grid[d - 1][0]));
      for (int j = 1; j <= d; j++) {
        int i = d - j;
        Tensor[] inputs = new Tensor[j + 1];
        System.arraycopy(grid[i], 0, inputs, 0, j);
        inputs[j] = upsample2(grid[i + 1][j - 1]);
        grid[i][j] = nodes[i][j].forward(torch.cat(new TensorVector(inputs), 1));
      }
    }
    return grid;
  }

  private void requireDeepSupervision(String what) {
    if (!deepSupervision) {
      throw new IllegalStateException("UNet++ was built without deep supervision, so " + what
          + " is not available");
    }
  }

  private static Tensor maxPool2(Tensor x) {
    return torch.max_pool2d(x, new long[] {2, 2}, new long[] {2, 2}, new long[] {0, 0}, new long[] {1, 1}, false);
  }

  /** Bilinear x2 upsampling with {@code align_corners=True}, as {@code nn.Upsample(scale_factor=2, ...)}. */
  private static Tensor upsample2(Tensor x) {
    return torch.upsample_bilinear2d(x, new long[] {x.size(2) * 2, x.size(3) * 2}, true);
  }
}
