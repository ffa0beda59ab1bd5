"""Build the cartoon -> pixel-art training set from Debian packages, offline.

Usage::

    sudo apt-get install openclipart-png crawl-tiles-data [angband-data freeciv-data]
    python -m datasets.make_cartoon2pixel OUT [--size 256] [--cell 8]
        [--clipart DIR] [--tiles DIR] [--styles crawl[,bolt,gervais,trident] | all]
        [--holdout_style NAME] [--limit N] [--seed 0] [--overwrite]

* **Domain A** (``trainA``/``valA``/``testA``): public-domain clip art from ``openclipart-png``
  (``/usr/share/openclipart/png/<category>/``). Each picture is flattened on white, cropped to its
  drawing, padded to a square with a thin white margin (so the object fills the frame the way a
  sprite fills its tile) and resized to ``--size`` (INTER_AREA). Pictures without a background
  (photos, full-frame scenes: the drawing touches all four edges and covers more than
  ``MAX_A_COVERAGE`` of the picture) and tiny ones are left out.
* **Domain B** (``trainB``/``valB``/``testB``): hand-made pixel art at its native resolution, from
  one or more *styles* (``--styles``, default ``crawl``; ``all``: every style whose package is
  installed). A style is one artist's set of sprite sheets in one Debian package (:data:`STYLES`):

  ===========  ====================  =================  =============================================
  style        package               licence            sheets (sprites kept at 64 px / 2-px cells)
  ===========  ====================  =================  =============================================
  ``crawl``    ``crawl-tiles-data``  Public Domain|CC0  Dungeon Crawl Stone Soup, ``player.png`` and
                                                        ``feat.png``: packed 32 px atlas (~425)
  ``bolt``     ``angband-data``      public-domain      Adam Bolt's 16x16 Angband tiles,
                                                        ``16x16.png``: 16 px grid (~1270)
  ``gervais``  ``angband-data``      CC-BY-3            David Gervais' 32x32 Angband tiles,
                                                        ``32x32.png``: 32 px grid (~1570)
  ``trident``  ``freeciv-data``      GPL-2+             Freeciv's "trident" tileset: units, extra
                                                        units and cities on a 30 px grid (~185)
  ===========  ====================  =================  =============================================

  Each style's copyright file is ``/usr/share/doc/<package>/copyright``; CC-BY-3 and GPL-2+ ask for
  credit (and GPL-2+ for its terms to travel with the art): ``manifest.json`` keeps both.

  A packed atlas (Crawl's sheets have transparency) is cut into groups of alpha-connected components
  that fit a tile (fragments a couple of pixels apart are grouped; :func:`datasets.crawl.cut_packed_atlas`);
  a grid sheet is cut cell by cell, each sprite cropped to its opaque pixels
  (:func:`datasets.crawl.cut_grid_tiles`; a style may name a flat key colour that counts as transparent). Sprites cut off by the sheet's edge, larger than a
  tile, empty-ish (opaque area under 15 % of the style's tile: doll fragments, splashes) or
  tile-filling (over 75 %: floor and wall textures) are dropped, and so are sparse ones (opaque area
  under 30 % of their own box: blood spatter). The rest is centred on a white ``size // cell``
  square canvas and upscaled by ``cell`` with nearest neighbour, so every art pixel is ``cell`` x
  ``cell`` output pixels and perfectly crisp. All styles share that one pixel size, so a 16 px Bolt
  sprite fills less of the canvas than a 32 px Crawl one.

**Reserved for evaluation, never written here:** the clip-art categories ``animals`` and
``plants``, the Crawl sheet ``main.png`` and the package ``tecnoballz-data``; asking for them (or a
style that points at them) is an error. Category and sheet names are paths inside ``--clipart`` and
``--tiles``, normalised before the split key and the reserved check (``./feat.png``, ``feat.png/``
and ``feat.png`` are the same sheet; a name outside its folder is refused).

Splits are drawn per source item from ``--seed`` (a stable hash of the item's id), so adding files
never moves existing ones between splits, and the dataset is byte-identical for a seed (a sprite's
id is ``sheet:x,y``, prefixed with ``style/`` for every style but ``crawl``). ``--holdout_style NAME``
sends that whole style to ``testB`` (never to ``trainB`` or ``valB``), so a benchmark can measure
generalisation to a pixel-art style the model never saw; it joins ``--styles`` when not named there.
``--limit N`` bounds every split of each domain: ``N`` training images and validation and test images
in proportion (:func:`split_quotas`). Items are taken in a seeded hash order, so an item's split
never depends on ``N`` and a smaller ``N`` keeps a subset of a larger one's items; clip art is read
only until each split holds its quota (a build without ``--limit`` reads everything). In domain B
each split's quota is shared evenly among the training styles (a style with fewer sprites gives its
unused share to the others), so one style does not dominate; a held-out style keeps its whole
``testB``. Without ``--limit`` the output is what it always was, byte for byte.
``manifest.json`` lists every written image with its source file (and sheet position for sprites);
every B entry names its ``style``, ``package`` and ``licence``, and ``licences`` credits every style
used (package, licence, authors, copyright file). Inputs are never modified.

OUT must be new or empty: a non-empty OUT is refused (an earlier build's images would stay and an
item could land in two splits) unless ``--overwrite`` is given, which deletes only what this tool
writes (the six split folders and ``manifest.json``) before the build. The images are written into a
hidden folder inside OUT and moved into place at the end, ``manifest.json`` last, so Ctrl-C (exit
status 130) or an error leaves no partial build, and a folder left by a killed run is recognised and
removed by the next one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from datasets.crawl import (
    PACKAGE,
    RESERVED_CATEGORIES,
    RESERVED_PACKAGES,
    RESERVED_SHEETS,
    TILE,
    TILES_DIR,
    cut_grid_tiles,
    cut_packed_atlas,
    flatten_on_white,
)
from datasets.make_paired_pixelart import MANIFEST, BuildFolder
from util.argtypes import fraction, positive_int
from util.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, FlagError, error, exit_status
from util.image import ImageLoadError, load_image, save_image

logger = logging.getLogger(__name__)

DEFAULT_CLIPART = Path("/usr/share/openclipart/png")
CLIPART_PACKAGE = "openclipart-png"

#: Clip-art categories used by default: pictures of things and people, not logos, maps or icons.
DEFAULT_CATEGORIES = ("people", "food", "recreation", "transportation", "buildings", "tools", "office",
                      "containers", "decorations", "education", "electronics", "science", "special", "unsorted")
DEFAULT_SHEETS = ("player.png", "feat.png")

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
#: What the tool writes in OUT (``--overwrite`` deletes these and nothing else).
OUTPUTS = tuple(f"{split}{domain}" for domain in "AB" for split in SPLITS) + (MANIFEST,)

LICENCES = {
    "A": "openclipart-png: public domain (Open Clip Art Library; see /usr/share/doc/openclipart-png/copyright)",
}


@dataclass(frozen=True)
class Sheet:
    """One image of a style and how its sprites are laid out.

    ``grid=False``: a packed atlas, cut into alpha-connected groups that fit the style's tile
    (:func:`~datasets.crawl.cut_packed_atlas`). ``grid=True``: sprites sit on a fixed grid of tile x tile
    cells whose first cell starts at ``origin`` (x, y), with ``border`` pixels between cells
    (:func:`~datasets.crawl.cut_grid_tiles`).
    """

    name: str  # file name, relative to the style's folder
    grid: bool = False
    origin: tuple[int, int] = (0, 0)
    border: int = 0


@dataclass(frozen=True)
class Style:
    """One domain-B pixel-art style: one artist's sprite sheets in one Debian package, with its licence."""

    name: str
    package: str  # the Debian package that installs ``folder``
    folder: Path
    sheets: tuple[Sheet, ...]
    tile: int  # largest sprite side (atlas) or cell side (grid), in art pixels
    licence: str  # the licence as the package's copyright file names it
    credit: str  # the authors and the work, for attribution
    copyright: str  # the package's copyright file
    key: tuple[int, int, int] | None = None  # a flat background colour (RGB) that counts as transparent

    def licence_line(self) -> str:
        """One line for the manifest: package, licence, credit and where the licence is written."""
        return f"{self.package}: {self.licence} ({self.credit}; see {self.copyright})"


