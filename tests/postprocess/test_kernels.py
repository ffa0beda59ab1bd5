"""The compiled kernels against their plain definitions in :mod:`postprocess.reference`.

Seeded random data throughout; results are compared exactly where the kernel and the reference
sum in the same order, and to a tight tolerance where they do not (CIEDE2000 written two ways,
weighted sums in another order). Hand-made cases pin the special rules (ties, empty clusters,
early stops, untouched inputs).
"""
from __future__ import annotations

import numpy as np
import pytest

from postprocess import _kernels as K
from postprocess import reference as R
from postprocess.color import to_de_space


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def _lab(rng: np.random.Generator, n: int, ab: float = 60.0) -> np.ndarray:
    return np.column_stack([rng.uniform(0, 100, n), rng.uniform(-ab, ab, n), rng.uniform(-ab, ab, n)])


def test_every_public_kernel_is_exported_and_names_its_reference():
    import inspect

    names = {
        "reduce_cells_u8": "reduce_cells",
        "reduce_cells_weighted": "reduce_cells",
        "srgb_u8_to_xyzn": "srgb_to_xyzn",
        "srgb_float_to_xyzn": "srgb_to_xyzn",
    }
    assert len(K.__all__) == len(set(K.__all__)) == 32
    for name in K.__all__:
        kernel = getattr(K, name)
        ref = names.get(name, name)
        assert callable(getattr(R, ref)), name
        assert f":func:`postprocess.reference.{ref}" in inspect.getdoc(kernel.py_func), name


# ---------------------------------------------------------------------------------------------
# Palette kernels


def test_nearest_matches_reference(rng):
    x, c = rng.normal(size=(300, 3)) * 30, rng.normal(size=(7, 3)) * 30
    assign, dmin = K.nearest(x, c)
    ref_a, ref_d = R.nearest(x, c)
    np.testing.assert_array_equal(assign, ref_a)
    np.testing.assert_array_equal(dmin, ref_d)


def test_nearest_first_minimum_wins_on_ties():
    x = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    c = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    for f in (K.nearest, R.nearest):
        assign, dmin = f(x, c)
        assert assign.tolist() == [0, 0]
        assert dmin.tolist() == [1.0, 16.0]


def test_centroids_match_reference(rng):
    x, w = rng.normal(size=(500, 3)) * 30, rng.random(500) + 0.01
    c = rng.normal(size=(9, 3)) * 30
    assign = rng.integers(0, 8, 500)  # centre 8 is empty
    out = K.centroids(x, w, assign, c)
    np.testing.assert_array_equal(out, R.centroids(x, w, assign, c))
    np.testing.assert_array_equal(out[8], c[8])


def test_centroids_weighted_means_and_empty_cluster_keeps_centre():
    x = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 30.0, 0.0]])
    w = np.array([1.0, 3.0, 2.0])
    c = np.array([[9.0, 9.0, 9.0], [1.0, 2.0, 3.0], [7.0, 7.0, 7.0]])
    out = K.centroids(x, w, np.array([0, 0, 2]), c)
    np.testing.assert_allclose(out, [[7.5, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 30.0, 0.0]])


@pytest.mark.parametrize("iters", [1, 3, 20])
def test_lloyd_matches_reference(rng, iters):
    x = np.vstack([rng.normal(m, 3.0, size=(100, 3)) for m in (0.0, 40.0, 80.0)])
    w = rng.random(300) + 0.1
    c = x[[0, 1, 2, 150]].copy()
    out_c, out_a, out_d = K.lloyd(x, w, c, iters)
    ref_c, ref_a, ref_d = R.lloyd(x, w, c, iters)
    np.testing.assert_array_equal(out_c, ref_c)
    np.testing.assert_array_equal(out_a, ref_a)
    np.testing.assert_array_equal(out_d, ref_d)
    np.testing.assert_array_equal(c, x[[0, 1, 2, 150]])  # the input centres are not modified


def test_weiszfeld_matches_reference(rng):
    x, w = rng.normal(size=(400, 3)) * 20, rng.random(400) + 0.05
    c = np.vstack([x[:5], x[:1] + 0.1])  # samples on a centre: the 0.5 floor
    new, assign = K.weiszfeld(x, w, c)
    ref_new, ref_assign = R.weiszfeld(x, w, c)
    np.testing.assert_array_equal(assign, ref_assign)
    np.testing.assert_array_equal(new, ref_new)


