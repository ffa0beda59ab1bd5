"""State-dict compatibility with checkpoints written by the reference framework and its users.

Reference ``.pth`` files are plain state dicts whose keys follow the layouts in
``models/networks.py``. Variants seen in the wild, all handled here:

- an ``_metadata`` attribute (or key) with per-module versions: ignored;
- a ``module.`` prefix (DataParallel/DDP saves) or ``_orig_mod.`` (torch.compile): stripped;
- ``running_mean`` / ``running_var`` / ``num_batches_tracked`` of InstanceNorm layers (PyTorch < 0.4): dropped;
- a ResNet generator trained with dropout loaded without it, or the reverse: the ``conv_block``
  indices are shifted (second conv at 6/norm 7 with dropout, 5/6 without).
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from models.networks import UNET_DOWNS, ResnetBlock

logger = logging.getLogger(__name__)

WRAPPER_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
_IN_STATS = ("running_mean", "running_var", "num_batches_tracked")
_MAX_LISTED = 8
_ARCH_FLAGS = "--netG, --ngf, --norm, --no_dropout/--use_dropout, --input_nc, --output_nc"


def _plain_copy(sd: Mapping[str, Any]) -> "OrderedDict[str, Any]":
    """A new OrderedDict with the same entries, without ``_metadata`` (attribute or key)."""
    if not isinstance(sd, Mapping):
        raise TypeError(f"state dict must be a mapping of str -> Tensor, got {type(sd).__name__}")
    return OrderedDict((k, v) for k, v in sd.items() if k != "_metadata")


def strip_wrapper_prefixes(sd: Mapping[str, Any], net: nn.Module | None = None) -> "OrderedDict[str, Any]":
    """Remove ``module.`` / ``_orig_mod.`` prefixes shared by every key (repeatedly, e.g. ``module._orig_mod.``).

    A prefix is kept when ``net`` itself has keys starting with it (a real submodule of that name).
    """
    out = _plain_copy(sd)
    net_keys = list(net.state_dict().keys()) if net is not None else []
    changed = True
    while changed and out:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in out) and not any(k.startswith(prefix) for k in net_keys):
                out = OrderedDict((k[len(prefix):], v) for k, v in out.items())
                logger.info("stripped the %r prefix from %d state-dict keys", prefix, len(out))
                changed = True
    return out


def _drop_instance_norm_stats(sd: "OrderedDict[str, Any]", net: nn.Module) -> "OrderedDict[str, Any]":
    """Drop pre-0.4 running-stat keys of InstanceNorm layers in ``net`` that do not track stats."""
    modules = dict(net.named_modules())
    dropped = []
    for key in list(sd.keys()):
        path, _, leaf = key.rpartition(".")
        if leaf not in _IN_STATS:
            continue
        module = modules.get(path)
        if isinstance(module, nn.modules.instancenorm._InstanceNorm) and not module.track_running_stats:
            del sd[key]
            dropped.append(key)
    if dropped:
        logger.info("dropped %d InstanceNorm running-stat keys (checkpoint from PyTorch < 0.4), e.g. %s",
                    len(dropped), dropped[0])
    return sd


def clean_state_dict(sd: Mapping[str, Any], net: nn.Module) -> "OrderedDict[str, Any]":
    """Return a cleaned copy of ``sd`` for loading into ``net`` (``sd`` is not modified).

    Drops ``_metadata``, strips a ``module.`` / ``_orig_mod.`` prefix and drops InstanceNorm
    ``running_mean`` / ``running_var`` / ``num_batches_tracked`` keys where ``net``'s InstanceNorm
    layers keep no running stats.
    """
    return _drop_instance_norm_stats(strip_wrapper_prefixes(sd, net), net)


def _conv_indices(block: ResnetBlock) -> list[int]:
    return [i for i, layer in enumerate(block.conv_block) if isinstance(layer, nn.Conv2d)]


def remap_resnet_dropout(sd: Mapping[str, Any], net: nn.Module) -> "OrderedDict[str, Any]":
    """Shift ResNet-block ``conv_block`` indices in ``sd`` to the dropout layout of ``net``.

    With dropout a block's second conv is ``conv_block.6`` (norm ``.7``); without it ``conv_block.5``
    (norm ``.6``). For every :class:`ResnetBlock` of ``net`` whose checkpoint keys use the other
    layout, keys at or after the checkpoint's second conv are moved by one. Dropout has no
    parameters, so the result computes the same function (in eval mode). Returns a new dict;
    blocks already matching, and every non-ResNet key, pass unchanged. Logs what it did.
    Expects keys without a ``module.`` prefix (run :func:`clean_state_dict` first; :func:`load_into` does).
    """
    out = _plain_copy(sd)
    key_re = re.compile(r"^(?P<prefix>.+)\.conv_block\.(?P<idx>\d+)\.(?P<rest>.+)$")
    by_block: dict[str, list[tuple[str, int, str]]] = {}
    for key in out:
        match = key_re.match(key)
        if match:
            by_block.setdefault(match["prefix"], []).append((key, int(match["idx"]), match["rest"]))
    moved_blocks = []
    delta_seen = set()
    for name, module in net.named_modules():
        if not isinstance(module, ResnetBlock) or name not in by_block:
            continue
        net_convs = _conv_indices(module)
        ckpt_convs = sorted({idx for key, idx, rest in by_block[name]
                             if rest == "weight" and isinstance(out[key], torch.Tensor) and out[key].dim() == 4})
        if len(net_convs) != 2 or len(ckpt_convs) != 2 or ckpt_convs == net_convs:
            continue
        if ckpt_convs[0] != net_convs[0] or abs(ckpt_convs[1] - net_convs[1]) != 1:
            continue
        delta = net_convs[1] - ckpt_convs[1]
        renames = {key: f"{name}.conv_block.{idx + delta}.{rest}"
                   for key, idx, rest in by_block[name] if idx >= ckpt_convs[1]}
        out = OrderedDict((renames.get(k, k), v) for k, v in out.items())
        moved_blocks.append(name)
        delta_seen.add(delta)
    if moved_blocks:
        if delta_seen == {-1}:
            how = "checkpoint trained WITH dropout, network without: conv_block.6 -> 5, 7 -> 6"
        elif delta_seen == {1}:
            how = "checkpoint trained WITHOUT dropout, network with: conv_block.5 -> 6, 6 -> 7"
        else:
            how = "mixed directions"
        logger.info("remapped the ResNet-block dropout layout in %d blocks (%s; %s ... %s)",
                    len(moved_blocks), how, moved_blocks[0], moved_blocks[-1])
    return out


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


def _listing(title: str, items: list[str]) -> str:
    if not items:
        return ""
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" ... (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
    return f"\n  {title} ({len(items)}): {shown}{more}"


def describe_mismatch(net: nn.Module, sd: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """``(missing, unexpected, shape mismatches)`` between ``net.state_dict()`` and an already-cleaned ``sd``.

    BatchNorm ``num_batches_tracked`` counters absent from ``sd`` are not reported as missing:
    ``load_state_dict`` fills them in for old checkpoints.
    """
    expected = net.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith(".num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    mismatched = [f"{k}: checkpoint {_shape(sd[k])} vs network {_shape(expected[k])}"
                  for k in expected if k in sd
                  and (not isinstance(sd[k], torch.Tensor) or sd[k].shape != expected[k].shape)]
    return missing, unexpected, mismatched


def load_into(net: nn.Module, sd: Mapping[str, Any], *, source: str = "<state dict>") -> None:
    """Clean ``sd``, remap the ResNet dropout layout, and strictly load it into ``net`` (in place).

    Raises:
        ValueError: keys or shapes do not fit ``net``; the message names ``source``, lists the first
            missing/unexpected keys and shape mismatches, says which architecture the checkpoint looks
            like when it is a known generator, and names the flags to check.
    """
    cleaned = clean_state_dict(sd, net)
    cleaned = remap_resnet_dropout(cleaned, net)
    cleaned = _drop_instance_norm_stats(cleaned, net)  # keys moved by the remap
    missing, unexpected, mismatched = describe_mismatch(net, cleaned)
    if missing or unexpected or mismatched:
        hint = ""
        try:
            cfg = infer_generator_config(cleaned)
        except ValueError:
            cfg = None
        if cfg is not None:
            hint = ("\n  the checkpoint looks like a generator with "
                    + " ".join(f"{k}={v}" for k, v in cfg.items() if k != "use_dropout")
                    + " (dropout is remapped automatically)")
        raise ValueError(
            f"cannot load {source} into {type(net).__name__}: {len(missing)} missing keys, "
            f"{len(unexpected)} unexpected keys, {len(mismatched)} shape mismatches"
            + _listing("missing", missing) + _listing("unexpected", unexpected)
            + _listing("shape mismatch", mismatched) + hint
            + f"\n  check that the architecture flags match the ones used for training: {_ARCH_FLAGS}"
            " (for a discriminator: --netD, --ndf, --n_layers_D, --norm)")
    try:
        net.load_state_dict(cleaned, strict=True)
    except RuntimeError as err:  # e.g. a dtype that cannot be copied
        raise ValueError(f"cannot load {source} into {type(net).__name__}: {err}") from err
    logger.info("loaded %s into %s (%d tensors)", source, type(net).__name__, len(cleaned))


def _tensor(sd: Mapping[str, Any], key: str, ndim: int) -> torch.Tensor:
    value = sd.get(key)
    if not isinstance(value, torch.Tensor) or value.dim() != ndim:
        raise ValueError(f"not a known generator state dict: expected a {ndim}-D tensor at key {key!r}, "
                         f"found {_shape(value) if value is not None else 'nothing'}")
    return value


def infer_generator_config(sd: Mapping[str, Any]) -> dict[str, Any]:
    """Infer ``define_G`` arguments from a generator state dict's keys and shapes.

    Returns ``dict(netG, ngf, norm, use_dropout, input_nc, output_nc)``:

    - ``netG``: ``resnet_<N>blocks`` from the number of ResNet blocks (``resnet_9blocks``,
      ``resnet_6blocks`` or any other N), ``unet_256`` / ``unet_128`` from the U-Net nesting depth;
    - ``norm``: ``batch`` when norm layers carry weights (BatchNorm/SyncBatchNorm), otherwise
      ``instance`` when the convs before norms have biases, otherwise ``none``;
    - ``use_dropout``: for ResNet, True when the blocks' second conv is at ``conv_block.6``; for
      U-Net it cannot be decided (dropout adds no keys) and is reported as False.

    Wrapper prefixes and ``_metadata`` are ignored. Raises ValueError when ``sd`` is no known generator.
    """
    sd = strip_wrapper_prefixes(sd)
    if not sd:
        raise ValueError("not a known generator state dict: it is empty")
    block_re = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")
    blocks: dict[int, set[int]] = {}
    for key, value in sd.items():
        match = block_re.match(key)
        if match and isinstance(value, torch.Tensor) and value.dim() == 4:
            blocks.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    if blocks:
        return _infer_resnet(sd, blocks)
    if "model.model.0.weight" in sd:
        return _infer_unet(sd)
    raise ValueError("not a known generator state dict (neither ResNet keys 'model.<i>.conv_block.<j>.weight' "
                     f"nor U-Net keys 'model.model.0.weight'); first keys: {', '.join(list(sd)[:5])}")


def _infer_resnet(sd: Mapping[str, Any], blocks: dict[int, set[int]]) -> dict[str, Any]:
    n_blocks = len(blocks)
    if sorted(blocks) != list(range(10, 10 + n_blocks)):
        raise ValueError(f"not a known ResNet generator state dict: blocks at model indices {sorted(blocks)}, "
                         f"expected consecutive indices from 10")
    layouts = {tuple(sorted(v)) for v in blocks.values()}
    if layouts == {(1, 6)}:
        use_dropout = True
    elif layouts == {(1, 5)}:
        use_dropout = False
    else:
        raise ValueError(f"not a known ResNet generator state dict: block conv indices {sorted(layouts)}, "
                         "expected (1, 5) without dropout or (1, 6) with dropout")
    first = _tensor(sd, "model.1.weight", 4)
    last = _tensor(sd, f"model.{17 + n_blocks}.weight", 4)
    if "model.2.weight" in sd:
        norm = "batch"
    elif "model.1.bias" in sd:
        norm = "instance"
    else:
        norm = "none"
    return dict(netG=f"resnet_{n_blocks}blocks", ngf=int(first.shape[0]), norm=norm, use_dropout=use_dropout,
                input_nc=int(first.shape[1]), output_nc=int(last.shape[0]))


def _infer_unet(sd: Mapping[str, Any]) -> dict[str, Any]:
    first = _tensor(sd, "model.model.0.weight", 4)
    last = _tensor(sd, "model.model.3.weight", 4)  # outermost ConvTranspose2d: (2*ngf, output_nc, 4, 4)
    prefix, levels = "model.model.1.model.", 0
    while any(k.startswith(prefix) for k in sd):
        levels += 1
        prefix += "3.model."
    num_downs = levels + 1
    names = {downs: name for name, downs in UNET_DOWNS.items()}
    if num_downs not in names:
        raise ValueError(f"not a known U-Net generator state dict: {num_downs} levels, expected "
                         + " or ".join(f"{d} ({n})" for d, n in sorted(names.items())))
    norm = "batch" if "model.model.1.model.2.weight" in sd else "instance" if "model.model.0.bias" in sd else "none"
    return dict(netG=names[num_downs], ngf=int(first.shape[0]), norm=norm, use_dropout=False,
                input_nc=int(first.shape[1]), output_nc=int(last.shape[1]))
