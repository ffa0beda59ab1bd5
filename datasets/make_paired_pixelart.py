"""Make a paired smooth -> pixel-art dataset for pix2pix from hand-made pixel art.

Usage::

    python -m datasets.make_paired_pixelart [SRC] OUT [--size 256] [--cell 8] [--renders 4]
        [--seed 0] [--test_fraction 0.1] [--overwrite]

``SRC`` is a sprite sheet or a folder of them (searched recursively). Without it, the Dungeon
Crawl Stone Soup sheets ``player.png``, ``feat.png``, ``floor.png`` and ``wall.png`` of the Debian
package ``crawl-tiles-data`` (CC0) are used. The sheet ``main.png`` is reserved for evaluation:
it is never read, not even inside a folder given as ``SRC`` (a file named ``main.png`` under a
``crawl`` folder is skipped; naming it directly is an error).

**Sprites.** The sheets are packed atlases with alpha. Opaque pixels are ``alpha > 0``; the mask
is dilated by one pixel (3x3) so that parts of a sprite a pixel apart stay together, and every
connected group of the dilated mask is one sprite. A group whose bounding box exceeds
32 x 32 (neighbouring sprites touching) falls back to its undilated components. A sprite is kept
when its bounding box is at most 32 x 32, its opaque pixels (``alpha >= 128``) cover 15-75 % of a
32 x 32 cell (this drops specks and full floor/wall tiles) and it does not touch the sheet edge
(possibly cut off). Only the sprite's own pixels are cut out. Images without transparency take
their top-left pixel colour as the background to cut away.

**Pairs.** For each sprite, ``--renders`` pairs are written, each drawn from its own generator
seeded by ``(seed, sprite, render)``: the sprite goes at a random position on a canvas of
``size // cell`` art pixels filled with a flat background (white with probability 1/2, otherwise a
uniformly random colour), composited by its alpha. Then

* **B** (the target): the canvas scaled up by nearest neighbour, ``cell`` x ``cell`` pixels per art
  pixel: the artist's crisp original;
* **A** (the input): a smooth render of the same canvas, in this order:

  1. bicubic upscale to ``size`` x ``size``;
  2. Gaussian blur, sigma in ``[0.15, 0.5]`` cells (``x cell`` pixels);
  3. colour shift: per-channel gain in ``[0.92, 1.08]`` and offset in ``[-8, 8]`` (0-255 scale);
  4. Gaussian noise, standard deviation in ``[0, 6]`` (0-255 scale);
  5. JPEG compression at quality ``[40, 92]`` (decoded again: the artefacts stay).

  All ranges are uniform and listed in :data:`DEGRADATIONS`.

Each pair is one PNG, ``A | B`` side by side (``size`` x ``2 * size``), as ``--dataset_mode aligned``
reads it, in ``OUT/train/`` or ``OUT/test/``; the split is by sprite (``--test_fraction`` of the
sprites, all their renders), so no test sprite is seen in training. ``OUT/manifest.json`` records
the arguments, the ranges, the sources and, per file, the sprite's source and box, the background
and every drawn parameter. The output is byte-identical for the same inputs and seed.

**OUT.** A new or empty folder: a non-empty OUT is refused (stale pairs would mix in) unless
``--overwrite`` is given, which deletes only what this tool writes (``train/``, ``test/`` and
``manifest.json``) before the build. The pairs are written into a hidden folder inside OUT and moved
into place at the end, ``manifest.json`` last, so an interrupted run (Ctrl-C, exit status 130)
leaves OUT as an empty or cleared folder that a re-run accepts (a folder left by a killed run is
recognised by its name and removed). See :class:`BuildFolder`.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from datasets.crawl import PACKAGE, RESERVED_SHEETS, TILE, TILES_DIR, cut_dilated_atlas
from util.argtypes import fraction, positive_int
from util.cli import EXIT_INTERRUPTED, EXIT_OK, FlagError, exit_status
from util.fileio import atomic_write_text
from util.image import ImageLoadError, is_image_file, load_image, save_image

logger = logging.getLogger(__name__)

DEFAULT_SHEETS = ("player.png", "feat.png", "floor.png", "wall.png")

MAX_SPRITE = TILE  # largest sprite side, in art pixels (the Crawl grid)
COVERAGE = (0.15, 0.75)  # opaque share of a MAX_SPRITE x MAX_SPRITE cell
OPAQUE_ALPHA = 128

#: Uniform ranges of the smooth render's degradations (recorded in manifest.json).
DEGRADATIONS: dict[str, Any] = {
    "upscale": "bicubic",
    "blur_sigma_cells": (0.15, 0.5),
    "colour_gain": (0.92, 1.08),
    "colour_offset": (-8.0, 8.0),
    "noise_std": (0.0, 6.0),
    "jpeg_quality": (40, 92),
    "background_white_probability": 0.5,
}


@dataclass(frozen=True)
class Sprite:
    """One cut-out sprite: RGBA uint8 ``(h, w, 4)`` (transparent outside the sprite) and where it came from."""

    rgba: np.ndarray
    source: str
    box: tuple[int, int, int, int]  # x, y, w, h in the sheet


# --------------------------------------------------------------------------- sprites
def _is_reserved(path: Path) -> bool:
    """A reserved Crawl sheet (kept for evaluation): its name is reserved and it lies under a ``crawl`` folder."""
    return path.name in RESERVED_SHEETS and "crawl" in path.resolve().parts


def find_sheets(src: Path | None) -> list[Path]:
    """The sheet files to read: ``src`` itself, the images under a folder (sorted), or the defaults.

    Raises ValueError for a missing path, a reserved sheet named directly, a folder without
    images, and (defaults) a missing package, naming the package to install.
    """
    if src is None:
        missing = [name for name in DEFAULT_SHEETS if not (TILES_DIR / name).is_file()]
        if missing:
            raise ValueError(f"the default sheets are not in {TILES_DIR} (missing {', '.join(missing)}): install the "
                             f"Debian package {PACKAGE} (apt-get install {PACKAGE}) or pass SRC")
        return [TILES_DIR / name for name in DEFAULT_SHEETS]
    if not src.exists():
        raise ValueError(f"SRC {src} does not exist; pass a sprite sheet or a folder of them")
    if src.is_file():
        if _is_reserved(src):
            raise ValueError(f"SRC {src} is reserved for evaluation and is never used to make training data")
        return [src]
    sheets = sorted(p for p in src.rglob("*") if p.is_file() and is_image_file(p))
    reserved = [p for p in sheets if _is_reserved(p)]
    if reserved:
        logger.warning("skipping %s: reserved for evaluation", ", ".join(map(str, reserved)))
    sheets = [p for p in sheets if not _is_reserved(p)]
    if not sheets:
        raise ValueError(f"SRC {src} holds no images (.png .jpg ...)")
    return sheets


def _alpha_of(image: np.ndarray) -> np.ndarray:
    """The alpha channel, or for an opaque image: transparent where the top-left colour is."""
    if image.shape[2] == 4:
        return image[..., 3]
    background = image[0, 0]
    return np.where(np.all(image == background, axis=2), 0, 255).astype(np.uint8)


def _accept(sprite: np.ndarray) -> bool:
    """Coverage rule for a cut RGBA sprite (transparent outside its own pixels)."""
    coverage = np.count_nonzero(sprite[..., 3] >= OPAQUE_ALPHA) / float(MAX_SPRITE * MAX_SPRITE)
    return COVERAGE[0] <= coverage <= COVERAGE[1]


def sheet_sprites(image: np.ndarray, source: str = "<sheet>") -> list[Sprite]:
    """The sprites of a sheet (uint8 RGB or RGBA ``(H, W, C)``) that pass this tool's rules.

    The sheet is cut by :func:`datasets.crawl.cut_dilated_atlas` (see the module docstring); sprites
    touching the sheet edge or outside the coverage range are dropped. Returns sprites ordered by the
    top, then the left edge of their box.
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"{source}: expected a uint8 RGB or RGBA image, got {image.dtype} {image.shape}")
    rgba = image if image.shape[2] == 4 else np.dstack([image, _alpha_of(image)])
    return [Sprite(crop, source, box) for crop, box, touches_edge in cut_dilated_atlas(rgba, MAX_SPRITE)
            if not touches_edge and _accept(crop)]