#: The default style: the one domain B always had; its sprites keep the split keys they always had.
DEFAULT_STYLE = "crawl"
_ANGBAND_GRAF = Path("/usr/share/angband/xtra/graf")
#: Every known domain-B style, by name (``--styles``). All are hand-made pixel art at native resolution.
STYLES: dict[str, Style] = {style.name: style for style in (
    Style("crawl", PACKAGE, TILES_DIR, tuple(Sheet(name) for name in DEFAULT_SHEETS), TILE,
          "Public Domain|CC0", "Dungeon Crawl Stone Soup tiles, RLTiles contributors",
          "/usr/share/doc/crawl-tiles-data/copyright"),
    Style("bolt", "angband-data", _ANGBAND_GRAF, (Sheet("16x16.png", grid=True),), 16,
          "public-domain", "Adam Bolt's 16x16 Angband tiles, 1998: 'may be redistributed and used for any "
          "purpose, with or without modification'", "/usr/share/doc/angband-data/copyright"),
    Style("gervais", "angband-data", _ANGBAND_GRAF, (Sheet("32x32.png", grid=True),), 32,
          "CC-BY-3", "David Gervais' 32x32 Angband tiles, 1999", "/usr/share/doc/angband-data/copyright"),
    Style("trident", "freeciv-data", Path("/usr/share/games/freeciv/trident"),
          (Sheet("units.png", grid=True), Sheet("extra_units.png", grid=True, origin=(1, 1), border=1),
           Sheet("cities.png", grid=True)), 30,
          "GPL-2+", "Freeciv 'trident' tileset: Tatu Rissanen, The Square Cow, XYZ, VladimirSlavik, ngunjaca, "
          "danau and the Freeciv project", "/usr/share/doc/freeciv-data/copyright"),
)}


