"""Dithering on the cell grid, restricted to a palette.

Modes:

* ``"none"``: every cell takes its nearest palette colour;
* ``"ordered"``: 4x4 Bayer dithering between each cell's two nearest palette colours
  (stable from frame to frame, so it suits video);
* ``"floyd-steinberg"``: serpentine error diffusion in CIELAB (7/16, 3/16, 5/16, 1/16).

All modes work in CIELAB on cell colours and only ever output palette indices.
"""
from __future__ import annotations

import logging
from typing import Literal, get_args

import numpy as np

#: Dithering between palette colours on the cell grid.
DitherMode = Literal["none", "ordered", "floyd-steinberg"]
DITHER_MODES: tuple[str, ...] = get_args(DitherMode)

logger = logging.getLogger(__name__)

__all__ = ["DITHER_MODES", "DitherMode", "check_dither", "bayer_matrix", "ordered_dither", "floyd_steinberg",
           "dither_labels"]


def check_dither(mode: str) -> DitherMode:
    """Validate a dithering mode name (also accepts ``"floyd_steinberg"`` and ``"fs"``); returns the
    canonical name, one of :data:`DITHER_MODES`."""
    if not isinstance(mode, str):
        raise TypeError(f"`dither` must be one of {DITHER_MODES}, got {type(mode).__name__}")
    norm = mode.strip().lower().replace("_", "-")
    if norm == "fs":
        norm = "floyd-steinberg"
    if norm not in DITHER_MODES:
        raise ValueError(f"`dither` must be one of {', '.join(DITHER_MODES)}, got {mode!r}")
    return norm


def bayer_matrix(n: int = 4) -> np.ndarray:
    """Bayer threshold matrix ``(n, n)``, ``n`` a power of two, values ``(i + 0.5) / n^2`` in (0, 1)."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"`n` must be a power of two >= 1, got {n}")
    m = np.zeros((1, 1), np.int64)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / (n * n)


def _two_nearest(cells: np.ndarray, pal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d2 = ((cells[:, None, :] - pal[None, :, :]) ** 2).sum(-1)
    if pal.shape[0] == 1:
        z = np.zeros(len(cells), np.int64)
        return z, z
    two = np.argsort(d2, axis=1, kind="stable")[:, :2]
    return two[:, 0], two[:, 1]


def ordered_dither(cells_lab: np.ndarray, palette_lab: np.ndarray, *, n: int = 4) -> np.ndarray:
    """Bayer-dither float ``(h, w, 3)`` CIELAB cells to palette indices int64 ``(h, w)``.

    Each cell is projected on the segment between its two nearest palette colours;
    the fraction ``t`` along it is compared with the Bayer threshold of its position,
    so a flat region halfway between two colours becomes a 50 % checker pattern.
    """
    h, w = cells_lab.shape[:2]
    flat = cells_lab.reshape(-1, 3).astype(np.float64)
    pal = palette_lab.astype(np.float64)
    i1, i2 = _two_nearest(flat, pal)
    seg = pal[i2] - pal[i1]
    den = np.einsum("ij,ij->i", seg, seg)
    t = np.where(den > 0, np.einsum("ij,ij->i", flat - pal[i1], seg) / np.maximum(den, 1e-12), 0.0)
    t = np.clip(t, 0.0, 1.0)
    thr = np.tile(bayer_matrix(n), (-(-h // n), -(-w // n)))[:h, :w].reshape(-1)
    return np.where(t > thr, i2, i1).reshape(h, w)


def floyd_steinberg(cells_lab: np.ndarray, palette_lab: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Floyd-Steinberg error diffusion (serpentine) of float ``(h, w, 3)`` CIELAB cells.

    Args:
        cells_lab: float ``(h, w, 3)``.
        palette_lab: float ``(K, 3)``.
        mask: optional bool ``(h, w)``; False cells (transparent) neither take nor pass error.

    Returns:
        int64 ``(h, w)`` palette indices (-1 where ``mask`` is False).
    """
    h, w = cells_lab.shape[:2]
    img = cells_lab.astype(np.float64).tolist()
    pal = [tuple(map(float, c)) for c in palette_lab]
    ok = np.ones((h, w), bool) if mask is None else mask
    okl = ok.tolist()
    out = np.full((h, w), -1, np.int64)
    res = out.tolist()
    for y in range(h):
        forward = y % 2 == 0
        xs = range(w) if forward else range(w - 1, -1, -1)
        step = 1 if forward else -1
        row = img[y]
        nxt = img[y + 1] if y + 1 < h else None
        okrow = okl[y]
        oknxt = okl[y + 1] if y + 1 < h else None
        for x in xs:
            if not okrow[x]:
                continue
            lv, av, bv = row[x]
            best, bi = 1e300, 0
            for i, (pl, pa, pb) in enumerate(pal):
                d = (lv - pl) ** 2 + (av - pa) ** 2 + (bv - pb) ** 2
                if d < best:
                    best, bi = d, i
            res[y][x] = bi
            pl, pa, pb = pal[bi]
            e = (lv - pl, av - pa, bv - pb)
            xn = x + step
            if 0 <= xn < w and okrow[xn]:
                _add(row[xn], e, 7 / 16)
            if nxt is not None:
                for dx, f in ((-step, 3 / 16), (0, 5 / 16), (step, 1 / 16)):
                    xx = x + dx
                    if 0 <= xx < w and oknxt[xx]:
                        _add(nxt[xx], e, f)
    return np.array(res, dtype=np.int64).reshape(h, w)


def _add(px: list, e: tuple, f: float) -> None:
    px[0] += e[0] * f
    px[1] += e[1] * f
    px[2] += e[2] * f


def dither_labels(cells_lab: np.ndarray, palette_lab: np.ndarray, mode: str, mask: np.ndarray) -> np.ndarray:
    """Palette indices int64 ``(h, w)`` (-1 outside ``mask``) for ``"ordered"`` or ``"floyd-steinberg"``."""
    mode = check_dither(mode)
    if mode == "ordered":
        labels = ordered_dither(cells_lab, palette_lab)
    elif mode == "floyd-steinberg":
        labels = floyd_steinberg(cells_lab, palette_lab, mask)
    else:
        raise ValueError("dither_labels handles 'ordered' and 'floyd-steinberg'; use map_to_palette for 'none'")
    labels = labels.copy()
    labels[~mask] = -1
    return labels
