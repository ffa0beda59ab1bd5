"""Colorization dataset (``--dataset_mode colorization``): the L channel in, the ab channels out.

Reads every RGB image under ``<dataroot>/<phase>`` (recursively, sorted), applies the usual
``--preprocess`` resize/crop/flip, converts to CIELAB through :mod:`util.image` and returns

* ``A``: L as ``(1, H, W)`` float32, ``L / 50 - 1`` in [-1, 1];
* ``B``: ab as ``(2, H, W)`` float32, ``ab / 110`` (about [-1, 1]).

Its defaults are ``--input_nc 1 --output_nc 2 --direction AtoB``; other values raise a
ValueError naming the flag (the reference asserts).
"""
from __future__ import annotations

import os
from typing import Any

import torch

from data.base_dataset import BaseDataset, get_transform, open_image, phase_word
from data.image_folder import require_images
from util.image import from_pil, to_lab_tensors


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

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        path = self.paths[index]
        rgb = get_transform(self.opt, convert=False, rng=self.item_rng(index))(open_image(path), path)
        L, ab = to_lab_tensors(from_pil(rgb))
        return {"A": L[0], "B": ab[0], "A_paths": path, "B_paths": path}
