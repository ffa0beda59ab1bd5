"""The one place that converts images between files, uint8 HWC arrays and float NCHW tensors.

Conventions (see DESIGN.md):

* files and ``postprocess``: ``uint8`` RGB or RGBA arrays, shape ``(H, W, C)``;
* networks: ``float32`` tensors ``(N, C, H, W)`` in ``[-1, 1]``.

Every conversion rounds and clips on the way back to ``uint8`` and handles whole
batches; nothing else in the project does ``(x + 1) / 2 * 255``.
"""
from __future__ import annotations

import logging
import os
import warnings
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
        return np.asarray(img.convert("RGBA"), dtype=np.uint8).copy()
    if has_alpha:
        # Composite over white so transparent regions do not turn black.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8).copy()
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def load_image(path: str | os.PathLike, *, keep_alpha: bool = False) -> np.ndarray:
    """Read an image file as uint8 RGB ``(H, W, 3)`` (or RGBA ``(H, W, 4)`` when ``keep_alpha``
    and the file has alpha).

    Handles JPEG/PNG/BMP/TIFF/WebP, EXIF orientation, grayscale, palette, CMYK, 16-bit
    and alpha. Raises :class:`ImageLoadError` naming the file for anything unreadable:
    empty files, non-image data, truncated data, decompression bombs.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImageLoadError(path, f"cannot read file ({err.strerror or err})") from err
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageLoadError(path, f"image is {w}x{h} pixels, above the limit of {MAX_PIXELS} "
                                               "(possible decompression bomb); resize it first")
                img.load()
                img = ImageOps.exif_transpose(img)
                return _to_rgb_or_rgba(img, keep_alpha)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
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


def _as_indexed(image: np.ndarray) -> Image.Image | None:
    """Exact palette-mode image for <= 256 colours (alpha kept through tRNS), else None."""
    c = image.shape[2]
    flat = image.reshape(-1, c).astype(np.uint32)
    keys = flat[:, 0] << 24 | flat[:, 1] << 16 | flat[:, 2] << 8  # one integer per RGB(A) colour
    if c == 4:
        keys |= flat[:, 3]
    colour_keys, inverse = np.unique(keys, return_inverse=True)
    if len(colour_keys) > 256:
        return None
    colours = np.stack([(colour_keys >> shift) & 0xFF for shift in (24, 16, 8, 0)], axis=1).astype(np.uint8)
    idx = inverse.reshape(image.shape[:2]).astype(np.uint8)
    pil = Image.fromarray(idx, mode="P")
    pil.putpalette(colours[:, :3].ravel().tolist())
    if c == 4:
        pil.info["transparency"] = bytes(colours[:, 3].tolist())
    return pil


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
