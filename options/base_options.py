"""Options shared by training and testing, with the reference framework's names and defaults.

Parsing runs in three passes, like the reference: the base/train/test flags, then the
chosen model's ``modify_commandline_options``, then the chosen dataset's. After the
final parse, :meth:`BaseOptions.validate` checks combinations of flags and fails with
a message naming the flag; derived fields (``isTrain``, ``gpu_ids`` as a list,
``device``) are set in :meth:`BaseOptions.parse` and nowhere else.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import data
import models
from data.base_dataset import DIRECTIONS, PREPROCESS_MODES
from models import networks
from models.names import DISCRIMINATORS, GENERATORS, INIT_TYPES, NORMS
from util import dist
from util.argtypes import gpu_list, non_negative_float, non_negative_int, positive_int, size_limit
from util.fileio import atomic_write_text

logger = logging.getLogger(__name__)


class BaseOptions:
    """Options used by both train.py and test.py (and by model/dataset plugins)."""

    isTrain: bool = False
    phase_file = "opt"

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        # basic parameters
        """Add the flags shared by training, testing and pixelizing to ``parser``."""
        parser.add_argument("--dataroot", required=True,
                            help="path to images (should have subfolders trainA, trainB, testA, testB, ...)")
        parser.add_argument("--name", type=str, default="experiment_name",
                            help="name of the experiment; decides where samples and models are stored")
        parser.add_argument("--gpu_ids", type=gpu_list, default="0",
                            help="gpu ids: e.g. 0  0,1,2  0,2. use -1 for CPU (CPU is also used when no GPU exists)")
        parser.add_argument("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
        parser.add_argument("--seed", type=int, default=0,
                            help="random seed for weights, data order, crops and image pools (per-rank offset under DDP)")
        # model parameters
        parser.add_argument("--model", type=str, default="cycle_gan", choices=models.available_models(),
                            help="chooses which model to use")
        parser.add_argument("--input_nc", type=positive_int, default=3,
                            help="# of input image channels: 3 for RGB and 1 for grayscale")
        parser.add_argument("--output_nc", type=positive_int, default=3,
                            help="# of output image channels: 3 for RGB and 1 for grayscale")
        parser.add_argument("--ngf", type=positive_int, default=64, help="# of gen filters in the last conv layer")
        parser.add_argument("--ndf", type=positive_int, default=64, help="# of discrim filters in the first conv layer")
        parser.add_argument("--netD", type=str, default="basic", choices=DISCRIMINATORS,
                            help="discriminator: basic (70x70 PatchGAN), n_layers (uses --n_layers_D) or pixel (1x1)")
        parser.add_argument("--netG", type=str, default="resnet_9blocks", choices=GENERATORS,
                            help="generator architecture")
        parser.add_argument("--n_layers_D", type=positive_int, default=3, help="only used if netD==n_layers")
        parser.add_argument("--norm", type=str, default="instance", choices=NORMS,
                            help="instance, batch or no normalization (syncbatch: batch norm synchronised under torchrun)")
        parser.add_argument("--init_type", type=str, default="normal", choices=INIT_TYPES,
                            help="network initialization")
        parser.add_argument("--init_gain", type=non_negative_float, default=0.02,
                            help="scaling factor for normal, xavier and orthogonal")
        parser.add_argument("--no_dropout", action="store_true", help="no dropout for the generator")
        parser.add_argument("--use_dropout", action="store_true",
                            help="force dropout in the generator (overrides --no_dropout and the cycle_gan default)")
        # dataset parameters
        parser.add_argument("--dataset_mode", type=str, default="unaligned", choices=data.available_datasets(),
                            help="chooses how datasets are loaded")
        parser.add_argument("--direction", type=str, default="AtoB", choices=DIRECTIONS, help="AtoB or BtoA")
        parser.add_argument("--serial_batches", action="store_true",
                            help="if true, takes images in order to make batches, otherwise takes them randomly")
        parser.add_argument("--num_threads", default=4, type=non_negative_int, help="# threads for loading data")
        parser.add_argument("--batch_size", type=positive_int, default=1, help="input batch size")
        parser.add_argument("--load_size", type=positive_int, default=286, help="scale images to this size")
        parser.add_argument("--crop_size", type=positive_int, default=256, help="then crop to this size")
        parser.add_argument("--max_dataset_size", type=size_limit, default=float("inf"),
                            help="maximum number of samples allowed per dataset ('inf' = all)")
        parser.add_argument("--preprocess", type=str, default="resize_and_crop", choices=PREPROCESS_MODES,
                            help="scaling and cropping of images at load time")
        parser.add_argument("--no_flip", action="store_true",
                            help="if specified, do not flip the images for data augmentation")
        parser.add_argument("--display_winsize", type=positive_int, default=256,
                            help="display window size for both visdom and HTML")
        # additional parameters
        parser.add_argument("--epoch", type=str, default="latest",
                            help="which epoch to load? set to latest to use latest cached model")
        parser.add_argument("--load_iter", type=non_negative_int, default=0,
                            help="which iteration to load? if load_iter > 0, load models by iter_[load_iter]")
        parser.add_argument("--verbose", action="store_true", help="if specified, print more debugging information")
        parser.add_argument("--suffix", default="", type=str,
                            help="customized suffix: opt.name = opt.name + '_' + suffix, e.g. {model}_{netG}_size{load_size}")
        # wandb parameters
        parser.add_argument("--use_wandb", action="store_true", help="log to Weights & Biases (pip install wandb)")
        parser.add_argument("--wandb_project_name", type=str, default="CycleGAN-and-pix2pix",
                            help="specify wandb project name")
        return parser

    # ------------------------------------------------------------------ parsing
    def make_parser(self) -> argparse.ArgumentParser:
        """A fresh parser with the base (and subclass) flags."""
        parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                         allow_abbrev=False)
        return self.initialize(parser)

    def gather_options(self, argv: Sequence[str] | None) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
        """Three-pass parse: base flags, then model options, then dataset options."""
        argv = list(sys.argv[1:] if argv is None else argv)
        parser = self.make_parser()
        opt, _ = parser.parse_known_args(argv)
        models.get_option_setter(opt.model)(parser, self.isTrain)
        opt, _ = parser.parse_known_args(argv)
        data.get_option_setter(opt.dataset_mode)(parser, self.isTrain)
        opt = parser.parse_args(argv)
        self.explicit_flags = {a.split("=", 1)[0][2:] for a in argv if a.startswith("--")}
        self.parser = parser
        return opt, parser

    def parse(self, argv: Sequence[str] | None = None, *, save: bool = True) -> argparse.Namespace:
        """Parse ``argv`` (``sys.argv[1:]`` when None), validate, derive fields, save the options.

        Derived fields: ``isTrain``; ``name`` with ``--suffix``; ``no_dropout`` resolved
        with ``--use_dropout``; ``gpu_ids`` as a list of ints; ``device``.
        """
        opt, parser = self.gather_options(argv)
        opt.isTrain = self.isTrain
        if opt.suffix:
            try:
                opt.name = opt.name + "_" + opt.suffix.format(**vars(opt))
            except (KeyError, IndexError, ValueError) as err:
                parser.error(f"--suffix {opt.suffix!r} names an unknown option: {err}")
        if opt.use_dropout:
            opt.no_dropout = False
        self.derive(opt)
        self.validate(opt, parser)
        self.resolve_device(opt, parser, gpu_ids_given="gpu_ids" in self.explicit_flags)
        if opt.norm == "syncbatch" and opt.device.type != "cuda":
            parser.error("--norm syncbatch works only on CUDA devices (PyTorch's SyncBatchNorm); "
                         "on CPU use --norm batch or --norm instance")
        self.opt = opt
        if save and dist.is_main():
            self.save_options(opt, parser)
        return opt

    def derive(self, opt: argparse.Namespace) -> None:
        """Set fields that follow from the others (subclasses extend)."""

    def validate(self, opt: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
        """Check combinations of flags; ``parser.error`` names the flags and the fix."""
        if opt.preprocess in ("resize_and_crop", "scale_width_and_crop") and opt.crop_size > opt.load_size:
            parser.error(f"--crop_size ({opt.crop_size}) must be <= --load_size ({opt.load_size}) with "
                         f"--preprocess {opt.preprocess}; lower --crop_size or raise --load_size")
        if opt.norm == "syncbatch" and not dist.launched_by_torchrun():
            parser.error("--norm syncbatch synchronises batch statistics across torchrun processes; "
                         "launch with torchrun --nproc_per_node=N, or use --norm batch for one process")
        if self.isTrain and opt.netG.startswith("unet") and opt.preprocess != "none":
            multiple = networks.required_multiple(opt.netG)
            if opt.crop_size % multiple:
                parser.error(f"--netG {opt.netG} needs images whose sides are multiples of {multiple}; "
                             f"--crop_size is {opt.crop_size}")
        if self.isTrain and opt.netG.startswith("resnet") and "crop" in opt.preprocess and opt.crop_size % 4:
            parser.error(f"--netG {opt.netG} needs sides that are multiples of 4; --crop_size is {opt.crop_size}")

    @staticmethod
    def resolve_device(opt: argparse.Namespace, parser: argparse.ArgumentParser, gpu_ids_given: bool = True) -> None:
        """Turn --gpu_ids into a list and pick ``opt.device`` (:func:`util.dist.resolve_device`)."""
        try:
            opt.device, opt.gpu_ids = dist.resolve_device(None, opt.gpu_ids, gpu_ids_given=gpu_ids_given)
        except ValueError as err:
            parser.error(str(err))

    # ------------------------------------------------------------------ reporting
    def format_options(self, opt: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> str:
        """The human-readable options table (``[default: X]`` where the value differs)."""
        parser = parser or self.parser
        lines = ["----------------- Options ---------------"]
        for key, value in sorted(vars(opt).items()):
            default = parser.get_default(key)
            note = f"\t[default: {default}]" if default is not None and value != default else ""
            lines.append(f"{key:>25}: {str(value):<30}{note}")
        lines.append("----------------- End -------------------")
        return "\n".join(lines)

    def save_options(self, opt: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
        """Write ``<checkpoints_dir>/<name>/<phase>_opt.txt`` and ``.json``."""
        expr_dir = Path(opt.checkpoints_dir) / opt.name
        expr_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(expr_dir / f"{opt.phase}_opt.txt", self.format_options(opt, parser) + "\n")
        as_json = {k: (str(v) if k == "device" else (None if v == float("inf") else v)) for k, v in vars(opt).items()}
        atomic_write_text(expr_dir / f"{opt.phase}_opt.json", json.dumps(as_json, indent=2, sort_keys=True) + "\n")
