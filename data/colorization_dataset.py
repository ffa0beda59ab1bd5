"""Colorization dataset (``--dataset_mode colorization``): the L channel in, the ab channels out.

Reads every RGB image under ``<dataroot>/<phase>`` (recursively, sorted), applies the usual
``--preprocess`` resize/crop/flip, converts to CIELAB through :mod:`util.image` and returns

* ``A``: L as ``(1, H, W)`` float32, ``L / 50 - 1`` in [-1, 1];
* ``B``: ab as ``(2, H, W)`` float32, ``ab / 110`` (about [-1, 1]).

Its defaults are ``--input_nc 1 --output_nc 2 --direction AtoB``; other values raise a
ValueError naming the flag (the reference asserts).

At training time a folder of grey images is warned about once (rank 0): grey pixels have
a*b* = 0, so the target would be zero everywhere and the generator would learn to add no colour.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
from PIL import Image

from data.base_dataset import BaseDataset, check_batchable_sizes, get_transform, open_image, phase_word
from data.image_folder import require_images
from util import dist
from util.image import from_pil, to_lab_tensors

logger = logging.getLogger(__name__)

#: At most this many files (evenly spaced over the sorted list) are decoded to look for colour.
GREY_SAMPLE = 64
#: Largest difference between the R, G and B values of a pixel (of 255) that still counts as grey:
#: the rounding of a grey image saved as an RGB JPEG.
GREY_SPREAD = 2
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_warned_grey: set[str] = set()  # folders already warned about in this process


def _is_grey(path: str) -> bool | None:
    """Whether the image holds no colour (every pixel R = G = B, within :data:`GREY_SPREAD`);
    None when it cannot be read (it is reported when loaded)."""
    try:
        with Image.open(path) as img:
            if img.mode in _GREY_MODES:
                return True
            img.draft("RGB", (256, 256))  # JPEG: decode at a reduced scale, the colour stays
            arr = np.asarray(img.convert("RGB"), dtype=np.int16)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    if arr.size == 0:
        return None
    spread = max(int(np.abs(arr[..., 0] - arr[..., 1]).max()), int(np.abs(arr[..., 1] - arr[..., 2]).max()))
    return spread <= GREY_SPREAD


def warn_if_grey(folder: str, paths: list[str]) -> bool:
    """Warn once per folder (rank 0) when the images of ``folder`` hold no colour: their a*b*
    target is zero everywhere. Checks at most :data:`GREY_SAMPLE` files, evenly spaced; returns
    whether it found them all grey."""
    if not paths:
        return False
    step = max(1, len(paths) / GREY_SAMPLE)
    sample = [paths[int(i * step)] for i in range(min(len(paths), GREY_SAMPLE))]
    verdicts = [v for v in (_is_grey(p) for p in sample) if v is not None]
    if not verdicts or not all(verdicts):
        return False
    key = os.path.abspath(folder)
    if key not in _warned_grey and dist.is_main():
        _warned_grey.add(key)
        if len(sample) < len(paths):
            which = f"all {len(verdicts)} images checked (of {len(paths)}, evenly spaced)"
        else:
            which = f"all {len(verdicts)} {'readable ' if len(verdicts) < len(paths) else ''}images"
        logger.warning("%s in %s are grey (no colour): colorization learns the a*b* colour channels from the "
                       "lightness L, and a grey image's a*b* are zero everywhere, so training would teach the "
                       "generator to add no colour at all; train on colour images (grey ones are what test.py "
                       "colorizes)", which, folder)
    return True


def check_colorization_options(opt: Any, what: str = "--dataset_mode colorization") -> None:
    """Raise ValueError naming the flag when ``opt`` does not describe L -> ab colorization."""
    wrong = [f"--{name} {getattr(opt, name)} (needs {need})"
             for name, need in (("input_nc", 1), ("output_nc", 2), ("direction", "AtoB"))
             if getattr(opt, name) != need]
    if wrong:
        raise ValueError(f"{what} maps the L channel to the ab channels: " + ", ".join(wrong)
                         + "; drop these flags (the defaults fit) or pass --input_nc 1 --output_nc 2 --direction AtoB")


class ColorizationDataset(BaseDataset):
    """Returns ``{'A': L (1, H, W), 'B': ab (2, H, W), 'A_paths', 'B_paths'}`` (same path twice)."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool):
        """One L channel in, two ab channels out."""
        parser.set_defaults(input_nc=1, output_nc=2, direction="AtoB")
        return parser

    def __init__(self, opt: Any):
        super().__init__(opt)
        check_colorization_options(opt)
        self.dir = os.path.join(opt.dataroot, opt.phase)
        self.paths = require_images(self.dir, opt.max_dataset_size,
                                    f"{phase_word(opt.phase)} images in colour (RGB) to learn colorization from")
        check_batchable_sizes(opt, {"A": (self.paths, None)})
        if getattr(opt, "isTrain", False):  # test.py colorizes grey images: nothing to warn about there
            warn_if_grey(self.dir, self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        path = self.paths[index]
        rgb = get_transform(self.opt, convert=False, rng=self.item_rng(index))(open_image(path), path)
        L, ab = to_lab_tensors(from_pil(rgb))
        return {"A": L[0], "B": ab[0], "A_paths": path, "B_paths": path}
