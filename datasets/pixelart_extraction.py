"""Turn collected pixel-art posts into clean domain-B training images.

Usage::

    python -m datasets.pixelart_extraction SRC DST --size 256 [--pixel_size N] [--domain B]
        [--test_fraction 0.1] [--seed 0] [--limit N] [--colour_tol 12] [--min_confidence 0.6]

For every image under ``SRC`` (recursively): crop the uniform margins around the artwork
(:func:`find_content_box`), detect its native pixel grid (:func:`datasets.grid_detect.detect_grid`,
or take ``--pixel_size``), move the crop onto the artwork's true edge past any JPEG bleed from
the frame, reduce it to one pixel per whole cell (per-cell median, never a blend; cut-off cells
at the edges are dropped), merge the near-duplicate colours that JPEG noise leaves
(``--colour_tol``) and give cells whose colour bled from a neighbour (4:2:0 chroma) back their
own, pad it to a square with the background colour and scale it up by the largest integer
factor that fits ``--size`` (nearest neighbour, so every cell stays square and uniform), centring
it on a ``--size`` canvas of the background colour. Images whose grid is not found with at least
``--min_confidence`` are reported and skipped (with the ``--pixel_size`` hint) instead of being
blurred or reduced at a wrong grid. ``DST/manifest.json`` lists every input with its status,
grid (cell, phase, box) and detection confidence.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from datasets.coco_preprocessing import BatchResult, Rejected, plan_jobs
from datasets.grid_detect import GridInfo, detect_grid, reduce_to_native, split_axis
from util.argtypes import fraction, positive_int
from util.cli import EXIT_FAILED, EXIT_OK, FlagError, error, exit_status
from util.fileio import atomic_write_text
from util.image import ImageLoadError, load_image, save_image

logger = logging.getLogger(__name__)

#: Written into DST: one entry per input (source, output, status, cell, phase, box, confidence, reason).
MANIFEST_NAME = "manifest.json"

#: Default for ``--min_confidence``: JPEG (q85) nearest upscales score above it, photos and
#: smooth (bilinear/bicubic) rescales below.
DEFAULT_MIN_CONFIDENCE = 0.6

#: A margin pixel may differ from the margin colour by this many levels per channel (JPEG noise).
DEFAULT_BORDER_TOL = 24

#: Native colours closer than this (levels, every channel) are merged; see :func:`merge_similar_colours`.
DEFAULT_COLOUR_TOL = 12


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
        raise ValueError(f"`img` must be a uint8 (H, W, C) array, got {getattr(img, 'dtype', type(img))} "
                         f"{getattr(img, 'shape', '')}")


def _matches(line: np.ndarray, colour: np.ndarray, tol: float) -> bool:
    """True when every pixel of ``line`` (N, C) is within ``tol`` of ``colour`` in every channel."""
    return bool(np.all(np.abs(line.astype(np.int16) - colour) <= tol))


def _margin_colour(line: np.ndarray, tol: float) -> np.ndarray | None:
    """The median colour of an outermost line when most (>= half) of its pixels have it, else None.
    A majority, not all: the line may cross a neighbouring margin of another colour."""
    colour = np.median(line, axis=0).astype(np.int16)
    close = np.all(np.abs(line.astype(np.int16) - colour) <= tol, axis=1)
    return colour if close.mean() >= 0.5 else None


def find_content_box(img: np.ndarray, tol: float = DEFAULT_BORDER_TOL) -> tuple[int, int, int, int]:
    """Bounding box of the artwork inside uniform margins.

    Each side whose outermost row/column is mostly one colour may have a margin of that colour;
    whole rows (columns) of that colour, within the current box, are peeled from the side until
    one holds a pixel of another colour.
    Sides are revisited until nothing changes, so margins of different colours per side
    (letterbox bars, frames, the plain background around a sprite) all go. Non-uniform UI
    (text, icons) is kept.

    Args:
        img: uint8 ``(H, W, C)``.
        tol: per-channel tolerance in levels (0..255) for JPEG noise.

    Returns:
        ``(y0, y1, x0, x1)``, half-open: the content is ``img[y0:y1, x0:x1]``.

    Raises:
        Rejected: the image is a single uniform colour (no content).
    """
    _check_image(img)
    h, w = img.shape[:2]
    side_colours = {
        "top": _margin_colour(img[0], tol),
        "bottom": _margin_colour(img[h - 1], tol),
        "left": _margin_colour(img[:, 0], tol),
        "right": _margin_colour(img[:, w - 1], tol),
    }
    y0, y1, x0, x1 = 0, h, 0, w
    changed = True
    while changed:
        changed = False
        top, bottom, left, right = (side_colours[k] for k in ("top", "bottom", "left", "right"))
        while top is not None and y0 < y1 and _matches(img[y0, x0:x1], top, tol):
            y0, changed = y0 + 1, True
        while bottom is not None and y1 > y0 and _matches(img[y1 - 1, x0:x1], bottom, tol):
            y1, changed = y1 - 1, True
        while left is not None and x0 < x1 and _matches(img[y0:y1, x0], left, tol):
            x0, changed = x0 + 1, True
        while right is not None and x1 > x0 and _matches(img[y0:y1, x1 - 1], right, tol):
            x1, changed = x1 - 1, True
        if y0 >= y1 or x0 >= x1:
            raise Rejected(f"the image ({h}x{w}) is one uniform colour; there is no artwork to extract")
    return y0, y1, x0, x1


def background_colour(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Per-channel median colour of the margin outside ``box`` (uint8 ``(C,)``); the median of
    the box's outer frame when there is no margin."""
    _check_image(img)
    y0, y1, x0, x1 = box
    mask = np.ones(img.shape[:2], dtype=bool)
    mask[y0:y1, x0:x1] = False
    if not mask.any():
        mask[y0, :] = mask[y1 - 1, :] = mask[:, x0] = mask[:, x1 - 1] = True
    return np.median(img[mask], axis=0).astype(np.uint8)


