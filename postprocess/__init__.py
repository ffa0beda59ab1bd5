"""postprocess: turn any RGB(A) image or video into true pixel art (numpy / OpenCV, no torch).

Public API (uint8 ``(H, W, 3|4)`` arrays everywhere):

* :func:`extract_palette` (PaletteGen) and :func:`pixelate` (Downsampling);
* :class:`PixelArtSettings`: every post-processing setting, its default and its validation, in one
  frozen record that the three pixelize functions take (or their field names as keywords);
* :func:`pixelize_image` / :func:`pixelize_image_with_palette`: the one-call pipeline;
* :func:`pixelize_frames`: video with a per-shot locked palette and temporal hysteresis;
* :func:`upscale`: integer nearest-neighbour display upscale;
* :func:`load_palette` / :func:`save_palette`: ``.gpl``, ``.hex``, ``.pal``, ``.png``;
* :func:`color_match`, :func:`adjust_vividness`: colour transfer and colour shifting;
* :mod:`postprocess.metrics`: objective quality measures (also a CLI).
"""
from __future__ import annotations

from postprocess.color import adjust_vividness, color_match, delta_e00, lab_to_srgb, srgb_to_lab
from postprocess.dither import DITHER_MODES, DitherMode
from postprocess.downsampling import pixelate
from postprocess.palette_gen import extract_palette
from postprocess.palette_io import PALETTE_EXTENSIONS, load_palette, save_palette
from postprocess.pipeline import pixelize_image, pixelize_image_with_palette, upscale
from postprocess.settings import PixelArtSettings
from postprocess.video import ShotInfo, pixelize_frames

__all__ = [
    "PixelArtSettings",
    "extract_palette",
    "pixelate",
    "pixelize_image",
    "pixelize_image_with_palette",
    "pixelize_frames",
    "ShotInfo",
    "upscale",
    "load_palette",
    "save_palette",
    "PALETTE_EXTENSIONS",
    "DITHER_MODES",
    "DitherMode",
    "color_match",
    "adjust_vividness",
    "srgb_to_lab",
    "lab_to_srgb",
    "delta_e00",
]
