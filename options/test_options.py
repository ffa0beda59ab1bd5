"""Test options: where results go, how many images, eval mode."""
from __future__ import annotations

import argparse

from options.base_options import BaseOptions
from util.argtypes import positive_float, positive_int


class TestOptions(BaseOptions):
    """Flags for test.py (``isTrain = False``)."""

    isTrain = False

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        """Add the base flags and those of test.py."""
        parser = super().initialize(parser)
        parser.add_argument("--results_dir", type=str, default="./results/", help="saves results here.")
        parser.add_argument("--aspect_ratio", type=positive_float, default=1.0,
                            help="aspect ratio of result images (width / height multiplier)")
        parser.add_argument("--phase", type=str, default="test", help="train, val, test, etc")
        parser.add_argument("--eval", action="store_true", help="use eval mode during test time.")
        parser.add_argument("--num_test", type=positive_int, default=50, help="how many test images to run")
        # at test time the default model is the one-direction test model, without resizing beyond the crop
        parser.set_defaults(model="test")
        parser.set_defaults(load_size=parser.get_default("crop_size"))
        return parser

    def derive(self, opt) -> None:
        """Test-time settings the reference hard-codes: one image per batch, fixed order,
        no flip, no data-loader workers."""
        opt.num_threads = 0
        opt.batch_size = 1
        opt.serial_batches = True
        opt.no_flip = True
