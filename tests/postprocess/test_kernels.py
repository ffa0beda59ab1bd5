"""The compiled kernels against plain numpy definitions of the same computations."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from postprocess import _kernels as K
from postprocess.color import delta_e00, to_de_space


def _sq(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def test_nearest_and_sqdist_match_argmin(rng):
    x, c = rng.normal(size=(300, 3)) * 30, rng.normal(size=(7, 3)) * 30
    d = _sq(x, c)
    assign, dmin = K.nearest(x, c)
    np.testing.assert_array_equal(assign, np.argmin(d, axis=1))
    np.testing.assert_allclose(dmin, d.min(axis=1), rtol=1e-12)


def test_nearest_first_minimum_wins_on_ties():
    x = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    c = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assign, dmin = K.nearest(x, c)
    assert assign.tolist() == [0, 0]
    assert dmin.tolist() == [1.0, 16.0]


def test_centroids_weighted_means_and_empty_cluster_keeps_centre():
    x = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 30.0, 0.0]])
    w = np.array([1.0, 3.0, 2.0])
    c = np.array([[9.0, 9.0, 9.0], [1.0, 2.0, 3.0], [7.0, 7.0, 7.0]])
    out = K.centroids(x, w, np.array([0, 0, 2]), c)
    np.testing.assert_allclose(out, [[7.5, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 30.0, 0.0]])


def test_lloyd_matches_plain_iterations(rng):
    x = np.vstack([rng.normal(m, 3.0, size=(100, 3)) for m in (0.0, 40.0, 80.0)])
    w = rng.random(300) + 0.1
    c = x[[0, 1, 2, 150]].copy()
    ref_c = c.copy()
    assign = np.argmin(_sq(x, ref_c), axis=1)
    for _ in range(20):
        ws = np.bincount(assign, weights=w, minlength=4)
        sums = np.stack([np.bincount(assign, weights=w * x[:, j], minlength=4) for j in range(3)], axis=1)
        ref_c = np.where(ws[:, None] > 0, sums / np.maximum(ws, 1e-300)[:, None], ref_c)
        nxt = np.argmin(_sq(x, ref_c), axis=1)
        if np.array_equal(nxt, assign):
            break
        assign = nxt
    out_c, out_a, out_d = K.lloyd(x, w, c, 20)
    np.testing.assert_allclose(out_c, ref_c, rtol=1e-10)
    np.testing.assert_array_equal(out_a, assign)
    np.testing.assert_allclose(out_d, _sq(x, out_c)[np.arange(300), out_a], rtol=1e-10)
    np.testing.assert_array_equal(c, x[[0, 1, 2, 150]])  # the input centres are not modified


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


def test_min_sqdist_update_in_place():
    x = np.array([[0.0, 0, 0], [3.0, 4, 0]])
    d = np.array([np.inf, 1.0])
    K.min_sqdist_update(x, np.array([0.0, 0.0, 0.0]), d)
    assert d.tolist() == [0.0, 1.0]


def test_de00_matches_vectorised_formula(rng):
    a = np.column_stack([rng.uniform(0, 100, 500), rng.uniform(-100, 100, 500), rng.uniform(-100, 100, 500)])
    b = np.column_stack([rng.uniform(0, 100, 500), rng.uniform(-100, 100, 500), rng.uniform(-100, 100, 500)])
    b[:20, 1:] = 0.0  # achromatic special case
    ref = delta_e00(a, b)
    got = np.array([K.de00(*a[i], *b[i]) for i in range(500)])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)
    # Sharma et al. (2005) test pair 1: 2.0425.
    assert K.de00(50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485) == pytest.approx(2.0425, abs=1e-4)


def test_de00_sq_rotation_term_skipped_only_where_negligible(rng):
    # Mean hues all round the circle, the blue region (where R_T matters) included.
    h = np.radians(np.arange(0.0, 360.0, 0.5))
    c = rng.uniform(5, 80, len(h))
    a = np.column_stack([rng.uniform(20, 80, len(h)), c * np.cos(h), c * np.sin(h)])
    b = a + rng.normal(0, 3, a.shape)
    ref = delta_e00(a, b) ** 2
    got = np.array([K.de00_sq(*a[i], np.hypot(a[i, 1], a[i, 2]), *b[i], np.hypot(b[i, 1], b[i, 2]))
                    for i in range(len(h))])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    # Sharma et al. (2005) pair 7 has a blue mean hue (the rotation term is in use): 2.3669.
    p = (50.0, 0.0, 0.0, 0.0, 50.0, -1.0, 2.0, np.hypot(1.0, 2.0))
    assert np.sqrt(K.de00_sq(*p)) == pytest.approx(2.3669, abs=1e-4)
    q = (50.0, 2.5, 0.0, 2.5, 50.0, 0.0, -2.5, 2.5)  # pair 17: mean hue 315 degrees, 4.3065
    assert np.sqrt(K.de00_sq(*q)) == pytest.approx(4.3065, abs=1e-4)


def test_map_de00_picks_the_ciede2000_nearest_candidate(rng):
    cells = np.column_stack([rng.uniform(0, 100, 2000), rng.uniform(-60, 60, 2000), rng.uniform(-60, 60, 2000)])
    pal = np.column_stack([rng.uniform(0, 100, 9), rng.uniform(-60, 60, 9), rng.uniform(-60, 60, 9)])
    cu, pu = to_de_space(cells), to_de_space(pal)
    du = _sq(cu, pu)
    best = np.argmin(du, axis=1)
    cand = du < 2.25 * du[np.arange(2000), best][:, None]
    de = delta_e00(cells[:, None, :], pal[None, :, :])
    # The CIEDE2000 minimum among the candidates (the de-space nearest is always one of them).
    expected = np.argmin(np.where(cand, de, np.inf), axis=1)
    labels = K.map_de00(cells, cu, pal, pu, 2.25)
    np.testing.assert_array_equal(labels, expected)
    assert (labels != best).any()  # CIEDE2000 overturned some de-space choices
    # With every colour a candidate the pick is the exhaustive CIEDE2000 nearest.
    all_labels = K.map_de00(cells, cu, pal, pu, np.inf)
    np.testing.assert_array_equal(all_labels, np.argmin(de, axis=1))
    one = K.map_de00(cells, cu, pal[:1], pu[:1], 2.25)
    assert one.tolist() == [0] * 2000


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


def test_reduce_cells_u8_matches_opencv_definitions(rng):
    img = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)  # partial last row and column at p=8
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    mean, hi, lo, frac = K.reduce_cells_u8(img, 8)
    assert mean.shape == (5, 4, 3) and frac.shape == (5, 4)
    for cy in range(5):
        for cx in range(4):
            blk = img[cy * 8 : cy * 8 + 8, cx * 8 : cx * 8 + 8].reshape(-1, 3).astype(np.float64)
            g = grey[cy * 8 : cy * 8 + 8, cx * 8 : cx * 8 + 8].reshape(-1)
            m = blk.mean(axis=0)
            sel = g > np.floor(m @ [0.299, 0.587, 0.114])
            np.testing.assert_allclose(mean[cy, cx], m, rtol=1e-12)
            assert frac[cy, cx] == pytest.approx(sel.mean())
            np.testing.assert_allclose(hi[cy, cx], blk[sel].mean(axis=0) if sel.any() else m, rtol=1e-12)
            np.testing.assert_allclose(lo[cy, cx], blk[~sel].mean(axis=0) if (~sel).any() else m, rtol=1e-12)


def test_reduce_cells_u8_flat_cell_has_no_bright_half():
    img = np.full((8, 8, 3), 77, np.uint8)
    mean, hi, lo, frac = K.reduce_cells_u8(img, 8)
    assert frac[0, 0] == 0.0
    assert mean[0, 0].tolist() == hi[0, 0].tolist() == lo[0, 0].tolist() == [77.0, 77.0, 77.0]


def test_minority_group_matches_array_definition(rng):
    x = np.column_stack([rng.uniform(20, 80, 400), rng.uniform(-50, 50, 400), rng.uniform(-50, 50, 400)])
    w = rng.random(400) / 400
    c = np.array([[50.0, 0.0, 0.0], [60.0, 30.0, 30.0]])
    lab = np.ascontiguousarray(x * [0.5, 1.0, 1.0])
    assign, _ = K.nearest(x, c)
    cand, mass = K.minority_group(x, lab, w, c, assign, 8.0, 0.5, 10.0, 16)
    # The same rule with arrays.
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    cab = c[assign, 1:]
    wrong = np.hypot(lab[:, 1] - cab[:, 0], lab[:, 2] - cab[:, 1])
    excess = w * np.where(chroma >= 8.0, np.maximum(wrong - 0.5 * (chroma + 5.0), 0.0), 0.0)
    bad = np.nonzero(excess > 0)[0]
    seeds = bad[np.argsort(-excess[bad], kind="stable")[:16]]
    near = _sq(lab[bad], lab[seeds]) <= 100.0
    grp = bad[near[:, int(np.argmax((excess[bad][:, None] * near).sum(axis=0)))]]
    assert mass == pytest.approx(w[grp].sum())
    np.testing.assert_allclose(cand, (w[grp, None] * x[grp]).sum(axis=0) / w[grp].sum(), rtol=1e-10)
    # Nothing mis-coloured: weight 0.
    _, none = K.minority_group(x, lab, w, c, assign, 1e9, 0.5, 10.0, 16)
    assert none == 0.0


def test_pairwise_de00_symmetric_with_infinite_diagonal(rng):
    c = np.column_stack([rng.uniform(0, 100, 6), rng.uniform(-60, 60, 6), rng.uniform(-60, 60, 6)])
    d = K.pairwise_de00(c)
    ref = delta_e00(c[:, None, :], c[None, :, :])
    np.fill_diagonal(ref, np.inf)
    np.testing.assert_allclose(d, ref, rtol=1e-9)
    np.testing.assert_array_equal(d, d.T)


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


def _repel_reference(c: np.ndarray, wc: np.ndarray, min_de: float, passes: int) -> np.ndarray:
    c = c.copy()
    for _ in range(passes):
        d = delta_e00(c[:, None, :], c[None, :, :])
        np.fill_diagonal(d, np.inf)
        ii, jj = np.nonzero(np.triu(d < min_de, 1))
        if len(ii) == 0:
            break
        move = np.zeros_like(c)
        for i, j in zip(ii, jj):
            v = c[i] - c[j]
            n = np.linalg.norm(v)
            grow = n * (min_de / max(d[i, j], 0.25) * 1.05 - 1.0)
            move[i] += v / n * grow * wc[j] / (wc[i] + wc[j])
            move[j] -= v / n * grow * wc[i] / (wc[i] + wc[j])
        c += move
        c[:, 0] = np.clip(c[:, 0], 0.0, 100.0)
    return c


def test_repel_matches_reference_and_separates(rng):
    c = np.array([[50.0, 10.0, 10.0], [52.0, 11.0, 9.0], [53.0, 9.0, 12.0], [90.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    wc = np.array([0.5, 0.1, 0.2, 0.1, 0.1])
    out = K.repel(c, wc, 8.0, 8)
    np.testing.assert_allclose(out, _repel_reference(c, wc, 8.0, 8), rtol=1e-9, atol=1e-9)
    d = K.pairwise_de00(out)
    assert d.min() > 7.0  # far closer to 8 than the 2-4 it started at
    assert (out[:, 0] >= 0.0).all() and (out[:, 0] <= 100.0).all()
    # The heavy cluster moves least.
    moved = np.linalg.norm(out - c, axis=1)
    assert moved[0] < moved[1] and moved[0] < moved[2]
    # Already separated: unchanged.
    np.testing.assert_array_equal(K.repel(c[[0, 3, 4]], wc[[0, 3, 4]], 8.0, 8), c[[0, 3, 4]])


def _auto_k_reference(hue, chroma, lum, w, kernel):
    """The automatic-size rule written with arrays (hue histogram families + grey ramp)."""
    total = w.sum()
    chromatic = chroma >= 0.15
    k = 0

    def ramp(sel):
        mu = (w[sel] * lum[sel]).sum() / w[sel].sum()
        std = np.sqrt((w[sel] * (lum[sel] - mu) ** 2).sum() / w[sel].sum())
        return int(np.clip(1 + round(std / 5.0), 1, 6))

    if chromatic.any():
        hbin = np.minimum((hue / 360.0 * 36).astype(int), 35)
        hist = np.bincount(hbin[chromatic], weights=w[chromatic], minlength=36)
        smooth = sum(kernel[t] * np.roll(hist, t - 3) for t in range(7))
        step = np.arange(36)
        for nb in (np.roll(np.arange(36), 1), np.roll(np.arange(36), -1)):
            step = np.where(smooth[nb] > smooth[step] + 1e-12, nb, step)
        parent = np.arange(36)
        for _ in range(36):
            parent = step[parent]
        for f in np.unique(parent):
            if hist[parent == f].sum() >= 0.03 * total:
                k += ramp(chromatic & (parent[hbin] == f))
    grey = ~chromatic
    if w[grey].sum() >= 0.03 * total or k == 0:
        k += ramp(grey if grey.any() else np.ones_like(grey))
    return k


def test_hue_families_k_matches_array_rule(rng):
    from postprocess.palette_gen import _HUE_KERNEL

    for trial in range(40):
        n = int(rng.integers(1, 400))
        # A few hue clusters plus greys, so families, folding and the grey ramp all occur.
        centres = rng.uniform(0, 360, int(rng.integers(1, 6)))
        hue = (rng.choice(centres, n) + rng.normal(0, 8, n)) % 360.0
        chroma = np.where(rng.random(n) < 0.3, rng.uniform(0, 0.15, n), rng.uniform(0.15, 1.0, n))
        lum = rng.uniform(0, 100, n)
        w = rng.random(n) + 0.01
        got = K.hue_families_k(hue, chroma, lum, w, _HUE_KERNEL, 0.15, 0.03, 5.0, 6)
        assert got == _auto_k_reference(hue, chroma, lum, w, _HUE_KERNEL), trial


def test_kmeanspp_matches_sequential_draws(rng):
    x = rng.normal(size=(200, 3)) * 20
    w = rng.random(200) + 0.05
    u = np.random.default_rng(4).random(6)
    got = K.kmeanspp(x, w, u)
    # Reference: inverse-CDF draws with the same uniforms, probabilities ~ w * squared distance.
    cdf = np.cumsum(w)
    idx = [int(np.searchsorted(cdf / cdf[-1], u[0], side="right"))]
    d = ((x - x[idx[0]]) ** 2).sum(1)
    for t in range(1, 6):
        cdf = np.cumsum(w * d)
        idx.append(int(np.searchsorted(cdf / cdf[-1], u[t], side="right")))
        d = np.minimum(d, ((x - x[idx[-1]]) ** 2).sum(1))
    np.testing.assert_array_equal(got, x[idx])
    # Three distinct points, five draws: seeding stops once every sample is a centre.
    few = np.array([[0.0, 0, 0], [10.0, 0, 0], [0.0, 10, 0]])
    assert len(K.kmeanspp(few, np.ones(3), u[:5])) == 3


def test_bin_means_dense_table(rng):
    colors = rng.integers(0, 256, (300, 3)).astype(np.uint8)
    w = rng.random(300) + 0.1
    mean, ws = K.bin_means(colors, w, 4)
    q = colors.astype(np.int64) >> 4
    code = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    uniq, inv = np.unique(code, return_inverse=True)
    np.testing.assert_allclose(ws, np.bincount(inv, weights=w), rtol=1e-12)
    ref = np.stack([np.bincount(inv, weights=w * colors[:, j]) for j in range(3)], 1) / ws[:, None]
    np.testing.assert_allclose(mean, ref, rtol=1e-12)


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


def test_reduce_cells_weighted_matches_array_definition(rng):
    img = rng.integers(0, 256, (21, 19, 3), dtype=np.uint8)  # partial last cells at p=8
    wt = rng.random((21, 19)).astype(np.float32)
    wt[:8, :8] = 0.0  # a fully transparent cell
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    mean, hi, lo, frac, s0 = K.reduce_cells_weighted(img, wt, 8)
    assert mean.shape == (3, 3, 3) and s0.shape == (3, 3)
    for cy in range(3):
        for cx in range(3):
            sl = (slice(cy * 8, cy * 8 + 8), slice(cx * 8, cx * 8 + 8))
            px = img[sl].reshape(-1, 3).astype(np.float64)
            w = wt[sl].reshape(-1).astype(np.float64)
            g = grey[sl].reshape(-1)
            assert s0[cy, cx] == pytest.approx(w.sum())
            if w.sum() == 0:
                assert mean[cy, cx].tolist() == [0.0, 0.0, 0.0] and frac[cy, cx] == 0.0
                continue
            m = (w[:, None] * px).sum(0) / w.sum()
            bright = (g > m @ [0.299, 0.587, 0.114]) * w
            np.testing.assert_allclose(mean[cy, cx], m, rtol=1e-9)
            assert frac[cy, cx] == pytest.approx(bright.sum() / w.sum())
            np.testing.assert_allclose(hi[cy, cx], (bright[:, None] * px).sum(0) / bright.sum(), rtol=1e-9)
            dark = w - bright
            np.testing.assert_allclose(lo[cy, cx], (dark[:, None] * px).sum(0) / dark.sum(), rtol=1e-9)


def _plain_lab(rgb: np.ndarray) -> np.ndarray:
    """The textbook sRGB (D65) -> CIELAB, power law per value."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16.0) / 116.0)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def test_srgb_kernels_match_the_power_law(rng):
    from postprocess import color

    u8 = rng.integers(0, 256, (3000, 3), dtype=np.uint8)
    xyz = K.srgb_u8_to_xyzn(u8, color._LIN_LUT, color._RGB_TO_XYZN)
    np.testing.assert_allclose(K.xyzn_to_lab(xyz, np.cbrt(xyz), color._EPS, color._KAPPA), _plain_lab(u8),
                               rtol=0, atol=1e-10)
    # Float input: interpolated between the exact points (every 1/64), out-of-range values by formula.
    fl = np.vstack([rng.uniform(0, 255, (3000, 3)), [[0.0, 255.0, 0.01], [-4.0, 300.0, 128.0]]])
    xyz = K.srgb_float_to_xyzn(fl, color._LIN_FINE, float(color._FINE_STEPS), color._RGB_TO_XYZN)
    lab = K.xyzn_to_lab(xyz, np.cbrt(xyz), color._EPS, color._KAPPA)
    np.testing.assert_allclose(lab, _plain_lab(fl), rtol=0, atol=1e-5)
    np.testing.assert_allclose(lab[-2:], _plain_lab(fl[-2:]), rtol=0, atol=1e-9)
    # Integer-valued floats hit the exact points.
    np.testing.assert_array_equal(color.srgb_to_lab(u8.astype(np.float32)), color.srgb_to_lab(u8))


