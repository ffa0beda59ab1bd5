"""BaseModel: the contract every model plugin follows, plus loading, saving and fine-tuning init.

A subclass fills four lists in ``__init__`` (after ``BaseModel.__init__(self, opt)``):

* ``loss_names``  -> attributes ``loss_<name>``;
* ``model_names`` -> attributes ``net<name>`` (file names ``<epoch>_net_<name>.pth``);
* ``visual_names`` -> attributes holding float tensors ``(N, C, H, W)`` in ``[-1, 1]``;
* ``optimizers``.

and implements ``set_input``, ``forward`` and ``optimize_parameters``.
"""
from __future__ import annotations

import logging
import os
import warnings
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from models import compat, networks
from models.inference import run_padded
from util import dist
from util.checkpoint import CheckpointError, load_state_dict_file, save_state_dict

logger = logging.getLogger(__name__)

DEFAULT_INIT_NAME = "init.pth"


def unwrap(net: nn.Module) -> nn.Module:
    """The bare module inside DataParallel / DistributedDataParallel / torch.compile wrappers."""
    while True:
        if isinstance(net, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            net = net.module
        elif hasattr(net, "_orig_mod"):
            net = net._orig_mod
        else:
            return net


def _state_kind(state) -> str | None:
    """``'generator'``, ``'discriminator'`` (PatchGAN: its last conv has one output channel) or None."""
    try:
        compat.infer_generator_config(state)
        return "generator"
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    convs = [v for k, v in state.items() if k.endswith("weight") and getattr(v, "dim", lambda: 0)() == 4]
    return "discriminator" if convs and convs[-1].shape[0] == 1 else None


class BaseModel(ABC):
    """Abstract base class for models (see the module docstring for the contract)."""

    def __init__(self, opt) -> None:
        self.opt = opt
        self.isTrain: bool = opt.isTrain
        self.gpu_ids: list[int] = list(opt.gpu_ids)
        self.device: torch.device = opt.device
        self.save_dir = Path(opt.checkpoints_dir) / opt.name
        self.loss_names: list[str] = []
        self.model_names: list[str] = []
        self.visual_names: list[str] = []
        self.optimizers: list[torch.optim.Optimizer] = []
        self.schedulers: list[Any] = []
        self.image_paths: list[str] = []
        self.metric = 0.0  # used by the plateau policy; models may set it (e.g. a validation loss)

    @staticmethod
    def modify_commandline_options(parser, is_train: bool):
        """Add model-specific options or change defaults; returns the parser."""
        return parser

    @abstractmethod
    def set_input(self, input: dict) -> None:
        """Unpack a batch from the data loader (tensors moved to ``self.device``)."""

    def set_input_ab(self, input: dict) -> None:
        """``set_input`` for the two-domain batches ``{'A', 'B', 'A_paths', 'B_paths'}`` (unaligned and
        aligned datasets): ``real_A``, ``real_B`` and ``image_paths``; --direction BtoA swaps the roles."""
        a_to_b = self.opt.direction == "AtoB"
        self.real_A = input["A" if a_to_b else "B"].to(self.device, non_blocking=True)
        self.real_B = input["B" if a_to_b else "A"].to(self.device, non_blocking=True)
        self.image_paths = input["A_paths" if a_to_b else "B_paths"]

    @abstractmethod
    def forward(self) -> None:
        """Run the forward pass; called by ``optimize_parameters`` and ``test``."""

    @abstractmethod
    def optimize_parameters(self) -> None:
        """Compute losses and gradients and update weights; called every training iteration."""

    # ------------------------------------------------------------------ networks
    def net(self, name: str) -> nn.Module:
        """The network ``net<name>`` (possibly wrapped)."""
        return getattr(self, "net" + name)

    def networks(self) -> Iterable[tuple[str, nn.Module]]:
        """``(name, network)`` pairs for every entry of ``model_names``."""
        return ((name, self.net(name)) for name in self.model_names)

    def setup(self, opt) -> None:
        """Load weights (test / continue / fine-tuning init), move to the device, wrap for
        multi-device runs, create schedulers, and log the parameter counts."""
        if not self.isTrain or opt.continue_train:
            self.load_networks(f"iter_{opt.load_iter}" if opt.load_iter > 0 else opt.epoch)
        elif self.isTrain:
            self.load_network_init()
        self._place_networks()
        if self.isTrain:
            self.schedulers = [networks.get_scheduler(optimizer, opt) for optimizer in self.optimizers]
        self.print_networks(opt.verbose)

    def _place_networks(self) -> None:
        for name, net in list(self.networks()):
            net = unwrap(net).to(self.device)
            if dist.is_initialized() and self.isTrain:
                device_ids = [self.device.index] if self.device.type == "cuda" else None
                net = nn.parallel.DistributedDataParallel(net, device_ids=device_ids)
            elif len(self.gpu_ids) > 1:
                net = nn.DataParallel(net, self.gpu_ids)
            setattr(self, "net" + name, net)

    def eval(self) -> None:
        """Put every network in eval mode (batch-norm running stats, no dropout)."""
        for _, net in self.networks():
            net.eval()

    def train(self) -> None:
        """Put every network in training mode."""
        for _, net in self.networks():
            net.train()

    def test(self) -> None:
        """Forward pass without gradients (used by test.py), then ``compute_visuals``."""
        with torch.inference_mode():
            self.forward()
            self.compute_visuals()

    def run_generator(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Apply a generator to any input size: pad to what ``--netG`` needs, crop back."""
        return run_padded(net, x, networks.required_multiple(self.opt.netG))

    def compute_visuals(self) -> None:  # noqa: B027 (an optional hook: a no-op unless a model overrides it)
        """Hook to compute extra visuals for display."""

    def get_image_paths(self) -> list[str]:
        """Paths of the images in the current batch."""
        return self.image_paths

    def update_learning_rate(self) -> None:
        """Step every scheduler once; called at the END of each epoch."""
        old_lr = self.optimizers[0].param_groups[0]["lr"]
        with warnings.catch_warnings():
            # After resuming exactly at an epoch's end no optimizer.step() has run in this process yet;
            # the order (train the epoch, then step the schedule) is still the intended one.
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
            for scheduler in self.schedulers:
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(self.metric)
                else:
                    scheduler.step()
        lr = self.optimizers[0].param_groups[0]["lr"]
        logger.info("learning rate %.7f -> %.7f", old_lr, lr)

    def get_current_visuals(self) -> "OrderedDict[str, torch.Tensor]":
        """Visuals by name: float tensors ``(N, C, H, W)`` in ``[-1, 1]``."""
        return OrderedDict((name, getattr(self, name)) for name in self.visual_names if hasattr(self, name))

    def get_current_losses(self) -> "OrderedDict[str, float]":
        """Loss values by name as Python floats."""
        losses = OrderedDict()
        for name in self.loss_names:
            value = getattr(self, "loss_" + name)
            losses[name] = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
        return losses

    # ------------------------------------------------------------------ checkpoints
    def network_path(self, epoch: str | int, name: str) -> Path:
        """``<checkpoints_dir>/<name>/<epoch>_net_<name>.pth`` (reference file name)."""
        return self.save_dir / f"{epoch}_net_{name}.pth"

    def save_networks(self, epoch: str | int) -> None:
        """Save every network as a plain CPU state dict with reference keys (rank 0 only)."""
        if not dist.is_main():
            return
        for name, net in self.networks():
            save_state_dict(unwrap(net).state_dict(), self.network_path(epoch, name))

    def load_networks(self, epoch: str | int) -> None:
        """Load ``<epoch>_net_<name>.pth`` for every network (reference checkpoints included)."""
        for name, net in self.networks():
            path = self.network_path(epoch, name)
            if not path.is_file():
                raise FileNotFoundError(self._missing_checkpoint_message(path, name))
            logger.info("loading the model from %s", path)
            state = load_state_dict_file(path)
            expected = {"G": "generator", "D": "discriminator"}.get(name.split("_")[0])  # G, G_A, D_B, ...
            held = _state_kind(state)
            if expected and held and held != expected:
                raise CheckpointError(f"checkpoint {path} holds a {held} state dict, but net{name} is a {expected}: "
                                      f"the file is misnamed or was copied from another network; put the "
                                      f"{expected}'s weights in {path.name}")
            compat.load_into(unwrap(net), state, source=str(path))

    def _missing_checkpoint_message(self, path: Path, name: str) -> str:
        found = sorted(p.name for p in self.save_dir.glob("*_net_*.pth")) if self.save_dir.is_dir() else []
        hint = ""
        if name == "G" and any(f.endswith("_net_G_A.pth") for f in found):
            hint = " (this run is a CycleGAN: pass --model_suffix _A for A->B or _B for B->A)"
        listing = ", ".join(found[:8]) if found else f"no checkpoints in {self.save_dir}"
        return f"checkpoint {path} not found{hint}; available: {listing}. Check --name, --epoch and --checkpoints_dir"

    def load_network_init(self, path: str | os.PathLike | None = None, net_name: str = "G_A") -> bool:
        """Initialise ``net<net_name>`` from a generator-only state dict before training.

        The file is ``<--state_dict_dir>/<--name_state_dict_init>`` unless ``path`` is given.
        With the default name and no such file, training starts from scratch (info line).
        A file named explicitly that is missing, or whose keys/shapes do not fit the chosen
        ``--netG/--ngf/--norm``, raises ValueError naming the file, the flags and the difference.
        A ResNet dropout/no-dropout layout difference is remapped automatically.
        Returns True when weights were loaded.
        """
        opt = self.opt
        explicit = path is not None or getattr(opt, "name_state_dict_init", DEFAULT_INIT_NAME) != DEFAULT_INIT_NAME
        if path is None:
            path = Path(getattr(opt, "state_dict_dir", "stateDict")) / getattr(opt, "name_state_dict_init",
                                                                             DEFAULT_INIT_NAME)
        path = Path(path)
        if path.exists() and not path.is_file():
            raise ValueError(f"--name_state_dict_init: {path} is not a regular file (a folder, FIFO or device); "
                             "put a generator state dict (.pth) there or fix --state_dict_dir / --name_state_dict_init")
        if not path.is_file():
            if explicit:
                raise ValueError(f"--name_state_dict_init: {path} does not exist; put the generator state dict "
                                 f"there or fix --state_dict_dir / --name_state_dict_init")
            logger.info("no %s: training %s from scratch", path, "net" + net_name)
            return False
        state = load_state_dict_file(path)
        try:
            compat.load_into(unwrap(self.net(net_name)), state, source=str(path))
        except ValueError as err:
            flags = (f"--netG {opt.netG} --ngf {opt.ngf} --norm {opt.norm} "
                     f"--input_nc {opt.input_nc} --output_nc {opt.output_nc}")
            raise ValueError(f"--name_state_dict_init: {path} does not fit the generator built from {flags}: {err}"
                             ) from err
        logger.info("initialised net%s from %s (fine-tuning)", net_name, path)
        return True

    # ------------------------------------------------------------------ training state
    def training_state(self) -> dict[str, Any]:
        """Optimiser and scheduler states plus model extras (e.g. image pools)."""
        return {
            "optimizers": [o.state_dict() for o in self.optimizers],
            "schedulers": [s.state_dict() for s in self.schedulers],
            "extra": self.extra_state(),
        }

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned."""
        if len(state["optimizers"]) != len(self.optimizers) or len(state["schedulers"]) != len(self.schedulers):
            raise ValueError("training state does not match this model's optimisers/schedulers "
                             "(was it saved by another --model or --lr_policy?)")
        for optimizer, sd in zip(self.optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(sd)
        for scheduler, sd in zip(self.schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(sd)
        self.load_extra_state(state.get("extra", {}))

    def extra_state(self) -> dict[str, Any]:
        """Model-specific training state (override together with :meth:`load_extra_state`)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional, like extra_state)
        """Restore :meth:`extra_state`."""

    # ------------------------------------------------------------------ misc
    def print_networks(self, verbose: bool) -> None:
        """Log the parameter count of every network (and the architecture when verbose)."""
        for name, net in self.networks():
            n_params = sum(p.numel() for p in net.parameters())
            if verbose:
                logger.info("%s", net)
            logger.info("[Network %s] Total number of parameters : %.3f M", name, n_params / 1e6)

    @staticmethod
    def set_requires_grad(nets: nn.Module | Iterable[nn.Module | None], requires_grad: bool = False) -> None:
        """Switch gradients on or off for every parameter of ``nets``."""
        if isinstance(nets, nn.Module):
            nets = [nets]
        for net in nets:
            if net is not None:
                for param in net.parameters():
                    param.requires_grad = requires_grad
