"""Tests for postprocess.color: CIELAB, CIEDE2000, vividness and colour transfer."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import color as skcolor

from postprocess.color import adjust_vividness, color_match, delta_e00, lab_chroma, lab_to_srgb, srgb_to_lab


def _rand(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3)).astype(np.uint8)


def test_srgb_to_lab_matches_skimage():
    x = _rand(500)
    np.testing.assert_allclose(srgb_to_lab(x), skcolor.rgb2lab(x[None])[0], atol=0.01)


def test_known_lab_values():
    lab = srgb_to_lab(np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    np.testing.assert_allclose(lab, [[0, 0, 0], [100, 0, 0]], atol=1e-3)


def test_lab_round_trip_is_exact():
    x = np.concatenate([_rand(2000, 1), np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1)])
    np.testing.assert_array_equal(lab_to_srgb(srgb_to_lab(x)), x)


def test_float_input_equals_uint8_input():
    x = _rand(100, 2)
    np.testing.assert_allclose(srgb_to_lab(x.astype(np.float64)), srgb_to_lab(x), atol=1e-9)


def test_delta_e00_sharma_pairs():
    # Published test data of Sharma, Wu & Dalal (2005), pairs 1 and 17.
    assert delta_e00(np.array([50.0, 2.6772, -79.7751]), np.array([50.0, 0.0, -82.7485])) == pytest.approx(2.0425, abs=1e-4)
    assert delta_e00(np.array([50.0, 2.5, 0.0]), np.array([73.0, 25.0, -18.0])) == pytest.approx(27.1492, abs=1e-4)


def test_delta_e00_matches_skimage_and_is_symmetric():
    a, b = srgb_to_lab(_rand(1000, 3)), srgb_to_lab(_rand(1000, 4))
    np.testing.assert_allclose(delta_e00(a, b), skcolor.deltaE_ciede2000(a, b), atol=1e-9)
    np.testing.assert_allclose(delta_e00(a, b), delta_e00(b, a), atol=1e-9)
    assert np.all(delta_e00(a, a) == 0)


def test_lab_chroma():
    assert lab_chroma(np.array([50.0, 3.0, 4.0])) == pytest.approx(5.0)


def test_adjust_vividness_identity_and_grey():
    img = _rand(64, 5).reshape(8, 8, 3)
    np.testing.assert_array_equal(adjust_vividness(img), img)
    grey = adjust_vividness(img, saturation=0.0)
    assert np.abs(grey.astype(int) - grey[..., :1].astype(int)).max() <= 1


def test_adjust_vividness_raises_chroma_and_keeps_alpha():
    img = np.dstack([_rand(64, 6).reshape(8, 8, 3) // 2 + 60, np.full((8, 8), 77, np.uint8)])
    out = adjust_vividness(img, saturation=1.5, contrast=1.2)
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[..., 3], img[..., 3])
    assert lab_chroma(srgb_to_lab(out[..., :3])).mean() > lab_chroma(srgb_to_lab(img[..., :3])).mean()


def test_color_match_takes_chroma_from_reference():
    src = np.full((4, 4, 3), 128, np.uint8)
    ref = np.zeros((8, 8, 3), np.uint8)
    ref[..., 0] = 200
    out = color_match(src, ref)
    assert out.shape == src.shape
    lab_out, lab_src, lab_ref = srgb_to_lab(out[0, 0]), srgb_to_lab(src[0, 0]), srgb_to_lab(ref[0, 0])
    assert lab_out[0] == pytest.approx(lab_src[0], abs=1.0)
    assert np.degrees(np.arctan2(lab_out[2], lab_out[1])) == pytest.approx(
        np.degrees(np.arctan2(lab_ref[2], lab_ref[1])), abs=3.0
    )
    np.testing.assert_array_equal(color_match(src, ref, strength=0.0), src)


def test_color_match_keeps_alpha():
    src = np.dstack([np.full((4, 4, 3), 100, np.uint8), np.full((4, 4), 9, np.uint8)])
    out = color_match(src, np.full((4, 4, 3), 30, np.uint8))
    np.testing.assert_array_equal(out[..., 3], src[..., 3])


def test_errors():
    with pytest.raises(TypeError, match="uint8"):
        adjust_vividness(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        adjust_vividness(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="saturation"):
        adjust_vividness(np.zeros((2, 2, 3), np.uint8), saturation=-1)
    with pytest.raises(TypeError, match="contrast"):
        adjust_vividness(np.zeros((2, 2, 3), np.uint8), contrast="high")
    with pytest.raises(ValueError, match="strength"):
        color_match(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 3), np.uint8), strength=2.0)
    with pytest.raises(TypeError, match="reference_input"):
        color_match(np.zeros((2, 2, 3), np.uint8), [[0, 0, 0]])
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        srgb_to_lab(np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError, match="numpy array"):
        lab_to_srgb([1, 2, 3])
