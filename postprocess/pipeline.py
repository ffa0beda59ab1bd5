"""One-call pipeline: image -> native-resolution pixel art (+ the palette used), and display upscaling.

Steps of :func:`pixelize_image`:

1. alpha split (RGBA cells with mean alpha below ``alpha_threshold`` become transparent);
2. optional outline emphasis (contrast-aware dark-detail expansion, full resolution);
3. edge-aware reduction to the cell grid (:mod:`postprocess.downsampling`); a smooth render of
   pixel art is recognised from its content and its cells are restored (sharp central-window
   colours, a palette separation of :data:`PIXEL_ART_MIN_DELTA_E`), photos are left as they are;
4. optional colour shifting of the cells (chroma ``saturation``, ``L*`` ``contrast``);
5. the palette: given (array or file) or fitted on the cell colours (:mod:`postprocess.palette_gen`);
6. mapping to the palette (nearest CIEDE2000, or dithering), then anti-aliasing half-tone cleanup
   and orphan cleanup.

Nothing recolours after step 6: every opaque output pixel is a palette colour.
"""
from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np

from postprocess.color import adjust_lab, check_image, lab_chroma, lab_to_srgb, srgb_to_lab
from postprocess.dither import dither_labels
from postprocess.downsampling import (
    DESPECKLE_MAX_SHIFT,
    CellGrid,
    assign_labels,
    check_pixel_size,
    clean_halftones,
    despeckle,
    opaque_mask,
    reduce_cells,
    render,
    restore_pixel_art,
)
from postprocess.palette_gen import fit_palette
from postprocess.settings import PaletteLike, PixelArtSettings, resolve_settings

logger = logging.getLogger(__name__)

__all__ = ["pixelize_image", "pixelize_image_with_palette", "upscale", "PaletteLike", "PixelArtSettings"]

#: Palette separation (CIEDE2000) when ``min_delta_e`` is None (automatic): photos ...
MIN_DELTA_E = 8.0
#: ... and recognised pixel art, whose own shading ramps hold colours closer than 8.
PIXEL_ART_MIN_DELTA_E = 3.0


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Integer nearest-neighbour upscale for display: every pixel becomes a ``factor x factor`` block.

    Args:
        image: uint8 ``(H, W, C)`` (any channel count).
        factor: int ``>= 1``.

    Returns:
        uint8 ``(H * factor, W * factor, C)``.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"`image` must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"`image` must be uint8, got dtype {image.dtype}")
    if image.ndim != 3:
        raise ValueError(f"`image` must have shape (H, W, C), got {image.shape}")
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)):
        raise TypeError(f"`factor` must be an int >= 1, got {factor!r}")
    if factor < 1:
        raise ValueError(f"`factor` must be >= 1, got {factor}")
    if factor == 1:
        return image.copy()
    return np.repeat(np.repeat(image, int(factor), axis=0), int(factor), axis=1)


