"""Does the neural stage add pixel-art quality? Quantisation alone vs generator + quantisation.

Usage::

    python benchmarks/bench_neural.py --dataroot datasets/cartoon2pixel64 \
        --checkpoints checkpoints/cartoon2pixel_cpu [--ship stateDict/cartoon2pixel_G_A.pth] [--gallery]
    python benchmarks/bench_neural.py --dataroot DIR --model_path G.pth      # one generator, test split only

For each cartoon of a split (``valA``/``testA`` of a dataset made by ``datasets.make_cartoon2pixel``)
it makes, at the dataset's cell size and the same colour count:

* **quantisation alone**: ``postprocess.pixelize_image(cartoon)``;
* **generator**: the raw A->B generator output, reduced to one pixel per cell (area mean);
* **generator + quantisation**: ``postprocess.pixelize_image(generator(cartoon))``;
* **generator + guidance + quantisation**: the same with the cartoon as guide (pixelize's ``--keep_tone
  --keep_white``, on by default for the shipped generator): its colours kept except on the
  generator's outlines and its white background restored a cell away from the drawing;
* the same three for an **untrained** generator of the same architecture (the floor);

and measures how far each set is from **real pixel art** (``valB``/``testB``: hand-made sprites) with
a kernel MMD between per-image feature vectors that do not depend on any discriminator:
CIELAB histograms (lightness, hue, chroma of the drawing), the histogram of colour steps between
neighbouring cells, the dark-outline rate at the drawing's border, the colour count, the mean
chroma and the drawing's coverage. A second set of real sprites (from ``trainB``) gives the
distance between two samples of real pixel art: the noise floor. It also reports how much of the
cartoon's white background stays white (ΔE00 < 5).

With ``--checkpoints`` every saved epoch is evaluated on the validation split, the epoch with the
smallest distance of the shipped pipeline (``--select``, default generator + guidance +
quantisation) is chosen, and only that one is measured on the test split (``--ship`` copies its
generator there). Target: the shipped pipeline at most half the distance of quantisation alone.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import postprocess
from postprocess.color import delta_e00, lab_chroma, srgb_to_lab
from util.image import load_image, save_image

WHITE_LAB = srgb_to_lab(np.array([[255, 255, 255]], dtype=np.uint8))[0]
#: ΔE00 to white below which a cell counts as background.
BACKGROUND_DE = 5.0
#: Lightness (CIELAB L*) below which a border cell counts as a dark outline.
OUTLINE_L = 35.0
L_BINS = np.array([0, 20, 35, 50, 65, 80, 101], dtype=np.float64)
CHROMA_BINS = np.array([0, 5, 15, 30, 50, 200], dtype=np.float64)
HUE_BINS = 6
STEP_BINS = np.array([0, 1, 3, 6, 12, 24, 1000], dtype=np.float64)
FEATURE_NAMES = ([f"L<{int(b)}" for b in L_BINS[1:]] + [f"hue{i}" for i in range(HUE_BINS)]
                 + [f"C<{int(b)}" for b in CHROMA_BINS[1:]] + [f"step<{int(b)}" for b in STEP_BINS[1:]]
                 + ["outline_rate", "log2_colours", "chroma", "coverage"])


# --------------------------------------------------------------------------- features
def cells(image: np.ndarray, cell: int) -> np.ndarray:
    """uint8 ``(H, W, 3)`` -> uint8 ``(H // cell, W // cell, 3)``: the rounded mean of each cell."""
    h, w = image.shape[0] // cell * cell, image.shape[1] // cell * cell
    blocks = image[:h, :w, :3].reshape(h // cell, cell, w // cell, cell, 3).astype(np.float64)
    return np.clip(np.rint(blocks.mean(axis=(1, 3))), 0, 255).astype(np.uint8)


def _hist(values: np.ndarray, bins: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    counts, _ = np.histogram(values, bins=bins, weights=weights)
    total = counts.sum()
    return counts / total if total > 0 else np.zeros(len(bins) - 1)


def image_features(native: np.ndarray) -> np.ndarray:
    """The feature vector of one native-resolution image (one pixel per cell) on white."""
    lab = srgb_to_lab(native[..., :3]).astype(np.float64)
    drawing = delta_e00(lab, np.broadcast_to(WHITE_LAB, lab.shape)) > BACKGROUND_DE
    obj = lab[drawing]
    if obj.shape[0] == 0:
        obj = lab.reshape(-1, 3)
    chroma = lab_chroma(obj)
    hue = np.mod(np.arctan2(obj[:, 2], obj[:, 1]), 2 * np.pi)
    hue_hist = _hist(hue, np.linspace(0, 2 * np.pi, HUE_BINS + 1), weights=chroma)
    # colour steps between 4-neighbours where at least one of the two is drawing
    steps = []
    for axis in (0, 1):
        a = lab[:-1] if axis == 0 else lab[:, :-1]
        b = lab[1:] if axis == 0 else lab[:, 1:]
        ma = drawing[:-1] if axis == 0 else drawing[:, :-1]
        mb = drawing[1:] if axis == 0 else drawing[:, 1:]
        pair = ma | mb
        steps.append(delta_e00(a[pair], b[pair]))
    step_hist = _hist(np.concatenate(steps), STEP_BINS)
    # the drawing's border: drawing cells with a 4-neighbour that is background (or the frame)
    padded = np.pad(drawing, 1, constant_values=False)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    border = drawing & ~inner
    outline_rate = float((lab[..., 0][border] < OUTLINE_L).mean()) if border.any() else 0.0
    colours = np.unique(native[..., :3].reshape(-1, 3)[drawing.reshape(-1)], axis=0).shape[0]
    return np.concatenate([
        _hist(obj[:, 0], L_BINS), hue_hist, _hist(chroma, CHROMA_BINS), step_hist,
        [outline_rate, np.log2(max(colours, 1)) / 8.0, float(chroma.mean()) / 50.0, float(drawing.mean())],
    ])


def white_kept(native_in: np.ndarray, native_out: np.ndarray) -> float:
    """Share of the input's white background cells that are still white (ΔE00 < 5) in the output."""
    lab_in = srgb_to_lab(native_in[..., :3]).astype(np.float64)
    lab_out = srgb_to_lab(native_out[..., :3]).astype(np.float64)
    background = delta_e00(lab_in, np.broadcast_to(WHITE_LAB, lab_in.shape)) < BACKGROUND_DE
    if not background.any():
        return 1.0
    return float((delta_e00(lab_out[background], np.broadcast_to(WHITE_LAB, lab_out[background].shape))
                  < BACKGROUND_DE).mean())


# --------------------------------------------------------------------------- kernel MMD
class FeatureMMD:
    """Gaussian-kernel MMD to a fixed reference set of feature vectors.

    Features are standardised with the reference's mean and standard deviation, and the kernel
    width is the median pairwise distance within the reference, so every compared set is measured
    with the same kernel. ``distance`` is the square root of the unbiased MMD² (clipped at 0).
    """

    def __init__(self, reference: np.ndarray):
        reference = np.asarray(reference, dtype=np.float64)
        if reference.ndim != 2 or reference.shape[0] < 2:
            raise ValueError(f"the reference needs at least 2 feature vectors, got shape {reference.shape}")
        self.mean = reference.mean(axis=0)
        self.std = np.maximum(reference.std(axis=0), 0.05)
        self.ref = self._scale(reference)
        d2 = self._sqdist(self.ref, self.ref)
        off = d2[~np.eye(len(self.ref), dtype=bool)]
        self.gamma = 1.0 / max(float(np.median(off)), 1e-12)
        self.k_rr = self._mean_offdiag(np.exp(-self.gamma * d2))

    def _scale(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    @staticmethod
    def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)

    @staticmethod
    def _mean_offdiag(k: np.ndarray) -> float:
        n = k.shape[0]
        return float((k.sum() - np.trace(k)) / (n * (n - 1)))

    def mmd2(self, features: np.ndarray) -> float:
        """Unbiased MMD² between ``features`` (n >= 2 rows) and the reference."""
        x = self._scale(features)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"need at least 2 feature vectors, got shape {x.shape}")
        k_xx = self._mean_offdiag(np.exp(-self.gamma * self._sqdist(x, x)))
        k_xr = float(np.exp(-self.gamma * self._sqdist(x, self.ref)).mean())
        return k_xx + self.k_rr - 2.0 * k_xr

    def distance(self, features: np.ndarray) -> float:
        """``sqrt(max(MMD², 0))``."""
        return float(np.sqrt(max(self.mmd2(features), 0.0)))


# --------------------------------------------------------------------------- data and generators
def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """Sorted image files of a split folder (the first ``limit``)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--dataroot: no folder {folder} (make it with python -m datasets.make_cartoon2pixel)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return files[:limit] if limit else files


def run_generator(net, images: list[np.ndarray], netG: str, batch: int = 16) -> list[np.ndarray]:
    """Raw generator outputs (uint8 HWC) for equal-size uint8 RGB images, on the CPU; ``netG`` names
    the architecture (padding to :func:`models.networks.required_multiple`)."""
    import torch

    from models import networks
    from models.inference import run_padded
    from util.image import to_tensor, to_uint8

    multiple = networks.required_multiple(netG)
    out: list[np.ndarray] = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.extend(to_uint8(run_padded(net, to_tensor(images[i:i + batch]), multiple)))
    return out


def untrained_like(config: dict, seed: int = 0):
    """A freshly initialised generator of the same architecture (the floor)."""
    import torch

    from models import networks

    torch.manual_seed(seed)
    net = networks.define_G(config["input_nc"], config["output_nc"], config["ngf"], config["netG"], config["norm"],
                            config["use_dropout"], "normal", 0.02)
    return net.eval()


def checkpoint_epochs(folder: Path, suffix: str = "_A") -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``<epoch>_net_G<suffix>.pth`` in a run folder, by epoch."""
    found = []
    for path in folder.glob(f"*_net_G{suffix}.pth"):
        m = re.fullmatch(rf"(\d+)_net_G{suffix}\.pth", path.name)
        if m:
            found.append((int(m.group(1)), path))
    return sorted(found)


# --------------------------------------------------------------------------- evaluation
def evaluate_split(cartoons: list[np.ndarray], reference: FeatureMMD, cell: int, n_colors: int,
                   generators: dict[str, tuple[object, str]], with_guidance: bool = True) -> dict[str, dict[str, float]]:
    """Distances and white-background figures of quantisation alone and of each generator: raw, quantised,
    and guided by the cartoon (:func:`guided`)."""
    natives_in = [cells(c, cell) for c in cartoons]
    rows: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    quant = [postprocess.pixelize_image(c, pixel_size=cell, n_colors=n_colors) for c in cartoons]
    rows["quantisation alone"] = _row(reference, natives_in, quant, time.perf_counter() - t0, len(cartoons))
    for label, (net, netG) in generators.items():
        t0 = time.perf_counter()
        raw = run_generator(net, cartoons, netG)
        t_gen = time.perf_counter() - t0
        rows[f"{label} generator"] = _row(reference, natives_in, [cells(r, cell) for r in raw], t_gen, len(cartoons))
        t0 = time.perf_counter()
        gq = [postprocess.pixelize_image(r, pixel_size=cell, n_colors=n_colors) for r in raw]
        rows[f"{label} generator + quantisation"] = _row(reference, natives_in, gq,
                                                         t_gen + time.perf_counter() - t0, len(cartoons))
        if with_guidance:
            t0 = time.perf_counter()
            gcq = [guided(r, c, cell, n_colors) for r, c in zip(raw, cartoons, strict=True)]
            rows[f"{label} generator + guidance + quantisation"] = _row(
                reference, natives_in, gcq, t_gen + time.perf_counter() - t0, len(cartoons))
    return rows


def guided(stylised: np.ndarray, cartoon: np.ndarray, cell: int, n_colors: int) -> np.ndarray:
    """What pixelize does to a shipped generator's output when its notes ask for it (``--keep_tone
    --keep_white``): the same function, :func:`postprocess.guidance.guided_pixelize`."""
    from postprocess.guidance import guided_pixelize

    settings = postprocess.PixelArtSettings(pixel_size=cell, n_colors=n_colors)
    return guided_pixelize(stylised, cartoon, settings)[0]


def _row(reference: FeatureMMD, natives_in: list[np.ndarray], natives_out: list[np.ndarray],
         seconds: float, n: int) -> dict[str, float]:
    feats = np.stack([image_features(x) for x in natives_out])
    return {"distance": reference.distance(feats),
            "white_kept": float(np.mean([white_kept(a, b) for a, b in zip(natives_in, natives_out, strict=True)])),
            "outline_rate": float(feats[:, FEATURE_NAMES.index("outline_rate")].mean()),
            "colours": float(np.median(2 ** (8 * feats[:, FEATURE_NAMES.index("log2_colours")]))),
            "ms_per_image": 1000.0 * seconds / max(n, 1)}


def load_split(root: Path, split: str, domain: str, limit: int | None) -> list[np.ndarray]:
    """RGB images of ``root/<split><domain>``."""
    return [load_image(p) for p in list_images(root / f"{split}{domain}", limit)]


def reference_for(root: Path, split: str, cell: int, limit: int | None) -> FeatureMMD:
    """The MMD reference made of the real sprites of ``split`` B."""
    return FeatureMMD(np.stack([image_features(cells(b, cell)) for b in load_split(root, split, "B", limit)]))


def floor_distance(root: Path, reference: FeatureMMD, cell: int, n: int, seed: int) -> float:
    """Distance of ``n`` other real sprites (a seeded sample of trainB) to the reference: the noise floor."""
    files = list_images(root / "trainB")
    pick = np.random.default_rng(seed).choice(len(files), size=min(n, len(files)), replace=False)
    feats = np.stack([image_features(cells(load_image(files[i]), cell)) for i in sorted(pick)])
    return reference.distance(feats)


def format_rows(title: str, rows: dict[str, dict[str, float]], baseline: str = "quantisation alone") -> str:
    """A markdown table of the rows, with each distance as a ratio of the baseline's."""
    base = rows[baseline]["distance"]
    lines = [f"#### {title}", "",
             "| method | distance to real pixel art | vs quantisation alone | white bg kept | dark outline rate "
             "| colours | ms / image |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, r in rows.items():
        ratio = r["distance"] / base if base > 0 else float("nan")
        lines.append(f"| {label} | {r['distance']:.3f} | {ratio:.2f}x | {r['white_kept']:.3f} | "
                     f"{r['outline_rate']:.2f} | {r['colours']:.0f} | {r['ms_per_image']:.1f} |")
    return "\n".join(lines)


def write_gallery(out_dir: Path, cartoons: list[np.ndarray], names: Sequence[str], net, netG: str, cell: int,
                  n_colors: int, sprite: np.ndarray, use_guidance: bool, scale: int = 2) -> list[Path]:
    """One strip per cartoon: input | quantisation alone | generator | generator (+ guidance) + quantisation
    | a real tile for scale, written as ``neural_<name>.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = run_generator(net, list(cartoons), netG)
    paths = []
    for c, r, name in zip(cartoons, raw, names, strict=True):
        settings = postprocess.PixelArtSettings(pixel_size=cell, n_colors=n_colors)
        final = guided(r, c, cell, n_colors) if use_guidance else postprocess.pixelize_image(r, settings)
        panels = [c, postprocess.upscale(postprocess.pixelize_image(c, settings), cell), r,
                  postprocess.upscale(final, cell), sprite]
        gap = np.full((c.shape[0], 4, 3), 255, dtype=np.uint8)
        strip = np.concatenate([x for p in panels for x in (p[..., :3], gap)][:-1], axis=1)
        path = out_dir / f"neural_{name}.png"
        save_image(path, np.repeat(np.repeat(strip, scale, axis=0), scale, axis=1))
        paths.append(path)
    return paths


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="bench_neural", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                description="Quantisation alone vs generator + quantisation, against real pixel art.")
    p.add_argument("--dataroot", required=True, help="dataset made by datasets.make_cartoon2pixel")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoints", help="run folder: evaluate every <epoch>_net_G_A.pth on val, pick the best")
    src.add_argument("--model_path", help="one generator state dict: evaluated on the test split only")
    p.add_argument("--n_colors", type=int, default=16, help="palette size for every quantisation")
    p.add_argument("--limit", type=int, default=None, help="images per split (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the untrained generator and of the floor sample")
    p.add_argument("--select", choices=("guided", "plain"), default="guided",
                   help="the pipeline that picks the epoch, meets the target and ships: generator + guidance + "
                        "quantisation (pixelize's --keep_tone --keep_white) or generator + quantisation")
    p.add_argument("--ship", default=None, metavar="FILE.pth", help="copy the chosen generator here")
    p.add_argument("--gallery", default=None, metavar="DIR", help="write input|quant|G|G+quant|tile strips here")
    p.add_argument("--json", default=None, metavar="FILE", help="write all figures as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (the target is reported, not enforced), 2 for bad inputs."""
    import torch

    from models.inference import load_generator
    from util.checkpoint import load_state_dict_file
    from util.fileio import atomic_path, atomic_write_text

    args = build_parser().parse_args(argv)
    if args.n_colors < 2:
        print("bench_neural: error: --n_colors must be >= 2", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, torch.get_num_threads()))
    root = Path(args.dataroot)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        cell = int(manifest["cell"])
        test_a = load_split(root, "test", "A", args.limit)
        test_ref = reference_for(root, "test", cell, args.limit)
    except (OSError, KeyError, ValueError) as exc:
        print(f"bench_neural: error: --dataroot {root}: {exc}", file=sys.stderr)
        return 2
    report: dict = {"cell": cell, "n_colors": args.n_colors, "epochs": {}, "select": args.select}
    selected = ("trained generator + guidance + quantisation" if args.select == "guided"
                else "trained generator + quantisation")
    if args.checkpoints:
        epochs = checkpoint_epochs(Path(args.checkpoints))
        if not epochs:
            print(f"bench_neural: error: --checkpoints {args.checkpoints} holds no <epoch>_net_G_A.pth",
                  file=sys.stderr)
            return 2
        val_a = load_split(root, "val", "A", args.limit)
        val_ref = reference_for(root, "val", cell, args.limit)
        print(f"validation: {len(val_a)} cartoons vs {len(val_ref.ref)} real sprites; cell {cell}, "
              f"{args.n_colors} colours")
        base = evaluate_split(val_a, val_ref, cell, args.n_colors, {}, False)["quantisation alone"]["distance"]
        print(f"  quantisation alone: distance {base:.3f}")
        for epoch, path in epochs:
            net, config = load_generator(path)
            rows = evaluate_split(val_a, val_ref, cell, args.n_colors, {"trained": (net, config["netG"])})
            d_gq = rows["trained generator + quantisation"]["distance"]
            d_gcq = rows["trained generator + guidance + quantisation"]["distance"]
            report["epochs"][epoch] = {k: v["distance"] for k, v in rows.items()} | {
                "white_kept": rows["trained generator + quantisation"]["white_kept"]}
            print(f"  epoch {epoch:3d}: generator {rows['trained generator']['distance']:.3f}, "
                  f"generator + quantisation {d_gq:.3f} ({d_gq / base:.2f}x), guided {d_gcq:.3f} "
                  f"({d_gcq / base:.2f}x), white kept {rows['trained generator + quantisation']['white_kept']:.3f}")
        best_epoch = min(report["epochs"], key=lambda e: report["epochs"][e][selected])
        chosen = dict(epochs)[best_epoch]
        print(f"chosen on validation: epoch {best_epoch} ({chosen})")
        report["chosen_epoch"] = best_epoch
    else:
        chosen = Path(args.model_path)
    try:
        net, config = load_generator(chosen)
    except (OSError, ValueError) as exc:
        print(f"bench_neural: error: {chosen}: {exc}", file=sys.stderr)
        return 2
    generators = {"trained": (net, config["netG"]), "untrained": (untrained_like(config, args.seed), config["netG"])}
    rows = evaluate_split(test_a, test_ref, cell, args.n_colors, generators)
    floor = floor_distance(root, test_ref, cell, len(test_a), args.seed)
    rows["real pixel art (trainB sample)"] = {"distance": floor, "white_kept": float("nan"),
                                              "outline_rate": float("nan"), "colours": float("nan"),
                                              "ms_per_image": 0.0}
    title = (f"test split: {len(test_a)} cartoons vs {len(test_ref.ref)} real sprites, cell {cell}, "
             f"{args.n_colors} colours, generator {chosen.name} ({config['netG']}, ngf {config['ngf']})")
    print(format_rows(title, rows))
    ratio = rows[selected]["distance"] / rows["quantisation alone"]["distance"]
    white = rows[selected]["white_kept"]
    print(f"target: {selected.removeprefix('trained ')} <= 0.5x the distance of quantisation alone: "
          f"{ratio:.2f}x -> {'met' if ratio <= 0.5 else 'NOT met'}; white background kept {white:.3f} "
          f"(quantisation alone {rows['quantisation alone']['white_kept']:.3f})")
    report |= {"test": rows, "ratio": ratio, "generator": str(chosen), "config": config}
    if args.ship:
        state = load_state_dict_file(chosen)
        with atomic_path(args.ship) as tmp:
            torch.save({k: v.detach().to("cpu").clone() for k, v in state.items()}, tmp)
        facts = {"cell": cell, "size": int(manifest.get("size", test_a[0].shape[0])), "source": str(chosen),
                 "epoch": report.get("chosen_epoch"), "architecture": config, "n_colors": args.n_colors,
                 "color_match": args.select == "guided", "keep_white": args.select == "guided",
                 "keep_tone": args.select == "guided", "despeckle": False,
                 "distance_ratio_vs_quantisation": round(ratio, 4), "white_kept": round(white, 4)}
        atomic_write_text(Path(args.ship).with_suffix(".json"), json.dumps(facts, indent=1) + "\n")
        print(f"shipped {chosen} -> {args.ship} ({Path(args.ship).stat().st_size / 2 ** 20:.1f} MiB) "
              f"with {Path(args.ship).with_suffix('.json').name}")
    if args.gallery:
        # the real tile shown for scale: the fullest sprite of the test split
        sprite = max(load_split(root, "test", "B", args.limit),
                     key=lambda b: int(((255 - b.astype(int)).max(2) > 12).sum()))
        import cv2

        from util.samples import SAMPLE_CARTOONS, load_sample

        side = test_a[0].shape[0]
        picks = list(range(0, len(test_a), max(1, len(test_a) // 4)))[:4]
        images = [cv2.resize(load_sample(n), (side, side), interpolation=cv2.INTER_AREA) for n in SAMPLE_CARTOONS]
        images += [test_a[i] for i in picks]
        names = list(SAMPLE_CARTOONS) + [f"test{i}" for i in picks]
        for path in write_gallery(Path(args.gallery), images, names, net, config["netG"], cell, args.n_colors, sprite,
                                  args.select == "guided"):
            print(f"gallery: {path}")
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
