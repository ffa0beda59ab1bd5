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
import os

import cv2
import numpy as np

from postprocess.color import _check_factor, _check_image, adjust_lab, lab_chroma, lab_to_srgb, srgb_to_lab
from postprocess.dither import check_dither, dither_labels
from postprocess.downsampling import (
    DESPECKLE_MAX_SHIFT,
    CellGrid,
    _check_alpha_threshold,
    despeckle,
    assign_labels,
    check_palette,
    clean_halftones,
    check_pixel_size,
    opaque_mask,
    reduce_cells,
    render,
    restore_pixel_art,
)
from postprocess.palette_gen import _check_n_colors, _check_seed, fit_palette
from postprocess.palette_io import load_palette

logger = logging.getLogger(__name__)

__all__ = ["pixelize_image", "pixelize_image_with_palette", "upscale", "PaletteLike"]

PaletteLike = np.ndarray | str | os.PathLike | None

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


def resolve_palette(palette: PaletteLike, n_colors: int | None) -> np.ndarray | None:
    """Validate the ``palette`` argument: None, a uint8 ``(K, 3)`` array or a palette file path."""
    if palette is None:
        return None
    if n_colors is not None:
        raise ValueError(
            "give either `palette` (fixed colours) or `n_colors` (fitted palette size), not both; "
            f"got n_colors={n_colors}"
        )
    if isinstance(palette, (str, os.PathLike)):
        return load_palette(palette)
    return check_palette(palette)


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


def _check_min_delta_e(min_delta_e: float | None) -> float | None:
    if min_delta_e is None:
        return None
    if isinstance(min_delta_e, bool) or not isinstance(min_delta_e, (int, float, np.integer, np.floating)):
        raise TypeError(f"`min_delta_e` must be a number >= 0 or None (automatic), got {min_delta_e!r}")
    if not np.isfinite(min_delta_e) or min_delta_e < 0:
        raise ValueError(f"`min_delta_e` must be a finite number >= 0 or None (automatic), got {min_delta_e}")
    return float(min_delta_e)


def _check_options(
    dither: str, saturation: float, contrast: float, outline: float, keep_alpha: bool, alpha_threshold: int
) -> tuple[str, float, float, float]:
    dither = check_dither(dither)
    saturation = _check_factor(saturation, "saturation")
    contrast = _check_factor(contrast, "contrast")
    outline = _check_factor(outline, "outline")
    if outline > 1.0:
        raise ValueError(f"`outline` must be in [0, 1] (0 = off), got {outline}")
    if not isinstance(keep_alpha, (bool, np.bool_)):
        raise TypeError(f"`keep_alpha` must be a bool, got {keep_alpha!r}")
    _check_alpha_threshold(alpha_threshold)
    return dither, saturation, contrast, outline


def prepare_cells(
    image: np.ndarray,
    pixel_size: int,
    *,
    saturation: float,
    contrast: float,
    outline: float,
    keep_alpha: bool,
    prev_side: np.ndarray | None = None,
    side_band: float = 0.0,
) -> tuple[CellGrid, np.ndarray, bool, float]:
    """Steps 1-4: (cell grid, float64 ``(h*w, 3)`` CIELAB cell colours after colour shifting,
    whether the output carries alpha, estimated mean chroma of the original pixels).
    No pixel-art restoration (the video path: its per-frame decision could flicker)."""
    grid, cells_lab, with_alpha, chroma, _ = _prepare_cells(
        image, pixel_size, saturation=saturation, contrast=contrast, outline=outline, keep_alpha=keep_alpha,
        prev_side=prev_side, side_band=side_band, restore=False,
    )
    return grid, cells_lab, with_alpha, chroma


def _prepare_cells(
    image: np.ndarray,
    pixel_size: int,
    *,
    saturation: float,
    contrast: float,
    outline: float,
    keep_alpha: bool,
    prev_side: np.ndarray | None = None,
    side_band: float = 0.0,
    restore: bool = True,
) -> tuple[CellGrid, np.ndarray, bool, float, float]:
    """:func:`prepare_cells` plus, with ``restore``, the pixel-art restoration; the fifth value is
    the restoration strength (0 = not pixel art)."""
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
    rgb = emphasize_outlines(rgb, pixel_size, outline)
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
    n_colors: int | None,
    seed: int,
    alpha_threshold: int,
    min_delta_e: float,
    chroma_target: float | None = None,
    cells_lab: np.ndarray | None = None,
    *,
    vivid: bool = True,
) -> np.ndarray:
    """Fit a palette to the opaque cells of ``grid`` (weighted by coverage) -> uint8 ``(K, 3)``.

    ``cells_lab``: optional float64 ``(h*w, 3)`` CIELAB of the cells (from :func:`prepare_cells`).
    ``vivid``: restore chroma (see :func:`postprocess.palette_gen.fit_palette`).
    """
    opaque = opaque_mask(grid, alpha_threshold)
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
        samples, weights.astype(np.float64), n_colors, seed=seed, min_delta_e=min_delta_e,
        vivid=vivid, chroma_target=chroma_target, lab=lab,
    )