@dataclass(frozen=True)
class Item:
    """One image of the dataset before it is written: its id, pixels and where it came from."""

    domain: str  # "A" or "B"
    key: str  # stable id: relative path (A) or [style/]sheet:x,y (B)
    image: np.ndarray  # uint8 (size, size, 3)
    source: dict


# --------------------------------------------------------------------------- pixel operations
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


def with_key(image: np.ndarray, key: tuple[int, int, int] | None) -> np.ndarray:
    """RGBA copy of an RGB(A) sheet where pixels of the flat ``key`` colour are transparent.

    Without a key an RGBA sheet is returned as it is; an RGB one is refused (no way to tell sprite
    from background).
    """
    if key is None:
        if image.ndim != 3 or image.shape[2] != 4:
            raise ValueError("the sheet has no alpha channel and the style names no key colour")
        return image
    rgba = np.empty(image.shape[:2] + (4,), dtype=np.uint8)
    rgba[..., :3] = image[..., :3]
    rgba[..., 3] = image[..., 3] if image.shape[2] == 4 else 255
    rgba[(image[..., :3] == np.asarray(key, dtype=np.uint8)).all(axis=2)] = 0
    return rgba


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


def cartoon_entry(path: Path, root: Path, size: int) -> Item | tuple[str, str]:
    """The domain-A item of one clip-art file, or ``(file, reason)`` when it is left out."""
    rel = path.relative_to(root).as_posix()
    try:
        rgba = load_image(path, keep_alpha=True)
    except ImageLoadError as exc:
        return rel, f"unreadable ({exc})"
    image, reason = cartoon_image(rgba, size)
    if image is None:
        return rel, reason
    return Item("A", rel, image, {"file": rel})


def cartoon_items(root: Path, categories: Sequence[str], size: int) -> Iterable[Item | tuple[str, str]]:
    """Domain-A items, or ``(file, reason)`` for each picture left out."""
    for path in tqdm(clipart_files(root, categories), desc="clip art", unit="img", leave=False):
        yield cartoon_entry(path, root, size)


def style_items(style: Style, size: int, cell: int, render: bool = True) -> Iterable[Item | tuple[str, str]]:
    """Domain-B items of one style, or ``([style/]sheet:x,y, reason)`` for each sprite left out.

    ``render=False`` keeps each item's cut RGBA sprite as its ``image`` (small; :func:`sprite_image`
    renders it later), for when only some items will be written.
    """
    flag = _style_flag(style)
    # The default style keeps the keys it always had, so its sprites never move between splits.
    prefix = "" if style.name == DEFAULT_STYLE else f"{style.name}/"
    for sheet in style.sheets:
        path = style.folder / sheet.name
        if not path.is_file():
            raise FileNotFoundError(f"{flag}: no sprite sheet {path} (package {style.package})")
        image = load_image(path, keep_alpha=True)  # ImageLoadError: an unreadable sheet
        try:
            rgba = with_key(image, style.key)
        except ValueError:
            raise ValueError(f"{flag}: {path} has no alpha channel; sprites cannot be cut from it") from None
        if sheet.grid:
            cuts = cut_grid_tiles(rgba, style.tile, sheet.origin, sheet.border)
        else:
            cuts = cut_packed_atlas(rgba, style.tile)
        for sprite, (x, y, w, h), edge in cuts:
            key = f"{prefix}{sheet.name}:{x},{y}"
            reason = sprite_reason(sprite, edge, style.tile)
            if not reason and max(w, h) > size // cell:
                reason = "larger than the canvas"
            if reason:
                yield key, reason
                continue
            yield Item("B", key, sprite_image(sprite, size, cell) if render else sprite,
                       {"style": style.name, "package": style.package, "licence": style.licence,
                        "sheet": sheet.name, "x": x, "y": y, "w": w, "h": h})


