"""Compiled inner loops of the postprocess package (numba, compiled on first use and cached).

Each kernel does in one pass what the numpy formulation did in many small array calls, whose
fixed per-call cost dominated at the sizes used here (a few thousand colours, a dozen centres).
The orchestration (random draws, merging, stopping rules) stays in Python.

Modules, by what the kernels serve:

* :mod:`~postprocess._kernels.colour` -- sRGB <-> XYZ <-> CIELAB loops, scalar CIEDE2000
  (``de00``, ``de00_sq``), ``pairwise_de00``, ``map_de00``, the chroma warp of
  ``color.to_de_space`` (``scaled_chroma``, ``rescale_chroma``), ``hue_and_chroma_u8``;
* :mod:`~postprocess._kernels.cells` -- the cell grid of ``downsampling``: ``luma_u8``,
  ``reduce_cells_u8``, ``reduce_cells_weighted``, ``centre_window_means``, ``edge_aware``,
  ``sharpen_grid``, ``capped_variation``, ``despeckle_labels``, ``halftone_labels``;
* :mod:`~postprocess._kernels.palette` -- ``palette_gen``'s k-means and its helpers:
  ``nearest``, ``centroids``, ``lloyd``, ``weiszfeld``, ``min_sqdist_update``, ``kmeanspp``,
  ``bin_means``, ``minority_group``, ``restore_chroma``, ``repel``, ``hue_families_k``.

Every kernel has a plain numpy (or plain Python) definition in :mod:`postprocess.reference`,
named in its docstring; ``tests/postprocess/test_kernels.py`` compares the two.

Conventions: colour arrays are C-contiguous float64 ``(N, 3)``; weights float64 ``(N,)``;
labels int64. "First minimum wins" everywhere, as ``np.argmin`` does, so results match the
array formulations exactly.

Cache caveat: numba's on-disk cache (``cache=True``) is invalidated only by a change of the
kernel's *own* source file. A kernel calling one from another module (``repel`` ->
``pairwise_de00``, everything -> ``_shared``) or using a constant of :mod:`postprocess.reference`
keeps its cached machine code when only the other file changes: after editing ``colour.py``,
``_shared.py`` or the constants, delete ``postprocess/_kernels/__pycache__`` (or touch the
calling modules) before timing or testing.
"""
from __future__ import annotations

from postprocess._kernels.cells import (
    capped_variation,
    centre_window_means,
    despeckle_labels,
    edge_aware,
    halftone_labels,
    luma_u8,
    reduce_cells_u8,
    reduce_cells_weighted,
    sharpen_grid,
)
from postprocess._kernels.colour import (
    de00,
    de00_sq,
    hue_and_chroma_u8,
    lab_to_linear,
    linear_to_srgb,
    map_de00,
    pairwise_de00,
    rescale_chroma,
    scaled_chroma,
    srgb_float_to_xyzn,
    srgb_u8_to_xyzn,
    xyzn_to_lab,
)
from postprocess._kernels.palette import (
    bin_means,
    centroids,
    hue_families_k,
    kmeanspp,
    lloyd,
    min_sqdist_update,
    minority_group,
    nearest,
    repel,
    restore_chroma,
    weiszfeld,
)

__all__ = [
    "nearest",
    "centroids",
    "lloyd",
    "weiszfeld",
    "min_sqdist_update",
    "de00",
    "de00_sq",
    "map_de00",
    "despeckle_labels",
    "luma_u8",
    "reduce_cells_u8",
    "minority_group",
    "pairwise_de00",
    "edge_aware",
    "scaled_chroma",
    "rescale_chroma",
    "repel",
    "hue_and_chroma_u8",
    "hue_families_k",
    "kmeanspp",
    "bin_means",
    "restore_chroma",
    "centre_window_means",
    "halftone_labels",
    "sharpen_grid",
    "capped_variation",
    "reduce_cells_weighted",
    "srgb_u8_to_xyzn",
    "srgb_float_to_xyzn",
    "xyzn_to_lab",
    "lab_to_linear",
    "linear_to_srgb",
]
