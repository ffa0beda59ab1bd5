"""Native pixel-grid detection for upscaled pixel art, and reduction to the native resolution.

A nearest-neighbour upscale of a sprite by an integer factor ``cell`` has colour edges only
on the lines ``y = phase_y + k * cell`` and ``x = phase_x + k * cell``. The detector

1. builds the gradient projection profile of each axis (mean absolute colour difference across
   every row/column boundary) and keeps only its local maxima, which removes the one- and
   two-pixel spread of JPEG ringing and chroma bleed;
2. folds each profile modulo every candidate size and picks the size whose strongest residue
   stands out most above the second strongest (summed over both axes). A divisor of the true
   size dilutes that peak and an unrelated size spreads it, so the winner is the true size or,
   for art whose every other grid line carries few edges, a multiple of it;
3. reduces such a multiple to the period of its strong residues (their GCD), which is exact;
4. takes each phase as the strongest residue, and scores a confidence in ``[0, 1]`` from the
   share of edge energy on the grid lines and the fraction of flat cells, so that callers can
   refuse photos and smooth rescales instead of blurring them.

Phase convention: cell boundaries lie before pixel rows ``phase_y + k * cell`` (and columns
``phase_x + k * cell``), ``0 <= phase < cell``; with ``phase > 0`` the first ``phase`` rows
are a cut-off partial cell.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

#: A cell counts as flat when the mean absolute deviation of its pixels from the cell's
#: per-channel median is at most this many levels (0..255); JPEG q85 stays well below it.
DEFAULT_FLAT_TOL = 10.0

#: Fewest cells along each axis that the search asks for before it considers a cell size.
MIN_CELLS_PER_AXIS = 4

#: A residue of the folded edge profile counts as a grid line when its strength above the
#: weakest residue is at least this fraction of the strongest one's (JPEG ringing stays below).
STRONG_RESIDUE = 0.3


@dataclass(frozen=True)
class GridInfo:
    """A detected square pixel grid.

    Attributes:
        cell: cell size in pixels (``>= 1``).
        phase_y: first full cell row, ``0 <= phase_y < cell``.
        phase_x: first full cell column, ``0 <= phase_x < cell``.
        confidence: ``min(edge_contrast, flat_fraction)`` in ``[0, 1]``; about 1 for clean or
            JPEG-compressed nearest upscales, low for photos and smooth rescales.
        edge_contrast: share of the above-noise edge energy on the grid lines, the weaker axis.
        flat_fraction: fraction of full cells that are flat (see :data:`DEFAULT_FLAT_TOL`).
    """

    cell: int
    phase_y: int
    phase_x: int
    confidence: float
    edge_contrast: float = 0.0
    flat_fraction: float = 0.0


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray):
        raise TypeError(f"`img` must be a numpy array, got {type(img).__name__}")
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"`img` must be a uint8 array of shape (H, W, 1|3|4), got {img.dtype} {img.shape}")


def edge_profiles(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient projection profiles of an image.

    Args:
        img: uint8 ``(H, W, C)``.

    Returns:
        ``(prof_y, prof_x)``, float64 of lengths ``H`` and ``W``: ``prof_y[k]`` (``k >= 1``) is the
        mean over columns of the summed absolute channel difference between rows ``k - 1`` and
        ``k``; ``prof_y[0] = 0``. Same for ``prof_x`` across columns.
    """
    _check_image(img)
    x = img.astype(np.int16)
    prof_y = np.zeros(img.shape[0], dtype=np.float64)
    prof_x = np.zeros(img.shape[1], dtype=np.float64)
    if img.shape[0] > 1:
        prof_y[1:] = np.abs(np.diff(x, axis=0)).sum(axis=2, dtype=np.int64).mean(axis=1)
    if img.shape[1] > 1:
        prof_x[1:] = np.abs(np.diff(x, axis=1)).sum(axis=2, dtype=np.int64).mean(axis=0)
    return prof_y, prof_x


def _local_peaks(profile: np.ndarray) -> np.ndarray:
    """Keep the boundaries that are at least as strong as both neighbours and zero the rest.

    JPEG ringing and chroma bleed spread each colour edge over the neighbouring boundaries;
    only the edge itself is a local maximum, so this restores a clean comb of grid lines.
    """
    out = profile.copy()
    left = np.concatenate(([-np.inf], profile[:-1]))
    right = np.concatenate((profile[1:], [-np.inf]))
    out[(profile < left) | (profile < right)] = 0.0
    return out


def _fold(profile: np.ndarray, cell: int) -> np.ndarray:
    """Mean of ``profile[k]`` over boundaries ``k >= 1`` grouped by ``k % cell``; shape ``(cell,)``."""
    residues = np.arange(1, len(profile)) % cell
    sums = np.bincount(residues, weights=profile[1:], minlength=cell)
    counts = np.bincount(residues, minlength=cell)
    return sums / np.maximum(counts, 1)


