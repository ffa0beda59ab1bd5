"""Square and resize a folder of photos (e.g. COCO) into a CycleGAN domain-A dataset.

Usage::

    python -m datasets.coco_preprocessing SRC DST --size 256 [--mode center|pad] [--pad_color white]
        [--limit N] [--seed 0] [--test_fraction 0.1]

Every image under ``SRC`` (recursively, any letter case of extension) is squared (centre crop,
or padding with ``--pad_color``), resized to ``--size`` (INTER_AREA when shrinking, bicubic when
enlarging) and written as PNG to ``DST/trainA`` or ``DST/testA``. The split depends only on the
sorted relative paths and ``--seed``, never on file-system order. Inputs are never modified.

The module also holds the batch helpers that ``pixelart_extraction`` shares: listing, splitting,
output naming and the per-file loop with its error report and summary line.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from util.argtypes import fraction, positive_int
from util.cli import EXIT_FAILED, EXIT_OK, FlagError, exit_status
from util.image import IMG_EXTENSIONS, ImageLoadError, is_image_file, load_image, save_image

logger = logging.getLogger(__name__)

SquareMode = Literal["center", "pad"]
SQUARE_MODES: tuple[str, ...] = ("center", "pad")

#: Colour names accepted by ``--pad_color`` besides ``#rrggbb`` and ``r,g,b``.
NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
}


class Rejected(ValueError):
    """An input that a quality check refuses; the batch loop reports it as skipped, not failed."""


# --------------------------------------------------------------------------- image operations
def parse_colour(text: str, flag: str = "--pad_color") -> tuple[int, int, int]:
    """``"white"``, ``"#ff8800"`` or ``"255,136,0"`` -> an RGB tuple of ints in ``[0, 255]``."""
    value = text.strip().lower()
    if value in NAMED_COLOURS:
        return NAMED_COLOURS[value]
    try:
        if value.startswith("#") and len(value) == 7:
            rgb = tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))
        else:
            rgb = tuple(int(v) for v in value.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"{flag} must be a colour name ({', '.join(NAMED_COLOURS)}), '#rrggbb' or 'r,g,b' "
                         f"with values 0..255, got {text!r}")
    return rgb  # type: ignore[return-value]


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    """Resize a square uint8 ``(S, S, C)`` image to ``(size, size, C)``: INTER_AREA when shrinking,
    bicubic (saturated to 0..255) when enlarging, unchanged when ``S == size``."""
    side = img.shape[0]
    if side == size:
        return img.copy()
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    out = cv2.resize(img, (size, size), interpolation=interpolation)
    return out.reshape(size, size, img.shape[2])


def square_image(img: np.ndarray, size: int, mode: SquareMode = "center",
                 pad_color: Sequence[int] = (255, 255, 255)) -> np.ndarray:
    """Make a photo square and resize it.

    Args:
        img: uint8 ``(H, W, C)``.
        size: output side in pixels (``>= 1``).
        mode: ``"center"`` crops the central ``min(H, W)`` square; ``"pad"`` pads the short side
            (centred) with ``pad_color`` up to ``max(H, W)``.
        pad_color: one value per channel (0..255), used by ``"pad"``.

    Returns:
        uint8 ``(size, size, C)``.
    """
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
        raise ValueError(f"`img` must be a uint8 (H, W, C) array, got {getattr(img, 'dtype', type(img))} "
                         f"{getattr(img, 'shape', '')}")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"`size` must be a positive integer, got {size!r}")
    if mode not in SQUARE_MODES:
        raise ValueError(f"`mode` must be one of {SQUARE_MODES}, got {mode!r}")
    h, w, c = img.shape
    if mode == "center":
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        square = img[y0:y0 + side, x0:x0 + side]
    else:
        if len(pad_color) != c:
            raise ValueError(f"`pad_color` needs {c} values for a {c}-channel image, got {tuple(pad_color)}")
        side = max(h, w)
        square = np.empty((side, side, c), dtype=np.uint8)
        square[:] = np.asarray(pad_color, dtype=np.uint8)
        y0, x0 = (side - h) // 2, (side - w) // 2
        square[y0:y0 + h, x0:x0 + w] = img
    return resize_square(np.ascontiguousarray(square), int(size))


# --------------------------------------------------------------------------- batch helpers
def list_images(src: Path, exclude: Path | None = None) -> list[Path]:
    """All image files under ``src`` (recursive, extension case ignored), sorted by their
    POSIX relative path; files under ``exclude`` (e.g. an output folder inside ``src``) are left out."""
    src = Path(src)
    exclude_resolved = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        root_path = Path(root)
        if exclude_resolved is not None and (root_path.resolve() == exclude_resolved
                                             or exclude_resolved in root_path.resolve().parents):
            dirs[:] = []
            continue
        found.extend(root_path / name for name in files if is_image_file(name))
    return sorted(found, key=lambda p: p.relative_to(src).as_posix())


def split_paths(paths: Sequence[Path], test_fraction: float, seed: int,
                limit: int | None = None) -> tuple[list[Path], list[Path]]:
    """Shuffle ``paths`` with ``seed`` (after sorting them, so file-system order never matters),
    keep the first ``limit`` and return ``(train, test)`` with ``round(n * test_fraction)`` test
    items. Both lists come back sorted; the split is disjoint and reproducible."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"--test_fraction must be in [0, 1), got {test_fraction}")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be a positive integer, got {limit}")
    ordered = sorted(paths, key=lambda p: Path(p).as_posix())
    order = np.random.default_rng(seed).permutation(len(ordered))
    chosen = [ordered[i] for i in order[:limit]]
    n_test = int(round(len(chosen) * test_fraction))
    return sorted(chosen[n_test:], key=str), sorted(chosen[:n_test], key=str)


