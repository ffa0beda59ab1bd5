"""Training options: the reference's visdom/HTML/saving/schedule flags plus resume, init and AMP."""
from __future__ import annotations

import argparse

from models.names import GAN_MODES, LR_POLICIES
from options.base_options import BaseOptions
from util import dist
from util.argtypes import non_negative_float, non_negative_int, positive_int


class TrainOptions(BaseOptions):
    """Flags for train.py (``isTrain = True``)."""

    isTrain = True

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        """Add the base flags and those of train.py."""
        parser = super().initialize(parser)
        # visdom and HTML visualization parameters
        parser.add_argument("--display_freq", type=positive_int, default=400,
                            help="frequency of showing training results on screen (in images)")
        parser.add_argument("--display_ncols", type=int, default=4,
                            help="if positive, display all images in a single visdom web panel with certain number of images per row")
        parser.add_argument("--display_id", type=int, default=1,
                            help="window id of the web display; <= 0 turns visdom off")
        parser.add_argument("--display_server", type=str, default="http://localhost",
                            help="visdom server of the web display")
        parser.add_argument("--display_env", type=str, default="main",
                            help='visdom display environment name (default is "main")')
        parser.add_argument("--display_port", type=positive_int, default=8097, help="visdom port of the web display")
        parser.add_argument("--update_html_freq", type=positive_int, default=1000,
                            help="frequency of saving training results to html (in images)")
        parser.add_argument("--print_freq", type=positive_int, default=100,
                            help="frequency of showing training results on console (in images)")
        parser.add_argument("--no_html", action="store_true",
                            help="do not save intermediate training results to [checkpoints_dir]/[name]/web/")
        # network saving and loading parameters
        parser.add_argument("--save_latest_freq", type=positive_int, default=5000,
                            help="frequency of saving the latest results (in images)")
        parser.add_argument("--save_epoch_freq", type=positive_int, default=5,
                            help="frequency of saving checkpoints at the end of epochs")
        parser.add_argument("--save_by_iter", action="store_true", help="whether saves model by iteration")
        parser.add_argument("--continue_train", action="store_true",
                            help="continue training: load the latest model (and its training state when present)")
        parser.add_argument("--epoch_count", type=positive_int, default=1,
                            help="the starting epoch count; with --continue_train it is read from the training state "
                                 "unless given explicitly")
        parser.add_argument("--phase", type=str, default="train", help="train, val, test, etc")
        parser.add_argument("--skip_bad_images", action="store_true",
                            help="drop a batch holding an unreadable image (warning naming the file) and go on, "
                                 "instead of saving 'latest' and stopping on it (one process only)")
        # fine-tuning hook
        parser.add_argument("--name_state_dict_init", type=str, default="init.pth",
                            help="generator state dict in --state_dict_dir to initialise G_A (cycle_gan) or G "
                                 "(pix2pix) from, e.g. the shipped cartoon2pixel_G_A.pth")
        parser.add_argument("--state_dict_dir", type=str, default="stateDict",
                            help="folder holding the state dicts used by --name_state_dict_init")
        # training parameters
        parser.add_argument("--n_epochs", type=non_negative_int, default=100,
                            help="number of epochs with the initial learning rate")
        parser.add_argument("--n_epochs_decay", type=non_negative_int, default=100,
                            help="number of epochs to linearly decay learning rate to zero")
        parser.add_argument("--beta1", type=non_negative_float, default=0.5, help="momentum term of adam")
        parser.add_argument("--lr", type=non_negative_float, default=0.0002, help="initial learning rate for adam")
        parser.add_argument("--gan_mode", type=str, default="lsgan", choices=GAN_MODES,
                            help="the type of GAN objective. vanilla GAN loss is the cross-entropy objective")
        parser.add_argument("--lambda_gp", type=non_negative_float, default=10.0,
                            help="weight of the gradient penalty with --gan_mode wgangp")
        parser.add_argument("--pool_size", type=non_negative_int, default=50,
                            help="the size of image buffer that stores previously generated images")
        parser.add_argument("--lr_policy", type=str, default="linear", choices=LR_POLICIES,
                            help="learning rate policy")
        parser.add_argument("--lr_decay_iters", type=positive_int, default=50,
                            help="multiply by a gamma every lr_decay_iters epochs (step policy)")
        parser.add_argument("--amp", action="store_true",
                            help="mixed precision on CUDA (bf16 where supported, else fp16 with a gradient scaler)")
        return parser

    def validate(self, opt, parser) -> None:
        """Check the base flags and the training flags together; errors exit through ``parser.error``."""
        super().validate(opt, parser)
        if opt.n_epochs + opt.n_epochs_decay < 1:
            parser.error("--n_epochs + --n_epochs_decay must be >= 1")
        if opt.skip_bad_images and dist.get_world_size() > 1:
            parser.error("--skip_bad_images works in one process only (a dropped batch on one rank would leave the "
                         "others waiting); remove the unreadable files or train without torchrun")
        if opt.epoch_count > opt.n_epochs + opt.n_epochs_decay and not opt.continue_train:
            parser.error(f"--epoch_count {opt.epoch_count} is past the last epoch "
                         f"({opt.n_epochs} + {opt.n_epochs_decay}); nothing would be trained")
