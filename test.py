"""Apply a trained model to test images and write an HTML page of the results.

    python test.py --dataroot datasets/photo2pixel/testA --name photo2pixel --model test --model_suffix _A
    python test.py --dataroot datasets/photo2pixel --name photo2pixel --model cycle_gan

Results: ``results/<name>/<phase>_<epoch>/index.html`` and ``images/<stem>_<visual>.png``.
An image that cannot be read or processed is reported by name and skipped; the page is
still written. Exit status (:mod:`util.cli`): 0 when every image was done, 1 when any failed (or the
run did), 2 for bad flags (also a missing or unusable checkpoint, a missing --dataroot).
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, run the test loop, print where the page is; returns the exit status."""
    from util.cli import exit_status

    args = list(sys.argv[1:] if argv is None else argv)
    return exit_status(lambda: _test(args))


def _test(args: list[str]) -> int:
    from engine.evaluation import run_test
    from options.test_options import TestOptions
    from util.cli import EXIT_FAILED, EXIT_OK, setup_logging

    setup_logging("--verbose" in args)  # before parsing: parse() may log (e.g. the CPU fallback)
    options = TestOptions()
    opt = options.parse(args, save=False)
    setup_logging(opt.verbose)
    result = run_test(opt, on_start=lambda: options.save_options(opt, options.parser))
    failed = f"{len(result.failed)} failed (see the 'failed:' lines above)" if result.failed else "0 failed"
    print(f"results: {result.web_dir / 'index.html'} ({result.done} done, {failed})")
    return EXIT_FAILED if result.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
