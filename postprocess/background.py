"""Keep a picture's plain white background white after a generator has restyled it.

A generator trained on objects on white sometimes leaves specks or texture in the background. The
background of the *input* is known: the near-white region connected to the picture's border. This
module copies that region back from the input, except for a band of ``margin`` pixels next to the
drawing, where the generator may add the dark outline pixel artists draw around an object.
"""
from __future__ import annotations

import cv2
import numpy as np

from postprocess.color import color_match as _color_match

#: A pixel is "white" when each of its RGB channels is at least this.
WHITE_MIN = 245


def white_background(image: np.ndarray, white_min: int = WHITE_MIN) -> np.ndarray:
    """bool ``(H, W)``: near-white pixels 8-connected to the image border (holes inside a drawing excluded)."""
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise ValueError(f"`image` must be uint8 (H, W, 3|4), got {image.dtype} {image.shape}")
    white = (image[..., :3] >= white_min).all(axis=2).astype(np.uint8)
    n, labels = cv2.connectedComponents(white, connectivity=8)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge = edge[edge > 0]
    if n <= 1 or edge.size == 0:
        return np.zeros(white.shape, dtype=bool)
    return np.isin(labels, edge) & (white > 0)


def restore_white_background(stylised: np.ndarray, original: np.ndarray, margin: int,
                             white_min: int = WHITE_MIN) -> np.ndarray:
    """``stylised`` with the input's white background copied back, ``margin`` px away from the drawing.

    Args:
        stylised: uint8 ``(H, W, 3)`` generator output, same size as ``original``.
        original: uint8 ``(H, W, 3|4)`` the generator's input.
        margin: width in pixels of the band next to the drawing left to the generator (``>= 0``).
        white_min: a pixel counts as white background when its channels are at least this (see
            :func:`white_background`).
    """
    if stylised.shape[:2] != original.shape[:2]:
        raise ValueError(f"`stylised` {stylised.shape[:2]} and `original` {original.shape[:2]} differ in size")
    if margin < 0:
        raise ValueError(f"`margin` must be >= 0, got {margin}")
    keep = white_background(original, white_min)
    if margin:
        kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        # the band: background pixels within `margin` of the drawing stay the generator's
        keep &= cv2.erode(keep.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1) > 0
    out = stylised.copy()
    out[keep] = original[..., :3][keep]
    return out


def guide_stylised(stylised: np.ndarray, original: np.ndarray, pixel_size: int, *, color_match: bool,
                   keep_white: bool) -> np.ndarray:
    """A generator's output prepared for quantisation, as pixelize's ``--color_match``/``--keep_white`` do:
    the original's hue and saturation copied back, then its white background restored half a cell
    (``pixel_size // 2``, at least 1 px) away from the drawing. uint8 RGB in and out, same size."""
    rgb = original[..., :3]
    if color_match:
        stylised = _color_match(stylised, rgb)
    if keep_white:
        stylised = restore_white_background(stylised, rgb, max(1, pixel_size // 2))
    return stylised