def _axis_fit(profile: np.ndarray, cell: int) -> tuple[int, float]:
    """Fold ``profile`` modulo ``cell`` and return ``(phase, share)``: the residue holding the most
    edge energy, and the share of the above-noise edge energy that falls on it, in ``[0, 1]``.

    The noise floor is the lower quartile of the profile (at least half of all boundaries are
    off-grid for any cell size >= 2), so the share is about 1 for the true cell size and its
    divisors, and clearly lower for multiples and unrelated sizes.
    """
    values = profile[1:]
    residues = np.arange(1, len(profile)) % cell
    sums = np.bincount(residues, weights=values, minlength=cell)
    counts = np.bincount(residues, minlength=cell)
    phase = int(np.argmax(sums / np.maximum(counts, 1)))
    if len(values) == 0:
        return phase, 0.0
    floor = float(np.percentile(values, 25))
    excess_total = float(values.sum()) - floor * len(values)
    if excess_total <= 1e-9:
        return phase, 0.0
    excess_on = float(sums[phase]) - floor * int(counts[phase])
    return phase, float(np.clip(excess_on / excess_total, 0.0, 1.0))


def _peak_margin(profile: np.ndarray, cell: int) -> float:
    """Mean edge strength of the strongest residue modulo ``cell`` minus that of the second."""
    folded = _fold(profile, cell)
    top2 = np.partition(folded, -2)[-2:]
    return float(top2[1] - top2[0])


def _residue_spacing(profile: np.ndarray, cell: int, min_cell: int) -> int:
    """Period of the strong residues of ``profile`` folded modulo ``cell``: a divisor of ``cell``.

    A residue is strong when its strength above the weakest residue reaches
    :data:`STRONG_RESIDUE` of the strongest one. The period is the GCD of their distances
    (``cell`` when only one is strong). When that GCD is below ``min_cell`` (chroma
    subsampling can move an edge by one pixel), the largest divisor ``d >= 4`` of ``cell`` that
    puts every strong residue within one pixel of a grid line is used instead, else ``cell``.
    """
    folded = _fold(profile, cell)
    base = float(folded.min())
    peak = float(folded.max()) - base
    if peak <= 1e-9:
        return cell
    strong = np.flatnonzero(folded - base >= STRONG_RESIDUE * peak)
    anchor = int(np.argmax(folded))
    spacing = cell
    for r in strong:
        spacing = math.gcd(spacing, int(r - anchor))
    if spacing >= min_cell:
        return spacing
    for d in range(cell - 1, 3, -1):
        if cell % d == 0:
            offset = (strong - anchor) % d
            if np.all(np.minimum(offset, d - offset) <= 1):
                return d
    return cell


