"""Template for a new model plugin: a working single-generator L1 regression.

Copy this file to ``models/<name>_model.py``, rename the class ``<Name>Model`` and
fill in the four lists and three methods. ``--model template`` trains it on an
aligned dataset (``dataset_mode aligned``: A|B pairs side by side).

* ``modify_commandline_options``: add flags (``--lambda_regression``) and change defaults;
* ``__init__``: define losses, visuals, networks and optimizers;
* ``set_input``: unpack the batch; ``forward``: produce outputs; ``optimize_parameters``:
  one training step.
"""
from __future__ import annotations

import torch

from models import networks
from models.base_model import BaseModel


class TemplateModel(BaseModel):
    """An L1 regression baseline from domain A to domain B."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool = True):
        """Default to the aligned dataset; in training, add the weight of the L1 loss."""
        parser.set_defaults(dataset_mode="aligned")
        if is_train:
            parser.add_argument("--lambda_regression", type=float, default=1.0, help="weight for the L1 loss")
        return parser

    def __init__(self, opt) -> None:
        BaseModel.__init__(self, opt)
        self.loss_names = ["G"]
        self.visual_names = ["data_A", "data_B", "output"]
        self.model_names = ["G"]
        self.netG = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                      opt.init_type, opt.init_gain)
        if self.isTrain:
            self.criterionLoss = torch.nn.L1Loss()
            self.optimizer = torch.optim.Adam(self.netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
            self.optimizers = [self.optimizer]

    def set_input(self, input: dict) -> None:
        """Move the batch's input and target to the device (swapped for ``--direction BtoA``)."""
        a_to_b = self.opt.direction == "AtoB"
        self.data_A = input["A" if a_to_b else "B"].to(self.device)
        self.data_B = input["B" if a_to_b else "A"].to(self.device)
        self.image_paths = input["A_paths" if a_to_b else "B_paths"]

    def forward(self) -> None:
        """Run the generator on the input."""
        self.output = self.run_generator(self.netG, self.data_A)

    def optimize_parameters(self) -> None:
        """One optimisation step on the weighted L1 loss between output and target."""
        self.forward()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_G = self.criterionLoss(self.output, self.data_B) * self.opt.lambda_regression
        self.loss_G.backward()
        self.optimizer.step()
