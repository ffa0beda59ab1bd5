"""CycleGAN: unpaired translation between domain A (photos, cartoons) and domain B (pixel art).

Networks (code name = paper name): G_A: A->B (G), G_B: B->A (F), D_A judges domain B (D_Y),
D_B judges domain A (D_X). Losses: GAN (lsgan / vanilla / wgangp with its gradient
penalty applied), cycle consistency (L1, weighted by --lambda_A / --lambda_B) and an
optional identity loss (--lambda_identity, relative to the cycle weights).
"""
from __future__ import annotations

import itertools
import logging
import random
from typing import Any

import torch

from models import amp, networks
from models.base_model import BaseModel
from util.image_pool import ImagePool

logger = logging.getLogger(__name__)


class CycleGANModel(BaseModel):
    """Two generators and two discriminators trained with adversarial + cycle + identity losses."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool = True):
        """CycleGAN trains without dropout by default (``--use_dropout`` turns it on)."""
        parser.set_defaults(no_dropout=True)
        if is_train:
            parser.add_argument("--lambda_A", type=float, default=10.0, help="weight for cycle loss (A -> B -> A)")
            parser.add_argument("--lambda_B", type=float, default=10.0, help="weight for cycle loss (B -> A -> B)")
            parser.add_argument("--lambda_identity", type=float, default=0.5,
                                help="use identity mapping. Setting lambda_identity other than 0 scales the identity "
                                     "loss relative to the cycle loss, e.g. 0.1 weighs it 10x less than the cycle loss")
        return parser

    def __init__(self, opt) -> None:
        BaseModel.__init__(self, opt)
        use_identity = self.isTrain and opt.lambda_identity > 0.0
        if use_identity and opt.input_nc != opt.output_nc:
            raise ValueError(f"--lambda_identity > 0 needs --input_nc == --output_nc "
                             f"(got {opt.input_nc} and {opt.output_nc}); pass --lambda_identity 0")
        self.loss_names = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
        visual_names_A = ["real_A", "fake_B", "rec_A"] + (["idt_B"] if use_identity else [])
        visual_names_B = ["real_B", "fake_A", "rec_B"] + (["idt_A"] if use_identity else [])
        self.visual_names = visual_names_A + visual_names_B
        self.model_names = ["G_A", "G_B", "D_A", "D_B"] if self.isTrain else ["G_A", "G_B"]

        dropout = not opt.no_dropout
        self.netG_A = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, dropout,
                                        opt.init_type, opt.init_gain)
        self.netG_B = networks.define_G(opt.output_nc, opt.input_nc, opt.ngf, opt.netG, opt.norm, dropout,
                                        opt.init_type, opt.init_gain)
        if not self.isTrain:
            return

        self.netD_A = networks.define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                        opt.init_type, opt.init_gain)
        self.netD_B = networks.define_D(opt.input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                        opt.init_type, opt.init_gain)
        seed = getattr(opt, "seed", 0)
        self.fake_A_pool = ImagePool(opt.pool_size, rng=random.Random(f"{seed}-pool-A"))
        self.fake_B_pool = ImagePool(opt.pool_size, rng=random.Random(f"{seed}-pool-B"))
        self.gp_generator = torch.Generator().manual_seed(seed + 1)
        self.criterionGAN = networks.GANLoss(opt.gan_mode).to(self.device)
        self.criterionCycle = torch.nn.L1Loss()
        self.criterionIdt = torch.nn.L1Loss()
        self.optimizer_G = torch.optim.Adam(itertools.chain(self.netG_A.parameters(), self.netG_B.parameters()),
                                            lr=opt.lr, betas=(opt.beta1, 0.999))
        self.optimizer_D = torch.optim.Adam(itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()),
                                            lr=opt.lr, betas=(opt.beta1, 0.999))
        self.optimizers = [self.optimizer_G, self.optimizer_D]
        self._setup_amp(opt)

    # ------------------------------------------------------------------ mixed precision
    def _setup_amp(self, opt) -> None:
        """--amp (:mod:`models.amp`): bf16 autocast where the GPU or the CPU supports it, fp16 with a
        gradient scaler on older GPUs; on a CPU without bf16 units a warning says it stays off and why."""
        self.amp_dtype = None
        self.scaler = None
        if not getattr(opt, "amp", False):
            return
        self.amp_dtype = amp.requested_dtype(self.device, "training")
        if self.amp_dtype is None:
            return
        if self.amp_dtype == torch.float16:
            self.scaler = torch.amp.GradScaler("cuda")
        logger.info("mixed precision: %s on %s", str(self.amp_dtype).replace("torch.", ""), self.device.type)

    def _autocast(self):
        return amp.autocast(self.device, self.amp_dtype)

    def _backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def _step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    # ------------------------------------------------------------------ passes
    def set_input(self, input: dict) -> None:
        """Unpack ``{'A', 'B', 'A_paths', 'B_paths'}``; --direction BtoA swaps the domains."""
        self.set_input_ab(input)

    def forward(self) -> None:
        """fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A)."""
        self.fake_B = self.run_generator(self.netG_A, self.real_A)
        self.rec_A = self.run_generator(self.netG_B, self.fake_B)
        self.fake_A = self.run_generator(self.netG_B, self.real_B)
        self.rec_B = self.run_generator(self.netG_A, self.fake_A)

    def backward_D_basic(self, netD, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator loss 0.5 * (real + fake) (+ gradient penalty for wgangp); calls backward."""
        with self._autocast():
            loss_real = self.criterionGAN(netD(real), True)
            loss_fake = self.criterionGAN(netD(fake.detach()), False)
            loss_D = (loss_real + loss_fake) * 0.5
        if self.opt.gan_mode == "wgangp":
            penalty, _ = networks.cal_gradient_penalty(netD, real, fake.detach(), self.device,
                                                       lambda_gp=self.opt.lambda_gp, generator=self.gp_generator)
            loss_D = loss_D + penalty
        self._backward(loss_D)
        return loss_D

    def backward_D_A(self) -> None:
        """D_A judges domain B: real_B against pooled fake_B."""
        fake_B = self.fake_B_pool.query(self.fake_B)
        self.loss_D_A = self.backward_D_basic(self.netD_A, self.real_B, fake_B)

    def backward_D_B(self) -> None:
        """D_B judges domain A: real_A against pooled fake_A."""
        fake_A = self.fake_A_pool.query(self.fake_A)
        self.loss_D_B = self.backward_D_basic(self.netD_B, self.real_A, fake_A)

    def backward_G(self) -> None:
        """Generator losses: GAN + cycle + identity; calls backward."""
        lambda_idt = self.opt.lambda_identity
        lambda_A = self.opt.lambda_A
        lambda_B = self.opt.lambda_B
        with self._autocast():
            if lambda_idt > 0:
                self.idt_A = self.netG_A(self.real_B)
                self.loss_idt_A = self.criterionIdt(self.idt_A, self.real_B) * lambda_B * lambda_idt
                self.idt_B = self.netG_B(self.real_A)
                self.loss_idt_B = self.criterionIdt(self.idt_B, self.real_A) * lambda_A * lambda_idt
            else:
                self.loss_idt_A = 0.0
                self.loss_idt_B = 0.0
            self.loss_G_A = self.criterionGAN(self.netD_A(self.fake_B), True)
            self.loss_G_B = self.criterionGAN(self.netD_B(self.fake_A), True)
            self.loss_cycle_A = self.criterionCycle(self.rec_A, self.real_A) * lambda_A
            self.loss_cycle_B = self.criterionCycle(self.rec_B, self.real_B) * lambda_B
            self.loss_G = (self.loss_G_A + self.loss_G_B + self.loss_cycle_A + self.loss_cycle_B
                           + self.loss_idt_A + self.loss_idt_B)
        self._backward(self.loss_G)

    def optimize_parameters(self) -> None:
        """One step: forward; G_A and G_B (D frozen); then D_A and D_B."""
        with self._autocast():
            self.forward()
        # generators
        self.set_requires_grad([self.netD_A, self.netD_B], False)
        self.optimizer_G.zero_grad(set_to_none=True)
        self.backward_G()
        self._step(self.optimizer_G)
        # discriminators
        self.set_requires_grad([self.netD_A, self.netD_B], True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.backward_D_A()
        self.backward_D_B()
        self._step(self.optimizer_D)
        if self.scaler is not None:
            self.scaler.update()

    # ------------------------------------------------------------------ training state
    def extra_state(self) -> dict[str, Any]:
        """The image pools, the gradient-penalty generator and the AMP scaler, for an exact resume."""
        state: dict[str, Any] = {
            "fake_A_pool": self.fake_A_pool.state_dict(),
            "fake_B_pool": self.fake_B_pool.state_dict(),
            "gp_generator": self.gp_generator.get_state(),
        }
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned (missing entries keep their current state)."""
        if "fake_A_pool" in state:
            self.fake_A_pool.load_state_dict(state["fake_A_pool"])
            self.fake_B_pool.load_state_dict(state["fake_B_pool"])
        if "gp_generator" in state:
            self.gp_generator.set_state(state["gp_generator"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