def test_hue_and_chroma_u8_match_opencv_hsv(rng):
    rgb = np.vstack([rng.integers(0, 256, (20000, 3), dtype=np.uint8),
                     [[0, 0, 0], [255, 255, 255], [90, 90, 90], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 1]]])
    rgb = rgb.astype(np.uint8)
    hsv = cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hue, vs = K.hue_and_chroma_u8(rgb)
    dh = np.abs(hue - hsv[:, 0])
    np.testing.assert_array_less(np.minimum(dh, 360.0 - dh), 5e-3)  # OpenCV computes in float32
    assert ((hue >= 0.0) & (hue < 360.0)).all()
    np.testing.assert_allclose(vs, hsv[:, 1].astype(np.float64) * hsv[:, 2], atol=1e-6)
    assert hue[-7:-1].tolist() == [0.0, 0.0, 0.0, 0.0, 120.0, 240.0]
    assert vs[-7:-4].tolist() == [0.0, 0.0, 0.0]


def test_luma_u8_is_opencv_grey(rng):
    img = np.vstack([rng.integers(0, 256, (4000, 3), dtype=np.uint8),
                     np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)])
    grey = cv2.cvtColor(img.reshape(-1, 1, 3), cv2.COLOR_RGB2GRAY).reshape(-1)
    assert [K.luma_u8(*px) for px in img] == grey.astype(np.int64).tolist()


