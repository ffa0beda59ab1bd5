"""The generator stage of pixelize: a loaded generator applied to uint8 images of any size, in batches."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from util.image import to_rgb

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Guidance:
    """How a generator's output is guided by its input (``postprocess.guidance.guided_pixelize``).

    ``color_match``: the input's hue and saturation copied back; ``keep_white``: its white background
    restored half a cell from the drawing; ``keep_tone``: its colours, lightness included, kept except
    on the generator's outlines; ``despeckle``: isolated cells the input does not have removed after
    quantising. A shipped generator's notes (its ``.json`` sidecar) say which it needs."""

    color_match: bool = False
    keep_white: bool = False
    keep_tone: bool = False
    despeckle: bool = False

    @classmethod
    def from_notes(cls, notes: dict, **given: bool | None) -> "Guidance":
        """The notes' choices (a missing or non-boolean entry is off), each replaced by a ``given`` one
        that is not None (the user's flags)."""
        values = {}
        for name in ("color_match", "keep_white", "keep_tone", "despeckle"):
            value = given.get(name)
            values[name] = bool(value) if value is not None else notes.get(name) is True
        return cls(**values)

    def describe(self) -> str:
        """``"keep_tone, keep_white, despeckle"`` or ``"none"``."""
        on = [name for name in ("color_match", "keep_tone", "keep_white", "despeckle") if getattr(self, name)]
        return ", ".join(on) or "none"


class GeneratorStage:
    """A loaded generator applied to uint8 images of any size, in batches, under inference_mode."""

    def __init__(self, path: str, *, overrides: dict[str, Any], device: "str | torch.device", gen_size: int,
                 scale: float | None = None, guidance: Guidance | None = None, name: str | None = None,
                 amp: bool = False) -> None:
        """``scale``: resize factor applied to every input before the generator (None = none); a shipped
        generator trained at cell ``C`` gets ``C / --pixel_size``, so one output cell is ``C`` of its pixels.
        ``guidance``: how its output is guided by the input (default: none); ``name``: how it is shown;
        ``amp``: run under bf16/fp16 autocast where the device supports it (:mod:`models.amp`)."""
        import torch

        from models import networks
        from models.inference import load_generator

        self.torch = torch
        self.device = torch.device(device)
        self.net, self.config = load_generator(path, overrides=overrides, device=self.device)
        if self.config["output_nc"] not in (1, 3):
            raise ValueError(f"generator file {path}: {self.config['output_nc']} output channels"
                             + (" (a colorization generator: the a*b* of CIELAB)" if self.config["output_nc"] == 2
                                else "")
                             + "; pixelize needs an RGB (3) or grey (1) generator"
                             + ("; apply it with test.py --model colorization" if self.config["output_nc"] == 2
                                else ""))
        self.multiple = networks.required_multiple(self.config["netG"])
        self.gen_size = gen_size
        self.scale = scale
        self.lock = threading.Lock()
        from models import amp as mixed

        self.amp_dtype = mixed.requested_dtype(self.device, "the generator runs") if amp else None
        self.guidance = guidance if guidance is not None else Guidance()
        self.name = name or str(path)
        logger.info("generator: %s (%s) on %s; guidance: %s", path,
                    ", ".join(f"{k}={v}" for k, v in self.config.items()), self.device, self.guidance.describe())

    def _fit(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        scale = 1.0 if self.scale is None else self.scale
        if self.gen_size and max(h, w) * scale > self.gen_size:
            scale = self.gen_size / max(h, w)
        if scale != 1.0:
            import cv2

            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            if size != (w, h):
                return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        return image

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """uint8 RGB (H, W, 3) images -> generator outputs, same sizes, uint8 RGB."""
        from models.amp import autocast
        from models.inference import run_padded
        from util.image import to_tensor, to_uint8

        fitted = [self._fit(to_rgb(im)) for im in images]
        if self.config["input_nc"] == 1:
            fitted = [np.round(im @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None] for im in fitted]
        outputs: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(fitted):
            groups.setdefault(im.shape, []).append(i)
        with self.lock, self.torch.inference_mode(), autocast(self.device, self.amp_dtype):
            for idxs in groups.values():
                x = to_tensor([fitted[i] for i in idxs]).to(self.device)
                y = to_uint8(run_padded(self.net, x, self.multiple).float())
                for i, out in zip(idxs, y, strict=True):
                    outputs[i] = out
        results = []
        for im, out in zip(images, outputs, strict=True):
            out = to_rgb(out)
            if out.shape[:2] != im.shape[:2]:
                import cv2

                out = cv2.resize(out, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_CUBIC)
            results.append(out)
        return results
