"""Synthetic pixel-art posts for testing and benchmarking grid detection.

A post is made like the ones people share: a small sprite of flat-coloured blobs with dark
outlines, where every region is at least ``min_region`` cells wide (so no single-cell detail
gives the grid away), nearest-upscaled by an integer cell size, cut at a random phase (the
first and last cell on each side are partial), framed by a uniform border and saved as JPEG.

:func:`make_post` is deterministic for a seed and returns the post together with its ground
truth (cell size, phase of the grid relative to the content, and the native sprite that
:func:`datasets.grid_detect.reduce_to_native` should give back). No real art is involved.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from datasets.grid_detect import split_axis

#: Smallest per-channel distance (levels, the largest channel difference) between two colours of
#: one sprite, and between the border and any sprite colour: far above JPEG q90 noise.
MIN_COLOUR_GAP = 56


@dataclass(frozen=True)
class Post:
    """A synthetic post and its ground truth.

    Attributes:
        image: uint8 ``(H, W, 3)``, the post as decoded from its JPEG (or lossless when
            ``jpeg_quality`` was ``None``).
        native: uint8 ``(h, w, 3)``, the whole sprite at one pixel per cell.
        expected: uint8, the part of ``native`` that survives the phase cut under
            ``reduce_to_native``'s rule (a cut-off cell is kept when at least half of it shows).
        cell: cell size in pixels.
        phase_y: first full cell row of the content (relative to ``box``), ``0 <= phase_y < cell``.
        phase_x: first full cell column of the content, ``0 <= phase_x < cell``.
        box: ``(y0, y1, x0, x1)`` of the sprite inside the post (half-open).
        border: ``(top, bottom, left, right)`` widths of the frame in pixels.
        origin: ``(y, x)`` post coordinates of the top-left corner of native cell ``(0, 0)``
            (negative or inside the box when the first cells are cut).
        clean: uint8 ``(H, W, 3)``, the post before JPEG compression.
        jpeg_bytes: the encoded file (empty when lossless).
    """

    image: np.ndarray
    native: np.ndarray
    expected: np.ndarray
    cell: int
    phase_y: int
    phase_x: int
    box: tuple[int, int, int, int]
    border: tuple[int, int, int, int]
    origin: tuple[int, int]
    clean: np.ndarray
    jpeg_bytes: bytes


def _palette(rng: np.random.Generator, n: int, avoid: np.ndarray) -> np.ndarray:
    """``n`` random colours, pairwise and from ``avoid`` at least :data:`MIN_COLOUR_GAP` apart."""
    colours: list[np.ndarray] = []
    while len(colours) < n:
        c = rng.integers(0, 256, size=3)
        others = [avoid] + colours
        if all(np.abs(c - o).max() >= MIN_COLOUR_GAP for o in others):
            colours.append(c)
    return np.asarray(colours, dtype=np.uint8)


def _thin_pixels(idx: np.ndarray, width: int) -> np.ndarray:
    """Mask of pixels that lie in no uniform ``width x width`` block of ``idx``."""
    h, w = idx.shape
    covered = np.zeros((h, w), dtype=bool)
    uniform = np.ones((h - width + 1, w - width + 1), dtype=bool)
    for oy in range(width):
        for ox in range(width):
            uniform &= idx[oy:oy + h - width + 1, ox:ox + w - width + 1] == idx[:h - width + 1, :w - width + 1]
    for oy in range(width):
        for ox in range(width):
            covered[oy:oy + h - width + 1, ox:ox + w - width + 1] |= uniform
    return ~covered


def _enforce_min_region(idx: np.ndarray, width: int) -> np.ndarray:
    """Repaint until every pixel lies in a uniform ``width x width`` block: each pixel that lies in
    none gets the block around it (of those containing it) that is closest to uniform, painted
    with that block's most common index."""
    idx = idx.copy()
    h, w = idx.shape
    for _ in range(256):
        thin = _thin_pixels(idx, width)
        if not thin.any():
            return idx
        for y, x in zip(*np.nonzero(thin), strict=True):
            best = None
            for y0 in range(max(0, y - width + 1), min(y, h - width) + 1):
                for x0 in range(max(0, x - width + 1), min(x, w - width) + 1):
                    values, counts = np.unique(idx[y0:y0 + width, x0:x0 + width], return_counts=True)
                    k = int(np.argmax(counts))
                    if best is None or counts[k] > best[0]:
                        best = (counts[k], y0, x0, values[k])
            if best is not None:
                _, y0, x0, value = best
                idx[y0:y0 + width, x0:x0 + width] = value
    return idx


