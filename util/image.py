"""The one place that converts images between files, uint8 HWC arrays and float NCHW tensors.

Conventions:

* files and ``postprocess``: ``uint8`` RGB or RGBA arrays, shape ``(H, W, C)``;
* networks: ``float32`` tensors ``(N, C, H, W)`` in ``[-1, 1]``.

Every conversion rounds and clips on the way back to ``uint8`` and handles whole
batches; nothing else in the project does ``(x + 1) / 2 * 255``.

Part of the bottom layer, and torch-free at import: the tensor conversions import torch when they
are called, so ``postprocess`` reads and writes files through this module (and ``util.fileio``)
without loading torch (``tests/postprocess/test_pipeline.py`` checks it).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from util.fileio import atomic_path

logger = logging.getLogger(__name__)

#: Image extensions accepted everywhere, compared lower-cased.
IMG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp"})

#: Largest image (in pixels) we decode; larger files are refused as decompression bombs.
MAX_PIXELS = 16384 * 16384

# One limit, applied the same way everywhere: load_image checks the size it reads from the header
# against ``max_pixels`` (default MAX_PIXELS) before decoding. Pillow's own check is process-global
# (Image.MAX_IMAGE_PIXELS, a warning at 89 MP and an error at 179 MP) and would need warning filters,
# which are not thread-safe, to turn its warning into a refusal; it is switched off so that it can
# neither refuse images below our limit nor give different answers in different threads.
Image.MAX_IMAGE_PIXELS = None


class ImageLoadError(ValueError):
    """A file could not be read as an image; ``str()`` names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def is_image_file(path: str | os.PathLike) -> bool:
    """True when ``path`` has an image extension (any letter case)."""
    return Path(path).suffix.lower() in IMG_EXTENSIONS


