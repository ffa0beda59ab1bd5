"""Offline end-to-end demo: synthetic dataset -> CycleGAN training on CPU -> test.py -> pixelize.py.

Usage::

    python train_demo.py [--root datasets/synthetic] [--epochs 8 --epochs_decay 4] [--seed 0]
    make train-demo

Steps (each prints where its result is):

1. write the procedural unpaired dataset of :mod:`datasets.make_synthetic_dataset` into ``--root``
   (domain A = smooth cartoon scenes, domain B = pixel-art sprites with 4-pixel cells);
2. train a small CycleGAN (``--netG resnet_6blocks``, small ``--ngf``/``--ndf``) in-process with
   ``train.main`` into ``<checkpoints_dir>/<name>/``;
3. apply its A->B generator to ``testA`` with ``test.py --model test --model_suffix _A``, and do the
   same with an untrained generator of the same architecture (random init, saved under
   ``<checkpoints_dir>/<name>_untrained/``) as the baseline;
4. pixelize ``testA`` with the trained generator (``pixelize.py --name <name>``);
5. measure how far training moved the outputs toward domain B and write the table to
   ``<results_dir>/<name>/metrics.json``.

Measures (means over the test images; every image is ``size x size`` RGB):

* ``grid_conformity``: fraction of flat 4x4 blocks at the best grid phase, flat meaning every pixel
  within CIEDE2000 ``--tau`` of the block's first pixel (:func:`postprocess.metrics.grid_conformity`);
* ``cell_std``: mean RGB standard deviation inside those blocks (0 for perfect cells);
* ``colors``: distinct colours per image (:func:`postprocess.metrics.palette_size`);
* ``b_palette_coverage``: fraction of pixels within CIEDE2000 ``--palette_tol`` of a colour that the
  domain-B training images use;
* ``chroma``: mean CIELAB chroma (:func:`postprocess.metrics.mean_chroma`).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from datasets.make_synthetic_dataset import SPRITE_CELL, make_dataset
from util.argtypes import fraction, non_negative_float, non_negative_int, positive_float, positive_int
from util.cli import EXIT_FAILED, EXIT_OK, FlagError, error, exit_status

REPO = Path(__file__).resolve().parent

#: Marker file written into --root: the parameters the dataset was generated with.
MARKER = ".train_demo.json"
#: Table columns, in order.
COLUMNS = ("real_A", "untrained_G", "trained_G", "real_B")
#: Table rows, in order, with the direction that means "more like pixel art".
METRICS = {"grid_conformity": "higher", "cell_std": "lower", "colors": "lower",
           "b_palette_coverage": "higher", "chroma": "info"}
_SPLITS = ("trainA", "trainB", "testA", "testB")


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of the demo."""
    p = argparse.ArgumentParser(
        prog="train_demo.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Offline end-to-end demo: generate a synthetic cartoon/pixel-art dataset, train a small "
                    "CycleGAN on CPU, run test.py and pixelize.py with it, and measure how far training moved "
                    "the outputs toward pixel art.")
    d = p.add_argument_group("dataset")
    d.add_argument("--root", type=Path, default=Path("datasets/synthetic"),
                   help="dataset folder (trainA/trainB/testA/testB); regenerated when it holds another demo "
                        "dataset, refused when it holds anything else")
    d.add_argument("--n", type=positive_int, default=120, help="images per domain")
    d.add_argument("--size", type=positive_int, default=64,
                   help=f"image side, a multiple of {SPRITE_CELL}, >= 32 (the training crop)")
    d.add_argument("--test_fraction", type=fraction, default=0.1, help="share of each domain held out for testing")
    t = p.add_argument_group("training")
    t.add_argument("--name", default="train_demo", help="run name: checkpoints/<name>, results/<name>")
    t.add_argument("--checkpoints_dir", default="checkpoints", help="where the run's checkpoints go")
    t.add_argument("--results_dir", default="results", help="where test pages, pixelize outputs and metrics go")
    t.add_argument("--epochs", type=positive_int, default=8, help="epochs at the initial learning rate (--n_epochs)")
    t.add_argument("--epochs_decay", type=non_negative_int, default=4,
                   help="epochs with the learning rate decaying to zero (--n_epochs_decay)")
    t.add_argument("--netG", choices=("resnet_6blocks", "resnet_9blocks"), default="resnet_6blocks",
                   help="generator architecture")
    t.add_argument("--ngf", type=positive_int, default=16, help="generator width")
    t.add_argument("--ndf", type=positive_int, default=16, help="discriminator width")
    t.add_argument("--lr", type=positive_float, default=0.0002, help="Adam learning rate")
    t.add_argument("--lambda_identity", type=non_negative_float, default=0.5, help="identity loss weight")
    t.add_argument("--init", type=Path, default=None, metavar="FILE.pth",
                   help="fine-tune: start G_A from this generator state dict (passed to train.py as "
                        "--state_dict_dir/--name_state_dict_init); default: from scratch, whatever stateDict/ holds")
    t.add_argument("--display_id", type=int, default=0, help="visdom window id (0 = visdom off)")
    t.add_argument("--seed", type=int, default=0, help="seed of the dataset, the weights and the data order")
    m = p.add_argument_group("measures")
    m.add_argument("--tau", type=non_negative_float, default=2.0,
                   help="CIEDE2000 tolerance for a flat 4x4 block in grid_conformity")
    m.add_argument("--palette_tol", type=non_negative_float, default=5.0,
                   help="CIEDE2000 tolerance for b_palette_coverage")
    return p


