"""History buffer of generated images for discriminator updates (Shrivastava et al., 2017).

The discriminator is shown a mix of the newest fakes and earlier ones, which damps oscillation.
Randomness comes from the ``random.Random`` passed in, so runs are reproducible, and the pool
(images + random state) can be saved with the training state and restored exactly.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from typing import Any

import torch

logger = logging.getLogger(__name__)


class ImagePool:
    """Buffer of up to ``pool_size`` previously generated images.

    Args:
        pool_size: capacity; 0 disables the pool (``query`` returns its input unchanged).
        rng: source of randomness; default ``random.Random(0)``.
    """

    def __init__(self, pool_size: int, rng: random.Random | None = None) -> None:
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError(f"pool_size (--pool_size) must be a non-negative integer, got {pool_size!r}")
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random or None, got {type(rng).__name__}")
        self.pool_size = pool_size
        self.rng = rng if rng is not None else random.Random(0)
        self.images: list[torch.Tensor] = []

    @property
    def num_imgs(self) -> int:
        """Number of images stored so far (at most ``pool_size``)."""
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch the same shape as ``images`` ``(N, C, H, W)``, drawn from the pool's history.

        Each image is detached. While the pool fills, images are stored and returned as they are.
        Once full, each image is, with probability 0.5, swapped for a random stored one (which is
        returned, and the new image takes its slot); otherwise it is returned as is. With
        ``pool_size == 0`` the input object itself is returned.
        """
        if self.pool_size == 0:
            return images
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"ImagePool.query expects a 4-D (N, C, H, W) tensor, got {shape}")
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                chosen.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                slot = self.rng.randint(0, self.pool_size - 1)
                old = self.images[slot].clone().to(device=image.device, dtype=image.dtype)
                self.images[slot] = image
                chosen.append(old)
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)

    def state_dict(self) -> dict[str, Any]:
        """Plain data for ``torch.save`` (loadable with ``weights_only=True``).

        ``{'pool_size': int, 'images': [CPU tensors (1, C, H, W)], 'rng_state': random.Random.getstate()}``.
        """
        return {
            "pool_size": self.pool_size,
            "images": [img.detach().cpu().clone() for img in self.images],
            "rng_state": self.rng.getstate(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore images and random state saved by :meth:`state_dict` (images stay on the CPU
        until swapped out; ``query`` moves them to the incoming batch's device)."""
        if not isinstance(state, Mapping) or not {"pool_size", "images", "rng_state"} <= set(state):
            raise ValueError("ImagePool state must be a dict with keys 'pool_size', 'images', 'rng_state'")
        if state["pool_size"] != self.pool_size:
            raise ValueError(f"ImagePool state was saved with pool_size={state['pool_size']}, this pool has "
                             f"pool_size={self.pool_size}; use the same --pool_size to resume")
        images = list(state["images"])
        if len(images) > self.pool_size or not all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in images):
            raise ValueError(f"ImagePool state must hold at most {self.pool_size} 4-D tensors")
        version, internal, gauss_next = state["rng_state"]
        self.rng.setstate((version, tuple(internal), gauss_next))
        self.images = [t.clone() for t in images]
