"""Network definitions, losses, initialisation and LR schedulers.

Every generator and discriminator keeps the reference framework's attribute names,
layer order and layer indices, so state dicts saved by the reference load unchanged
(see ``models/compat.py`` for the key patches applied on loading).

Tensors entering and leaving the generators are ``float32`` ``(N, C, H, W)`` in
``[-1, 1]``; discriminators return raw logits (no sigmoid).

Public entry points used by users' own scripts, with the reference's positional order:

- ``define_G(input_nc, output_nc, ngf, netG, norm, use_dropout, init_type, init_gain)``
- ``define_D(input_nc, ndf, netD, n_layers_D, norm, init_type, init_gain)``

Both return a plain, initialised ``nn.Module`` on the CPU; the caller moves it to a device.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

logger = logging.getLogger(__name__)

# the names live in models.names (no torch) so that option parsing does not need torch
from models.names import (  # noqa: E402, F401
    DISCRIMINATORS,
    GAN_MODES,
    GENERATORS,
    GP_TYPES,
    INIT_TYPES,
    LR_POLICIES,
    NORMS,
    PADDING_TYPES,
)

#: ``unet_<size>`` -> number of stride-2 downsamplings (the input side must be a multiple of 2**num_downs).
UNET_DOWNS: dict[str, int] = {"unet_256": 8, "unet_128": 7}

_RESNET_RE = re.compile(r"^resnet_(\d+)blocks$")

NormFactory = Callable[[int], nn.Module]


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------

def _check_choice(name: str, value: Any, valid: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name}={value!r} is not valid; choose one of: {', '.join(valid)}")


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _resnet_blocks(netG: str) -> int | None:
    """Number of ResNet blocks named by ``resnet_<N>blocks``, or None for other names."""
    match = _RESNET_RE.match(netG) if isinstance(netG, str) else None
    return int(match.group(1)) if match else None


def _check_generator_name(netG: Any) -> None:
    if netG in UNET_DOWNS:
        return
    blocks = _resnet_blocks(netG)
    if blocks is not None and blocks >= 1:
        return
    raise ValueError(
        f"netG={netG!r} is not valid; choose one of: {', '.join(GENERATORS)} "
        "(any resnet_<N>blocks with N >= 1 is also accepted)"
    )


# ----------------------------------------------------------------------------------------------
# Norms and the bias rule
# ----------------------------------------------------------------------------------------------

def _identity_norm(num_features: int) -> nn.Module:
    """Norm factory for ``--norm none``: a parameter-free ``nn.Identity``."""
    return nn.Identity()


def get_norm_layer(norm_type: str = "instance") -> NormFactory:
    """Return a factory ``f(num_features) -> nn.Module`` for the named normalisation.

    - ``batch``: ``BatchNorm2d(affine=True, track_running_stats=True)``
    - ``syncbatch``: ``SyncBatchNorm(affine=True, track_running_stats=True)`` (same keys as batch; DDP)
    - ``instance``: ``InstanceNorm2d(affine=False, track_running_stats=False)`` (no state-dict keys)
    - ``none``: ``nn.Identity`` (no keys)

    Raises:
        ValueError: for any other name (lists the valid ones).
    """
    _check_choice("norm", norm_type, NORMS)
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "syncbatch":
        return functools.partial(nn.SyncBatchNorm, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    return _identity_norm


def _conv_bias(norm_layer: NormFactory) -> bool:
    """The reference bias rule: convs followed by a norm carry a bias only under InstanceNorm2d.

    ``none`` (a plain function), batch and syncbatch therefore give bias-free convs.
    """
    target = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
    return isinstance(target, type) and issubclass(target, nn.InstanceNorm2d)


# ----------------------------------------------------------------------------------------------
# Initialisation
# ----------------------------------------------------------------------------------------------

def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02, *,
                 generator: torch.Generator | None = None) -> nn.Module:
    """Initialise ``net`` in place (reference rules) and return it.

    Conv*/Linear weights: ``normal`` N(0, gain), ``xavier`` xavier_normal(gain), ``kaiming``
    kaiming_normal(a=0, fan_in; gain ignored), ``orthogonal`` orthogonal(gain); their biases 0.
    BatchNorm2d and SyncBatchNorm: weight N(1, gain), bias 0. Random numbers come from
    ``generator`` (a CPU ``torch.Generator``) or, when None, from torch's global generator.
    """
    _check_choice("init_type", init_type, INIT_TYPES)
    if isinstance(init_gain, bool) or not isinstance(init_gain, (int, float)) or not math.isfinite(init_gain):
        raise ValueError(f"init_gain must be a finite number, got {init_gain!r}")

    def init_module(module: nn.Module) -> None:
        weight = getattr(module, "weight", None)
        bias = getattr(module, "bias", None)
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)) and isinstance(weight, torch.Tensor):
            if init_type == "normal":
                nn.init.normal_(weight, 0.0, init_gain, generator=generator)
            elif init_type == "xavier":
                nn.init.xavier_normal_(weight, gain=init_gain, generator=generator)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(weight, a=0, mode="fan_in", generator=generator)
            else:
                nn.init.orthogonal_(weight, gain=init_gain, generator=generator)
            if isinstance(bias, torch.Tensor):
                nn.init.constant_(bias, 0.0)
        elif isinstance(module, (nn.BatchNorm2d, nn.SyncBatchNorm)) and isinstance(weight, torch.Tensor):
            nn.init.normal_(weight, 1.0, init_gain, generator=generator)
            if isinstance(bias, torch.Tensor):
                nn.init.constant_(bias, 0.0)

    with torch.no_grad():
        net.apply(init_module)
    logger.info("initialised %s with %s (gain %g)", type(net).__name__, init_type, init_gain)
    return net


def init_net(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02,
             gpu_ids: Sequence[int] | None = None, *, generator: torch.Generator | None = None) -> nn.Module:
    """Reference-compatible alias of :func:`init_weights` for users' scripts; ``gpu_ids`` is ignored
    (a warning is logged) and the module stays where it is: move it with ``.to(device)``."""
    _warn_gpu_ids(gpu_ids, "init_net")
    return init_weights(net, init_type, init_gain, generator=generator)


def _keep_global_rng(generator: torch.Generator | None) -> contextlib.AbstractContextManager:
    """With an explicit generator, leave torch's global CPU RNG untouched by layer construction
    (PyTorch's default layer init draws from it before :func:`init_weights` overwrites the weights)."""
    if generator is None:
        return contextlib.nullcontext()
    return torch.random.fork_rng(devices=[])


def _warn_gpu_ids(gpu_ids: Sequence[int] | None, func: str) -> None:
    if gpu_ids:
        logger.warning("%s(gpu_ids=%s): gpu_ids is ignored; the network is returned on the CPU as a plain "
                       "nn.Module, move it with .to(device)", func, list(gpu_ids))


# ----------------------------------------------------------------------------------------------
# Factories
# ----------------------------------------------------------------------------------------------

def required_multiple(netG: str) -> int:
    """The number that input height and width must be multiples of for generator ``netG``.

    4 for ``resnet_*`` (two stride-2 downsamplings), 256 for ``unet_256``, 128 for ``unet_128``.
    """
    _check_generator_name(netG)
    if netG in UNET_DOWNS:
        return 2 ** UNET_DOWNS[netG]
    return 4


def define_G(input_nc: int, output_nc: int, ngf: int, netG: str, norm: str = "batch",
             use_dropout: bool = False, init_type: str = "normal", init_gain: float = 0.02,
             gpu_ids: Sequence[int] | None = None, *, generator: torch.Generator | None = None) -> nn.Module:
    """Build and initialise a generator; returns a plain ``nn.Module`` on the CPU.

    Args:
        input_nc: image channels in (3 for RGB).
        output_nc: image channels out (3 for RGB).
        ngf: filters in the last conv layer (64 in the reference).
        netG: ``resnet_9blocks``, ``resnet_6blocks`` (or any ``resnet_<N>blocks``), ``unet_256``, ``unet_128``.
            ResNet needs H and W divisible by 4; ``unet_256`` by 256 and ``unet_128`` by 128
            (see :func:`required_multiple`); other sizes raise ValueError in ``forward``.
        norm: ``instance``, ``batch``, ``syncbatch`` or ``none`` (default ``batch``, like the reference).
        use_dropout: Dropout(0.5) in ResNet blocks / the innermost ngf*8 U-Net blocks.
        init_type: the weight initialisation, see :func:`init_weights`.
        init_gain: the scale of the initial weights, see :func:`init_weights`.
        gpu_ids: accepted for old scripts and ignored (a warning is logged); move the module yourself.
        generator: optional ``torch.Generator`` for the weight initialisation.
    """
    for name, value in (("input_nc", input_nc), ("output_nc", output_nc), ("ngf", ngf)):
        _check_positive_int(name, value)
    _check_generator_name(netG)
    norm_layer = get_norm_layer(norm)
    _check_choice("init_type", init_type, INIT_TYPES)
    _warn_gpu_ids(gpu_ids, "define_G")
    blocks = _resnet_blocks(netG)
    with _keep_global_rng(generator):
        if blocks is not None:
            net: nn.Module = ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer,
                                             use_dropout=bool(use_dropout), n_blocks=blocks)
        else:
            net = UnetGenerator(input_nc, output_nc, UNET_DOWNS[netG], ngf, norm_layer=norm_layer,
                                use_dropout=bool(use_dropout))
    return init_weights(net, init_type, init_gain, generator=generator)


