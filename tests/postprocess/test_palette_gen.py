"""Tests for postprocess.palette_gen (PaletteGen)."""
from __future__ import annotations

import numpy as np
import pytest

from postprocess import extract_palette
from postprocess.palette_gen import auto_n_colors, fit_palette, unique_samples

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def patches(colors, size: int = 16) -> np.ndarray:
    """Side-by-side flat patches, one per colour, ``size x size`` each."""
    return np.concatenate([np.full((size, size, 3), c, np.uint8) for c in colors], axis=1)


def test_flat_patches_recover_their_colours_sorted_by_lightness():
    pal = extract_palette(patches([RED, GREEN, BLUE, WHITE]))
    # Sorted dark to light: L* blue 32, red 53, green 88, white 100.
    assert pal.dtype == np.uint8
    assert pal.tolist() == [list(BLUE), list(RED), list(GREEN), list(WHITE)]


def test_more_requested_than_present_returns_the_distinct_colours():
    pal = extract_palette(patches([RED, WHITE]), n_colors=8)
    assert pal.tolist() == [list(RED), list(WHITE)]


def test_fewer_requested_than_present():
    pal = extract_palette(patches([RED, GREEN, BLUE, WHITE, (0, 0, 0)]), n_colors=2)
    assert 1 <= len(pal) <= 2
    assert len(np.unique(pal, axis=0)) == len(pal)


def test_single_colour_image():
    pal = extract_palette(np.full((5, 7, 3), (10, 20, 30), np.uint8))
    assert pal.tolist() == [[10, 20, 30]]


def test_deterministic_and_seed_dependent_inputs_are_valid():
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    a = extract_palette(img, 12, seed=3)
    b = extract_palette(img, 12, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(a) <= 12
    assert len(np.unique(a, axis=0)) == len(a)


def test_large_image_uses_cell_samples():
    img = np.zeros((300, 300, 3), np.uint8)
    img[:, :150] = RED
    img[:, 150:] = BLUE
    assert sorted(map(tuple, extract_palette(img).tolist())) == sorted([BLUE, RED])


def _ramps(rng: np.random.Generator, noise: float) -> np.ndarray:
    """Three hue families, each a lightness ramp, plus a grey ramp."""
    x = np.linspace(0.3, 1.0, 96)[None, :, None]
    rows = [x * np.array(c, float) for c in ([255, 40, 40], [40, 200, 40], [40, 40, 255], [200, 200, 200])]
    img = np.concatenate([np.repeat(r, 24, axis=0) for r in rows], axis=0)
    img = img + rng.normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def test_auto_size_counts_hue_families_and_is_stable_under_noise():
    clean = extract_palette(_ramps(np.random.default_rng(0), 0.0))
    ks = {len(extract_palette(_ramps(np.random.default_rng(s), 4.0))) for s in range(5)}
    assert ks == {len(clean)}
    assert 4 <= len(clean) <= 24  # at least one colour per hue family + the greys


def test_auto_n_colors_flat_and_grey():
    cols, w = unique_samples(patches([RED, GREEN, BLUE, WHITE]).reshape(-1, 3))
    assert auto_n_colors(cols, w) == 4
    grey = np.repeat(np.arange(0, 256, 4, dtype=np.uint8)[:, None], 3, 1)
    k = auto_n_colors(*unique_samples(grey))
    assert 3 <= k <= 6  # a black-to-white ramp gets a few greys (at most _MAX_RAMP)
    with pytest.raises(TypeError, match="`colors` must be a uint8 array of shape"):
        auto_n_colors(cols.astype(np.float64), w)


def test_alpha_weights_exclude_transparent_pixels():
    img = np.zeros((16, 32, 4), np.uint8)
    img[:, :16] = (*RED, 255)
    img[:, 16:] = (0, 255, 0, 0)  # transparent green is ignored
    assert extract_palette(img).tolist() == [list(RED)]


def test_unique_samples_weights():
    cols, w = unique_samples(np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0]], np.uint8), np.array([1.0, 2.0, 0.5]))
    assert cols.tolist() == [[0, 0, 0], [1, 2, 3]]
    assert w.tolist() == [0.5, 3.0]


def test_min_delta_e_separates_colours():
    from postprocess.metrics import palette_distinctness

    img = np.random.default_rng(1).integers(0, 256, (48, 48, 3)).astype(np.uint8)
    pal = extract_palette(img, 8, min_delta_e=15.0)
    assert palette_distinctness(pal)["min"] >= 10.0


