"""Build the cartoon -> pixel-art training set from two Debian packages, offline.

Usage::

    sudo apt-get install openclipart-png crawl-tiles-data
    python -m datasets.make_cartoon2pixel datasets/cartoon2pixel [--size 256] [--cell 8]
        [--clipart DIR] [--tiles DIR] [--limit N] [--seed 0]

* **Domain A** (``trainA``/``valA``/``testA``): public-domain clip art from ``openclipart-png``
  (``/usr/share/openclipart/png/<category>/``). Each picture is flattened on white, cropped to its
  drawing, padded to a square with a thin white margin (so the object fills the frame the way a
  sprite fills its tile) and resized to ``--size`` (INTER_AREA). Pictures without a background
  (photos, full-frame scenes: the drawing touches all four edges and covers more than
  ``MAX_A_COVERAGE`` of the picture) and tiny ones are left out.
* **Domain B** (``trainB``/``valB``/``testB``): hand-made pixel art from ``crawl-tiles-data``
  (Dungeon Crawl Stone Soup tiles, CC0), the sprite sheets ``player.png`` and ``feat.png``. The
  sheets are packed atlases with transparency: a sprite is a group of alpha-connected components
  that fits a 32x32 tile (fragments a couple of pixels apart are grouped). Sprites cut off by the
  sheet's edge, larger than a tile, empty-ish (opaque area under 15 % of the tile: doll fragments,
  splashes) or tile-filling (over 75 %: floor and wall textures) are dropped, and so are sparse
  ones (opaque area under 30 % of their own box: blood spatter). The rest is centred on a white
  ``size // cell`` square canvas and upscaled by ``cell`` with nearest neighbour, so every cell is
  ``cell`` x ``cell`` output pixels and perfectly crisp.

**Reserved for evaluation, never written here:** the clip-art categories ``animals`` and
``plants`` and the sheet ``main.png``; asking for them is an error.

Splits are drawn per source item from ``--seed`` (a stable hash of the item's id), so adding files
never moves existing ones between splits, and the dataset is byte-identical for a seed.
``--limit N`` keeps a seeded random ``N`` of each domain's training images (validation and test
splits are kept whole). ``manifest.json`` lists every written image with its source file (and
sheet cell for sprites) and the licences. Inputs are never modified.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from options.types import fraction, positive_int
from util.fileio import atomic_write_text
from util.image import ImageLoadError, load_image, save_image

logger = logging.getLogger(__name__)

DEFAULT_CLIPART = Path("/usr/share/openclipart/png")
DEFAULT_TILES = Path("/usr/share/crawl/dat/tiles")
CLIPART_PACKAGE = "openclipart-png"
TILES_PACKAGE = "crawl-tiles-data"

#: Never used for training: kept for evaluation.
RESERVED_CATEGORIES = ("animals", "plants")
RESERVED_SHEETS = ("main.png",)
#: Clip-art categories used by default: pictures of things and people, not logos, maps or icons.
DEFAULT_CATEGORIES = ("people", "food", "recreation", "transportation", "buildings", "tools", "office",
                      "containers", "decorations", "education", "electronics", "science", "special", "unsorted")
DEFAULT_SHEETS = ("player.png", "feat.png")

#: Side of one Crawl tile in sheet pixels.
TILE = 32
MIN_B_COVERAGE, MAX_B_COVERAGE = 0.15, 0.75
MIN_B_SOLIDITY = 0.30
#: Largest share of the picture a clip-art drawing that touches all four edges may cover (above: a photo
#: or a full-frame scene, with no background to keep white).
MAX_A_COVERAGE = 0.85
#: Smallest drawing (long side, source pixels) kept for domain A.
MIN_A_SIDE = 48
#: White margin around a clip-art drawing, as a share of the square's side (a sprite's tile has ~2/32).
A_MARGIN = 1 / 16
SPLITS = ("train", "val", "test")

LICENCES = {
    "A": "openclipart-png: public domain (Open Clip Art Library; see /usr/share/doc/openclipart-png/copyright)",
    "B": "crawl-tiles-data: CC0 / public domain tiles of Dungeon Crawl Stone Soup "
         "(see /usr/share/doc/crawl-tiles-data/copyright)",
}


@dataclass(frozen=True)
class Item:
    """One image of the dataset before it is written: its id, pixels and where it came from."""

    domain: str  # "A" or "B"
    key: str  # stable id: relative path (A) or sheet:x,y (B)
    image: np.ndarray  # uint8 (size, size, 3)
    source: dict


# --------------------------------------------------------------------------- pixel operations
def flatten_on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 4)`` -> uint8 ``(H, W, 3)`` composited over white (alpha-weighted, rounded)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def drawing_mask(rgb: np.ndarray, tol: int = 12) -> np.ndarray:
    """Pixels that are not (near-)white: the drawing of a picture flattened on white."""
    return (255 - rgb.astype(np.int16)).max(axis=2) > tol


def square_on_white(rgb: np.ndarray, mask: np.ndarray, margin: float = A_MARGIN) -> np.ndarray | None:
    """Crop to the drawing's box, pad to a square with a white margin; None when there is no drawing."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = rgb[y0:y1, x0:x1]
    h, w = crop.shape[:2]
    side = int(np.ceil(max(h, w) / (1.0 - 2 * margin)))
    canvas = np.full((side, side, 3), 255, dtype=np.uint8)
    oy, ox = (side - h) // 2, (side - w) // 2
    canvas[oy:oy + h, ox:ox + w] = crop
    return canvas


