"""The training loop behind train.py: exact resume, safe stops, DDP, progress and checkpoints.

``run_training(opt)`` reads top to bottom:

1. seed every RNG (per-rank offset), remove temporary files a killed run left behind,
   build the dataset and the model;
2. restore the training state on ``--continue_train`` (weights, optimisers, counters, image
   pools, RNG states), or start fresh (optionally from a fine-tuning init). The LR schedule
   always follows the flags of THIS run from the restored epoch, so a run can be extended
   (``--n_epochs 1`` then ``--continue_train --n_epochs 2`` trains exactly like ``--n_epochs 2``);
3. only then does the run count as started: the options are saved (``on_start``), the
   visualizer opens its logs, and ``loss_log.jsonl`` is cut back to the restored image count;
4. loop over epochs and batches: optimise, display, print, save on the reference's
   image-count frequencies; step the LR schedulers at the END of each epoch;
5. always save ``latest`` at the end (the reference may end with no checkpoint at all).

Errors (:mod:`util.cli` policy): a setup problem the user fixes with a flag raises
:class:`util.cli.FlagError` (train.py exit status 2), a missing or unusable checkpoint included, and
``--continue_train`` with flags that change what is trained (``engine.checkpoint.RESUME_FIXED_FLAGS``, compared with
the saved run's options file); an image that cannot be read during the run raises ``ImageLoadError``
(exit status 1), naming the file.

Checkpoints (what a snapshot holds, saving, restoring, the resume checks) are :mod:`engine.checkpoint`;
batches come from :func:`data.iterate_batches`. SIGINT/SIGTERM finish the current step, save ``latest``
and return; a second SIGINT aborts at once.
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

from data import batch_size, create_dataset, iterate_batches
from engine.checkpoint import Progress, check_resume_flags, clean_stale_temp_files, restore_checkpoint, save_checkpoint
from models import create_model
from models.base_model import unwrap
from util import dist
from util.cli import FlagError
from util.image import ImageLoadError
from util.visualizer import MissingDependencyError, Visualizer

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- seeds and stop requests
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs; call once per process."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
class TrainResult:
    """What :func:`run_training` did."""

    progress: Progress
    stopped_by: str | None
    checkpoints: list[str]
    skipped: list[str] = field(default_factory=list)  # "<file>: <reason>" of batches dropped by --skip_bad_images


def _prepare(opt, epoch_count_given: bool):
    """Dataset, model and restored progress; setup errors a flag can fix become FlagError."""
    if opt.continue_train:
        check_resume_flags(opt)
    try:
        dataset = create_dataset(opt)
        model = create_model(opt)
        model.setup(opt)
        if opt.continue_train:
            progress = restore_checkpoint(model, opt, epoch_count_given=epoch_count_given)
        else:
            progress = Progress(epoch=opt.epoch_count)
    except (ImageLoadError, FlagError):
        raise
    except (ValueError, FileNotFoundError) as err:  # wrong, missing or unreadable --dataroot/--name/--epoch/--ngf/...
        # (CheckpointError included: the checkpoint a flag picked cannot be used; another --epoch fixes it)
        raise FlagError(str(err)) from err
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    if progress.epoch > last_epoch:
        raise FlagError(f"nothing to train: training would start at epoch {progress.epoch} (restored from "
                        f"{model.save_dir}) but --n_epochs {opt.n_epochs} + --n_epochs_decay {opt.n_epochs_decay} "
                        f"= {last_epoch}; raise --n_epochs or --n_epochs_decay to train longer")
    return dataset, model, progress


def run_training(opt, *, epoch_count_given: bool = False,
                 on_step: Callable[[Progress], None] | None = None,
                 on_start: Callable[[], None] | None = None) -> TrainResult:
    """Train ``opt.model`` on ``opt.dataroot``; see the module docstring.

    ``epoch_count_given``: --epoch_count was typed explicitly, so it overrides the epoch in the
    training state on --continue_train. ``on_step`` is called after every step (a test hook).
    ``on_start`` is called once setup and restore succeeded, before anything is logged to the
    run folder (train.py saves ``train_opt.{txt,json}`` there), so a refused start leaves no trace.
    """
    seed_everything(opt.seed + dist.get_rank())
    save_dir = Path(opt.checkpoints_dir) / opt.name
    if dist.is_main():
        clean_stale_temp_files(save_dir)
    dataset, model, progress = _prepare(opt, epoch_count_given)
    try:
        visualizer = Visualizer(opt)
    except MissingDependencyError as err:
        raise FlagError(str(err)) from err
    if opt.continue_train:
        visualizer.truncate_loss_log(progress.total_iters)
    if on_start is not None:
        on_start()
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    checkpoints: list[str] = []
    skipped: list[str] = []
    skip_bad = bool(getattr(opt, "skip_bad_images", False))
    stopped_by = None
    latest_saved_at: tuple[int, int] | None = None

    def skip(message: str, images: int) -> None:
        skipped.append(message)
        progress.epoch_iter += images  # the position in the epoch moves on (exact resume); nothing was trained
        logger.warning("skipped a batch of %d image(s): %s (--skip_bad_images)", images, message)

    def save(prefix: str | int) -> None:
        nonlocal latest_saved_at
        save_checkpoint(model, opt, progress, prefix)
        checkpoints.append(str(prefix))
        if prefix == "latest":
            latest_saved_at = (progress.epoch, progress.total_iters)

    with StopRequest() as stop:
        started_at = progress.total_iters
        bar = None
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
                for batch in iterate_batches(dataset, skip_bad, skip):
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
            if bar is not None:
                bar.close()  # clear the progress line, so the error gets a line of its own
            if progress.total_iters > started_at:
                save("latest")
                logger.warning("saved 'latest' before stopping on the unreadable file; after fixing or "
                               "removing it, resume with --continue_train (or pass --skip_bad_images)")
            raise

        # always leave a checkpoint behind (also after a stop request)
        if latest_saved_at != (progress.epoch, progress.total_iters):
            save("latest")
    visualizer.close()
    if dist.is_initialized():
        check_ranks_in_sync(model)
    if skipped:
        logger.warning("skipped %d batch(es) holding unreadable images (--skip_bad_images), e.g. %s",
                       len(skipped), skipped[0])
    if stopped_by is not None:
        logger.info("training stopped by %s at epoch %d (%d images into it); resume with the same command plus "
                    "--continue_train", stopped_by, progress.epoch, progress.epoch_iter)
    return TrainResult(progress=progress, stopped_by=stopped_by, checkpoints=checkpoints, skipped=skipped)


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
