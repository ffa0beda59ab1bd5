"""The names of the networks, losses, initialisations and schedules ``models.networks`` builds.

Torch-free, so that option parsers (and pixelize, which must not load torch when no generator is
used) can offer them as choices without importing the networks.
"""
from __future__ import annotations

GENERATORS: tuple[str, ...] = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
DISCRIMINATORS: tuple[str, ...] = ("basic", "n_layers", "pixel")
NORMS: tuple[str, ...] = ("instance", "batch", "syncbatch", "none")
INIT_TYPES: tuple[str, ...] = ("normal", "xavier", "kaiming", "orthogonal")
GAN_MODES: tuple[str, ...] = ("lsgan", "vanilla", "wgangp")
LR_POLICIES: tuple[str, ...] = ("linear", "step", "plateau", "cosine")
GP_TYPES: tuple[str, ...] = ("real", "fake", "mixed")
PADDING_TYPES: tuple[str, ...] = ("reflect", "replicate", "zero")
