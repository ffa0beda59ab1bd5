"""The training loop behind train.py: exact resume, safe stops, DDP, progress and checkpoints.

``run_training(opt)`` reads top to bottom:

1. seed every RNG (per-rank offset), build the dataset, the model and the visualizer;
2. restore the training state on ``--continue_train`` (weights, optimisers, schedulers,
   counters, image pools, RNG states), or start fresh (optionally from a fine-tuning init);
3. loop over epochs and batches: optimise, display, print, save on the reference's
   image-count frequencies; step the LR schedulers at the END of each epoch;
4. always save ``latest`` at the end (the reference may end with no checkpoint at all).

A checkpoint ``<prefix>`` is ``<prefix>_net_<X>.pth`` per network (plain reference
state dicts for test.py, pixelize.py and other tools) plus ``<prefix>_state.pth``, a
self-contained snapshot used for resuming. SIGINT/SIGTERM finish the current step,
save ``latest`` and return; a second SIGINT aborts at once.
"""
from __future__ import annotations

import logging
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from data import create_dataset
from models import create_model
from models.base_model import unwrap
from util import dist
from util.checkpoint import load_checkpoint, save_state_dict
from util.image import ImageLoadError
from util.visualizer import Visualizer

logger = logging.getLogger(__name__)

STATE_VERSION = 1