def emphasize_outlines(rgb: np.ndarray, pixel_size: int, strength: float) -> np.ndarray:
    """Contrast-aware dark-detail expansion so thin dark lines survive the cell reduction.

    Pixels that have a much darker pixel within ``round(strength * pixel_size / 2)``
    take (a blend towards) that neighbourhood's minimum colour; flat areas are unchanged.

    Args:
        rgb: uint8 ``(H, W, 3)``.
        pixel_size: cell size.
        strength: in [0, 1]; 0 returns ``rgb`` unchanged.

    Returns:
        uint8 ``(H, W, 3)``.
    """
    radius = int(round(strength * pixel_size / 2.0))
    if strength <= 0 or radius < 1:
        return rgb
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ymin = cv2.erode(y, kernel)
    dark = cv2.erode(rgb, kernel).astype(np.float32)
    wgt = np.clip((y - ymin - 24.0) / 40.0, 0.0, 1.0) * min(1.0, 2.0 * strength)
    out = rgb.astype(np.float32) * (1.0 - wgt[..., None]) + dark * wgt[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def prepare_cells(
    image: np.ndarray,
    settings: PixelArtSettings,
    *,
    prev_side: np.ndarray | None = None,
    side_band: float = 0.0,
) -> tuple[CellGrid, np.ndarray, bool, float]:
    """Steps 1-4: (cell grid, float64 ``(h*w, 3)`` CIELAB cell colours after colour shifting,
    whether the output carries alpha, estimated mean chroma of the original pixels).
    No pixel-art restoration (the video path: its per-frame decision could flicker).

    ``settings`` is validated and its ``pixel_size`` checked against ``image``."""
    grid, cells_lab, with_alpha, chroma, _ = _prepare_cells(
        image, settings, prev_side=prev_side, side_band=side_band, restore=False
    )
    return grid, cells_lab, with_alpha, chroma


def _prepare_cells(
    image: np.ndarray,
    settings: PixelArtSettings,
    *,
    prev_side: np.ndarray | None = None,
    side_band: float = 0.0,
    restore: bool = True,
) -> tuple[CellGrid, np.ndarray, bool, float, float]:
    """:func:`prepare_cells` plus, with ``restore``, the pixel-art restoration; the fifth value is
    the restoration strength (0 = not pixel art)."""
    pixel_size, keep_alpha = settings.pixel_size, settings.keep_alpha
    saturation, contrast = settings.saturation, settings.contrast
    with_alpha = image.shape[2] == 4 and keep_alpha
    if image.shape[2] == 4:
        alpha = image[..., 3]
        if keep_alpha:
            rgb = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGBA2RGB)  # contiguous, alpha dropped
            weight = None if bool((alpha == 255).all()) else alpha.astype(np.float32) / 255.0
        else:
            a = alpha.astype(np.float32)[..., None] / 255.0
            rgb = np.clip(np.rint(image[..., :3] * a + 255.0 * (1.0 - a)), 0, 255).astype(np.uint8)
            weight = None
    else:
        rgb, weight = image, None
    rgb = np.ascontiguousarray(rgb)
    rgb = emphasize_outlines(rgb, pixel_size, settings.outline)
    grid = reduce_cells(rgb, pixel_size, weight=weight, prev_side=prev_side, side_band=side_band)
    strength = 0.0
    if restore:
        grid, strength = restore_pixel_art(rgb, grid, pixel_size, weight, grid.coverage >= 0.5)
    chroma = pixel_chroma(rgb, pixel_size, weight) * saturation
    if saturation != 1.0 or contrast != 1.0:
        cells_lab = adjust_lab(srgb_to_lab(grid.colors.reshape(-1, 3)), saturation, contrast)
        rgb_cells = lab_to_srgb(cells_lab, as_uint8=False).astype(np.float32)
        grid = grid._replace(colors=rgb_cells.reshape(grid.colors.shape))
    cells_lab = srgb_to_lab(grid.colors.reshape(-1, 3))
    return grid, cells_lab, with_alpha, chroma, strength


def pixel_chroma(rgb: np.ndarray, pixel_size: int, weight: np.ndarray | None = None) -> float:
    """Mean C*ab of the original pixels, estimated from one pixel per cell (the cell centres)."""
    c = pixel_size // 2
    sample = rgb[c::pixel_size, c::pixel_size].reshape(-1, 3)
    if weight is not None:
        sample = sample[weight[c::pixel_size, c::pixel_size].reshape(-1) >= 0.5]
    if len(sample) == 0:
        return 0.0
    return float(lab_chroma(srgb_to_lab(sample)).mean())


def fit_cells_palette(
    grid: CellGrid,
    settings: PixelArtSettings,
    min_delta_e: float,
    chroma_target: float | None = None,
    cells_lab: np.ndarray | None = None,
) -> np.ndarray:
    """Fit a palette to the opaque cells of ``grid`` (weighted by coverage) -> uint8 ``(K, 3)``.

    ``settings``: validated; its ``n_colors``, ``seed``, ``alpha_threshold`` and ``vivid`` are used.
    ``min_delta_e``: the separation to aim for (``settings.min_delta_e`` resolved by the caller).
    ``cells_lab``: optional float64 ``(h*w, 3)`` CIELAB of the cells (from :func:`prepare_cells`).
    """
    opaque = opaque_mask(grid, settings.alpha_threshold)
    if not opaque.any():
        raise ValueError(
            "the image is fully transparent (no cell reaches `alpha_threshold`); nothing to fit a palette to"
        )
    if opaque.all():  # the common case: no boolean-mask copies
        colors, weights, lab = grid.colors.reshape(-1, 3), grid.coverage.reshape(-1), cells_lab
    else:
        colors, weights = grid.colors[opaque], grid.coverage[opaque]
        lab = None if cells_lab is None else cells_lab[opaque.reshape(-1)]
    samples = np.rint(colors).clip(0, 255).astype(np.uint8)
    return fit_palette(
        samples, weights.astype(np.float64), settings.n_colors, seed=settings.seed, min_delta_e=min_delta_e,
        vivid=settings.vivid, chroma_target=chroma_target, lab=lab,
    )