def define_D(input_nc: int, ndf: int, netD: str, n_layers_D: int = 3, norm: str = "batch",
             init_type: str = "normal", init_gain: float = 0.02,
             gpu_ids: Sequence[int] | None = None, *, generator: torch.Generator | None = None) -> nn.Module:
    """Build and initialise a discriminator; returns a plain ``nn.Module`` on the CPU.

    Args:
        input_nc: channels of the images it judges (6 for a conditional pix2pix D).
        ndf: filters in the first conv layer.
        netD: ``basic`` (70x70 PatchGAN, 3 layers), ``n_layers`` (PatchGAN with ``n_layers_D``
            layers), ``pixel`` (1x1 PatchGAN). Output: raw logits ``(N, 1, h, w)``.
        n_layers_D: only used by ``n_layers``.
        norm: as for :func:`define_G`.
        init_type: as for :func:`define_G`.
        init_gain: as for :func:`define_G`.
        gpu_ids: as for :func:`define_G`.
        generator: as for :func:`define_G`.
    """
    _check_positive_int("input_nc", input_nc)
    _check_positive_int("ndf", ndf)
    _check_choice("netD", netD, DISCRIMINATORS)
    norm_layer = get_norm_layer(norm)
    _check_choice("init_type", init_type, INIT_TYPES)
    _warn_gpu_ids(gpu_ids, "define_D")
    if netD == "n_layers":
        _check_positive_int("n_layers_D", n_layers_D)
    with _keep_global_rng(generator):
        if netD == "basic":
            net: nn.Module = NLayerDiscriminator(input_nc, ndf, n_layers=3, norm_layer=norm_layer)
        elif netD == "n_layers":
            net = NLayerDiscriminator(input_nc, ndf, n_layers=n_layers_D, norm_layer=norm_layer)
        else:
            net = PixelDiscriminator(input_nc, ndf, norm_layer=norm_layer)
    return init_weights(net, init_type, init_gain, generator=generator)


