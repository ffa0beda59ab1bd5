"""The fixed sets of values that flags choose from, defined once and importable without torch.

``models.networks`` builds what these names describe; option parsers (pixelize's above all, which
must not load torch when no generator is used) take the names from here.
"""
from __future__ import annotations

from typing import Literal, get_args

GENERATORS: tuple[str, ...] = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
DISCRIMINATORS: tuple[str, ...] = ("basic", "n_layers", "pixel")
NORMS: tuple[str, ...] = ("instance", "batch", "syncbatch", "none")
INIT_TYPES: tuple[str, ...] = ("normal", "xavier", "kaiming", "orthogonal")
GAN_MODES: tuple[str, ...] = ("lsgan", "vanilla", "wgangp")
LR_POLICIES: tuple[str, ...] = ("linear", "step", "plateau", "cosine")
GP_TYPES: tuple[str, ...] = ("real", "fake", "mixed")
PADDING_TYPES: tuple[str, ...] = ("reflect", "replicate", "zero")
#: --preprocess of the datasets (``data.base_dataset`` applies them).
PREPROCESS_MODES: tuple[str, ...] = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
#: --direction of paired datasets.
DIRECTIONS: tuple[str, ...] = ("AtoB", "BtoA")
#: pixelize --video_format and --save_palette.
VIDEO_FORMATS: tuple[str, ...] = ("mp4", "gif")
PALETTE_FORMATS: tuple[str, ...] = ("gpl", "hex")

#: Dithering between palette colours on the cell grid (``postprocess.dither``).
DitherMode = Literal["none", "ordered", "floyd-steinberg"]
DITHER_MODES: tuple[str, ...] = get_args(DitherMode)