def _centre_window_reference(rgb: np.ndarray, p: int, weight: np.ndarray | None):
    big_h, big_w = rgb.shape[:2]
    h, w = -(-big_h // p), -(-big_w // p)
    means, wsum = np.zeros((h, w, 3)), np.zeros((h, w))
    lo, hi = np.zeros((h, w, 3)), np.zeros((h, w, 3))
    for cy in range(h):
        ny = min(p, big_h - cy * p)
        my = max(1, ny // 2)
        y0 = cy * p + (ny - my) // 2
        for cx in range(w):
            nx = min(p, big_w - cx * p)
            mx = max(1, nx // 2)
            x0 = cx * p + (nx - mx) // 2
            win = rgb[y0 : y0 + my, x0 : x0 + mx].reshape(-1, 3).astype(np.float64)
            wt = np.ones(len(win)) if weight is None else weight[y0 : y0 + my, x0 : x0 + mx].reshape(-1).astype(np.float64)
            wsum[cy, cx] = wt.sum()
            if wt.sum() > 1e-12:
                means[cy, cx] = (win * wt[:, None]).sum(0) / wt.sum()
                lo[cy, cx] = win[wt > 0].min(0)
                hi[cy, cx] = win[wt > 0].max(0)
    return means, wsum, lo, hi


@pytest.mark.parametrize("p", [1, 3, 8])
@pytest.mark.parametrize("weighted", [False, True])
def test_centre_window_means_match_reference(rng, p, weighted):
    rgb = rng.integers(0, 256, size=(21, 19, 3), dtype=np.uint8)  # partial last cells for p = 3 and 8
    weight = rng.random((21, 19)).astype(np.float32) if weighted else None
    if weighted:
        weight[rng.random((21, 19)) < 0.3] = 0.0  # transparent pixels are left out of the range too
    weight_arg = weight if weighted else np.zeros((1, 1), np.float32)
    got = K.centre_window_means(rgb, weight_arg, weighted, p)
    for a, b in zip(got, _centre_window_reference(rgb, p, weight)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)


def _halftone_reference(labels, cells_lab, pal, min_contrast, max_off, band, flat_tol):
    h, w = labels.shape
    out = labels.copy()
    for y in range(h):
        for x in range(w):
            if labels[y, x] < 0:
                continue
            idx = np.arange(h * w).reshape(h, w)
            for lines, cells in ((labels[y, x - 2 : x + 3], idx[y, x - 2 : x + 3]) if 2 <= x <= w - 3 else (None, None),
                                 (labels[y - 2 : y + 3, x], idx[y - 2 : y + 3, x]) if 2 <= y <= h - 3 else (None, None)):
                if lines is None:
                    continue
                a2, a, c, b, b2 = lines
                if a < 0 or b < 0 or len({a, b, c}) < 3 or a2 != a or b2 != b:
                    continue
                sides = [cells_lab[cells[i]] - pal[lines[i]] for i in (0, 1, 3, 4)]
                if max(float(np.sqrt(e @ e)) for e in sides) > flat_tol:
                    continue
                seg = pal[b] - pal[a]
                if seg @ seg < min_contrast**2:
                    continue
                t = (cells_lab[y * w + x] - pal[a]) @ seg / (seg @ seg)
                off = cells_lab[y * w + x] - (pal[a] + t * seg)
                if band <= t <= 1 - band and off @ off <= max_off**2 * (seg @ seg):
                    out[y, x] = a if t < 0.5 else b
                    break
    return out


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
    ref = _halftone_reference(labels, cells, pal, 20.0, 0.2, 0.2, 4.0)
    np.testing.assert_array_equal(out, ref)
    assert out[5, 2] == 2
    assert (np.delete(out[1:, 2], 4) != 2).all()  # the rest of the half-tone column is gone
    np.testing.assert_array_equal(labels[:, 2], 2)  # the input is not modified


def _sharpen_reference(c, strength, valid, lo, hi):
    v = valid.astype(np.float64)
    pc = np.pad(c * v[..., None], ((1, 1), (1, 1), (0, 0)))
    pv = np.pad(v, 1)
    s = pc[:-2, 1:-1] + pc[2:, 1:-1] + pc[1:-1, :-2] + pc[1:-1, 2:]
    n = pv[:-2, 1:-1] + pv[2:, 1:-1] + pv[1:-1, :-2] + pv[1:-1, 2:]
    m = np.where(n[..., None] > 0, s / np.maximum(n, 1.0)[..., None], c)
    out = np.clip(np.clip(c + strength * (c - m), lo, hi), 0.0, 255.0)
    out[~valid] = c[~valid]
    return out.astype(np.float32)


def _variation_reference(lab, valid, cap):
    total, count = 0.0, 0
    for a, b, va, vb in ((lab[1:], lab[:-1], valid[1:], valid[:-1]), (lab[:, 1:], lab[:, :-1], valid[:, 1:], valid[:, :-1])):
        both = va & vb
        d = np.sqrt(((a - b) ** 2).sum(-1))[both]
        total += float(np.minimum(d, cap).sum())
        count += int(both.sum())
    return total / count if count else 0.0


def test_sharpen_grid_and_capped_variation_match_reference(rng):
    c = rng.random((9, 11, 3)) * 255.0
    valid = rng.random((9, 11)) > 0.2
    lo, hi = c - rng.random((9, 11, 3)) * 40.0, c + rng.random((9, 11, 3)) * 40.0
    for strength in (0.25, 1.0):
        np.testing.assert_allclose(K.sharpen_grid(c, strength, valid, lo, hi),
                                   _sharpen_reference(c, strength, valid, lo, hi), rtol=1e-6)
    lab = rng.normal(50.0, 20.0, size=(9, 11, 3))
    assert K.capped_variation(lab, valid, 12.0) == pytest.approx(_variation_reference(lab, valid, 12.0), rel=1e-12)
    assert K.capped_variation(lab[:1, :1], valid[:1, :1], 12.0) == 0.0