def _split_axis(length: int, cell: int, phase: int, min_partial: float) -> list[tuple[int, int, int]]:
    """Bands along one axis as ``(start, block, count)``: an optional cut-off head cell, the run
    of full cells, and an optional cut-off tail cell (kept when ``size >= min_partial * cell``)."""
    parts: list[tuple[int, int, int]] = []
    head = min(phase, length)
    if head > 0 and head >= min_partial * cell:
        parts.append((0, head, 1))
    n_full = max(0, (length - head) // cell)
    if n_full:
        parts.append((head, cell, n_full))
    tail_start = head + n_full * cell
    tail = length - tail_start
    if tail > 0 and tail >= min_partial * cell:
        parts.append((tail_start, tail, 1))
    return parts


def _block_median(region: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Per-channel median of each ``bh x bw`` block of ``region`` (whose size they divide), taken
    over the block's core: a quarter of the block is trimmed from each side (``bh // 4`` rows,
    ``bw // 4`` columns), where JPEG ringing and chroma bleed from the neighbours sit."""
    h, w, c = region.shape
    ty, tx = bh // 4, bw // 4
    blocks = region.reshape(h // bh, bh, w // bw, bw, c)[:, ty:bh - ty, :, tx:bw - tx]
    n = (bh - 2 * ty) * (bw - 2 * tx)
    return np.median(blocks.transpose(0, 2, 1, 3, 4).reshape(h // bh, w // bw, n, c), axis=2)


def flat_fraction(img: np.ndarray, cell: int, phase_y: int, phase_x: int,
                  tol: float = DEFAULT_FLAT_TOL) -> float:
    """Fraction of the full cells of the grid whose mean absolute deviation from their
    per-channel median is ``<= tol`` levels. ``img`` is uint8 ``(H, W, C)``; returns ``[0, 1]``
    (0 when the grid has no full cell)."""
    _check_image(img)
    h, w, c = img.shape
    ny, nx = (h - phase_y) // cell, (w - phase_x) // cell
    if ny <= 0 or nx <= 0:
        return 0.0
    region = img[phase_y:phase_y + ny * cell, phase_x:phase_x + nx * cell].astype(np.float32)
    blocks = region.reshape(ny, cell, nx, cell, c).transpose(0, 2, 1, 3, 4).reshape(ny, nx, cell * cell, c)
    med = np.median(blocks, axis=2, keepdims=True)
    mad = np.abs(blocks - med).mean(axis=(2, 3))
    return float(np.mean(mad <= tol))


def detect_grid(img: np.ndarray, *, cell: int | None = None, min_cell: int = 2, max_cell: int | None = None,
                flat_tol: float = DEFAULT_FLAT_TOL) -> GridInfo:
    """Find the native pixel grid (cell size and phase) of an upscaled pixel-art image.

    Args:
        img: uint8 ``(H, W, C)``, RGB(A) or grey; crop borders first (:func:`datasets.
            pixelart_extraction.find_content_box`) so that frames do not add edges.
        cell: a known cell size; only the phases are searched then.
        min_cell: smallest cell size tried (``>= 2``).
        max_cell: largest cell size tried; default ``min(H, W) // 4`` (at least 4 cells per axis).
        flat_tol: flatness tolerance in levels, see :func:`flat_fraction`.

    Returns:
        The best :class:`GridInfo`; check ``confidence`` (e.g. ``>= 0.6``) before trusting it.

    Raises:
        ValueError: the image is too small for the requested sizes, or a size is out of range.
    """
    _check_image(img)
    h, w = img.shape[:2]
    if cell is not None:
        if not isinstance(cell, (int, np.integer)) or cell < 1:
            raise ValueError(f"`cell` must be a positive integer, got {cell!r}")
        if cell > min(h, w):
            raise ValueError(f"`cell`={cell} is larger than the image ({h}x{w}); use a smaller pixel size")
        candidates = [int(cell)]
    else:
        if min_cell < 2:
            raise ValueError(f"`min_cell` must be >= 2 (cell size 1 means no upscale), got {min_cell}")
        upper = min(h, w) // MIN_CELLS_PER_AXIS if max_cell is None else min(max_cell, min(h, w))
        if upper < min_cell:
            raise ValueError(f"image is {h}x{w} pixels, too small to detect a grid of cell size >= {min_cell} "
                             f"(needs at least {MIN_CELLS_PER_AXIS * min_cell} pixels per side); "
                             "pass a known cell size instead")
        candidates = list(range(min_cell, upper + 1))

    if candidates == [1]:
        return GridInfo(1, 0, 0, 1.0, 1.0, 1.0)
    prof_y, prof_x = (_local_peaks(p) for p in edge_profiles(img))
    if cell is None:
        # The size whose folded profile has the most dominant residue on both axes is the true
        # size or, for art whose every other grid line carries few edges, a multiple of it ...
        top = max(candidates, key=lambda c: _peak_margin(prof_y, c) + _peak_margin(prof_x, c))
        # ... which shows as more than one strong residue; their spacing gives the true size.
        s = math.gcd(_residue_spacing(prof_y, top, min_cell), _residue_spacing(prof_x, top, min_cell))
        if s < min_cell:
            s = top
    else:
        s = int(cell)
    py, share_y = _axis_fit(prof_y, s)
    px, share_x = _axis_fit(prof_x, s)
    contrast = min(share_y, share_x)
    flat = flat_fraction(img, s, py, px, flat_tol)
    grid = GridInfo(s, py, px, float(min(contrast, flat)), float(contrast), float(flat))
    logger.debug("detected grid %s", grid)
    return grid


def reduce_to_native(img: np.ndarray, grid: GridInfo, *, min_partial: float = 0.5) -> np.ndarray:
    """Reduce an upscaled image to one pixel per grid cell.

    Each cell becomes the per-channel median of its core pixels (robust to JPEG noise and never
    a blend of two flat colours, unlike a mean; see :func:`_block_median`). Cut-off cells at the borders are kept when at
    least ``min_partial * cell`` pixels of them are visible.

    Args:
        img: uint8 ``(H, W, C)``.
        grid: the grid, e.g. from :func:`detect_grid`.
        min_partial: in ``(0, 1]``.

    Returns:
        uint8 ``(h, w, C)`` with ``h ~ H / cell`` and ``w ~ W / cell``.
    """
    _check_image(img)
    if not 0.0 < min_partial <= 1.0:
        raise ValueError(f"`min_partial` must be in (0, 1], got {min_partial}")
    s = grid.cell
    if s < 1 or not (0 <= grid.phase_y < s and 0 <= grid.phase_x < s):
        raise ValueError(f"invalid grid {grid}: need cell >= 1 and 0 <= phase < cell")
    if s == 1:
        return img.copy()
    h, w, _ = img.shape
    rows = _split_axis(h, s, grid.phase_y, min_partial)
    cols = _split_axis(w, s, grid.phase_x, min_partial)
    if not rows or not cols:
        raise ValueError(f"image of {h}x{w} pixels holds no cell of grid {grid}")
    out_rows = []
    for y0, bh, ny in rows:
        band = [
            _block_median(img[y0:y0 + bh * ny, x0:x0 + bw * nx], bh, bw)
            for x0, bw, nx in cols
        ]
        out_rows.append(np.concatenate(band, axis=1))
    native = np.concatenate(out_rows, axis=0)
    return np.clip(np.rint(native), 0, 255).astype(np.uint8)
