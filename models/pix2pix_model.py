"""pix2pix: paired image-to-image translation with a conditional GAN (``--model pix2pix``).

One generator ``G`` maps A to B; one discriminator ``D`` judges ``cat(A, B)`` along the
channels (``input_nc + output_nc`` inputs), so it learns whether B fits A. Losses, named as
in the reference: ``G_GAN`` (fool D), ``G_L1`` (``--lambda_L1`` x L1 to the paired B),
``D_real`` and ``D_fake``. Each step updates D first, then G (D frozen).

Defaults follow the reference: ``--netG unet_256 --norm batch --dataset_mode aligned``, dropout
on; when training ``--gan_mode vanilla --pool_size 0`` (no image pool is used at all).
Checkpoints: ``<epoch>_net_G.pth`` / ``<epoch>_net_D.pth``; visuals ``real_A``, ``fake_B``, ``real_B``.
``--name_state_dict_init`` initialises ``G`` for fine-tuning.
"""
from __future__ import annotations

import logging
from typing import Any

import torch

from models import networks
from models.base_model import BaseModel
from models.cycle_gan_model import CycleGANModel
from util.argtypes import non_negative_float

logger = logging.getLogger(__name__)


class Pix2PixModel(BaseModel):
    """A conditional GAN trained on aligned A|B pairs: adversarial + L1 loss."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool = True):
        """pix2pix defaults: U-Net 256, batch norm, aligned pairs; vanilla GAN and no pool when training."""
        parser.set_defaults(norm="batch", netG="unet_256", dataset_mode="aligned")
        if is_train:
            parser.set_defaults(pool_size=0, gan_mode="vanilla")
            parser.add_argument("--lambda_L1", type=non_negative_float, default=100.0, help="weight for L1 loss")
        return parser

    def __init__(self, opt) -> None:
        BaseModel.__init__(self, opt)
        self.loss_names = ["G_GAN", "G_L1", "D_real", "D_fake"]
        self.visual_names = ["real_A", "fake_B", "real_B"]
        self.model_names = ["G", "D"] if self.isTrain else ["G"]
        self.netG = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                      opt.init_type, opt.init_gain)
        if not self.isTrain:
            return
        # conditional D: it sees the input next to the (real or generated) output
        self.netD = networks.define_D(opt.input_nc + opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                      opt.init_type, opt.init_gain)
        self.criterionGAN = networks.GANLoss(opt.gan_mode).to(self.device)
        self.criterionL1 = torch.nn.L1Loss()
        self.gp_generator = torch.Generator().manual_seed(getattr(opt, "seed", 0) + 1)
        self.optimizer_G = torch.optim.Adam(self.netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
        self.optimizer_D = torch.optim.Adam(self.netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
        self.optimizers = [self.optimizer_G, self.optimizer_D]
        self._setup_amp(opt)

    # --amp, shared with CycleGAN: bf16 autocast where supported, else fp16 with a gradient scaler
    _setup_amp = CycleGANModel._setup_amp
    _autocast = CycleGANModel._autocast
    _backward = CycleGANModel._backward
    _step = CycleGANModel._step

    def load_network_init(self, path=None, net_name: str = "G") -> bool:
        """Fine-tuning hook: ``--name_state_dict_init`` initialises the generator ``G``."""
        return super().load_network_init(path, net_name)

    # ------------------------------------------------------------------ passes
    def set_input(self, input: dict) -> None:
        """Unpack ``{'A', 'B', 'A_paths', 'B_paths'}``; --direction BtoA swaps the roles."""
        self.set_input_ab(input)

    def forward(self) -> None:
        """fake_B = G(real_A), for any input size."""
        self.fake_B = self.run_generator(self.netG, self.real_A)

    def backward_D(self) -> None:
        """D loss 0.5 * (fake judged fake + real judged real) (+ gradient penalty for wgangp)."""
        fake_AB = torch.cat((self.real_A, self.fake_B), 1).detach()
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        with self._autocast():
            self.loss_D_fake = self.criterionGAN(self.netD(fake_AB), False)
            self.loss_D_real = self.criterionGAN(self.netD(real_AB), True)
            self.loss_D = (self.loss_D_fake + self.loss_D_real) * 0.5
        if self.opt.gan_mode == "wgangp":
            penalty, _ = networks.cal_gradient_penalty(self.netD, real_AB, fake_AB, self.device,
                                                       lambda_gp=self.opt.lambda_gp, generator=self.gp_generator)
            self.loss_D = self.loss_D + penalty
        self._backward(self.loss_D)

    def backward_G(self) -> None:
        """G loss: fool D on cat(A, fake_B) + lambda_L1 * L1(fake_B, real_B)."""
        with self._autocast():
            fake_AB = torch.cat((self.real_A, self.fake_B), 1)
            self.loss_G_GAN = self.criterionGAN(self.netD(fake_AB), True)
            self.loss_G_L1 = self.criterionL1(self.fake_B, self.real_B) * self.opt.lambda_L1
            self.loss_G = self.loss_G_GAN + self.loss_G_L1
        self._backward(self.loss_G)

    def optimize_parameters(self) -> None:
        """One step: forward; D (on the detached fake); then G with D frozen."""
        with self._autocast():
            self.forward()
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.backward_D()
        self._step(self.optimizer_D)
        self.set_requires_grad(self.netD, False)
        self.optimizer_G.zero_grad(set_to_none=True)
        self.backward_G()
        self._step(self.optimizer_G)
        if self.scaler is not None:
            self.scaler.update()

    # ------------------------------------------------------------------ training state
    def extra_state(self) -> dict[str, Any]:
        """The gradient-penalty generator and the AMP scaler, for an exact resume."""
        state: dict[str, Any] = {"gp_generator": self.gp_generator.get_state()}
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned (missing entries keep their current state)."""
        if "gp_generator" in state:
            self.gp_generator.set_state(state["gp_generator"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
