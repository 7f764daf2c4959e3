package org.ssl4mis.data.fixmatch;

import java.util.Arrays;
import java.util.Objects;

/**
 * An 8-bit grayscale image as Pillow holds a mode {@code 'L'} image: {@code width} (PIL's {@code size[0]}) by
 * {@code height} pixels, stored row by row ({@code pixels[y * width + x]}, values {@code 0..255} read as
 * {@code b & 0xFF}). This is the same memory order as the C-order {@code (H, W)} array of a 2-D slice, so
 * {@code Volume} shape {@code (H, W)} maps to {@code width = W, height = H} without reordering.
 *
 * <p>The conversions are those of torchvision 0.14 that the reference's {@code CTATransform} uses:
 * <ul>
 *   <li>{@link #fromFloatTensor}: {@code transforms.ToPILImage()} of a {@code float32} tensor
 *       {@code (1, H, W)}. torchvision does not make a mode {@code 'F'} image here: for a floating tensor and no
 *       explicit mode it runs {@code pic.mul(255).byte()} and the resulting {@code uint8} array becomes a mode
 *       {@code 'L'} image. So each value is multiplied by 255 in {@code float32} and cast to {@code uint8} the way
 *       PyTorch casts (truncation toward zero, then wrap modulo 256: {@code -0.5 -> 0}, {@code 255.9 -> 255},
 *       {@code 256.0 -> 0}, {@code -1.0 -> 255}, NaN {@code -> 0}). Values in {@code [0, 1]} map to
 *       {@code floor(255 x)}.</li>
 *   <li>{@link #fromLabel}: {@code ToPILImage()} of a {@code uint8} tensor {@code (H, W)}: mode {@code 'L'}, the
 *       bytes unchanged.</li>
 *   <li>{@link #toTensor}: {@code transforms.ToTensor()} of a mode {@code 'L'} image: {@code b / 255} in
 *       {@code float32} (bit-equal to PyTorch's {@code div(255)} for all 256 values).</li>
 * </ul>
 */
public record GrayImage(int width, int height, byte[] pixels) {

  public GrayImage {
    Objects.requireNonNull(pixels, "pixels");
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("an image needs at least one pixel, got " + width + "x" + height);
    }
    if ((long) width * height != pixels.length) {
      throw new IllegalArgumentException(width + "x" + height + " image needs " + (long) width * height
          + " pixels, got " + pixels.length);
    }
  }

  /** A {@code width x height} image of one value ({@code Image.new('L', size, value)}). */
  public static GrayImage filled(int width, int height, int value) {
    byte[] p = new byte[Math.multiplyExact(width, height)];
    Arrays.fill(p, (byte) value);
    return new GrayImage(width, height, p);
  }

  /** {@code ToPILImage()(t)} for a {@code float32} tensor of shape {@code (1, height, width)} (see the class doc). */
  public static GrayImage fromFloatTensor(float[] chw, int height, int width) {
    if (chw.length != (long) height * width) {
      throw new IllegalArgumentException("a (1, " + height + ", " + width + ") tensor has " + (long) height * width
          + " values, got " + chw.length);
    }
    byte[] p = new byte[chw.length];
    for (int i = 0; i < p.length; i++) {
      p[i] = torchFloatToByte(chw[i] * 255f);
    }
    return new GrayImage(width, height, p);
  }

  /** {@code ToPILImage()(t)} for a {@code uint8} tensor of shape {@code (height, width)}: the bytes as they are. */
  public static GrayImage fromLabel(byte[] hw, int height, int width) {
    return new GrayImage(width, height, hw.clone());
  }

  /** {@code ToTensor()(img)}: {@code float32} values {@code b / 255}, C order {@code (1, height, width)}. */
  public float[] toTensor() {
    float[] t = new float[pixels.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = (pixels[i] & 0xFF) / 255f;
    }
    return t;
  }

  /** The pixel at column {@code x}, row {@code y} ({@code img.getpixel((x, y))}). */
  public int get(int x, int y) {
    return pixels[y * width + x] & 0xFF;
  }

  /** A copy with its own pixel buffer. */
  public GrayImage copy() {
    return new GrayImage(width, height, pixels.clone());
  }

  /** The pixels as {@code 0..255} ints, row by row. */
  public int[] toIntArray() {
    int[] a = new int[pixels.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = pixels[i] & 0xFF;
    }
    return a;
  }

  /**
   * PyTorch's {@code float -> uint8} cast: truncate toward zero through a 64-bit integer, keep the low 8 bits;
   * NaN, infinities and magnitudes of {@code 2^63} or more give 0.
   */
  static byte torchFloatToByte(float v) {
    if (!(Math.abs(v) < 0x1p63f)) { // NaN, infinities and values past the int64 range
      return 0;
    }
    return (byte) (long) v;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GrayImage g && g.width == width && g.height == height && Arrays.equals(g.pixels, pixels);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * width + height) + Arrays.hashCode(pixels);
  }

  @Override
  public String toString() {
    return "GrayImage[" + width + "x" + height + "]";
  }
}
