"""Unaligned (unpaired) two-domain dataset, the CycleGAN default (``--dataset_mode unaligned``).

Folders: ``<dataroot>/<phase>A`` and ``<dataroot>/<phase>B`` (e.g. ``trainA``/``trainB``,
``testA``/``testB``), searched recursively and sorted. One epoch has ``max(|A|, |B|)`` items;
item ``i`` pairs ``A[i % |A|]`` with ``B[i % |B|]`` under ``--serial_batches``, otherwise with
a B image drawn by the item's own random generator. A and B get independent crops and flips.

``--direction BtoA`` swaps the channel counts of the two folders (the B folder then gets
``--input_nc``); the keys stay tied to the folders and the model picks ``'B'`` as its input.
"""
from __future__ import annotations

import os
from typing import Any

import torch

from data.base_dataset import BaseDataset, check_batchable_sizes, domain_channels, get_transform, open_image, phase_word
from data.image_folder import require_images


class UnalignedDataset(BaseDataset):
    """Returns ``{'A': (C_A, H, W), 'B': (C_B, H', W'), 'A_paths': str, 'B_paths': str}``,
    tensors float32 in [-1, 1]."""

    def __init__(self, opt: Any):
        super().__init__(opt)
        word = phase_word(opt.phase)
        self.dir_A = os.path.join(opt.dataroot, opt.phase + "A")
        self.dir_B = os.path.join(opt.dataroot, opt.phase + "B")
        self.A_paths = require_images(self.dir_A, opt.max_dataset_size, f"domain-A {word} images")
        self.B_paths = require_images(self.dir_B, opt.max_dataset_size, f"domain-B {word} images")
        self.A_size = len(self.A_paths)
        self.B_size = len(self.B_paths)
        self.nc_A, self.nc_B = domain_channels(opt)
        check_batchable_sizes(opt, {"A": (self.A_paths, None), "B": (self.B_paths, None)})

    def __len__(self) -> int:
        return max(self.A_size, self.B_size)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        rng = self.item_rng(index)
        A_path = self.A_paths[index % self.A_size]
        index_B = index % self.B_size if self.opt.serial_batches else rng.randrange(self.B_size)
        B_path = self.B_paths[index_B]
        A = get_transform(self.opt, grayscale=self.nc_A == 1, rng=rng)(open_image(A_path), A_path)
        B = get_transform(self.opt, grayscale=self.nc_B == 1, rng=rng)(open_image(B_path), B_path)
        return {"A": A, "B": B, "A_paths": A_path, "B_paths": B_path}
