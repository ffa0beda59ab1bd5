"""Mixed precision (``--amp``): which dtype autocast uses on a device, and whether it pays there.

* CUDA: bfloat16 where the GPU supports it, else float16 (with a gradient scaler when training).
* CPU: bfloat16 where the CPU has bfloat16 units (AVX-512 BF16 or AMX, as oneDNN reports them); on
  other CPUs bfloat16 is emulated and slower than float32, so mixed precision stays off there.
"""
from __future__ import annotations

import contextlib
import logging

import torch

logger = logging.getLogger(__name__)


def cpu_has_bf16() -> bool:
    """True when oneDNN runs bfloat16 natively on this CPU."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``device`` (None: mixed precision does not pay there)."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_bf16() else None
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` for ``device`` with ``dtype``, or a null context when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def requested_dtype(device: torch.device, what: str) -> torch.dtype | None:
    """:func:`amp_dtype` for a ``--amp`` the user asked for; where it does not pay, one warning says so
    and why (``what`` names what then runs in float32, e.g. "training")."""
    dtype = amp_dtype(device)
    if dtype is None:
        logger.warning("--amp: this %s has no bfloat16 units (AVX-512 BF16 or AMX), where mixed precision is "
                       "slower than float32; %s in float32", device.type.upper(), what)
    return dtype