# ----------------------------------------------------------------------------------------------
# Schedulers
# ----------------------------------------------------------------------------------------------

class _LinearDecay:
    """LR factor for ``--lr_policy linear``; ``e`` is the scheduler's step count.

    Epoch ``E = e + epoch_count`` trains at ``1 - max(0, E - n_epochs) / (n_epochs_decay + 1)``.
    A callable object (not a lambda) so its fields travel in ``LambdaLR.state_dict()``.
    """

    def __init__(self, n_epochs: int, n_epochs_decay: int, epoch_count: int) -> None:
        self.n_epochs = n_epochs
        self.n_epochs_decay = n_epochs_decay
        self.epoch_count = epoch_count

    def __call__(self, e: int) -> float:
        return 1.0 - max(0, e + self.epoch_count - self.n_epochs) / float(self.n_epochs_decay + 1)


class _CosineDecay:
    """LR factor for ``--lr_policy cosine`` over the whole run, clamped at 0 afterwards.

    After ``k = e + epoch_count - 1`` finished epochs the factor is ``(1 + cos(pi * min(k, T) / T)) / 2``
    with ``T = n_epochs + n_epochs_decay``: 1 for the first epoch, 0 after the last, never rising again.
    """

    def __init__(self, total_epochs: int, epoch_count: int) -> None:
        self.total_epochs = total_epochs
        self.epoch_count = epoch_count

    def __call__(self, e: int) -> float:
        done = min(max(e + self.epoch_count - 1, 0), self.total_epochs)
        return 0.5 * (1.0 + math.cos(math.pi * done / self.total_epochs))


