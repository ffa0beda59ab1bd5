"""Downsampling: cut an image into square cells, reduce each cell edge-aware, map it to a palette.

Grid and remainder policy
    The grid starts at the top-left pixel. An ``H x W`` image with cell size ``p``
    gives ``ceil(H / p) x ceil(W / p)`` cells. When ``H`` or ``W`` is not a multiple of
    ``p`` the last row / column of cells is *partial*: it covers only the remaining
    ``H mod p`` / ``W mod p`` pixels and is reduced over those real pixels alone (no
    padding colour leaks in, nothing is cropped). ``upscale(out, p)`` therefore has size
    ``ceil(H / p) * p x ceil(W / p) * p``.

Edge-aware cell statistic
    Each cell is split in two by its own mean luma (pixels brighter / not brighter).
    A cell whose halves differ by less than ``EDGE_LOW`` (112) luma levels takes its mean,
    which removes noise and is the most faithful colour. A cell crossed by a strong
    contour (halves differing by ``EDGE_HIGH`` = 224 levels, e.g. a dark outline on a light
    area) takes the mean of its *majority* half, so the contour lands on a cell border
    instead of producing a blurred in-between colour; contrasts in between blend
    linearly, so the statistic is continuous in the input (important for video
    stability). The thresholds are high on purpose: measured on the benchmark photos,
    snapping softer edges cost colour fidelity and did not raise edge F1. Pixels are
    alpha-weighted: transparent pixels do not count.

Upscaled pixel art (automatic, :func:`restore_pixel_art`)
    A smooth render of pixel art (bicubic upscale, blur, JPEG) bleeds every art pixel into its
    neighbours: a 1-px dark outline becomes two half-dark cells, a highlight fades. Such an
    image is recognised from its content: each cell is re-measured on its central window (the
    half of the cell farthest from the neighbours) and sharpened against its 4 neighbours
    (``c + s * (c - mean of neighbours)``, kept within the range of the window's own pixels widened
    by :data:`PIXEL_ART_MARGIN`) at a few strengths ``s``; when one of them makes the
    grid *flatter* (lower cell-to-cell CIELAB variation, each step capped at
    :data:`VARIATION_CAP`) by at least :data:`PIXEL_ART_GAIN`, the cells are pixel art that was
    blurred and the flattest version is used. Sharpening a photo only adds variation, so photos
    keep the edge-aware statistic above (measured: the variation grows monotonically with ``s``
    on every benchmark photo, so they never switch). The strengths are tried in increasing order
    and the search stops as soon as the variation grows, so a photo pays for one.
"""
from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

from postprocess import _kernels
from postprocess.color import check_image, srgb_to_lab, to_de_space

logger = logging.getLogger(__name__)

__all__ = ["pixelate", "reduce_cells", "map_to_palette", "assign_labels", "render", "despeckle", "CellGrid",
           "check_palette", "check_pixel_size", "centre_means", "sharpen_cells", "cell_variation", "restore_pixel_art",
           "clean_halftones", "check_alpha_threshold"]

#: Luma contrast (0..255) between the two halves of a cell below which the cell takes its mean.
EDGE_LOW = 112.0
#: Orphan cleanup keeps a cell whose best neighbouring colour is this much (CIELAB) worse a fit.
#: 6 rather than 10: on the benchmark photos it keeps 0.01-0.05 dE00 of colour fidelity while the
#: orphan rate stays below 40 % of the seed baseline's (the target is 50 %).
DESPECKLE_MAX_SHIFT = 6.0
#: Luma contrast above which the cell takes the mean of its majority half.
EDGE_HIGH = 224.0


#: Sharpening strengths tried on the central-window cells (see :func:`restore_pixel_art`).
PIXEL_ART_STRENGTHS = (0.25, 0.5, 0.75, 1.0)
#: Restored cells are used when their variation is below this share of the plain cells'.
PIXEL_ART_GAIN = 0.97
#: Sharpened cells stay within their central window's range widened by this many levels (sRGB):
#: enough to undo the bleed of a 1-px line, not enough to overshoot it to black.
PIXEL_ART_MARGIN = 16.0
#: Cap (CIELAB distance) of one neighbour step in :func:`cell_variation`: edges count once, whatever
#: their contrast; what the measure sees is the in-between steps that blur creates.
VARIATION_CAP = 12.0


