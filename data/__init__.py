"""Datasets: a registry of dataset modes and the loader the training loop iterates.

A dataset mode ``<name>`` lives in ``data/<name>_dataset.py`` as a subclass of
:class:`data.base_dataset.BaseDataset` called ``<Name>Dataset`` (compared lower-cased, with
underscores of the mode name dropped). ``--dataset_mode <name>`` selects it.

To add a dataset mode called ``dummy``, add ``data/dummy_dataset.py`` defining
``DummyDataset(BaseDataset)`` with:

* ``modify_commandline_options(parser, is_train)`` (static, optional): add flags, change defaults;
* ``__init__(opt)``: call ``BaseDataset.__init__(self, opt)`` first, then list your files;
* ``__len__()``: items per epoch;
* ``__getitem__(index)``: a dict such as ``{'A': tensor, 'B': tensor, 'A_paths': str, 'B_paths': str}``.

``data/template_dataset.py`` is a working example to copy. Then::

    from data import create_dataset
    loader = create_dataset(opt)          # DatasetLoader
    for epoch in ...:
        loader.set_epoch(epoch)
        for batch in loader:              # dicts with 'A': (N, C, H, W) float32 in [-1, 1], ...
            ...
"""
from __future__ import annotations

import importlib
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from data.base_dataset import BaseDataset
from data.image_folder import parse_max_dataset_size
from data.samplers import EpochSampler
from util.image import ImageLoadError

logger = logging.getLogger(__name__)

