"""Objective pixel-art quality measures (defined in docs/metrics.md) and a CLI.

``out`` is a native-resolution output (one pixel per cell), ``ref`` the original
area-downsampled to ``out``'s size with ``cv2.INTER_AREA``. Colour distances are CIEDE2000.

CLI::

    python -m postprocess.metrics OUTPUT --original INPUT --pixel_size N [--palette FILE] [--json]

``OUTPUT`` may be native resolution or an integer upscale (then grid conformity is
measured and the native image is read back from the cell centres at the best phase).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence

import cv2
import numpy as np

from postprocess.color import delta_e00, lab_chroma, srgb_to_lab

logger = logging.getLogger(__name__)

__all__ = [
    "area_reference",
    "grid_cell_mean",
    "color_fidelity",
    "palette_size",
    "palette_adherence",
    "palette_distinctness",
    "quantization_error",
    "orphan_rate",
    "edge_f1",
    "mean_chroma",
    "grid_conformity",
    "estimate_cell_size",
    "changed_cell_rate",
    "frame_delta_e",
    "palette_drift",
    "used_palette",
    "evaluate",
    "evaluate_output",
    "main",
]


def _rgb(img: np.ndarray, name: str = "image") -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        got = img.shape if isinstance(img, np.ndarray) else type(img).__name__
        raise ValueError(f"`{name}` must be a uint8 (H, W, 3|4) array, got {got}")
    return img[..., :3]


def _opaque(img: np.ndarray) -> np.ndarray:
    return img[..., 3] >= 128 if img.shape[2] == 4 else np.ones(img.shape[:2], bool)


def area_reference(original: np.ndarray, size_hw: tuple[int, int], pixel_size: int | None = None) -> np.ndarray:
    """The area-downsampled original -> uint8 ``(h, w, 3)``.

    With ``pixel_size`` the mean is taken over the square grid's cells exactly (partial
    last cells over their real pixels, the package's remainder policy), so ``ref`` stays
    aligned with the output when the size is not a multiple of ``pixel_size``. Without it
    (or when the size is a multiple, where both agree) it is ``cv2.resize(..., INTER_AREA)``
    the usual definition.
    """
    rgb = np.ascontiguousarray(_rgb(original, "original"))
    h, w = size_hw
    if pixel_size is None or (rgb.shape[0] == h * pixel_size and rgb.shape[1] == w * pixel_size):
        return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, 3)
    return np.clip(np.rint(grid_cell_mean(rgb, pixel_size)), 0, 255).astype(np.uint8)


def grid_cell_mean(image: np.ndarray, pixel_size: int) -> np.ndarray:
    """Exact mean of every square ``pixel_size`` cell (partial last cells over their real pixels)
    of a ``(H, W, C)`` array -> float64 ``(ceil(H/p), ceil(W/p), C)``."""
    big_h, big_w = image.shape[:2]
    rows = np.arange(0, big_h, pixel_size)
    cols = np.arange(0, big_w, pixel_size)
    sums = np.add.reduceat(np.add.reduceat(image.astype(np.float64), rows, axis=0), cols, axis=1)
    nr = np.minimum(pixel_size, big_h - rows)
    nc = np.minimum(pixel_size, big_w - cols)
    counts = (nr[:, None] * nc[None, :]).astype(np.float64)
    return sums / counts.reshape(counts.shape + (1,) * (sums.ndim - 2))


def color_fidelity(out: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Mean and 95th-percentile CIEDE2000 between ``out`` and ``ref`` (same size) over opaque cells."""
    m = _opaque(out)
    de = delta_e00(srgb_to_lab(_rgb(out, "out")[m]), srgb_to_lab(_rgb(ref, "ref")[m]))
    if de.size == 0:
        return {"mean": 0.0, "p95": 0.0}
    return {"mean": float(de.mean()), "p95": float(np.percentile(de, 95))}


def used_palette(out: np.ndarray) -> np.ndarray:
    """Distinct opaque colours of ``out`` -> uint8 ``(K, 3)`` (sorted)."""
    rgb = _rgb(out, "out")[_opaque(out)]
    if rgb.size == 0:
        return np.zeros((0, 3), np.uint8)
    return np.unique(rgb, axis=0)


def palette_size(out: np.ndarray) -> int:
    """Number of distinct opaque colours in ``out``."""
    return int(len(used_palette(out)))


def palette_adherence(out: np.ndarray, palette: np.ndarray) -> float:
    """Fraction of opaque pixels of ``out`` whose colour is exactly in ``palette`` (uint8 ``(K, 3)``)."""
    rgb = _rgb(out, "out")[_opaque(out)].astype(np.int64)
    if rgb.size == 0:
        return 1.0
    code = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    p = palette.astype(np.int64)
    pcode = (p[:, 0] << 16) | (p[:, 1] << 8) | p[:, 2]
    return float(np.isin(code, pcode).mean())


