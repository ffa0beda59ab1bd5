"""Checkpoints of a training run: what a snapshot holds, how it is saved and restored, and what a resume may change.

A checkpoint ``<prefix>`` is ``<prefix>_net_<X>.pth`` per network (plain reference state dicts for
test.py, pixelize.py and other tools) plus ``<prefix>_state.pth``, a self-contained snapshot for
resuming exactly: optimisers, schedulers, the epoch and image counters, every RNG state and the
image pools (:data:`STATE_VERSION`). Every file is written to a temporary name and renamed, and
:func:`clean_stale_temp_files` removes what a killed run left. :func:`restore_checkpoint` puts a run
back where it stopped and repositions the LR schedulers for THIS run's schedule flags;
:func:`check_resume_flags` refuses ``--continue_train`` with flags that change what is trained.
The training loop (:mod:`engine.training`) calls these; it owns no file format itself.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import random
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models import networks
from models.base_model import unwrap
from util import dist
from util.checkpoint import CheckpointError, load_checkpoint, save_state_dict
from util.cli import FlagError
from util.fileio import TEMP_NAME

logger = logging.getLogger(__name__)


STATE_VERSION = 1

#: Flags that define the learning-rate schedule; saved in the snapshot to report changes on resume.
SCHEDULE_FLAGS = ("lr_policy", "lr", "n_epochs", "n_epochs_decay", "lr_decay_iters")

#: Extensions of the files a run writes (checkpoints, logs, options, pages, images): the only
#: temporary files (``util.fileio.TEMP_NAME``) the cleaner removes from a run folder.
_RUN_FILE_SUFFIXES = frozenset({".pth", ".txt", ".json", ".html", ".png"})


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


# --------------------------------------------------------------------------- counters and snapshots
@dataclass
class Progress:
    """Counters saved in the training state. ``*_iters`` count images, as in the reference."""

    epoch: int = 1
    epoch_iter: int = 0  # images seen in the current epoch (all ranks together)
    total_iters: int = 0  # images seen since the start of training (all ranks together)
    history: list[str] = field(default_factory=list)


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
        "schedule": schedule_record(opt),
    }
    save_state_dict(snapshot, state_path(model.save_dir, prefix))


def schedule_record(opt) -> dict[str, Any]:
    """The schedule flags of ``opt`` (:data:`SCHEDULE_FLAGS`) as plain values."""
    return {key: getattr(opt, key) for key in SCHEDULE_FLAGS if hasattr(opt, key)}


def _check_snapshot(state: Any, path: Path, model) -> None:
    """Refuse a training-state file that is not a snapshot of this model, naming the file."""
    def bad(problem: str) -> CheckpointError:
        return CheckpointError(
            f"training state {path} cannot be resumed: {problem}. Delete or rename it to resume from the weights "
            f"only ({path.name.replace('_state.pth', '_net_*.pth')}), or pick another checkpoint with --epoch "
            f"/ --load_iter")

    if not isinstance(state, Mapping):
        raise bad(f"it holds a {type(state).__name__}, not a training-state dict")
    missing = [k for k in ("epoch", "epoch_iter", "total_iters", "networks", "model", "rng") if k not in state]
    if missing:
        raise bad(f"keys {', '.join(missing)} are missing (is it a weights file saved under the state's name?)")
    for key in ("epoch", "epoch_iter", "total_iters"):
        value = state[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(f"{key!r} is {value!r}, expected an integer >= 0")
    if state["epoch"] < 1:
        raise bad(f"'epoch' is {state['epoch']}, expected >= 1")
    nets = state["networks"]
    if not isinstance(nets, Mapping) or not all(isinstance(v, Mapping) for v in nets.values()):
        raise bad("'networks' is not a dict of state dicts")
    absent = [name for name in model.model_names if name not in nets]
    if absent:
        raise bad(f"it holds no weights for {', '.join(absent)} (saved by another --model?)")
    extra = state["model"]
    if not (isinstance(extra, Mapping) and isinstance(extra.get("optimizers"), list)
            and isinstance(extra.get("schedulers"), list)):
        raise bad("'model' does not hold the optimiser and scheduler lists")
    if not isinstance(state["rng"], Mapping) or not {"python", "numpy", "torch"} <= set(state["rng"]):
        raise bad("'rng' does not hold the python/numpy/torch RNG states")


def restore_checkpoint(model, opt, *, epoch_count_given: bool = False) -> Progress:
    """On --continue_train: load the snapshot (or the weights only, for reference checkpoints).

    The LR schedule is rebuilt from this run's flags at the restored epoch (see
    :func:`position_schedulers`); a schedule that differs from the saved one is reported in
    one log line. Raises CheckpointError for a malformed snapshot and ValueError when the
    snapshot does not fit the flags (e.g. another ``--ngf``), both naming the file.
    """
    prefix = f"iter_{opt.load_iter}" if opt.load_iter > 0 else opt.epoch
    path = state_path(model.save_dir, prefix)
    if not path.is_file():
        logger.warning("%s not found: resuming from the weights only (reference-style checkpoint); optimiser "
                       "and scheduler state start fresh and training starts at --epoch_count %d",
                       path, opt.epoch_count)
        return Progress(epoch=opt.epoch_count)
    state = load_checkpoint(path)
    _check_snapshot(state, path, model)
    for name, net in model.networks():
        try:
            unwrap(net).load_state_dict(state["networks"][name])
        except RuntimeError as err:
            raise ValueError(f"training state {path}: net{name} does not fit the network built from the flags "
                             f"(--netG/--ngf/--ndf/--norm/...): {_first_line(err)}; use the flags of the saved run"
                             ) from err
    saved_scheds = state["model"]["schedulers"]
    training_state = dict(state["model"])
    if opt.lr_policy != "plateau":
        # rebuilt from the flags below; the saved ones may even be of another --lr_policy
        training_state["schedulers"] = [s.state_dict() for s in model.schedulers]
    try:
        model.load_training_state(training_state)
        set_rng_state(state["rng"])
    except ValueError as err:  # e.g. optimiser groups of another size: other flags than the saved run's
        raise ValueError(f"training state {path} does not fit this model: {_first_line(err)}; resume with the "
                         f"flags of the saved run") from err
    except (KeyError, TypeError, IndexError, AttributeError, RuntimeError) as err:
        raise CheckpointError(f"training state {path} cannot be resumed: its optimiser, scheduler or RNG state "
                              f"is malformed ({type(err).__name__}: {_first_line(err)}); delete it to resume from "
                              f"the weights only") from err
    saved_lrs = [o.param_groups[0]["lr"] for o in model.optimizers]
    progress = Progress(epoch=int(state["epoch"]), epoch_iter=int(state["epoch_iter"]),
                        total_iters=int(state["total_iters"]))
    if epoch_count_given:
        progress = Progress(epoch=opt.epoch_count, total_iters=progress.total_iters)
        origin = opt.epoch_count
    else:
        origin = _schedule_origin(saved_scheds, progress.epoch)
    saved_schedule = _saved_schedule(state)
    position_schedulers(model, opt, progress.epoch, origin, saved_scheds, saved_schedule)
    changes = [f"--{key} {saved_schedule[key]} -> {value}" for key, value in schedule_record(opt).items()
               if key in saved_schedule and saved_schedule[key] != value and _matters(key, opt.lr_policy)]
    if changes and saved_lrs:
        logger.info("LR schedule changed on resume (%s): epoch %d trains at lr %.7f (the saved schedule gave %.7f)",
                    ", ".join(changes), progress.epoch, model.optimizers[0].param_groups[0]["lr"], saved_lrs[0])
    logger.info("resumed from %s: epoch %d, %d images into the epoch, %d images in total",
                path, progress.epoch, progress.epoch_iter, progress.total_iters)
    return progress


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _matters(key: str, policy: str) -> bool:
    """Whether schedule flag ``key`` changes the LRs under ``--lr_policy policy``."""
    if key in ("lr_policy", "lr"):
        return True
    if key == "lr_decay_iters":
        return policy == "step"
    return policy in ("linear", "cosine")


def _saved_schedule(state: Mapping) -> dict[str, Any]:
    """The saved run's schedule flags: recorded in newer snapshots, inferred from the scheduler otherwise."""
    record = state.get("schedule")
    if isinstance(record, Mapping):
        return dict(record)
    found: dict[str, Any] = {}
    scheds = state["model"]["schedulers"]
    sd = scheds[0] if scheds and isinstance(scheds[0], Mapping) else {}
    lambdas = sd.get("lr_lambdas")
    fields = lambdas[0] if isinstance(lambdas, list) and lambdas and isinstance(lambdas[0], Mapping) else {}
    if "n_epochs" in fields and "n_epochs_decay" in fields:
        found.update(lr_policy="linear", n_epochs=fields["n_epochs"], n_epochs_decay=fields["n_epochs_decay"])
    elif "total_epochs" in fields:
        found.update(lr_policy="cosine")
    elif "step_size" in sd:
        found.update(lr_policy="step", lr_decay_iters=sd["step_size"])
    elif "patience" in sd:
        found.update(lr_policy="plateau")
    return found