def get_scheduler(optimizer: torch.optim.Optimizer, opt: Any) -> Any:
    """Return the LR scheduler named by ``opt.lr_policy``; call ``.step()`` at the END of each epoch.

    Reads ``opt.lr_policy``, ``opt.n_epochs``, ``opt.n_epochs_decay``, ``opt.epoch_count`` and
    ``opt.lr_decay_iters``.

    - ``linear``: constant for epochs 1..n_epochs, then linear decay; the last epoch
      (``n_epochs + n_epochs_decay``) runs at ``lr / (n_epochs_decay + 1)`` (reference HEAD formula).
    - ``step``: ``StepLR(step_size=lr_decay_iters, gamma=0.1)``, counted in epochs.
    - ``plateau``: ``ReduceLROnPlateau(mode='min', factor=0.2, threshold=0.01, patience=5)``;
      step it with a metric.
    - ``cosine``: cosine from lr to 0 over ``n_epochs + n_epochs_decay`` epochs (not only
      ``n_epochs`` as in the reference), staying at 0 if stepped further.

    ``linear`` and ``cosine`` start at epoch ``opt.epoch_count`` (for ``--continue_train``). When
    restoring a saved scheduler ``state_dict()``, the saved step count and the saved epoch_count are
    both restored, so the schedule continues where it stopped.

    Raises:
        ValueError: unknown policy (lists the valid ones) or an unusable epoch count.
    """
    policy = getattr(opt, "lr_policy", None)
    _check_choice("lr_policy", policy, LR_POLICIES)
    if policy == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
    if policy == "step":
        _check_positive_int("lr_decay_iters", getattr(opt, "lr_decay_iters", None))
        return lr_scheduler.StepLR(optimizer, step_size=opt.lr_decay_iters, gamma=0.1)
    n_epochs, n_decay, epoch_count = opt.n_epochs, opt.n_epochs_decay, opt.epoch_count
    for name, value in (("n_epochs", n_epochs), ("n_epochs_decay", n_decay)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    _check_positive_int("epoch_count", epoch_count)
    if policy == "linear":
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=_LinearDecay(n_epochs, n_decay, epoch_count))
    total = n_epochs + n_decay
    if total < 1:
        raise ValueError(f"lr_policy 'cosine' needs n_epochs + n_epochs_decay >= 1, got {n_epochs} + {n_decay}")
    return lr_scheduler.LambdaLR(optimizer, lr_lambda=_CosineDecay(total, epoch_count))


# ----------------------------------------------------------------------------------------------
# GAN losses
# ----------------------------------------------------------------------------------------------

