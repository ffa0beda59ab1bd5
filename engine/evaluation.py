"""The test loop behind test.py: apply a trained model to a folder and write an HTML page.

One bad input never stops the run: an unreadable image, or one the model cannot process,
is reported by name (``TestResult.failed``) and the others go on; ``index.html`` is always
written. Setup problems a flag can fix (a missing checkpoint, ``--dataroot``) raise
:class:`util.cli.FlagError`, an unreadable checkpoint included (exit status 2, see :mod:`util.cli`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from data import create_dataset, iterate_batches
from models import create_model
from util import html
from util.cli import FlagError
from util.image import ImageLoadError
from util.visualizer import save_images

logger = logging.getLogger(__name__)


@dataclass
class TestResult:
    """What :func:`run_test` did."""

    web_dir: Path  # holds index.html and images/
    done: int = 0  # images written to the page
    failed: list[str] = field(default_factory=list)  # "<file>: <reason>", in input order


def run_test(opt, *, on_start: Callable[[], None] | None = None) -> TestResult:
    """Run ``opt.model`` over the first ``--num_test`` images; returns a :class:`TestResult`.

    Results go to ``<results_dir>/<name>/<phase>_<epoch>[_iter<load_iter>]/`` with
    ``index.html`` and ``images/<stem>_<visual>.png``. ``on_start`` is called once the
    dataset and the model are ready (test.py saves ``test_opt.{txt,json}`` then).
    """
    try:
        dataset = create_dataset(opt)
        model = create_model(opt)
        model.setup(opt)
    except ImageLoadError:
        raise
    except (ValueError, FileNotFoundError) as err:  # CheckpointError too: another --epoch/--name fixes it  # wrong or missing --dataroot/--name/--epoch/--model_suffix/...
        raise FlagError(str(err)) from err
    if on_start is not None:
        on_start()
    web_dir = Path(opt.results_dir) / opt.name / f"{opt.phase}_{opt.epoch}"
    if opt.load_iter > 0:
        web_dir = web_dir.with_name(web_dir.name + f"_iter{opt.load_iter}")
    webpage = html.HTML(web_dir, f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}")
    if opt.eval:
        model.eval()
    result = TestResult(web_dir=web_dir)
    n_images = min(opt.num_test, len(dataset))
    logger.info("testing %d of %d images -> %s", n_images, len(dataset), web_dir)
    attempted = 0

    def unreadable(message: str, images: int) -> None:
        nonlocal attempted
        attempted += images
        result.failed.append(message)
        logger.warning("failed: %s", message)

    for batch in iterate_batches(dataset, True, unreadable):
        if attempted >= opt.num_test:
            break
        attempted += 1  # test.py runs one image per batch
        model.set_input(batch)
        paths = model.get_image_paths()
        try:
            model.test()
        except (RuntimeError, ValueError) as err:  # e.g. a size the network cannot take
            text = str(err).strip().splitlines()
            unreadable(f"{paths[0] if paths else '?'}: the model failed on it ({type(err).__name__}: "
                       f"{text[0] if text else 'no details'})", 0)
            continue
        if attempted % 5 == 1:
            logger.info("processing (%04d)-th image... %s", attempted - 1, paths)
        save_images(webpage, model.get_current_visuals(), paths, aspect_ratio=opt.aspect_ratio,
                    width=opt.display_winsize)
        result.done += len(paths)
    webpage.save()
    return result
