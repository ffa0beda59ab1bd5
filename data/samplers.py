"""Deterministic, resumable, rank-sharded sampling.

:class:`EpochSampler` gives each epoch an order that is a pure function of ``(seed, epoch)``
(a ``torch.Generator`` seeded with ``seed + epoch``; no global RNG is touched), splits it
between ranks like ``torch.utils.data.DistributedSampler`` (indices ``rank, rank + world,
...`` of the order, padded by repeating it so every rank gets the same count), and can
start part-way through an epoch (``set_start``) without loading the skipped items, which
is how an interrupted epoch is resumed.
"""
from __future__ import annotations

import math
from typing import Iterator

import torch
from torch.utils.data import Sampler


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return value


class EpochSampler(Sampler[int]):
    """Dataset indices for one rank and one epoch.

    Args:
        length: dataset length.
        shuffle: random order per epoch; False keeps ``0, 1, 2, ...`` (``--serial_batches``).
        seed: base seed; epoch ``e`` uses ``torch.Generator().manual_seed(seed + e)``.
        rank, world_size: this process's share (``0 <= rank < world_size``).
        max_samples: cap on the indices this rank yields per epoch (None: no cap).

    ``len(sampler)`` is what is left of the epoch after :meth:`set_start`.
    """

    def __init__(self, length: int, *, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1,
                 max_samples: int | None = None):
        self.length = _check_int("length", length, 0)
        self.world_size = _check_int("world_size", world_size, 1)
        self.rank = _check_int("rank", rank, 0)
        if rank >= world_size:
            raise ValueError(f"`rank` must be < world_size ({world_size}), got {rank}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"`seed` must be an int, got {seed!r}")
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.max_samples = None if max_samples is None else _check_int("max_samples", max_samples, 0)
        self.num_samples = math.ceil(self.length / self.world_size)  # per rank, before max_samples
        self.total_size = self.num_samples * self.world_size
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's order; also resets :meth:`set_start` to 0."""
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise TypeError(f"`epoch` must be an int, got {epoch!r}")
        self.epoch = epoch
        self.start = 0

    def epoch_length(self) -> int:
        """Indices this rank gets in a whole epoch (ignoring :meth:`set_start`)."""
        n = self.num_samples
        return n if self.max_samples is None else min(n, self.max_samples)

    def set_start(self, n_samples: int) -> None:
        """Skip the first ``n_samples`` indices of this epoch's order for this rank (resume)."""
        _check_int("n_samples", n_samples, 0)
        if n_samples > self.epoch_length():
            raise ValueError(f"cannot skip {n_samples} samples: this rank has only {self.epoch_length()} "
                             f"per epoch")
        self.start = n_samples

    def epoch_indices(self) -> list[int]:
        """This rank's full index list for the current epoch (before :meth:`set_start`)."""
        if self.length == 0:
            return []
        if self.shuffle:
            gen = torch.Generator()
            gen.manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.length, generator=gen).tolist()
        else:
            order = list(range(self.length))
        pad = self.total_size - self.length
        if pad:
            order += (order * math.ceil(pad / self.length))[:pad]
        return order[self.rank:self.total_size:self.world_size][:self.epoch_length()]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices()[self.start:])

    def __len__(self) -> int:
        return self.epoch_length() - self.start