def cartoon_image(rgba: np.ndarray, size: int) -> tuple[np.ndarray | None, str]:
    """One domain-A image from a clip-art picture, or ``(None, reason)`` when it does not fit."""
    rgb = flatten_on_white(rgba) if rgba.shape[2] == 4 else rgba
    mask = drawing_mask(rgb)
    square = square_on_white(rgb, mask)
    if square is None:
        return None, "blank"
    ys, xs = np.nonzero(mask)
    if max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 < MIN_A_SIDE:
        return None, "too small"
    touches_all = mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
    if touches_all and float(mask.mean()) > MAX_A_COVERAGE:
        return None, "no background"
    interp = cv2.INTER_AREA if square.shape[0] >= size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interp), ""


def cut_sprites(sheet: np.ndarray, tile: int = TILE, gap: int = 2
                ) -> list[tuple[np.ndarray, tuple[int, int, int, int], bool]]:
    """Cut a packed RGBA sprite atlas into sprites.

    A sprite is a group of 8-connected components of ``alpha > 0``: starting from the largest
    component, smaller ones whose boxes lie within ``gap`` pixels are added while the group's box
    still fits a ``tile`` x ``tile`` square. Components larger than a tile start no group.

    Returns:
        ``(rgba, (x, y, w, h), touches_edge)`` per group, in sheet reading order; ``rgba`` holds only
        the group's own pixels (others in its box are made transparent).
    """
    if sheet.ndim != 3 or sheet.shape[2] != 4:
        raise ValueError(f"a sprite sheet needs an alpha channel, got shape {sheet.shape}")
    mask = (sheet[..., 3] > 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    order = sorted(range(1, n), key=lambda i: (-int(stats[i, 4]), int(stats[i, 1]), int(stats[i, 0])))
    boxes = {i: (int(stats[i, 0]), int(stats[i, 1]), int(stats[i, 0] + stats[i, 2]), int(stats[i, 1] + stats[i, 3]))
             for i in order}
    claimed: set[int] = set()
    groups: list[tuple[list[int], tuple[int, int, int, int]]] = []
    for i in order:
        if i in claimed:
            continue
        claimed.add(i)
        x0, y0, x1, y1 = boxes[i]
        if x1 - x0 > tile or y1 - y0 > tile:
            continue
        members = [i]
        grown = True
        while grown:
            grown = False
            for j in order:
                if j in claimed:
                    continue
                a0, b0, a1, b1 = boxes[j]
                if a0 > x1 + gap or a1 < x0 - gap or b0 > y1 + gap or b1 < y0 - gap:
                    continue
                nx0, ny0, nx1, ny1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                if nx1 - nx0 <= tile and ny1 - ny0 <= tile:
                    members.append(j)
                    claimed.add(j)
                    x0, y0, x1, y1 = nx0, ny0, nx1, ny1
                    grown = True
        groups.append((members, (x0, y0, x1, y1)))
    out = []
    height, width = mask.shape
    for members, (x0, y0, x1, y1) in sorted(groups, key=lambda g: (g[1][1], g[1][0])):
        sprite = sheet[y0:y1, x0:x1].copy()
        sprite[~np.isin(labels[y0:y1, x0:x1], members)] = 0
        edge = x0 == 0 or y0 == 0 or x1 >= width or y1 >= height
        out.append((sprite, (x0, y0, x1 - x0, y1 - y0), edge))
    return out


def sprite_reason(sprite: np.ndarray, touches_edge: bool, tile: int = TILE) -> str:
    """Why a cut sprite is dropped, or ``""`` when it is kept."""
    if touches_edge:
        return "cut off by the sheet's edge"
    opaque = int((sprite[..., 3] >= 128).sum())
    coverage = opaque / float(tile * tile)
    if coverage < MIN_B_COVERAGE:
        return "fragment (covers under 15 % of a tile)"
    if coverage > MAX_B_COVERAGE:
        return "texture (covers over 75 % of a tile)"
    if opaque / float(sprite.shape[0] * sprite.shape[1]) < MIN_B_SOLIDITY:
        return "sparse (spatter)"
    return ""


def sprite_image(sprite: np.ndarray, size: int, cell: int) -> np.ndarray:
    """Centre a sprite on a white ``size // cell`` canvas, then upscale it by ``cell`` (nearest)."""
    native = size // cell
    h, w = sprite.shape[:2]
    if h > native or w > native:
        raise ValueError(f"a {w}x{h} sprite does not fit a {native}x{native} canvas (--size / --cell)")
    canvas = np.zeros((native, native, 4), dtype=np.uint8)
    oy, ox = (native - h) // 2, (native - w) // 2
    canvas[oy:oy + h, ox:ox + w] = sprite
    rgb = flatten_on_white(canvas)
    return np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)