def merge_similar_colours(native: np.ndarray, tol: float = DEFAULT_COLOUR_TOL) -> np.ndarray:
    """Replace near-duplicate colours (JPEG noise in the per-cell medians) by one representative.

    Colours are visited from the most to the least frequent (ties by colour value); each joins the
    first representative within ``tol`` levels in every channel, or becomes a new one.
    ``tol = 0`` returns a copy. ``native`` is uint8 ``(h, w, C)``; the result has the same shape.
    """
    _check_image(native)
    if tol < 0:
        raise ValueError(f"--colour_tol must be >= 0, got {tol}")
    flat = native.reshape(-1, native.shape[2])
    colours, inverse, counts = np.unique(flat, axis=0, return_inverse=True, return_counts=True)
    if tol == 0 or len(colours) < 2:
        return native.copy()
    order = np.argsort(-counts, kind="stable")
    reps: list[np.ndarray] = []
    mapping = np.empty(len(colours), dtype=np.int64)
    for i in order:
        c = colours[i].astype(np.int16)
        if reps:
            close = np.flatnonzero(np.all(np.abs(np.asarray(reps) - c) <= tol, axis=1))
            if len(close):
                mapping[i] = close[0]
                continue
        mapping[i] = len(reps)
        reps.append(c)
    palette = np.asarray(reps, dtype=np.uint8)
    return palette[mapping[inverse.ravel()]].reshape(native.shape)


#: Cut-off cells at the edges of the artwork are kept only when whole (1.0): a partial cell's
#: few pixels sit next to the frame, where JPEG bleed decides their colour.
MIN_PARTIAL = 1.0

#: Pixels of frame bleed that :func:`_refine_cut_cells` looks for per side (at least; half a cell
#: when that is more, never a whole cell).
BLEED = 2

#: A colour is one of the sprite's own when at least this many cells have it (after merging).
MIN_PALETTE_CELLS = 4

#: A bled cell is moved to a palette colour only when their luma differs by at most this (levels).
SNAP_LUMA_TOL = 10.0

#: ... and chroma (Cb, Cr distance, levels) at most this: a blend keeps most of its own chroma;
#: a colour whose own is not among the common ones must not jump to an unrelated one.
SNAP_CHROMA_TOL = 30.0