def _schedule_origin(saved_scheds: list, epoch: int) -> int:
    """The epoch the saved schedule started at: schedulers step once per finished epoch."""
    steps = [sd.get("last_epoch") for sd in saved_scheds if isinstance(sd, Mapping)]
    if steps and isinstance(steps[0], int) and 0 <= steps[0] < epoch:
        return epoch - steps[0]
    return 1


def position_schedulers(model, opt, epoch: int, origin: int, saved_scheds: list | None = None,
                        saved_schedule: Mapping[str, Any] | None = None) -> None:
    """Rebuild ``model.schedulers`` from ``opt``'s schedule flags, positioned at ``epoch``.

    The schedule starts at epoch ``origin`` with the base LR ``--lr`` and is stepped once per
    finished epoch up to ``epoch``, exactly as an uninterrupted run with these flags would have
    stepped it, so the LRs match that run bit for bit. A ``plateau`` schedule keeps its saved
    state (it depends on the metric history, not on the flags) when the saved one was plateau too.
    The optimisers must already hold their restored state.
    """
    saved_scheds = saved_scheds or []
    saved_schedule = saved_schedule or {}
    saved_lr = saved_schedule.get("lr")
    rebuilt = []
    for i, optimizer in enumerate(model.optimizers):
        saved_sd = saved_scheds[i] if i < len(saved_scheds) else None
        if opt.lr_policy == "plateau" and isinstance(saved_sd, Mapping) and "patience" in saved_sd:
            rebuilt.append(model.schedulers[i])  # restored by load_training_state
            continue
        for group in optimizer.param_groups:
            base = group.get("initial_lr", opt.lr)
            if isinstance(saved_lr, (int, float)) and saved_lr != opt.lr:
                base = opt.lr if base == saved_lr else base * (opt.lr / saved_lr)  # --lr changed on resume
            group["initial_lr"] = base
            group["lr"] = base
        schedule_opt = argparse.Namespace(**vars(opt))
        schedule_opt.epoch_count = origin
        scheduler = networks.get_scheduler(optimizer, schedule_opt)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
            for _ in range(epoch - origin):
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    break  # a fresh plateau schedule starts at --lr
                scheduler.step()
        rebuilt.append(scheduler)
    model.schedulers = rebuilt
    lrs = [group["lr"] for optimizer in model.optimizers for group in optimizer.param_groups]
    if any(lr < 0 or not math.isfinite(lr) for lr in lrs):
        raise FlagError(f"the LR schedule gives learning rate {min(lrs)} at epoch {epoch}; check --lr_policy, "
                        f"--n_epochs and --n_epochs_decay")