def output_names(paths: Sequence[Path], src: Path) -> dict[Path, str]:
    """Unique flat PNG names: the relative path with ``/`` -> ``__`` and the extension replaced
    by ``.png``; when two inputs collide (``a.jpg`` and ``a.png``) the extension is kept (``a_jpg.png``)."""
    stems = {p: p.relative_to(src).with_suffix("").as_posix().replace("/", "__") for p in paths}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {p: (f"{stem}_{p.suffix.lower().lstrip('.')}" if counts[stem] > 1 else stem) + ".png"
            for p, stem in stems.items()}


@dataclass
class BatchResult:
    """Counts of a batch run."""

    written: int = 0
    skipped: int = 0
    failed: int = 0

    def summary(self) -> str:
        """One line with the written, skipped and failed counts."""
        return f"done: {self.written} written, {self.skipped} skipped, {self.failed} failed"


def run_batch(jobs: Sequence[tuple[Path, Path]], convert: Callable[[np.ndarray], np.ndarray],
              desc: str) -> BatchResult:
    """Load each ``(source, destination)`` pair, ``convert`` it and save it atomically.

    Unreadable files count as failed and :class:`Rejected` images as skipped; each is reported on
    stderr with its path and reason, and the batch goes on.
    """
    result = BatchResult()
    for src, dst in tqdm(jobs, desc=desc, unit="img", file=sys.stderr, disable=None):
        try:
            out = convert(load_image(src))
            save_image(dst, out)
        except Rejected as err:
            result.skipped += 1
            tqdm.write(f"skipped: {src}: {err}", file=sys.stderr)
        except ImageLoadError as err:
            result.failed += 1
            tqdm.write(f"error: {err}", file=sys.stderr)
        except (OSError, ValueError) as err:
            result.failed += 1
            tqdm.write(f"error: {src}: {err}", file=sys.stderr)
        else:
            result.written += 1
    return result


def plan_jobs(src: Path, dst: Path, domain: str, test_fraction: float, seed: int,
              limit: int | None = None) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs for every image under ``src``, split into
    ``dst/train<domain>`` and ``dst/test<domain>``. Raises ValueError for a missing or empty ``src``."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise ValueError(f"SRC {src} is not a folder; pass the folder that holds the images")
    paths = list_images(src, exclude=dst)
    if not paths:
        raise ValueError(f"no image files found under SRC {src} (extensions: {', '.join(sorted(IMG_EXTENSIONS))})")
    train, test = split_paths(paths, test_fraction, seed, limit)
    names = output_names(train + test, src)
    jobs = [(p, dst / f"train{domain}" / names[p]) for p in train]
    jobs += [(p, dst / f"test{domain}" / names[p]) for p in test]
    return jobs


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of this tool."""
    parser = argparse.ArgumentParser(
        prog="python -m datasets.coco_preprocessing",
        description="Square and resize photos into DST/trainA and DST/testA (domain A of a CycleGAN dataset).")
    parser.add_argument("src", metavar="SRC", type=Path, help="folder of photos (searched recursively)")
    parser.add_argument("dst", metavar="DST", type=Path, help="dataset root; trainA/ and testA/ are written here")
    parser.add_argument("--size", type=positive_int, default=256, help="output side in pixels (default: 256)")
    parser.add_argument("--mode", choices=SQUARE_MODES, default="center",
                        help="center: crop the central square; pad: pad the short side (default: center)")
    parser.add_argument("--pad_color", default="white",
                        help="padding colour for --mode pad: a name, '#rrggbb' or 'r,g,b' (default: white)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="use at most N images, a random subset drawn with --seed (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subset and split (default: 0)")
    parser.add_argument("--test_fraction", type=fraction, default=0.1,
                        help="fraction of images written to testA (default: 0.1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns 0 on success, 1 when any file failed, 2 on bad arguments."""
    args = build_parser().parse_args(argv)

    def job() -> int:
        try:
            pad_color = parse_colour(args.pad_color)
            jobs = plan_jobs(args.src, args.dst, "A", args.test_fraction, args.seed, args.limit)
        except ValueError as err:
            raise FlagError(str(err)) from None
        result = run_batch(jobs, lambda img: square_image(img, args.size, args.mode, pad_color), "coco_preprocessing")
        print(f"{result.summary()} -> {args.dst}")
        return EXIT_FAILED if result.failed else EXIT_OK

    return exit_status(job)


if __name__ == "__main__":
    sys.exit(main())