class GANLoss(nn.Module):
    """GAN objective on raw discriminator outputs: ``criterion(prediction, target_is_real) -> scalar``.

    - ``lsgan``: MSE against the real/fake label.
    - ``vanilla``: BCE-with-logits against the label (the discriminators have no sigmoid).
    - ``wgangp``: ``-mean(pred)`` for real, ``mean(pred)`` for fake (add :func:`cal_gradient_penalty`).
    The labels are buffers ``real_label`` / ``fake_label`` (0-d float tensors).
    """

    def __init__(self, gan_mode: str, target_real_label: float = 1.0, target_fake_label: float = 0.0) -> None:
        super().__init__()
        _check_choice("gan_mode", gan_mode, GAN_MODES)
        self.gan_mode = gan_mode
        self.register_buffer("real_label", torch.tensor(float(target_real_label)))
        self.register_buffer("fake_label", torch.tensor(float(target_fake_label)))
        self.loss: nn.Module | None
        if gan_mode == "lsgan":
            self.loss = nn.MSELoss()
        elif gan_mode == "vanilla":
            self.loss = nn.BCEWithLogitsLoss()
        else:
            self.loss = None

    def get_target_tensor(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """The label broadcast to ``prediction``'s shape, dtype and device."""
        label = self.real_label if target_is_real else self.fake_label
        return label.to(device=prediction.device, dtype=prediction.dtype).expand_as(prediction)

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """Scalar loss for a batch of discriminator outputs of any shape."""
        if not isinstance(prediction, torch.Tensor):
            raise TypeError(f"prediction must be a torch.Tensor, got {type(prediction).__name__}")
        if not isinstance(target_is_real, bool):
            raise TypeError(f"target_is_real must be a bool, got {target_is_real!r}")
        if self.loss is not None:
            return self.loss(prediction, self.get_target_tensor(prediction, target_is_real))
        return -prediction.mean() if target_is_real else prediction.mean()


def cal_gradient_penalty(netD: nn.Module, real: torch.Tensor, fake: torch.Tensor, device: Any,
                         type: str = "mixed", constant: float = 1.0, lambda_gp: float = 10.0,
                         generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """WGAN-GP gradient penalty ``lambda_gp * mean((||grad_x D(x)||_2 - constant)^2)``.

    ``x`` is ``real``, ``fake`` or (``mixed``) ``a * real + (1 - a) * fake`` with one
    ``a ~ U(0, 1)`` per sample drawn from ``generator`` (on its own device) or torch's global CPU one.
    Both inputs are detached first; the penalty is differentiable w.r.t. ``netD``'s parameters
    (``create_graph=True``), so ``penalty.backward()`` trains D.

    Returns:
        ``(penalty, gradients)``: a 0-d tensor and the ``(N, C*H*W)`` input gradients; for
        ``lambda_gp <= 0`` a zero tensor and None.
    """
    _check_choice("type", type, GP_TYPES)
    if not isinstance(real, torch.Tensor) or not isinstance(fake, torch.Tensor):
        raise TypeError("real and fake must be torch.Tensors")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    device = torch.device(device)
    if lambda_gp <= 0.0:
        return torch.zeros((), device=device), None
    real = real.detach().to(device)
    fake = fake.detach().to(device)
    if type == "real":
        x = real.clone()
    elif type == "fake":
        x = fake.clone()
    else:
        gen_device = generator.device if generator is not None else torch.device("cpu")
        alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator, device=gen_device)
        alpha = alpha.to(device=device, dtype=real.dtype)
        x = alpha * real + (1.0 - alpha) * fake
    x.requires_grad_(True)
    out = netD(x)
    grads = torch.autograd.grad(outputs=out, inputs=x, grad_outputs=torch.ones_like(out),
                                create_graph=True, retain_graph=True, only_inputs=True)[0]
    grads = grads.reshape(real.shape[0], -1)
    penalty = (((grads + 1e-16).norm(2, dim=1) - constant) ** 2).mean() * lambda_gp
    return penalty, grads


# ----------------------------------------------------------------------------------------------
# Generators
# ----------------------------------------------------------------------------------------------

def _check_input(x: torch.Tensor, channels: int, multiple: int, netname: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{netname} expects a 4-D (N, C, H, W) tensor, got {shape}")
    if x.shape[1] != channels:
        raise ValueError(f"{netname} expects {channels} input channels (--input_nc), got {x.shape[1]}")
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(
            f"{netname} needs H and W divisible by {multiple}, got {height}x{width}; pad or resize the "
            f"input (models.networks.required_multiple gives the multiple for each --netG)")


class ResnetBlock(nn.Module):
    """Residual block ``x + conv_block(x)`` on ``dim`` channels, shape-preserving.

    ``conv_block`` (reflect padding): ``[0 pad, 1 conv, 2 norm, 3 ReLU, (4 Dropout), pad, conv, norm]``,
    so the second conv sits at index 5 without dropout and at 6 with it.
    """

    def __init__(self, dim: int, padding_type: str, norm_layer: NormFactory, use_dropout: bool,
                 use_bias: bool) -> None:
        super().__init__()
        _check_choice("padding_type", padding_type, PADDING_TYPES)
        self.conv_block = self.build_conv_block(dim, padding_type, norm_layer, use_dropout, use_bias)

    @staticmethod
    def build_conv_block(dim: int, padding_type: str, norm_layer: NormFactory, use_dropout: bool,
                         use_bias: bool) -> nn.Sequential:
        """The block's layer list (indices matter: they are the state-dict keys)."""
        def padded_conv() -> list[nn.Module]:
            if padding_type == "reflect":
                return [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias)]
            if padding_type == "replicate":
                return [nn.ReplicationPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias)]
            return [nn.Conv2d(dim, dim, kernel_size=3, padding=1, bias=use_bias)]

        layers = padded_conv() + [norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += padded_conv() + [norm_layer(dim)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` plus the block's residual."""
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """ResNet generator (reference layout): c7s1-ngf, d2ngf, d4ngf, n x R4ngf, u2ngf, ungf, c7s1-out, tanh.

    Input ``(N, input_nc, H, W)`` with H, W divisible by 4; output ``(N, output_nc, H, W)`` in [-1, 1].
    A single ``self.model`` Sequential; with n blocks the final conv is ``model.{17+n}``.
    """

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, norm_layer: NormFactory = nn.BatchNorm2d,
                 use_dropout: bool = False, n_blocks: int = 6, padding_type: str = "reflect") -> None:
        super().__init__()
        if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 0:
            raise ValueError(f"n_blocks must be a non-negative integer, got {n_blocks!r}")
        _check_choice("padding_type", padding_type, PADDING_TYPES)
        self.input_nc = input_nc
        use_bias = _conv_bias(norm_layer)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
            norm_layer(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):  # two stride-2 downsamplings
            mult = 2 ** i
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                       norm_layer(ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * 4, padding_type, norm_layer, use_dropout, use_bias))
        for i in range(2):  # two stride-2 upsamplings
            mult = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1,
                                          output_padding=1, bias=use_bias),
                       norm_layer(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate ``x`` after checking its channels and size."""
        _check_input(x, self.input_nc, 4, "ResnetGenerator")
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: downsample, ``submodule``, upsample, and (except outermost) a skip concat.

    Sequential layouts (indices are state-dict keys):
    outermost ``[0 conv, 1 sub, 2 ReLU, 3 convT(bias), 4 Tanh]``;
    middle ``[0 LReLU, 1 conv, 2 norm, 3 sub, 4 ReLU, 5 convT, 6 norm, (7 Dropout)]``;
    innermost ``[0 LReLU, 1 conv, 2 ReLU, 3 convT, 4 norm]``.
    Non-outermost blocks return ``cat([leaky_relu(x, 0.2), model(x)], 1)``: the reference applies its
    first LeakyReLU in place, so its skip branch carries the activated input; we reproduce that
    explicitly (without mutating the caller's tensor).
    """

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 norm_layer: NormFactory = nn.BatchNorm2d, use_dropout: bool = False) -> None:
        super().__init__()
        if outermost and innermost:
            raise ValueError("a UnetSkipConnectionBlock cannot be both outermost and innermost")
        if submodule is None and not innermost:
            raise ValueError("a non-innermost UnetSkipConnectionBlock needs a submodule")
        self.outermost = outermost
        use_bias = _conv_bias(norm_layer)
        if input_nc is None:
            input_nc = outer_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        layers: list[nn.Module]
        if outermost:
            layers = [down_conv, submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2), down_conv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias),
                      norm_layer(outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2), down_conv, norm_layer(inner_nc), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias),
                      norm_layer(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The submodule's output, concatenated with the skip branch except at the outermost level."""
        if self.outermost:
            return self.model(x)
        skip = self.model[0](x)  # LeakyReLU(0.2): the skip branch carries the activated input
        h = skip
        for layer in list(self.model)[1:]:
            h = layer(h)
        return torch.cat([skip, h], 1)


class UnetGenerator(nn.Module):
    """U-Net generator with ``num_downs`` stride-2 levels (8 for unet_256, 7 for unet_128).

    Input ``(N, input_nc, H, W)`` with H, W divisible by ``2**num_downs``; output ``(N, output_nc, H, W)``
    in [-1, 1]. ``self.model`` is the outermost :class:`UnetSkipConnectionBlock`; keys nest as
    ``model.model.1.model.3...``. Dropout sits in the ``num_downs - 5`` innermost ngf*8 middle blocks and
    adds no keys.
    """

    def __init__(self, input_nc: int, output_nc: int, num_downs: int, ngf: int = 64,
                 norm_layer: NormFactory = nn.BatchNorm2d, use_dropout: bool = False) -> None:
        super().__init__()
        if isinstance(num_downs, bool) or not isinstance(num_downs, int) or num_downs < 5:
            raise ValueError(f"num_downs must be an integer >= 5, got {num_downs!r}")
        self.input_nc = input_nc
        self.num_downs = num_downs
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm_layer=norm_layer)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer,
                                            use_dropout=use_dropout)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             norm_layer=norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate ``x`` after checking its channels and size."""
        _check_input(x, self.input_nc, 2 ** self.num_downs, "UnetGenerator")
        return self.model(x)


# ----------------------------------------------------------------------------------------------
# Discriminators
# ----------------------------------------------------------------------------------------------

class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator; ``n_layers=3`` is the 70x70 PatchGAN (256 input -> 1x30x30 logits).

    ``self.model``: ``[conv(bias), LReLU]``, ``n_layers - 1`` x ``[conv s2, norm, LReLU]``,
    ``[conv s1, norm, LReLU]``, ``conv(bias) -> 1 channel``; the last conv is ``model.{3*n_layers+2}``.
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3,
                 norm_layer: NormFactory = nn.BatchNorm2d) -> None:
        super().__init__()
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise ValueError(f"n_layers must be a positive integer, got {n_layers!r}")
        use_bias = _conv_bias(norm_layer)
        kw, padw = 4, 1
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw),
                                   nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=kw, stride=2, padding=padw, bias=use_bias),
                       norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=kw, stride=1, padding=padw, bias=use_bias),
                   norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, kernel_size=kw, stride=1, padding=padw))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """PatchGAN logits of ``x``."""
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: per-pixel logits ``(N, 1, H, W)``. The Sequential is ``self.net`` (not ``model``).

    ``[0 conv1x1(bias), 1 LReLU, 2 conv1x1, 3 norm, 4 LReLU, 5 conv1x1]``; the convs at 2 and 5 follow
    the bias rule (so the final conv has no bias under batch/none norm, as in the reference).
    """

    def __init__(self, input_nc: int, ndf: int = 64, norm_layer: NormFactory = nn.BatchNorm2d) -> None:
        super().__init__()
        use_bias = _conv_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1, stride=1, padding=0),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, stride=1, padding=0, bias=use_bias),
            norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, stride=1, padding=0, bias=use_bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits of ``x``."""
        return self.net(x)