def clean_stale_temp_files(folder: Path) -> list[Path]:
    """Remove the hidden ``.<name>.<random>.tmp.<ext>`` files an interrupted save left in ``folder``
    (and in its ``web/`` image history); returns what was removed. Call before anything is written."""
    removed: list[Path] = []
    for where in (folder, folder / "web", folder / "web" / "images"):
        if not where.is_dir():
            continue
        for path in where.iterdir():
            temp = TEMP_NAME.match(path.name)
            if temp is not None and temp["suffix"] in _RUN_FILE_SUFFIXES and path.is_file():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    if removed:
        logger.info("removed %d unfinished temporary file(s) left by an interrupted run in %s", len(removed), folder)
    return removed


#: Flags that decide WHAT is trained; ``--continue_train`` refuses a value that differs from the saved
#: run's (``<phase>_opt.json``, else ``train_opt.json``/``.txt`` in the run folder), naming each one,
#: because the restored weights, optimiser moments and image pools belong to the saved values (a changed
#: --ngf fails to load, a changed --direction or --lambda_L1 would silently train another model):
#:
#: * the networks: --model, --netG, --netD, --ngf, --ndf, --n_layers_D (with --netD n_layers), --norm,
#:   --no_dropout (as resolved with --use_dropout), --input_nc, --output_nc;
#: * what they see: --dataset_mode, --direction, --preprocess, --load_size (unless --preprocess none or
#:   crop ignores it), --crop_size (unless --preprocess none);
#: * the objective: --gan_mode, the loss weights --lambda_A, --lambda_B, --lambda_identity, --lambda_L1,
#:   --lambda_regression, --lambda_gp (with --gan_mode wgangp);
#: * restored state that keeps the saved value anyway: --beta1 (the optimiser state holds it), --pool_size
#:   (the image pools).
#:
#: Every other flag may change on resume: the LR schedule (--n_epochs, --n_epochs_decay, --lr,
#: --lr_policy, --lr_decay_iters: rebuilt from this run's flags and reported), --epoch_count, --epoch,
#: --load_iter, display/HTML/print/save frequencies, --gpu_ids, --num_threads, --amp, --verbose,
#: --batch_size (it changes the steps, not the model: lower it when memory runs short), --dataroot (a
#: moved dataset), --max_dataset_size, --serial_batches, --no_flip, --seed, --skip_bad_images, and the
#: init flags (--init_type, --init_gain, --name_state_dict_init, --state_dict_dir: unused on resume).
RESUME_FIXED_FLAGS = ("model", "netG", "netD", "ngf", "ndf", "n_layers_D", "norm", "no_dropout", "input_nc",
                      "output_nc", "dataset_mode", "direction", "preprocess", "load_size", "crop_size", "gan_mode",
                      "lambda_A", "lambda_B", "lambda_identity", "lambda_L1", "lambda_regression", "lambda_gp",
                      "beta1", "pool_size")