__all__ = ["available_datasets", "find_dataset_using_name", "get_option_setter", "create_dataset",
           "DatasetLoader", "BaseDataset"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


def available_datasets() -> list[str]:
    """Sorted dataset mode names: every ``data/<name>_dataset.py`` except ``base``."""
    names = (p.name[: -len("_dataset.py")] for p in _PACKAGE_DIR.glob("*_dataset.py"))
    return sorted(n for n in names if n and n != "base" and _NAME_RE.match(n))


def find_dataset_using_name(dataset_name: str) -> type[BaseDataset]:
    """The ``BaseDataset`` subclass for ``--dataset_mode dataset_name``.

    Raises ValueError listing the available modes for an unknown name, or naming the file
    when it defines no matching class.
    """
    available = available_datasets()
    if not isinstance(dataset_name, str) or dataset_name not in available:
        raise ValueError(f"unknown --dataset_mode {dataset_name!r}; available: {', '.join(available)}")
    module_name = f"data.{dataset_name}_dataset"
    module = importlib.import_module(module_name)
    target = dataset_name.replace("_", "") + "dataset"
    for name, cls in vars(module).items():
        if (name.lower() == target and isinstance(cls, type) and issubclass(cls, BaseDataset)
                and cls is not BaseDataset):
            return cls
    raise ValueError(f"data/{dataset_name}_dataset.py must define a subclass of BaseDataset named "
                     f"{target!r} (case-insensitive), e.g. class {_camel(dataset_name)}Dataset(BaseDataset)")


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def get_option_setter(dataset_name: str) -> Callable:
    """The static ``modify_commandline_options(parser, is_train)`` of the dataset class."""
    return find_dataset_using_name(dataset_name).modify_commandline_options


def create_dataset(opt: Any) -> "DatasetLoader":
    """Build the dataset chosen by ``opt.dataset_mode`` and its loader.

    Example:
        >>> from data import create_dataset
        >>> loader = create_dataset(opt)  # doctest: +SKIP
    """
    return DatasetLoader(opt)


def _uses_cuda(opt: Any) -> bool:
    """True when the run puts tensors on a GPU (then batches are pinned)."""
    if not torch.cuda.is_available():
        return False
    device = getattr(opt, "device", None)
    if device is not None:
        return str(device).startswith("cuda")
    gpu_ids = getattr(opt, "gpu_ids", None)
    if isinstance(gpu_ids, str):
        return any(s.strip() not in ("", "-1") for s in gpu_ids.split(","))
    if isinstance(gpu_ids, (list, tuple)):
        return any(int(g) >= 0 for g in gpu_ids)
    return False


class DatasetLoader:
    """The dataset of ``opt.dataset_mode`` plus a DataLoader over an :class:`EpochSampler`.

    * ``len(loader)``: images this rank sees per epoch: ``ceil(len(dataset) / world_size)``
      capped by ``--max_dataset_size``.
    * iteration yields collated batches: ``'A'``: ``(N, C, H, W)`` float32 in [-1, 1],
      ``'A_paths'``: list of str, ...; the last batch may be smaller (``drop_last=False``).
    * :meth:`set_epoch` before each epoch fixes the order and every random crop/flip, so
      ``(seed, epoch)`` always gives the same batches whatever ``--num_threads`` is.
    * :meth:`skip` resumes an epoch after ``n`` images without loading them.

    Attributes: ``dataset``, ``sampler``, ``dataloader``, ``batch_size``.
    """

    def __init__(self, opt: Any, *, rank: int | None = None, world_size: int | None = None):
        from util import dist

        self.opt = opt
        self.batch_size = opt.batch_size
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"--batch_size must be a positive integer, got {self.batch_size!r}")
        num_workers = opt.num_threads
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"--num_threads must be an integer >= 0, got {num_workers!r}")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if num_workers > cores:
            # torch warns (in the middle of the progress bar) when asked for more workers than cores
            logger.info("--num_threads %d: this machine has %d core(s) for this process; using %d loader workers",
                        num_workers, cores, cores)
            num_workers = cores
        self.max_dataset_size = parse_max_dataset_size(opt.max_dataset_size)
        rank = dist.get_rank() if rank is None else rank
        world_size = dist.get_world_size() if world_size is None else world_size

        dataset_class = find_dataset_using_name(opt.dataset_mode)
        self.dataset: BaseDataset = dataset_class(opt)
        self.seed: int = self.dataset.seed
        self.sampler = EpochSampler(len(self.dataset), shuffle=not opt.serial_batches, seed=self.seed,
                                    rank=rank, world_size=world_size, max_samples=self.max_dataset_size)
        # A private generator: DataLoader draws the workers' base seed from it instead of the global RNG.
        self._generator = torch.Generator()
        self._generator.manual_seed(self.seed)
        self.dataloader = torch.utils.data.DataLoader(
            self.dataset, batch_size=self.batch_size, sampler=self.sampler, num_workers=num_workers,
            drop_last=False, pin_memory=_uses_cuda(opt), persistent_workers=False, generator=self._generator)
        extra = f", {len(self)} on rank {rank} of {world_size}" if world_size > 1 else ""
        logger.info("dataset [%s] was created (%d images%s)", type(self.dataset).__name__, len(self.dataset), extra)

    def load_data(self) -> "DatasetLoader":
        """Returns self (the reference API: ``create_dataset(opt)`` already did the work)."""
        return self

    def __len__(self) -> int:
        return self.sampler.epoch_length()

    def batches_per_epoch(self) -> int:
        """Batches in a whole epoch on this rank (``ceil(len(self) / batch_size)``)."""
        return math.ceil(len(self) / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch for the order, the random crops/flips and the worker seeds; clears :meth:`skip`."""
        self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)
        self._generator.manual_seed(self.seed + epoch)

    def skip(self, n_samples: int) -> None:
        """Start the current epoch after its first ``n_samples`` images (this rank), e.g. to
        resume mid-epoch; call after :meth:`set_epoch`. The next ``set_epoch`` resets it."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not 0 <= n_samples <= len(self):
            raise ValueError(f"skip: n_samples must be an integer in [0, {len(self)}] (images per epoch on this "
                             f"rank), got {n_samples!r}")
        self.sampler.set_start(n_samples)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # The sampler already stops at --max_dataset_size images; the count is a safety net.
        remaining = len(self.sampler)
        iterator = iter(self.dataloader)
        try:
            for batch in iterator:
                if remaining <= 0:
                    break
                remaining -= self.batch_size
                yield batch
        finally:
            # Stop worker processes now when the epoch ends early (an error, a `break`): left to the
            # garbage collector, a failed multi-worker iterator blocks ~5 s in its destructor.
            shutdown = getattr(iterator, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()


def iterate_batches(loader, skip_bad: bool, on_skip: Callable[[str, int], None] | None = None
                    ) -> Iterator[dict]:
    """The batches of ``loader``. With ``skip_bad``, a batch holding an unreadable image is dropped
    and the epoch goes on: ``on_skip("<file>: <reason>", images_dropped)`` is called for it."""
    if not skip_bad:
        yield from loader
        return
    remaining = len(loader.sampler)  # samples left in this epoch on this rank (after any skip)
    iterator = iter(loader.dataloader)
    try:
        while remaining > 0:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except ImageLoadError as err:
                lost = min(loader.batch_size, remaining)
                remaining -= lost
                if on_skip is not None:
                    on_skip(str(err), lost)
                continue
            remaining -= batch_size(batch)
            yield batch
    finally:
        # stop worker processes at once when the epoch ends early (see data.DatasetLoader.__iter__)
        shutdown = getattr(iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()


def batch_size(batch: dict) -> int:
    """Number of images in a collated batch (the first dimension of its first tensor)."""
    for value in batch.values():
        if isinstance(value, torch.Tensor):
            return int(value.shape[0])
    raise ValueError("a training batch holds no tensor")
