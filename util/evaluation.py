"""The test loop behind test.py: apply a trained model to a folder and write an HTML page."""
from __future__ import annotations

import logging
from pathlib import Path

from data import create_dataset
from models import create_model
from util import html
from util.visualizer import save_images

logger = logging.getLogger(__name__)


def run_test(opt) -> Path:
    """Run ``opt.model`` over the first ``--num_test`` images; returns the results folder.

    Results go to ``<results_dir>/<name>/<phase>_<epoch>[_iter<load_iter>]/`` with
    ``index.html`` and ``images/<stem>_<visual>.png``.
    """
    dataset = create_dataset(opt)
    model = create_model(opt)
    model.setup(opt)
    web_dir = Path(opt.results_dir) / opt.name / f"{opt.phase}_{opt.epoch}"
    if opt.load_iter > 0:
        web_dir = web_dir.with_name(web_dir.name + f"_iter{opt.load_iter}")
    webpage = html.HTML(web_dir, f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}")
    if opt.eval:
        model.eval()
    n_images = min(opt.num_test, len(dataset))
    logger.info("testing %d of %d images -> %s", n_images, len(dataset), web_dir)
    for i, batch in enumerate(dataset):
        if i >= opt.num_test:
            break
        model.set_input(batch)
        model.test()
        paths = model.get_image_paths()
        if i % 5 == 0:
            logger.info("processing (%04d)-th image... %s", i, paths)
        save_images(webpage, model.get_current_visuals(), paths, aspect_ratio=opt.aspect_ratio,
                    width=opt.display_winsize)
    webpage.save()
    return web_dir
