"""The Dungeon Crawl Stone Soup tiles and the sprite vocabulary the tool scripts share.

One place for what ``datasets/make_cartoon2pixel.py``, ``datasets/make_paired_pixelart.py`` and
``benchmarks/bench_artist.py`` all need: where the Crawl sprite sheets are installed and by which
Debian package, the names reserved for evaluation (never used to make training data), compositing
over white, and the sprite cutters.

There are three cutters of packed (transparent) atlases plus one grid cutter. They are not
interchangeable: each tool's outputs (the shipped generators' training sets, the benchmark's printed
figures) depend on the exact sprites its cutter finds, so each rule is kept as it is, named for what
it does:

=============================  ==========================================================================
cutter                         used by, and why that rule
=============================  ==========================================================================
:func:`cut_packed_atlas`       ``make_cartoon2pixel`` (style ``crawl``): groups alpha components whose
                               boxes lie a couple of pixels apart while the group fits one tile, so a
                               sprite drawn in detached parts stays one sprite
:func:`cut_dilated_atlas`      ``make_paired_pixelart``: groups of the alpha mask dilated by one pixel,
                               falling back to single components where touching neighbours make a group
                               larger than a tile
:func:`cut_isolated_sprites`   ``bench_artist``: only free-standing components (a transparent 1-px ring
                               around the box, no other component inside it), so every scored sprite is
                               whole and alone
:func:`cut_grid_tiles`         ``make_cartoon2pixel`` (grid styles: Angband, Freeciv) and ``bench_artist``
                               (fully opaque 32-px floor and wall tiles): one sprite per grid cell
=============================  ==========================================================================

All cutters take a uint8 RGBA sheet ``(H, W, 4)``; opaque pixels are ``alpha > 0``.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: Where the Debian package :data:`PACKAGE` installs the Crawl sprite sheets.
TILES_DIR = Path("/usr/share/crawl/dat/tiles")
#: The Debian package of the Crawl sprite sheets (Public Domain / CC0).
PACKAGE = "crawl-tiles-data"
#: Side of one Crawl tile in sheet pixels.
TILE = 32

#: Never used for training: kept for evaluation. Crawl sheets (file names) ...
RESERVED_SHEETS = ("main.png",)
#: ... ``openclipart-png`` categories ...
RESERVED_CATEGORIES = ("animals", "plants")
#: ... and whole Debian packages.
RESERVED_PACKAGES = ("tecnoballz-data",)

#: ``(rgba, (x, y, w, h), touches_edge)``: one cut sprite, its box in the sheet, and whether the box
#: touches the sheet's edge (the sprite may be cut off).
Cut = tuple[np.ndarray, tuple[int, int, int, int], bool]


def flatten_on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 4)`` -> uint8 ``(H, W, 3)`` composited over white (alpha-weighted, rounded)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _check_rgba(sheet: np.ndarray) -> None:
    if sheet.ndim != 3 or sheet.shape[2] != 4:
        raise ValueError(f"a sprite sheet needs an alpha channel, got shape {sheet.shape}")


def cut_packed_atlas(sheet: np.ndarray, tile: int = TILE, gap: int = 2) -> list[Cut]:
    """Cut a packed RGBA sprite atlas into groups of components that fit a tile (``make_cartoon2pixel``).

    A sprite is a group of 8-connected components of ``alpha > 0``: starting from the largest
    component, smaller ones whose boxes lie within ``gap`` pixels are added while the group's box
    still fits a ``tile`` x ``tile`` square. Components larger than a tile start no group.

    Returns:
        ``(rgba, (x, y, w, h), touches_edge)`` per group, in sheet reading order; ``rgba`` holds only
        the group's own pixels (others in its box are made transparent).
    """
    _check_rgba(sheet)
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


def cut_dilated_atlas(sheet: np.ndarray, max_side: int = TILE) -> list[Cut]:
    """Cut a packed RGBA atlas into the groups of its dilated alpha mask (``make_paired_pixelart``).

    The mask ``alpha > 0`` is dilated by one pixel (3x3), so parts of a sprite a pixel apart stay
    together, and every 8-connected group of the dilated mask is one sprite. A group whose box
    exceeds ``max_side`` x ``max_side`` (neighbours touching) falls back to the undilated components
    inside it that fit. No other rule is applied (the caller filters by coverage and edge).

    Returns:
        ``(rgba, (x, y, w, h), touches_edge)`` per sprite, ordered by the top, then the left edge of
        the box; ``rgba`` holds only the sprite's own pixels (others in its box are transparent).
    """
    _check_rgba(sheet)
    height, width = sheet.shape[:2]
    mask = (sheet[..., 3] > 0).astype(np.uint8)
    dilated = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    n_groups, group_labels = cv2.connectedComponents(dilated, connectivity=8)
    n_parts, part_labels = cv2.connectedComponents(mask, connectivity=8)
    found: list[tuple[int, int, int, int, np.ndarray]] = []

    def box_of(sel: np.ndarray) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(sel)
        return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)

    # one pass over the groups, by their bounding boxes in the dilated labels
    group_boxes = _label_boxes(group_labels, n_groups)
    part_boxes = _label_boxes(part_labels, n_parts)
    for g in range(1, n_groups):
        gx, gy, gw, gh = group_boxes[g]
        own = (group_labels[gy:gy + gh, gx:gx + gw] == g) & (mask[gy:gy + gh, gx:gx + gw] > 0)
        if not own.any():
            continue
        x, y, w, h = box_of(own)
        x, y = x + gx, y + gy
        if w <= max_side and h <= max_side:
            found.append((x, y, w, h, own[y - gy:y - gy + h, x - gx:x - gx + w]))
            continue
        # neighbours touching: fall back to the undilated components inside this group
        for p in np.unique(part_labels[gy:gy + gh, gx:gx + gw][own]):
            px, py, pw, ph = part_boxes[p]
            if pw <= max_side and ph <= max_side:
                found.append((px, py, pw, ph, part_labels[py:py + ph, px:px + pw] == p))
    out = []
    for x, y, w, h, own in sorted(found, key=lambda f: (f[1], f[0])):
        crop = sheet[y:y + h, x:x + w].copy()
        crop[~own] = 0
        edge = x == 0 or y == 0 or x + w == width or y + h == height
        out.append((crop, (int(x), int(y), int(w), int(h)), edge))
    return out


def _label_boxes(labels: np.ndarray, n: int) -> np.ndarray:
    """``(n, 4)`` int array of ``x, y, w, h`` per label (row 0: the background, unused)."""
    boxes = np.zeros((n, 4), dtype=np.int64)
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    x0 = np.full(n, np.iinfo(np.int64).max)
    y0 = np.full(n, np.iinfo(np.int64).max)
    x1 = np.full(n, -1)
    y1 = np.full(n, -1)
    np.minimum.at(x0, lab, xs)
    np.minimum.at(y0, lab, ys)
    np.maximum.at(x1, lab, xs)
    np.maximum.at(y1, lab, ys)
    valid = x1 >= 0
    boxes[valid] = np.stack([x0[valid], y0[valid], x1[valid] - x0[valid] + 1, y1[valid] - y0[valid] + 1], 1)
    return boxes


def cut_isolated_sprites(sheet: np.ndarray, min_side: int = 10, max_side: int = TILE - 2,
                         min_area: int = 60) -> list[Cut]:
    """Cut the free-standing sprites of an RGBA atlas, one 8-connected alpha component each (``bench_artist``).

    A component is kept when its box is ``min_side``..``max_side`` pixels on both sides, it has at
    least ``min_area`` opaque pixels, and the 1-px ring around its box lies inside the sheet and holds
    no other component. The cut includes that transparent ring.

    Returns:
        ``(rgba, (x, y, w, h), False)`` per component in label order; ``rgba`` is the box grown by the
        ring (``(h + 2, w + 2, 4)``) with every pixel not of the component transparent, ``(x, y, w, h)``
        the component's own box.
    """
    _check_rgba(sheet)
    alpha = sheet[..., 3]
    num, lab, stats, _ = cv2.connectedComponentsWithStats((alpha > 0).astype(np.uint8), connectivity=8)
    big_h, big_w = alpha.shape
    out = []
    for i in range(1, num):
        x, y, w, h, area = stats[i]
        if not (min_side <= w <= max_side and min_side <= h <= max_side) or area < min_area:
            continue
        y0, y1, x0, x1 = y - 1, y + h + 1, x - 1, x + w + 1
        if y0 < 0 or x0 < 0 or y1 > big_h or x1 > big_w:
            continue
        ring = lab[y0:y1, x0:x1]
        if ((ring != 0) & (ring != i)).any():
            continue
        crop = sheet[y0:y1, x0:x1].copy()
        crop[ring != i] = 0
        out.append((crop, (int(x), int(y), int(w), int(h)), False))
    return out


def cut_grid_tiles(sheet: np.ndarray, cell: int, origin: tuple[int, int] = (0, 0), border: int = 0) -> list[Cut]:
    """Cut an RGBA sheet laid out on a fixed grid into sprites, one per non-empty cell.

    Used by ``make_cartoon2pixel`` for its grid styles and by ``bench_artist`` for the fully opaque
    Crawl floor and wall tiles. The first cell's top-left corner is ``origin`` (x, y); cells are
    ``cell`` x ``cell`` with ``border`` pixels (grid lines) between them; cells the sheet's right or
    bottom edge cuts short are skipped.

    Returns:
        ``(rgba, (x, y, w, h), False)`` per cell with an opaque pixel, in reading order; ``rgba`` is
        the cell cropped to the box of its ``alpha > 0`` pixels, ``(x, y, w, h)`` that box in the sheet
        (a grid sprite is never cut off by a cell's edge).
    """
    _check_rgba(sheet)
    if cell < 1 or border < 0 or min(origin) < 0:
        raise ValueError(f"bad grid: cell {cell}, origin {origin}, border {border}")
    height, width = sheet.shape[:2]
    step = cell + border
    out = []
    for top in range(origin[1], height - cell + 1, step):
        for left in range(origin[0], width - cell + 1, step):
            ys, xs = np.nonzero(sheet[top:top + cell, left:left + cell, 3])
            if ys.size == 0:
                continue
            y0, y1, x0, x1 = top + ys.min(), top + ys.max() + 1, left + xs.min(), left + xs.max() + 1
            out.append((sheet[y0:y1, x0:x1].copy(), (int(x0), int(y0), int(x1 - x0), int(y1 - y0)), False))
    return out