def palette_distinctness(palette: np.ndarray) -> dict[str, float]:
    """Minimum and mean nearest-neighbour CIEDE2000 between palette entries (``inf`` for K < 2)."""
    if len(palette) < 2:
        return {"min": float("inf"), "mean_nn": float("inf")}
    lab = srgb_to_lab(np.asarray(palette, np.uint8))
    d = delta_e00(lab[:, None, :], lab[None, :, :])
    np.fill_diagonal(d, np.inf)
    nn = d.min(axis=1)
    return {"min": float(nn.min()), "mean_nn": float(nn.mean())}


def quantization_error(ref: np.ndarray, palette: np.ndarray) -> float:
    """Mean CIEDE2000 from each ``ref`` pixel to its nearest ``palette`` colour."""
    lab = srgb_to_lab(_rgb(ref, "ref").reshape(-1, 3))
    pl = srgb_to_lab(np.asarray(palette, np.uint8))
    return float(delta_e00(lab[:, None, :], pl[None, :, :]).min(axis=1).mean())


_OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def orphan_rate(out: np.ndarray, threshold: float = 5.0) -> dict[str, float]:
    """Fraction of cells isolated from all their existing 8-neighbours.

    Returns:
        ``{"delta_e": ..., "exact": ...}``: isolated when CIEDE2000 to every neighbour
        exceeds ``threshold``, and when the colour differs from every neighbour exactly.
        Border cells compare with the neighbours they have.
    """
    rgb = _rgb(out, "out")
    h, w = rgb.shape[:2]
    lab = srgb_to_lab(rgb)
    pad_lab = np.pad(lab, ((1, 1), (1, 1), (0, 0)))
    pad_rgb = np.pad(rgb.astype(np.int64), ((1, 1), (1, 1), (0, 0)), constant_values=-1)
    valid = np.pad(np.ones((h, w), bool), 1)
    iso_de = np.ones((h, w), bool)
    iso_ex = np.ones((h, w), bool)
    any_nb = np.zeros((h, w), bool)
    for dy, dx in _OFFSETS:
        sl = (slice(1 + dy, 1 + dy + h), slice(1 + dx, 1 + dx + w))
        v = valid[sl]
        any_nb |= v
        iso_de &= ~v | (delta_e00(lab, pad_lab[sl]) > threshold)
        iso_ex &= ~v | (pad_rgb[sl] != rgb).any(axis=-1)
    iso_de &= any_nb
    iso_ex &= any_nb
    return {"delta_e": float(iso_de.mean()), "exact": float(iso_ex.mean())}


