"""Listing the image files of a dataset folder.

:func:`make_dataset` walks a folder recursively and returns the image paths in a stable,
sorted order (sorted *before* ``max_dataset_size`` truncates the list, so the same files
are kept on every machine). Extensions are matched case-insensitively through
:func:`util.image.is_image_file` (``.jpg .jpeg .png .ppm .bmp .tif .tiff .webp``).

Hidden files and folders (names starting with ``.``) are skipped: they are macOS
``._*`` resource forks, ``.ipynb_checkpoints`` copies or temporary files of an atomic
write, never real training images.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Callable

from PIL import Image

from util.image import IMG_EXTENSIONS, is_image_file, load_image, to_pil

logger = logging.getLogger(__name__)

#: Extensions in the order error messages list them.
_EXT_ORDER = (".jpg", ".jpeg", ".png") + tuple(sorted(IMG_EXTENSIONS - {".jpg", ".jpeg", ".png"}))


def parse_max_dataset_size(value: object) -> int | None:
    """``--max_dataset_size`` as an int, or None for "no limit" (``inf`` or None).

    Raises ValueError/TypeError naming the flag for negative, fractional or non-numeric values.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"--max_dataset_size must be an integer or inf, got {value!r} ({type(value).__name__})")
    if isinstance(value, float):
        if math.isinf(value) and value > 0:
            return None
        if not value.is_integer():
            raise ValueError(f"--max_dataset_size must be a whole number or inf, got {value!r}")
        value = int(value)
    if value < 0:
        raise ValueError(f"--max_dataset_size must be >= 0 (or inf for no limit), got {value}")
    return int(value)


def _walk_images(root: Path) -> list[str]:
    """Every image file below ``root`` (recursive, symlinked folders followed once, hidden entries skipped)."""
    found: list[str] = []
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:  # a symlink loop or a folder linked twice
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and is_image_file(name):
                found.append(os.path.join(dirpath, name))
    return found


def make_dataset(dir: str | os.PathLike, max_dataset_size: int | float | None = float("inf")) -> list[str]:
    """Sorted paths (str) of all image files under ``dir``, recursively, at most ``max_dataset_size``.

    The list is sorted before truncation. A missing folder raises ValueError naming it; an
    empty folder gives an empty list (see :func:`require_images` for the checked variant).
    """
    limit = parse_max_dataset_size(max_dataset_size)
    root = Path(dir)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ValueError(f"dataset folder {root} {what}; check --dataroot and --phase")
    images = sorted(_walk_images(root))
    return images if limit is None else images[:limit]


def require_images(dir: str | os.PathLike, max_dataset_size: int | float | None, what: str) -> list[str]:
    """Like :func:`make_dataset` but an empty result is an error.

    ``what`` says what belongs in the folder, e.g. ``"domain-B training images"``; it ends
    up in the messages: "no images found in datasets/x/trainB (looked for .jpg .jpeg .png ...);
    put domain-B training images there".
    """
    root = Path(dir)
    if not root.is_dir():
        state = "is not a folder" if root.exists() else "does not exist"
        raise ValueError(f"dataset folder {root} {state}; create it and put {what} there "
                         "(or fix --dataroot / --phase)")
    images = make_dataset(root, max_dataset_size)
    if images:
        return images
    if parse_max_dataset_size(max_dataset_size) == 0 and make_dataset(root):
        raise ValueError(f"--max_dataset_size 0 leaves no images from {root}; use a positive value or inf")
    others = sorted(p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    hint = ""
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        hint = f"; it holds {len(others)} other file(s) ({shown}), convert them to PNG or JPEG"
    raise ValueError(f"no images found in {root} (looked for {' '.join(_EXT_ORDER)}, any letter case)"
                     f"{hint}; put {what} there")


def default_loader(path: str | os.PathLike) -> Image.Image:
    """Open ``path`` as an RGB PIL image (alpha composited over white); ImageLoadError names a bad file."""
    return to_pil(load_image(path))


class ImageFolder:
    """Minimal map-style dataset over :func:`make_dataset` (kept for user scripts; the
    training pipeline does not use it).

    ``dataset[i]`` is ``transform(loader(path))`` (or the PIL image), plus the path when
    ``return_paths``.
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None, return_paths: bool = False,
                 loader: Callable[[str], Image.Image] = default_loader):
        self.root = str(root)
        self.imgs = require_images(root, None, "images")
        self.transform = transform
        self.return_paths = return_paths
        self.loader = loader

    def __getitem__(self, index: int):
        path = self.imgs[index]
        img = self.loader(path)
        if self.transform is not None:
            img = self.transform(img)
        return (img, path) if self.return_paths else img

    def __len__(self) -> int:
        return len(self.imgs)
