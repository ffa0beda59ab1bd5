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
