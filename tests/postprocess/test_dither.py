"""Tests for postprocess.dither."""
from __future__ import annotations

import numpy as np
import pytest

from postprocess import pixelize_image
from postprocess.color import srgb_to_lab
from postprocess.dither import bayer_matrix, check_dither, dither_labels, floyd_steinberg, ordered_dither

BW = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)


def test_bayer_matrix():
    np.testing.assert_allclose(bayer_matrix(2), [[0.125, 0.625], [0.875, 0.375]])
    np.testing.assert_allclose(np.sort(bayer_matrix(4).ravel()), (np.arange(16) + 0.5) / 16)
    with pytest.raises(ValueError, match="power of two"):
        bayer_matrix(3)


def test_ordered_halfway_is_a_50_percent_pattern():
    pal = srgb_to_lab(BW)
    cells = np.broadcast_to(pal.mean(axis=0), (4, 4, 3)).copy()
    labels = ordered_dither(cells, pal)
    assert labels.sum() == 8
    assert labels[0, 0] != labels[0, 1]


def test_ordered_exact_palette_colours_are_kept():
    pal = srgb_to_lab(BW)
    idx = np.array([[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ordered_dither(pal[idx], pal), idx)


def test_floyd_steinberg_preserves_the_mean():
    pal = srgb_to_lab(BW)
    target = pal[0] * 0.75 + pal[1] * 0.25
    labels = floyd_steinberg(np.broadcast_to(target, (16, 16, 3)).copy(), pal)
    assert set(np.unique(labels).tolist()) == {0, 1}
    assert abs(pal[labels].reshape(-1, 3).mean(axis=0)[0] - target[0]) < 1.5


def test_floyd_steinberg_mask():
    pal = srgb_to_lab(BW)
    mask = np.ones((3, 3), bool)
    mask[1, 1] = False
    labels = dither_labels(np.zeros((3, 3, 3)), pal, "floyd-steinberg", mask)
    assert labels[1, 1] == -1
    assert (labels[mask] == 0).all()


@pytest.mark.parametrize("mode", ["ordered", "floyd-steinberg", "fs", "floyd_steinberg"])
def test_pipeline_dithering_stays_in_palette(mode):
    img = np.random.default_rng(0).integers(0, 256, (40, 48, 3)).astype(np.uint8)
    out = pixelize_image(img, pixel_size=4, palette=BW, dither=mode)
    assert set(np.unique(out).tolist()) <= {0, 255}
    assert (out == out[..., :1]).all()


def test_check_dither():
    assert check_dither("Floyd_Steinberg") == "floyd-steinberg"
    with pytest.raises(ValueError, match="dither"):
        check_dither("bogus")
    with pytest.raises(TypeError, match="dither"):
        check_dither(3)
    with pytest.raises(ValueError, match="map_to_palette"):
        dither_labels(np.zeros((1, 1, 3)), srgb_to_lab(BW), "none", np.ones((1, 1), bool))
