"""Native pixel-grid detection for upscaled pixel art, and reduction to the native resolution.

A nearest-neighbour upscale of a sprite by an integer factor ``cell`` has colour edges only
on the lines ``y = phase_y + k * cell`` and ``x = phase_x + k * cell``, and every cell between
them is flat. The detector works on the luma (plus alpha) of the image, because JPEG keeps luma
at full resolution while 4:2:0 chroma subsampling smears colour edges over two or three pixels;
and it ignores a thin strip along the image border, where a cropped post keeps bleed from its
frame. It

1. builds the gradient projection profile of each axis and keeps only its local maxima, which
   removes the one- and two-pixel spread of JPEG ringing;
2. folds each profile modulo every candidate size and takes, per axis, the residue with the most
   edge energy as the phase; the share of the energy on it (``edge_contrast``) is about 1 for
   the true size and for its divisors, lower for multiples and unrelated sizes;
3. among the sizes whose edge share is close to the best, measures how many cells are *split*
   (their core holds an edge; see :func:`split_fraction`). The true size and its divisors split
   no cell, a multiple ``k * cell`` splits every cell that straddles a native edge. The largest
   size that splits no more cells than the best one is the cell size: "prefer the size whose
   cells are flat" resolves ``c`` against ``2c`` (and ``c/2``) without a guess;
4. scores the confidence as the weakest of the edge share, the flat fraction and the
   *separation*: how clearly every larger candidate was refuted (an art whose every other grid
   line carries almost no edge cannot be told from its 2x upscale, and is refused rather than
   guessed). Photos and smooth rescales score low on the first two.

Phase convention: cell boundaries lie before pixel rows ``phase_y + k * cell`` (and columns
``phase_x + k * cell``), ``0 <= phase < cell``; with ``phase > 0`` the first ``phase`` rows
are a cut-off partial cell.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

#: A cell is split (not flat) when the mean absolute deviation of its core's luma (or alpha)
#: from the core's median exceeds this many levels (0..255); JPEG q75 and better stay below it.
DEFAULT_FLAT_TOL = 6.0

#: Fewest cells along each axis that the search asks for before it considers a cell size.
MIN_CELLS_PER_AXIS = 4

#: Pixels along each image border left out of the detection (JPEG chroma bleed from a frame,
#: a content box that is one or two pixels too large) ...
EDGE_MARGIN = 2

#: ... and how far in the strongest edge near each side (the frame-to-artwork edge of a crop
#: that JPEG ringing made too large) is looked for and left out with all before it.
EDGE_REACH = 8

#: Sizes whose edge share is below this, or more than :data:`SHARE_SLACK` below the best size's,
#: are not considered.
MIN_SHARE = 0.5
SHARE_SLACK = 0.25

#: Excess share (see :func:`_excess_share`) of the whole gradient energy on the grid lines that
#: counts as full edge contrast; JPEG ringing keeps nearest upscales around 0.5 to 0.9, photos
#: and smooth rescales spread their gradients evenly (about 0).
FULL_EXCESS = 0.4

#: A size is as flat as the best one when its split fraction exceeds the lowest by at most this.
SPLIT_SLACK = 0.01

#: A larger candidate counts as clearly refuted (separation 1) when it splits this fraction of its
#: cells more than the chosen size; less gives a proportionally lower separation.
CLEAR_SPLIT = 0.04

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class GridInfo:
    """A detected square pixel grid.

    Attributes:
        cell: cell size in pixels (``>= 1``).
        phase_y: first full cell row, ``0 <= phase_y < cell``.
        phase_x: first full cell column, ``0 <= phase_x < cell``.
        confidence: ``min(edge_contrast, flat_fraction, separation)`` in ``[0, 1]``; about 1 for
            clean or JPEG-compressed nearest upscales, low for photos, smooth rescales and art
            whose cell size is ambiguous.
        edge_contrast: share of the edge energy on the grid lines, the weaker axis (capped by the
            whole gradient energy's excess share there, see :data:`FULL_EXCESS`).
        flat_fraction: fraction of full cells that are flat (see :func:`split_fraction`).
        separation: how clearly the larger candidate sizes (e.g. ``2 * cell``) were refuted by
            their split cells, ``[0, 1]``; 1 when there was no such candidate.
    """

    cell: int
    phase_y: int
    phase_x: int
    confidence: float
    edge_contrast: float = 0.0
    flat_fraction: float = 0.0
    separation: float = 1.0


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray):
        raise TypeError(f"`img` must be a numpy array, got {type(img).__name__}")
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"`img` must be a uint8 array of shape (H, W, 1|3|4), got {img.dtype} {img.shape}")


def luma_signal(img: np.ndarray) -> np.ndarray:
    """The channels the detector looks at: float32 ``(H, W, K)``, the luma (Rec. 601 weights;
    the grey channel itself for ``C = 1``) and, for RGBA, the alpha as a second channel."""
    _check_image(img)
    if img.shape[2] == 1:
        return img.astype(np.float32)
    luma = img[:, :, :3].astype(np.float32) @ _LUMA
    if img.shape[2] == 4:
        return np.stack([luma, img[:, :, 3].astype(np.float32)], axis=-1)
    return luma[:, :, None]


def _profiles(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prof_y = np.zeros(signal.shape[0], dtype=np.float64)
    prof_x = np.zeros(signal.shape[1], dtype=np.float64)
    if signal.shape[0] > 1:
        prof_y[1:] = np.abs(np.diff(signal, axis=0)).sum(axis=2, dtype=np.float64).mean(axis=1)
    if signal.shape[1] > 1:
        prof_x[1:] = np.abs(np.diff(signal, axis=1)).sum(axis=2, dtype=np.float64).mean(axis=0)
    return prof_y, prof_x


def edge_profiles(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient projection profiles of an image's :func:`luma_signal`.

    Args:
        img: uint8 ``(H, W, C)``.

    Returns:
        ``(prof_y, prof_x)``, float64 of lengths ``H`` and ``W``: ``prof_y[k]`` (``k >= 1``) is the
        mean over columns of the (summed over signal channels) absolute difference between rows
        ``k - 1`` and ``k``; ``prof_y[0] = 0``. Same for ``prof_x`` across columns.
    """
    return _profiles(luma_signal(img))


def _local_peaks(profile: np.ndarray) -> np.ndarray:
    """Keep the boundaries that are at least as strong as both neighbours and zero the rest.

    JPEG ringing spreads each edge over the neighbouring boundaries; only the edge itself is a
    local maximum, so this restores a clean comb of grid lines.
    """
    out = profile.copy()
    left = np.concatenate(([-np.inf], profile[:-1]))
    right = np.concatenate((profile[1:], [-np.inf]))
    out[(profile < left) | (profile < right)] = 0.0
    return out


def _axis_fit(profile: np.ndarray, cell: int) -> tuple[int, float]:
    """Fold ``profile`` (boundaries ``k >= 1``) modulo ``cell`` and return ``(phase, share)``: the
    residue holding the most edge energy per boundary, and the share of all the edge energy that
    falls on it, in ``[0, 1]`` (0 for a profile without edges)."""
    values = profile[1:]
    residues = np.arange(1, len(profile)) % cell
    sums = np.bincount(residues, weights=values, minlength=cell)
    counts = np.bincount(residues, minlength=cell)
    phase = int(np.argmax(sums / np.maximum(counts, 1)))
    total = float(values.sum())
    if total <= 1e-9:
        return phase, 0.0
    return phase, float(np.clip(sums[phase] / total, 0.0, 1.0))


def split_axis(length: int, cell: int, phase: int, min_partial: float) -> list[tuple[int, int, int]]:
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


def _excess_share(profile: np.ndarray, cell: int, phase: int) -> float:
    """``(q - 1/cell) / (1 - 1/cell)`` where ``q`` is the share of ``profile``'s energy on the
    boundaries ``phase + k * cell``: 1 when all of it is there, 0 for energy spread evenly."""
    values = profile[1:]
    total = float(values.sum())
    if total <= 1e-9:
        return 0.0
    on = float(values[(np.arange(1, len(profile)) % cell) == phase].sum())
    return float(np.clip((on / total - 1.0 / cell) / (1.0 - 1.0 / cell), 0.0, 1.0))


def _core_deviation(signal: np.ndarray, cell: int, phase_y: int, phase_x: int) -> np.ndarray:
    """Per full cell, the largest (over signal channels) mean absolute deviation of the cell's
    core from its median; shape ``(ny, nx)`` (empty when the grid has no full cell). The core
    leaves out ``cell // 4`` pixels on each side (JPEG ringing), which still holds the middle of
    the cell, where a multiple of the true size puts its straddled edges."""
    h, w, k = signal.shape
    ny, nx = (h - phase_y) // cell, (w - phase_x) // cell
    if ny <= 0 or nx <= 0:
        return np.zeros((0, 0), dtype=np.float32)
    t = cell // 4
    region = signal[phase_y:phase_y + ny * cell, phase_x:phase_x + nx * cell]
    core = region.reshape(ny, cell, nx, cell, k)[:, t:cell - t, :, t:cell - t]
    n = (cell - 2 * t) ** 2
    core = core.transpose(0, 2, 1, 3, 4).reshape(ny, nx, n, k)
    med = np.median(core, axis=2, keepdims=True)
    return np.abs(core - med).mean(axis=2).max(axis=-1)


def split_fraction(img: np.ndarray, cell: int, phase_y: int, phase_x: int,
                   tol: float = DEFAULT_FLAT_TOL) -> float:
    """Fraction of the full cells of a grid that are split: the luma (or alpha) of their core
    deviates from its median by more than ``tol`` levels on average (see :func:`luma_signal`).

    ``img`` is uint8 ``(H, W, C)``; returns ``[0, 1]``, 1 when the grid has no full cell.
    """
    _check_image(img)
    return _split_fraction(luma_signal(img), cell, phase_y, phase_x, tol)


def _split_fraction(signal: np.ndarray, cell: int, phase_y: int, phase_x: int, tol: float) -> float:
    dev = _core_deviation(signal, cell, phase_y, phase_x)
    return float(np.mean(dev > tol)) if dev.size else 1.0


def flat_fraction(img: np.ndarray, cell: int, phase_y: int, phase_x: int,
                  tol: float = DEFAULT_FLAT_TOL) -> float:
    """``1 - split_fraction(...)``: the fraction of full cells that are flat (0 without cells)."""
    _check_image(img)
    dev = _core_deviation(luma_signal(img), cell, phase_y, phase_x)
    return float(np.mean(dev <= tol)) if dev.size else 0.0


def _side_margins(signal: np.ndarray, keep: int) -> tuple[int, int, int, int]:
    """Pixels to leave out of the detection on each side ``(top, bottom, left, right)``.

    A crop of a post may hold a few pixels of JPEG ringing and bleed from its frame (rarely up
    to one JPEG block), so its outer lines carry the frame-to-artwork edge at no grid position.
    Each side drops :data:`EDGE_MARGIN` pixels and, within :data:`EDGE_REACH`, everything up to
    and including its strongest edge; at least ``keep`` pixels stay per axis (else nothing is
    dropped on that axis).
    """
    h, w = signal.shape[:2]
    prof_y, prof_x = _profiles(signal)

    def sides(profile: np.ndarray, length: int) -> tuple[int, int]:
        reach = min(EDGE_REACH, length // 8)
        if length - 2 * max(reach, EDGE_MARGIN) < keep or reach < 1:
            return (EDGE_MARGIN, EDGE_MARGIN) if length - 2 * EDGE_MARGIN >= keep else (0, 0)
        head = 1 + int(np.argmax(profile[1:reach + 1]))  # boundary before row ``head``
        tail = length - (length - reach + int(np.argmax(profile[length - reach:])))
        return max(head, EDGE_MARGIN), max(tail, EDGE_MARGIN)

    top, bottom = sides(prof_y, h)
    left, right = sides(prof_x, w)
    return top, bottom, left, right


def detect_grid(img: np.ndarray, *, cell: int | None = None, min_cell: int = 2, max_cell: int | None = None,
                flat_tol: float = DEFAULT_FLAT_TOL) -> GridInfo:
    """Find the native pixel grid (cell size and phase) of an upscaled pixel-art image.

    Args:
        img: uint8 ``(H, W, C)``, RGB(A) or grey; crop borders first (:func:`datasets.
            pixelart_extraction.find_content_box`) so that frames do not add edges.
        cell: a known cell size; only the phases are searched then.
        min_cell: smallest cell size tried (``>= 2``).
        max_cell: largest cell size tried; default ``min(H, W) // 4`` (at least 4 cells per axis).
        flat_tol: flatness tolerance in levels, see :func:`split_fraction`.

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
        if cell == 1:
            return GridInfo(1, 0, 0, 1.0, 1.0, 1.0)
        lowest = int(cell)
    else:
        if min_cell < 2:
            raise ValueError(f"`min_cell` must be >= 2 (cell size 1 means no upscale), got {min_cell}")
        upper = min(h, w) // MIN_CELLS_PER_AXIS if max_cell is None else min(max_cell, min(h, w))
        if upper < min_cell:
            raise ValueError(f"image is {h}x{w} pixels, too small to detect a grid of cell size >= {min_cell} "
                             f"(needs at least {MIN_CELLS_PER_AXIS * min_cell} pixels per side); "
                             "pass a known cell size instead")
        lowest = min_cell

    top, bottom, left, right = _side_margins(luma_signal(img), MIN_CELLS_PER_AXIS * lowest)
    signal = luma_signal(img)[top:h - bottom, left:w - right]
    raw_y, raw_x = _profiles(signal)
    prof_y, prof_x = _local_peaks(raw_y), _local_peaks(raw_x)

    def fit(s: int) -> tuple[int, int, float]:
        py, share_y = _axis_fit(prof_y, s)
        px, share_x = _axis_fit(prof_x, s)
        return py, px, min(share_y, share_x)

    if cell is not None:
        s = int(cell)
        py, px, share = fit(s)
        split = _split_fraction(signal, s, py, px, flat_tol)
        separation = 1.0
    else:
        upper_inner = min(upper, min(signal.shape[:2]) // MIN_CELLS_PER_AXIS)
        sizes = range(min_cell, max(upper_inner, min_cell) + 1)
        fits = {s: fit(s) for s in sizes}
        best_share = max(f[2] for f in fits.values())
        viable = [s for s in sizes if fits[s][2] >= max(MIN_SHARE, best_share - SHARE_SLACK)]
        if not viable:  # no size puts the edges on a grid: report the best one, unconfident
            viable = [max(sizes, key=lambda s: fits[s][2])]
        splits = {s: _split_fraction(signal, s, fits[s][0], fits[s][1], flat_tol) for s in viable}
        least = min(splits.values())
        # The largest size that splits no more cells than the flattest one: a multiple of the
        # true size splits the cells that straddle native edges, a divisor splits none.
        s = max(t for t in viable if splits[t] <= least + SPLIT_SLACK)
        py, px, share = fits[s]
        split = splits[s]
        rivals = [splits[t] - split for t in viable if t > s]
        separation = float(np.clip(min(rivals, default=CLEAR_SPLIT) / CLEAR_SPLIT, 0.0, 1.0))
    flat = 1.0 - split
    # Edge contrast: the share of all gradient energy (not only the local peaks) on the grid lines,
    # above the 1/s that evenly spread gradients (a photo) would put there.
    excess = min(_excess_share(raw_y, s, py), _excess_share(raw_x, s, px))
    contrast = min(share, excess / FULL_EXCESS)
    grid = GridInfo(s, (py + top) % s, (px + left) % s, float(min(contrast, flat, separation)), float(contrast),
                    float(flat), separation)
    logger.debug("detected grid %s", grid)
    return grid


def reduce_to_native(img: np.ndarray, grid: GridInfo, *, min_partial: float = 0.5) -> np.ndarray:
    """Reduce an upscaled image to one pixel per grid cell.

    Each cell becomes the per-channel median of its core pixels (robust to JPEG noise and never
    a blend of two flat colours, unlike a mean; see :func:`_block_median`). Cut-off cells at the
    borders are kept when at least ``min_partial * cell`` pixels of them are visible.

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
    rows = split_axis(h, s, grid.phase_y, min_partial)
    cols = split_axis(w, s, grid.phase_x, min_partial)
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