def _style_flag(style: Style) -> str:
    """The flag that chose ``style``'s files, for error messages."""
    return "--sheets" if style.name == DEFAULT_STYLE else f"--styles {style.name}"


def _valid_styles(registry: Mapping[str, Style]) -> str:
    return ", ".join(["all", *registry])


def resolve_styles(names: Sequence[str], holdout: str | None = None,
                   registry: Mapping[str, Style] | None = None) -> list[Style]:
    """The styles ``names`` ask for, in the order given, with ``holdout`` added when not among them.

    ``all`` stands for every style of ``registry`` (default :data:`STYLES`) whose folder exists, i.e.
    whose package is installed. Unknown names raise ``ValueError`` naming the flag and the valid names.
    """
    registry = STYLES if registry is None else registry
    for flag, asked in (("--styles", list(names)), ("--holdout_style", [holdout] if holdout else [])):
        unknown = [n for n in asked if n not in registry and not (n == "all" and flag == "--styles")]
        if unknown:
            raise ValueError(f"{flag}: unknown style {', '.join(map(repr, unknown))}; valid: "
                             f"{_valid_styles(registry) if flag == '--styles' else ', '.join(registry)}")
    if "all" in names:
        chosen = [style for style in registry.values() if style.folder.is_dir()]
        missing = [f"{style.name} ({style.package})" for style in registry.values() if not style.folder.is_dir()]
        if missing:
            logger.info("--styles all: not installed, left out: %s", ", ".join(missing))
        if not chosen:
            packages = " ".join(dict.fromkeys(style.package for style in registry.values()))
            raise FileNotFoundError(f"--styles all: no style's package is installed; "
                                    f"install them with 'sudo apt-get install {packages}'")
    else:
        chosen = [registry[name] for name in dict.fromkeys(names)]
    if holdout and all(style.name != holdout for style in chosen):
        chosen.append(registry[holdout])
    return chosen


def normalise_name(name: str, folder: str | Path, flag: str, what: str) -> str:
    """``name`` as a clean path inside ``folder``, the one spelling used for split keys and reserved names.

    ``./x``, ``x/``, ``a/../x`` and the absolute path of ``FOLDER/x`` all give
    ``x``. A name outside ``folder`` (``../x``, an absolute path elsewhere) or naming the folder itself
    raises :class:`~util.cli.FlagError` naming ``flag``; ``what`` says what to name instead.
    """
    base = os.path.abspath(folder)
    rel = os.path.relpath(os.path.normpath(os.path.join(base, name.strip())), base)
    if rel in (os.curdir, os.pardir) or rel.startswith(os.pardir + os.sep):
        raise FlagError(f"{flag}: {name!r} is not inside {folder}; name a {what} inside that folder")
    return Path(rel).as_posix()


def _resolved_parts(folder: Path, name: str) -> tuple[str, ...]:
    """The parts of ``folder/name`` relative to ``folder`` once symbolic links are followed (or ``()``)."""
    try:
        return (folder / name).resolve().relative_to(folder.resolve()).parts
    except (OSError, ValueError):
        return ()


def _reserved(clipart: Path, categories: Sequence[str], tiles: Path | None, sheets: Sequence[str]) -> list[str]:
    """The reserved names among (normalised) ``categories`` and Crawl ``sheets``, also through symbolic links."""
    hits = []
    for name in categories:
        for parts in (tuple(name.split("/")), _resolved_parts(clipart, name)):
            if parts and parts[0] in RESERVED_CATEGORIES:
                hits.append(name if parts[0] == name else f"{name} ({parts[0]})")
                break
    for name in sheets:
        targets = [Path(name).name] + ([Path(name).resolve().name] if tiles is None else
                                       [(tiles / name).resolve().name])
        bad = [t for t in targets if t in RESERVED_SHEETS]
        if bad:
            hits.append(name if bad[0] == name else f"{name} ({bad[0]})")
    return hits