def _is_upscale(idx: np.ndarray) -> bool:
    """True when ``idx`` is itself a nearest upscale (any factor >= 2, any phase) of a smaller map,
    so that its true cell size would be ambiguous."""
    ys = np.flatnonzero(np.any(idx[1:] != idx[:-1], axis=1)) + 1
    xs = np.flatnonzero(np.any(idx[:, 1:] != idx[:, :-1], axis=0)) + 1
    g = 0
    for edges in (ys, xs):
        if len(edges):
            g = np.gcd(g, int(np.gcd.reduce(edges - edges[0])))
    # Edges on both axes on lines k * g + offset with g >= 2 -> an upscale by g (square cells:
    # the two axes must share the factor, so the GCD across both axes decides).
    return g != 1


def _sprite_indices(rng: np.random.Generator, n_colours: int, min_region: int) -> np.ndarray:
    """A palette-index map (h, w), 12..48 per side: flat blobs (rectangles and ellipses of varied
    sizes, most with an outline ring in index 1) on background index 0, every region at least
    ``min_region`` pixels wide."""
    h, w = (int(v) for v in rng.integers(12, 49, size=2))
    idx = np.zeros((h, w), dtype=np.int64)
    yy, xx = np.mgrid[0:h, 0:w]
    outline = 1  # palette index 1 is the dark outline colour
    for _ in range(int(rng.integers(3, 11))):
        bh = int(rng.integers(min_region, max(min_region + 1, h // 2 + 1)))
        bw = int(rng.integers(min_region, max(min_region + 1, w // 2 + 1)))
        y0, x0 = int(rng.integers(-bh // 3, h - bh // 2)), int(rng.integers(-bw // 3, w - bw // 2))
        if rng.random() < 0.5:
            mask = (yy >= y0) & (yy < y0 + bh) & (xx >= x0) & (xx < x0 + bw)
        else:
            cy, cx, ry, rx = y0 + bh / 2 - 0.5, x0 + bw / 2 - 0.5, bh / 2, bw / 2
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        colour = int(rng.integers(2, n_colours)) if n_colours > 2 else 1
        if rng.random() < 0.6:
            # Outline ring of ``min_region`` or more pixels around the blob.
            ring = int(rng.integers(min_region, min_region + 2))
            grown = mask.copy()
            for _ in range(ring):
                g = grown.copy()
                g[1:] |= grown[:-1]
                g[:-1] |= grown[1:]
                g[:, 1:] |= grown[:, :-1]
                g[:, :-1] |= grown[:, 1:]
                grown = g
            idx[grown] = outline
        idx[mask] = colour
    return _enforce_min_region(idx, min_region)


def make_post(seed: int, *, cell: int | None = None, min_region: int = 2, border: int | None = None,
              cut: bool | None = None, jpeg_quality: int | None = 90, subsampling: int = 2) -> Post:
    """One synthetic post, deterministic for ``seed``.

    Args:
        seed: random seed.
        cell: cell size; default a random size in 3..9.
        min_region: every colour region of the sprite is at least this many cells wide.
        border: frame width on every side; default a random width in 5..40 per side.
        cut: cut the sprite at a random phase on every side (partial first/last cells); default
            decided at random (half of the posts). Uncut sprites still sit at a random phase of the
            post, set by the frame widths.
        jpeg_quality: JPEG quality of the saved post; ``None`` keeps it lossless.
        subsampling: PIL's JPEG chroma subsampling (0 = 4:4:4, 2 = 4:2:0, the usual one).

    Returns:
        A :class:`Post` with its ground truth.
    """
    if min_region < 1:
        raise ValueError(f"`min_region` must be >= 1, got {min_region}")
    rng = np.random.default_rng(seed)
    cell = int(rng.integers(3, 10)) if cell is None else int(cell)
    if cell < 1:
        raise ValueError(f"`cell` must be >= 1, got {cell}")
    cut = bool(rng.random() < 0.5) if cut is None else bool(cut)
    frame = rng.integers(0, 256, size=3)
    n_colours = int(rng.integers(4, 9))
    palette = _palette(rng, n_colours, frame)
    for _ in range(100):
        idx = _sprite_indices(rng, n_colours, min_region)
        if not _is_upscale(idx) and not _thin_pixels(idx, min_region).any():
            break
    native = palette[idx]
    up = np.repeat(np.repeat(native, cell, axis=0), cell, axis=1)
    cut_t, cut_b, cut_l, cut_r = (int(v) for v in rng.integers(0, cell, size=4)) if cut else (0, 0, 0, 0)
    art = up[cut_t:up.shape[0] - cut_b, cut_l:up.shape[1] - cut_r]

    def keep(n: int) -> int:
        return 0 if n == 0 or 2 * (cell - n) >= cell else 1

    expected = native[keep(cut_t):native.shape[0] - keep(cut_b), keep(cut_l):native.shape[1] - keep(cut_r)]
    widths = tuple(int(v) for v in (rng.integers(5, 41, size=4) if border is None else [border] * 4))
    top, bottom, left, right = widths
    h, w = art.shape[:2]
    clean = np.empty((h + top + bottom, w + left + right, 3), dtype=np.uint8)
    clean[:] = frame
    clean[top:top + h, left:left + w] = art
    post, data = clean, b""
    if jpeg_quality is not None:
        buf = io.BytesIO()
        Image.fromarray(clean).save(buf, format="JPEG", quality=int(jpeg_quality), subsampling=subsampling)
        data = buf.getvalue()
        post = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return Post(image=post, native=native, expected=np.ascontiguousarray(expected), cell=cell,
                phase_y=(cell - cut_t) % cell, phase_x=(cell - cut_l) % cell,
                box=(top, top + h, left, left + w), border=widths, origin=(top - cut_t, left - cut_l),
                clean=clean, jpeg_bytes=data)


@dataclass(frozen=True)
class Score:
    """How an extraction of a :class:`Post` compares with its ground truth.

    Attributes:
        grid_ok: the cell size is right and the grid lines fall on the true ones.
        exact: ``grid_ok``, every reduced pixel is nearer to the true colour of its cell than to
            any other colour of the sprite (so no cell from the frame or from a wrong cell; JPEG
            4:2:0 may still shift the chroma of small cells, see ``max_error``), and every true
            cell that is fully visible in the post is in the reduced image.
        mean_error: mean absolute colour difference (levels, over pixels and channels) between the
            reduced image drawn back at its grid and the post before compression, over the
            content box.
        max_error: with ``grid_ok`` and the right cells, the largest per-channel difference between
            a reduced pixel and its true colour (levels); -1 otherwise.
    """

    grid_ok: bool
    exact: bool
    mean_error: float
    max_error: int


def score_extraction(post: Post, box: tuple[int, int, int, int], cell: int, phase_y: int, phase_x: int,
                     native: np.ndarray, *, min_partial: float = 0.5) -> Score:
    """Compare an extraction (content ``box`` in the post, grid ``cell``/phases relative to the
    box, reduced image ``native``) with the truth of ``post``; see :class:`Score`.
    ``native`` must be laid out like :func:`datasets.grid_detect.reduce_to_native`'s output with
    the same ``min_partial``."""
    y0, y1, x0, x1 = box
    oy, ox = post.origin
    grid_ok = (cell == post.cell and (y0 + phase_y - oy) % cell == 0 and (x0 + phase_x - ox) % cell == 0)

    def owner(length: int, phase: int) -> np.ndarray:
        """Output row (column) of every box pixel, -1 where a dropped partial cell sits."""
        out = np.full(length, -1, dtype=np.int64)
        i = 0
        for start, block, count in split_axis(length, cell, phase, min_partial):
            for _ in range(count):
                out[start:start + block] = i
                start, i = start + block, i + 1
        return out

    rows, cols = owner(y1 - y0, phase_y), owner(x1 - x0, phase_x)
    if rows.max(initial=-1) + 1 != native.shape[0] or cols.max(initial=-1) + 1 != native.shape[1]:
        return Score(False, False, float("nan"), -1)
    ry, rx = np.flatnonzero(rows >= 0), np.flatnonzero(cols >= 0)
    drawn = native[rows[ry][:, None], cols[rx][None, :]].astype(np.int16)
    truth = post.clean[y0 + ry][:, x0 + rx].astype(np.int16)
    error = float(np.abs(drawn - truth).mean())
    if not grid_ok:
        return Score(False, False, error, -1)
    # Grid right: each reduced pixel must match the true colour at the centre of its band, and
    # every fully visible true cell must be covered.
    ny, nx = post.native.shape[:2]
    centre_y = np.array([(y0 + ry[rows[ry] == i]).mean() for i in range(native.shape[0])])
    centre_x = np.array([(x0 + rx[cols[rx] == j]).mean() for j in range(native.shape[1])])
    iy = np.floor((centre_y - oy) / cell).astype(np.int64)
    ix = np.floor((centre_x - ox) / cell).astype(np.int64)
    inside = (0 <= iy) & (iy < ny), (0 <= ix) & (ix < nx)
    py0, py1, px0, px1 = post.box
    full_y = [i for i in range(ny) if oy + i * cell >= py0 and oy + (i + 1) * cell <= py1]
    full_x = [j for j in range(nx) if ox + j * cell >= px0 and ox + (j + 1) * cell <= px1]
    if not (inside[0].all() and inside[1].all() and set(full_y) <= set(iy) and set(full_x) <= set(ix)):
        return Score(True, False, error, -1)
    true_cells = post.native[iy][:, ix].astype(np.int32)
    got = native[:, :, :3].astype(np.int32)
    max_error = int(np.abs(true_cells - got).max())
    palette = np.unique(post.native.reshape(-1, 3), axis=0).astype(np.int32)
    nearest = palette[np.square(got[:, :, None, :] - palette[None, None]).sum(axis=-1).argmin(axis=-1)]
    exact = bool(np.all(nearest == true_cells))
    return Score(True, exact, error, max_error)
