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
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from postprocess.color import check_image, srgb_to_lab
from postprocess.downsampling import check_pixel_size, opaque_mask, render
from postprocess.pipeline import MIN_DELTA_E, fit_cells_palette, label_cells, prepare_cells
from postprocess.settings import PixelArtSettings, resolve_settings

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


def pixelize_frames(
    frames: Iterable[np.ndarray],
    settings: PixelArtSettings | None = None,
    /,
    *,
    on_shot: Callable[[ShotInfo], None] | None = None,
    **overrides: Any,
) -> Iterator[np.ndarray]:
    """Pixelize a stream of frames with a per-shot locked palette and temporal hysteresis.

    Args:
        frames: any iterable of uint8 ``(H, W, 3|4)`` frames, all the same shape; consumed lazily.
        settings: a :class:`~postprocess.settings.PixelArtSettings` (validated here, before the
            first frame is read), or None for the defaults. As in :func:`postprocess.pixelize_image`,
            except: ``n_colors`` / the automatic size are chosen per shot; a fixed ``palette`` is used
            for every shot; no pixel-art restoration, so ``min_delta_e=None`` means
            :data:`postprocess.pipeline.MIN_DELTA_E` (8); ``scene_threshold`` and ``hysteresis``
            drive the shots and the cell hysteresis (see the module docstring).
        on_shot: optional callback called with a :class:`ShotInfo` whenever a shot starts.
        **overrides: fields of :class:`~postprocess.settings.PixelArtSettings` replacing those of
            ``settings`` (``pixel_size=8, n_colors=6, hysteresis=0.0``, ...).

    Yields:
        uint8 ``(ceil(H/p), ceil(W/p), 3|4)`` native frames, one per input frame.

    Raises:
        TypeError, ValueError: an invalid setting or ``frames`` (at the call); an invalid frame
            (when it is reached).
    """
    settings = resolve_settings(settings, overrides)
    if not isinstance(frames, Iterable):
        raise TypeError(f"`frames` must be an iterable of uint8 (H, W, 3|4) arrays, got {type(frames).__name__}")
    return _generate(iter(frames), settings, on_shot)


def _generate(
    frames: Iterator[np.ndarray],
    settings: PixelArtSettings,
    on_shot: Callable[[ShotInfo], None] | None,
) -> Iterator[np.ndarray]:
    fixed = settings.palette
    min_delta_e = MIN_DELTA_E if settings.min_delta_e is None else settings.min_delta_e
    scene_threshold, hysteresis = settings.scene_threshold, settings.hysteresis
    shape = None
    pal = pal_lab = None
    prev_hist = key_hist = None
    anchor = prev_side = None
    h2 = hysteresis * hysteresis
    for index, frame in enumerate(frames):
        try:
            check_image(frame, "frame")
        except (TypeError, ValueError) as err:
            raise type(err)(f"frame {index}: {err}") from None
        if shape is None:
            check_pixel_size(settings.pixel_size, frame.shape)
            shape = frame.shape
        elif frame.shape != shape:
            raise ValueError(
                f"frame {index} has shape {frame.shape} but the clip started with {shape}; "
                "all frames of a clip must have the same size and channels"
            )
        grid, cells_lab, with_alpha, chroma = prepare_cells(frame, settings, prev_side=prev_side, side_band=_SIDE_BAND)
        prev_side = grid.side
        opaque = opaque_mask(grid, settings.alpha_threshold)
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
                pal = fit_cells_palette(grid, settings, min_delta_e, chroma, cells_lab)
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
        labels = label_cells(grid, stable, pal_lab, settings)
        yield render(labels, pal, with_alpha=with_alpha)
