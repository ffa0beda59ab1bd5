"""Rank helpers for single-process and torchrun (DDP) runs.

The rest of the project asks these helpers instead of reading environment
variables: ``get_rank()``, ``get_world_size()``, ``is_main()``.
"""
from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger(__name__)


def launched_by_torchrun() -> bool:
    """True when the process was started by torchrun (WORLD_SIZE and RANK set)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def is_initialized() -> bool:
    """True when a torch.distributed process group is active.

    A process group needs torch imported first: when nothing has imported it (pixelize without a
    generator), the answer is False without loading torch (~0.7 GB of memory).
    """
    if "torch" not in sys.modules:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """Global rank (0 without a process group)."""
    if is_initialized():
        import torch.distributed as dist

        return dist.get_rank()
    return 0


def get_world_size() -> int:
    """Number of processes (1 without a process group)."""
    if is_initialized():
        import torch.distributed as dist

        return dist.get_world_size()
    return 1


def get_local_rank() -> int:
    """Rank on this machine (LOCAL_RANK under torchrun, else 0)."""
    return int(os.environ.get("LOCAL_RANK", "0")) if launched_by_torchrun() else 0


def is_main() -> bool:
    """True on the process that logs, saves and writes HTML (rank 0)."""
    return get_rank() == 0


def init_distributed(backend: str | None = None) -> bool:
    """Start the process group when launched by torchrun; returns True if one is active.

    ``backend`` defaults to NCCL when CUDA is available and gloo otherwise. A
    torchrun launch with ``--nproc_per_node=1`` also gets a (one-process) group,
    so the same code path runs for every world size.
    """
    if not launched_by_torchrun():
        return False
    if is_initialized():
        return True
    import torch
    import torch.distributed as dist

    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(get_local_rank())
    dist.init_process_group(backend=backend)
    logger.info("distributed: rank %d of %d (%s)", dist.get_rank(), dist.get_world_size(), backend)
    return True


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if is_initialized():
        import torch.distributed as dist

        dist.barrier()


def cleanup() -> None:
    """Destroy the process group if one is active."""
    if is_initialized():
        import torch.distributed as dist

        dist.destroy_process_group()


def shard(items: list, rank: int | None = None, world_size: int | None = None) -> list:
    """This rank's disjoint share of ``items`` (round-robin, order kept)."""
    rank = get_rank() if rank is None else rank
    world_size = get_world_size() if world_size is None else world_size
    return items[rank::world_size]


def parse_gpu_ids(text: str) -> list[int]:
    """``--gpu_ids`` text (``"0"``, ``"0,1,2"``, ``"-1"``) -> the GPU ids, CPU (negative) ids dropped.

    ValueError for text that is not comma-separated ints or names no id.
    """
    try:
        ids = [int(part) for part in str(text).split(",") if part.strip() != ""]
    except ValueError:
        raise ValueError(f"must be comma-separated ints like 0 or 0,1,2 (or -1 for CPU), got {text!r}") from None
    if not ids:
        raise ValueError("must name at least one id (use -1 for CPU)")
    return [i for i in ids if i >= 0]


def resolve_device(device: str | None = None, gpu_ids: str | None = None, *, gpu_ids_given: bool = True,
                   device_flag: str = "--device"):
    """The torch device a run uses, from a device name or reference-style ``--gpu_ids``; the one resolver
    of every CLI. Returns ``(torch.device, gpu_ids)``.

    * ``device`` (``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``xpu[:N]``): used as given once it is
      checked to exist;
    * ``gpu_ids`` (``"0,1"``; ``"-1"`` = CPU): the first id, or under torchrun this process's
      ``LOCAL_RANK``. Asked for a GPU when none is there, it raises ValueError when the user typed
      ``--gpu_ids`` (``gpu_ids_given``) and falls back to the CPU with a log line when it is the default;
    * neither: this process's GPU when CUDA is available, else the CPU.

    ValueError messages name the flag and the fix.
    """
    import torch

    if device is not None:
        if device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise ValueError(f"{device_flag} {device}: no CUDA device is available; use {device_flag} cpu")
            index = torch.device(device).index
            if index is not None and index >= torch.cuda.device_count():
                raise ValueError(f"{device_flag} {device}: there are only {torch.cuda.device_count()} CUDA "
                                 f"device(s), numbered from 0")
        elif device == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"{device_flag} {device}: MPS is not available here; use {device_flag} cpu")
        elif device.startswith("xpu") and not (hasattr(torch, "xpu") and torch.xpu.is_available()):
            raise ValueError(f"{device_flag} {device}: no XPU device is available; use {device_flag} cpu")
        return torch.device(device), []
    if gpu_ids is None:
        if torch.cuda.is_available():
            return torch.device(f"cuda:{get_local_rank()}"), [get_local_rank()]
        return torch.device("cpu"), []
    ids = parse_gpu_ids(gpu_ids)
    if ids and not torch.cuda.is_available():
        if gpu_ids_given:
            raise ValueError(f"--gpu_ids {gpu_ids}: no CUDA device is available; use --gpu_ids -1 for CPU")
        logger.info("no CUDA device found: running on CPU (pass --gpu_ids -1 to say so explicitly)")
        ids = []
    if ids and max(ids) >= torch.cuda.device_count():
        raise ValueError(f"--gpu_ids {gpu_ids}: only {torch.cuda.device_count()} CUDA device(s) visible")
    if launched_by_torchrun() and ids:
        ids = [get_local_rank()]  # one process per GPU: each rank uses its own device
    return (torch.device(f"cuda:{ids[0]}") if ids else torch.device("cpu")), ids
