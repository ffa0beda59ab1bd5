"""util.image CIELAB conversions used by the colorization model and dataset (kept apart from
test_image.py, which covers loading and the uint8 <-> tensor conversions)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from util.image import (
    LAB_AB_SCALE,
    LAB_L_SCALE,
    lab_tensors_to_rgb,
    lab_to_rgb,
    lab_to_rgb_float,
    rgb_to_lab,
    to_lab_tensors,
    to_uint8,
)


@pytest.mark.parametrize("rgb, lab", [
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),  # published sRGB primaries (D65)
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
])
def test_known_colours(rgb, lab):
    out = rgb_to_lab(np.array(rgb, np.uint8))
    assert out.shape == (3,) and out.dtype == np.float32
    np.testing.assert_allclose(out, lab, atol=1e-2)  # 4-digit matrix constants


def test_every_shape_and_round_trip_is_exact_for_uint8():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (3, 7, 5, 3), dtype=np.uint8)
    lab = rgb_to_lab(batch)
    assert lab.shape == batch.shape
    np.testing.assert_array_equal(lab[1], rgb_to_lab(batch[1]))  # batch == per image
    np.testing.assert_array_equal(lab_to_rgb(lab), batch)
    every = np.stack(np.meshgrid(np.arange(0, 256, 5), np.arange(0, 256, 5), np.arange(0, 256, 5)), -1)
    every = every.reshape(-1, 3).astype(np.uint8)
    np.testing.assert_array_equal(lab_to_rgb(rgb_to_lab(every)), every)


@pytest.mark.filterwarnings("ignore:Conversion from CIE-LAB")  # skimage notes its own clipping
def test_matches_scikit_image():
    color = pytest.importorskip("skimage.color")
    img = np.random.default_rng(1).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    np.testing.assert_allclose(rgb_to_lab(img), color.rgb2lab(img), atol=1e-4)
    lab = color.rgb2lab(img) + np.random.default_rng(2).normal(0, 20, img.shape)  # some out of gamut
    np.testing.assert_allclose(lab_to_rgb_float(lab), np.clip(color.lab2rgb(lab), 0, 1), atol=1e-5)


def test_out_of_gamut_is_clipped_and_float_input_is_0_to_1():
    out = lab_to_rgb(np.array([[50.0, 200.0, -200.0], [150.0, 0.0, 0.0], [-20.0, 0.0, 0.0]]))
    assert out.dtype == np.uint8 and out.shape == (3, 3)
    np.testing.assert_array_equal(out[1], [255, 255, 255])
    np.testing.assert_array_equal(out[2], [0, 0, 0])
    np.testing.assert_allclose(rgb_to_lab(np.ones(3)), [100.0, 0.0, 0.0], atol=1e-2)


@pytest.mark.parametrize("bad, err", [
    (np.zeros((4, 4), np.uint8), ValueError), (np.zeros((2, 3), np.int32), TypeError), ([0, 0, 0], TypeError),
])
def test_bad_input_is_refused(bad, err):
    with pytest.raises(err):
        rgb_to_lab(bad)


def test_tensor_encoding_and_display_round_trip():
    img = np.random.default_rng(3).integers(0, 256, (2, 8, 6, 3), dtype=np.uint8)
    L, ab = to_lab_tensors(img)
    assert L.shape == (2, 1, 8, 6) and ab.shape == (2, 2, 8, 6) and L.dtype == ab.dtype == torch.float32
    lab = rgb_to_lab(img)
    np.testing.assert_allclose(L[:, 0].numpy(), lab[..., 0] / LAB_L_SCALE - 1.0, atol=1e-6)
    np.testing.assert_allclose(ab.permute(0, 2, 3, 1).numpy(), lab[..., 1:] / LAB_AB_SCALE, atol=1e-6)
    assert float(L.min()) >= -1.0 and float(L.max()) <= 1.0
    rgb = lab_tensors_to_rgb(L, ab)
    assert rgb.shape == (2, 3, 8, 6) and float(rgb.min()) >= -1.0 and float(rgb.max()) <= 1.0
    np.testing.assert_array_equal(to_uint8(rgb), img)
    L1, ab1 = to_lab_tensors(img[0])
    assert torch.equal(L1, L[:1]) and torch.equal(ab1, ab[:1])


def test_grey_has_zero_ab_and_display_checks_shapes():
    grey = np.repeat(np.arange(0, 256, 17, dtype=np.uint8)[None, :, None], 3, axis=2)
    _, ab = to_lab_tensors(grey)
    assert float(ab.abs().max()) < 1e-4
    with pytest.raises(ValueError, match="`ab` must be a tensor"):
        lab_tensors_to_rgb(torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="share N, H and W"):
        lab_tensors_to_rgb(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 5))