def test_weiszfeld_moves_towards_the_median():
    # One cluster: four points on a line and a far outlier. The mean is pulled to 22;
    # a Weiszfeld step from the mean moves towards the median (2), not the mean.
    x = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0], [3.0, 0, 0], [104.0, 0, 0]])
    w = np.ones(5)
    c = np.array([[22.0, 0.0, 0.0]])
    new, assign = K.weiszfeld(x, w, c)
    d = np.abs(x[:, 0] - 22.0)
    expected = (x[:, 0] / d).sum() / (1.0 / d).sum()
    assert assign.tolist() == [0] * 5
    assert new[0, 0] == pytest.approx(expected)
    assert new[0, 0] < 22.0


def test_min_sqdist_update_matches_reference_in_place(rng):
    x = rng.normal(size=(300, 3)) * 10
    d = np.where(rng.random(300) < 0.3, np.inf, rng.random(300) * 300)
    expected = R.min_sqdist_update(x, x[7], d)
    K.min_sqdist_update(x, x[7], d)
    np.testing.assert_array_equal(d, expected)
    assert d[7] == 0.0


def test_kmeanspp_matches_reference(rng):
    x = rng.normal(size=(200, 3)) * 20
    w = rng.random(200) + 0.05
    u = np.random.default_rng(4).random(6)
    np.testing.assert_array_equal(K.kmeanspp(x, w, u), R.kmeanspp(x, w, u))
    # Three distinct points, five draws: seeding stops once every sample is a centre.
    few = np.array([[0.0, 0, 0], [10.0, 0, 0], [0.0, 10, 0]])
    assert len(K.kmeanspp(few, np.ones(3), u[:5])) == len(R.kmeanspp(few, np.ones(3), u[:5])) == 3


@pytest.mark.parametrize("bits", [3, 4, 6])
def test_bin_means_match_reference(rng, bits):
    colors = rng.integers(0, 256, (300, 3)).astype(np.uint8)
    w = rng.random(300) + 0.1
    mean, ws = K.bin_means(colors, w, bits)
    ref_mean, ref_ws = R.bin_means(colors, w, bits)
    np.testing.assert_array_equal(ws, ref_ws)
    np.testing.assert_array_equal(mean, ref_mean)


def test_minority_group_matches_reference(rng):
    x = np.column_stack([rng.uniform(20, 80, 400), rng.uniform(-50, 50, 400), rng.uniform(-50, 50, 400)])
    w = rng.random(400) / 400
    c = np.array([[50.0, 0.0, 0.0], [60.0, 30.0, 30.0]])
    lab = np.ascontiguousarray(x * [0.5, 1.0, 1.0])
    assign, _ = K.nearest(x, c)
    for n_seeds in (1, 16, 1000):
        cand, mass = K.minority_group(x, lab, w, c, assign, 8.0, 0.5, 10.0, n_seeds)
        ref_cand, ref_mass = R.minority_group(x, lab, w, c, assign, 8.0, 0.5, 10.0, n_seeds)
        assert mass == pytest.approx(ref_mass, rel=1e-12)
        np.testing.assert_allclose(cand, ref_cand, rtol=1e-12)
    # Nothing mis-coloured: weight 0.
    _, none = K.minority_group(x, lab, w, c, assign, 1e9, 0.5, 10.0, 16)
    assert none == 0.0 == R.minority_group(x, lab, w, c, assign, 1e9, 0.5, 10.0, 16)[1]


def test_restore_chroma_matches_reference(rng):
    lab = _lab(rng, 500)
    w = rng.random(500) + 0.01
    c = _lab(rng, 8) * [1.0, 0.3, 0.3]
    c[7, 1:] = 0.0  # achromatic centre: stays
    assign = rng.integers(0, 7, 500)  # ... and has no members
    for target in (0.0, 20.0, 200.0):
        np.testing.assert_allclose(K.restore_chroma(lab, w, c, assign, target, 1.04),
                                   R.restore_chroma(lab, w, c, assign, target, 1.04), rtol=1e-12, atol=1e-12)