def _check_sources(clipart: Path, styles: Sequence[Style], categories: Sequence[str], sheets: Sequence[str],
                   holdout: str | None, tiles: Path | None = None) -> None:
    reserved = _reserved(clipart, categories, tiles, sheets)
    if reserved:
        raise FlagError(f"{', '.join(reserved)} are reserved for evaluation and never used for training; "
                        "choose other --categories/--sheets")
    for style in styles:
        folder_words = {part.lower() for part in style.folder.parts}
        sheet_names = {Path(sheet.name).name for sheet in style.sheets}
        sheet_names |= {(style.folder / sheet.name).resolve().name for sheet in style.sheets}
        bad = sorted({style.package} & set(RESERVED_PACKAGES)
                     | {p for p in RESERVED_PACKAGES if p.split("-")[0] in folder_words}
                     | sheet_names & set(RESERVED_SHEETS))
        if bad:
            raise FlagError(f"{_style_flag(style)}: the style uses {', '.join(bad)}, reserved for evaluation "
                            "and never used for training")
    if not clipart.is_dir():
        raise FileNotFoundError(f"--clipart: no folder {clipart}; install the clip art with "
                                f"'sudo apt-get install {CLIPART_PACKAGE}' or pass --clipart DIR")
    for style in styles:
        if style.name == DEFAULT_STYLE and not style.folder.is_dir():
            raise FileNotFoundError(f"--tiles: no folder {style.folder}; install the tiles with "
                                    f"'sudo apt-get install {style.package}' or pass --tiles DIR")
        if not style.folder.is_dir():
            raise FileNotFoundError(f"--styles {style.name}: no folder {style.folder}; install the package with "
                                    f"'sudo apt-get install {style.package}'")
        for sheet in style.sheets:
            if not (style.folder / sheet.name).is_file():
                raise FileNotFoundError(f"{_style_flag(style)}: no sprite sheet {style.folder / sheet.name} "
                                        f"(package {style.package})")
    if holdout and all(style.name == holdout for style in styles):
        raise ValueError(f"--holdout_style {holdout}: no other style is left for trainB; add one with --styles")


