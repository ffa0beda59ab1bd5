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
    from engine.training import run_training
    from options.train_options import TrainOptions
    from util import dist
    from util.cli import EXIT_BAD_FLAGS, EXIT_FAILED, EXIT_OK, FlagError, error, setup_logging
    from util.image import ImageLoadError

    args = list(sys.argv[1:] if argv is None else argv)
    dist.init_distributed()
    main_rank = dist.is_main()
    try:
        setup_logging("--verbose" in args)  # before parsing: parse() may log (e.g. the CPU fallback)
        options = TrainOptions()
        try:
            opt = options.parse(args, save=False)
        except SystemExit as stop:  # argparse: --help (0) or a bad flag (2, message printed)
            return stop.code if isinstance(stop.code, int) else EXIT_BAD_FLAGS
        setup_logging(opt.verbose)
        if dist.is_main():
            print(options.format_options(opt))

        def save_options() -> None:
            if dist.is_main():
                options.save_options(opt, options.parser)

        result = run_training(opt, epoch_count_given="epoch_count" in options.explicit_flags, on_start=save_options)
    except FlagError as err:
        error(str(err))
        return EXIT_BAD_FLAGS
    except (ValueError, ImageLoadError, OSError) as err:
        error(str(err))
        return EXIT_FAILED
    finally:
        dist.cleanup()
    if main_rank:
        where = f"{opt.checkpoints_dir}/{opt.name}"
        if result.stopped_by:
            print(f"stopped by {result.stopped_by}; saved {where}/latest_*. Resume: add --continue_train to the "
                  "same command")
        else:
            print(f"done: checkpoints in {where}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