# --------------------------------------------------------------------------- renders
def _uniform(rng: np.random.Generator, key: str, size=None):
    lo, hi = DEGRADATIONS[key]
    return rng.uniform(lo, hi, size)


def make_pair(sprite: np.ndarray, size: int, cell: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray,
                                                                                          dict[str, Any]]:
    """One ``(A, B, params)`` for an RGBA sprite: A the smooth render, B the crisp upscale, both
    uint8 ``(size, size, 3)``; ``params`` holds every drawn value (JSON-ready)."""
    canvas_side = size // cell
    h, w = sprite.shape[:2]
    if h > canvas_side or w > canvas_side:
        raise ValueError(f"a {w}x{h} sprite does not fit a canvas of {canvas_side} art pixels (--size / --cell)")
    if rng.random() < DEGRADATIONS["background_white_probability"]:
        background = np.array([255, 255, 255])
    else:
        background = rng.integers(0, 256, 3)
    x = int(rng.integers(0, canvas_side - w + 1))
    y = int(rng.integers(0, canvas_side - h + 1))
    canvas = np.empty((canvas_side, canvas_side, 3), np.float64)
    canvas[:] = background
    alpha = sprite[..., 3:].astype(np.float64) / 255.0
    canvas[y:y + h, x:x + w] = sprite[..., :3] * alpha + canvas[y:y + h, x:x + w] * (1.0 - alpha)
    native = np.rint(canvas).astype(np.uint8)
    crisp = np.repeat(np.repeat(native, cell, axis=0), cell, axis=1)

    sigma_cells = float(_uniform(rng, "blur_sigma_cells"))
    gain = _uniform(rng, "colour_gain", 3)
    offset = _uniform(rng, "colour_offset", 3)
    noise_std = float(_uniform(rng, "noise_std"))
    quality = int(rng.integers(DEGRADATIONS["jpeg_quality"][0], DEGRADATIONS["jpeg_quality"][1] + 1))
    smooth = cv2.resize(native.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    smooth = cv2.GaussianBlur(smooth, (0, 0), sigmaX=sigma_cells * cell)
    smooth = smooth * gain.astype(np.float32) + offset.astype(np.float32)
    smooth = smooth + rng.normal(0.0, noise_std, smooth.shape).astype(np.float32)
    smooth = np.clip(np.rint(smooth), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(smooth, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    smooth = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    params = {"background": [int(c) for c in background], "position": [x, y],
              "blur_sigma_cells": round(sigma_cells, 6), "colour_gain": [round(float(g), 6) for g in gain],
              "colour_offset": [round(float(o), 6) for o in offset], "noise_std": round(noise_std, 6),
              "jpeg_quality": quality}
    return smooth, crisp, params


# --------------------------------------------------------------------------- the output folder
MANIFEST = "manifest.json"


class BuildFolder:
    """The output folder OUT of a dataset tool, written so that no run leaves a half-built dataset.

    :meth:`check` refuses (:class:`~util.cli.FlagError`, nothing written) an OUT that is a file, sits
    under a file, cannot be written, or is not empty (unless ``overwrite``). :meth:`open` then clears
    what an earlier run of the tool left (with ``overwrite``: the tool's ``outputs``; always: a staging
    folder a killed run left) and creates the hidden staging folder ``OUT/.<tool>.partial``, where
    the tool writes its outputs. :meth:`finish` moves them into OUT and writes ``manifest.json`` last,
    so a ``manifest.json`` marks a finished build; :meth:`discard` (on Ctrl-C or an error) removes the
    staging folder, and OUT too when this run created it.
    """

    def __init__(self, out: str | os.PathLike, outputs: Sequence[str], tool: str, overwrite: bool = False):
        self.out = Path(out)
        self.outputs = tuple(outputs)
        self.overwrite = overwrite
        self.staging = self.out / f".{tool}.partial"
        self._created = False

    def _fix(self) -> str:
        return (f"choose a new or empty folder, or pass --overwrite to replace its "
                f"{', '.join(n if n == MANIFEST else n + '/' for n in self.outputs)}")

    def check(self) -> None:
        """Refuse an OUT this tool must not write to (FlagError naming OUT and the fix); writes nothing."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise FlagError(f"OUT {out} is a file, not a folder; choose a new or empty folder for OUT")
        if out.is_dir():
            entries = sorted(p.name for p in out.iterdir() if p.name != self.staging.name)
            if entries and not self.overwrite:
                shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
                raise FlagError(f"OUT {out} is not empty (holds {shown}); writing into it would mix stale files "
                                f"with the new ones: {self._fix()}")
        probe = out
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise FlagError(f"OUT {out}: {probe} is a file, not a folder; choose another path for OUT")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise FlagError(f"OUT {out} is not writable ({probe}: permission denied); choose a folder you can "
                            "write to")

    def open(self) -> Path:
        """Create OUT and the staging folder (clearing what an earlier run left); returns the staging folder."""
        try:
            self._created = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            if self.staging.exists():
                logger.info("%s: removing %s, left by a run that did not finish", self.out, self.staging.name)
                shutil.rmtree(self.staging)
            if self.overwrite:
                for name in self.outputs:
                    _remove(self.out / name)
            self.staging.mkdir()
        except OSError as err:
            raise FlagError(f"OUT {self.out} is not writable ({err.strerror or err}); choose a folder you can "
                            "write to") from None
        return self.staging

    def finish(self, manifest_text: str) -> None:
        """Move the built outputs from the staging folder into OUT, then write ``manifest.json``."""
        for name in self.outputs:
            built = self.staging / name
            if name != MANIFEST and built.exists():
                os.replace(built, self.out / name)
        atomic_write_text(self.out / MANIFEST, manifest_text)
        shutil.rmtree(self.staging, ignore_errors=True)

    def discard(self) -> None:
        """Remove the staging folder, and OUT when this run created it and nothing else is in it."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self._created:
            try:
                self.out.rmdir()
            except OSError:
                pass


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# --------------------------------------------------------------------------- the dataset
@dataclass
class Result:
    """What :func:`make_dataset` wrote."""

    sprites: int = 0
    train: int = 0
    test: int = 0

    def summary(self) -> str:
        """One line with the sprite and pair counts."""
        return f"done: {self.sprites} sprites, {self.train} training pairs, {self.test} test pairs"


PHASES = ("train", "test")


def make_dataset(src: Path | None, out: Path, size: int = 256, cell: int = 8, renders: int = 4, seed: int = 0,
                 test_fraction: float = 0.1, overwrite: bool = False) -> Result:
    """Write ``out/{train,test}/*.png`` (A|B pairs) and ``out/manifest.json``; see the module docstring.

    Raises FlagError for an OUT that is not a new or empty writable folder (``overwrite``: replace this
    tool's outputs in it), ValueError for bad arguments or sources (naming them), ImageLoadError for
    an unreadable sheet, OSError for a failed write. On any error or Ctrl-C, OUT is left without a
    partial build (:class:`BuildFolder`).
    """
    check_geometry(size, cell)
    folder = BuildFolder(out, (*PHASES, MANIFEST), "make_paired_pixelart", overwrite)
    folder.check()
    sheets = find_sheets(Path(src) if src is not None else None)
    sprites: list[Sprite] = []
    for sheet in sheets:
        found = sheet_sprites(load_image(sheet, keep_alpha=True), str(sheet))
        logger.info("%s: %d sprites", sheet, len(found))
        sprites.extend(found)
    if not sprites:
        raise ValueError(f"no sprites found in {', '.join(map(str, sheets))}: sprites must be at most "
                         f"{MAX_SPRITE}x{MAX_SPRITE} pixels on a transparent (or flat) background, cover "
                         f"{COVERAGE[0]:.0%}-{COVERAGE[1]:.0%} of a {MAX_SPRITE}x{MAX_SPRITE} cell and not touch "
                         "the sheet edge")
    n_test = int(round(len(sprites) * test_fraction))
    test_ids = set(np.random.default_rng([seed, 2**31]).permutation(len(sprites))[:n_test].tolist())
    staging = folder.open()
    try:
        result, items = _write_pairs(staging, sprites, test_ids, size, cell, renders, seed)
        manifest = {
            "tool": "datasets/make_paired_pixelart.py",
            "args": {"size": size, "cell": cell, "renders": renders, "seed": seed, "test_fraction": test_fraction},
            "layout": "each PNG holds A (smooth render, left) | B (crisp pixel art, right), as --dataset_mode aligned",
            "sprite_rule": {"max_side": MAX_SPRITE, "coverage": list(COVERAGE), "opaque_alpha": OPAQUE_ALPHA,
                            "dilation": "3x3, falls back to undilated components above max_side",
                            "edge": "sprites touching the sheet edge are dropped"},
            "degradations": {k: list(v) if isinstance(v, tuple) else v for k, v in DEGRADATIONS.items()},
            "sources": [str(s) for s in sheets],
            "counts": {"sprites": result.sprites, "train": result.train, "test": result.test},
            "items": items,
        }
        folder.finish(json.dumps(manifest, indent=1) + "\n")
    except BaseException:
        folder.discard()
        raise
    return result


def _write_pairs(root: Path, sprites: list[Sprite], test_ids: set[int], size: int, cell: int, renders: int,
                 seed: int) -> tuple[Result, list[dict]]:
    """Write every sprite's renders under ``root/{train,test}/``; returns the counts and the manifest items."""
    for phase in PHASES:
        (root / phase).mkdir(parents=True, exist_ok=True)
    result = Result(sprites=len(sprites))
    items = []
    per_sheet: dict[str, int] = {}
    for index, sprite in enumerate(tqdm(sprites, desc="sprites", unit="sprite", file=sys.stderr, disable=None)):
        phase = "test" if index in test_ids else "train"
        number = per_sheet.get(sprite.source, 0)
        per_sheet[sprite.source] = number + 1
        for r in range(renders):
            smooth, crisp, params = make_pair(sprite.rgba, size, cell, np.random.default_rng([seed, index, r]))
            name = f"{Path(sprite.source).stem}_{number:04d}_r{r}.png"
            save_image(root / phase / name, np.concatenate([smooth, crisp], axis=1), indexed=False)
            items.append({"file": f"{phase}/{name}", "source": sprite.source, "box": list(sprite.box), **params})
            setattr(result, phase, getattr(result, phase) + 1)
    return result, items


def check_geometry(size: int, cell: int) -> None:
    """``size`` must be a multiple of ``cell`` with room for a MAX_SPRITE-pixel sprite."""
    if size % cell or size // cell < MAX_SPRITE:
        raise ValueError(f"--size {size} must be a multiple of --cell {cell} and hold at least {MAX_SPRITE} cells "
                         f"(--size >= {MAX_SPRITE} x --cell, e.g. --size {MAX_SPRITE * cell})")


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of this tool."""
    parser = argparse.ArgumentParser(
        prog="python -m datasets.make_paired_pixelart",
        usage="%(prog)s [-h] [--size SIZE] [--cell CELL] [--renders RENDERS] [--seed SEED] "
              "[--test_fraction TEST_FRACTION] [--overwrite] [SRC] OUT",  # one or two paths, never more
        description="Write aligned smooth|pixel-art pairs (A|B) for pix2pix from hand-made pixel-art sprite sheets.")
    parser.add_argument("paths", nargs="+", metavar="[SRC] OUT", type=Path,
                        help=f"SRC: a sprite sheet or a folder of them (default: {', '.join(DEFAULT_SHEETS)} in "
                             f"{TILES_DIR}, package {PACKAGE}); OUT: the dataset root (train/, test/)")
    parser.add_argument("--size", type=positive_int, default=256, help="side of A and B in pixels (default: 256)")
    parser.add_argument("--cell", type=positive_int, default=8, help="pixels per art pixel in B (default: 8)")
    parser.add_argument("--renders", type=positive_int, default=4, help="smooth renders per sprite (default: 4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--test_fraction", type=fraction, default=0.1,
                        help="share of the sprites (all their renders) written to test/ (default: 0.1)")
    parser.add_argument("--overwrite", action="store_true",
                        help="build over a non-empty OUT: delete its train/, test/ and manifest.json first "
                             "(other files are kept); without it a non-empty OUT is refused")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the exit status follows :mod:`util.cli`: 0 done, 2 bad flags, sources or OUT (nothing
    written), 1 an unreadable sheet or a failed write, 130 Ctrl-C (the unfinished build is removed)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error("expected [SRC] OUT: at most two paths")
    src, out = (None, args.paths[0]) if len(args.paths) == 1 else args.paths
    try:
        check_geometry(args.size, args.cell)
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def job() -> int:
        try:
            result = make_dataset(src, out, args.size, args.cell, args.renders, args.seed, args.test_fraction,
                                  overwrite=args.overwrite)
        except ImageLoadError:
            raise  # an unreadable sheet: exit status 1
        except ValueError as err:  # bad sources or OUT: a flag fixes it
            raise FlagError(str(err)) from None
        except OSError as err:
            raise OSError(f"{err.filename or out}: {err.strerror or err}; no partial build was left in OUT "
                          f"{out}") from None
        print(f"{result.summary()} -> {out}")
        return EXIT_OK

    try:
        return exit_status(job)
    except KeyboardInterrupt:
        print(f"interrupted: no unfinished build is left in OUT {out}; run the command again to build it",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
