"""Paired dataset (``--dataset_mode aligned``, pix2pix style).

Each file in ``<dataroot>/<phase>`` (recursively, sorted) holds a pair side by side: A on
the left half, B on the right (split at ``w // 2``). Both halves get the same resize, crop
and flip. ``--direction BtoA`` swaps their channel counts as in the unaligned dataset.
"""
from __future__ import annotations

import os
from typing import Any

import torch

from data.base_dataset import (
    BaseDataset,
    DatasetImageError,
    check_batchable_sizes,
    domain_channels,
    get_params,
    get_transform,
    open_image,
    phase_word,
)
from data.image_folder import require_images


def _left_half(size: tuple[int, int]) -> tuple[int, int] | None:
    w, h = size
    return (w // 2, h) if w >= 2 else None


def _right_half(size: tuple[int, int]) -> tuple[int, int] | None:
    w, h = size
    return (w - w // 2, h) if w >= 2 else None


class AlignedDataset(BaseDataset):
    """Returns ``{'A', 'B', 'A_paths', 'B_paths'}``; tensors float32 (C, H, W) in [-1, 1],
    ``A_paths == B_paths``."""

    def __init__(self, opt: Any):
        super().__init__(opt)
        self.dir_AB = os.path.join(opt.dataroot, opt.phase)
        self.AB_paths = require_images(
            self.dir_AB, opt.max_dataset_size,
            f"{phase_word(opt.phase)} pairs, each one image with A on the left half and B on the right")
        if opt.preprocess in ("resize_and_crop", "scale_width_and_crop") and opt.load_size < opt.crop_size:
            raise ValueError(f"--load_size {opt.load_size} must be >= --crop_size {opt.crop_size} with "
                             f"--preprocess {opt.preprocess}; raise --load_size or lower --crop_size")
        self.nc_A, self.nc_B = domain_channels(opt)
        check_batchable_sizes(opt, {"A": (self.AB_paths, _left_half), "B": (self.AB_paths, _right_half)})

    def __len__(self) -> int:
        return len(self.AB_paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        path = self.AB_paths[index]
        AB = open_image(path)
        w, h = AB.size
        if w < 2:
            # an ordinary bad image: skipped by --skip_bad_images, reported by test.py, named when training stops
            raise DatasetImageError(path, f"aligned images hold A and B side by side, but this one is only {w} "
                                          f"pixel wide")
        half = w // 2
        A_img = AB.crop((0, 0, half, h))
        B_img = AB.crop((half, 0, w, h))
        params = get_params(self.opt, A_img.size, self.item_rng(index))
        A = get_transform(self.opt, params, grayscale=self.nc_A == 1)(A_img, path)
        B = get_transform(self.opt, params, grayscale=self.nc_B == 1)(B_img, path)
        return {"A": A, "B": B, "A_paths": path, "B_paths": path}
