"""Running a generator on images of any size: pad to what the network needs, crop back."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``x`` ``(N, C, H, W)`` on the bottom/right so H and W are multiples of ``multiple``.

    Reflection padding is used (no hard border for the network to react to); when the pad
    is larger than the image allows for reflection, replicate padding is used instead.
    Returns the padded tensor and the original ``(H, W)``.
    """
    if x.dim() != 4:
        raise ValueError(f"`x` must have shape (N, C, H, W), got {tuple(x.shape)}")
    if multiple < 1:
        raise ValueError(f"`multiple` must be >= 1, got {multiple}")
    h, w = x.shape[-2:]
    pad_h = (-h) % multiple
    pad_w = (-w) % multiple
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

    state = load_state_dict_file(path)
    config = compat.infer_generator_config(state)
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
