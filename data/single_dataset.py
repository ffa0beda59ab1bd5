"""One-domain dataset for inference (``--dataset_mode single``, the ``--model test`` default).

Reads every image under ``<dataroot>`` itself (recursively, sorted; no phase sub-folder).
The images get the generator's input channel count (``--input_nc``, or ``--output_nc`` with
``--direction BtoA``).
"""
from __future__ import annotations

from typing import Any

import torch

from data.base_dataset import BaseDataset, check_batchable_sizes, domain_channels, get_transform, open_image
from data.image_folder import require_images


class SingleDataset(BaseDataset):
    """Returns ``{'A': (C, H, W) float32 in [-1, 1], 'A_paths': str}``."""

    def __init__(self, opt: Any):
        super().__init__(opt)
        self.A_paths = require_images(opt.dataroot, opt.max_dataset_size,
                                      "the images to translate (directly or in sub-folders)")
        self.nc = domain_channels(opt)[0]
        check_batchable_sizes(opt, {"A": (self.A_paths, None)})

    def __len__(self) -> int:
        return len(self.A_paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        path = self.A_paths[index]
        A = get_transform(self.opt, grayscale=self.nc == 1, rng=self.item_rng(index))(open_image(path), path)
        return {"A": A, "A_paths": path}
