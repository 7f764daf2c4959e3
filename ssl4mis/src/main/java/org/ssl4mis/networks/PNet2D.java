package org.ssl4mis.networks;

import java.util.Arrays;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Dropout2dImpl;
import org.bytedeco.pytorch.LeakyReLUImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Layer;
import org.ssl4mis.nn.Nn;

/**
 * SSL4MIS's {@code PNet2D} ({@code networks/pnet.py}, {@code net_factory(net_type="pnet")} builds
 * {@code PNet2D(in_chns, class_num, 64, [1, 2, 4, 8, 16])}): the P-Net of DeepIGeoS (Wang et al., "DeepIGeoS:
 * A Deep Interactive Geodesic Framework for Medical Image Segmentation", TPAMI 2018), with the reference's
 * modifications (batch norm and leaky ReLU).
 *
 * <p>Five blocks of two dilated 3x3 convolutions (dilation = padding = {@code ratios[i]}, so the resolution
 * never changes), the five block outputs concatenated, two 1x1 convolutions to {@code 2 * num_filters}
 * channels, then an output block of channel dropout (p = 0.3) and two 1x1 convolutions. Input
 * (N, in_chns, H, W) of any size, output (N, out_chns, H, W).
 */
public final class PNet2D extends JModule implements Layer {
  final PNetBlock block1;
  final PNetBlock block2;
  final PNetBlock block3;
  final PNetBlock block4;
  final PNetBlock block5;
  final ConcatBlock catblock;
  final OutputBlock out;
  private final long[] ratios;

  /** SSL4MIS's configuration: {@code PNet2D(in_chns, class_num, 64, [1, 2, 4, 8, 16])}. */
  public PNet2D(long inChannels, long classNum) {
    this(inChannels, classNum, 64, 1, 2, 4, 8, 16);
  }

  /**
   * {@code PNet2D(in_chns, out_chns, num_filters, ratios)}.
   *
   * @param ratios the five blocks' dilations (each block pads by its dilation); exactly five, where the
   *     reference would ignore extra ones
   */
  public PNet2D(long inChannels, long outChannels, long numFilters, long... ratios) {
    if (ratios.length != 5 || Arrays.stream(ratios).anyMatch(r -> r < 1)) {
      throw new IllegalArgumentException("ratios must be 5 dilations >= 1, got " + Arrays.toString(ratios));
    }
    if (outChannels < 1) {
      throw new IllegalArgumentException("out_chns must be >= 1, got " + outChannels);
    }
    this.ratios = ratios.clone();
    block1 = register("block1", new PNetBlock(inChannels, numFilters, ratios[0], ratios[0]));
    block2 = register("block2", new PNetBlock(numFilters, numFilters, ratios[1], ratios[1]));
    block3 = register("block3", new PNetBlock(numFilters, numFilters, ratios[2], ratios[2]));
    block4 = register("block4", new PNetBlock(numFilters, numFilters, ratios[3], ratios[3]));
    block5 = register("block5", new PNetBlock(numFilters, numFilters, ratios[4], ratios[4]));
    catblock = register("catblock", new ConcatBlock(numFilters * 5, numFilters * 2));
    out = register("out", new OutputBlock(numFilters * 2, outChannels));
  }

  public long[] ratios() {
    return ratios.clone();
  }

  @Override
  public Tensor forward(Tensor x) {
    Tensor x1 = block1.forward(x);
    Tensor x2 = block2.forward(x1);
    Tensor x3 = block3.forward(x2);
    Tensor x4 = block4.forward(x3);
    Tensor x5 = block5.forward(x4);
    Tensor concatenated = torch.cat(new TensorVector(x1, x2, x3, x4, x5), 1);
    return out.forward(catblock.forward(concatenated));
  }

  /**
   * {@code PNetBlock}: two dilated 3x3 convolutions, each followed by batch norm and leaky ReLU. The
   * reference names the norms {@code in1}/{@code in2} though they are batch norms; the names are kept for
   * the state-dict keys.
   */
  public static final class PNetBlock extends JModule implements Layer {
    final Conv2dImpl conv1;
    final Conv2dImpl conv2;
    final BatchNorm2dImpl in1;
    final BatchNorm2dImpl in2;
    final LeakyReLUImpl ac1;
    final LeakyReLUImpl ac2;

    public PNetBlock(long inChannels, long outChannels, long dilation, long padding) {
      conv1 = register("conv1", Nn.conv2d(inChannels, outChannels, 3).padding(padding).dilation(dilation).build());
      conv2 = register("conv2", Nn.conv2d(outChannels, outChannels, 3).padding(padding).dilation(dilation).build());
      in1 = register("in1", Nn.batchNorm2d(outChannels).build());
      in2 = register("in2", Nn.batchNorm2d(outChannels).build());
      ac1 = register("ac1", Nn.leakyRelu(UNet2dBlocks.LEAKY_SLOPE));
      ac2 = register("ac2", Nn.leakyRelu(UNet2dBlocks.LEAKY_SLOPE));
    }

    @Override
    public Tensor forward(Tensor x) {
      x = ac1.forward(in1.forward(conv1.forward(x)));
      return ac2.forward(in2.forward(conv2.forward(x)));
    }
  }

  /** {@code ConcatBlock}: two 1x1 convolutions (in to in, in to out channels), each with leaky ReLU. */
  public static final class ConcatBlock extends JModule implements Layer {
    final Conv2dImpl conv1;
    final Conv2dImpl conv2;
    final LeakyReLUImpl ac1;
    final LeakyReLUImpl ac2;

    public ConcatBlock(long inChannels, long outChannels) {
      conv1 = register("conv1", Nn.conv2d(inChannels, inChannels, 1).build());
      conv2 = register("conv2", Nn.conv2d(inChannels, outChannels, 1).build());
      ac1 = register("ac1", Nn.leakyRelu(UNet2dBlocks.LEAKY_SLOPE));
      ac2 = register("ac2", Nn.leakyRelu(UNet2dBlocks.LEAKY_SLOPE));
    }

    @Override
    public Tensor forward(Tensor x) {
      x = ac1.forward(conv1.forward(x));
      return ac2.forward(conv2.forward(x));
    }
  }

  /**
   * The reference's {@code OutPutBlock}: channel dropout (p = 0.3), 1x1 convolution to half the channels,
   * leaky ReLU, channel dropout again, 1x1 convolution to the output channels (no activation).
   */
  public static final class OutputBlock extends JModule implements Layer {
    /** The rate of both {@code nn.Dropout2d(0.3)} layers. */
    public static final double DROPOUT_P = 0.3;
    final Conv2dImpl conv1;
    final Conv2dImpl conv2;
    final Dropout2dImpl drop1;
    final Dropout2dImpl drop2;
    final LeakyReLUImpl ac1;

    public OutputBlock(long inChannels, long outChannels) {
      if (inChannels < 2) {
        throw new IllegalArgumentException("OutPutBlock halves its " + inChannels + " input channels to none");
      }
      conv1 = register("conv1", Nn.conv2d(inChannels, inChannels / 2, 1).build());
      conv2 = register("conv2", Nn.conv2d(inChannels / 2, outChannels, 1).build());
      drop1 = register("drop1", Nn.dropout2d(DROPOUT_P));
      drop2 = register("drop2", Nn.dropout2d(DROPOUT_P));
      ac1 = register("ac1", Nn.leakyRelu(UNet2dBlocks.LEAKY_SLOPE));
    }

    @Override
    public Tensor forward(Tensor x) {
      x = ac1.forward(conv1.forward(drop1.forward(x)));
      return conv2.forward(drop2.forward(x));
    }
  }
}