def _to_rgb_or_rgba(img: Image.Image, keep_alpha: bool) -> np.ndarray:
    """Convert any PIL mode to a uint8 (H, W, 3) or (H, W, 4) array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit / 32-bit grey: scale the real range to 8 bits instead of clipping.
        arr = np.asarray(img, dtype=np.float64)
        if mode == "F":
            lo, hi = 0.0, 1.0 if arr.size and float(arr.max()) <= 1.0 else 255.0
        else:
            hi = 65535.0 if arr.size and float(arr.max()) > 255 else 255.0
            lo = 0.0
        grey = np.clip(np.rint((arr - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info)
    if keep_alpha and has_alpha:
        return _array(img, "RGBA")
    if has_alpha:
        # Composite over white so transparent regions do not turn black.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8).copy()
    return _array(img, "RGB")


def _array(img: Image.Image, mode: str) -> np.ndarray:
    """A writable uint8 copy of ``img`` in ``mode``: one copy of the pixels when the mode already fits
    (a 100 MP photo would otherwise pass through three), two when it needs converting."""
    return np.array(img if img.mode == mode else img.convert(mode), dtype=np.uint8)


def check_pixels(path: str | os.PathLike, size: tuple[int, int], max_pixels: int | None = None) -> None:
    """Raise :class:`ImageLoadError` when an image of ``size`` (width, height) exceeds ``max_pixels``
    (None: :data:`MAX_PIXELS`)."""
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels
    w, h = size
    if w * h > max_pixels:
        raise ImageLoadError(path, f"image is {w}x{h} = {w * h} pixels, above the limit of {max_pixels} "
                                   "(possible decompression bomb); resize it first or raise --max_pixels")


def load_image(path: str | os.PathLike, *, keep_alpha: bool = False, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as uint8 RGB ``(H, W, 3)`` (or RGBA ``(H, W, 4)`` when ``keep_alpha``
    and the file has alpha).

    Handles JPEG/PNG/BMP/TIFF/WebP, EXIF orientation, grayscale, palette, CMYK, 16-bit
    and alpha. Raises :class:`ImageLoadError` naming the file for anything unreadable:
    empty files, non-image data, truncated data, decompression bombs (more than ``max_pixels``,
    default :data:`MAX_PIXELS`, pixels by the file's header, checked before anything is decoded;
    the same answer in every thread).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImageLoadError(path, f"cannot read file ({err.strerror or err})") from err
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    try:
        with Image.open(path) as img:
            check_pixels(path, img.size, max_pixels)
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # no copy of the pixels when nothing rotates
            return _to_rgb_or_rgba(img, keep_alpha)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as err:  # only if someone re-enabled Pillow's own check
        raise ImageLoadError(path, f"refused as a decompression bomb: {err}") from err
    except UnidentifiedImageError as err:
        raise ImageLoadError(path, "not an image file (unrecognised data)") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageLoadError(path, f"corrupt or truncated image ({err})") from err


def _check_uint8_image(image: np.ndarray, name: str = "image") -> None:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"`{name}` must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"`{name}` must have shape (H, W, 1|3|4), got {image.shape}")


def save_image(path: str | os.PathLike, image: np.ndarray, *, indexed: bool | None = None) -> None:
    """Write a uint8 ``(H, W, 1|3|4)`` array atomically; the format follows the extension.

    ``indexed=None`` writes a palette ("P" mode) PNG when the image has at most 256
    colours, which pixel-art editors expect; ``True`` forces it (error above 256
    colours), ``False`` writes plain RGB(A).
    """
    _check_uint8_image(image)
    path = Path(path)
    pil = to_pil(image)
    is_png = path.suffix.lower() == ".png"
    if is_png and indexed is not False and image.shape[2] in (3, 4):
        pal_img = _as_indexed(image)
        if pal_img is not None:
            pil = pal_img
        elif indexed:
            raise ValueError(f"{path}: indexed PNG needs at most 256 colours")
    with atomic_path(path) as tmp:
        pil.save(tmp, format=Image.registered_extensions().get(path.suffix.lower(), "PNG"))


def save_upscaled(path: str | os.PathLike, native: np.ndarray, factor: int,
                  crop_to: tuple[int, int] | None = None) -> None:
    """Write ``native`` enlarged ``factor`` times (nearest neighbour) and cut to ``crop_to = (height,
    width)``: the same file as ``save_image(path, enlarged)``, byte for byte, but for a PNG of <= 256
    colours the enlarged picture is built as one palette index per pixel (1 byte) instead of RGB(A)
    (3-4 bytes plus the colour search on every pixel), which keeps large outputs cheap in memory.
    """
    _check_uint8_image(native, "native")
    h, w = native.shape[:2]
    out_h, out_w = (h * factor, w * factor) if crop_to is None else crop_to
    whole_cells = -(-out_h // factor) == h and -(-out_w // factor) == w  # every colour stays visible
    if Path(path).suffix.lower() == ".png" and native.shape[2] in (3, 4) and whole_cells:
        found = _palette_indices(native)
        if found is not None:
            idx, colours = found
            big = np.repeat(np.repeat(idx, factor, axis=0), factor, axis=1)[:out_h, :out_w]
            pil = _palette_image(np.ascontiguousarray(big), colours, native.shape[2])
            with atomic_path(path) as tmp:
                pil.save(tmp, format="PNG")
            return
    big = np.repeat(np.repeat(native, factor, axis=0), factor, axis=1)[:out_h, :out_w]
    save_image(path, big)


def _palette_indices(image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(uint8 index image, colours (n, 4) sorted by RGBA code) for <= 256 colours, else None."""
    c = image.shape[2]
    flat = image.reshape(-1, c).astype(np.uint32)
    keys = flat[:, 0] << 24 | flat[:, 1] << 16 | flat[:, 2] << 8  # one integer per RGB(A) colour
    if c == 4:
        keys |= flat[:, 3]
    colour_keys, inverse = np.unique(keys, return_inverse=True)
    if len(colour_keys) > 256:
        return None
    colours = np.stack([(colour_keys >> shift) & 0xFF for shift in (24, 16, 8, 0)], axis=1).astype(np.uint8)
    return inverse.reshape(image.shape[:2]).astype(np.uint8), colours


