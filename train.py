"""Train a CycleGAN (or another registered model) on two unpaired image folders.

    python train.py --dataroot datasets/photo2pixel --name photo2pixel --model cycle_gan

Every flag of the reference framework's pre-2025 train options is accepted with the same
meaning; see ``python train.py --help`` and the README. Multi-GPU / multi-node:
``torchrun --nproc_per_node=N train.py ...``.

Exit status (:mod:`util.cli`): 0 when training ran (also after a Ctrl-C/SIGTERM save), 2 for bad
flags (also when found at setup: a missing --dataroot, a missing or unusable checkpoint, flags that do
not fit the checkpoint being resumed), 1 when the run failed (an unreadable image, an I/O error).
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, train, and return the exit status (see the module docstring)."""
    from util import dist
    from util.cli import exit_status

    args = list(sys.argv[1:] if argv is None else argv)
    dist.init_distributed()
    try:
        return exit_status(lambda: _train(args))
    finally:
        dist.cleanup()


def _train(args: list[str]) -> int:
    from engine.training import run_training
    from options.train_options import TrainOptions
    from util import dist
    from util.cli import EXIT_OK, setup_logging

    setup_logging("--verbose" in args)  # before parsing: parse() may log (e.g. the CPU fallback)
    options = TrainOptions()
    opt = options.parse(args, save=False)
    setup_logging(opt.verbose)
    if dist.is_main():
        print(options.format_options(opt))

    def save_options() -> None:
        if dist.is_main():
            options.save_options(opt, options.parser)

    result = run_training(opt, epoch_count_given="epoch_count" in options.explicit_flags, on_start=save_options)
    if dist.is_main():
        where = f"{opt.checkpoints_dir}/{opt.name}"
        if result.stopped_by:
            print(f"stopped by {result.stopped_by}; saved {where}/latest_*. Resume: add --continue_train to the "
                  "same command")
        else:
            print(f"done: checkpoints in {where}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