def _images(folder: Path) -> list[Path]:
    from util.image import is_image_file

    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p.name)) if folder.is_dir() else []


def prepare_dataset(root: Path, n: int, size: int, seed: int, test_fraction: float) -> str:
    """Write the synthetic dataset into ``root`` unless the same one is already there.

    Returns ``"reused"`` or ``"generated"``. A ``root`` that holds files but no demo marker is
    refused (ValueError), so a real dataset is never mixed with generated images or deleted.
    """
    wanted = {"n": n, "size": size, "seed": seed, "test_fraction": test_fraction}
    marker = root / MARKER
    if root.exists() and not root.is_dir():
        raise ValueError(f"--root {root} is a file; pass a folder for the synthetic dataset")
    if marker.is_file():
        try:
            found = json.loads(marker.read_text())
        except (OSError, ValueError):
            found = None
        if found == wanted:
            return "reused"
        for split in _SPLITS:  # our own older dataset with other parameters: replace it
            shutil.rmtree(root / split, ignore_errors=True)
        marker.unlink()
    elif root.is_dir() and any(root.iterdir()):
        raise ValueError(f"--root {root} already holds files that this demo did not write; pass an empty or new "
                         "folder with --root (the demo never mixes its images into another dataset)")
    from util.fileio import atomic_write_text

    make_dataset(root, n=n, size=size, seed=seed, test_fraction=test_fraction)
    atomic_write_text(marker, json.dumps(wanted, sort_keys=True) + "\n")
    return "generated"


def save_untrained_generator(path: Path, netG: str, ngf: int, seed: int) -> Path:
    """Save a randomly initialised generator (the architecture the demo trains) as a state dict."""
    import torch

    from models.networks import define_G
    from util.checkpoint import save_state_dict

    net = define_G(3, 3, ngf, netG, "instance", False, "normal", 0.02, generator=torch.Generator().manual_seed(seed))
    return save_state_dict(net.state_dict(), path)


def _b_palette_lab(train_b: list[Path]) -> np.ndarray:
    """CIELAB of every distinct colour the domain-B training images use -> float ``(K, 3)``."""
    from postprocess.color import srgb_to_lab
    from postprocess.metrics import used_palette
    from util.image import load_image

    colours = np.unique(np.concatenate([used_palette(load_image(p)) for p in train_b]), axis=0)
    return srgb_to_lab(colours)


def image_measures(img: np.ndarray, palette_lab: np.ndarray, tau: float, palette_tol: float) -> dict[str, float]:
    """The demo's measures of one uint8 ``(H, W, 3)`` image (see the module docstring)."""
    from postprocess.color import delta_e00, srgb_to_lab
    from postprocess.metrics import grid_conformity, mean_chroma, palette_size

    conf = grid_conformity(img, SPRITE_CELL, tau)
    lab = srgb_to_lab(img.reshape(-1, 3))
    nearest = np.full(len(lab), np.inf)
    for colour in palette_lab:  # one colour at a time keeps memory at O(pixels)
        nearest = np.minimum(nearest, delta_e00(lab, colour[None, :]))
    return {"grid_conformity": conf["conformity"], "cell_std": conf["cell_std"], "colors": float(palette_size(img)),
            "b_palette_coverage": float((nearest <= palette_tol).mean()), "chroma": mean_chroma(img)}


