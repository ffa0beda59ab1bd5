"""The post-processing settings, defined once: :class:`PixelArtSettings`.

One frozen record holds every knob of :func:`postprocess.pixelize_image`,
:func:`postprocess.pixelize_image_with_palette` and :func:`postprocess.pixelize_frames`, with its
default and its validation. Build it once (``PixelArtSettings(pixel_size=4).validate()``, or
``settings.replace(n_colors=6)``) and pass it to any of them; they also take the field names as
keyword overrides::

    settings = PixelArtSettings(pixel_size=4, dither="ordered").validate()
    art = pixelize_image(image, settings)
    art = pixelize_image(image, settings, n_colors=6)   # a validated copy with n_colors=6
    art = pixelize_image(image, pixel_size=4)           # the defaults plus pixel_size=4

The one check that needs the image (``pixel_size <= min(H, W)``) is made by the functions that see it.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from postprocess.color import check_factor
from postprocess.dither import DitherMode, check_dither
from postprocess.downsampling import check_alpha_threshold, check_palette, check_pixel_size
from postprocess.palette_gen import check_n_colors, check_seed
from postprocess.palette_io import load_palette

__all__ = ["PixelArtSettings", "PaletteLike", "DitherMode", "resolve_settings"]

#: A fixed palette: a uint8 ``(K, 3)`` array or a palette file (``.gpl``/``.hex``/``.pal``/``.png``).
PaletteLike = np.ndarray | str | os.PathLike | None


@dataclass(frozen=True, eq=False)
class PixelArtSettings:
    """Every post-processing setting, with its default; :meth:`validate` checks and normalises them.

    Attributes:
        pixel_size: cell size in input pixels, ``1 <= pixel_size <= min(H, W)`` (the upper bound is
            checked against each image). Remainder policy: ``ceil`` with partial last cells (see
            :mod:`postprocess.downsampling`).
        n_colors: palette size to fit (upper bound), or None for automatic (hue histogram + grey
            content). Must be None when ``palette`` is given. Video: chosen per shot.
        palette: fixed palette: uint8 ``(K, 3)`` array or a ``.gpl``/``.hex``/``.pal``/``.png`` file
            (:meth:`validate` loads the file once). Video: used for every shot.
        dither: ``"none"`` (default), ``"ordered"`` or ``"floyd-steinberg"`` (:meth:`validate` also
            accepts ``"floyd_steinberg"`` and ``"fs"`` and stores the canonical name).
        saturation: chroma factor applied to the cells before the palette (1 = unchanged).
        contrast: ``L*`` contrast factor (1 = unchanged).
        outline: outline emphasis strength in [0, 1] (0 = off).
        keep_alpha: RGBA in -> RGBA out with binary alpha; False composites over white.
        seed: palette fitting seed; same input + seed -> identical output.
        cleanup: remove orphan (isolated) cells; ignored when dithering.
        alpha_threshold: a cell is opaque when its mean alpha is ``>= alpha_threshold``, in [1, 255].
        min_delta_e: CIEDE2000 separation the fitted palette aims for; None (default) chooses it from
            the content: :data:`postprocess.pipeline.MIN_DELTA_E` (8) for photos,
            :data:`postprocess.pipeline.PIXEL_ART_MIN_DELTA_E` for a recognised render of pixel art
            (see :mod:`postprocess.downsampling`). Video never restores pixel art: None means 8 there.
        vivid: give the fitted palette back the chroma that averaging pixels into cells removed
            (usage-weighted chroma about the original photo's); False keeps the plain cluster centres,
            which are closer to the area-averaged colours but duller.
        scene_threshold: video only: colour-histogram distance in (0, 1] between consecutive frames
            that starts a new shot and re-fits the palette.
        hysteresis: video only: CIELAB distance a cell's colour must move before its output may change
            (0 disables: plain per-frame mapping with a locked palette).
    """

    pixel_size: int = 8
    n_colors: int | None = None
    palette: PaletteLike = None
    dither: DitherMode = "none"
    saturation: float = 1.0
    contrast: float = 1.0
    outline: float = 0.0
    keep_alpha: bool = True
    seed: int = 0
    cleanup: bool = True
    alpha_threshold: int = 128
    min_delta_e: float | None = None
    vivid: bool = True
    scene_threshold: float = 0.3
    hysteresis: float = 3.0

    def validate(self) -> PixelArtSettings:
        """Check every field -> a normalised copy (Python ints and floats, the canonical dither name,
        the palette as a read-only uint8 ``(K, 3)`` array, loaded if it was a file). Idempotent.

        Raises:
            TypeError: a field of the wrong type; the message names it in backticks.
            ValueError: a field out of range, or both ``n_colors`` and ``palette`` given.

            Either error carries the field's name as ``err.setting`` (e.g. ``"palette"`` for a
            palette file that cannot be read), so a caller can name its own flag for it.
        """
        pixel_size = _named("pixel_size", check_pixel_size, self.pixel_size)
        n_colors = _named("n_colors", check_n_colors, self.n_colors)
        seed = _named("seed", check_seed, self.seed)
        dither = _named("dither", check_dither, self.dither)
        saturation = _named("saturation", check_factor, self.saturation, "saturation")
        contrast = _named("contrast", check_factor, self.contrast, "contrast")
        outline = _named("outline", _check_outline, self.outline)
        keep_alpha = _named("keep_alpha", _check_bool, self.keep_alpha, "keep_alpha")
        cleanup = _named("cleanup", _check_bool, self.cleanup, "cleanup")
        alpha_threshold = _named("alpha_threshold", check_alpha_threshold, self.alpha_threshold)
        vivid = _named("vivid", _check_bool, self.vivid, "vivid")
        min_delta_e = _named("min_delta_e", _check_min_delta_e, self.min_delta_e)
        scene_threshold = _named("scene_threshold", _check_scene_threshold, self.scene_threshold)
        hysteresis = _named("hysteresis", check_factor, self.hysteresis, "hysteresis")
        palette = _named("palette", _check_palette, self.palette, n_colors)
        return PixelArtSettings(
            pixel_size=pixel_size, n_colors=n_colors, palette=palette, dither=dither, saturation=saturation,
            contrast=contrast, outline=outline, keep_alpha=keep_alpha, seed=seed, cleanup=cleanup,
            alpha_threshold=alpha_threshold, min_delta_e=min_delta_e, vivid=vivid,
            scene_threshold=scene_threshold, hysteresis=hysteresis,
        )

    def replace(self, **changes: Any) -> PixelArtSettings:
        """A validated copy with ``changes`` (field names) applied.

        Raises:
            TypeError: an unknown name (the message lists the valid ones), or a field of the wrong type.
            ValueError: a field out of range.
        """
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise TypeError(
                f"unknown pixel-art setting(s) {', '.join(unknown)}; valid names: {', '.join(field_names())}"
            )
        return dataclasses.replace(self, **changes).validate()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PixelArtSettings):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        """The field values, an array palette replaced by its dtype, shape and bytes (arrays do not compare)."""
        values = []
        for name in field_names():
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value = ("ndarray", str(value.dtype), value.shape, value.tobytes())
            values.append(value)
        return tuple(values)


def field_names() -> tuple[str, ...]:
    """The names of the :class:`PixelArtSettings` fields, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(PixelArtSettings))


