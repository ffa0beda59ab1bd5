"""Measures that several benchmarks share: agreement with a pixel artist and stray (isolated) cells.

Both compare cells by CIEDE2000 (:func:`postprocess.delta_e00` on CIELAB from
:func:`postprocess.srgb_to_lab`) with one threshold, :data:`AGREE_DE`:

* **agreement**: the share of the scored cells whose colour is within :data:`AGREE_DE` of the
  artist's colour (``bench_artist.py``, ``bench_paired.py``, ``make_gallery.py``);
* **stray cells**: cells farther than :data:`AGREE_DE` from each of their existing 8 neighbours,
  the isolated pixels a pixel artist would not draw (``bench_artist.py``).
"""
from __future__ import annotations

import numpy as np

from postprocess import delta_e00, srgb_to_lab

#: Two cell colours "agree" within this CIEDE2000 distance.
AGREE_DE = 5.0


def artist_delta_e(out: np.ndarray, artist: np.ndarray) -> np.ndarray:
    """float ``(h, w)``: CIEDE2000 between each cell of ``out`` (RGB or RGBA uint8) and the artist's RGB cell."""
    return delta_e00(srgb_to_lab(out[..., :3]), srgb_to_lab(artist))


def agreement_of(delta_e: np.ndarray) -> float:
    """Share of the given CIEDE2000 distances within :data:`AGREE_DE`."""
    return float((delta_e <= AGREE_DE).mean())


def agreement(out: np.ndarray, artist: np.ndarray, scored: np.ndarray) -> float:
    """Share of the ``scored`` cells of ``out`` within :data:`AGREE_DE` of the artist's colour."""
    return agreement_of(artist_delta_e(out, artist)[scored])


def stray_cells(img: np.ndarray) -> np.ndarray:
    """bool ``(h, w)``: cells farther than :data:`AGREE_DE` from each of their existing 8 neighbours."""
    lab = srgb_to_lab(img[..., :3])
    h, w = lab.shape[:2]
    pad = np.pad(lab, ((1, 1), (1, 1), (0, 0)), mode="edge")
    valid = np.pad(np.ones((h, w), bool), 1)
    iso = np.ones((h, w), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                sl = (slice(1 + dy, 1 + dy + h), slice(1 + dx, 1 + dx + w))
                iso &= ~valid[sl] | (delta_e00(lab, pad[sl]) > AGREE_DE)
    return iso