_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def snap_bled_colours(native: np.ndarray, tol: float = DEFAULT_COLOUR_TOL) -> np.ndarray:
    """Give back their own colour to cells whose chroma bled from a neighbour.

    JPEG keeps luma at full resolution but averages colour over 2x2 pixels (4:2:0), so in cells
    of 3 to 5 pixels next to another colour, and in cut-off cells at the frame, the per-cell
    median can land tens of levels off in chroma while its luma stays right. Such a cell's
    colour is rare; the sprite's own colours are not (at least :data:`MIN_PALETTE_CELLS` cells
    each). A rare colour farther than ``tol`` from every common one moves to the common colour of
    the same luma (within :data:`SNAP_LUMA_TOL`) nearest in chroma when that is within
    :data:`SNAP_CHROMA_TOL`; otherwise it stays.
    ``native`` is uint8 ``(h, w, C)``, ``C >= 3`` (alpha is left alone); grey images come back
    unchanged.
    """
    _check_image(native)
    if native.shape[2] < 3:
        return native.copy()
    rgb = native[:, :, :3].reshape(-1, 3)
    colours, inverse, counts = np.unique(rgb, axis=0, return_inverse=True, return_counts=True)
    common = counts >= MIN_PALETTE_CELLS
    if common.all() or not common.any():
        return native.copy()
    ycc = colours.astype(np.float64) @ _YCC.T
    palette = np.flatnonzero(common)
    mapping = np.arange(len(colours))
    for i in np.flatnonzero(~common):
        if np.abs(colours[palette].astype(np.int16) - colours[i]).max(axis=1).min() <= tol:
            continue
        luma_ok = palette[np.abs(ycc[palette, 0] - ycc[i, 0]) <= SNAP_LUMA_TOL]
        if len(luma_ok):
            chroma = np.sqrt(np.square(ycc[luma_ok, 1:] - ycc[i, 1:]).sum(axis=1))
            if chroma.min() <= SNAP_CHROMA_TOL:
                mapping[i] = luma_ok[np.argmin(chroma)]
    out = native.copy()
    out[:, :, :3] = colours[mapping[inverse.ravel()]].reshape(native.shape[0], native.shape[1], 3)
    return out


def fit_to_canvas(native: np.ndarray, size: int, background: Sequence[int]) -> np.ndarray:
    """Pad a native-resolution sprite to a square (centred, ``background``), scale it up by the
    largest integer factor ``k = size // side`` with nearest neighbour, and centre it on a
    ``size x size`` canvas of ``background``.

    Args:
        native: uint8 ``(h, w, C)``, one pixel per cell.
        size: output side.
        background: ``C`` values in 0..255.

    Returns:
        uint8 ``(size, size, C)`` whose cells are all ``k x k``.

    Raises:
        Rejected: the native image is larger than ``size``.
    """
    _check_image(native)
    h, w, c = native.shape
    side = max(h, w)
    if side > size:
        raise Rejected(f"native resolution {h}x{w} is larger than --size {size}; raise --size or check --pixel_size")
    colour = np.asarray(background, dtype=np.uint8)
    square = np.empty((side, side, c), dtype=np.uint8)
    square[:] = colour
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = native
    k = size // side
    up = np.repeat(np.repeat(square, k, axis=0), k, axis=1)
    out = np.empty((size, size, c), dtype=np.uint8)
    out[:] = colour
    off = (size - side * k) // 2
    out[off:off + side * k, off:off + side * k] = up
    return out


#: Mean luma step (levels) from which the luma edge alone places the artwork's side.
SIDE_LUMA_STEP = 6.0

#: Without a clear luma step, colour steps within this share of the strongest count as the side.
SIDE_COLOUR_SHARE = 0.85


def _edge_strength(line: np.ndarray, previous: np.ndarray) -> tuple[float, float]:
    """``(luma, colour)`` mean absolute step between two pixel lines ``(N, C)``."""
    d = line.astype(np.float32) - previous.astype(np.float32)
    luma = d[:, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32) if d.shape[1] >= 3 else d[:, 0]
    return float(np.abs(luma).mean()), float(np.abs(d).sum(axis=1).mean())


def _art_start(profile: np.ndarray, first: int, last: int, outer: int) -> int:
    """The boundary in ``first..last`` (inclusive) where the artwork begins: the strongest luma
    step (JPEG keeps luma sharp) when one reaches :data:`SIDE_LUMA_STEP`, or half of it while
    1.5 times the next strongest; else, the colour step being smeared by chroma subsampling,
    the outermost boundary (``outer`` = -1: towards ``first``, +1: towards ``last``) within
    :data:`SIDE_COLOUR_SHARE` of the strongest colour step."""
    luma, colour = profile[0, first:last + 1], profile[1, first:last + 1]
    top = np.sort(luma)[::-1]
    if top[0] >= SIDE_LUMA_STEP or (len(top) > 1 and top[0] >= SIDE_LUMA_STEP / 2 and top[0] >= 1.5 * top[1]):
        return first + int(np.argmax(luma))
    near = np.flatnonzero(colour >= SIDE_COLOUR_SHARE * colour.max())
    return first + int(near[0] if outer < 0 else near[-1])


