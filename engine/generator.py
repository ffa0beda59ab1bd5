"""The generator stage of pixelize: a loaded generator applied to uint8 images of any size, in batches."""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from util.image import to_rgb

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


class GeneratorStage:
    """A loaded generator applied to uint8 images of any size, in batches, under inference_mode."""

    def __init__(self, path: str, *, overrides: dict[str, Any], device: "str | torch.device", gen_size: int,
                 scale: float | None = None) -> None:
        """``scale``: resize factor applied to every input before the generator (None = none); a shipped
        generator trained at cell ``C`` gets ``C / --pixel_size``, so one output cell is ``C`` of its pixels."""
        import torch

        from models import networks
        from models.inference import load_generator

        self.torch = torch
        self.device = torch.device(device)
        self.net, self.config = load_generator(path, overrides=overrides, device=self.device)
        self.multiple = networks.required_multiple(self.config["netG"])
        self.gen_size = gen_size
        self.scale = scale
        self.lock = threading.Lock()
        logger.info("generator: %s (%s) on %s", path,
                    ", ".join(f"{k}={v}" for k, v in self.config.items()), self.device)

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
        from models.inference import run_padded
        from util.image import to_tensor, to_uint8

        fitted = [self._fit(to_rgb(im)) for im in images]
        if self.config["input_nc"] == 1:
            fitted = [np.round(im @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None] for im in fitted]
        outputs: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(fitted):
            groups.setdefault(im.shape, []).append(i)
        with self.lock, self.torch.inference_mode():
            for idxs in groups.values():
                x = to_tensor([fitted[i] for i in idxs]).to(self.device)
                y = to_uint8(run_padded(self.net, x, self.multiple))
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
