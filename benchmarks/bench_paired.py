r"""Agreement with the artist on the paired test split: pix2pix + quantisation vs quantisation alone.

Run (after ``datasets/make_paired_pixelart.py`` and a pix2pix training on its ``train/``)::

    python benchmarks/bench_paired.py --dataroot datasets/paired64 \
        --model_path checkpoints/paired64_p2p/latest_net_G.pth

Every pair of ``<dataroot>/test/`` (sprites never seen in training) holds a smooth render A and
the artist's crisp sprite B, ``cell`` pixels per art pixel (read from ``manifest.json``). Each
method turns A into pixel art at that cell size; its cells are compared with the artist's:

* agreement: share of the sprite's cells (its box on the canvas, from the manifest) whose colour
  is within 5 CIEDE2000 of the artist's; median over images, and the pooled share of all cells;
* wins / ties / losses of pix2pix + quantisation against quantisation alone, image by image.

Methods: ``quantise`` (:func:`postprocess.pixelize_image` on A), ``pix2pix+quantise`` (the same
on the generator's output), and two references without a palette: ``render cell mean`` (A's
cell means) and ``pix2pix cell mean``. The palette size is ``min(16, colours in the artist's
canvas)`` for both quantising methods. PixelOE is added when ``pixeloe`` is importable.
The generator runs in eval mode (batch-norm running statistics, no dropout) on the CPU.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Sequence  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402

from benchmarks.bench_artist import pixeloe_method  # noqa: E402
from benchmarks.measures import AGREE_DE, agreement  # noqa: E402 (the artist benchmark's measure)

MAX_COLOURS = 16


def cell_means(image: np.ndarray, cell: int) -> np.ndarray:
    """uint8 ``(H/cell, W/cell, 3)`` means of each cell."""
    h, w = image.shape[0] // cell, image.shape[1] // cell
    blocks = image[:h * cell, :w * cell, :3].astype(np.float64).reshape(h, cell, w, cell, 3)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def load_pairs(dataroot: Path, limit: int | None) -> tuple[int, list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]]:
    """``(cell, [(name, A, artist cells, scored mask)])`` for the test split."""
    from util.image import load_image

    manifest = json.loads((dataroot / "manifest.json").read_text())
    cell = int(manifest["args"]["cell"])
    items = sorted((i for i in manifest["items"] if i["file"].startswith("test/")), key=lambda i: i["file"])
    if not items:
        raise ValueError(f"{dataroot}/manifest.json lists no test/ pairs; make the dataset with --test_fraction > 0")
    pairs = []
    for item in items[:limit]:
        pair = load_image(dataroot / item["file"])
        size = pair.shape[1] // 2
        artist = pair[:, size:][::cell, ::cell]
        scored = np.zeros(artist.shape[:2], bool)
        x, y = item["position"]
        w, h = item["box"][2:]
        scored[y:y + h, x:x + w] = True
        pairs.append((item["file"], pair[:, :size], artist, scored))
    return cell, pairs


def make_generator(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Load the generator at ``path`` as a function from a uint8 RGB image to a uint8 RGB image."""
    import torch

    from models.inference import load_generator, run_padded
    from models.networks import required_multiple
    from util.image import to_tensor, to_uint8

    net, config = load_generator(path)
    print(f"generator: {path} ({', '.join(f'{k}={v}' for k, v in config.items())})")
    multiple = required_multiple(config["netG"])

    def run(img: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return to_uint8(run_padded(net, to_tensor(img), multiple))[0]

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Score the methods on the test pairs of a paired dataset and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataroot", type=Path, default=ROOT / "datasets" / "paired64",
                        help="a make_paired_pixelart dataset (uses its test/ split)")
    parser.add_argument("--model_path", type=Path, required=True,
                        help="pix2pix generator state dict (latest_net_G.pth)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N test pairs only")
    args = parser.parse_args(argv)
    if not (args.dataroot / "manifest.json").is_file():
        parser.error(f"--dataroot {args.dataroot} has no manifest.json; "
                     "run python -m datasets.make_paired_pixelart first")
    if not args.model_path.is_file():
        parser.error(f"--model_path {args.model_path} does not exist")

    from postprocess import pixelize_image

    cell, pairs = load_pairs(args.dataroot, args.limit)
    generator = make_generator(args.model_path)
    oe = pixeloe_method()
    names = ["quantise", "pix2pix+quantise", "render cell mean", "pix2pix cell mean"] + (["PixelOE"] if oe else [])
    scores: dict[str, list[float]] = {n: [] for n in names}
    pooled: dict[str, list[int]] = {n: [0, 0] for n in names}
    for name, smooth, artist, scored in pairs:
        k = min(MAX_COLOURS, len(np.unique(artist.reshape(-1, 3), axis=0)))
        translated = generator(smooth)
        outputs = {
            "quantise": pixelize_image(smooth, pixel_size=cell, n_colors=k),
            "pix2pix+quantise": pixelize_image(translated, pixel_size=cell, n_colors=k),
            "render cell mean": cell_means(smooth, cell),
            "pix2pix cell mean": cell_means(translated, cell),
        }
        if oe:
            outputs["PixelOE"] = oe(smooth, cell, k)
        for method, out in outputs.items():
            if out.shape[:2] != artist.shape[:2]:
                raise RuntimeError(f"{method} gave {out.shape[:2]} cells for {name}, expected {artist.shape[:2]}")
            a = agreement(out, artist, scored)
            scores[method].append(a)
            pooled[method][0] += int(round(a * scored.sum()))
            pooled[method][1] += int(scored.sum())

    print(f"paired test split: {len(pairs)} pairs from {args.dataroot} (cell {cell}), agreement = share of the "
          f"sprite's cells within {AGREE_DE:g} dE00 of the artist's colour")
    print(f"  {'method':<18} {'median':>7} {'pooled':>7}")
    for method in names:
        print(f"  {method:<18} {statistics.median(scores[method]):7.3f} "
              f"{pooled[method][0] / max(1, pooled[method][1]):7.3f}")
    diff = np.array(scores["pix2pix+quantise"]) - np.array(scores["quantise"])
    print(f"pix2pix+quantise vs quantise, per image: {int((diff > 0).sum())} wins, {int((diff == 0).sum())} ties, "
          f"{int((diff < 0).sum())} losses; median difference {float(np.median(diff)):+.3f}")
    if oe is None:
        print("PixelOE: not installed (pip install pixeloe), not compared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