def label_cells(
    grid: CellGrid,
    cells_lab: np.ndarray,
    palette_lab: np.ndarray,
    *,
    dither: str,
    cleanup: bool,
    alpha_threshold: int,
) -> np.ndarray:
    """Step 6: int64 ``(h, w)`` palette indices, -1 for transparent cells."""
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
    image: np.ndarray,
    pixel_size: int = 8,
    n_colors: int | None = None,
    palette: PaletteLike = None,
    *,
    dither: str = "none",
    saturation: float = 1.0,
    contrast: float = 1.0,
    outline: float = 0.0,
    keep_alpha: bool = True,
    seed: int = 0,
    cleanup: bool = True,
    alpha_threshold: int = 128,
    min_delta_e: float | None = None,
    vivid: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`pixelize_image` but also returns the palette used.

    Returns:
        ``(pixel_art, palette)``: uint8 ``(H', W', 3|4)`` and uint8 ``(K, 3)``. For a fitted
        palette ``K <= n_colors``; for a given palette it is that palette unchanged (some
        entries may be unused).
    """
    _check_image(image)
    pixel_size = check_pixel_size(pixel_size, image.shape)
    n_colors = _check_n_colors(n_colors)
    seed = _check_seed(seed)
    dither, saturation, contrast, outline = _check_options(dither, saturation, contrast, outline, keep_alpha,
                                                           alpha_threshold)
    if not isinstance(vivid, (bool, np.bool_)):
        raise TypeError(f"`vivid` must be a bool, got {vivid!r}")
    min_delta_e = _check_min_delta_e(min_delta_e)
    fixed = resolve_palette(palette, n_colors)
    grid, cells_lab, with_alpha, chroma, strength = _prepare_cells(
        image, pixel_size, saturation=saturation, contrast=contrast, outline=outline, keep_alpha=keep_alpha
    )
    if min_delta_e is None:
        min_delta_e = PIXEL_ART_MIN_DELTA_E if strength > 0 else MIN_DELTA_E
    if fixed is not None:
        pal = fixed
    else:
        pal = fit_cells_palette(grid, n_colors, seed, alpha_threshold, min_delta_e, chroma, cells_lab, vivid=vivid)
    labels = label_cells(
        grid, cells_lab, srgb_to_lab(pal), dither=dither, cleanup=cleanup, alpha_threshold=alpha_threshold
    )
    return render(labels, pal, with_alpha=with_alpha), pal


def pixelize_image(
    image: np.ndarray,
    pixel_size: int = 8,
    n_colors: int | None = None,
    palette: PaletteLike = None,
    *,
    dither: str = "none",
    saturation: float = 1.0,
    contrast: float = 1.0,
    outline: float = 0.0,
    keep_alpha: bool = True,
    seed: int = 0,
    cleanup: bool = True,
    alpha_threshold: int = 128,
    min_delta_e: float | None = None,
    vivid: bool = True,
) -> np.ndarray:
    """Turn any RGB(A) image into native-resolution pixel art (one pixel per cell).

    Args:
        image: uint8 ``(H, W, 3)`` or ``(H, W, 4)``.
        pixel_size: cell size in input pixels, ``1 <= pixel_size <= min(H, W)``.
            Remainder policy: ``ceil`` with partial last cells (see :mod:`postprocess.downsampling`).
        n_colors: palette size to fit (upper bound), or None for automatic (hue histogram
            + grey content). Must be None when ``palette`` is given.
        palette: fixed palette: uint8 ``(K, 3)`` array or a ``.gpl``/``.hex``/``.pal``/``.png`` file.
        dither: ``"none"`` (default), ``"ordered"`` or ``"floyd-steinberg"``.
        saturation: chroma factor applied to the cells before the palette (1 = unchanged).
        contrast: ``L*`` contrast factor (1 = unchanged).
        outline: outline emphasis strength in [0, 1] (0 = off).
        keep_alpha: RGBA in -> RGBA out with binary alpha; False composites over white.
        seed: palette fitting seed; same input + seed -> identical output.
        cleanup: remove orphan (isolated) cells; ignored when dithering.
        alpha_threshold: a cell is opaque when its mean alpha is ``>= alpha_threshold``.
        min_delta_e: CIEDE2000 separation the fitted palette aims for; None (default) chooses it
            from the content: :data:`MIN_DELTA_E` (8) for photos, :data:`PIXEL_ART_MIN_DELTA_E` for
            a recognised render of pixel art (see :mod:`postprocess.downsampling`).
        vivid: give the fitted palette back the chroma that averaging pixels into cells removed
            (usage-weighted chroma about the original photo's); False keeps the plain cluster
            centres, which are closer to the area-averaged colours but duller.

    Returns:
        uint8 ``(ceil(H/p), ceil(W/p), 3)``, or ``4`` channels for RGBA input with
        ``keep_alpha``; transparent cells are ``(0, 0, 0, 0)``.
    """
    out, _ = pixelize_image_with_palette(
        image,
        pixel_size,
        n_colors,
        palette,
        dither=dither,
        saturation=saturation,
        contrast=contrast,
        outline=outline,
        keep_alpha=keep_alpha,
        seed=seed,
        cleanup=cleanup,
        alpha_threshold=alpha_threshold,
        min_delta_e=min_delta_e,
        vivid=vivid,
    )
    return out