class CellGrid(NamedTuple):
    """Result of :func:`reduce_cells`.

    Attributes:
        colors: float32 ``(h, w, 3)`` sRGB cell colours in [0, 255].
        coverage: float32 ``(h, w)`` alpha-weighted fraction of the cell that is opaque, in [0, 1].
        side: bool ``(h, w)``; True where the cell chose its bright half (state for video hysteresis).
    """

    colors: np.ndarray
    coverage: np.ndarray
    side: np.ndarray


def check_pixel_size(pixel_size: int, shape: tuple[int, ...] | None = None) -> int:
    """Validate ``pixel_size`` (an int ``>= 1``, and at most the short side of an image ``shape``
    ``(H, W, ...)`` when one is given); returns it as int."""
    if isinstance(pixel_size, bool) or not isinstance(pixel_size, (int, np.integer)):
        raise TypeError(f"`pixel_size` must be an int, got {type(pixel_size).__name__} ({pixel_size!r})")
    pixel_size = int(pixel_size)
    if pixel_size < 1:
        raise ValueError(f"`pixel_size` must be >= 1, got {pixel_size}")
    if shape is not None and pixel_size > min(shape[0], shape[1]):
        raise ValueError(
            f"`pixel_size`={pixel_size} is larger than the image ({shape[0]}x{shape[1]}); "
            f"use a pixel_size <= {min(shape[0], shape[1])}"
        )
    return pixel_size


