"""Tests for postprocess.video.pixelize_frames."""
from __future__ import annotations

import itertools
from itertools import pairwise

import numpy as np
import pytest

from postprocess import ShotInfo, pixelize_frames, pixelize_image
from postprocess.metrics import changed_cell_rate


def scene(seed: int = 0, h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([220 * xx + 20, 200 * yy + 30, 150 - 100 * xx * yy], axis=-1)
    if seed:
        img = img[:, ::-1, ::-1]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def noisy(img: np.ndarray, rng: np.random.Generator, sigma: float = 4.0) -> np.ndarray:
    return np.clip(np.rint(img + rng.normal(0, sigma, img.shape)), 0, 255).astype(np.uint8)


def test_streams_lazily_from_an_infinite_generator():
    rng = np.random.default_rng(0)

    def endless():
        while True:
            yield noisy(scene(), rng)

    outs = list(itertools.islice(pixelize_frames(endless(), pixel_size=8, n_colors=6), 3))
    assert len(outs) == 3 and outs[0].shape == (6, 8, 3) and outs[0].dtype == np.uint8


def test_static_noisy_scene_does_not_flicker():
    rng = np.random.default_rng(1)
    shots: list[ShotInfo] = []
    frames = (noisy(scene(), rng) for _ in range(12))
    outs = list(pixelize_frames(frames, pixel_size=8, n_colors=8, on_shot=shots.append))
    assert [s.reason for s in shots] == ["first"]
    assert max(changed_cell_rate(a, b) for a, b in pairwise(outs)) == 0.0
    pal = set(map(tuple, shots[0].palette.tolist()))
    assert all(set(map(tuple, o.reshape(-1, 3).tolist())) <= pal for o in outs)


def test_without_hysteresis_noise_can_flicker_but_palette_is_locked():
    rng = np.random.default_rng(2)
    shots: list[ShotInfo] = []
    frames = (noisy(scene(), rng, 12) for _ in range(5))
    list(pixelize_frames(frames, pixel_size=8, n_colors=8, hysteresis=0.0, on_shot=shots.append))
    assert len(shots) == 1


def test_scene_cut_refits_the_palette():
    rng = np.random.default_rng(3)
    clip = [noisy(scene(0), rng) for _ in range(3)] + [noisy(255 - scene(1), rng) for _ in range(3)]
    shots: list[ShotInfo] = []
    outs = list(pixelize_frames(clip, pixel_size=8, n_colors=6, on_shot=shots.append))
    assert [(s.frame_index, s.reason) for s in shots] == [(0, "first"), (3, "cut")]
    assert changed_cell_rate(outs[2], outs[3]) > 0.5


def test_moving_content_is_followed():
    frames = []
    for i in range(6):
        f = np.full((32, 64, 3), 230, np.uint8)
        f[8:24, 8 * i : 8 * i + 16] = (200, 20, 20)
        frames.append(f)
    outs = list(pixelize_frames(frames, pixel_size=8, n_colors=2))
    for i, o in enumerate(outs):
        red = (o[..., 1] < 100)
        assert red[1:3, i : i + 2].all() and red.sum() == 4


def test_fixed_palette_without_hysteresis_equals_per_frame_pipeline():
    pal = np.array([[0, 0, 0], [255, 255, 255], [200, 60, 60], [40, 160, 60]], np.uint8)
    rng = np.random.default_rng(4)
    frames = [noisy(scene(), rng) for _ in range(3)]
    outs = list(pixelize_frames(frames, pixel_size=8, palette=pal, hysteresis=0.0))
    for f, o in zip(frames, outs, strict=True):
        np.testing.assert_array_equal(o, pixelize_image(f, pixel_size=8, palette=pal))


def test_rgba_frames_keep_alpha_and_dither_modes():
    f = np.dstack([scene(), np.full((48, 64), 255, np.uint8)])
    f[:, :32, 3] = 0
    for mode in ("ordered", "floyd-steinberg"):
        out = list(pixelize_frames([f, f], pixel_size=8, n_colors=4, dither=mode))
        assert out[0].shape == (6, 8, 4)
        assert (out[1][:, :4] == 0).all() and (out[1][:, 4:, 3] == 255).all()
        np.testing.assert_array_equal(out[0], out[1])


def test_errors():
    good = scene()
    with pytest.raises(ValueError, match="frame 2 has shape"):
        list(pixelize_frames([good, good, good[:40]], pixel_size=8))
    with pytest.raises(TypeError, match="frame 0"):
        list(pixelize_frames([good.astype(np.float32)], pixel_size=8))
    with pytest.raises(ValueError, match="scene_threshold"):
        pixelize_frames([good], pixel_size=8, scene_threshold=0.0)
    with pytest.raises(ValueError, match="pixel_size"):
        pixelize_frames([good], pixel_size=0)
    with pytest.raises(TypeError, match="pixel_size"):
        pixelize_frames([good], pixel_size="8")
    with pytest.raises(ValueError, match="larger than the image"):
        list(pixelize_frames([good], pixel_size=100))
    with pytest.raises(TypeError, match="frames"):
        pixelize_frames(5, pixel_size=8)
    with pytest.raises(ValueError, match="hysteresis"):
        pixelize_frames([good], pixel_size=8, hysteresis=-1.0)
    with pytest.raises(ValueError, match="either"):
        pixelize_frames([good], pixel_size=8, n_colors=4, palette=np.zeros((2, 3), np.uint8))
