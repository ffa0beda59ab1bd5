"""Generate a small procedural unpaired dataset for offline demos and tests.

Usage::

    python -m datasets.make_synthetic_dataset DST [--n 200] [--size 64] [--seed 0] [--test_fraction 0.1]

* Domain A (``trainA``/``testA``): smooth cartoon-like scenes, a few large shapes (ellipses,
  rotated rectangles, triangles) filled with two-colour linear gradients, antialiased and softly
  blurred, on white: many colours, no pixel grid.
* Domain B (``trainB``/``testB``): independently drawn pixel-art sprites: a left-right symmetric
  blob at ``size // 4`` native resolution, flat colours from a small palette (at most 6 per
  image), a hard one-cell dark outline, on white, upscaled by nearest neighbour (4-pixel cells).

Each image is drawn from its own generator seeded by ``(seed, domain, index)``, so a dataset
is byte-identical for a seed and the first ``n`` images do not depend on ``--n``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from datasets.coco_preprocessing import BatchResult
from util.argtypes import fraction, positive_int
from util.cli import EXIT_OK, FlagError, exit_status
from util.image import save_image

#: Cell size of the domain-B sprites in output pixels.
SPRITE_CELL = 4
#: Supersampling factor used to antialias domain-A shapes.
SUPERSAMPLE = 4

#: Fill colours of domain-B sprites (a PICO-8-like set without black and white).
SPRITE_COLOURS = np.array([
    [29, 43, 83], [126, 37, 83], [0, 135, 81], [171, 82, 54], [95, 87, 79], [194, 195, 199],
    [255, 0, 77], [255, 163, 0], [255, 236, 39], [0, 228, 54], [41, 173, 255], [131, 118, 156],
    [255, 119, 168], [255, 204, 170],
], dtype=np.uint8)
OUTLINE_COLOUR = np.array([20, 12, 28], dtype=np.uint8)
WHITE = np.array([255, 255, 255], dtype=np.uint8)

_DOMAIN_A, _DOMAIN_B = 0, 1


def _check_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or size < 32 or size % SPRITE_CELL:
        raise ValueError(f"--size must be a multiple of {SPRITE_CELL} and at least 32, got {size!r}")


def cartoon_scene(size: int, rng: np.random.Generator) -> np.ndarray:
    """One domain-A image: 2-4 large gradient-filled shapes with soft edges on white.

    Returns:
        uint8 ``(size, size, 3)``.
    """
    _check_size(size)
    big = size * SUPERSAMPLE
    coords = (np.arange(big, dtype=np.float32) + 0.5) / big  # pixel centres in [0, 1]
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    canvas = np.ones((big, big, 3), dtype=np.float32)
    for _ in range(int(rng.integers(2, 5))):
        cy, cx = rng.uniform(0.2, 0.8, size=2)
        angle = rng.uniform(0, np.pi)
        cos, sin = np.cos(angle), np.sin(angle)
        u = (xx - cx) * cos + (yy - cy) * sin  # shape-local coordinates
        v = -(xx - cx) * sin + (yy - cy) * cos
        ry, rx = rng.uniform(0.15, 0.4, size=2)
        kind = int(rng.integers(0, 3))
        if kind == 0:  # ellipse
            mask = (u / rx) ** 2 + (v / ry) ** 2 <= 1.0
        elif kind == 1:  # rotated rectangle
            mask = (np.abs(u) <= rx) & (np.abs(v) <= ry)
        else:  # triangle: intersection of three half-planes
            mask = (v >= -ry) & (v <= ry - 2 * ry * np.abs(u) / rx)
        c0, c1 = rng.uniform(0.05, 0.95, size=(2, 3)).astype(np.float32)
        g = rng.uniform(0, 2 * np.pi)
        t = np.clip(((xx - cx) * np.cos(g) + (yy - cy) * np.sin(g)) / (2 * max(rx, ry)) + 0.5, 0, 1)
        fill = c0 + (c1 - c0) * t[..., None]
        canvas = np.where(mask[..., None], fill, canvas)
    small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=size / 96.0)
    return np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8)


def pixel_sprite(size: int, rng: np.random.Generator) -> np.ndarray:
    """One domain-B image: a symmetric sprite at ``size // 4`` native pixels with flat palette
    colours and a one-cell dark outline on white, upscaled by nearest neighbour.

    Returns:
        uint8 ``(size, size, 3)`` with at most 6 colours and uniform 4 x 4 cells.
    """
    _check_size(size)
    n = size // SPRITE_CELL
    half = (n + 1) // 2
    # Random blob on the left half, denser towards the centre and kept 2 cells from the border
    # for the outline, smoothed by a few majority steps, then mirrored.
    yy, xx = np.mgrid[:n, :half]
    radius = np.hypot((yy + 0.5 - n / 2) / (n / 2), (xx + 0.5 - n / 2) / (n / 2))  # 0 at the centre
    inner = rng.random((n, half)) < np.clip(1.1 - 1.2 * radius, 0.0, 1.0)
    inner[:2], inner[-2:], inner[:, :2] = False, False, False
    for _ in range(2):
        padded = np.pad(inner, 1)
        votes = sum(np.roll(np.roll(padded, dy, 0), dx, 1)[1:-1, 1:-1].astype(np.int8)
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        inner = (votes >= 5) & inner | (votes >= 6)
        inner[:2], inner[-2:], inner[:, :2] = False, False, False
    mirrored = inner[:, ::-1][:, (n % 2):]
    mask = np.concatenate([inner, mirrored], axis=1)[:, :n]
    if mask.sum() < 4:  # degenerate draw: fall back to a centred disc
        yy, xx = np.mgrid[:n, :n]
        mask = (yy - n / 2 + 0.5) ** 2 + (xx - n / 2 + 0.5) ** 2 <= (n / 3) ** 2
    colours = SPRITE_COLOURS[rng.choice(len(SPRITE_COLOURS), size=4, replace=False)]
    base, shade, accent, eye = colours
    native = np.empty((n, n, 3), dtype=np.uint8)
    native[:] = WHITE
    rows = np.arange(n)[:, None]
    top, bottom = np.flatnonzero(mask.any(axis=1))[[0, -1]]
    native[mask] = base
    native[mask & (rows > (top + 2 * bottom) / 3)] = shade
    spots = (rng.random((n, half)) < 0.12)
    spots = np.concatenate([spots, spots[:, ::-1][:, (n % 2):]], axis=1)[:, :n]
    native[mask & spots] = accent
    eye_row = int(top + (bottom - top) // 3)
    eye_cols = np.flatnonzero(mask[eye_row])
    if len(eye_cols) >= 5:
        offset = max(1, len(eye_cols) // 4)
        native[eye_row, [eye_cols[offset], eye_cols[-1 - offset]]] = eye
    padded = np.pad(mask, 1)
    neighbour = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    native[neighbour & ~mask] = OUTLINE_COLOUR
    return np.repeat(np.repeat(native, SPRITE_CELL, axis=0), SPRITE_CELL, axis=1)


def make_dataset(dst: str | Path, n: int = 200, size: int = 64, seed: int = 0,
                 test_fraction: float = 0.1) -> BatchResult:
    """Write ``n`` domain-A and ``n`` domain-B images under ``dst/{trainA,testA,trainB,testB}``.

    Files are ``00000.png`` ... (index within the domain); ``round(n * test_fraction)`` of each
    domain, drawn with ``seed``, go to the test folders. Deterministic for a seed.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"--n must be a positive integer, got {n!r}")
    _check_size(size)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"--test_fraction must be in [0, 1), got {test_fraction}")
    dst = Path(dst)
    result = BatchResult()
    n_test = int(round(n * test_fraction))
    for domain, letter, draw in ((_DOMAIN_A, "A", cartoon_scene), (_DOMAIN_B, "B", pixel_sprite)):
        test_ids = set(np.random.default_rng([seed, domain, 2**31]).permutation(n)[:n_test].tolist())
        for i in tqdm(range(n), desc=f"domain {letter}", unit="img", file=sys.stderr, disable=None):
            image = draw(size, np.random.default_rng([seed, domain, i]))
            phase = "test" if i in test_ids else "train"
            save_image(dst / f"{phase}{letter}" / f"{i:05d}.png", image)
            result.written += 1
    return result


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of this tool."""
    parser = argparse.ArgumentParser(
        prog="python -m datasets.make_synthetic_dataset",
        description="Write a procedural unpaired dataset: domain A = smooth cartoon scenes, "
                    "domain B = pixel-art sprites (flat palette, 1-cell outlines, 4-pixel grid).")
    parser.add_argument("dst", metavar="DST", type=Path, help="dataset root (trainA/testA/trainB/testB)")
    parser.add_argument("--n", type=positive_int, default=200, help="images per domain (default: 200)")
    parser.add_argument("--size", type=positive_int, default=64,
                        help=f"image side, a multiple of {SPRITE_CELL}, >= 32 (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--test_fraction", type=fraction, default=0.1,
                        help="fraction of each domain written to test{A,B} (default: 0.1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns 0 on success, 2 on bad arguments."""
    args = build_parser().parse_args(argv)

    def job() -> int:
        try:
            result = make_dataset(args.dst, args.n, args.size, args.seed, args.test_fraction)
        except ValueError as err:
            raise FlagError(str(err)) from None
        print(f"{result.summary()} -> {args.dst}")
        return EXIT_OK

    return exit_status(job)


if __name__ == "__main__":
    sys.exit(main())