def check_palette(palette: np.ndarray, name: str = "palette") -> np.ndarray:
    """Validate a palette: uint8 ``(K, 3)`` with ``K >= 1``; returns it C-contiguous."""
    if not isinstance(palette, np.ndarray):
        raise TypeError(f"`{name}` must be a uint8 numpy array of shape (K, 3), got {type(palette).__name__}")
    if palette.dtype != np.uint8:
        raise TypeError(f"`{name}` must be uint8 (K, 3), got dtype {palette.dtype}")
    if palette.ndim != 2 or palette.shape[1] != 3:
        raise ValueError(f"`{name}` must have shape (K, 3), got {palette.shape}")
    if palette.shape[0] < 1:
        raise ValueError(f"`{name}` is empty (0 colours); give at least one colour")
    return np.ascontiguousarray(palette)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _edge_aware(
    mean: np.ndarray,
    hi_mean: np.ndarray,
    lo_mean: np.ndarray,
    frac_hi: np.ndarray,
    prev_side: np.ndarray | None,
    side_band: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Combine the cell mean and the two half means into the edge-aware cell colour."""
    use_prev = prev_side is not None
    prev = np.ascontiguousarray(prev_side if use_prev else np.zeros(frac_hi.shape, bool))
    return _kernels.edge_aware(
        _f64(mean), _f64(hi_mean), _f64(lo_mean), _f64(frac_hi), prev, use_prev, float(side_band), EDGE_LOW, EDGE_HIGH
    )


def _reduce_opaque(
    rgb: np.ndarray, p: int, prev_side: np.ndarray | None, side_band: float
) -> tuple[np.ndarray, np.ndarray]:
    """Unweighted reduction of a uint8 ``(H, W, 3)`` image (partial last cells over their real pixels)."""
    mean, hi_mean, lo_mean, frac_hi = _kernels.reduce_cells_u8(np.ascontiguousarray(rgb), p)
    return _edge_aware(mean, hi_mean, lo_mean, frac_hi, prev_side, side_band)


def _reduce_weighted(
    rgb: np.ndarray, p: int, weight: np.ndarray, prev_side: np.ndarray | None, side_band: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha-weighted reduction (transparent pixels do not count); partial cells over their real pixels."""
    big_h, big_w = rgb.shape[:2]
    mean, hi_mean, lo_mean, frac_hi, s0 = _kernels.reduce_cells_weighted(
        np.ascontiguousarray(rgb), np.ascontiguousarray(weight, dtype=np.float32), p
    )
    colors, side = _edge_aware(mean, hi_mean, lo_mean, frac_hi, prev_side, side_band)
    colors[s0 <= 1e-6] = 0.0
    coverage = s0 / _cell_area(big_h, big_w, p)
    return colors, np.clip(coverage, 0.0, 1.0).astype(np.float32), side


def _cell_area(big_h: int, big_w: int, p: int) -> np.ndarray:
    """Number of real pixels in each cell ``(h, w)`` (partial cells at the remainder)."""
    rows = np.minimum(p, big_h - np.arange(0, big_h, p))
    cols = np.minimum(p, big_w - np.arange(0, big_w, p))
    return (rows[:, None] * cols[None, :]).astype(np.float32)


def reduce_cells(
    image: np.ndarray,
    pixel_size: int,
    *,
    weight: np.ndarray | None = None,
    prev_side: np.ndarray | None = None,
    side_band: float = 0.0,
) -> CellGrid:
    """Reduce every ``pixel_size`` cell of ``image`` to one colour with the edge-aware statistic.

    Args:
        image: uint8 ``(H, W, 3)`` RGB.
        pixel_size: cell size ``p`` (validated by the caller).
        weight: optional float32 ``(H, W)`` pixel weights in [0, 1] (alpha / 255).
        prev_side: optional bool ``(h, w)`` side chosen for the previous frame (video).
        side_band: hysteresis on the majority vote: a cell keeps ``prev_side`` unless
            the other half's share exceeds ``0.5 + side_band``.

    Returns:
        :class:`CellGrid` with ``h = ceil(H / p)``, ``w = ceil(W / p)``; ``coverage`` is the
        mean alpha over the cell's real pixels (1 for opaque images).
    """
    p = pixel_size
    big_h, big_w = image.shape[:2]
    h, w = -(-big_h // p), -(-big_w // p)
    if prev_side is not None and prev_side.shape != (h, w):
        prev_side = None
    if weight is not None:
        colors, coverage, side = _reduce_weighted(image, p, weight, prev_side, side_band)
        return CellGrid(colors, coverage, side)
    colors, side = _reduce_opaque(image, p, prev_side, side_band)
    return CellGrid(colors, np.ones((h, w), np.float32), side)


def centre_means(
    rgb: np.ndarray, pixel_size: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean colour of each cell's central window (the central half along each axis), and its range.

    Args:
        rgb: uint8 ``(H, W, 3)``.
        pixel_size: cell size ``p``.
        weight: optional float32 ``(H, W)`` pixel weights (alpha / 255).

    Returns:
        float64 ``(h, w, 3)`` window means (0 where the window has no weight), float64 ``(h, w)``
        window weights, float64 ``(h, w, 3)`` per-channel minima and maxima of the window.
    """
    use = weight is not None
    wt = np.ascontiguousarray(weight, dtype=np.float32) if use else np.zeros((1, 1), np.float32)
    return _kernels.centre_window_means(np.ascontiguousarray(rgb), wt, use, int(pixel_size))


def sharpen_cells(
    colors: np.ndarray,
    strength: float,
    valid: np.ndarray | None = None,
    lo: np.ndarray | float = 0.0,
    hi: np.ndarray | float = 255.0,
) -> np.ndarray:
    """``clip(c + strength * (c - mean of the valid 4-neighbours), lo, hi)`` on a float ``(h, w, 3)`` grid.

    ``valid``: optional bool ``(h, w)``; invalid cells (transparent) neither count as neighbours
    nor change. ``lo``/``hi``: bounds, scalars or ``(h, w, 3)`` (e.g. the range of the pixels the
    cell was measured on: sharpening may undo the bleed, never invent a colour darker or brighter
    than the cell ever shows). Returns float32 ``(h, w, 3)``.
    """
    if valid is None:
        valid = np.ones(colors.shape[:2], bool)
    shape = colors.shape
    lo_a = np.ascontiguousarray(np.broadcast_to(np.asarray(lo, np.float64), shape))
    hi_a = np.ascontiguousarray(np.broadcast_to(np.asarray(hi, np.float64), shape))
    return _kernels.sharpen_grid(_f64(colors), float(strength), np.ascontiguousarray(valid, dtype=np.bool_),
                                 lo_a, hi_a)


def cell_variation(lab: np.ndarray, valid: np.ndarray | None = None, cap: float = VARIATION_CAP) -> float:
    """Mean CIELAB distance between 4-adjacent cells, each capped at ``cap`` (pairs of valid cells only).

    ``lab``: float ``(h, w, 3)``. Returns 0 when there are no such pairs.
    """
    if valid is None:
        valid = np.ones(lab.shape[:2], bool)
    return float(_kernels.capped_variation(_f64(lab), np.ascontiguousarray(valid, dtype=np.bool_), float(cap)))


def restore_pixel_art(
    rgb: np.ndarray, grid: CellGrid, pixel_size: int, weight: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> tuple[CellGrid, float]:
    """Recognise a smooth render of pixel art and undo the bleed between its cells (module docstring).

    Args:
        rgb: uint8 ``(H, W, 3)`` the image ``grid`` was reduced from.
        grid: its :class:`CellGrid`.
        pixel_size: cell size.
        weight: optional float32 ``(H, W)`` pixel weights (alpha / 255).
        valid: optional bool ``(h, w)`` cells that count (opaque); default all.

    Returns:
        ``(grid, strength)``: ``grid`` unchanged and 0.0 for anything that is not blurred pixel
        art (photos); otherwise the sharpened central-window cells and the strength used.
    """
    h, w = grid.colors.shape[:2]
    if h < 3 or w < 3:
        return grid, 0.0
    if valid is None:
        valid = np.ones((h, w), bool)
    base = cell_variation(srgb_to_lab(grid.colors.reshape(-1, 3)).reshape(h, w, 3), valid)
    centre, wsum, lo, hi = centre_means(rgb, pixel_size, weight)
    ok = valid & (wsum > 1e-6)
    best, best_s, best_v = None, 0.0, base * PIXEL_ART_GAIN
    lo, hi = lo - PIXEL_ART_MARGIN, hi + PIXEL_ART_MARGIN
    prev = base
    for s in PIXEL_ART_STRENGTHS:  # in increasing order; stop once the variation grows
        cand = sharpen_cells(centre, s, ok, lo, hi)
        v = cell_variation(srgb_to_lab(cand.reshape(-1, 3)).reshape(h, w, 3), ok)
        if v >= prev:
            break  # (a photo stops here at the first strength)
        prev = v
        if v < best_v:
            best, best_s, best_v = cand, s, v
    if best is None:
        return grid, 0.0
    colors = np.where(ok[..., None], best, grid.colors).astype(np.float32)
    logger.debug("pixel art recognised: cell variation %.2f -> %.2f at strength %.2f", base, best_v, best_s)
    return grid._replace(colors=colors), best_s


#: Half-tone cleanup: the two flat colours must differ by this much (CIELAB distance) ...
HALFTONE_MIN_CONTRAST = 20.0
#: ... the cell must lie within this share of their distance from the segment between them ...
HALFTONE_MAX_OFF = 0.2
#: ... and at least this far along it from either end; the two cells on each side must lie within
#: this CIELAB distance of their palette colour (flat regions: photo texture never qualifies).
HALFTONE_BAND = 0.2
HALFTONE_FLAT = 4.0


def clean_halftones(labels: np.ndarray, cells_lab: np.ndarray, palette_lab: np.ndarray) -> np.ndarray:
    """Remove anti-aliasing half-tones: a cell between two flat regions (its two opposite neighbours
    carry two other colours, each repeated one more cell out, all four close to their palette
    colour) whose colour is a mix of those two
    takes the nearer one. Thin lines (darker or lighter than both sides) are not mixes and stay.

    Args:
        labels: int ``(h, w)`` palette indices, -1 transparent (left alone).
        cells_lab: float ``(h*w, 3)`` CIELAB of the cells.
        palette_lab: float ``(K, 3)`` CIELAB palette.

    Returns:
        int64 ``(h, w)`` labels (a new array).
    """
    return _kernels.halftone_labels(
        np.ascontiguousarray(labels, dtype=np.int64), _f64(cells_lab), _f64(palette_lab),
        HALFTONE_MIN_CONTRAST, HALFTONE_MAX_OFF, HALFTONE_BAND, HALFTONE_FLAT,
    )


#: CIEDE2000 chooses among the palette colours whose squared distance in ``to_de_space`` is below
#: this multiple of the nearest one's (1.5x the distance); measured on the benchmark photos, the
#: pick then equals the exhaustive CIEDE2000 nearest for 98.7-99.6 % of cells (plain CIELAB: 95-99 %).
_DE00_RATIO = 2.25


def map_to_palette(cells_lab: np.ndarray, palette_lab: np.ndarray, cells_u: np.ndarray | None = None) -> np.ndarray:
    """Index of the perceptually nearest (CIEDE2000) palette colour for each cell.

    Candidates are the colours close to the nearest one in ``to_de_space`` (a CIEDE2000-like
    Euclidean space); CIEDE2000 picks among them.

    Args:
        cells_lab: float ``(N, 3)`` CIELAB.
        palette_lab: float ``(K, 3)`` CIELAB.
        cells_u: optional precomputed ``to_de_space(cells_lab)``.

    Returns:
        int64 ``(N,)`` indices into the palette.
    """
    cells_lab = _f64(cells_lab)
    palette_lab = _f64(palette_lab)
    cells_u = _f64(to_de_space(cells_lab) if cells_u is None else cells_u)
    return _kernels.map_de00(cells_lab, cells_u, palette_lab, _f64(to_de_space(palette_lab)), _DE00_RATIO)


def despeckle(
    labels: np.ndarray,
    cells_lab: np.ndarray,
    palette_lab: np.ndarray,
    *,
    passes: int = 2,
    min_neighbours: int = 5,
    max_shift: float = np.inf,
) -> np.ndarray:
    """Remove orphan cells: a cell whose label differs from all its (opaque) neighbours takes
    the neighbouring label whose colour is closest (CIELAB) to its own.

    Args:
        labels: int ``(h, w)`` palette indices, -1 for transparent cells (left alone).
        cells_lab: float ``(h*w, 3)`` CIELAB colour of each cell.
        palette_lab: float ``(K, 3)`` CIELAB palette.
        passes: repeat count (a second pass catches adjacent orphans).
        min_neighbours: only cells with at least this many opaque neighbours are
            considered (5 = interior and edge cells, not corners or sprite tips).
        max_shift: an orphan is recoloured only when the best neighbouring colour is at most
            this much farther (CIELAB distance) from the cell's colour than its own label;
            larger differences are real details (highlights, eyes) and stay.

    Returns:
        int64 ``(h, w)`` cleaned labels (a new array). Thin lines (two or more equal
        neighbours in a row) are never orphans, so contours survive.
    """
    return _kernels.despeckle_labels(
        np.ascontiguousarray(labels, dtype=np.int64), _f64(cells_lab), _f64(palette_lab), int(passes),
        int(min_neighbours), float(max_shift),
    )


def split_alpha(image: np.ndarray, alpha_threshold: int = 128) -> tuple[np.ndarray, np.ndarray | None]:
    """``(H, W, 3|4)`` uint8 -> (RGB view, float32 weight ``(H, W)`` in [0, 1] or None for opaque)."""
    if image.shape[2] == 4:
        return image[..., :3], image[..., 3].astype(np.float32) / 255.0
    return image, None


def pixelate(
    image: np.ndarray,
    pixel_size: int,
    palette: np.ndarray,
    *,
    cleanup: bool = True,
    alpha_threshold: int = 128,
) -> np.ndarray:
    """Downsample ``image`` to one pixel per ``pixel_size`` cell, every pixel a ``palette`` colour.

    Args:
        image: uint8 ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA.
        pixel_size: cell size in pixels, ``1 <= pixel_size <= min(H, W)``.
        palette: uint8 ``(K, 3)``, ``K >= 1``.
        cleanup: remove orphan cells (see :func:`despeckle`).
        alpha_threshold: RGBA only: a cell whose mean alpha is ``>= alpha_threshold``
            is opaque (alpha 255, palette colour), otherwise transparent ``(0, 0, 0, 0)``.

    Returns:
        uint8 ``(ceil(H/p), ceil(W/p), 3)`` (``4`` channels for RGBA input); every opaque
        pixel is exactly one palette colour. See the module docstring for the remainder policy.
    """
    check_image(image)
    pixel_size = check_pixel_size(pixel_size, image.shape)
    palette = check_palette(palette)
    check_alpha_threshold(alpha_threshold)
    rgb, weight = split_alpha(image)
    grid = reduce_cells(rgb, pixel_size, weight=weight)
    pal_lab = srgb_to_lab(palette)
    labels = assign_labels(grid, pal_lab, alpha_threshold=alpha_threshold, cleanup=cleanup)
    return render(labels, palette, with_alpha=image.shape[2] == 4)


def check_alpha_threshold(alpha_threshold: int) -> int:
    """Validate an alpha threshold: an int in [1, 255]; returns it as int."""
    if isinstance(alpha_threshold, bool) or not isinstance(alpha_threshold, (int, np.integer)):
        raise TypeError(f"`alpha_threshold` must be an int in [1, 255], got {alpha_threshold!r}")
    if not 1 <= alpha_threshold <= 255:
        raise ValueError(f"`alpha_threshold` must be in [1, 255], got {alpha_threshold}")
    return int(alpha_threshold)


def opaque_mask(grid: CellGrid, alpha_threshold: int = 128) -> np.ndarray:
    """bool ``(h, w)``: cells whose mean alpha reaches ``alpha_threshold``."""
    return grid.coverage * 255.0 >= alpha_threshold - 1e-3


def assign_labels(
    grid: CellGrid,
    palette_lab: np.ndarray,
    *,
    alpha_threshold: int = 128,
    cleanup: bool = True,
    cells_lab: np.ndarray | None = None,
) -> np.ndarray:
    """Nearest-colour labels for a cell grid -> int64 ``(h, w)``, -1 = transparent.

    ``cells_lab``: optional precomputed float ``(h*w, 3)`` CIELAB of ``grid.colors``.
    """
    h, w = grid.colors.shape[:2]
    if cells_lab is None:
        cells_lab = srgb_to_lab(grid.colors.reshape(-1, 3))
    labels = map_to_palette(cells_lab, palette_lab).reshape(h, w)
    opaque = opaque_mask(grid, alpha_threshold)
    labels[~opaque] = -1
    if cleanup:
        labels = despeckle(labels, cells_lab, palette_lab, max_shift=DESPECKLE_MAX_SHIFT)
    return labels


def render(labels: np.ndarray, palette: np.ndarray, *, with_alpha: bool) -> np.ndarray:
    """int ``(h, w)`` labels (-1 transparent) + uint8 ``(K, 3)`` palette -> uint8 ``(h, w, 3|4)``."""
    h, w = labels.shape
    if with_alpha:
        out = np.zeros((h, w, 4), np.uint8)
        opaque = labels >= 0
        out[opaque, :3] = palette[labels[opaque]]
        out[opaque, 3] = 255
        return out
    if (labels < 0).any():
        raise ValueError("transparent cells cannot be rendered without alpha; pass keep_alpha=True")
    return palette[labels]