def _palette_image(idx: np.ndarray, colours: np.ndarray, channels: int) -> Image.Image:
    pil = Image.fromarray(idx, mode="P")
    pil.putpalette(colours[:, :3].ravel().tolist())
    if channels == 4:
        pil.info["transparency"] = bytes(colours[:, 3].tolist())
    return pil


def _as_indexed(image: np.ndarray) -> Image.Image | None:
    """Exact palette-mode image for <= 256 colours (alpha kept through tRNS), else None."""
    found = _palette_indices(image)
    return None if found is None else _palette_image(found[0], found[1], image.shape[2])


def to_pil(image: np.ndarray) -> Image.Image:
    """uint8 (H, W, 1|3|4) array -> PIL image (L, RGB or RGBA)."""
    _check_uint8_image(image)
    if image.shape[2] == 1:
        return Image.fromarray(image[..., 0], mode="L")
    return Image.fromarray(np.ascontiguousarray(image), mode="RGB" if image.shape[2] == 3 else "RGBA")


def from_pil(img: Image.Image) -> np.ndarray:
    """PIL image -> uint8 (H, W, C) array, keeping L as one channel and RGB(A) as is."""
    if img.mode == "L":
        return np.asarray(img, dtype=np.uint8)[..., None].copy()
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


# --------------------------------------------------------------------------- tensors
def to_tensor(images: np.ndarray | Sequence[np.ndarray]):
    """uint8 ``(H, W, C)`` or ``(N, H, W, C)`` (or a list of equal-size HWC arrays) ->
    ``float32`` tensor ``(N, C, H, W)`` in ``[-1, 1]``.
    """
    import torch

    if not isinstance(images, np.ndarray):
        images = np.stack(list(images))
    if images.dtype != np.uint8:
        raise TypeError(f"`images` must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"`images` must have shape (H, W, C) or (N, H, W, C), got {images.shape}")
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)  # NHWC -> NCHW
    return t.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(tensor) -> np.ndarray:
    """float tensor ``(N, C, H, W)`` or ``(C, H, W)`` in ``[-1, 1]`` -> uint8 ``(N, H, W, C)``
    (or ``(H, W, C)`` for a 3-D input), rounded and clipped. One-channel outputs stay one channel.
    """
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"`tensor` must be a torch.Tensor, got {type(tensor).__name__}")
    single = tensor.dim() == 3
    if single:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 4:
        raise ValueError(f"`tensor` must have shape (N, C, H, W) or (C, H, W), got {tuple(tensor.shape)}")
    x = tensor.detach().to("cpu", torch.float32)
    x = ((x + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    out = x.permute(0, 2, 3, 1).contiguous().numpy()  # NCHW -> NHWC
    return out[0] if single else out


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 1|3|4) -> (H, W, 3): grey is repeated, alpha is dropped."""
    _check_uint8_image(image)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[..., :3]


# --------------------------------------------------------------------------- CIELAB (colorization)
#: sRGB (D65) -> CIE XYZ, and the D65 reference white (2 degree observer), as in scikit-image.
_XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                          [0.212671, 0.715160, 0.072169],
                          [0.019334, 0.119193, 0.950227]])
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_LAB_EPS = 0.008856  # (6/29)**3, rounded as in the CIE publication
_LAB_KAPPA = 7.787  # slope of the linear segment, (29/6)**2 / 3 rounded

#: The colorization model's tensor encoding: L / 50 - 1 in [-1, 1], ab / 110 (about [-1, 1]).
LAB_L_SCALE = 50.0
LAB_AB_SCALE = 110.0


def _check_last_axis_3(array: np.ndarray, name: str) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array, got {type(array).__name__}")
    if array.ndim < 1 or array.shape[-1] != 3:
        raise ValueError(f"`{name}` must have shape (..., 3), got {array.shape}")


def rgb_to_lab(images: np.ndarray) -> np.ndarray:
    """sRGB -> CIELAB (D65): uint8 ``(..., 3)`` (one pixel, an image, a batch) -> float32 ``(..., 3)``.

    L is in [0, 100]; a and b are about [-86, 98] and [-108, 94] for sRGB colours. Float
    input is read as sRGB in [0, 1]. Matches ``skimage.color.rgb2lab`` (the reference's
    conversion) to float32 precision.
    """
    _check_last_axis_3(images, "images")
    if images.dtype == np.uint8:
        rgb = images.astype(np.float64) / 255.0
    elif np.issubdtype(images.dtype, np.floating):
        rgb = np.clip(images.astype(np.float64), 0.0, 1.0)
    else:
        raise TypeError(f"`images` must be uint8 (0..255) or float (0..1), got {images.dtype}")
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ _XYZ_FROM_RGB.T / _D65_WHITE
    f = np.where(xyz > _LAB_EPS, np.cbrt(xyz), _LAB_KAPPA * xyz + 16.0 / 116.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab.astype(np.float32)


def lab_to_rgb_float(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) float ``(..., 3)`` -> sRGB float32 ``(..., 3)`` in [0, 1] (out-of-gamut colours clipped)."""
    _check_last_axis_3(lab, "lab")
    if not np.issubdtype(lab.dtype, np.floating):
        raise TypeError(f"`lab` must be a float array (L in [0, 100]), got {lab.dtype}")
    lab = lab.astype(np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, np.maximum(fy - lab[..., 2] / 200.0, 0.0)], axis=-1)
    xyz = np.where(f > _LAB_EPS ** (1.0 / 3.0), f ** 3, (f - 16.0 / 116.0) / _LAB_KAPPA) * _D65_WHITE
    linear = xyz @ _RGB_FROM_XYZ.T
    rgb = np.where(linear > 0.0031308, 1.055 * np.power(np.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055,
                   12.92 * linear)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) float ``(..., 3)`` -> sRGB uint8 ``(..., 3)``, rounded and clipped."""
    return np.rint(lab_to_rgb_float(lab) * 255.0).astype(np.uint8)


def to_lab_tensors(images: np.ndarray | Sequence[np.ndarray]):
    """uint8 RGB ``(H, W, 3)`` or ``(N, H, W, 3)`` -> ``(L, ab)`` float32 tensors for colorization:
    ``L`` ``(N, 1, H, W)`` = L / 50 - 1 in [-1, 1] and ``ab`` ``(N, 2, H, W)`` = ab / 110."""
    import torch

    if not isinstance(images, np.ndarray):
        images = np.stack(list(images))
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.dtype != np.uint8 or images.shape[-1] != 3:
        raise ValueError(f"`images` must be uint8 RGB (H, W, 3) or (N, H, W, 3), got {images.dtype} {images.shape}")
    lab = torch.from_numpy(rgb_to_lab(images)).permute(0, 3, 1, 2)
    return (lab[:, :1] / LAB_L_SCALE - 1.0).contiguous(), (lab[:, 1:] / LAB_AB_SCALE).contiguous()


def lab_tensors_to_rgb(L, ab):
    """The inverse of :func:`to_lab_tensors` for display: ``L`` ``(N, 1, H, W)`` and ``ab``
    ``(N, 2, H, W)`` -> float32 RGB tensor ``(N, 3, H, W)`` in [-1, 1] on ``L``'s device."""
    import torch

    for name, t, c in (("L", L, 1), ("ab", ab, 2)):
        if not isinstance(t, torch.Tensor) or t.dim() != 4 or t.shape[1] != c:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"`{name}` must be a tensor (N, {c}, H, W), got {shape}")
    if L.shape[0] != ab.shape[0] or L.shape[2:] != ab.shape[2:]:
        raise ValueError(f"`L` {tuple(L.shape)} and `ab` {tuple(ab.shape)} must share N, H and W")
    lab = torch.cat([(L.detach().float().cpu() + 1.0) * LAB_L_SCALE, ab.detach().float().cpu() * LAB_AB_SCALE], 1)
    rgb = lab_to_rgb_float(lab.permute(0, 2, 3, 1).numpy())
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).mul(2.0).sub(1.0).contiguous().to(L.device)
