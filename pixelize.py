"""Turn photos, cartoons and videos into pixel art (the main job).

    python pixelize.py                                   # the built-in sample photos
    python pixelize.py --input photos/ clip.mp4 --output results/mine --pixel_size 6
    python pixelize.py --input photos/ --name photo2pixel   # with a trained CycleGAN generator

Outputs mirror the input tree under --output, plus index.html (input | output side by side).
Exit status: 0 when every input was done or skipped, 1 when any failed, 2 for bad flags.
Under ``torchrun --nproc_per_node=N pixelize.py ...`` each process takes a disjoint share.
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pixelize job; returns the exit status."""
    from options import pixelize_options
    from util import dist
    from util.cli import setup_logging

    opt = pixelize_options.parse(argv)
    setup_logging(opt.verbose)
    import cv2

    cv2.setNumThreads(1)  # parallelism comes from --workers; nested OpenCV pools would oversubscribe the cores
    dist.init_distributed()
    try:
        return _run(opt)
    finally:
        dist.cleanup()


def _run(opt) -> int:
    from pathlib import Path

    from util import dist
    from util.pixelizer import GeneratorStage, Pixelizer, collect_jobs, write_page

    try:
        jobs, ignored = collect_jobs(opt.input)
        generator = None
        if opt.generator_path is not None:
            if not Path(opt.generator_path).is_file():
                raise ValueError(f"generator file {opt.generator_path} not found "
                                 "(check --name/--epoch/--model_suffix/--checkpoints_dir or --model_path)")
            generator = GeneratorStage(opt.generator_path, overrides=_overrides(opt), device=_device(opt),
                                       gen_size=opt.gen_size)
        pixelizer = Pixelizer(opt, generator)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    main_rank = dist.is_main()
    if main_rank:
        if generator is None:
            print("no generator (--name/--model_path not given): post-processing only")
        if not opt.input:
            print("no --input: using the built-in sample photos (astronaut, chelsea, coffee, rocket)")
        if ignored:
            print(f"ignored {len(ignored)} file(s) that are neither images nor videos, e.g. {ignored[0]}")

    def report(outcome) -> None:
        if outcome.status == "failed":
            print(f"failed: {outcome.job.label}: {outcome.reason}", file=sys.stderr)
        elif outcome.status == "skipped":
            print(f"skipped: {outcome.job.label}: {outcome.reason}")
        elif opt.verbose:
            print(f"done: {outcome.job.label} -> {outcome.output}")

    mine = dist.shard(jobs)
    summary = pixelizer.run(mine, report)
    summary = _gather(summary)
    if main_rank:
        if not opt.no_html:
            page = write_page(Path(opt.output), summary.outcomes, f"pixelize: {len(jobs)} inputs")
            print(f"page: {page}")
        print(summary.line(opt.output))
    return 1 if summary.failed else 0


def _overrides(opt) -> dict:
    dropout = True if opt.use_dropout else False if opt.no_dropout else None
    return dict(netG=opt.netG, ngf=opt.ngf, norm=opt.norm, use_dropout=dropout, input_nc=opt.input_nc,
                output_nc=opt.output_nc)


def _device(opt) -> str:
    import torch

    from util import dist

    if opt.device:
        if opt.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"--device {opt.device}: no CUDA device is available; use --device cpu")
        return opt.device
    if opt.gpu_ids is not None:
        ids = [int(x) for x in opt.gpu_ids.split(",") if int(x) >= 0]
        if ids and not torch.cuda.is_available():
            raise ValueError(f"--gpu_ids {opt.gpu_ids}: no CUDA device is available; use --gpu_ids -1")
        return f"cuda:{ids[0]}" if ids else "cpu"
    if torch.cuda.is_available():
        return f"cuda:{dist.get_local_rank()}"
    return "cpu"


def _gather(summary):
    """Merge every rank's outcomes on rank 0 (identity in a single process)."""
    from util import dist

    if not dist.is_initialized():
        return summary
    import torch.distributed as tdist

    from util.pixelizer import Summary

    parts = [None] * dist.get_world_size()
    tdist.all_gather_object(parts, summary.outcomes)
    merged = Summary()
    for outcome in sorted((o for part in parts for o in part), key=lambda o: o.job.source):
        merged.add(outcome)
    return merged


if __name__ == "__main__":
    sys.exit(main())
