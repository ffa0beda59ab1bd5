"""Running a generator on images of any size: pad to what the network needs, crop back."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Smallest side any generator takes: a ResNet generator reflection-pads its input by 3 and, after
#: two stride-2 convolutions, its blocks reflection-pad by 1, which needs at least 2 px there (8 px in).
MIN_SIDE = 8


def _padded_side(size: int, multiple: int) -> int:
    return max(-(-size // multiple), -(-MIN_SIDE // multiple)) * multiple


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``x`` ``(N, C, H, W)`` on the bottom/right so H and W are multiples of ``multiple``
    and at least :data:`MIN_SIDE`.

    Reflection padding is used (no hard border for the network to react to); when the pad
    is larger than the image allows for reflection (tiny images, thin strips), replicate
    padding is used instead. Returns the padded tensor and the original ``(H, W)``.
    """
    if x.dim() != 4:
        raise ValueError(f"`x` must have shape (N, C, H, W), got {tuple(x.shape)}")
    if multiple < 1:
        raise ValueError(f"`multiple` must be >= 1, got {multiple}")
    h, w = x.shape[-2:]
    pad_h = _padded_side(h, multiple) - h
    pad_w = _padded_side(w, multiple) - w
    if pad_h == 0 and pad_w == 0:
        return x, (h, w)
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode), (h, w)


def run_padded(net: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``net(x)`` for any spatial size: pad to ``multiple``, run, crop back to ``x``'s size."""
    padded, (h, w) = pad_to_multiple(x, multiple)
    return net(padded)[..., :h, :w]


# --------------------------------------------------------------------------- loading a generator
ARCH_KEYS = ("netG", "ngf", "norm", "use_dropout", "input_nc", "output_nc")


def load_generator(path, *, overrides: dict | None = None, device: torch.device | str = "cpu"):
    """Build a generator from any generator state dict file (reference checkpoints included).

    The architecture (``netG, ngf, norm, use_dropout, input_nc, output_nc``) is inferred from
    the keys and shapes. ``overrides`` maps those names to values the user typed; a value
    that contradicts the file raises ValueError naming the flag, the file and what the file
    holds (``use_dropout`` is the exception: the layouts differ only in parameter-free Dropout
    positions, remapped on load).
    Returns ``(net in eval mode on device, config dict)``. The file is loaded with
    ``weights_only=True``: anything that is not a plain state dict is refused, never executed.
    """
    from models import compat, networks
    from util.checkpoint import load_state_dict_file

    state = load_state_dict_file(path)  # one-line CheckpointError (a ValueError) naming the file if unusable
    try:
        config = compat.infer_generator_config(state)
    except ValueError as err:
        if _looks_like_discriminator(state):
            raise ValueError(f"generator file {path}: holds a discriminator (PatchGAN, last layer with 1 output "
                             "channel), not a generator; pass a *_net_G_A.pth or *_net_G_B.pth file") from err
        raise ValueError(f"generator file {path}: {err}") from err
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"generator file {path}: weights are not finite (NaN or Inf) in {len(bad)} tensor(s), "
                         f"e.g. {bad[0]}; the training diverged or the file is damaged: use an earlier checkpoint")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in ARCH_KEYS:
            raise ValueError(f"unknown generator setting {key!r}; valid: {', '.join(ARCH_KEYS)}")
        if key == "use_dropout":
            # dropout layouts differ only in parameter-free positions: remapped on load (U-Net keys don't show it)
            config[key] = bool(value)
            continue
        if value != config[key]:
            flag = {"use_dropout": "--use_dropout/--no_dropout"}.get(key, f"--{key}")
            raise ValueError(f"{flag} {value} contradicts {path}, which holds a generator with {key}={config[key]} "
                             f"(inferred: {', '.join(f'{k}={v}' for k, v in config.items())}); drop the flag")
    net = networks.define_G(config["input_nc"], config["output_nc"], config["ngf"], config["netG"], config["norm"],
                            config["use_dropout"], "normal", 0.02)
    compat.load_into(net, state, source=str(path))
    net.eval()
    return net.to(device), config


def _looks_like_discriminator(state) -> bool:
    """True for a PatchGAN/pixel discriminator state dict: convolutions only, the last one with 1 output."""
    convs = [v for k, v in state.items() if k.endswith("weight") and getattr(v, "dim", lambda: 0)() == 4]
    return bool(convs) and convs[-1].shape[0] == 1 and "conv_block" not in " ".join(state)
