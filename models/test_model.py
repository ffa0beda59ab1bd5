"""TestModel: one generator, one direction, inference only (``--model test``).

It loads ``<epoch>_net_G<model_suffix>.pth``: pass ``--model_suffix _A`` to use the
A->B generator of a CycleGAN run directly (``_B`` for B->A), no renaming needed.
The dropout layout of ResNet checkpoints is detected and remapped when loading, so
``--no_dropout`` mismatches do not break loading. Images of any size work, down to 1x1:
tiny ones are padded (edge pixels repeated) before the generator and cropped back after.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models import networks
from models.base_model import BaseModel
from models.inference import MIN_SIDE


def pad_tiny(x: torch.Tensor, min_side: int = MIN_SIDE) -> torch.Tensor:
    """Pad ``x`` ``(N, C, H, W)`` on the bottom/right to at least ``min_side`` per side by repeating
    the edge pixels (reflection needs more pixels than the pad); larger inputs are returned as is."""
    h, w = x.shape[-2:]
    pad_h, pad_w = max(0, min_side - h), max(0, min_side - w)
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


class TestModel(BaseModel):
    """Apply one generator to a folder of images (dataset_mode single)."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool = True):
        """Refuse training, default to the single dataset and add ``--model_suffix``."""
        if is_train:
            parser.error("--model test is for test.py only; train with --model cycle_gan")
        parser.set_defaults(dataset_mode="single")
        parser.add_argument("--model_suffix", type=str, default="",
                            help="loads <epoch>_net_G<model_suffix>.pth, e.g. _A for a CycleGAN's A->B generator")
        return parser

    def __init__(self, opt) -> None:
        if opt.isTrain:
            raise ValueError("--model test cannot be used for training")
        if opt.output_nc == 2:
            raise ValueError("--output_nc 2 is a colorization generator (it predicts the a*b* of CIELAB from "
                             "lightness): apply it with --model colorization, which turns its output into RGB")
        BaseModel.__init__(self, opt)
        self.loss_names = []
        self.visual_names = ["real", "fake"]
        self.model_names = ["G" + opt.model_suffix]
        net = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                opt.init_type, opt.init_gain)
        setattr(self, "netG" + opt.model_suffix, net)

    def set_input(self, input: dict) -> None:
        """Unpack ``{'A', 'A_paths'}`` from the single dataset."""
        self.real = input["A"].to(self.device)
        self.image_paths = input["A_paths"]

    def forward(self) -> None:
        """fake = G(real), for any input size (tiny ones padded, see :func:`pad_tiny`)."""
        h, w = self.real.shape[-2:]
        self.fake = self.run_generator(self.net("G" + self.opt.model_suffix), pad_tiny(self.real))[..., :h, :w]

    def optimize_parameters(self) -> None:
        """No training for the test model."""
        raise RuntimeError("TestModel is inference-only")
