"""Fixtures for the data package tests: option namespaces and generated image folders."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _make_opt(**overrides) -> argparse.Namespace:
    opt = dict(dataroot="unused", phase="train", direction="AtoB", input_nc=3, output_nc=3, serial_batches=False,
               num_threads=0, batch_size=1, load_size=64, crop_size=32, max_dataset_size=float("inf"),
               preprocess="resize_and_crop", no_flip=False, isTrain=True, seed=0, model="cycle_gan",
               dataset_mode="unaligned")
    opt.update(overrides)
    return argparse.Namespace(**opt)


def _write_png(path: Path, w: int = 70, h: int = 50, seed: int = 0, value: int | None = None) -> Path:
    """Random-noise (or constant ``value``) RGB PNG of w x h pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if value is None:
        arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    else:
        arr = np.full((h, w, 3), value, dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def make_opt():
    return _make_opt


@pytest.fixture
def write_png():
    return _write_png


@pytest.fixture
def unaligned_root(tmp_path: Path) -> Path:
    """``trainA`` with 3 and ``trainB`` with 5 noise images of 70x50."""
    for i in range(3):
        _write_png(tmp_path / "trainA" / f"a{i}.png", seed=i)
    for i in range(5):
        _write_png(tmp_path / "trainB" / f"b{i}.png", seed=100 + i)
    return tmp_path
