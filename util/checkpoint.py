"""Checkpoint files: atomic saving and safe loading (``torch.load(..., weights_only=True)`` only).

A checkpoint can never execute code: files holding pickled classes or functions are refused
with a ValueError naming the file, and nothing from them runs.
"""
from __future__ import annotations

import logging
import os
import pickle
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from util.fileio import atomic_path

logger = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or not what the caller needs."""


def _to_cpu(obj: Any) -> Any:
    """Copy of ``obj`` with every tensor detached and on the CPU; containers are rebuilt."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, OrderedDict):
        out: Any = OrderedDict((k, _to_cpu(v)) for k, v in obj.items())
        metadata = getattr(obj, "_metadata", None)
        if metadata is not None:  # module versions, as in nn.Module.state_dict()
            out._metadata = metadata
        return out
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_to_cpu(v) for v in obj)
    return obj


def save_state_dict(obj: Any, path: str | os.PathLike) -> Path:
    """Save ``obj`` (a state dict or a nested dict/list of tensors and plain values) to ``path``.

    Tensors are detached and moved to the CPU first. The file is written to a temporary name in
    the same folder, fsynced and renamed, so an interrupted save never leaves a partial file and
    never replaces a good one. Returns the destination path.
    """
    dest = Path(path)
    cpu_obj = _to_cpu(obj)
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(cpu_obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
    logger.debug("saved %s", dest)
    return dest


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """Load a torch file with ``weights_only=True`` (tensors, plain containers and numbers only).

    Raises:
        CheckpointError (a ValueError): the file is missing, is a folder, is not a PyTorch file, or
            holds Python objects ``weights_only`` refuses (e.g. a pickled class) - such a file is not
            a plain state dict and none of its code is run.
    """
    file = Path(path)
    if not file.exists():
        raise CheckpointError(f"checkpoint file {str(file)!r} does not exist")
    if not file.is_file():
        raise CheckpointError(f"checkpoint path {str(file)!r} is not a file")
    if file.stat().st_size == 0:
        raise CheckpointError(f"checkpoint file {str(file)!r} is empty (0 bytes): the save or copy that made it did "
                              f"not finish; save it again or copy it again from its source")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # plain pickles: refused below
            return torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _refusal_reason(err)
        if "weights only load failed" in str(err).lower() and "unsupported operand" not in reason.lower():
            raise CheckpointError(
                f"checkpoint file {str(file)!r} is not a plain state dict: it contains Python objects that "
                f"safe loading (torch.load weights_only=True) refuses, e.g. a pickled class or function; it was "
                f"not loaded and none of its code was run. Re-save it with torch.save(net.state_dict(), path) "
                f"from trusted code. (torch: {reason})") from err
        raise CheckpointError(f"checkpoint file {str(file)!r} is not a PyTorch checkpoint: {_describe(file)} "
                              f"(torch: {reason if 'weights only' in str(err).lower() else _first_line(err)})"
                              ) from err
    except Exception as err:  # zip/legacy readers raise RuntimeError, KeyError, EOFError, ... on non-torch files
        raise CheckpointError(f"checkpoint file {str(file)!r} is not a readable PyTorch file: {_describe(file)} "
                              f"(torch: {type(err).__name__}: {_first_sentence(err)})") from err


def _describe(file: Path) -> str:
    """What an unloadable checkpoint file looks like, from its first bytes."""
    with open(file, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"PK\x03\x04"):
        return "its zip archive is truncated or damaged (an interrupted save or copy?); save or copy it again"
    if head.startswith(b"\x80"):
        return "a legacy-format file that is truncated or damaged, or a plain Python pickle; save it again"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")):
        return "it is an image, not a network state dict"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return f"it is a text file starting with {head[:12].decode('ascii')!r}"
    return "unrecognised binary data"


def _first_sentence(err: BaseException) -> str:
    line = _first_line(err)
    return line.split(". ")[0].rstrip(".") if ". " in line else line


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no details"


def _refusal_reason(err: BaseException) -> str:
    """The specific line of torch's weights_only refusal, without its boilerplate."""
    boilerplate = ("weights only load failed", "check the documentation", "please file an issue")
    for line in str(err).splitlines():
        line = line.strip()
        if "WeightsUnpickler error:" in line:
            line = line.split("WeightsUnpickler error:", 1)[1].strip()
        if line and not line.lower().startswith(boilerplate):
            return line
    return "refused by the weights-only unpickler"


def load_state_dict_file(path: str | os.PathLike, map_location: Any = "cpu") -> "OrderedDict[str, torch.Tensor]":
    """Load a flat state dict (``str -> Tensor``) saved with ``torch.save(net.state_dict(), path)``.

    Anything else - a wrapper such as ``{'state_dict': ..., 'epoch': ...}``, non-tensor values, an
    empty dict, a bare tensor - is refused with a CheckpointError (ValueError) naming the file;
    wrappers are deliberately not unwrapped. An ``_metadata`` attribute is kept (it is ignored
    when loading through ``models.compat``).
    """
    obj = load_checkpoint(path, map_location=map_location)
    name = str(path)
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint file {name!r} is not a plain state dict: it holds a "
                              f"{type(obj).__name__}, expected a dict of parameter name -> tensor")
    if not obj:
        raise CheckpointError(f"checkpoint file {name!r} holds an empty dict, not a network state dict")
    bad = [(k, v) for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        shown = ", ".join(f"{k!r}: {type(v).__name__}" for k, v in bad[:5])
        raise CheckpointError(
            f"checkpoint file {name!r} is not a plain state dict of tensors: {len(bad)} entries are not "
            f"str -> Tensor ({shown}). If it wraps a state dict (e.g. under 'state_dict' or 'model'), extract "
            f"it and save that alone: torch.save(ckpt['state_dict'], 'G.pth')")
    return obj if isinstance(obj, OrderedDict) else OrderedDict(obj)
