"""Render the README gallery: input | ours | seed-faithful baseline | naive posterize, with metrics.

Run: ``python benchmarks/make_gallery.py`` (or ``make gallery``); deterministic, ~10 s on one core.

A before/after table (issue 13) comes first: the astronaut's face at 8-px cells and four synthetic
sprites of ``bench_artist.py`` (artist | smooth render | before | after), where "before" is today's
pipeline with the pixel-art restoration and half-tone cleanup off (the previous defaults).

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
``gallery.md`` (a markdown grid with the docs/metrics.md measures next to each panel) to ``--out``.
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
from benchmarks import bench_artist as artist_bench  # noqa: E402
from benchmarks import bench_postprocess as bench  # noqa: E402
from postprocess import pipeline as _pipeline  # noqa: E402
from postprocess import pixelize_image, pixelize_image_with_palette, upscale  # noqa: E402
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
            art, _ = pixelize_image_with_palette(img, pixel_size=p)
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


def previous_release(img: np.ndarray, p: int, k: int | None = None) -> np.ndarray:
    """The pipeline as it was before issue 13: no pixel-art restoration, no half-tone cleanup, the
    palette separation of photos (8). Every other step is today's."""
    saved = _pipeline.restore_pixel_art, _pipeline.clean_halftones
    _pipeline.restore_pixel_art = lambda rgb, grid, *args, **kwargs: (grid, 0.0)
    _pipeline.clean_halftones = lambda labels, *args: labels
    try:
        return pixelize_image(img, pixel_size=p, n_colors=k, min_delta_e=_pipeline.MIN_DELTA_E)
    finally:
        _pipeline.restore_pixel_art, _pipeline.clean_halftones = saved


#: The astronaut's face (rows, columns of the 512x512 photo) and the cell size of the face row.
FACE = (slice(64, 256), slice(128, 320))
FACE_P = 8
#: Synthetic sprites of bench_artist.py shown in the sprite row (no Debian package needed).
SPRITES = (0, 2, 5, 9)


def render_before_after(imgs: dict[str, np.ndarray], out: Path, panel: int) -> list[str]:
    """Two before/after rows (PNGs under ``out``): the astronaut's face at 8-px cells and the pixel-artist
    round trip of ``bench_artist.py``; returns their markdown lines (links without prefix, see caller)."""
    rows = []
    if "astronaut" in imgs:
        face = np.ascontiguousarray(imgs["astronaut"][FACE])
        before, after = previous_release(face, FACE_P), pixelize_image(face, pixel_size=FACE_P)
        f = display_factor(after.shape[1], panel)
        save_image(out / "face_input.png", input_panel(face, panel), indexed=False)
        save_image(out / "face_before.png", upscale(before, f))
        save_image(out / "face_after.png", upscale(after, f))
        same = float((before == after).all(axis=-1).mean())
        rows.append(("astronaut face, 8-px cells, automatic colours", ["face_input.png", "face_before.png",
                     "face_after.png"], f"{100 * same:.0f} % of the cells unchanged"))
    sprites = artist_bench.synthetic_sprites(max(SPRITES) + 1)
    tiles = {"artist": [], "render": [], "before": [], "after": []}
    agree = {"before": [], "after": []}
    for i in SPRITES:
        _, spr, scored = sprites[i]
        img = artist_bench.render_smooth(spr, seed=1000 + i)
        k = min(16, artist_bench.n_colours(spr))
        shrunk = cv2.resize(img, spr.shape[1::-1], interpolation=cv2.INTER_AREA)
        before = previous_release(img, artist_bench.CELL, k)
        outs = {"before": before, "after": pixelize_image(img, pixel_size=artist_bench.CELL, n_colors=k)}
        for key, t in (("artist", spr), ("render", shrunk), *outs.items()):
            tiles[key].append(np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=255))
        for key, t in outs.items():
            agree[key].append(artist_bench.compare(t, spr, scored)["agree"])
    names = []
    for key, ts in tiles.items():
        strip = np.concatenate(ts, axis=1)
        save_image(out / f"sprites_{key}.png", upscale(strip, display_factor(strip.shape[1], 2 * panel)))
        names.append(f"sprites_{key}.png")
    rows.append(("pixel-artist round trip (bench_artist.py), input column: artist above, smooth render (area-shrunk) below",
                 names, f"agreement with the artist {statistics.mean(agree['before']):.2f} -> "
                        f"{statistics.mean(agree['after']):.2f}"))
    return rows


def before_after_markdown(rows: list, prefix: str = "") -> list[str]:
    """Markdown table of the before/after rows, image paths prefixed with ``prefix``."""
    lines = ["#### Before / after issue 13 (pixel-art restoration, half-tone cleanup)", "",
             "| row | input | before | after |", "|---|---|---|---|"]
    for title, files, note in rows:
        if len(files) == 3:
            cells = [f"![{title} {i}]({prefix}{f})" for i, f in enumerate(files)]
        else:
            cells = [f"![artist]({prefix}{files[0]})<br>![render]({prefix}{files[1]})",
                     f"![before]({prefix}{files[2]})", f"![after]({prefix}{files[3]})"]
        lines.append(f"| {title}<br>{note} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _metrics_line(r: dict) -> str:
    return (f"K {r['colors']:.0f} · ΔE00 {r['de_mean']:.2f} · orphans {100 * r['orphan_de']:.1f} % · "
            f"min pal ΔE00 {r['pal_min_de']:.1f} · edge F1 {r['edge_f1']:.3f}")


def markdown(records: list[dict], imgs: dict[str, np.ndarray], pixel_sizes: Sequence[int], prefix: str = "",
             extra: list | None = None) -> str:
    """The gallery grid and the metrics tables as markdown; image links start with ``prefix``;
    ``extra``: the before/after rows of :func:`render_before_after`."""
    by = {(r["image"], r["p"], r["method"]): r for r in records}
    lines = [
        "Post-processing only (no generator), on the scikit-image sample photos; each output is shown",
        "upscaled by an integer factor (nearest neighbour) with its palette below it. Both baselines get",
        "the palette size our automatic choice produced. Metrics ([docs/metrics.md](docs/metrics.md), computed on the native",
        "output): K = colours used; ΔE00 = mean CIEDE2000 to the area-downsampled photo (lower is better);",
        "orphans = cells unlike all their neighbours (ΔE00 > 5; lower is cleaner); min pal ΔE00 = closest",
        "pair of palette colours (higher = more distinct); edge F1 = contour alignment with the photo.",
        "Regenerate with `make gallery`.",
        "",
    ]
    if extra:
        lines += before_after_markdown(extra, prefix)
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
    extra = render_before_after(imgs, out, args.panel)
    atomic_write_text(out / "gallery.md", markdown(records, imgs, args.pixel_sizes, extra=extra))
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"gallery: {len(records)} panels, {total / 1024:.0f} KiB in {out}")
    if args.readme:
        try:
            prefix = Path(os.path.relpath(out, Path(args.readme).resolve().parent)).as_posix() + "/"
        except ValueError:  # different drives (Windows)
            prefix = out.as_posix() + "/"
        if update_readme(Path(args.readme), markdown(records, imgs, args.pixel_sizes, prefix, extra)):
            print(f"updated the gallery section of {args.readme}")
        else:
            print(f"{args.readme}: no {START} ... {END} markers; gallery.md only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
