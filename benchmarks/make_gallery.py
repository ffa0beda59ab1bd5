"""Render the README gallery: input | ours | seed-faithful baseline | naive posterize, with metrics.

Run: ``python benchmarks/make_gallery.py`` (or ``make gallery``); deterministic, ~10 s on one core.

For every scikit-image sample photo (astronaut, chelsea, coffee, rocket) and pixel size (6 and 10):

* ``ours``: :func:`postprocess.pixelize_image_with_palette` with defaults (post-processing only,
  automatic palette size);
* ``seed``: the seed-faithful baseline of ``bench_postprocess.py`` (OpenCV k-means over every
  pixel in RGB, fixed seed, per-cell mean, nearest colour);
* ``naive``: nearest-neighbour shrink + PIL median cut (``bench_postprocess.naive``).

Both baselines get ``k`` = the number of colours our automatic choice produced (equal palette
size, as in the benchmark). Every output is upscaled by an integer factor (nearest) to at most
``--panel`` px wide (the photo is stored once, ``--panel`` px wide, and shown at the same width);
each palette is drawn as a strip of ``16 x 16`` swatches. Writes the PNGs and
``gallery.md`` (a markdown grid with the PEERS.md 3.2 metrics next to each panel) to ``--out``.
If ``README.md`` holds the markers ``<!-- gallery:start -->`` and ``<!-- gallery:end -->``, the
text between them is replaced by the same grid with links prefixed ``docs/gallery/``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Sequence  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import bench_postprocess as bench  # noqa: E402
from postprocess import pixelize_image_with_palette, upscale  # noqa: E402
from postprocess.metrics import evaluate, used_palette  # noqa: E402
from util.fileio import atomic_write_text  # noqa: E402
from util.image import save_image  # noqa: E402

METHODS = (
    ("ours", "post-processing only (ours)"),
    ("seed", "seed-faithful baseline"),
    ("naive", "naive posterize"),
)
START, END = "<!-- gallery:start -->", "<!-- gallery:end -->"
SWATCH = 16


def display_factor(width: int, panel: int) -> int:
    """Largest integer upscale keeping ``width`` (native cells) within ``panel`` px (at least 1)."""
    return max(1, panel // width)


def swatch_strip(palette: np.ndarray, size: int = SWATCH) -> np.ndarray:
    """uint8 ``(K, 3)`` palette -> uint8 ``(size, K * size, 3)`` strip, ordered dark to light."""
    pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    luma = pal.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    order = np.lexsort((pal[:, 2], pal[:, 1], pal[:, 0], luma))  # ties broken by RGB: deterministic
    return upscale(np.ascontiguousarray(pal[order][None]), size)


def input_panel(img: np.ndarray, width: int) -> np.ndarray:
    """The photo area-downscaled to ``width`` px wide (aspect kept) -> uint8 ``(h, width, 3)``."""
    h = max(1, round(img.shape[0] * width / img.shape[1]))
    return cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)


def render(imgs: dict[str, np.ndarray], pixel_sizes: Sequence[int], out: Path, panel: int) -> list[dict]:
    """Compute every panel, write its PNGs under ``out``; returns one record per (image, p, method)."""
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for name, img in imgs.items():
        save_image(out / f"{name}_input.png", input_panel(img, panel), indexed=False)
        for p in pixel_sizes:
            art, _ = pixelize_image_with_palette(img, p)
            k = len(used_palette(art))
            outputs = {"ours": art, "seed": bench.seed_faithful(img, p, k), "naive": bench.naive(img, p, k)}
            factor = display_factor(art.shape[1], panel)
            for method, result in outputs.items():
                stem = f"{name}_p{p}_{method}"
                save_image(out / f"{stem}.png", upscale(result, factor))
                save_image(out / f"{stem}_palette.png", swatch_strip(used_palette(result)))
                m = evaluate(result, img, p)
                records.append({"image": name, "p": p, "method": method, "k_target": k, "file": f"{stem}.png",
                                "palette": f"{stem}_palette.png", "factor": factor,
                                "display_width": result.shape[1] * factor, **m})
    return records


def _metrics_line(r: dict) -> str:
    return (f"K {r['colors']:.0f} · ΔE00 {r['de_mean']:.2f} · orphans {100 * r['orphan_de']:.1f} % · "
            f"min pal ΔE00 {r['pal_min_de']:.1f} · edge F1 {r['edge_f1']:.3f}")


def markdown(records: list[dict], imgs: dict[str, np.ndarray], pixel_sizes: Sequence[int], prefix: str = "") -> str:
    """The gallery grid and the metrics tables as markdown; image links start with ``prefix``."""
    by = {(r["image"], r["p"], r["method"]): r for r in records}
    lines = [
        "Post-processing only (no generator), on the scikit-image sample photos; each output is shown",
        "upscaled by an integer factor (nearest neighbour) with its palette below it. Both baselines get",
        "the palette size our automatic choice produced. Metrics (PEERS.md 3.2, computed on the native",
        "output): K = colours used; ΔE00 = mean CIEDE2000 to the area-downsampled photo (lower is better);",
        "orphans = cells unlike all their neighbours (ΔE00 > 5; lower is cleaner); min pal ΔE00 = closest",
        "pair of palette colours (higher = more distinct); edge F1 = contour alignment with the photo.",
        "Regenerate with `make gallery`.",
        "",
    ]
    head = "| pixel size | input | " + " | ".join(label for _, label in METHODS) + " |"
    for name in imgs:
        lines += [f"#### {name}", "", head, "|" + "---|" * (2 + len(METHODS))]
        for p in pixel_sizes:
            # the photo at the pixel art's displayed width (a browser may smooth a photo; not pixel art)
            shown = by[(name, p, "ours")]["display_width"]
            cells = [f"**{p}**", f'<img src="{prefix}{name}_input.png" alt="{name}" width="{shown}">']
            for method, label in METHODS:
                r = by[(name, p, method)]
                cells.append(f"![{name} {label} p={p}]({prefix}{r['file']})<br>"
                             f"![palette]({prefix}{r['palette']})<br>{_metrics_line(r)}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["#### All metrics", "",
              "| image | pixel size | method | K | ΔE00 mean | ΔE00 p95 | orphans % | min pal ΔE00 | edge F1 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['image']} | {r['p']} | {r['method']} | {r['colors']:.0f} | {r['de_mean']:.2f} | "
                     f"{r['de_p95']:.1f} | {100 * r['orphan_de']:.1f} | {r['pal_min_de']:.1f} | {r['edge_f1']:.3f} |")
    lines += ["", "Median over the four photos:", "",
              "| pixel size | method | ΔE00 mean | orphans % | min pal ΔE00 | edge F1 |", "|---|---|---|---|---|---|"]
    for p in pixel_sizes:
        for method, _ in METHODS:
            rs = [r for r in records if r["p"] == p and r["method"] == method]
            med = {key: statistics.median(r[key] for r in rs) for key in ("de_mean", "orphan_de", "pal_min_de",
                                                                          "edge_f1")}
            lines.append(f"| {p} | {method} | {med['de_mean']:.2f} | {100 * med['orphan_de']:.1f} | "
                         f"{med['pal_min_de']:.1f} | {med['edge_f1']:.3f} |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, snippet: str) -> bool:
    """Replace the text between the gallery markers in ``readme``; False when it has no markers."""
    if not readme.is_file():
        return False
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return False
    new = text[: start + len(START)] + "\n" + snippet + text[end:]
    if new != text:
        atomic_write_text(readme, new)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (0 ok, 2 bad flags)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "gallery"), help="output folder (PNGs and gallery.md)")
    ap.add_argument("--pixel_sizes", type=int, nargs="+", default=[6, 10], help="cell sizes in photo pixels")
    ap.add_argument("--panel", type=int, default=256, help="max displayed width of a panel in px")
    ap.add_argument("--images", nargs="+", default=list(bench.IMAGES), choices=bench.IMAGES)
    ap.add_argument("--readme", default=str(ROOT / "README.md"),
                    help="README whose gallery markers get the grid ('' to leave READMEs alone)")
    args = ap.parse_args(argv)
    if any(p < 1 for p in args.pixel_sizes):
        ap.error(f"--pixel_sizes must all be >= 1, got {args.pixel_sizes}")
    if args.panel < 16:
        ap.error(f"--panel must be >= 16 px, got {args.panel}")
    cv2.setNumThreads(1)  # k-means in the seed baseline: same result on every machine
    imgs = bench.load_samples(args.images)
    out = Path(args.out)
    records = render(imgs, args.pixel_sizes, out, args.panel)
    atomic_write_text(out / "gallery.md", markdown(records, imgs, args.pixel_sizes))
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"gallery: {len(records)} panels, {total / 1024:.0f} KiB in {out}")
    if args.readme:
        try:
            prefix = Path(os.path.relpath(out, Path(args.readme).resolve().parent)).as_posix() + "/"
        except ValueError:  # different drives (Windows)
            prefix = out.as_posix() + "/"
        if update_readme(Path(args.readme), markdown(records, imgs, args.pixel_sizes, prefix)):
            print(f"updated the gallery section of {args.readme}")
        else:
            print(f"{args.readme}: no {START} ... {END} markers; gallery.md only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