def measure(columns: dict[str, list[Path]], train_b: list[Path], tau: float, palette_tol: float) -> dict:
    """Mean of every measure over each column's images -> ``{metric: {column: value}}``."""
    from util.image import load_image

    palette_lab = _b_palette_lab(train_b)
    table: dict[str, dict[str, float]] = {metric: {} for metric in METRICS}
    for column, paths in columns.items():
        rows = [image_measures(load_image(p), palette_lab, tau, palette_tol) for p in paths]
        for metric in METRICS:
            table[metric][column] = float(np.mean([r[metric] for r in rows]))
    return table


def toward_b(table: dict) -> dict[str, float]:
    """Share of the real_A -> real_B gap that the trained generator closed, per measure.

    0 = no closer to domain B than the input, 1 = as far as real domain-B images; NaN where
    the two domains do not differ.
    """
    out = {}
    for metric in METRICS:
        row = table[metric]
        gap = row["real_B"] - row["real_A"]
        out[metric] = float((row["trained_G"] - row["real_A"]) / gap) if abs(gap) > 1e-12 else float("nan")
    return out


def format_table(table: dict, progress: dict[str, float]) -> str:
    """The table as aligned text: one row per measure, one column per image set."""
    head = f"{'measure':<20}" + "".join(f"{c:>13}" for c in COLUMNS) + f"{'gap closed':>12}  better"
    lines = [head, "-" * len(head)]
    for metric, better in METRICS.items():
        cells = "".join(f"{table[metric][c]:>13.3f}" for c in COLUMNS)
        lines.append(f"{metric:<20}{cells}{progress[metric]:>12.2f}  {better}")
    return "\n".join(lines)


