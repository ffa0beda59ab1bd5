"""Speed and quality of the postprocess pipeline against two in-run baselines.

Run: ``python benchmarks/bench_postprocess.py [--repeats 7] [--pixel_size 8] [--threads 1]``

Images: scikit-image sample photos (astronaut, chelsea, coffee, rocket). Modes:
``n_colors=12`` and automatic colours. Methods:

* ``ours``: :func:`postprocess.pixelize_image` with defaults;
* ``seed``: seed-faithful baseline: OpenCV k-means over every pixel in RGB
  (k from a hue histogram in auto mode), per-cell mean, nearest RGB colour;
* ``naive``: nearest-neighbour shrink + PIL median-cut posterize (the Photoshop recipe).

In auto mode the baselines are given the palette size our automatic choice produced, so
quality is compared at equal palette size (the seed's own hue-histogram k, ``seed_hue_k``,
is used only when the baselines run alone).

Prints, per image and mode, median ms and the measures of docs/metrics.md, then a summary
with ratios against the baselines and the issue's targets.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable, Sequence  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from postprocess import pixelize_image  # noqa: E402
from postprocess.downsampling import reduce_cells, restore_pixel_art  # noqa: E402
from postprocess.metrics import evaluate, grid_cell_mean  # noqa: E402

IMAGES = ("astronaut", "chelsea", "coffee", "rocket")


def load_samples(names: Sequence[str] = IMAGES) -> dict[str, np.ndarray]:
    """scikit-image sample photos as uint8 RGB arrays."""
    import skimage.data

    return {n: np.ascontiguousarray(getattr(skimage.data, n)()[..., :3]) for n in names}


def seed_hue_k(img: np.ndarray) -> int:
    """The seed notebooks' k: significant 10-degree hue bins of saturated pixels, + 2 for dark/light."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    sat = (hsv[..., 1] >= 40) & (hsv[..., 2] >= 40)
    hist = np.bincount((hsv[..., 0][sat] // 5).ravel(), minlength=36)[:36]
    total = max(int(sat.sum()), 1)
    return int(np.clip((hist >= 0.05 * total).sum() + 2, 2, 16))


def out_size(img: np.ndarray, p: int) -> tuple[int, int]:
    """Output size ``(rows, columns)`` in cells of ``img`` at pixel size ``p`` (partial cells count)."""
    return -(-img.shape[0] // p), -(-img.shape[1] // p)


def seed_faithful(img: np.ndarray, p: int, n_colors: int | None) -> np.ndarray:
    """Seed-faithful baseline (see module docstring)."""
    k = n_colors or seed_hue_k(img)
    data = img.reshape(-1, 3).astype(np.float32)
    cv2.setRNGSeed(0)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, _, centers = cv2.kmeans(data, k, None, crit, 1, cv2.KMEANS_PP_CENTERS)
    pal = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    h, w = out_size(img, p)
    if img.shape[0] == h * p and img.shape[1] == w * p:
        cells = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float32)
    else:  # the same square grid as ours (partial last cells), so the comparison is aligned
        cells = grid_cell_mean(img, p).reshape(-1, 3).astype(np.float32)
    d = ((cells[:, None, :] - pal[None].astype(np.float32)) ** 2).sum(-1)
    return pal[np.argmin(d, axis=1)].reshape(h, w, 3)


def naive(img: np.ndarray, p: int, n_colors: int | None) -> np.ndarray:
    """Naive baseline: nearest shrink + PIL median cut."""
    k = n_colors or seed_hue_k(img)
    # Nearest shrink on the same square grid: each cell's centre pixel (partial cells too).
    rows = [min(y + p // 2, (y + img.shape[0]) // 2 if y + p > img.shape[0] else y + p // 2) for y in range(0, img.shape[0], p)]
    cols = [min(x + p // 2, (x + img.shape[1]) // 2 if x + p > img.shape[1] else x + p // 2) for x in range(0, img.shape[1], p)]
    small = Image.fromarray(np.ascontiguousarray(img[np.ix_(rows, cols)]))
    return np.asarray(small.quantize(colors=k, method=Image.Quantize.MEDIANCUT).convert("RGB"))


def ours(img: np.ndarray, p: int, n_colors: int | None) -> np.ndarray:
    """Our pipeline: ``pixelize_image`` at pixel size ``p`` with ``n_colors`` (None = automatic)."""
    return pixelize_image(img, pixel_size=p, n_colors=n_colors)


METHODS: dict[str, Callable[[np.ndarray, int, int | None], np.ndarray]] = {
    "ours": ours,
    "seed": seed_faithful,
    "naive": naive,
}


def time_method(fn: Callable, img: np.ndarray, p: int, k: int | None, repeats: int) -> tuple[float, np.ndarray]:
    """Median wall time in ms (and the output); fast methods get 3x the repeats (shared-machine noise)."""
    out = fn(img, p, k)  # warm-up
    t0 = time.perf_counter()
    fn(img, p, k)
    if time.perf_counter() - t0 < 0.02:
        repeats *= 3
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(img, p, k)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, out


COLS = [
    ("ms", "ms", "{:8.1f}"),
    ("colors", "K", "{:3.0f}"),
    ("de_mean", "dE", "{:5.2f}"),
    ("de_p95", "dE95", "{:5.1f}"),
    ("pal_min_de", "minPal", "{:6.1f}"),
    ("pal_mean_nn_de", "nnPal", "{:5.1f}"),
    ("orphan_de", "orph%", "{:5.1f}"),
    ("orphan_exact", "orphX%", "{:6.1f}"),
    ("edge_f1", "edgeF1", "{:6.3f}"),
    ("chroma_ratio", "C/C0", "{:5.2f}"),
    ("adherence", "adh", "{:4.2f}"),
    ("deterministic", "det", "{:>3}"),
]


def main(argv: Sequence[str] | None = None) -> int:
    """Time and score the methods on the sample images and print the table; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=11, help="timed runs per image and method (median reported)")
    ap.add_argument("--pixel_size", type=int, default=8)
    ap.add_argument("--n_colors", type=int, default=12, help="the fixed-size mode (the other mode is automatic)")
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (1 = the single-core target)")
    ap.add_argument("--images", nargs="+", default=list(IMAGES), choices=IMAGES)
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    imgs = load_samples(args.images)
    p = args.pixel_size
    rows: dict[tuple[str, str, str], dict[str, float]] = {}
    header = f"{'image':<10} {'mode':<5} {'method':<6} " + " ".join(f"{c[1]:>{len(c[2].format(0))}}" for c in COLS)
    print(f"postprocess benchmark: pixel_size={p}, repeats={args.repeats}, cv2 threads={args.threads}")
    print("chroma C/C0 = usage-weighted mean C*ab of the output / of the original photo\n")
    print(header)
    print("-" * len(header))
    for name, img in imgs.items():
        for mode, k in (("k=" + str(args.n_colors), args.n_colors), ("auto", None)):
            k_used = k
            for mname, fn in METHODS.items():
                ms, out = time_method(fn, img, p, k_used, args.repeats)
                again = fn(img, p, k_used)
                if mname == "ours" and k is None:
                    # Baselines in auto mode get the size our automatic choice gave (equal-size comparison).
                    k_used = len(np.unique(out.reshape(-1, out.shape[2]), axis=0))
                m = measure(out, img, p)
                m["ms"] = ms
                m["deterministic"] = "yes" if np.array_equal(out, again) else "NO"
                rows[(name, mode, mname)] = m
                cells = " ".join(fmt.format(m[key]) for key, _, fmt in COLS)
                print(f"{name:<10} {mode:<5} {mname:<6} {cells}")
    print()
    _summary(rows, imgs, args)
    if "astronaut" in imgs:
        _alpha_timing(imgs["astronaut"], p, args.repeats)


def _alpha_timing(img: np.ndarray, p: int, repeats: int) -> None:
    """Time of the same photo as RGBA (a transparent band, a half-transparent band): the sprite path."""
    alpha = np.full(img.shape[:2], 255, np.uint8)
    alpha[:, : img.shape[1] // 3] = 0
    alpha[img.shape[0] // 5 : img.shape[0] // 3] = 128
    rgba = np.dstack([img, alpha])
    ms_rgb, _ = time_method(ours, img, p, None, repeats)
    ms_rgba, out = time_method(ours, rgba, p, None, repeats)
    shown = out[..., 3] == 255
    print(f"\nRGBA (astronaut + alpha, automatic colours): {ms_rgba:.1f} ms vs {ms_rgb:.1f} ms as RGB; "
          f"{shown.mean():.0%} of the cells opaque")
    return 0


#: The per-run quality measures (ours against the two baselines of the same run). Fidelity is a
#: target on the median only and edge F1 is no target any more (issue 13: both conflicted with
#: separation and vividness; the artist agreement of bench_artist.py replaces them); their per-run
#: counts are still printed.
QUALITY_TARGETS = {
    "fidelity": "colour fidelity <= seed baseline",
    "orphans": "orphan rate <= half the seed baseline's",
    "separation": "min palette dE00 above both baselines",
    "chroma": "usage-weighted chroma >= the original's",
    "edges": "edge F1 >= 0.95",
}
#: Measures that must hold on every run.
PER_RUN_TARGETS = ("orphans", "separation", "chroma")


def quality_targets(o: dict, s: dict, nv: dict) -> dict[str, bool]:
    """Which of :data:`QUALITY_TARGETS` one run meets: ``o``/``s``/``nv`` are the metrics of ours,
    the seed-faithful and the naive baseline (``chroma_ratio`` and ``orphan_de`` included)."""
    return {
        "fidelity": o["de_mean"] <= s["de_mean"],
        "orphans": o["orphan_de"] <= 0.5 * s["orphan_de"],
        "separation": o["pal_min_de"] > max(s["pal_min_de"], nv["pal_min_de"]),
        "chroma": o["chroma_ratio"] >= 1.0,
        "edges": o["edge_f1"] >= 0.95,
    }


def count_quality_targets(pairs: Sequence[tuple[dict, dict, dict]]) -> dict[str, int]:
    """Number of runs meeting each quality target."""
    met = [quality_targets(o, s, nv) for o, s, nv in pairs]
    return {key: sum(m[key] for m in met) for key in QUALITY_TARGETS}


def measure(out: np.ndarray, img: np.ndarray, p: int) -> dict[str, float]:
    """:func:`postprocess.metrics.evaluate` plus the chroma ratio, orphan rates in percent."""
    m = evaluate(out, img, p)
    m["chroma_ratio"] = m["chroma_out"] / max(m["chroma_original"], 1e-9)
    for key in ("orphan_de", "orphan_exact"):
        m[key] *= 100.0
    return m


def _summary(rows: dict, imgs: dict, args: argparse.Namespace) -> None:
    def med(method: str, key: str, mode: str | None = None) -> float:
        vals = [v[key] for (n, md, mt), v in rows.items() if mt == method and (mode is None or md == mode)]
        return float(statistics.median(vals))

    print("summary (median over images and modes)")
    print(f"{'method':<6} {'ms':>8} {'x vs seed':>9} {'dE':>6} {'orph%':>6} {'minPal':>7} {'C/C0':>6} {'edgeF1':>7}")
    seed_ms = med("seed", "ms")
    for mt in METHODS:
        print(
            f"{mt:<6} {med(mt, 'ms'):8.1f} {seed_ms / med(mt, 'ms'):9.1f} {med(mt, 'de_mean'):6.2f} "
            f"{med(mt, 'orphan_de'):6.2f} {med(mt, 'pal_min_de'):7.2f} {med(mt, 'chroma_ratio'):6.2f} {med(mt, 'edge_f1'):7.3f}"
        )
    print()
    astro = [v for (n, md, mt), v in rows.items() if n == "astronaut" and mt == "ours"]
    checks = []
    if astro:
        ms512 = max(v["ms"] for v in astro)
        checks.append((f"<= 8 ms per 512x512 image (astronaut, worst mode): {ms512:.1f} ms", ms512 <= 8.0))
    ratios = [rows[(n, md, "seed")]["ms"] / rows[(n, md, "ours")]["ms"] for (n, md, mt) in rows if mt == "ours"]
    speedup = med("seed", "ms") / med("ours", "ms")
    checks.append((
        f">= 50x the seed-faithful baseline (median ms ratio): {speedup:.0f}x "
        f"(per run {min(ratios):.0f}x to {max(ratios):.0f}x)",
        speedup >= 50,
    ))
    ok_k = all(v["colors"] <= args.n_colors for (n, md, mt), v in rows.items() if mt == "ours" and md != "auto")
    checks.append(("palette <= requested size (k mode)", ok_k))
    checks.append(("100 % of pixels in the palette", all(v["adherence"] == 1.0 for (n, md, mt), v in rows.items() if mt == "ours")))
    checks.append(("deterministic", all(v["deterministic"] == "yes" for (n, md, mt), v in rows.items() if mt == "ours")))
    pairs = [(rows[(n, md, "ours")], rows[(n, md, "seed")], rows[(n, md, "naive")]) for (n, md, mt) in rows if mt == "ours"]
    counts = count_quality_targets(pairs)
    for key in PER_RUN_TARGETS:
        checks.append((f"{QUALITY_TARGETS[key]}: {counts[key]}/{len(pairs)} runs", counts[key] == len(pairs)))
    de_o, de_s = med("ours", "de_mean"), med("seed", "de_mean")
    checks.append((f"colour fidelity <= seed baseline on the median: {de_o:.2f} vs {de_s:.2f} "
                   f"({counts['fidelity']}/{len(pairs)} runs)", de_o <= de_s))
    print("targets")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    print(f"  [info] {QUALITY_TARGETS['edges']}: {counts['edges']}/{len(pairs)} runs (no longer a target)")
    engaged = [name for name, img in imgs.items()
               if restore_pixel_art(img, reduce_cells(img, args.pixel_size), args.pixel_size)[1] > 0]
    print(f"  [info] pixel-art restoration engaged on {len(engaged)}/{len(imgs)} photos"
          + (f": {', '.join(engaged)}" if engaged else " (photos keep the edge-aware cells)"))


if __name__ == "__main__":
    sys.exit(main())
