"""Video: frame-by-frame pixel art that does not flicker.

:func:`pixelize_frames` streams: it takes any iterable of frames (a generator reading a
video is fine), yields one native-resolution frame per input frame and keeps only the
previous frame's small per-cell state, so memory stays flat for any clip length.

Temporal stability, three mechanisms:

1. **Per-shot palette.** The palette (and its size) is fitted on the first frame of a
   shot and locked. A new shot starts at a *scene change*: the total-variation distance
   between the coarse colour histograms (4x4x4 RGB bins over the cells) of consecutive
   frames exceeds ``scene_threshold``; or after slow drift, when the distance to the
   shot's first frame exceeds ``2 * scene_threshold``. Histograms ignore where colours
   are, so a pan over the same scene is not a cut.
2. **Cell hysteresis.** Each cell keeps the colour it was last mapped from (its
   *anchor*) until its current colour moves more than ``hysteresis`` (CIELAB distance)
   away from it. Sensor noise (a fraction of a unit per cell) never crosses it, so a
   static noisy scene is frozen; moving content changes cells by far more, so pans
   follow the content, lagging by at most ``hysteresis``.
3. **Side hysteresis** in the edge-aware reduction: a cell only switches which half of
   a contour it follows when the other half's share exceeds 65 %.

Dithering ``"ordered"`` is stable on stable cells; ``"floyd-steinberg"`` propagates
every change along the scan line and flickers more.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from postprocess.color import _check_factor, _check_image, srgb_to_lab
from postprocess.downsampling import check_pixel_size, opaque_mask, render
from postprocess.palette_gen import _check_n_colors, _check_seed
from postprocess.pipeline import (
    PaletteLike,
    _check_options,
    fit_cells_palette,
    label_cells,
    prepare_cells,
    resolve_palette,
)

logger = logging.getLogger(__name__)

__all__ = ["pixelize_frames", "ShotInfo", "color_histogram", "histogram_distance"]

_SIDE_BAND = 0.15


@dataclass(frozen=True)
class ShotInfo:
    """Passed to ``on_shot`` when a shot starts.

    Attributes:
        frame_index: index of the shot's first frame (0-based).
        palette: uint8 ``(K, 3)`` palette locked for the shot.
        reason: ``"first"``, ``"cut"`` (scene change) or ``"drift"`` (slow content change).
    """

    frame_index: int
    palette: np.ndarray
    reason: str


def color_histogram(colors: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Normalised 64-bin (4x4x4 RGB) histogram of float ``(h, w, 3)`` cell colours in [0, 255] -> ``(64,)``."""
    q = np.clip(colors.reshape(-1, 3), 0, 255).astype(np.int64) >> 6
    code = (q[:, 0] << 4) | (q[:, 1] << 2) | q[:, 2]
    if mask is not None:
        code = code[mask.reshape(-1)]
    hist = np.bincount(code, minlength=64).astype(np.float64)
    total = hist.sum()
    return hist / total if total > 0 else hist


def histogram_distance(h1: np.ndarray, h2: np.ndarray) -> float:
    """Total-variation distance between two normalised histograms, in [0, 1]."""
    return float(0.5 * np.abs(h1 - h2).sum())


def _check_video_options(scene_threshold: float, hysteresis: float) -> tuple[float, float]:
    scene_threshold = _check_factor(scene_threshold, "scene_threshold")
    if not 0.0 < scene_threshold <= 1.0:
        raise ValueError(f"`scene_threshold` must be in (0, 1] (histogram distance), got {scene_threshold}")
    hysteresis = _check_factor(hysteresis, "hysteresis")
    return scene_threshold, hysteresis


