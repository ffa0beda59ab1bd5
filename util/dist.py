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