def test_restore_chroma_member_chroma_then_target():
    lab = np.array([[50.0, 30.0, 0.0], [50.0, 0.0, 30.0], [60.0, 2.0, 0.0]])
    w = np.array([0.4, 0.4, 0.2])
    # Centre 0 is the grey-ish mean of two saturated members (chroma 15 vs members' 30).
    c = np.array([[50.0, 7.5, 7.5 * 1.0], [60.0, 2.0, 0.0]])
    assign = np.array([0, 0, 1])
    out = K.restore_chroma(lab, w, c, assign, 0.0, 1.04)
    cc = np.hypot(c[0, 1], c[0, 2])
    expect = min(30.0 / cc, 1.6)  # capped at x1.6
    np.testing.assert_allclose(out[0, 1:], c[0, 1:] * expect)
    np.testing.assert_allclose(out[1], c[1])  # already at its member's chroma
    assert out[0, 0] == 50.0
    # A chroma target: everything scaled by one factor so usage-weighted chroma = 1.04 x target
    # (here within the 1..1.3 range).
    tgt = K.restore_chroma(lab, w, c, assign, 20.0, 1.04)
    have = (0.8 * np.hypot(*out[0, 1:]) + 0.2 * np.hypot(*out[1, 1:]))
    np.testing.assert_allclose(tgt[:, 1:], out[:, 1:] * min(max(1.04 * 20.0 / have, 1.0), 1.3))


