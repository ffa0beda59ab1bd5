"""Turn collected pixel-art posts into clean domain-B training images.

Usage::

    python -m datasets.pixelart_extraction SRC DST --size 256 [--pixel_size N] [--domain B]
        [--test_fraction 0.1] [--seed 0] [--limit N] [--colour_tol 12] [--min_confidence 0.6]

For every image under ``SRC`` (recursively): crop the uniform margins around the artwork
(:func:`find_content_box`), detect its native pixel grid (:func:`datasets.grid_detect.detect_grid`,
or take ``--pixel_size``), reduce it to one pixel per cell (per-cell median, never a blend),
merge the near-duplicate colours that JPEG noise leaves (``--colour_tol``), pad it to a square with the background colour and scale it up by the largest integer factor
that fits ``--size`` (nearest neighbour, so every cell stays square and uniform), centring it on
a ``--size`` canvas of the background colour. Images whose grid is not found with at least
``--min_confidence`` are reported and skipped instead of being blurred.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run by path: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from datasets.coco_preprocessing import Rejected, plan_jobs, run_batch
from options.types import fraction, positive_int
from datasets.grid_detect import GridInfo, detect_grid, reduce_to_native

logger = logging.getLogger(__name__)

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
    (A majority, not all: the line may cross a neighbouring margin of another colour.)"""
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
        raise Rejected(f"grid not found (best guess: cell {grid.cell} px, confidence {grid.confidence:.2f} < "
                       f"--min_confidence {min_confidence}); pass --pixel_size N if it is pixel art")
    native = merge_similar_colours(reduce_to_native(art, grid), colour_tol)
    out = fit_to_canvas(native, size, background_colour(img, box))
    return Extraction(out, native, grid, box)


def build_parser() -> argparse.ArgumentParser:
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
    try:
        if not 0.0 <= args.min_confidence <= 1.0:
            raise ValueError(f"--min_confidence must be in [0, 1], got {args.min_confidence}")
        if args.colour_tol < 0:
            raise ValueError(f"--colour_tol must be >= 0, got {args.colour_tol}")
        jobs = plan_jobs(args.src, args.dst, args.domain, args.test_fraction, args.seed, args.limit)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    def convert(img: np.ndarray) -> np.ndarray:
        return extract_pixel_art(img, args.size, pixel_size=args.pixel_size, min_confidence=args.min_confidence,
                                 colour_tol=args.colour_tol).image

    result = run_batch(jobs, convert, "pixelart_extraction")
    print(f"{result.summary()} -> {args.dst}")
    return 1 if result.failed or result.written == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
