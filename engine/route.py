"""``--pretrained auto``: each image gets the stage that helps it, chosen from what the image is.

The kinds come from :func:`postprocess.image_kind.classify`; the stage of each kind:

========== ===================== ===========================================================
kind        stage                 why
========== ===================== ===========================================================
drawing     ``cartoon2pixel``      a cartoon on a flat background: the generator adds outlines
render      ``smooth2pixel``       a smooth render of pixel art: the generator restores crisp cells
photo       quantisation alone     the cartoon generator makes photos worse
pixel_art   quantisation alone     already pixel art: its cells are only snapped to the palette
========== ===================== ===========================================================

Generators are loaded the first time an image needs them, so a folder of photos never loads one.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.generator import GeneratorStage

logger = logging.getLogger(__name__)

#: The shipped generator for each image kind (None: quantisation alone).
STAGE_OF_KIND: dict[str, str | None] = {"drawing": "cartoon2pixel", "render": "smooth2pixel",
                                        "photo": None, "pixel_art": None}


@dataclass(frozen=True)
class Route:
    """The choice made for one image: its kind, the stage (a shipped generator's name or None) and why."""

    kind: str
    stage: str | None
    confidence: float
    reason: str

    def describe(self) -> str:
        """One line for the log and the page, e.g. ``drawing -> cartoon2pixel (flat white background ...)``."""
        stage = self.stage or "quantisation alone"
        return f"{self.kind} ({self.confidence:.0%}) -> {stage}: {self.reason}"


def route_image(image: np.ndarray) -> Route:
    """Classify a uint8 RGB(A) image and pick its stage."""
    from postprocess.image_kind import classify

    result = classify(image)
    reason = result.reason.removeprefix(f"{result.kind}: ")
    return Route(result.kind, STAGE_OF_KIND[result.kind], float(result.confidence), reason)


class AutoStage:
    """Routes each image to a shipped generator (loaded on first use by ``load``) or to none."""

    def __init__(self, load: Callable[[str], GeneratorStage]) -> None:
        """``load(name)`` returns the generator stage of a shipped generator."""
        self._load = load
        self._stages: dict[str, GeneratorStage] = {}
        self._lock = threading.Lock()

    def stage(self, name: str) -> GeneratorStage:
        """The loaded stage of ``name`` (loaded once)."""
        with self._lock:
            if name not in self._stages:
                self._stages[name] = self._load(name)
            return self._stages[name]

    def __call__(self, images: list[np.ndarray]
                 ) -> list[tuple[np.ndarray | None, GeneratorStage | None, Route]]:
        """``(generator output or None, its stage or None, route)`` for each image, in order."""
        routes = [route_image(im) for im in images]
        results: list[tuple[np.ndarray | None, GeneratorStage | None, Route]] = [(None, None, r) for r in routes]
        by_stage: dict[str, list[int]] = {}
        for i, r in enumerate(routes):
            if r.stage is not None:
                by_stage.setdefault(r.stage, []).append(i)
        for name, idxs in by_stage.items():
            stage = self.stage(name)
            for i, out in zip(idxs, stage([images[i] for i in idxs]), strict=True):
                results[i] = (out, stage, routes[i])
        return results