def _reference_edges(original: np.ndarray, size_hw: tuple[int, int], pixel_size: int) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(_rgb(original, "original")), cv2.COLOR_RGB2GRAY)
    blur = cv2.GaussianBlur(grey, (0, 0), 1.0)
    med = float(np.median(blur))
    lo, hi = max(0.0, 0.67 * med), min(255.0, 1.33 * med)
    edges = cv2.Canny(blur, lo, max(hi, lo + 1.0)).astype(np.float32) / 255.0
    h, w = size_hw
    if edges.shape == (h * pixel_size, w * pixel_size) or -(-edges.shape[0] // pixel_size) != h:
        density = cv2.resize(edges, (w, h), interpolation=cv2.INTER_AREA)
    else:
        density = grid_cell_mean(edges, pixel_size)
    return density >= 0.5 / pixel_size


def _output_boundaries(out: np.ndarray, threshold: float = 10.0) -> np.ndarray:
    lab = srgb_to_lab(_rgb(out, "out"))
    b = np.zeros(lab.shape[:2], bool)
    b[:, :-1] |= delta_e00(lab[:, :-1], lab[:, 1:]) > threshold
    b[:-1, :] |= delta_e00(lab[:-1, :], lab[1:, :]) > threshold
    return b


def edge_f1(out: np.ndarray, original: np.ndarray, pixel_size: int) -> dict[str, float]:
    """Contour alignment with a 1-cell tolerance (docs/metrics.md).

    Reference edges: Canny (Gaussian sigma 1, thresholds 0.67/1.33 x median grey) on the
    original, pooled to the grid (edge cell when density >= 0.5 / pixel_size). Output
    boundaries: cells with CIEDE2000 > 10 to the right or lower neighbour.
    """
    ref_e = _reference_edges(original, out.shape[:2], pixel_size)
    out_b = _output_boundaries(out)
    k = np.ones((3, 3), np.uint8)
    ref_d = cv2.dilate(ref_e.astype(np.uint8), k).astype(bool)
    out_d = cv2.dilate(out_b.astype(np.uint8), k).astype(bool)
    precision = float((out_b & ref_d).sum() / max(out_b.sum(), 1))
    recall = float((ref_e & out_d).sum() / max(ref_e.sum(), 1))
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": float(f1)}


def mean_chroma(image: np.ndarray) -> float:
    """Mean CIELAB chroma C*ab over opaque pixels (usage-weighted: every pixel counts once)."""
    rgb = _rgb(image)[_opaque(image)]
    if rgb.size == 0:
        return 0.0
    return float(lab_chroma(srgb_to_lab(rgb)).mean())


def grid_conformity(image: np.ndarray, cell: int, tau: float = 0.0) -> dict[str, float]:
    """Fraction of flat ``cell x cell`` blocks at the best grid phase (docs/metrics.md).

    A block is flat when the CIEDE2000 of every pixel to the block's first pixel is ``<= tau``
    (exact equality for ``tau = 0``). Only whole blocks count.

    Returns:
        ``{"conformity", "phase_y", "phase_x", "cell_std"}`` (``cell_std``: mean within-block
        standard deviation of the RGB channels at the best phase).
    """
    rgb = _rgb(image)
    big_h, big_w = rgb.shape[:2]
    if cell < 1 or cell > min(big_h, big_w):
        raise ValueError(f"`cell` must be in [1, {min(big_h, big_w)}], got {cell}")
    lab = srgb_to_lab(rgb) if tau > 0 else None
    best = (-1.0, 0, 0)
    for py in range(cell):
        for px in range(cell):
            h, w = (big_h - py) // cell, (big_w - px) // cell
            if h < 1 or w < 1:
                continue
            if tau > 0:
                blk = lab[py : py + h * cell, px : px + w * cell].reshape(h, cell, w, cell, 3)
                de = delta_e00(blk, blk[:, :1, :, :1, :])
                flat = (de <= tau).all(axis=(1, 3))
            else:
                blk = rgb[py : py + h * cell, px : px + w * cell].reshape(h, cell, w, cell, 3)
                flat = (blk == blk[:, :1, :, :1, :]).all(axis=(1, 3, 4))
            score = float(flat.mean())
            if score > best[0]:
                best = (score, py, px)
    score, py, px = best
    h, w = (big_h - py) // cell, (big_w - px) // cell
    blk = rgb[py : py + h * cell, px : px + w * cell].reshape(h, cell, w, cell, 3).astype(np.float64)
    std = float(blk.std(axis=(1, 3)).mean())
    return {"conformity": score, "phase_y": py, "phase_x": px, "cell_std": std}


def estimate_cell_size(image: np.ndarray, max_size: int = 64) -> int:
    """Cell size of an upscaled pixel-art image from the autocorrelation of the gradient profile."""
    grey = cv2.cvtColor(np.ascontiguousarray(_rgb(image)), cv2.COLOR_RGB2GRAY).astype(np.float64)
    best, best_k = -np.inf, 1
    profiles = [np.abs(np.diff(grey, axis=1)).sum(axis=0), np.abs(np.diff(grey, axis=0)).sum(axis=1)]
    scores = np.zeros(max_size + 1)
    for prof in profiles:
        prof = prof - prof.mean()
        n = len(prof)
        for k in range(2, min(max_size, n // 2) + 1):
            scores[k] += float(np.dot(prof[:-k], prof[k:]) / (n - k))
    for k in range(2, max_size + 1):
        # Prefer the smallest period: a multiple of the true period scores about the same.
        if scores[k] > best * 1.05:
            best, best_k = scores[k], k
    return best_k if best > 0 else 1


def changed_cell_rate(prev: np.ndarray, cur: np.ndarray) -> float:
    """Fraction of cells whose colour (or alpha) changed between two same-size native frames."""
    if prev.shape != cur.shape:
        raise ValueError(f"frames differ in shape: {prev.shape} vs {cur.shape}")
    return float((prev != cur).any(axis=-1).mean())


def frame_delta_e(prev: np.ndarray, cur: np.ndarray) -> float:
    """Mean CIEDE2000 between two consecutive native frames."""
    return float(delta_e00(srgb_to_lab(_rgb(prev, "prev")), srgb_to_lab(_rgb(cur, "cur"))).mean())


def palette_drift(pal_a: np.ndarray, pal_b: np.ndarray) -> float:
    """Symmetric mean nearest-neighbour CIEDE2000 between two palettes (0 when equal)."""
    la, lb = srgb_to_lab(np.asarray(pal_a, np.uint8)), srgb_to_lab(np.asarray(pal_b, np.uint8))
    d = delta_e00(la[:, None, :], lb[None, :, :])
    return float(0.5 * (d.min(axis=1).mean() + d.min(axis=0).mean()))


def evaluate(
    out: np.ndarray, original: np.ndarray, pixel_size: int, palette: np.ndarray | None = None
) -> dict[str, float]:
    """All single-image measures for a native output against its original.

    Returns a flat dict: ``colors``, ``adherence`` (when ``palette`` is given, else against the
    used colours: 1.0), ``de_mean``, ``de_p95``, ``quant_error``, ``pal_min_de``, ``pal_mean_nn_de``,
    ``orphan_de``, ``orphan_exact``, ``edge_precision``, ``edge_recall``, ``edge_f1``,
    ``chroma_out``, ``chroma_ref``, ``chroma_original``.
    """
    ref = area_reference(original, out.shape[:2], pixel_size)
    used = used_palette(out)
    fid = color_fidelity(out, ref)
    dist = palette_distinctness(used)
    orph = orphan_rate(out)
    edge = edge_f1(out, original, pixel_size)
    return {
        "colors": float(len(used)),
        "adherence": palette_adherence(out, palette if palette is not None else used),
        "de_mean": fid["mean"],
        "de_p95": fid["p95"],
        "quant_error": quantization_error(ref, used) if len(used) else float("nan"),
        "pal_min_de": dist["min"],
        "pal_mean_nn_de": dist["mean_nn"],
        "orphan_de": orph["delta_e"],
        "orphan_exact": orph["exact"],
        "edge_precision": edge["precision"],
        "edge_recall": edge["recall"],
        "edge_f1": edge["f1"],
        "chroma_out": mean_chroma(out),
        "chroma_ref": mean_chroma(ref),
        "chroma_original": mean_chroma(original),
    }


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m postprocess.metrics", description="Pixel-art quality measures of OUTPUT against INPUT."
    )
    p.add_argument("output", help="pixel-art image: native resolution or an integer upscale")
    p.add_argument("--original", required=True, help="the original input image")
    p.add_argument("--pixel_size", type=int, required=True, help="cell size in original pixels")
    p.add_argument("--palette", default=None, help="declared palette file (.gpl/.hex/.pal/.png) for adherence")
    p.add_argument("--tau", type=float, default=0.0, help="grid-conformity flatness tolerance in CIEDE2000")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return p


def evaluate_output(out: np.ndarray, original: np.ndarray, pixel_size: int, palette: np.ndarray | None = None,
                    tau: float = 0.0) -> dict[str, float]:
    """:func:`evaluate` for an output at native resolution or any integer upscale of it.

    An upscaled output is first measured for grid conformity (``upscale_factor``,
    ``grid_conformity``, ``grid_phase_y``/``_x``, ``grid_cell_std``), then sampled back to one
    pixel per cell at the detected grid phase. ValueError when ``out`` is neither size.
    """
    p = pixel_size
    native_hw = (-(-original.shape[0] // p), -(-original.shape[1] // p))
    result: dict[str, float] = {}
    if out.shape[:2] != native_hw:
        if out.shape[0] < 2 * native_hw[0] or out.shape[1] < 2 * native_hw[1]:
            raise ValueError(
                f"OUTPUT is {out.shape[1]}x{out.shape[0]}, expected the native size "
                f"{native_hw[1]}x{native_hw[0]} (= ceil(input / --pixel_size)) or an integer upscale of it"
            )
        factor = max(1, round(out.shape[0] / native_hw[0]))
        conf = grid_conformity(out, factor, tau)
        result.update({"upscale_factor": float(factor), "grid_conformity": conf["conformity"],
                       "grid_phase_y": float(conf["phase_y"]), "grid_phase_x": float(conf["phase_x"]),
                       "grid_cell_std": conf["cell_std"]})
        c = factor // 2
        out = out[conf["phase_y"] + c :: factor, conf["phase_x"] + c :: factor][: native_hw[0], : native_hw[1]]
        if out.shape[:2] != native_hw:
            out = cv2.resize(np.ascontiguousarray(out), native_hw[::-1], interpolation=cv2.INTER_NEAREST)
    result.update(evaluate(out, original, p, palette))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m postprocess.metrics``: parse, load, :func:`evaluate_output`, print; returns the exit
    status (0 ok, 2 bad input)."""
    from postprocess.palette_io import load_palette
    from util.image import load_image

    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.pixel_size < 1:
        parser.error(f"--pixel_size must be >= 1, got {args.pixel_size}")
    try:
        out = load_image(args.output, keep_alpha=True)
        original = load_image(args.original, keep_alpha=False)
        palette = load_palette(args.palette) if args.palette else None
        result = evaluate_output(out, original, args.pixel_size, palette, args.tau)
    except ValueError as err:  # ImageLoadError included
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=None, sort_keys=False))
    else:
        width = max(len(k) for k in result)
        for k, v in result.items():
            print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
