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
    from engine.evaluation import run_test
    from options.test_options import TestOptions
    from util.cli import EXIT_BAD_FLAGS, EXIT_FAILED, EXIT_OK, FlagError, error, setup_logging
    from util.image import ImageLoadError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        setup_logging("--verbose" in args)  # before parsing: parse() may log (e.g. the CPU fallback)
        options = TestOptions()
        try:
            opt = options.parse(args, save=False)
        except SystemExit as stop:  # argparse: --help (0) or a bad flag (2, message printed)
            return stop.code if isinstance(stop.code, int) else EXIT_BAD_FLAGS
        setup_logging(opt.verbose)
        result = run_test(opt, on_start=lambda: options.save_options(opt, options.parser))
    except FlagError as err:
        error(str(err))
        return EXIT_BAD_FLAGS
    except (ValueError, ImageLoadError, OSError) as err:
        error(str(err))
        return EXIT_FAILED
    failed = f"{len(result.failed)} failed (see the 'failed:' lines above)" if result.failed else "0 failed"
    print(f"results: {result.web_dir / 'index.html'} ({result.done} done, {failed})")
    return EXIT_FAILED if result.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
