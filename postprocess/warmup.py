"""Compile (or load) the package's numba kernels ahead of use: ``python -m postprocess.warmup``.

The kernels in :mod:`postprocess._kernels` are compiled on first use and cached next to the
source (``__pycache__``), so only the very first run after an install or an update pays the
compile time (about 10-15 s on two CPU cores). ``make`` runs this once after installing the
requirements so that the first ``make demo`` is as fast as later ones.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["warm_up"]


def warm_up(seed: int = 0) -> float:
    """Run every kernel specialisation the pipelines use on tiny generated images -> seconds taken."""
    from postprocess import dither, pixelize_frames, pixelize_image
    from postprocess.palette_gen import extract_palette

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, rng.integers(0, 256, (37, 45), dtype=np.uint8)])
    pixelize_image(rgb, pixel_size=4)
    pixelize_image(rgb, pixel_size=4, n_colors=6)
    pixelize_image(rgba, pixel_size=4, n_colors=6)
    extract_palette(rgb, 5)
    for mode in dither.DITHER_MODES:
        pixelize_image(rgb, pixel_size=4, n_colors=6, dither=mode)
    list(pixelize_frames([rgb, rgb], pixel_size=4, n_colors=6))
    seconds = time.perf_counter() - t0
    logger.info("postprocess kernels ready in %.1f s", seconds)
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: warm the kernel cache and print how long it took."""
    if argv:
        print("usage: python -m postprocess.warmup  (no arguments)", file=sys.stderr)
        return 2
    print(f"postprocess kernels ready in {warm_up():.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
