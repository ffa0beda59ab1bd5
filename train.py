"""Train a CycleGAN (or another registered model) on two unpaired image folders.

    python train.py --dataroot datasets/photo2pixel --name photo2pixel --model cycle_gan

Every flag of the reference framework's pre-2025 train options is accepted with the same
meaning; see ``python train.py --help`` and the README. Multi-GPU / multi-node:
``torchrun --nproc_per_node=N train.py ...``.
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, train, and return the exit status (0 also after a Ctrl-C/SIGTERM save)."""
    from options.train_options import TrainOptions
    from util import dist
    from util.cli import setup_logging
    from util.image import ImageLoadError

    dist.init_distributed()
    main_rank = dist.is_main()
    try:
        options = TrainOptions()
        opt = options.parse(argv)
        setup_logging(opt.verbose)
        if dist.is_main():
            print(options.format_options(opt))
        from util.training import run_training

        result = run_training(opt, epoch_count_given="epoch_count" in options.explicit_flags)
    except (ValueError, FileNotFoundError, ImageLoadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        dist.cleanup()
    if main_rank:
        where = f"{opt.checkpoints_dir}/{opt.name}"
        if result.stopped_by:
            print(f"stopped by {result.stopped_by}; saved {where}/latest_*. Resume: add --continue_train to the "
                  "same command")
        else:
            print(f"done: checkpoints in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