def test_repel_matches_reference_and_separates():
    c = np.array([[50.0, 10.0, 10.0], [52.0, 11.0, 9.0], [53.0, 9.0, 12.0], [90.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    wc = np.array([0.5, 0.1, 0.2, 0.1, 0.1])
    out = K.repel(c, wc, 8.0, 8)
    np.testing.assert_allclose(out, R.repel(c, wc, 8.0, 8), rtol=1e-9, atol=1e-9)
    d = K.pairwise_de00(out)
    assert d.min() > 7.0  # far closer to 8 than the 2-4 it started at
    assert (out[:, 0] >= 0.0).all() and (out[:, 0] <= 100.0).all()
    # The heavy cluster moves least.
    moved = np.linalg.norm(out - c, axis=1)
    assert moved[0] < moved[1] and moved[0] < moved[2]
    # Already separated: unchanged.
    np.testing.assert_array_equal(K.repel(c[[0, 3, 4]], wc[[0, 3, 4]], 8.0, 8), c[[0, 3, 4]])


def test_repel_matches_reference_on_random_centres(rng):
    for _ in range(5):
        c = _lab(rng, 10, 20.0)
        c[9] = c[8]  # coincident centres separate along L*
        wc = rng.random(10) + 0.05
        np.testing.assert_allclose(K.repel(c, wc, 6.0, 6), R.repel(c, wc, 6.0, 6), rtol=1e-9, atol=1e-9)


def test_hue_families_k_matches_reference(rng):
    from postprocess.palette_gen import _HUE_KERNEL

    for trial in range(40):
        n = int(rng.integers(1, 400))
        # A few hue clusters plus greys, so families, folding and the grey ramp all occur.
        centres = rng.uniform(0, 360, int(rng.integers(1, 6)))
        hue = (rng.choice(centres, n) + rng.normal(0, 8, n)) % 360.0
        chroma = np.where(rng.random(n) < 0.3, rng.uniform(0, 0.15, n), rng.uniform(0.15, 1.0, n))
        lum = rng.uniform(0, 100, n)
        w = rng.random(n) + 0.01
        args = (hue, chroma, lum, w, _HUE_KERNEL, 0.15, 0.03, 5.0, 6)
        assert K.hue_families_k(*args) == R.hue_families_k(*args), trial


# ---------------------------------------------------------------------------------------------
# Colour kernels


def test_de00_matches_reference(rng):
    a, b = _lab(rng, 500, 100.0), _lab(rng, 500, 100.0)
    b[:20, 1:] = 0.0  # achromatic special case
    got = np.array([K.de00(*a[i], *b[i]) for i in range(500)])
    ref = np.array([R.de00(*a[i], *b[i]) for i in range(500)])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)
    # Hues exactly 180 degrees apart (the mean hue is discontinuous there, so only pairs whose
    # angles are exact in floating point are compared): the formula's (h1 + h2) / 2 case.
    for p in [(50.0, 0.0, 10.0, 60.0, 0.0, -10.0), (40.0, 20.0, 0.0, 45.0, -20.0, 0.0)]:
        assert K.de00(*p) == pytest.approx(R.de00(*p), rel=1e-12)
    # With h2' - h1' = -180 exactly the kernel takes dH' positive (the sign of a zero cross
    # product) where the formula has it negative; only the small R_T cross term notices.
    p = (70.0, 0.0, -30.0, 70.0, 0.0, 5.0)
    assert K.de00(*p) == pytest.approx(R.de00(*p), rel=1e-6)
    # Sharma et al. (2005) test pair 1: 2.0425.
    assert K.de00(50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485) == pytest.approx(2.0425, abs=1e-4)


def test_de00_sq_rotation_term_skipped_only_where_negligible(rng):
    # Mean hues all round the circle, the blue region (where R_T matters) included.
    h = np.radians(np.arange(0.0, 360.0, 0.5))
    c = rng.uniform(5, 80, len(h))
    a = np.column_stack([rng.uniform(20, 80, len(h)), c * np.cos(h), c * np.sin(h)])
    b = a + rng.normal(0, 3, a.shape)
    args = [(*a[i], np.hypot(a[i, 1], a[i, 2]), *b[i], np.hypot(b[i, 1], b[i, 2])) for i in range(len(h))]
    got = np.array([K.de00_sq(*p) for p in args])
    ref = np.array([R.de00_sq(*p) for p in args])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    # Sharma et al. (2005) pair 7 has a blue mean hue (the rotation term is in use): 2.3669.
    p = (50.0, 0.0, 0.0, 0.0, 50.0, -1.0, 2.0, np.hypot(1.0, 2.0))
    assert np.sqrt(K.de00_sq(*p)) == pytest.approx(2.3669, abs=1e-4)
    q = (50.0, 2.5, 0.0, 2.5, 50.0, 0.0, -2.5, 2.5)  # pair 17: mean hue 315 degrees, 4.3065
    assert np.sqrt(K.de00_sq(*q)) == pytest.approx(4.3065, abs=1e-4)


def test_pairwise_de00_matches_reference(rng):
    c = _lab(rng, 12)
    d = K.pairwise_de00(c)
    np.testing.assert_allclose(d, R.pairwise_de00(c), rtol=1e-9)
    np.testing.assert_array_equal(d, d.T)
    assert np.isinf(np.diag(d)).all()


def test_map_de00_matches_reference(rng):
    cells, pal = _lab(rng, 2000), _lab(rng, 9)
    cu, pu = to_de_space(cells), to_de_space(pal)
    labels = K.map_de00(cells, cu, pal, pu, 2.25)
    np.testing.assert_array_equal(labels, R.map_de00(cells, cu, pal, pu, 2.25))
    nearest_u = np.argmin(R.sqdist(cu, pu), axis=1)
    assert (labels != nearest_u).any()  # CIEDE2000 overturned some de-space choices
    # With every colour a candidate the pick is the exhaustive CIEDE2000 nearest.
    all_labels = K.map_de00(cells, cu, pal, pu, np.inf)
    exhaustive = [int(np.argmin([R.de00(*cl, *pe) for pe in pal])) for cl in cells[:300]]
    np.testing.assert_array_equal(all_labels[:300], exhaustive)
    one = K.map_de00(cells, cu, pal[:1], pu[:1], 2.25)
    assert one.tolist() == R.map_de00(cells, cu, pal[:1], pu[:1], 2.25).tolist() == [0] * 2000


def test_chroma_warp_matches_reference(rng):
    x = _lab(rng, 1000)
    x[:10, 1:] = 0.0
    kc = K.scaled_chroma(x, 0.045)
    np.testing.assert_array_equal(kc, R.scaled_chroma(x, 0.045))
    new_kc = np.log1p(kc)
    np.testing.assert_array_equal(K.rescale_chroma(x, kc, new_kc, 0.045e-9), R.rescale_chroma(x, kc, new_kc, 0.045e-9))


def test_hue_and_chroma_u8_match_reference(rng):
    rgb = np.vstack([rng.integers(0, 256, (20000, 3), dtype=np.uint8),
                     [[0, 0, 0], [255, 255, 255], [90, 90, 90], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 1],
                      [200, 200, 10], [10, 200, 200], [200, 10, 200]]]).astype(np.uint8)
    hue, vs = K.hue_and_chroma_u8(rgb)
    ref_hue, ref_vs = R.hue_and_chroma_u8(rgb)
    np.testing.assert_array_equal(hue, ref_hue)
    np.testing.assert_array_equal(vs, ref_vs)
    assert ((hue >= 0.0) & (hue < 360.0)).all()


def test_srgb_kernels_match_reference(rng):
    from postprocess import color

    u8 = rng.integers(0, 256, (3000, 3), dtype=np.uint8)
    xyz = K.srgb_u8_to_xyzn(u8, color._LIN_LUT, color._RGB_TO_XYZN)
    np.testing.assert_array_equal(xyz, R.srgb_to_xyzn(u8, color._RGB_TO_XYZN))
    lab = K.xyzn_to_lab(xyz, np.cbrt(xyz), color._EPS, color._KAPPA)
    np.testing.assert_array_equal(lab, R.xyzn_to_lab(xyz, color._EPS, color._KAPPA))
    np.testing.assert_allclose(lab, R.srgb_to_lab(u8), rtol=0, atol=1e-10)
    # Float input: interpolated between the exact points (every 1/64), out-of-range values by formula.
    fl = np.vstack([rng.uniform(0, 255, (3000, 3)), [[0.0, 255.0, 0.01], [-4.0, 300.0, 128.0]]])
    xyz = K.srgb_float_to_xyzn(fl, color._LIN_FINE, float(color._FINE_STEPS), color._RGB_TO_XYZN)
    np.testing.assert_allclose(xyz, R.srgb_to_xyzn(fl, color._RGB_TO_XYZN), rtol=0, atol=1e-8)
    np.testing.assert_allclose(xyz[-2:], R.srgb_to_xyzn(fl[-2:], color._RGB_TO_XYZN), rtol=0, atol=1e-12)
    lab = K.xyzn_to_lab(xyz, np.cbrt(xyz), color._EPS, color._KAPPA)
    np.testing.assert_allclose(lab, R.srgb_to_lab(fl), rtol=0, atol=1e-5)
    # Integer-valued floats hit the exact points.
    np.testing.assert_array_equal(color.srgb_to_lab(u8.astype(np.float32)), color.srgb_to_lab(u8))


def test_lab_to_srgb_kernels_match_reference(rng):
    from postprocess import color

    lab = np.vstack([_lab(rng, 3000, 110.0), [[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [2.0, 1.0, -1.0]]])
    lin = K.lab_to_linear(lab, color._XYZN_TO_RGB, color._EPS, color._KAPPA)
    np.testing.assert_array_equal(lin, R.lab_to_linear(lab, color._XYZN_TO_RGB, color._EPS, color._KAPPA))
    root = np.power(np.maximum(lin, 0.0031308), 1 / 2.4)
    for round_u8 in (False, True):
        np.testing.assert_array_equal(K.linear_to_srgb(lin, root, round_u8), R.linear_to_srgb(lin, round_u8))


# ---------------------------------------------------------------------------------------------
# Cell kernels


def test_luma_u8_matches_reference(rng):
    img = np.vstack([rng.integers(0, 256, (4000, 3), dtype=np.uint8),
                     np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)])
    assert [int(K.luma_u8(*px)) for px in img] == R.luma_u8(img).tolist()


@pytest.mark.parametrize("p", [1, 3, 8])
def test_reduce_cells_u8_matches_reference_exactly(rng, p):
    img = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)  # partial last cells for p = 3 and 8
    img[:8, :8] = 77  # a flat cell: no bright half
    got = K.reduce_cells_u8(img, p)
    ref = R.reduce_cells(img, p)
    assert got[0].shape == (-(-37 // p), -(-29 // p), 3)
    for a, b in zip(got, ref[:4], strict=True):
        np.testing.assert_array_equal(a, b)


def test_reduce_cells_u8_flat_cell_has_no_bright_half():
    img = np.full((8, 8, 3), 77, np.uint8)
    mean, hi, lo, frac = K.reduce_cells_u8(img, 8)
    assert frac[0, 0] == 0.0
    assert mean[0, 0].tolist() == hi[0, 0].tolist() == lo[0, 0].tolist() == [77.0, 77.0, 77.0]


@pytest.mark.parametrize("p", [1, 3, 8])
def test_reduce_cells_weighted_matches_reference(rng, p):
    img = rng.integers(0, 256, (21, 19, 3), dtype=np.uint8)  # partial last cells at p = 3 and 8
    wt = rng.random((21, 19)).astype(np.float32)
    wt[:8, :8] = 0.0  # a fully transparent cell
    wt[rng.random((21, 19)) < 0.2] = 0.0
    got = K.reduce_cells_weighted(img, wt, p)
    ref = R.reduce_cells(img, p, wt)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    if p == 8:
        assert got[0][0, 0].tolist() == [0.0, 0.0, 0.0] and got[3][0, 0] == 0.0 and got[4][0, 0] == 0.0


def test_reduce_cells_weighted_with_unit_weights_is_reduce_cells_u8(rng):
    img = rng.integers(0, 256, (21, 19, 3), dtype=np.uint8)
    got = K.reduce_cells_weighted(img, np.ones((21, 19), np.float32), 4)
    for a, b in zip(got[:4], K.reduce_cells_u8(img, 4), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_prev", [False, True])
def test_edge_aware_matches_reference(rng, use_prev):
    img = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    img[:8, :8] = 30  # one-sided cell
    mean, hi, lo, frac = K.reduce_cells_u8(img, 4)
    prev = rng.random(frac.shape) < 0.5
    args = (mean, hi, lo, frac, prev, use_prev, 0.1, 20.0, 120.0)
    colors, side = K.edge_aware(*args)
    ref_colors, ref_side = R.edge_aware(*args)
    assert colors.dtype == ref_colors.dtype == np.float32
    np.testing.assert_array_equal(side, ref_side)
    np.testing.assert_array_equal(colors, ref_colors)


def test_edge_aware_blend_and_hysteresis():
    mean = np.full((1, 3, 3), 100.0)
    hi = np.full((1, 3, 3), 250.0)
    lo = np.full((1, 3, 3), 10.0)  # halves 240 luma levels apart: a strong contour
    frac = np.array([[0.6, 0.45, 0.0]])
    colors, side = K.edge_aware(mean, hi, lo, frac, np.zeros((1, 3), bool), False, 0.0, 112.0, 224.0)
    assert colors.dtype == np.float32
    assert side.tolist() == [[True, False, False]]
    # Contrast above the high threshold: the cell takes its majority half; a one-sided cell its mean.
    np.testing.assert_array_equal(colors[0], [[250.0] * 3, [10.0] * 3, [100.0] * 3])
    # Hysteresis: the previous bright side is kept while the bright share stays >= 0.5 - band.
    _, kept = K.edge_aware(mean, hi, lo, frac, np.array([[True, True, False]]), True, 0.1, 112.0, 224.0)
    assert kept.tolist() == [[True, True, False]]
    # Half-way contrast blends half-way towards the chosen half.
    mid_hi = np.full((1, 3, 3), 100.0 + 84.0)
    mid_lo = np.full((1, 3, 3), 100.0 - 84.0)  # 168 levels: t = (168 - 112) / 112 = 0.5
    c2, _ = K.edge_aware(mean, mid_hi, mid_lo, frac, np.zeros((1, 3), bool), False, 0.0, 112.0, 224.0)
    assert c2[0, 0, 0] == pytest.approx(142.0)


@pytest.mark.parametrize("p", [1, 3, 8])
@pytest.mark.parametrize("weighted", [False, True])
def test_centre_window_means_match_reference(rng, p, weighted):
    rgb = rng.integers(0, 256, size=(21, 19, 3), dtype=np.uint8)  # partial last cells for p = 3 and 8
    weight = rng.random((21, 19)).astype(np.float32) if weighted else None
    if weighted:
        weight[rng.random((21, 19)) < 0.3] = 0.0  # transparent pixels are left out of the range too
    weight_arg = weight if weighted else np.zeros((1, 1), np.float32)
    got = K.centre_window_means(rgb, weight_arg, weighted, p)
    for a, b in zip(got, R.centre_window_means(rgb, p, weight), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)


def test_sharpen_grid_and_capped_variation_match_reference(rng):
    c = rng.random((9, 11, 3)) * 255.0
    valid = rng.random((9, 11)) > 0.2
    lo, hi = c - rng.random((9, 11, 3)) * 40.0, c + rng.random((9, 11, 3)) * 40.0
    for strength in (0.25, 1.0):
        np.testing.assert_allclose(K.sharpen_grid(c, strength, valid, lo, hi),
                                   R.sharpen_grid(c, strength, valid, lo, hi), rtol=1e-6)
    lab = rng.normal(50.0, 20.0, size=(9, 11, 3))
    assert K.capped_variation(lab, valid, 12.0) == pytest.approx(R.capped_variation(lab, valid, 12.0), rel=1e-12)
    assert K.capped_variation(lab[:1, :1], valid[:1, :1], 12.0) == 0.0
    assert R.capped_variation(lab[:1, :1], valid[:1, :1], 12.0) == 0.0


@pytest.mark.parametrize("min_neighbours,max_shift", [(0, np.inf), (3, np.inf), (5, 8.0)])
def test_despeckle_labels_match_reference(rng, min_neighbours, max_shift):
    pal = _lab(rng, 5)
    labels = rng.integers(0, 5, (16, 18)).astype(np.int64)
    labels[rng.random(labels.shape) < 0.6] = 0  # mostly one label, so orphans are common
    labels[rng.random(labels.shape) < 0.1] = -1
    cells = pal[np.maximum(labels, 0)].reshape(-1, 3) + rng.normal(0, 4, (16 * 18, 3))
    for passes in (1, 3):
        out = K.despeckle_labels(labels, cells, pal, passes, min_neighbours, max_shift)
        np.testing.assert_array_equal(out, R.despeckle_labels(labels, cells, pal, passes, min_neighbours, max_shift))


def test_despeckle_synchronous_passes():
    pal = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    labels = np.zeros((5, 5), np.int64)
    labels[2, 2] = 1  # an orphan: every neighbour is 0
    labels[0, 0] = -1  # transparent stays
    cells = np.zeros((25, 3))
    out = K.despeckle_labels(labels, cells, pal, 2, 5, np.inf)
    assert out[2, 2] == 0 and out[0, 0] == -1
    assert labels[2, 2] == 1  # input untouched
    # max_shift keeps a distinct detail: the neighbour colour fits 30 worse than its own.
    pal2 = np.array([[0.0, 0.0, 0.0], [30.0, 0.0, 0.0]])
    cells2 = np.zeros((25, 3))
    cells2[12] = [30.0, 0.0, 0.0]
    assert K.despeckle_labels(labels, cells2, pal2, 2, 5, 10.0)[2, 2] == 1
    # Two adjacent orphans are not orphans of each other's pass: a two-cell line stays.
    line = np.zeros((5, 5), np.int64)
    line[2, 1:3] = 1
    np.testing.assert_array_equal(K.despeckle_labels(line, cells, pal, 2, 5, np.inf), line)


def test_halftone_labels_match_reference(rng):
    pal = np.array([[20.0, 0, 0], [80.0, 10, -10], [50.0, 5, -5], [50.0, 60, 0], [90.0, 0, 0]])
    labels = rng.integers(0, 5, size=(12, 14)).astype(np.int64)
    labels[:, :2] = 0
    labels[:, 3:5] = 1
    labels[:, 2] = 2  # a column of half-tones between 0 and 1
    labels[0, 0] = -1
    cells = pal[np.maximum(labels, 0)].reshape(-1, 3) + rng.normal(0, 0.5, size=(12 * 14, 3))
    cells[5 * 14 + 1] += 10.0  # one textured cell beside the half-tone: that one stays
    out = K.halftone_labels(labels, cells, pal, 20.0, 0.2, 0.2, 4.0)
    ref = R.halftone_labels(labels, cells, pal, 20.0, 0.2, 0.2, 4.0)
    np.testing.assert_array_equal(out, ref)
    assert out[5, 2] == 2
    assert (np.delete(out[1:, 2], 4) != 2).all()  # the rest of the half-tone column is gone
    np.testing.assert_array_equal(labels[:, 2], 2)  # the input is not modified


def test_halftone_labels_match_reference_on_random_grids(rng):
    pal = _lab(rng, 4)
    for _ in range(5):
        labels = np.repeat(rng.integers(-1, 4, (14, 8)), 2, axis=1).astype(np.int64)  # runs of two
        labels[rng.random(labels.shape) < 0.2] = rng.integers(0, 4)
        t = rng.random((14 * 16, 1))
        cells = pal[np.maximum(labels, 0)].reshape(-1, 3) * (1 - t * 0.3) + pal[0] * t * 0.3
        for args in ((10.0, 0.3, 0.2, 8.0), (1.0, 1.0, 0.0, 100.0)):
            np.testing.assert_array_equal(K.halftone_labels(labels, cells, pal, *args),
                                          R.halftone_labels(labels, cells, pal, *args))
