"""Turn photos, cartoons and videos into pixel art (the main job).

    python pixelize.py                                   # the built-in sample photos
    python pixelize.py --input photos/ clip.mp4 --output results/mine --pixel_size 6
    python pixelize.py --input photos/ --name photo2pixel   # with a trained CycleGAN generator

Outputs mirror the input tree under --output, plus index.html (input | output side by side).
Exit status (:mod:`util.cli`): 0 when every input was done or skipped, 1 when any failed, 2 for bad flags,
130 when interrupted.
Under ``torchrun --nproc_per_node=N pixelize.py ...`` each process takes a disjoint share.
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pixelize job; returns the exit status (:mod:`util.cli`)."""
    from options import pixelize_options
    from util import dist
    from util.cli import EXIT_INTERRUPTED, exit_status, setup_logging

    opt = pixelize_options.parse(argv)
    setup_logging(opt.verbose)
    import cv2

    cv2.setNumThreads(1)  # parallelism comes from --workers; nested OpenCV pools would oversubscribe the cores
    dist.init_distributed()
    try:
        return exit_status(lambda: _run(opt))
    except KeyboardInterrupt:  # before or after the run itself (which reports its own summary)
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        dist.cleanup()


def _run(opt) -> int:
    from pathlib import Path

    from engine import pixelize as engine
    from engine.jobs import check_writable
    from options import pixelize_options
    from util import dist
    from util.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, error

    settings = engine.settings_from_options(opt)  # FlagError (exit status 2) before anything is written
    plan = engine.plan(opt, settings)
    jobs, ignored, pixelizer = plan.jobs, plan.ignored, plan.pixelizer
    if not jobs:
        shown = f" (ignored {len(ignored)} file(s) that are neither images nor videos, e.g. {ignored[0]})" \
            if ignored else ""
        error(f"nothing to process: --input {' '.join(opt.input)} holds no image or video{shown}")
        return EXIT_FAILED
    pixelizer.generator = engine.load_generator_stage(opt)
    main_rank = dist.is_main()
    if main_rank:
        if pixelizer.generator is None:
            print("no generator (--pretrained/--name/--model_path not given): post-processing only")
            parser = pixelize_options.make_parser()
            unused = engine.generator_flags_given(opt, {dest: parser.get_default(dest) for dest in vars(opt)})
            if unused:
                print(f"warning: {', '.join(unused)} only affect{'s' if len(unused) == 1 else ''} the generator "
                      "stage and without --pretrained/--name/--model_path are ignored", file=sys.stderr)
        if opt.demo:
            print("--demo: the built-in sample photos (astronaut, chelsea, coffee, rocket) and cartoons (mushroom, "
                  "house, face, potion); --pretrained auto picks each image's stage (the page says which and why): "
                  "post-processing alone | generator + post-processing")
        elif not opt.input:
            print("no --input: using the built-in sample photos (astronaut, chelsea, coffee, rocket)")
        if ignored:
            print(f"ignored {len(ignored)} file(s) that are neither images nor videos, e.g. {ignored[0]}")
        videos = sum(job.kind == "video" for job in jobs)
        if opt.compare and videos:
            print(f"--compare: {videos} video(s) are written through the generator only (no post-processing-alone "
                  "copy; run them again without a generator for that)")
    try:
        check_writable(Path(opt.output))
    except OSError as err:
        error(f"--output {opt.output} is not writable ({err.strerror or err}); choose another folder "
              "or free some space")
        print(engine.Summary(failed=len(jobs)).line(opt.output))
        return EXIT_FAILED

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
              "kept and a re-run with the same settings skips them (other settings redo them)", file=sys.stderr)
        print(f"pixelize: interrupted: {done.done} done, {done.skipped} skipped, {done.failed} failed, "
              f"{len(mine) - done.total} not processed (of {len(mine)} inputs) -> {opt.output}")
        return EXIT_INTERRUPTED
    summary = engine.gather(summary)
    rc = EXIT_FAILED if summary.failed else EXIT_OK
    if main_rank:
        if not opt.no_html:
            try:
                page = engine.write_page(Path(opt.output), summary.outcomes, f"pixelize: {len(jobs)} inputs")
                print(f"page: {page}")
            except OSError as err:
                error(f"cannot write {Path(opt.output) / 'index.html'} ({err.strerror or err})")
                rc = EXIT_FAILED
        print(summary.line(opt.output))
    return rc


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