def _flag_matters(key: str, opt) -> bool:
    """Whether ``key`` of :data:`RESUME_FIXED_FLAGS` has any effect with the other flags of ``opt``."""
    preprocess = getattr(opt, "preprocess", None)
    if key == "load_size":
        return preprocess not in ("none", "crop")
    if key == "crop_size":
        return preprocess != "none"
    if key == "n_layers_D":
        return getattr(opt, "netD", None) == "n_layers"
    if key == "lambda_gp":
        return getattr(opt, "gan_mode", None) == "wgangp"
    return True


def _plain(value: Any) -> Any:
    """``value`` as the options JSON stores it (``inf`` as null)."""
    if isinstance(value, float) and math.isinf(value):
        return None
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def _read_saved_options(save_dir: Path, phase: str) -> tuple[Path, dict[str, Any], bool] | None:
    """The saved run's options: ``(file, values, typed)``; ``typed`` is False for the ``.txt`` table
    (values as printed). None when no readable options file is there (a reference checkpoint)."""
    for name in dict.fromkeys((phase, "train")):
        path = save_dir / f"{name}_opt.json"
        if path.is_file():
            try:
                values = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as err:
                logger.warning("%s cannot be read (%s); trying the .txt options table", path, err)
            else:
                if isinstance(values, dict) and values.get("isTrain", True) is True:  # not test.py's options
                    return path, values, True
        path = save_dir / f"{name}_opt.txt"
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                logger.warning("%s cannot be read (%s)", path, err)
                continue
            values = {}
            for line in text.splitlines():
                key, sep, rest = line.strip().partition(": ")
                if sep and key.isidentifier():
                    values[key] = rest.split("\t[default:", 1)[0].strip()
            if values.get("isTrain", "True") == "True":  # not test.py's options
                return path, values, False
    return None


def check_resume_flags(opt) -> None:
    """On ``--continue_train``: raise :class:`util.cli.FlagError` naming every flag of
    :data:`RESUME_FIXED_FLAGS` whose value differs from the saved run's (given vs saved).

    Flags the saved options file does not hold (an older run, another model's flags) are not
    compared; without any options file (a reference checkpoint) nothing is checked.
    """
    save_dir = Path(opt.checkpoints_dir) / opt.name
    found = _read_saved_options(save_dir, getattr(opt, "phase", "train"))
    if found is None:
        logger.debug("no options file in %s: the flags of the resumed run are not compared", save_dir)
        return
    path, saved, typed = found
    differ = []
    for key in RESUME_FIXED_FLAGS:
        if key not in saved or not hasattr(opt, key) or not _flag_matters(key, opt):
            continue
        given = getattr(opt, key)
        same = _plain(given) == saved[key] if typed else str(given) == saved[key]
        if not same:
            shown = saved[key] if typed or saved[key] != "" else "''"
            differ.append(f"--{key} {_plain(given)} (saved: {shown})")
    if differ:
        raise FlagError(f"--continue_train: these flags differ from the saved run ({path}): {', '.join(differ)}; "
                        f"they change what is trained, so resume with the saved values (drop the flags or pass "
                        f"the saved ones), or train the new setting under another --name")