# --------------------------------------------------------------------------- dataset assembly
def split_of(key: str, seed: int, val_fraction: float, test_fraction: float) -> str:
    """Stable split for one item: a hash of ``(seed, key)`` mapped to [0, 1)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0 ** 64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def clipart_files(root: Path, categories: Sequence[str]) -> list[Path]:
    """Sorted PNG files of the chosen categories (recursively)."""
    files: list[Path] = []
    for category in categories:
        folder = root / category
        if not folder.is_dir():
            raise FileNotFoundError(f"--categories: no folder {folder}")
        files.extend(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".png")
    return sorted(files)


def cartoon_items(root: Path, categories: Sequence[str], size: int) -> Iterable[Item | tuple[str, str]]:
    """Domain-A items, or ``(file, reason)`` for each picture left out."""
    for path in tqdm(clipart_files(root, categories), desc="clip art", unit="img", leave=False):
        rel = path.relative_to(root).as_posix()
        try:
            rgba = load_image(path, keep_alpha=True)
        except ImageLoadError as exc:
            yield rel, f"unreadable ({exc})"
            continue
        image, reason = cartoon_image(rgba, size)
        if image is None:
            yield rel, reason
        else:
            yield Item("A", rel, image, {"file": rel})


def sprite_items(root: Path, sheets: Sequence[str], size: int, cell: int) -> Iterable[Item | tuple[str, str]]:
    """Domain-B items, or ``(sheet:x,y, reason)`` for each sprite left out."""
    for name in sheets:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"--sheets: no sprite sheet {path}")
        sheet = load_image(path, keep_alpha=True)
        if sheet.shape[2] != 4:
            raise ValueError(f"--sheets: {path} has no alpha channel; sprites cannot be cut from it")
        for sprite, (x, y, w, h), edge in cut_sprites(sheet):
            key = f"{name}:{x},{y}"
            reason = sprite_reason(sprite, edge)
            if not reason and max(w, h) > size // cell:
                reason = "larger than the canvas"
            if reason:
                yield key, reason
                continue
            yield Item("B", key, sprite_image(sprite, size, cell),
                       {"sheet": name, "x": x, "y": y, "w": w, "h": h})


def _check_sources(clipart: Path, tiles: Path, categories: Sequence[str], sheets: Sequence[str]) -> None:
    reserved = sorted(set(categories) & set(RESERVED_CATEGORIES)) + sorted(set(sheets) & set(RESERVED_SHEETS))
    if reserved:
        raise ValueError(f"{', '.join(reserved)} are reserved for evaluation and never used for training; "
                         "choose other --categories/--sheets")
    if not clipart.is_dir():
        raise FileNotFoundError(f"--clipart: no folder {clipart}; install the clip art with "
                                f"'sudo apt-get install {CLIPART_PACKAGE}' or pass --clipart DIR")
    if not tiles.is_dir():
        raise FileNotFoundError(f"--tiles: no folder {tiles}; install the tiles with "
                                f"'sudo apt-get install {TILES_PACKAGE}' or pass --tiles DIR")


def make_dataset(dst: str | Path, *, size: int = 256, cell: int = 8, clipart: str | Path = DEFAULT_CLIPART,
                 tiles: str | Path = DEFAULT_TILES, categories: Sequence[str] = DEFAULT_CATEGORIES,
                 sheets: Sequence[str] = DEFAULT_SHEETS, limit: int | None = None, seed: int = 0,
                 val_fraction: float = 0.05, test_fraction: float = 0.1) -> dict:
    """Write the dataset to ``dst`` and return its manifest (also written as ``dst/manifest.json``)."""
    if size % cell:
        raise ValueError(f"--size ({size}) must be a multiple of --cell ({cell})")
    if size // cell < TILE:
        raise ValueError(f"--size / --cell must be at least {TILE} (a whole tile), got {size // cell}")
    clipart, tiles, dst = Path(clipart), Path(tiles), Path(dst)
    _check_sources(clipart, tiles, categories, sheets)
    kept: dict[str, dict[str, list[Item]]] = {d: {s: [] for s in SPLITS} for d in "AB"}
    dropped: dict[str, dict[str, int]] = {"A": {}, "B": {}}
    sources = (("A", cartoon_items(clipart, categories, size)), ("B", sprite_items(tiles, sheets, size, cell)))
    for domain, stream in sources:
        for entry in stream:
            if isinstance(entry, Item):
                kept[domain][split_of(entry.key, seed, val_fraction, test_fraction)].append(entry)
            else:
                reason = entry[1].split(" (")[0]
                dropped[domain][reason] = dropped[domain].get(reason, 0) + 1
    rng = np.random.default_rng(seed)
    for domain in "AB":
        train = kept[domain]["train"]
        if limit is not None and len(train) > limit:
            pick = np.sort(rng.choice(len(train), size=limit, replace=False))
            kept[domain]["train"] = [train[i] for i in pick]
    manifest: dict = {"size": size, "cell": cell, "seed": seed, "limit": limit, "licences": LICENCES,
                      "clipart": str(clipart), "categories": list(categories), "tiles": str(tiles),
                      "sheets": list(sheets), "dropped": dropped, "images": {}}
    for domain in "AB":
        for split in SPLITS:
            folder = dst / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            records = []
            for index, item in enumerate(kept[domain][split]):
                name = f"{index:05d}.png"
                save_image(folder / name, item.image)
                records.append({"name": name, **item.source})
            manifest["images"][f"{split}{domain}"] = records
    atomic_write_text(dst / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


# --------------------------------------------------------------------------- command line
def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="make_cartoon2pixel", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Build the cartoon (openclipart-png) -> pixel art (crawl-tiles-data) dataset offline.")
    p.add_argument("dst", help="output folder (trainA/ trainB/ valA/ valB/ testA/ testB/ manifest.json)")
    p.add_argument("--size", type=positive_int, default=256, help="side of every image in pixels")
    p.add_argument("--cell", type=positive_int, default=8, help="pixel-art cell size (sprite upscale factor)")
    p.add_argument("--clipart", default=str(DEFAULT_CLIPART), help="clip-art folder (one sub-folder a category)")
    p.add_argument("--tiles", default=str(DEFAULT_TILES), help="folder of the Crawl sprite sheets")
    p.add_argument("--categories", type=_names, default=list(DEFAULT_CATEGORIES),
                   help="comma-separated clip-art categories (animals and plants are reserved)")
    p.add_argument("--sheets", type=_names, default=list(DEFAULT_SHEETS),
                   help="comma-separated sprite sheets (main.png is reserved)")
    p.add_argument("--limit", type=positive_int, default=None, help="training images per domain (seeded subset)")
    p.add_argument("--val_fraction", type=fraction, default=0.05, help="share of items for valA/valB")
    p.add_argument("--test_fraction", type=fraction, default=0.1, help="share of items for testA/testB")
    p.add_argument("--seed", type=int, default=0, help="seed of the splits and of --limit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; 0 on success, 2 for bad flags or missing sources, 1 when nothing was written."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    if args.val_fraction + args.test_fraction >= 1.0:
        parser.error("--val_fraction + --test_fraction must be below 1")
    try:
        manifest = make_dataset(args.dst, size=args.size, cell=args.cell, clipart=args.clipart, tiles=args.tiles,
                                categories=args.categories, sheets=args.sheets, limit=args.limit, seed=args.seed,
                                val_fraction=args.val_fraction, test_fraction=args.test_fraction)
    except (FileNotFoundError, ValueError) as exc:
        print(f"make_cartoon2pixel: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"make_cartoon2pixel: error: cannot write {args.dst}: {exc}", file=sys.stderr)
        return 1
    counts = {k: len(v) for k, v in manifest["images"].items()}
    dropped = {d: sum(v.values()) for d, v in manifest["dropped"].items()}
    print("done: " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f"; left out: A {dropped['A']}, B {dropped['B']} (reasons in manifest.json)")
    if counts["trainA"] == 0 or counts["trainB"] == 0:
        print("make_cartoon2pixel: error: a training domain is empty; check --categories/--sheets", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
