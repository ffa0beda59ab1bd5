r"""The learned stage on held-out drawings: does it keep the drawing's colours, add outlines, avoid speckle?

Usage::

    python -m datasets.make_cartoon2pixel DIR --size 256 --cell 8 --categories food,transportation,tools \\
        --val_fraction 0 --test_fraction 0.999          # held-out clip-art categories (all in testA)
    python benchmarks/bench_stage.py --dataroot DIR [--pixel_size 8] [--n_colors 12] [--limit 60]
        [--generator NAME_OR_PTH ...] [--exclude stateDict/cartoon2pixel_training_manifest.json] [--json F]

Each drawing of ``testA`` (at the dataset's size, e.g. 256 px) goes through the pipelines a user can
pick, exactly as ``pixelize.py`` runs them (the generator fed at its training scale, its output
guided by the input, then quantised at ``--pixel_size`` with ``--n_colors`` colours):

* quantisation alone, and with ``--outline 0.25``;
* each generator with the first guidance (hue and saturation copied back, white background kept:
  ``--no-keep_tone --no-despeckle``) and with the current one (``keep_tone`` + ``despeckle``).

Measures, on the native result (one pixel per cell), with the drawing's cells taken from the input
(cells more than 5 ΔE00 from white):

* **distance to real pixel art**: kernel MMD between per-image features (``bench_neural``'s, the
  colour count left out since the user sets it) and the same features of ``testB``'s hand-made sprites;
* **speckle**: share of the drawing's cells unlike each of their 4-neighbours (ΔE00 > 10);
* **outline**: share of the drawing's border cells (in the output) darker than L* 35;
* **interior ΔE00** and **lightness shift**: median over the input drawing's interior cells (all
  4-neighbours drawing) of ΔE00(output, input cell) and of L*(output) - L*(input); median over images.

Targets (reported, not enforced): interior ΔE00 <= 6, |shift| <= 3, outline >= 0.6, distance
<= 0.45x quantisation alone, speckle <= the real sprites' median.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

import postprocess
from benchmarks.bench_neural import FEATURE_NAMES, WHITE_LAB, FeatureMMD, cells, image_features, list_images
from postprocess.color import delta_e00, srgb_to_lab
from postprocess.guidance import SPECKLE_DE, speckle_mask
from util.image import load_image

#: ΔE00 to white above which a cell belongs to the drawing.
DRAWING_DE = 5.0
#: The three guidances measured for each generator: the first one, the default, the default + --despeckle.
BEFORE, DEFAULT, DESPECKLED = "hue guidance (before)", "tone guidance (default)", "tone guidance + despeckle"
#: Feature columns compared (the colour count is the user's choice, so it is left out).
COMPARED = [i for i, name in enumerate(FEATURE_NAMES) if name != "log2_colours"]


# --------------------------------------------------------------------------- measures
def drawing_of(native: np.ndarray) -> np.ndarray:
    """bool ``(h, w)``: cells more than :data:`DRAWING_DE` from white."""
    lab = srgb_to_lab(np.ascontiguousarray(native[..., :3]))
    return delta_e00(lab, np.broadcast_to(WHITE_LAB, lab.shape)) > DRAWING_DE


def interior_of(drawing: np.ndarray) -> np.ndarray:
    """Drawing cells whose 4-neighbours are all drawing (the frame counts as background)."""
    p = np.pad(drawing, 1, constant_values=False)
    return drawing & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]


def speckle_rate(native: np.ndarray, drawing: np.ndarray | None = None) -> float:
    """Share of the drawing's cells (default: the native image's own) unlike all 4-neighbours."""
    if drawing is None:
        drawing = drawing_of(native)
    if not drawing.any():
        return 0.0
    return float(speckle_mask(native, threshold=SPECKLE_DE)[drawing].mean())


def stage_measures(native_in: np.ndarray, native_out: np.ndarray) -> dict[str, float]:
    """The per-image measures of the module docstring (``native_in``: the input's cell means)."""
    drawing = drawing_of(native_in)
    interior = interior_of(drawing)
    lab_in = srgb_to_lab(np.ascontiguousarray(native_in[..., :3]))
    lab_out = srgb_to_lab(np.ascontiguousarray(native_out[..., :3]))
    feats = image_features(native_out)
    row = {"speckle": speckle_rate(native_out, drawing),
           "outline": float(feats[FEATURE_NAMES.index("outline_rate")]),
           "interior_de": float("nan"), "shift": float("nan")}
    if interior.any():
        row["interior_de"] = float(np.median(delta_e00(lab_out[interior], lab_in[interior])))
        row["shift"] = float(np.median(lab_out[interior][:, 0] - lab_in[interior][:, 0]))
    return row


# --------------------------------------------------------------------------- pipelines
Pipeline = Callable[[np.ndarray], np.ndarray]


def quantise_only(settings: postprocess.PixelArtSettings) -> Pipeline:
    """Quantisation alone with ``settings``."""
    return lambda image: postprocess.pixelize_image(image, settings)


def with_generator(stage, settings: postprocess.PixelArtSettings, guidance: dict) -> Pipeline:
    """A generator stage (``engine.generator.GeneratorStage``) + guidance + quantisation, as pixelize runs it."""
    from postprocess.guidance import guided_pixelize

    def run(image: np.ndarray) -> np.ndarray:
        stylised = stage([image])[0]
        return guided_pixelize(stylised, image, settings, **guidance)[0]

    return run


def load_stage(name: str, pixel_size: int):
    """A generator stage for a shipped name or a ``.pth`` path, at its training scale, on the CPU."""
    from engine.generator import GeneratorStage
    from util import pretrained

    path = pretrained.resolve(name) if not name.endswith(".pth") else Path(name)
    cell = pretrained.training_cell(path)
    return GeneratorStage(str(path), overrides={}, device="cpu", gen_size=1024,
                          scale=None if cell is None else cell / pixel_size)


def evaluate(pipelines: dict[str, Pipeline], drawings: list[np.ndarray], sprites_native: list[np.ndarray],
             pixel_size: int, styles: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Median measures and the distance to real pixel art of every pipeline, plus the sprites' own row.

    ``styles``: the pixel-art style of each sprite (from the dataset's manifest); with two or more
    styles each row also gets ``distance <style>``, the distance to that style's sprites alone."""
    sprite_feats = np.stack([image_features(s)[COMPARED] for s in sprites_native])
    reference = FeatureMMD(sprite_feats)
    per_style: dict[str, FeatureMMD] = {}
    if styles is not None and len(set(styles)) > 1:
        for style in sorted(set(styles)):
            pick = [i for i, s in enumerate(styles) if s == style]
            if len(pick) >= 2:
                per_style[style] = FeatureMMD(sprite_feats[pick])
    natives_in = [cells(d, pixel_size) for d in drawings]
    rows: dict[str, dict[str, float]] = {}
    for label, run in pipelines.items():
        t0 = time.perf_counter()
        outs = [run(d) for d in drawings]
        seconds = time.perf_counter() - t0
        per = [stage_measures(a, b[..., :3]) for a, b in zip(natives_in, outs, strict=True)]
        feats = np.stack([image_features(o[..., :3])[COMPARED] for o in outs])
        rows[label] = {k: _median([p[k] for p in per]) for k in per[0]}
        rows[label] |= {"distance": reference.distance(feats), "ms": 1000.0 * seconds / len(drawings)}
        rows[label] |= {f"distance {style}": ref.distance(feats) for style, ref in per_style.items()}
        print(f"  {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[label].items()), flush=True)
    rows["real pixel art (testB)"] = {
        "speckle": float(np.median([speckle_rate(s) for s in sprites_native])),
        "outline": float(np.median([image_features(s)[FEATURE_NAMES.index("outline_rate")] for s in sprites_native])),
        "interior_de": float("nan"), "shift": float("nan"), "distance": float("nan"), "ms": 0.0}
    rows["real pixel art (testB)"] |= {f"distance {style}": float("nan") for style in per_style}
    return rows


def _median(values: Sequence[float]) -> float:
    """Median of the values that are not NaN (NaN when none is: no image had an interior)."""
    kept = [v for v in values if not np.isnan(v)]
    return float(np.median(kept)) if kept else float("nan")


def format_table(rows: dict[str, dict[str, float]], baseline: str = "quantisation alone") -> str:
    """Markdown table of :func:`evaluate`'s rows (distance also as a ratio of ``baseline``)."""
    base = rows[baseline]["distance"]
    lines = ["| pipeline | distance to real pixel art | vs quantisation alone | speckle | dark outline at border "
             "| interior ΔE00 (median) | interior lightness shift | ms / image |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in rows.items():
        ratio = r["distance"] / base if base > 0 else float("nan")
        dist = "—" if np.isnan(r["distance"]) else f"{r['distance']:.3f}"
        rat = "—" if np.isnan(ratio) else f"{ratio:.2f}x"
        de = "—" if np.isnan(r["interior_de"]) else f"{r['interior_de']:.1f}"
        sh = "—" if np.isnan(r["shift"]) else f"{r['shift']:+.1f}"
        lines.append(f"| {label} | {dist} | {rat} | {r['speckle']:.3f} | {r['outline']:.2f} | {de} | {sh} "
                     f"| {r['ms']:.0f} |")
    styles = [k.removeprefix("distance ") for k in rows[baseline] if k.startswith("distance ")]
    if styles:
        lines += ["", "| pipeline | " + " | ".join(f"distance to {s} (vs quantisation alone)" for s in styles) + " |",
                  "|---|" + "---:|" * len(styles)]
        for label, r in rows.items():
            if np.isnan(r["distance"]):
                continue
            cells_ = [f"{r['distance ' + s]:.3f} ({r['distance ' + s] / rows[baseline]['distance ' + s]:.2f}x)"
                      for s in styles]
            lines.append(f"| {label} | " + " | ".join(cells_) + " |")
    return "\n".join(lines)


def verdict(rows: dict[str, dict[str, float]], label: str, baseline: str = "quantisation alone") -> str:
    """One line: which of the targets ``label`` meets."""
    r, b = rows[label], rows[baseline]
    real = rows["real pixel art (testB)"]["speckle"]
    checks = {"interior ΔE00 <= 6": r["interior_de"] <= 6.0, "|shift| <= 3": abs(r["shift"]) <= 3.0,
              "outline >= 0.6": r["outline"] >= 0.6, "distance <= 0.45x": r["distance"] <= 0.45 * b["distance"],
              f"speckle <= real ({real:.3f})": r["speckle"] <= real}
    return f"{label}: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in checks.items())


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="bench_stage", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                description="The learned stage on held-out drawings: colours, outlines, speckle.")
    p.add_argument("--dataroot", required=True, help="dataset made by datasets.make_cartoon2pixel (testA, testB)")
    p.add_argument("--pixel_size", type=int, default=8, help="cell size of every quantisation")
    p.add_argument("--n_colors", type=int, default=12, help="palette size of every quantisation")
    p.add_argument("--limit", type=int, default=None, help="drawings used, the first N (and sprites, the first N "
                   "of each style)")
    p.add_argument("--generator", nargs="*", default=["cartoon2pixel"], metavar="NAME_OR_PTH",
                   help="shipped generator names or .pth files (each with its .json sidecar)")
    p.add_argument("--exclude", nargs="*", default=[], metavar="MANIFEST",
                   help="training manifests: drawings whose source file a generator was trained on are left out")
    p.add_argument("--current_only", action="store_true",
                   help="each generator with the default guidance only (tone guidance), e.g. to "
                        "compare the epochs of a run")
    p.add_argument("--json", default=None, metavar="FILE", help="write the rows as JSON")
    p.add_argument("--gallery", default=None, metavar="DIR",
                   help="write one strip per drawing (the first --gallery_count): input | quantisation alone | "
                        "each generator before | each generator now, as heldout_<i>.png")
    p.add_argument("--gallery_count", type=int, default=6, help="drawings in the gallery")
    return p


def write_gallery(out_dir: Path, drawings: list[np.ndarray], pipelines: dict[str, Pipeline], pixel_size: int,
                  names: Sequence[str]) -> list[Path]:
    """One strip per drawing: the input, then each pipeline's result upscaled by ``pixel_size`` (4-px gaps)."""
    from util.image import save_image

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for drawing, name in zip(drawings, names, strict=True):
        h, w = drawing.shape[:2]
        panels = [drawing[..., :3]] + [postprocess.upscale(run(drawing)[..., :3], pixel_size)[:h, :w]
                                       for run in pipelines.values()]
        gap = np.full((h, 4, 3), 255, np.uint8)
        strip = np.concatenate([x for panel in panels for x in (panel, gap)][:-1], axis=1)
        path = out_dir / f"heldout_{name}.png"
        save_image(path, strip)
        paths.append(path)
    return paths


def _trained_files(manifests: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    for path in manifests:
        data = json.loads(Path(path).read_text())
        for split, entries in data.get("images", {}).items():
            if split.endswith("A"):
                seen.update(e["file"] for e in entries if "file" in e)
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets are reported, not enforced), 2 for bad inputs."""
    args = build_parser().parse_args(argv)
    if args.pixel_size < 1 or args.n_colors < 2:
        print("bench_stage: error: --pixel_size must be >= 1 and --n_colors >= 2", file=sys.stderr)
        return 2
    root = Path(args.dataroot)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        skip = _trained_files(args.exclude)
        entries = {e["name"]: e.get("file", "") for e in manifest["images"].get("testA", [])}
        files_a = [p for p in list_images(root / "testA") if entries.get(p.name, "") not in skip]
        files_a = files_a[: args.limit] if args.limit else files_a
        style_of = {e["name"]: e.get("style", "") for e in manifest["images"].get("testB", [])}
        files_b, seen = [], {}
        for path in list_images(root / "testB"):
            style = style_of.get(path.name, "")
            seen[style] = seen.get(style, 0) + 1
            if not args.limit or seen[style] <= args.limit:
                files_b.append(path)
        styles = [style_of.get(p.name, "") for p in files_b]
        drawings = [load_image(p) for p in files_a]
        sprites = [cells(load_image(p), int(manifest["cell"])) for p in files_b]
    except (OSError, KeyError, ValueError) as exc:
        print(f"bench_stage: error: --dataroot {root}: {exc}", file=sys.stderr)
        return 2
    if len(drawings) < 2 or len(sprites) < 2:
        print(f"bench_stage: error: --dataroot {root}: need >= 2 drawings and sprites, got {len(drawings)} and "
              f"{len(sprites)}", file=sys.stderr)
        return 2
    settings = postprocess.PixelArtSettings(pixel_size=args.pixel_size, n_colors=args.n_colors).validate()
    pipelines: dict[str, Pipeline] = {
        "quantisation alone": quantise_only(settings),
        "quantisation, outline 0.25": quantise_only(settings.replace(outline=0.25)),
    }
    for name in args.generator:
        try:
            stage = load_stage(name, args.pixel_size)
        except (OSError, ValueError) as exc:
            print(f"bench_stage: error: --generator {name}: {exc}", file=sys.stderr)
            return 2
        label = Path(name).stem
        if not args.current_only:
            pipelines[f"{label}, {BEFORE}"] = with_generator(
                stage, settings, {"color_match": True, "keep_white": True, "keep_tone": False, "despeckle": False})
        pipelines[f"{label}, {DEFAULT}"] = with_generator(
            stage, settings, {"color_match": True, "keep_white": True, "keep_tone": True, "despeckle": False})
        if not args.current_only:
            pipelines[f"{label}, {DESPECKLED}"] = with_generator(
                stage, settings, {"color_match": True, "keep_white": True, "keep_tone": True, "despeckle": True})
    print(f"{len(drawings)} held-out drawings ({root / 'testA'}), {len(sprites)} real sprites; "
          f"{args.pixel_size}-px cells, {args.n_colors} colours")
    rows = evaluate(pipelines, drawings, sprites, args.pixel_size, styles)
    print(format_table(rows))
    for label in rows:
        if "guidance" in label:
            print(verdict(rows, label))
    if args.gallery:
        shown = {k: v for k, v in pipelines.items()
                 if k == "quantisation alone" or k.endswith((BEFORE, DEFAULT))}
        count = max(0, min(args.gallery_count, len(drawings)))
        print("gallery columns: input | " + " | ".join(shown))
        for path in write_gallery(Path(args.gallery), drawings[:count], shown, args.pixel_size,
                                  [p.stem for p in files_a[:count]]):
            print(f"gallery: {path}")
    if args.json:
        from util.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
