package org.ssl4mis.data.fixmatch;

/** Python source shared by the parity tests: {@code ctaugment.py}'s op table as Pillow calls, and ToPILImage. */
final class PythonCtaOps {
  private PythonCtaOps() {}

  /**
   * Defines {@code CTA[name](x, *args)} with the reference's mapping of arguments to Pillow calls ({@code cutout}
   * takes its two positions as extra arguments instead of drawing them), {@code to_pil_float(t)} (what
   * {@code transforms.ToPILImage()} does with a float32 tensor of shape (1, H, W) and no mode: {@code mul(255)},
   * {@code byte()}, mode 'L'), {@code to_tensor(img)} ({@code ToTensor()} of an 'L' image) and {@code RESAMPLE}.
   */
  static final String SOURCE = """
      import warnings
      import numpy as np
      import torch
      from PIL import Image, ImageOps, ImageEnhance, ImageFilter
      warnings.simplefilter('ignore')
      RESAMPLE = {'NEAREST': Image.NEAREST, 'LANCZOS': Image.LANCZOS, 'BILINEAR': Image.BILINEAR,
                  'BICUBIC': Image.BICUBIC, 'BOX': Image.BOX, 'HAMMING': Image.HAMMING}
      # the reference's rescale methods, ANTIALIAS first (Pillow 9 still has the alias)
      METHODS = (Image.ANTIALIAS, Image.BICUBIC, Image.BILINEAR, Image.BOX, Image.HAMMING, Image.NEAREST)
      def rescale(x, scale, method):
          w, h = x.size
          scale *= 0.25
          box = (scale * w, scale * h, w * (1 - scale), h * (1 - scale))
          return x.crop(box).resize(x.size, METHODS[int(method * 5.99)])
      def cutout(x, level, xloc, yloc):
          # the reference's geometry: size from min(x.size); its two randint draws arrive as xloc, yloc
          first, second = x.size
          size = 1 + int(level * min(x.size) * 0.499)
          lo = (max(0, int(xloc) - size // 2), max(0, int(yloc) - size // 2))
          hi = (min(first, int(xloc) + size // 2), min(second, int(yloc) + size // 2))
          x = x.copy()
          for i in range(lo[0], hi[0]):
              for j in range(lo[1], hi[1]):
                  x.putpixel((i, j), 0)
          return x
      def affine(x, a):
          return x.transform(x.size, Image.AFFINE, a)
      CTA = {
          'autocontrast': lambda x, v: Image.blend(x, ImageOps.autocontrast(x), v),
          'brightness': lambda x, v: ImageEnhance.Brightness(x).enhance(0.1 + 1.9 * v),
          'color': lambda x, v: ImageEnhance.Color(x).enhance(0.1 + 1.9 * v),
          'contrast': lambda x, v: ImageEnhance.Contrast(x).enhance(0.1 + 1.9 * v),
          'equalize': lambda x, v: Image.blend(x, ImageOps.equalize(x), v),
          'invert': lambda x, v: Image.blend(x, ImageOps.invert(x), v),
          'posterize': lambda x, v: ImageOps.posterize(x, 1 + int(v * 7.999)),
          'solarize': lambda x, v: ImageOps.solarize(x, int(v * 255.999)),
          'smooth': lambda x, v: Image.blend(x, x.filter(ImageFilter.SMOOTH), v),
          'blur': lambda x, v: Image.blend(x, x.filter(ImageFilter.BLUR), v),
          'sharpness': lambda x, v: ImageEnhance.Sharpness(x).enhance(0.1 + 1.9 * v),
          'cutout': cutout,
          'identity': lambda x: x,
          'rescale': rescale,
          'rotate': lambda x, v: x.rotate(int(np.round((2 * v - 1) * 45))),
          'shear_x': lambda x, v: affine(x, (1, (2 * v - 1) * 0.3, 0, 0, 1, 0)),
          'shear_y': lambda x, v: affine(x, (1, 0, 0, (2 * v - 1) * 0.3, 1, 0)),
          'translate_x': lambda x, v: affine(x, (1, 0, (2 * v - 1) * 0.3, 0, 1, 0)),
          'translate_y': lambda x, v: affine(x, (1, 0, 0, 0, 1, (2 * v - 1) * 0.3)),
      }
      def to_pil_float(t):
          return Image.fromarray(t.mul(255).byte().numpy()[0], mode='L')
      def to_tensor(img):
          return torch.from_numpy(np.array(img, np.uint8, copy=True)).unsqueeze(0).to(torch.float32).div(255)
      """;
}
