"""Apply a trained model to test images and write an HTML page of the results.

    python test.py --dataroot datasets/photo2pixel/testA --name photo2pixel --model test --model_suffix _A
    python test.py --dataroot datasets/photo2pixel --name photo2pixel --model cycle_gan

Results: ``results/<name>/<phase>_<epoch>/index.html`` and ``images/<stem>_<visual>.png``.
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, run the test loop, print where the page is; returns the exit status."""
    from options.test_options import TestOptions
    from util.cli import setup_logging
    from util.evaluation import run_test
    from util.image import ImageLoadError

    try:
        options = TestOptions()
        opt = options.parse(argv)
        setup_logging(opt.verbose)
        web_dir = run_test(opt)
    except (ValueError, FileNotFoundError, ImageLoadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"results: {web_dir / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
