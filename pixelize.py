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
    except KeyboardInterrupt:  # before or after the run itself (which reports its own summary)
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        dist.cleanup()


def _run(opt) -> int:
    from pathlib import Path

    from models import pretrained
    from util import dist
    from util.pixelizer import (GeneratorStage, Pixelizer, Summary, check_output_folder, check_writable,
                                collect_jobs, write_page)

    try:
        check_output_folder(opt.input, opt.output)
        jobs, ignored = collect_jobs(opt.input, output=opt.output, demo=opt.demo)
        pixelizer = Pixelizer(opt)
        pixelizer.refuse_overwriting_inputs(jobs, ignored)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    main_rank = dist.is_main()
    if not jobs:
        shown = f" (ignored {len(ignored)} file(s) that are neither images nor videos, e.g. {ignored[0]})" \
            if ignored else ""
        print(f"error: nothing to process: --input {' '.join(opt.input)} holds no image or video{shown}",
              file=sys.stderr)
        return 1
    try:
        if opt.generator_path is not None:
            if not Path(opt.generator_path).is_file():
                raise ValueError(f"generator file {opt.generator_path} not found "
                                 "(check --name/--epoch/--model_suffix/--checkpoints_dir or --model_path)")
            cell = pretrained.training_cell(opt.generator_path)
            pixelizer.generator = GeneratorStage(opt.generator_path, overrides=_overrides(opt), device=_device(opt),
                                                 gen_size=opt.gen_size,
                                                 scale=None if cell is None else cell / opt.pixel_size)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if main_rank:
        if pixelizer.generator is None:
            print("no generator (--name/--model_path not given): post-processing only")
            unused = _generator_flags_given(opt)
            if unused:
                print(f"warning: {', '.join(unused)} only affect{'s' if len(unused) == 1 else ''} the generator "
                      "stage and without --name/--model_path are ignored", file=sys.stderr)
        if opt.demo:
            print("--demo: the built-in sample photos (astronaut, chelsea, coffee, rocket) and cartoons (mushroom, "
                  "house, face, potion), post-processing alone | generator + post-processing")
        elif not opt.input:
            print("no --input: using the built-in sample photos (astronaut, chelsea, coffee, rocket)")
        if ignored:
            print(f"ignored {len(ignored)} file(s) that are neither images nor videos, e.g. {ignored[0]}")
    try:
        check_writable(Path(opt.output))
    except OSError as err:
        print(f"error: --output {opt.output} is not writable ({err.strerror or err}); choose another folder "
              "or free some space", file=sys.stderr)
        print(Summary(failed=len(jobs)).line(opt.output))
        return 1

    def report(outcome) -> None:
        if outcome.status == "failed":
            print(f"failed: {outcome.job.label}: {outcome.reason}", file=sys.stderr)
        elif outcome.status == "skipped":
            print(f"skipped: {outcome.job.label}: {outcome.reason}")
        elif opt.verbose:
            print(f"done: {outcome.job.label} -> {outcome.output}")

    mine = dist.shard(jobs)
    try:
        summary = pixelizer.run(mine, report)
    except KeyboardInterrupt:
        done = pixelizer.summary
        print(f"interrupted: {len(mine) - done.total} input(s) not processed; finished outputs are "
              "kept and a re-run skips them", file=sys.stderr)
        print(f"pixelize: interrupted: {done.done} done, {done.skipped} skipped, {done.failed} failed, "
              f"{len(mine) - done.total} not processed (of {len(mine)} inputs) -> {opt.output}")
        return 130
    summary = _gather(summary)
    rc = 1 if summary.failed else 0
    if main_rank:
        if not opt.no_html:
            try:
                page = write_page(Path(opt.output), summary.outcomes, f"pixelize: {len(jobs)} inputs")
                print(f"page: {page}")
            except OSError as err:
                print(f"error: cannot write {Path(opt.output) / 'index.html'} ({err.strerror or err})",
                      file=sys.stderr)
                rc = 1
        print(summary.line(opt.output))
    return rc


#: Flags that only matter with a generator: dest -> how the user typed it.
GENERATOR_FLAGS = {"color_match": "--color_match", "keep_white": "--keep_white", "netG": "--netG", "ngf": "--ngf",
                   "norm": "--norm",
                   "no_dropout": "--no_dropout", "use_dropout": "--use_dropout", "input_nc": "--input_nc",
                   "output_nc": "--output_nc", "gen_size": "--gen_size", "batch_size": "--batch_size",
                   "device": "--device", "gpu_ids": "--gpu_ids", "epoch": "--epoch", "model_suffix": "--model_suffix",
                   "checkpoints_dir": "--checkpoints_dir"}


def _generator_flags_given(opt) -> list[str]:
    """Generator-stage flags whose value differs from the default (they do nothing without a generator)."""
    from options import pixelize_options

    parser = pixelize_options.make_parser()
    return [flag for dest, flag in GENERATOR_FLAGS.items()
            if hasattr(opt, dest) and getattr(opt, dest) != parser.get_default(dest)]


def _overrides(opt) -> dict:
    dropout = True if opt.use_dropout else False if opt.no_dropout else None
    return dict(netG=opt.netG, ngf=opt.ngf, norm=opt.norm, use_dropout=dropout, input_nc=opt.input_nc,
                output_nc=opt.output_nc)


def _device(opt) -> str:
    import torch

    from util import dist

    if opt.device:
        if opt.device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise ValueError(f"--device {opt.device}: no CUDA device is available; use --device cpu")
            index = torch.device(opt.device).index
            if index is not None and index >= torch.cuda.device_count():
                raise ValueError(f"--device {opt.device}: there are only {torch.cuda.device_count()} CUDA "
                                 f"device(s), numbered from 0")
        elif opt.device == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"--device {opt.device}: MPS is not available here; use --device cpu")
        elif opt.device.startswith("xpu") and not (hasattr(torch, "xpu") and torch.xpu.is_available()):
            raise ValueError(f"--device {opt.device}: no XPU device is available; use --device cpu")
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
    code = main()
    if code == 130:
        # Interrupted: every output is closed, so skip the interpreter's slow teardown of torch and
        # OpenCV (seconds on a busy machine) and stop at once.
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
