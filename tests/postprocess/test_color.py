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


def _delta_e00_degrees(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """Textbook CIEDE2000 (Sharma et al. 2005) in degrees, one cos per term: a slow reference."""
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    cb = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    g = 0.5 * (1 - np.sqrt(cb**7 / (cb**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    zero = c1 * c2 == 0
    dh = h2 - h1
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dhh = np.where(zero, 0.0, 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh) / 2))
    hs = h1 + h2
    hm = np.where(np.abs(h1 - h2) <= 180, hs / 2, np.where(hs < 360, (hs + 360) / 2, (hs - 360) / 2))
    hm = np.where(zero, h1 + h2, hm)
    t = (1 - 0.17 * np.cos(np.radians(hm - 30)) + 0.24 * np.cos(np.radians(2 * hm))
         + 0.32 * np.cos(np.radians(3 * hm + 6)) - 0.20 * np.cos(np.radians(4 * hm - 63)))
    cm = (c1 + c2) / 2
    lm = (l1 + l2) / 2
    sl = 1 + 0.015 * (lm - 50) ** 2 / np.sqrt(20 + (lm - 50) ** 2)
    sc, sh = 1 + 0.045 * cm, 1 + 0.015 * cm * t
    rt = -np.sin(np.radians(60 * np.exp(-(((hm - 275) / 25) ** 2)))) * 2 * np.sqrt(cm**7 / (cm**7 + 25.0**7))
    x, y, z = (l2 - l1) / sl, (c2 - c1) / sc, dhh / sh
    return np.sqrt(x * x + y * y + z * z + rt * y * z)


def test_delta_e00_matches_the_degree_form_on_random_colours():
    rng = np.random.default_rng(5)
    a = np.stack([rng.random(5000) * 100, rng.normal(size=5000) * 40, rng.normal(size=5000) * 40], axis=-1)
    b = a + rng.normal(size=a.shape) * rng.random((5000, 1)) * 30
    a[:200, 1:] = 0.0  # achromatic: hue special cases
    b[100:300, 1:] = 0.0
    b[400:500] = a[400:500]
    np.testing.assert_allclose(delta_e00(a, b), _delta_e00_degrees(a, b), rtol=0, atol=1e-9)