def _refine_cut_cells(img: np.ndarray, box: tuple[int, int, int, int], grid: GridInfo,
                      ) -> tuple[tuple[int, int, int, int], GridInfo]:
    """Move each side of ``box`` onto the true edge of the artwork.

    A box from :func:`find_content_box` can hold a few pixels of JPEG bleed from the frame before
    the artwork starts. Within them the artwork's outer cell is flat, so the strongest edge among
    the box side and the next ``max(BLEED, cell // 2)`` boundaries is where the artwork begins:
    the box moves to it, so that a cell made partly of bleed counts as cut off (and is dropped
    with ``MIN_PARTIAL = 1``) instead of taking the bleed's colour.
    """
    if grid.cell == 1:
        return box, grid
    h, w = img.shape[:2]
    y0, y1, x0, x1 = box
    c = grid.cell
    reach = min(max(BLEED, c // 2), c - 1)
    # prof_y[r]: mean edge between rows r - 1 and r over the box's columns, for the boundaries
    # near the box's sides only (r in 1..h-1).
    # Profiles of the boundaries near the box's sides only: [luma, colour] mean edge between
    # rows r - 1 and r over the box's columns (r in 1..h-1); same across columns.
    prof_y, prof_x = np.zeros((2, h + 1)), np.zeros((2, w + 1))
    for r in {*range(max(1, y0), min(h - 1, y0 + reach) + 1), *range(max(1, y1 - reach), min(h - 1, y1) + 1)}:
        prof_y[:, r] = _edge_strength(img[r, x0:x1], img[r - 1, x0:x1])
    for r in {*range(max(1, x0), min(w - 1, x0 + reach) + 1), *range(max(1, x1 - reach), min(w - 1, x1) + 1)}:
        prof_x[:, r] = _edge_strength(img[y0:y1, r], img[y0:y1, r - 1])
    ny0 = _art_start(prof_y, y0, y0 + reach, -1) if y0 > 0 else y0
    nx0 = _art_start(prof_x, x0, x0 + reach, -1) if x0 > 0 else x0
    ny1 = _art_start(prof_y, y1 - reach, y1, +1) if y1 < h else y1
    nx1 = _art_start(prof_x, x1 - reach, x1, +1) if x1 < w else x1
    if ny1 - ny0 < c or nx1 - nx0 < c:
        return box, grid
    new_grid = replace(grid, phase_y=(grid.phase_y - (ny0 - y0)) % c, phase_x=(grid.phase_x - (nx0 - x0)) % c)
    return (ny0, ny1, nx0, nx1), new_grid


#: Cells of a 2x2 block belong to one region when their luma differs by at most this (levels).
BLOCK_LUMA_TOL = 8.0

#: ... and their block's core deviates from its median by at most this (levels, mean absolute,
#: the worst channel): two colours of one luma make a block far less uniform.
BLOCK_MAX_DEVIATION = 16.0


def _core_stats(region: np.ndarray, size: int, trim: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel median and the largest per-channel mean absolute deviation of every
    ``size x size`` tile of ``region`` (float ``(H, W, C)``, sizes divisible), over its core
    (``trim`` pixels left out on each side): ``(med (n, m, C), mad (n, m))``."""
    h, w, ch = region.shape
    tiles = region.reshape(h // size, size, w // size, size, ch)[:, trim:size - trim, :, trim:size - trim]
    tiles = tiles.transpose(0, 2, 1, 3, 4).reshape(h // size, w // size, -1, ch)
    med = np.median(tiles, axis=2)
    mad = np.abs(tiles - med[:, :, None, :]).mean(axis=2).max(axis=-1)
    return med, mad


def restore_bled_cells(art: np.ndarray, grid: GridInfo, native: np.ndarray) -> np.ndarray:
    """Re-estimate the colour of cells that JPEG chroma subsampling blended with a neighbour.

    4:2:0 JPEG stores colour per 2x2 pixels, so a small cell (3 to 5 px) next to another colour
    has no pixel of clean chroma, and its median lands between the two colours. Pixel art
    regions are usually two or more cells wide: the middle of a 2x2 block of cells of one region
    (one luma, within :data:`BLOCK_LUMA_TOL`, luma being stored at full resolution, and a core
    within :data:`BLOCK_MAX_DEVIATION`) is far enough from other colours. Each cell takes the
    median of the core of the most uniform such block that contains it, when that core is more
    uniform than the cell's own.

    Args:
        art: uint8 ``(H, W, C)``, the cropped artwork.
        grid: its grid; ``native`` holds exactly its full cells (``min_partial = 1``).
        native: uint8 ``(ny, nx, C)`` from :func:`datasets.grid_detect.reduce_to_native`.

    Returns:
        uint8 ``(ny, nx, C)``.
    """
    c, py, px = grid.cell, grid.phase_y, grid.phase_x
    ny, nx = native.shape[:2]
    if c < 2 or ny < 2 or nx < 2 or native.shape[2] < 3 or (art.shape[0] - py) // c != ny \
            or (art.shape[1] - px) // c != nx:
        return native.copy()
    region = art[py:py + ny * c, px:px + nx * c].astype(np.float32)
    _, own_mad = _core_stats(region, c, c // 4)
    luma = native[:, :, :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    # Every 2x2 block of cells, indexed by its top-left cell (ny - 1, nx - 1).
    blk_med = np.zeros((ny - 1, nx - 1, native.shape[2]), dtype=np.float32)
    blk_mad = np.full((ny - 1, nx - 1), np.inf, dtype=np.float32)
    for oy in (0, 1):
        for ox in (0, 1):
            na, nb = (ny - oy) // 2, (nx - ox) // 2
            if na == 0 or nb == 0:
                continue
            sub = region[oy * c:(oy + 2 * na) * c, ox * c:(ox + 2 * nb) * c]
            med, mad = _core_stats(sub, 2 * c, c // 2)
            blk_med[oy::2, ox::2][:na, :nb] = med
            blk_mad[oy::2, ox::2][:na, :nb] = mad
    quad = np.stack([luma[:-1, :-1], luma[1:, :-1], luma[:-1, 1:], luma[1:, 1:]])
    blk_mad[quad.max(axis=0) - quad.min(axis=0) > BLOCK_LUMA_TOL] = np.inf
    # For every cell, the most uniform block among the (up to) four that contain it.
    best_mad = np.full((ny, nx), np.inf, dtype=np.float32)
    best_med = native.astype(np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            mad = np.full((ny, nx), np.inf, dtype=np.float32)
            med = np.zeros_like(best_med)
            mad[dy:dy + ny - 1, dx:dx + nx - 1] = blk_mad
            med[dy:dy + ny - 1, dx:dx + nx - 1] = blk_med
            better = mad < best_mad
            best_mad[better] = mad[better]
            best_med[better] = med[better]
    use = (best_mad < own_mad) & (best_mad <= BLOCK_MAX_DEVIATION)
    out = native.copy()
    out[use] = np.clip(np.rint(best_med[use]), 0, 255).astype(np.uint8)
    return out


def _drop_frame_cells(native: np.ndarray, box: tuple[int, int, int, int], grid: GridInfo,
                      background: np.ndarray, tol: float,
                      ) -> tuple[np.ndarray, tuple[int, int, int, int], GridInfo]:
    """Drop the outer rows and columns of cells whose every cell has the margin colour.

    JPEG ringing and chroma bleed from a strong frame edge reach a few pixels into the margin,
    so :func:`find_content_box` may leave one or two of those pixels (rarely a whole cell) in
    the box; a cut-off cell made of them would become a row of wrong colours. Their per-cell
    medians are the margin colour, so such rows and columns go, and the box and the grid's
    phases follow (a dropped band ends on a grid line, so the phase becomes 0 on that side).
    At least one cell always stays.
    """
    y0, y1, x0, x1 = box
    rows = [size for _, size, n in split_axis(y1 - y0, grid.cell, grid.phase_y, MIN_PARTIAL) for _ in range(n)]
    cols = [size for _, size, n in split_axis(x1 - x0, grid.cell, grid.phase_x, MIN_PARTIAL) for _ in range(n)]
    if grid.cell == 1 or len(rows) != native.shape[0] or len(cols) != native.shape[1]:
        return native, box, grid
    a = native.astype(np.int16)
    frame = np.all(np.abs(a - background.astype(np.int16)) <= tol, axis=2)  # (h, w)
    top, bottom, left, right = 0, len(rows), 0, len(cols)
    changed = True
    while changed:
        changed = False
        while bottom - top > 1 and frame[top, left:right].all():
            y0, top, changed = y0 + rows[top], top + 1, True
        while bottom - top > 1 and frame[bottom - 1, left:right].all():
            y1, bottom, changed = y1 - rows[bottom - 1], bottom - 1, True
        while right - left > 1 and frame[top:bottom, left].all():
            x0, left, changed = x0 + cols[left], left + 1, True
        while right - left > 1 and frame[top:bottom, right - 1].all():
            x1, right, changed = x1 - cols[right - 1], right - 1, True
    # (Moving a side by whole cells keeps the grid lines; a cut-off band left at the new side is
    # dropped by the reduction as before.)
    if top == 0 and left == 0 and bottom == len(rows) and right == len(cols):
        return native, box, grid
    new_box = (y0, y1, x0, x1)
    phase_y = (grid.phase_y - (new_box[0] - box[0])) % grid.cell
    phase_x = (grid.phase_x - (new_box[2] - box[2])) % grid.cell
    return (np.ascontiguousarray(native[top:bottom, left:right]), new_box,
            replace(grid, phase_y=phase_y, phase_x=phase_x))


class GridNotFound(Rejected):
    """No grid with enough confidence; ``grid`` is the best guess."""

    def __init__(self, message: str, grid: GridInfo):
        super().__init__(message)
        self.grid = grid


@dataclass(frozen=True)
class Extraction:
    """Result of :func:`extract_pixel_art`: the ``(size, size, C)`` image, the native sprite, the
    grid, and the content box in the input."""

    image: np.ndarray
    native: np.ndarray
    grid: GridInfo
    box: tuple[int, int, int, int]


def extract_pixel_art(img: np.ndarray, size: int, *, pixel_size: int | None = None,
                      min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                      border_tol: float = DEFAULT_BORDER_TOL,
                      colour_tol: float = DEFAULT_COLOUR_TOL) -> Extraction:
    """Crop, detect the grid, reduce to native resolution and rescale one pixel-art post.

    Args:
        img: uint8 ``(H, W, C)``.
        size: output side.
        pixel_size: known cell size; skips the size search (the phase is still detected) and the
            confidence check.
        min_confidence: grids detected with a lower confidence are refused.
        border_tol: tolerance of :func:`find_content_box`.
        colour_tol: tolerance of :func:`merge_similar_colours` (0 keeps every median colour).

    Raises:
        Rejected: no content, grid not found, or the native sprite does not fit ``size``.
    """
    box = find_content_box(img, border_tol)
    y0, y1, x0, x1 = box
    art = img[y0:y1, x0:x1]
    try:
        grid = detect_grid(art, cell=pixel_size)
    except ValueError as err:
        raise Rejected(f"grid not found: {err}") from None
    if pixel_size is None and grid.confidence < min_confidence:
        raise GridNotFound(f"grid not found (best guess: cell {grid.cell} px, confidence {grid.confidence:.2f} < "
                           f"--min_confidence {min_confidence}); pass --pixel_size N if it is pixel art", grid)
    background = background_colour(img, box)
    box, grid = _refine_cut_cells(img, box, grid)
    y0, y1, x0, x1 = box
    art = img[y0:y1, x0:x1]
    native = restore_bled_cells(art, grid, reduce_to_native(art, grid, min_partial=MIN_PARTIAL))
    native, box, grid = _drop_frame_cells(native, box, grid, background, border_tol)
    native = snap_bled_colours(merge_similar_colours(native, colour_tol), colour_tol)
    out = fit_to_canvas(native, size, background)
    return Extraction(out, native, grid, box)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of this tool."""
    parser = argparse.ArgumentParser(
        prog="python -m datasets.pixelart_extraction",
        description="Extract pixel art from posts at its native grid and rescale it with crisp, uniform cells "
                    "into DST/train<domain> and DST/test<domain>.")
    parser.add_argument("src", metavar="SRC", type=Path, help="folder of pixel-art images (searched recursively)")
    parser.add_argument("dst", metavar="DST", type=Path, help="dataset root; trainB/ and testB/ are written here")
    parser.add_argument("--size", type=positive_int, default=256, help="output side in pixels (default: 256)")
    parser.add_argument("--pixel_size", type=positive_int, default=None,
                        help="known cell size in input pixels; skips grid-size detection (default: detect)")
    parser.add_argument("--domain", choices=("A", "B"), default="B", help="dataset domain letter (default: B)")
    parser.add_argument("--test_fraction", type=fraction, default=0.1,
                        help="fraction of images written to test<domain> (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="use at most N images, a random subset drawn with --seed (default: all)")
    parser.add_argument("--colour_tol", type=float, default=DEFAULT_COLOUR_TOL,
                        help="merge native colours closer than this many levels (JPEG noise); 0 keeps all "
                             f"(default: {DEFAULT_COLOUR_TOL})")
    parser.add_argument("--min_confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                        help="skip images whose grid is detected with a lower confidence, 0..1 "
                             f"(default: {DEFAULT_MIN_CONFIDENCE})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns 0 on success, 1 when a file failed or nothing was written, 2 on bad arguments."""
    args = build_parser().parse_args(argv)

    def job() -> int:
        try:
            if not 0.0 <= args.min_confidence <= 1.0:
                raise ValueError(f"--min_confidence must be in [0, 1], got {args.min_confidence}")
            if args.colour_tol < 0:
                raise ValueError(f"--colour_tol must be >= 0, got {args.colour_tol}")
            jobs = plan_jobs(args.src, args.dst, args.domain, args.test_fraction, args.seed, args.limit)
        except ValueError as err:
            raise FlagError(str(err)) from None

        result, entries = extract_batch(jobs, args)
        manifest = args.dst / MANIFEST_NAME
        try:
            atomic_write_text(manifest, json.dumps({"tool": "pixelart_extraction", "src": str(args.src),
                                                    "images": entries}, indent=1) + "\n")
        except OSError as err:
            error(f"cannot write {manifest}: {err}")
            result.failed += 1
        print(f"{result.summary()} -> {args.dst} (per-image grid and confidence in {manifest})")
        return EXIT_FAILED if result.failed or result.written == 0 else EXIT_OK

    return exit_status(job)


def _grid_fields(grid: GridInfo | None) -> dict:
    if grid is None:
        return {"cell": None, "phase": None, "confidence": None}
    return {"cell": grid.cell, "phase": [grid.phase_y, grid.phase_x], "confidence": round(grid.confidence, 4)}


def extract_batch(jobs: Sequence[tuple[Path, Path]], args: argparse.Namespace) -> tuple[BatchResult, list[dict]]:
    """Extract every ``(source, destination)`` job like :func:`datasets.coco_preprocessing.run_batch`
    (skips and failures reported on stderr, the batch goes on) and return the counts and one
    manifest entry per job: ``source``, ``output`` (None unless written), ``status`` (``written``,
    ``skipped`` or ``failed``), ``cell``, ``phase`` ([y, x] relative to ``box``), ``box``
    ([y0, y1, x0, x1] in the source), ``confidence`` (the best guess's for a grid not found) and
    ``reason``."""
    result = BatchResult()
    entries: list[dict] = []
    for src, dst in tqdm(jobs, desc="pixelart_extraction", unit="img", file=sys.stderr, disable=None):
        entry: dict = {"source": str(src), "output": None, "status": "failed", **_grid_fields(None),
                       "box": None, "reason": None}
        try:
            extraction = extract_pixel_art(load_image(src), args.size, pixel_size=args.pixel_size,
                                           min_confidence=args.min_confidence, colour_tol=args.colour_tol)
            save_image(dst, extraction.image)
        except Rejected as err:
            result.skipped += 1
            entry.update(status="skipped", reason=str(err), **_grid_fields(getattr(err, "grid", None)))
            tqdm.write(f"skipped: {src}: {err}", file=sys.stderr)
        except ImageLoadError as err:
            result.failed += 1
            entry["reason"] = str(err)
            tqdm.write(f"error: {err}", file=sys.stderr)
        except (OSError, ValueError) as err:
            result.failed += 1
            entry["reason"] = str(err)
            tqdm.write(f"error: {src}: {err}", file=sys.stderr)
        else:
            result.written += 1
            entry.update(status="written", output=str(dst), box=list(extraction.box), **_grid_fields(extraction.grid))
        entries.append(entry)
    return result, entries

if __name__ == "__main__":
    sys.exit(main())