def test_errors():
    img = patches([RED])
    with pytest.raises(ValueError, match="n_colors"):
        extract_palette(img, 0)
    with pytest.raises(TypeError, match="n_colors"):
        extract_palette(img, 2.5)
    with pytest.raises(TypeError, match="seed"):
        extract_palette(img, seed="x")
    with pytest.raises(TypeError, match="uint8"):
        extract_palette(img.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        extract_palette(img[..., 0])
    with pytest.raises(ValueError, match="opaque"):
        extract_palette(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="opaque"):
        fit_palette(np.zeros((0, 3), np.uint8), np.zeros(0), 3)


def _minority_scene() -> np.ndarray:
    """64x64 grey shading (dark to light, 8 bands) with a 3 % skin-coloured 11x11 patch."""
    ramp = np.repeat(np.linspace(30, 230, 8).astype(np.uint8), 8)  # 8 grey bands, 8 px each
    img = np.repeat(np.repeat(ramp[:, None], 64, axis=1)[..., None], 3, axis=2).copy()
    img[20:31, 40:51] = (215, 160, 130)  # 121 px = 3.0 % of 4096, hue ~ 50 deg in CIELAB
    return img


def test_minority_skin_patch_gets_its_own_colour():
    from postprocess.color import srgb_to_lab

    img = _minority_scene()
    skin = srgb_to_lab(np.array([[215, 160, 130]], np.uint8))[0]
    for seed in (0, 1, 2):
        pal = extract_palette(img, n_colors=5, seed=seed)
        lab = srgb_to_lab(pal)
        # A palette entry within 3 CIELAB units of the skin colour (not a grey).
        assert np.sqrt(((lab - skin) ** 2).sum(axis=1)).min() < 3.0, (seed, pal.tolist())


def test_minority_colour_is_kept_when_k_means_alone_would_drop_it(monkeypatch):
    import postprocess.palette_gen as pg

    img = _minority_scene()
    monkeypatch.setattr(pg, "_MINORITY_SHARE", 0.0)
    lab = pg.srgb_to_lab(extract_palette(img, n_colors=5))
    assert np.hypot(lab[:, 1], lab[:, 2]).max() < 5.0  # plain k-means: greys only


def test_de_space_round_trip_and_chroma_compression():
    from postprocess.palette_gen import from_de_space, to_de_space

    lab = np.array([[50.0, 0.0, 0.0], [60.0, 40.0, -30.0], [30.0, -80.0, 60.0]])
    u = to_de_space(lab)
    np.testing.assert_allclose(from_de_space(u), lab, atol=1e-9)
    assert u[0].tolist() == [50.0, 0.0, 0.0]
    # Chroma 50 becomes ln(1 + 0.045 * 50) / 0.045, hue angle and L* kept.
    np.testing.assert_allclose(np.hypot(u[1, 1], u[1, 2]), np.log1p(0.045 * 50) / 0.045)
    np.testing.assert_allclose(np.arctan2(u[1, 2], u[1, 1]), np.arctan2(-30.0, 40.0))


def test_fast_helpers_match_their_plain_definitions():
    from postprocess.palette_gen import _compress, _unique_rows

    rng = np.random.default_rng(3)
    colors = rng.integers(0, 256, (500, 3)).astype(np.uint8)
    weights = rng.random(500) + 0.1
    # _compress: weighted means per 16-level RGB bin, bins in ascending code order.
    mean, ws = _compress(colors, weights, bits=4)
    q = colors.astype(np.int32) >> 4
    code = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    uniq, inv = np.unique(code, return_inverse=True)
    np.testing.assert_array_equal(ws, np.bincount(inv, weights=weights))
    ref = np.stack([np.bincount(inv, weights=weights * colors[:, j]) for j in range(3)], axis=1) / ws[:, None]
    np.testing.assert_array_equal(mean, ref)
    assert len(mean) == len(uniq)
    # _unique_rows: same set as np.unique(axis=0).
    pal = colors[rng.integers(0, 20, 30)]
    np.testing.assert_array_equal(_unique_rows(pal), np.unique(pal, axis=0))


def test_unique_inverse_and_draw_match_numpy():
    from postprocess.palette_gen import _compress, _draw, _unique_inverse

    rng = np.random.default_rng(5)
    for code in (rng.integers(0, 1 << 24, 3000).astype(np.int32), rng.integers(0, 50, 700), np.zeros(0, np.int64)):
        uniq, inv = _unique_inverse(code)
        ref_u, ref_inv = np.unique(code, return_inverse=True)
        np.testing.assert_array_equal(uniq, ref_u)
        np.testing.assert_array_equal(inv, ref_inv.ravel())
    # 6-bit binning (the sorted path of _compress) matches a plain np.unique grouping.
    colors = rng.integers(0, 256, (2000, 3)).astype(np.uint8)
    weights = rng.random(2000) + 0.1
    mean, ws = _compress(colors, weights, bits=6)
    q = colors.astype(np.int32) >> 2
    _, inv = np.unique((q[:, 0] << 12) | (q[:, 1] << 6) | q[:, 2], return_inverse=True)
    np.testing.assert_array_equal(ws, np.bincount(inv, weights=weights))
    # _draw: the same indices and generator state as Generator.choice with probabilities.
    for seed in range(50):
        p = rng.random(int(rng.integers(1, 400))) ** 3
        p[rng.random(len(p)) < 0.3] = 0.0
        p[0] += 1e-3
        p = p / p.sum()
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        assert [_draw(r1, p) for _ in range(5)] == [int(r2.choice(len(p), p=p)) for _ in range(5)]
        assert r1.random() == r2.random()
