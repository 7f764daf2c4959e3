package org.ssl4mis.networks;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.pytorch.Conv3dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.nn.JModule;
import org.ssl4mis.nn.Nn;
import org.ssl4mis.nn.Sequential;
import org.ssl4mis.tensor.Tensors;

/**
 * SSL4MIS's {@code GridAttentionBlock3D} ({@code networks/grid_attention_layer.py}, the 3D case of
 * {@code _GridAttentionBlockND}): the additive attention gate of Oktay et al., "Attention U-Net: Learning
 * Where to Look for the Pancreas" (MIDL 2018).
 *
 * <p>For features x (N, in_channels, D, H, W) and a coarser gating signal g (N, gating_channels, D', H', W'):
 * {@code theta} (kernel = stride = {@code sub_sample_factor}, no bias) subsamples x, {@code phi} (1x1x1) maps
 * g and is resized trilinearly to theta's grid, their sum goes through ReLU (softplus in
 * {@code concatenation_debug}), {@code psi} (1x1x1, one channel) and a sigmoid (a softmax over all voxels in
 * {@code concatenation_residual}); the attention map is resized trilinearly to x's grid, multiplies x, and
 * {@code W} (1x1x1 convolution + BatchNorm3d) transforms the product. {@link #forward} returns
 * {@code (W_y, attention)}: (N, in_channels, D, H, W) and (N, 1, D, H, W). Both resizes are
 * {@code F.upsample(size=..., mode='trilinear')} with align_corners unset (false).
 *
 * <p>Members, in the reference's order: {@code W} (Sequential of conv and batch norm), {@code theta},
 * {@code phi}, {@code psi}. Weights are initialised with the reference's kaiming scheme.
 */
public final class GridAttention3D extends JModule {

  /** The reference's {@code mode} values. */
  public enum Mode {
    CONCATENATION("concatenation"),
    CONCATENATION_DEBUG("concatenation_debug"),
    CONCATENATION_RESIDUAL("concatenation_residual");

    private final String pythonName;

    Mode(String pythonName) {
      this.pythonName = pythonName;
    }

    public String pythonName() {
      return pythonName;
    }

    /** The mode named as in Python ({@code 'concatenation'}, ...). */
    public static Mode parse(String name) {
      String n = name.toLowerCase(Locale.ROOT);
      for (Mode m : values()) {
        if (m.pythonName.equals(n)) {
          return m;
        }
      }
      throw new IllegalArgumentException("grid attention mode '" + name + "' is not one of concatenation,"
          + " concatenation_debug, concatenation_residual");
    }
  }

  /** {@code (W_y, sigm_psi_f)}: the gated, transformed features and the attention map. */
  public record Gated(Tensor output, Tensor attention) {}

  final Sequential W;
  final Conv3dImpl theta;
  final Conv3dImpl phi;
  final Conv3dImpl psi;
  private final Mode mode;
  private final long inChannels;
  private final long gatingChannels;
  private final long interChannels;
  private final long[] subSampleFactor;

  /**
   * @param interChannels {@code inter_channels}; {@code null} gives the reference default
   *     {@code max(in_channels // 2, 1)}
   * @param subSampleFactor {@code sub_sample_factor}: one value for all three axes or three values
   */
  public GridAttention3D(long inChannels, long gatingChannels, Long interChannels, Mode mode, long... subSampleFactor) {
    this.inChannels = inChannels;
    this.gatingChannels = gatingChannels;
    this.interChannels = interChannels != null ? interChannels : Math.max(inChannels / 2, 1);
    this.mode = Objects.requireNonNull(mode, "mode");
    if (subSampleFactor.length != 1 && subSampleFactor.length != 3) {
      throw new IllegalArgumentException("sub_sample_factor takes 1 or 3 values, got "
          + Arrays.toString(subSampleFactor));
    }
    this.subSampleFactor = subSampleFactor.length == 1
        ? new long[] {subSampleFactor[0], subSampleFactor[0], subSampleFactor[0]}
        : subSampleFactor.clone();
    W = register("W", new Sequential(
        Nn.conv3d(inChannels, inChannels, 1).stride(1).padding(0).build(),
        Nn.batchNorm3d(inChannels).build()));
    theta = register("theta", Nn.conv3d(inChannels, this.interChannels, this.subSampleFactor)
        .stride(this.subSampleFactor).padding(0).bias(false).build());
    phi = register("phi", Nn.conv3d(gatingChannels, this.interChannels, 1).stride(1).padding(0).bias(true).build());
    psi = register("psi", Nn.conv3d(this.interChannels, 1, 1).stride(1).padding(0).bias(true).build());
    UNet3DBlocks.initKaiming(this);
  }

  /** The reference defaults: {@code inter_channels=None}, {@code mode='concatenation'}, {@code sub_sample_factor=(2,2,2)}. */
  public GridAttention3D(long inChannels, long gatingChannels) {
    this(inChannels, gatingChannels, null, Mode.CONCATENATION, 2);
  }

  public Mode mode() {
    return mode;
  }

  public long interChannels() {
    return interChannels;
  }

  /** {@code forward(x, g)}: x the features to gate, g the gating signal (same batch size). */
  public Gated forward(Tensor x, Tensor g) {
    long[] xShape = NetworkInputs.requireShape("GridAttention3D", "x", x, 3, inChannels);
    long[] gShape = NetworkInputs.requireShape("GridAttention3D", "gating signal g", g, 3, gatingChannels);
    if (xShape[0] != gShape[0]) {
      throw new IllegalArgumentException("GridAttention3D: x and g must have the same batch size, got "
          + Arrays.toString(xShape) + " and " + Arrays.toString(gShape));
    }
    for (int i = 0; i < 3; i++) {
      if (xShape[i + 2] < subSampleFactor[i]) {
        throw new IllegalArgumentException("GridAttention3D: x's spatial size " + Arrays.toString(NetworkInputs
            .spatial(xShape)) + " is smaller than sub_sample_factor " + Arrays.toString(subSampleFactor));
      }
    }
    Tensor thetaX = theta.forward(x);
    long[] thetaGrid = NetworkInputs.spatial(Tensors.shape(thetaX));
    Tensor phiG = torch.upsample_trilinear3d(phi.forward(g), thetaGrid, false);
    Tensor sum = thetaX.add(phiG);
    Tensor attention;
    switch (mode) {
      case CONCATENATION -> attention = psi.forward(sum.relu()).sigmoid();
      case CONCATENATION_DEBUG -> attention = psi.forward(torch.softplus(sum)).sigmoid();
      case CONCATENATION_RESIDUAL -> {
        long batch = xShape[0];
        Tensor flat = psi.forward(sum.relu()).reshape(batch, 1, -1);
        attention = flat.softmax(2).view(batch, 1, thetaGrid[0], thetaGrid[1], thetaGrid[2]);
      }
      default -> throw new IllegalStateException(mode.toString());
    }
    attention = torch.upsample_trilinear3d(attention, NetworkInputs.spatial(xShape), false);
    Tensor y = attention.expand_as(x).mul(x);
    return new Gated(W.forward(y), attention);
  }
}