def label_cells(
    grid: CellGrid, cells_lab: np.ndarray, palette_lab: np.ndarray, settings: PixelArtSettings
) -> np.ndarray:
    """Step 6: int64 ``(h, w)`` palette indices, -1 for transparent cells (``settings``' ``dither``,
    ``cleanup`` and ``alpha_threshold``)."""
    dither, cleanup, alpha_threshold = settings.dither, settings.cleanup, settings.alpha_threshold
    if dither == "none":
        labels = assign_labels(grid, palette_lab, alpha_threshold=alpha_threshold, cleanup=False,
                               cells_lab=cells_lab)
        if cleanup:
            labels = clean_halftones(labels, cells_lab, palette_lab)
            labels = despeckle(labels, cells_lab, palette_lab, max_shift=DESPECKLE_MAX_SHIFT)
        return labels
    h, w = grid.colors.shape[:2]
    return dither_labels(cells_lab.reshape(h, w, 3), palette_lab, dither, opaque_mask(grid, alpha_threshold))


def pixelize_image_with_palette(
    image: np.ndarray, settings: PixelArtSettings | None = None, /, **overrides: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`pixelize_image` but also returns the palette used.

    Returns:
        ``(pixel_art, palette)``: uint8 ``(H', W', 3|4)`` and uint8 ``(K, 3)``. For a fitted
        palette ``K <= n_colors``; for a given palette it is (a copy of) that palette unchanged
        (some entries may be unused).
    """
    check_image(image)
    settings = resolve_settings(settings, overrides)
    check_pixel_size(settings.pixel_size, image.shape)
    grid, cells_lab, with_alpha, chroma, strength = _prepare_cells(image, settings)
    min_delta_e = settings.min_delta_e
    if min_delta_e is None:
        min_delta_e = PIXEL_ART_MIN_DELTA_E if strength > 0 else MIN_DELTA_E
    if settings.palette is not None:
        pal = np.array(settings.palette)  # the record's palette is read-only: the caller gets its own
    else:
        pal = fit_cells_palette(grid, settings, min_delta_e, chroma, cells_lab)
    labels = label_cells(grid, cells_lab, srgb_to_lab(pal), settings)
    return render(labels, pal, with_alpha=with_alpha), pal


def pixelize_image(image: np.ndarray, settings: PixelArtSettings | None = None, /, **overrides: Any) -> np.ndarray:
    """Turn any RGB(A) image into native-resolution pixel art (one pixel per cell).

    Args:
        image: uint8 ``(H, W, 3)`` or ``(H, W, 4)``.
        settings: a :class:`~postprocess.settings.PixelArtSettings` (validated here), or None for
            the defaults. Its ``pixel_size`` must be ``<= min(H, W)``; ``scene_threshold`` and
            ``hysteresis`` (video only) are ignored.
        **overrides: fields of :class:`~postprocess.settings.PixelArtSettings` replacing those of
            ``settings`` (``pixel_size=4, n_colors=6, palette="p.gpl", dither="ordered"``, ...).

    Returns:
        uint8 ``(ceil(H/p), ceil(W/p), 3)``, or ``4`` channels for RGBA input with
        ``keep_alpha``; transparent cells are ``(0, 0, 0, 0)``.

    Raises:
        TypeError, ValueError: an invalid image or setting (the message names it), or an unknown
            override name.
    """
    out, _ = pixelize_image_with_palette(image, settings, **overrides)
    return out