# --------------------------------------------------------------------------- RNG state
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs; call once per process."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every global RNG state, in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------- stop requests
class StopRequest:
    """Turns SIGINT/SIGTERM into a flag checked between steps; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopRequest":
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: signals cannot be caught here
                pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name
        logger.warning("%s received: finishing the current step and saving 'latest' "
                       "(press Ctrl-C again to abort without saving)", self.requested)

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------- the loop
@dataclass
class Progress:
    """Counters saved in the training state. ``*_iters`` count images, as in the reference."""

    epoch: int = 1
    epoch_iter: int = 0  # images seen in the current epoch (all ranks together)
    total_iters: int = 0  # images seen since the start of training (all ranks together)
    history: list[str] = field(default_factory=list)


@dataclass
class TrainResult:
    """What :func:`run_training` did."""

    progress: Progress
    stopped_by: str | None
    checkpoints: list[str]


def state_path(save_dir: Path, prefix: str | int) -> Path:
    """``<save_dir>/<prefix>_state.pth``: the resumable training snapshot."""
    return save_dir / f"{prefix}_state.pth"


def save_checkpoint(model, opt, progress: Progress, prefix: str | int) -> None:
    """Write the reference weight files and the training-state snapshot for ``prefix`` (rank 0)."""
    model.save_networks(prefix)
    if not dist.is_main():
        return
    snapshot = {
        "version": STATE_VERSION,
        "epoch": progress.epoch,
        "epoch_iter": progress.epoch_iter,
        "total_iters": progress.total_iters,
        "networks": {name: unwrap(net).state_dict() for name, net in model.networks()},
        "model": model.training_state(),
        "rng": rng_state(),
        "world_size": dist.get_world_size(),
    }
    save_state_dict(snapshot, state_path(model.save_dir, prefix))


def restore_checkpoint(model, opt, *, epoch_count_given: bool = False) -> Progress:
    """On --continue_train: load the snapshot (or the weights only, for reference checkpoints)."""
    prefix = f"iter_{opt.load_iter}" if opt.load_iter > 0 else opt.epoch
    path = state_path(model.save_dir, prefix)
    if not path.is_file():
        logger.warning("%s not found: resuming from the weights only (reference-style checkpoint); optimiser "
                       "and scheduler state start fresh and training starts at --epoch_count %d",
                       path, opt.epoch_count)
        return Progress(epoch=opt.epoch_count)
    state = load_checkpoint(path)
    for name, net in model.networks():
        unwrap(net).load_state_dict(state["networks"][name])
    model.load_training_state(state["model"])
    set_rng_state(state["rng"])
    progress = Progress(epoch=int(state["epoch"]), epoch_iter=int(state["epoch_iter"]),
                        total_iters=int(state["total_iters"]))
    if epoch_count_given:
        progress = Progress(epoch=opt.epoch_count, total_iters=progress.total_iters)
    logger.info("resumed from %s: epoch %d, %d images into the epoch, %d images in total",
                path, progress.epoch, progress.epoch_iter, progress.total_iters)
    return progress


def run_training(opt, *, epoch_count_given: bool = False,
                 on_step: Callable[[Progress], None] | None = None) -> TrainResult:
    """Train ``opt.model`` on ``opt.dataroot``; see the module docstring.

    ``epoch_count_given``: --epoch_count was typed explicitly, so it overrides the epoch in the
    training state on --continue_train. ``on_step`` is called after every step (a test hook).
    """
    seed_everything(opt.seed + dist.get_rank())
    dataset = create_dataset(opt)
    model = create_model(opt)
    model.setup(opt)
    visualizer = Visualizer(opt)
    if opt.continue_train:
        progress = restore_checkpoint(model, opt, epoch_count_given=epoch_count_given)
    else:
        progress = Progress(epoch=opt.epoch_count)
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    checkpoints: list[str] = []
    stopped_by = None
    latest_saved_at: tuple[int, int] | None = None

    def save(prefix: str | int) -> None:
        nonlocal latest_saved_at
        save_checkpoint(model, opt, progress, prefix)
        checkpoints.append(str(prefix))
        if prefix == "latest":
            latest_saved_at = (progress.epoch, progress.total_iters)

    with StopRequest() as stop:
        started_at = progress.total_iters
        try:
            while progress.epoch <= last_epoch and stopped_by is None:
                epoch = progress.epoch
                epoch_start = time.time()
                visualizer.reset()
                dataset.set_epoch(epoch)
                if progress.epoch_iter:
                    dataset.skip(progress.epoch_iter // dist.get_world_size())
                bar = _progress_bar(dataset, opt, epoch, last_epoch, progress.epoch_iter)
                t_data_start = time.time()
                for batch in dataset:
                    t_data = time.time() - t_data_start
                    t_step_start = time.time()
                    # images in this step over all ranks (the last batch of an epoch may be smaller)
                    step_images = batch_size(batch) * dist.get_world_size()
                    before = progress.total_iters
                    progress.total_iters += step_images
                    progress.epoch_iter += step_images
                    model.set_input(batch)
                    model.optimize_parameters()
                    t_comp = (time.time() - t_step_start) / batch_size(batch)

                    if crossed(before, progress.total_iters, opt.display_freq):
                        model.compute_visuals()
                        save_result = crossed(before, progress.total_iters, opt.update_html_freq)
                        visualizer.display_current_results(model.get_current_visuals(), epoch,
                                                           progress.total_iters, save_result)
                    if crossed(before, progress.total_iters, opt.print_freq):
                        losses = model.get_current_losses()
                        visualizer.print_current_losses(epoch, progress.epoch_iter, losses, t_comp, t_data,
                                                        total_iters=progress.total_iters)
                        visualizer.plot_current_losses(epoch, progress.epoch_iter / max(1, len(dataset)), losses)
                    if crossed(before, progress.total_iters, opt.save_latest_freq):
                        logger.info("saving the latest model (epoch %d, total_iters %d)", epoch, progress.total_iters)
                        save(f"iter_{progress.total_iters}" if opt.save_by_iter else "latest")
                    if bar is not None:
                        bar.update(step_images)
                        bar.set_postfix(img_s=f"{step_images / max(time.time() - t_data_start, 1e-9):.1f}",
                                        data=f"{t_data:.3f}s")
                    if on_step is not None:
                        on_step(progress)
                    if _stop_agreed(stop):
                        stopped_by = stop.requested or "signal"
                        break
                    t_data_start = time.time()
                if bar is not None:
                    bar.close()
                if stopped_by is not None:
                    break
                # end of epoch: LR step after training the epoch, then the periodic saves
                model.update_learning_rate()
                progress.epoch += 1
                progress.epoch_iter = 0
                if epoch % opt.save_epoch_freq == 0:
                    logger.info("saving the model at the end of epoch %d, iters %d", epoch, progress.total_iters)
                    save("latest")
                    save(epoch)
                logger.info("End of epoch %d / %d \t Time Taken: %.1f sec", epoch, last_epoch,
                            time.time() - epoch_start)

        except ImageLoadError:
            # a bad file deep into a long run: keep what was learnt so far, then report the file
            if progress.total_iters > started_at:
                save("latest")
                logger.warning("saved 'latest' before stopping on the unreadable file; after fixing or "
                               "removing it, resume with --continue_train")
            raise

        # always leave a checkpoint behind (also after a stop request)
        if latest_saved_at != (progress.epoch, progress.total_iters):
            save("latest")
    visualizer.close()
    if dist.is_initialized():
        check_ranks_in_sync(model)
    if stopped_by is not None:
        logger.info("training stopped by %s at epoch %d (%d images into it); resume with the same command plus "
                    "--continue_train", stopped_by, progress.epoch, progress.epoch_iter)
    return TrainResult(progress=progress, stopped_by=stopped_by, checkpoints=checkpoints)


def check_ranks_in_sync(model) -> float:
    """Under DDP: the largest difference between any rank's parameters and rank 0's (logged; 0 expected).

    Buffers are left out: plain batch-norm running statistics are per rank between DDP's
    broadcasts (rank 0's are the ones saved); use --norm syncbatch to synchronise them.
    """
    import torch.distributed as tdist

    worst = torch.zeros(1, dtype=torch.float64, device=model.device)
    for _, net in model.networks():
        for tensor in unwrap(net).parameters():
            reference = tensor.detach().clone()
            tdist.broadcast(reference, src=0)
            worst = torch.maximum(worst, (tensor.detach() - reference).abs().max().to(torch.float64).reshape(1))
    tdist.all_reduce(worst, op=tdist.ReduceOp.MAX)
    diff = float(worst.item())
    if diff == 0.0:
        logger.info("DDP check: weights identical on all %d ranks", dist.get_world_size())
    else:
        logger.warning("DDP check: ranks' weights differ by up to %.3g", diff)
    return diff


def batch_size(batch: dict) -> int:
    """Number of images in a collated batch (the first dimension of its first tensor)."""
    for value in batch.values():
        if isinstance(value, torch.Tensor):
            return int(value.shape[0])
    raise ValueError("a training batch holds no tensor")


def crossed(before: int, after: int, every: int) -> bool:
    """True when the image counter passed a multiple of ``every`` in this step (the reference
    checks ``total_iters % every == 0``, which a step of several images can jump over)."""
    return before // every != after // every


def _stop_agreed(stop: StopRequest) -> bool:
    """Whether to stop now; under DDP every rank stops at the same step."""
    flag = stop.requested is not None
    if not dist.is_initialized():
        return flag
    import torch.distributed as tdist

    t = torch.tensor([1 if flag else 0], dtype=torch.int32)
    if tdist.get_backend() == "nccl":
        t = t.cuda()
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return bool(t.item())


def _progress_bar(dataset, opt, epoch: int, last_epoch: int, start: int):
    if not dist.is_main():
        return None
    from tqdm import tqdm

    total = len(dataset) * dist.get_world_size()
    return tqdm(total=total, initial=min(start, total), desc=f"epoch {epoch}/{last_epoch}", unit="img",
                leave=False, dynamic_ncols=True)
