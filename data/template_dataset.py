"""Template for a new dataset mode: a small, working example to copy.

How to add a dataset mode called ``dummy``:

1. Create ``data/dummy_dataset.py`` with a class ``DummyDataset(BaseDataset)`` (the file name
   is the registry key: ``--dataset_mode dummy`` imports ``data.dummy_dataset`` and picks the
   ``BaseDataset`` subclass whose lower-cased name is ``dummydataset``; underscores in the
   mode name are dropped, so ``my_data`` -> ``MyDataDataset``).
2. Optionally add options in the static ``modify_commandline_options(parser, is_train)``:
   ``parser.add_argument('--my_option', ...)`` for new flags and ``parser.set_defaults(...)``
   to change existing defaults; return the parser. It runs before the final parse, so the
   flags appear in ``--help`` and in ``train_opt.txt``.
3. In ``__init__(opt)``: call ``super().__init__(opt)``, then list your files
   (:func:`data.image_folder.require_images` gives clear errors for missing/empty folders).
4. ``__len__``: the number of items per epoch.
5. ``__getitem__(index)``: return a dict. Models read ``'A'``/``'B'`` (tensors
   ``float32 (C, H, W)`` in ``[-1, 1]``) and ``'A_paths'``/``'B_paths'`` (str). Load files with
   :func:`data.base_dataset.open_image` (errors name the file) and build tensors with
   :func:`data.base_dataset.get_transform`. Take every random draw from
   ``self.item_rng(index)``, never from the global ``random``, so results do not depend on
   the number of workers and a resumed run sees the same data.

This example reads the images of ``<dataroot>`` (like ``single``) and makes its own aligned
pair: ``A`` is the preprocessed image and ``B`` a pixelated copy of it (blocks of
``--new_dataset_option`` pixels, averaged then repeated), i.e. a toy "image -> pixel art"
task that trains with ``--model cycle_gan`` or any paired model.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from PIL import Image

from data.base_dataset import BaseDataset, domain_channels, get_transform, open_image
from data.image_folder import require_images
from util.image import from_pil, to_tensor


class TemplateDataset(BaseDataset):
    """Returns ``{'A', 'B', 'A_paths', 'B_paths'}``: an image and its pixelated copy, float32
    ``(C, H, W)`` in [-1, 1], both from the same file."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool):
        """Add ``--new_dataset_option`` (pixel block size) and lower ``--max_dataset_size``."""
        parser.add_argument("--new_dataset_option", type=float, default=1.0,
                            help="template dataset: size in pixels of the blocks of the pixelated B image")
        parser.set_defaults(max_dataset_size=10, new_dataset_option=2.0)  # new defaults for this mode
        return parser

    def __init__(self, opt: Any):
        super().__init__(opt)
        block = opt.new_dataset_option
        if not float(block).is_integer() or block < 1:
            raise ValueError(f"--new_dataset_option must be a whole number of pixels >= 1, got {block!r}")
        self.block = int(block)
        self.paths = require_images(opt.dataroot, opt.max_dataset_size, "the images to pixelate")
        self.nc_A, self.nc_B = domain_channels(opt)

    def __len__(self) -> int:
        return len(self.paths)

    def _pixelate(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        small = img.resize((math.ceil(w / self.block), math.ceil(h / self.block)), Image.Resampling.BOX)
        return small.resize((w, h), Image.Resampling.NEAREST)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        path = self.paths[index]
        # One transform (one crop/flip) for both, kept as PIL (convert=False) to derive B from it.
        img = get_transform(self.opt, convert=False, rng=self.item_rng(index))(open_image(path), path)
        A_img = img.convert("L") if self.nc_A == 1 else img
        B_img = self._pixelate(img.convert("L") if self.nc_B == 1 else img)
        A = to_tensor(from_pil(A_img))[0]
        B = to_tensor(from_pil(B_img))[0]
        return {"A": A, "B": B, "A_paths": path, "B_paths": path}