def resolve_settings(settings: PixelArtSettings | None, overrides: dict[str, Any]) -> PixelArtSettings:
    """The validated record for a call ``f(x, settings, **overrides)`` of the pixelize functions."""
    if settings is None:
        settings = PixelArtSettings()
    elif not isinstance(settings, PixelArtSettings):
        hint = f"pixel_size={settings!r}" if isinstance(settings, (int, np.integer)) else "pixel_size=..."
        raise TypeError(
            "the argument after the image must be a PixelArtSettings or None, got "
            f"{type(settings).__name__} ({settings!r}); pass settings by name, e.g. {hint}"
        )
    return settings.replace(**overrides) if overrides else settings.validate()


def _named(name: str, check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``; a TypeError/ValueError it raises gets ``.setting = name``."""
    try:
        return check(*args)
    except (TypeError, ValueError) as err:
        err.setting = name  # type: ignore[attr-defined]
        raise


def _check_outline(outline: float) -> float:
    outline = check_factor(outline, "outline")
    if outline > 1.0:
        raise ValueError(f"`outline` must be in [0, 1] (0 = off), got {outline}")
    return outline


def _check_scene_threshold(scene_threshold: float) -> float:
    scene_threshold = check_factor(scene_threshold, "scene_threshold")
    if not 0.0 < scene_threshold <= 1.0:
        raise ValueError(f"`scene_threshold` must be in (0, 1] (histogram distance), got {scene_threshold}")
    return scene_threshold


def _check_palette(palette: PaletteLike, n_colors: int | None) -> np.ndarray | None:
    """None, or a read-only uint8 ``(K, 3)`` array (a file is loaded; a validated array is kept as is)."""
    if palette is None:
        return None
    if n_colors is not None:
        raise ValueError(
            "give either `palette` (fixed colours) or `n_colors` (fitted palette size), not both; "
            f"got n_colors={n_colors}"
        )
    if isinstance(palette, (str, os.PathLike)):
        palette = load_palette(palette)
    palette = check_palette(palette)
    if palette.flags.writeable:  # a private copy: the frozen record must not change under its holder
        palette = palette.copy()
        palette.flags.writeable = False
    return palette


def _check_bool(value: bool, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {value!r}")
    return bool(value)


def _check_min_delta_e(min_delta_e: float | None) -> float | None:
    if min_delta_e is None:
        return None
    if isinstance(min_delta_e, bool) or not isinstance(min_delta_e, (int, float, np.integer, np.floating)):
        raise TypeError(f"`min_delta_e` must be a number >= 0 or None (automatic), got {min_delta_e!r}")
    if not np.isfinite(min_delta_e) or min_delta_e < 0:
        raise ValueError(f"`min_delta_e` must be a finite number >= 0 or None (automatic), got {min_delta_e}")
    return float(min_delta_e)