def balanced_quota(available: Mapping[str, int], limit: int) -> dict[str, int]:
    """Share ``limit`` training images among groups (styles) as evenly as their sizes allow.

    Groups are served from the smallest up, each taking ``min(its size, an equal share of what is
    left)``, so a small group's unused share goes to the larger ones; the quotas add up to
    ``min(limit, sum of sizes)``. Equal sizes are served in the given order (the last ones take the
    remainder of an uneven share).
    """
    quota: dict[str, int] = {}
    remaining = limit
    order = sorted(available, key=lambda name: available[name])  # stable: ties keep the given order
    for index, name in enumerate(order):
        quota[name] = min(available[name], remaining // (len(order) - index))
        remaining -= quota[name]
    return {name: quota[name] for name in available}


def split_quotas(limit: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """Images per split of one domain under ``--limit``: ``limit`` training images, and validation and
    test images in proportion to their fractions (``limit * fraction / train fraction``, rounded, at
    least 1 for a non-zero fraction)."""
    train_share = 1.0 - val_fraction - test_fraction

    def share(part: float) -> int:
        return max(1, round(limit * part / train_share)) if part > 0 else 0

    return {"train": limit, "val": share(val_fraction), "test": share(test_fraction)}


def _rank(key: str, seed: int) -> bytes:
    """Where an item comes in the seeded order ``--limit`` samples in (independent of its split)."""
    return hashlib.sha256(f"{seed}:limit:{key}".encode()).digest()


class _Writer:
    """Writes items as ``<split><domain>/00000.png, 00001.png, ...`` in arrival order and keeps their records."""

    def __init__(self, root: Path):
        self.root = root
        self.records: dict[str, list[dict]] = {name: [] for name in OUTPUTS if name != MANIFEST}
        for name in self.records:
            (root / name).mkdir(parents=True, exist_ok=True)

    def write(self, domain: str, split: str, item: Item) -> None:
        folder = f"{split}{domain}"
        name = f"{len(self.records[folder]):05d}.png"
        save_image(self.root / folder / name, item.image)
        self.records[folder].append({"name": name, **item.source})


def make_dataset(dst: str | Path, *, size: int = 256, cell: int = 8, clipart: str | Path = DEFAULT_CLIPART,
                 tiles: str | Path | None = None, categories: Sequence[str] = DEFAULT_CATEGORIES,
                 sheets: Sequence[str] | None = None, styles: Sequence[str] = (DEFAULT_STYLE,),
                 holdout_style: str | None = None, limit: int | None = None, seed: int = 0,
                 val_fraction: float = 0.05, test_fraction: float = 0.1,
                 registry: Mapping[str, Style] | None = None, overwrite: bool = False) -> dict:
    """Write the dataset to ``dst`` and return its manifest (also written as ``dst/manifest.json``).

    ``styles`` are names of ``registry`` (default :data:`STYLES`) or ``all``; ``tiles`` and ``sheets``
    relocate the default ``crawl`` style (None: the registry's folder and sheets). Category and sheet
    names are normalised inside their folders (:func:`normalise_name`). ``holdout_style`` goes to
    ``testB`` only. ``limit`` bounds every split (:func:`split_quotas`; in domain B shared evenly
    among the styles, :func:`balanced_quota`), reading clip art only until the quotas are filled; the
    held-out style's ``testB`` stays whole. ``dst`` must be new or empty unless ``overwrite`` (which
    deletes the tool's :data:`OUTPUTS` there first); on an error or Ctrl-C no partial build is left
    (:class:`~datasets.make_paired_pixelart.BuildFolder`).
    """
    if size % cell:
        raise ValueError(f"--size ({size}) must be a multiple of --cell ({cell})")
    if val_fraction + test_fraction >= 1.0:
        raise FlagError("--val_fraction + --test_fraction must be below 1")
    registry = dict(STYLES if registry is None else registry)
    clipart, dst = Path(clipart), Path(dst)
    if DEFAULT_STYLE in registry and (tiles is not None or sheets is not None):
        base = registry[DEFAULT_STYLE]
        folder = base.folder if tiles is None else Path(tiles)
        if sheets is not None:
            sheets = list(dict.fromkeys(normalise_name(name, folder, "--sheets", "sprite sheet (e.g. feat.png)")
                                        for name in sheets))
        registry[DEFAULT_STYLE] = replace(
            base, folder=folder, sheets=base.sheets if sheets is None else tuple(Sheet(name) for name in sheets))
    categories = list(dict.fromkeys(normalise_name(name, clipart, "--categories", "category folder (e.g. people)")
                                    for name in categories))
    chosen = resolve_styles(styles, holdout_style, registry)
    need = max(style.tile for style in chosen)
    if size // cell < need:
        raise ValueError(f"--size / --cell must be at least {need} (a whole tile), got {size // cell}")
    crawl = registry.get(DEFAULT_STYLE)
    crawl_sheets = [sheet.name for sheet in crawl.sheets] if crawl is not None else []
    _check_sources(clipart, chosen, categories, crawl_sheets if sheets is None else sheets, holdout_style,
                   crawl.folder if crawl is not None else None)
    out = BuildFolder(dst, OUTPUTS, "make_cartoon2pixel", overwrite)
    out.check()
    files = clipart_files(clipart, categories)
    root = out.open()
    try:
        manifest = _build(root, files, chosen, registry, size=size, cell=cell, clipart=clipart, categories=categories,
                          sheets=crawl_sheets if sheets is None else list(sheets), holdout_style=holdout_style,
                          limit=limit, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
        out.finish(json.dumps(manifest, indent=1) + "\n")
    except BaseException:
        out.discard()
        raise
    return manifest


def _build(root: Path, files: Sequence[Path], chosen: Sequence[Style], registry: Mapping[str, Style], *, size: int,
           cell: int, clipart: Path, categories: Sequence[str], sheets: Sequence[str], holdout_style: str | None,
           limit: int | None, seed: int, val_fraction: float, test_fraction: float) -> dict:
    """Write the images under ``root`` (the staging folder) and return the manifest."""
    writer = _Writer(root)
    dropped: dict[str, dict[str, int]] = {"A": {}, "B": {}}
    by_style: dict[str, dict] = {style.name: {"package": style.package, "folder": str(style.folder),
                                              "sheets": [sheet.name for sheet in style.sheets], "tile": style.tile,
                                              "dropped": {}} for style in chosen}
    quotas = None if limit is None else split_quotas(limit, val_fraction, test_fraction)

    def split(key: str) -> str:
        return split_of(key, seed, val_fraction, test_fraction)

    def drop(domain: str, entry: tuple[str, str], style_name: str = "") -> None:
        reason = entry[1].split(" (")[0]
        dropped[domain][reason] = dropped[domain].get(reason, 0) + 1
        if style_name:
            counts = by_style[style_name]["dropped"]
            counts[reason] = counts.get(reason, 0) + 1

    # Domain A: without --limit every file in sorted order, written as it is read; with --limit only the
    # files needed, in seeded order, until every split holds its quota (an item's split never changes).
    read = len(files)
    if quotas is None:
        for path in tqdm(files, desc="clip art", unit="img", leave=False):
            entry = cartoon_entry(path, clipart, size)
            if isinstance(entry, Item):
                writer.write("A", split(entry.key), entry)
            else:
                drop("A", entry)
    else:
        keys = [path.relative_to(clipart).as_posix() for path in files]
        splits = [split(key) for key in keys]
        target = sum(min(quotas[s], splits.count(s)) for s in SPLITS)
        logger.info("--limit %d: at most %s; clip art is read in a seeded order until they are filled", limit,
                    ", ".join(f"{quotas[s]} {s}" for s in SPLITS))
        picked: dict[str, list[tuple[int, Item]]] = {s: [] for s in SPLITS}
        read = 0
        with tqdm(total=target, desc="clip art", unit="img", leave=False) as bar:
            for index in sorted(range(len(files)), key=lambda i: _rank(keys[i], seed)):
                if all(len(picked[s]) >= quotas[s] for s in SPLITS):
                    break
                if len(picked[splits[index]]) >= quotas[splits[index]]:
                    continue
                entry = cartoon_entry(files[index], clipart, size)
                read += 1
                if isinstance(entry, Item):
                    picked[splits[index]].append((index, entry))
                    bar.update()
                else:
                    drop("A", entry)
        logger.info("--limit %d: read %d of %d clip-art files", limit, read, len(files))
        for s in SPLITS:
            for _, item in sorted(picked[s], key=lambda pair: pair[0]):
                writer.write("A", s, item)

    # Domain B: every sheet is cut (cheap); with --limit the sprites are rendered only once picked.
    pending: list[tuple[str, Item]] = []
    for style in chosen:
        held_out = style.name == holdout_style
        for entry in style_items(style, size, cell, render=quotas is None):
            if not isinstance(entry, Item):
                drop("B", entry, style.name)
                continue
            where = "test" if held_out else split(entry.key)
            if quotas is None:
                writer.write("B", where, entry)
            else:
                pending.append((where, entry))
    if quotas is not None:
        keep = {i for i, (_, item) in enumerate(pending) if item.source["style"] == holdout_style}
        for s in SPLITS:
            groups: dict[str, list[int]] = {}
            for i, (where, item) in enumerate(pending):
                if where == s and item.source["style"] != holdout_style:
                    groups.setdefault(item.source["style"], []).append(i)
            quota = balanced_quota({name: len(items) for name, items in groups.items()}, quotas[s])
            if s == "train" and len(groups) > 1:
                logger.info("--limit %d: trainB per style %s", limit,
                            ", ".join(f"{name} {quota[name]} of {len(items)}" for name, items in groups.items()))
            for name, items in groups.items():
                keep.update(sorted(items, key=lambda i: _rank(pending[i][1].key, seed))[:quota[name]])
        for i, (where, item) in enumerate(pending):
            if i in keep:
                writer.write("B", where, replace(item, image=sprite_image(item.image, size, cell)))

    licences = {**LICENCES, "B": "; ".join(style.licence_line() for style in chosen),
                "styles": {style.name: {"package": style.package, "licence": style.licence, "credit": style.credit,
                                        "copyright": style.copyright} for style in chosen}}
    limited = {} if quotas is None else {"limited": {"quota_per_domain": quotas, "clipart_read": read,
                                                     "clipart_files": len(files)}}
    manifest: dict = {"size": size, "cell": cell, "seed": seed, "limit": limit, **limited, "licences": licences,
                      "clipart": str(clipart), "categories": list(categories),
                      "tiles": str(registry[DEFAULT_STYLE].folder) if DEFAULT_STYLE in registry else None,
                      "sheets": list(sheets), "styles": by_style, "holdout_style": holdout_style,
                      "dropped": dropped, "images": writer.records}
    for name, info in by_style.items():
        info["images"] = {f"{s}B": sum(r["style"] == name for r in writer.records[f"{s}B"]) for s in SPLITS}
    return manifest


# --------------------------------------------------------------------------- command line
def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _style_names(text: str) -> list[str]:
    """argparse type of --styles: known style names (or ``all``), comma-separated, duplicates dropped."""
    names = list(dict.fromkeys(_names(text)))
    unknown = [n for n in names if n != "all" and n not in STYLES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown style {', '.join(map(repr, unknown))}; "
                                         f"valid: {_valid_styles(STYLES)}")
    return ["all"] if "all" in names else names


def _style_name(text: str) -> str:
    """argparse type of --holdout_style: one known style name."""
    name = text.strip()
    if name not in STYLES:
        raise argparse.ArgumentTypeError(f"unknown style {name!r}; valid: {', '.join(STYLES)}")
    return name


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="make_cartoon2pixel", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Build the cartoon (openclipart-png) -> pixel art (crawl-tiles-data and other pixel-art "
                    "packages) dataset offline.",
        epilog="Time and memory: the time goes into decoding clip art. Without --limit every picture of the "
               "chosen categories is read (about 9 minutes on one core for the 14 default ones) and each image "
               "is written as soon as it is made, so peak memory is set by the largest picture: about 40 bytes "
               "a pixel (350 MB for a 3000 x 3000 PNG) on top of ~150 MB. --limit N reads only the pictures "
               "its splits need and holds their images (200 KB each at --size 256) until the end: --limit 20 "
               "takes seconds. Sprite sheets are small: domain B adds seconds. The build goes to a hidden "
               "folder in OUT and is moved into place at the end, so Ctrl-C (exit status 130) or an error "
               "leaves no partial build.")
    p.add_argument("dst", metavar="OUT",
                   help="output folder, new or empty (trainA/ valA/ testA/ trainB/ valB/ testB/ manifest.json)")
    p.add_argument("--overwrite", action="store_true",
                   help="build over a non-empty OUT: delete its six split folders and manifest.json first (other "
                        "files are kept); without it a non-empty OUT is refused")
    p.add_argument("--size", type=positive_int, default=256, help="side of every image in pixels")
    p.add_argument("--cell", type=positive_int, default=8, help="pixel-art cell size (sprite upscale factor)")
    p.add_argument("--clipart", default=str(DEFAULT_CLIPART), help="clip-art folder (one sub-folder a category)")
    p.add_argument("--tiles", default=str(TILES_DIR), help="folder of the Crawl sprite sheets (style crawl)")
    # string defaults: argparse runs them through the type, and --help shows them as the flag takes them
    p.add_argument("--categories", type=_names, default=",".join(DEFAULT_CATEGORIES),
                   help="comma-separated clip-art categories, folders inside --clipart (animals and plants are "
                        "reserved)")
    p.add_argument("--sheets", type=_names, default=",".join(DEFAULT_SHEETS),
                   help="comma-separated Crawl sprite sheets of style crawl, files inside --tiles (main.png is "
                        "reserved)")
    p.add_argument("--styles", type=_style_names, default=DEFAULT_STYLE,
                   help="comma-separated pixel-art styles of domain B, or all (every style whose package is "
                        f"installed); one of: {', '.join(f'{s.name} ({s.package})' for s in STYLES.values())}")
    p.add_argument("--holdout_style", type=_style_name, default=None,
                   help="a style written to testB only (never trainB/valB), to measure generalisation to an "
                        "unseen style; joins --styles when not named there")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="bound every split: at most N training images per domain and validation/test images in "
                        "proportion (N x fraction / training fraction: 59 and 118 for N=1000 with the default "
                        "fractions); in B each split is shared evenly among the training styles, and a "
                        "--holdout_style keeps its whole testB. Only the clip art needed is read, in a seeded "
                        "order; an item's split never depends on N")
    p.add_argument("--val_fraction", type=fraction, default=0.05, help="share of items for valA/valB")
    p.add_argument("--test_fraction", type=fraction, default=0.1, help="share of items for testA/testB")
    p.add_argument("--seed", type=int, default=0, help="seed of the splits and of --limit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; the exit status follows :mod:`util.cli`: 0 done, 2 bad flags, sources or OUT (nothing
    written), 1 an unreadable sheet, a failed write or an empty training domain, 130 Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    if args.val_fraction + args.test_fraction >= 1.0:
        parser.error("--val_fraction + --test_fraction must be below 1")
    if args.holdout_style and args.styles != ["all"] and set(args.styles) <= {args.holdout_style}:
        parser.error(f"--holdout_style: {args.holdout_style} is the only style in --styles; nothing would be left "
                     "for trainB (add training styles, e.g. --styles crawl,bolt)")

    def job() -> int:
        try:
            manifest = make_dataset(args.dst, size=args.size, cell=args.cell, clipart=args.clipart, tiles=args.tiles,
                                    categories=args.categories, sheets=args.sheets, styles=args.styles,
                                    holdout_style=args.holdout_style, limit=args.limit, seed=args.seed,
                                    val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                                    overwrite=args.overwrite)
        except ImageLoadError:
            raise  # an unreadable sprite sheet: exit status 1
        except (FileNotFoundError, ValueError) as exc:  # missing or reserved sources, bad OUT: a flag fixes it
            raise FlagError(str(exc)) from None
        except OSError as exc:
            raise OSError(f"{exc.filename or args.dst}: {exc.strerror or exc}; no partial build was left in OUT "
                          f"{args.dst}") from None
        counts = {k: len(v) for k, v in manifest["images"].items()}
        dropped = {d: sum(v.values()) for d, v in manifest["dropped"].items()}
        print("done: " + ", ".join(f"{k} {v}" for k, v in counts.items())
              + f"; left out: A {dropped['A']}, B {dropped['B']} (reasons in manifest.json)")
        print("styles (trainB/valB/testB): " + ", ".join(
            f"{name} {info['images']['trainB']}/{info['images']['valB']}/{info['images']['testB']}"
            + (" (held out)" if name == manifest["holdout_style"] else "")
            for name, info in manifest["styles"].items()))
        if counts["trainA"] == 0 or counts["trainB"] == 0:
            error("a training domain is empty; check --categories/--styles/--sheets")
            return EXIT_FAILED
        return EXIT_OK

    try:
        return exit_status(job)
    except KeyboardInterrupt:
        print(f"interrupted: no unfinished build is left in OUT {args.dst}; run the command again to build it",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
