"""Options of pixelize.py: inputs, quantisation, the optional generator stage, outputs."""
from __future__ import annotations

import argparse
import re
from typing import Sequence

from models.names import GENERATORS
from postprocess.dither import DITHER_MODES
from util import pretrained
from util.argtypes import gpu_list, non_negative_int, positive_float, positive_int
from util.image import MAX_PIXELS

#: --video_format: the containers videos are written to.
VIDEO_FORMATS: tuple[str, ...] = ("mp4", "gif")
#: --save_palette: the palette files written beside each output.
PALETTE_FORMATS: tuple[str, ...] = ("gpl", "hex")

#: torch device names --device accepts: cpu, cuda, cuda:N, mps, xpu, xpu:N.
_DEVICE_RE = re.compile(r"^(cpu|mps|(cuda|xpu)(:\d+)?)$")


def unit_interval(text: str) -> float:
    """argparse type: a number in [0, 1] (nan refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # False for nan too
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text}")
    return value


def device_name(text: str) -> str:
    """argparse type: a torch device name (whether it exists is checked when the generator loads)."""
    if not _DEVICE_RE.match(text.strip()):
        raise argparse.ArgumentTypeError(f"must be a torch device such as cpu, cuda or cuda:1, got {text!r}")
    return text.strip()


def make_parser() -> argparse.ArgumentParser:
    """The pixelize.py argument parser."""
    p = argparse.ArgumentParser(
        prog="pixelize.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False,
        description="Turn photos, cartoons and videos into pixel art: an optional CycleGAN generator "
                    "stage, then palette extraction and grid quantisation. With no --input, runs on the "
                    "scikit-image sample photos.")
    io = p.add_argument_group("inputs and outputs")
    io.add_argument("--input", nargs="+", default=None, metavar="PATH",
                    help="image files, folders (recursive) and videos; default: the built-in sample photos")
    io.add_argument("--output", default="results/pixelize", help="output folder (mirrors the input tree)")
    io.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    io.add_argument("--upscale", type=positive_int, default=None,
                    help="nearest-neighbour factor for saved images (default: --pixel_size, i.e. the input's "
                         "size; 1 = native resolution, one pixel per cell)")
    io.add_argument("--video_format", choices=VIDEO_FORMATS, default="mp4", help="container for video outputs")
    io.add_argument("--save_palette", choices=PALETTE_FORMATS, nargs="*", default=[],
                    help="also write each output's palette (.gpl for GIMP/Aseprite, .hex for Lospec)")
    io.add_argument("--no_html", action="store_true", help="do not write index.html")
    io.add_argument("--compare", action="store_true",
                    help="with a generator: also pixelize each image without it and show both on the page "
                         "(<name>_post_only.png beside <name>.png)")
    io.add_argument("--demo", action="store_true",
                    help="the built-in sample photos and cartoons through post-processing alone and through "
                         "the shipped cartoon2pixel generator + post-processing, side by side (what `make demo` "
                         "runs); implies --compare")
    io.add_argument("--workers", type=positive_int, default=2, help="threads for decoding, quantising and saving")
    io.add_argument("--max_pixels", type=positive_int, default=MAX_PIXELS,
                    help="largest input image in pixels (width x height); larger files are refused as possible "
                         "decompression bombs")

    q = p.add_argument_group("pixel art")
    q.add_argument("--pixel_size", type=positive_int, default=8, help="cell size in input pixels")
    q.add_argument("--n_colors", type=positive_int, default=None,
                   help="palette size (default: chosen automatically from the hue histogram)")
    q.add_argument("--palette", default=None, metavar="FILE",
                   help="fixed palette file (.gpl, .hex, .pal or a .png swatch); overrides --n_colors")
    q.add_argument("--dither", choices=DITHER_MODES, default="none", help="dithering between palette colours")
    q.add_argument("--saturation", type=positive_float, default=1.0, help="colour vividness multiplier")
    q.add_argument("--contrast", type=positive_float, default=1.0, help="contrast multiplier")
    q.add_argument("--outline", type=unit_interval, default=None,
                   help="outline emphasis strength in [0, 1] (default off); 0.25 keeps thin dark structures "
                        "(lattices, eyebrows) in photos, at the cost of exact flat colours next to dark edges")
    q.add_argument("--keep_alpha", action="store_true", help="keep transparency (transparent cells stay transparent)")
    q.add_argument("--seed", type=non_negative_int, default=0, help="seed for the palette k-means (>= 0)")

    g = p.add_argument_group("generator stage (optional)")
    g.add_argument("--name", default=None, help="use checkpoints/<name>/<epoch>_net_G<model_suffix>.pth")
    g.add_argument("--checkpoints_dir", default="./checkpoints", help="where --name runs live")
    g.add_argument("--epoch", default="latest", help="which checkpoint of --name")
    g.add_argument("--model_suffix", default="_A", help="generator of --name: _A (A->B) or _B (B->A)")
    g.add_argument("--model_path", default=None, metavar="FILE.pth",
                   help="any generator state dict (reference checkpoints included); overrides --name")
    g.add_argument("--pretrained", type=_pretrained_name, default=None, metavar="NAME",
                   help="a generator shipped in stateDict/: cartoon2pixel (CycleGAN, cartoons on white -> pixel-art "
                        "sprites) or smooth2pixel (pix2pix, smooth renders of pixel art -> crisp cells); same as "
                        "--model_path stateDict/NAME_G_A.pth (or NAME_G.pth). 'auto': each image is classified "
                        "(photo, drawing, smooth render of pixel art, pixel art) and gets the generator that helps "
                        "it (drawing: cartoon2pixel, render: smooth2pixel) or none (photos, pixel art)")
    g.add_argument("--netG", choices=GENERATORS, default=None,
                   help="override/check the architecture inferred from the file")
    g.add_argument("--ngf", type=positive_int, default=None, help="override/check the inferred width")
    g.add_argument("--norm", choices=("instance", "batch", "none"), default=None,
                   help="override/check the inferred normalisation")
    g.add_argument("--no_dropout", action="store_true", help="build the generator without dropout")
    g.add_argument("--use_dropout", action="store_true", help="build the generator with dropout")
    g.add_argument("--input_nc", type=positive_int, default=None, help="override/check input channels")
    g.add_argument("--output_nc", type=positive_int, default=None, help="override/check output channels")
    g.add_argument("--gen_size", type=non_negative_int, default=1024,
                   help="cap on the long side fed to the generator (0 = no cap); larger inputs are shrunk "
                        "first and the result resized back: faster and less memory, less detail")
    g.add_argument("--batch_size", type=positive_int, default=4, help="images per generator batch")
    g.add_argument("--color_match", action=argparse.BooleanOptionalAction, default=None,
                   help="copy the input's hue and saturation onto the generator output before quantising "
                        "(on by default for a shipped generator whose notes recommend it: cartoon2pixel)")
    g.add_argument("--keep_white", action=argparse.BooleanOptionalAction, default=None,
                   help="copy the input's white background (near-white, connected to the border) back onto the "
                        "generator output, half a cell away from the drawing (default: as the shipped generator's "
                        "notes say: on for cartoon2pixel)")
    g.add_argument("--keep_tone", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the input's colours, lightness included, everywhere except on the outlines the "
                        "generator draws along the input's edges (default: as the shipped generator's notes say: on "
                        "for cartoon2pixel); implies --color_match")
    g.add_argument("--despeckle", action=argparse.BooleanOptionalAction, default=None,
                   help="after quantising, give an isolated cell (unlike each of its 4 neighbours) a neighbour's "
                        "colour unless the input has it too (an eye, a highlight) (default: as the shipped "
                        "generator's notes say: on for cartoon2pixel)")
    g.add_argument("--amp", action="store_true",
                   help="run the generator in bfloat16 (float16 on GPUs without bf16) where the device has the units "
                        "for it (CPUs with AVX-512 BF16 or AMX: about 2x faster); off by default because the "
                        "quantised result changes (measured: 78 %% of cells identical to float32)")
    g.add_argument("--device", type=device_name, default=None,
                   help="torch device, e.g. cpu, cuda, cuda:1 (default: GPU if any)")
    g.add_argument("--gpu_ids", type=gpu_list, default=None, help="reference-style device choice: 0, 1 or -1 (CPU)")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def _pretrained_name(text: str) -> str:
    if text == pretrained.AUTO:
        return text
    try:
        pretrained.resolve(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate pixelize.py flags; derived: ``upscale`` resolved, ``generator_path``."""
    parser = make_parser()
    opt = parser.parse_args(argv)
    if opt.no_dropout and opt.use_dropout:
        parser.error("--no_dropout and --use_dropout contradict each other; pass one")
    if opt.palette is not None and opt.n_colors is not None:
        parser.error("--palette fixes the colours; drop --n_colors (or drop --palette)")
    if opt.device is not None and opt.gpu_ids is not None:
        parser.error("--device and --gpu_ids both choose the device; pass one")
    if opt.upscale is None:
        opt.upscale = opt.pixel_size
    if opt.demo:
        if opt.input:
            parser.error("--demo runs on the built-in samples; drop --input (or drop --demo)")
        opt.compare = True
        if opt.pretrained is None and opt.model_path is None and opt.name is None:
            missing = [n for n in ("cartoon2pixel", "smooth2pixel") if n not in pretrained.shipped()]
            if missing:
                parser.error(f"--demo needs the shipped generators {', '.join(missing)} in stateDict/ (each .pth with "
                             "its .json), missing from this checkout; pass --model_path FILE.pth")
            opt.pretrained = pretrained.AUTO
    if opt.compare and opt.pretrained is None and opt.model_path is None and opt.name is None:
        parser.error("--compare shows generator + post-processing beside post-processing alone; give a generator "
                     "(--pretrained, --model_path or --name)")
    opt.generator_path = None
    if opt.pretrained is not None:
        if opt.model_path is not None or opt.name is not None:
            parser.error("--pretrained names a shipped generator; drop --model_path/--name (or drop --pretrained)")
        if opt.pretrained == pretrained.AUTO:
            missing = [n for n in ("cartoon2pixel", "smooth2pixel") if n not in pretrained.shipped()]
            if missing:
                parser.error(f"--pretrained auto needs the shipped generators {', '.join(missing)} in stateDict/ "
                             "(each .pth with its .json)")
            return opt  # each image's generator (and its notes) is chosen while the job runs
        opt.generator_path = str(pretrained.resolve(opt.pretrained))
    elif opt.model_path is not None:
        opt.generator_path = opt.model_path
    elif opt.name is not None:
        opt.generator_path = f"{opt.checkpoints_dir}/{opt.name}/{opt.epoch}_net_G{opt.model_suffix}.pth"
    if opt.generator_path is not None:
        # a shipped generator's notes (its .json sidecar) say whether it needs the input's colours back
        # and its white background restored; flags the user gave win
        notes = pretrained.sidecar(opt.generator_path)
        if opt.color_match is None:
            opt.color_match = bool(notes.get("color_match", False))
        if opt.keep_white is None:
            opt.keep_white = bool(notes.get("keep_white", False))
        if opt.keep_tone is None:
            opt.keep_tone = bool(notes.get("keep_tone", False))
        if opt.despeckle is None:
            opt.despeckle = bool(notes.get("despeckle", False))
    return opt