def _load_cli(name: str):
    """The repository's top-level ``<name>.py`` as a module (by path: ``test`` is also a stdlib package)."""
    import importlib.util

    path = REPO / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return loaded
    spec = importlib.util.spec_from_file_location(f"_train_demo_cli_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_step(label: str, fn, argv: list[str]) -> float:
    """Call a CLI ``main(argv)``; returns its wall time, raises RuntimeError on a non-zero status."""
    print(f"\n=== {label}: {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    status = fn(argv)
    if status != 0:
        raise RuntimeError(f"{label} failed with exit status {status} (see the messages above)")
    return time.perf_counter() - start


def run_demo(args: argparse.Namespace) -> dict:
    """Run all five steps; returns the metrics document (also written to ``metrics.json``)."""
    pixelize, test_cli, train_cli = (_load_cli(name) for name in ("pixelize", "test", "train"))
    from util.fileio import atomic_write_text

    times: dict[str, float] = {}
    start = time.perf_counter()
    root = Path(args.root)
    n_test = int(round(args.n * args.test_fraction))  # the split rule of make_dataset
    if not 1 <= n_test < args.n:
        raise ValueError(f"--n {args.n} with --test_fraction {args.test_fraction} leaves "
                         f"{'no test' if n_test < 1 else 'no training'} image; change --n or --test_fraction")
    if args.init is not None:
        if not args.init.is_file():
            raise ValueError(f"--init {args.init} does not exist; pass a generator state dict such as "
                             "checkpoints/<run>/latest_net_G_A.pth, or drop --init to train from scratch")
        init = ["--state_dict_dir", str(args.init.parent), "--name_state_dict_init", args.init.name]
    else:  # a folder that never holds init.pth, so a user's stateDict/init.pth is not picked up
        init = ["--state_dict_dir", str(Path(args.checkpoints_dir) / args.name / "no_init")]
    state = prepare_dataset(root, args.n, args.size, args.seed, args.test_fraction)
    test_a = _images(root / "testA")
    train_b = _images(root / "trainB")
    test_b = _images(root / "testB")
    times["dataset"] = time.perf_counter() - start
    print(f"dataset ({state}): {root} ({len(_images(root / 'trainA'))} trainA, {len(train_b)} trainB, "
          f"{len(test_a)} testA, {len(test_b)} testB)")

    arch = ["--netG", args.netG, "--ngf", str(args.ngf), "--norm", "instance", "--no_dropout"]
    common = ["--gpu_ids", "-1", "--num_threads", "0", "--checkpoints_dir", args.checkpoints_dir,
              "--seed", str(args.seed)]
    # No resize: a 64 -> 72 px resample would blur the 4-pixel cells of domain B (flips keep them).
    size = ["--preprocess", "none", "--load_size", str(args.size), "--crop_size", str(args.size)]
    times["train"] = _run_step("train", train_cli.main, [
        *init, "--dataroot", str(root), "--name", args.name, "--model", "cycle_gan", *arch, *common,
        "--ndf", str(args.ndf), *size,
        "--n_epochs", str(args.epochs), "--n_epochs_decay", str(args.epochs_decay), "--lr", str(args.lr),
        "--lambda_identity", str(args.lambda_identity), "--display_id", str(args.display_id),
        "--save_epoch_freq", str(args.epochs + args.epochs_decay + 1), "--print_freq", "10000"])
    run_dir = Path(args.checkpoints_dir) / args.name
    untrained = f"{args.name}_untrained"
    save_untrained_generator(Path(args.checkpoints_dir) / untrained / "latest_net_G_A.pth", args.netG, args.ngf,
                             args.seed)

    test_pages = {}
    for label, name in (("test (trained G_A)", args.name), ("test (untrained G_A)", untrained)):
        times[label] = _run_step(label, test_cli.main, [
            "--dataroot", str(root / "testA"), "--name", name, "--model", "test", "--model_suffix", "_A",
            *arch, *common, *size,
            "--results_dir", args.results_dir, "--num_test", str(len(test_a))])
        test_pages[name] = Path(args.results_dir) / name / "test_latest"

    pixel_dir = Path(args.results_dir) / args.name / "pixelize"
    times["pixelize"] = _run_step("pixelize", pixelize.main, [
        "--input", str(root / "testA"), "--output", str(pixel_dir), "--name", args.name,
        "--checkpoints_dir", args.checkpoints_dir, "--gpu_ids", "-1", "--pixel_size", str(SPRITE_CELL),
        "--seed", str(args.seed), "--overwrite"])

    stems = [p.stem for p in test_a]
    images = {name: page / "images" for name, page in test_pages.items()}
    columns = {"real_A": test_a,
               "untrained_G": [images[untrained] / f"{s}_fake.png" for s in stems],
               "trained_G": [images[args.name] / f"{s}_fake.png" for s in stems],
               "real_B": test_b}
    t0 = time.perf_counter()
    table = measure(columns, train_b, args.tau, args.palette_tol)
    progress = toward_b(table)
    times["measure"] = time.perf_counter() - t0
    times["total"] = time.perf_counter() - start
    doc = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(args).items())},
        "images": {c: len(p) for c, p in columns.items()},
        "cell": SPRITE_CELL,
        "metrics": table,
        "gap_closed": progress,
        "better": dict(METRICS),
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "paths": {"dataset": str(root), "checkpoints": str(run_dir),
                  "test_page": str(test_pages[args.name] / "index.html"),
                  "untrained_test_page": str(test_pages[untrained] / "index.html"),
                  "pixelize_page": str(pixel_dir / "index.html")},
    }
    metrics_path = Path(args.results_dir) / args.name / "metrics.json"
    atomic_write_text(metrics_path, json.dumps(doc, indent=2, allow_nan=True) + "\n")
    doc["paths"]["metrics"] = str(metrics_path)

    print(f"\n=== toward domain B: fake_B of {len(stems)} test images, cell {SPRITE_CELL}, tau {args.tau}")
    print(format_table(table, progress))
    print(f"\ntime: {times['total']:.0f} s total, {times['train']:.0f} s training")
    for key, label in (("dataset", "dataset"), ("checkpoints", "checkpoints"), ("test_page", "test page"),
                       ("untrained_test_page", "untrained baseline"), ("pixelize_page", "pixelized"),
                       ("metrics", "metrics")):
        print(f"{label + ':':<20}{doc['paths'][key]}")
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns 0 on success, 1 when a step fails, 2 for bad flags."""
    args = build_parser().parse_args(argv)

    def job() -> int:
        try:
            run_demo(args)
        except ValueError as err:  # a bad flag or input a flag names
            raise FlagError(str(err)) from None
        except RuntimeError as err:  # a step of the demo failed
            error(str(err))
            return EXIT_FAILED
        return EXIT_OK

    return exit_status(job)


if __name__ == "__main__":
    sys.exit(main())