def pixelize_frames(
    frames: Iterable[np.ndarray],
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
    min_delta_e: float = 8.0,
    scene_threshold: float = 0.3,
    hysteresis: float = 3.0,
    on_shot: Callable[[ShotInfo], None] | None = None,
) -> Iterator[np.ndarray]:
    """Pixelize a stream of frames with a per-shot locked palette and temporal hysteresis.

    Args:
        frames: any iterable of uint8 ``(H, W, 3|4)`` frames, all the same shape; consumed lazily.
        pixel_size, n_colors, palette, dither, saturation, contrast, outline, keep_alpha, seed,
            cleanup, alpha_threshold, min_delta_e: as in :func:`postprocess.pixelize_image`
            (``n_colors`` / the automatic size are chosen per shot; a fixed ``palette`` is used
            for every shot).
        scene_threshold: colour-histogram distance (0..1) between consecutive frames that
            starts a new shot and re-fits the palette.
        hysteresis: CIELAB distance a cell's colour must move before its output may change
            (0 disables: plain per-frame mapping with a locked palette).
        on_shot: optional callback called with a :class:`ShotInfo` whenever a shot starts.

    Yields:
        uint8 ``(ceil(H/p), ceil(W/p), 3|4)`` native frames, one per input frame.
    """
    if isinstance(pixel_size, bool) or not isinstance(pixel_size, (int, np.integer)):
        raise TypeError(f"`pixel_size` must be an int, got {type(pixel_size).__name__} ({pixel_size!r})")
    if pixel_size < 1:
        raise ValueError(f"`pixel_size` must be >= 1, got {pixel_size}")
    n_colors = _check_n_colors(n_colors)
    seed = _check_seed(seed)
    dither, saturation, contrast, outline = _check_options(dither, saturation, contrast, outline, keep_alpha,
                                                           alpha_threshold)
    scene_threshold, hysteresis = _check_video_options(scene_threshold, hysteresis)
    fixed = resolve_palette(palette, n_colors)
    if not isinstance(frames, Iterable):
        raise TypeError(f"`frames` must be an iterable of uint8 (H, W, 3|4) arrays, got {type(frames).__name__}")
    return _generate(
        iter(frames), pixel_size, n_colors, fixed, dither, saturation, contrast, outline, keep_alpha, seed,
        cleanup, alpha_threshold, min_delta_e, scene_threshold, hysteresis, on_shot,
    )


def _generate(
    frames: Iterator[np.ndarray],
    pixel_size: int,
    n_colors: int | None,
    fixed: np.ndarray | None,
    dither: str,
    saturation: float,
    contrast: float,
    outline: float,
    keep_alpha: bool,
    seed: int,
    cleanup: bool,
    alpha_threshold: int,
    min_delta_e: float,
    scene_threshold: float,
    hysteresis: float,
    on_shot: Callable[[ShotInfo], None] | None,
) -> Iterator[np.ndarray]:
    shape = None
    pal = pal_lab = None
    prev_hist = key_hist = None
    anchor = prev_side = None
    h2 = hysteresis * hysteresis
    for index, frame in enumerate(frames):
        try:
            _check_image(frame, "frame")
        except (TypeError, ValueError) as err:
            raise type(err)(f"frame {index}: {err}") from None
        if shape is None:
            pixel_size = check_pixel_size(pixel_size, frame.shape)
            shape = frame.shape
        elif frame.shape != shape:
            raise ValueError(
                f"frame {index} has shape {frame.shape} but the clip started with {shape}; "
                "all frames of a clip must have the same size and channels"
            )
        grid, cells_lab, with_alpha, chroma = prepare_cells(
            frame, pixel_size, saturation=saturation, contrast=contrast, outline=outline, keep_alpha=keep_alpha,
            prev_side=prev_side, side_band=_SIDE_BAND,
        )
        prev_side = grid.side
        opaque = opaque_mask(grid, alpha_threshold)
        hist = color_histogram(grid.colors, opaque)
        reason = None
        if prev_hist is None:
            reason = "first"
        elif histogram_distance(hist, prev_hist) > scene_threshold:
            reason = "cut"
        elif histogram_distance(hist, key_hist) > 2.0 * scene_threshold:
            reason = "drift"
        prev_hist = hist
        if reason is not None:
            key_hist = hist
            anchor = None
            if fixed is not None:
                pal = fixed
            elif opaque.any():
                pal = fit_cells_palette(grid, n_colors, seed, alpha_threshold, min_delta_e, chroma, cells_lab)
            elif pal is None:
                pal = np.zeros((1, 3), np.uint8)  # fully transparent opening frame: any colour, never shown
            pal_lab = srgb_to_lab(pal)
            logger.debug("frame %d: new shot (%s), %d colours", index, reason, len(pal))
            if on_shot is not None:
                on_shot(ShotInfo(index, pal.copy(), reason))
        if hysteresis > 0:
            if anchor is None:
                anchor = cells_lab.copy()
            else:
                moved = ((cells_lab - anchor) ** 2).sum(axis=1) > h2
                anchor[moved] = cells_lab[moved]
            stable = anchor
        else:
            stable = cells_lab
        labels = label_cells(grid, stable, pal_lab, dither=dither, cleanup=cleanup, alpha_threshold=alpha_threshold)
        yield render(labels, pal, with_alpha=with_alpha)
