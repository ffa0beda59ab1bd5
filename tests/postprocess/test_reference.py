"""The plain definitions of :mod:`postprocess.reference` against independent facts: published
CIEDE2000 test data, OpenCV's conversions, the vectorised colour functions and hand-made cases."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from postprocess import reference as R
from postprocess.color import delta_e00, lab_to_srgb, srgb_to_lab

# Sharma, Wu and Dalal (2005), table 1: (L1, a1, b1), (L2, a2, b2), CIEDE2000.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, -1.1848, -84.8006), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, -0.9009, -85.5211), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, -1.0, 2.0), (50.0, 0.0, 0.0), 2.3669),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0010), 7.1792),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0011), 7.2195),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0012), 7.2195),
    ((50.0, -0.0010, 2.4900), (50.0, 0.0009, -2.4900), 4.8045),
    ((50.0, -0.0010, 2.4900), (50.0, 0.0010, -2.4900), 4.8045),
    ((50.0, -0.0010, 2.4900), (50.0, 0.0011, -2.4900), 4.7461),
    ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((50.0, 2.5, 0.0), (50.0, 3.2972, 0.0), 1.0000),
    ((50.0, 2.5, 0.0), (50.0, 1.8634, 0.5757), 1.0000),
    ((50.0, 2.5, 0.0), (50.0, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(29)


def test_reference_needs_no_numba():
    import subprocess

    # Loaded by path, without the package (whose __init__ compiles nothing but imports numba).
    code = (
        "import sys, importlib.util as u; spec = u.spec_from_file_location('ref', sys.argv[1]);"
        "m = u.module_from_spec(spec); spec.loader.exec_module(m); assert 'numba' not in sys.modules;"
        "print(m.de00(50, 0, 0, 50, -1, 2))"
    )
    out = subprocess.run([sys.executable, "-c", code, R.__file__], capture_output=True, text=True, check=True)
    assert float(out.stdout) == pytest.approx(2.3669, abs=1e-4)


@pytest.mark.parametrize("lab1,lab2,expected", SHARMA)
def test_de00_reproduces_the_published_test_data(lab1, lab2, expected):
    assert R.de00(*lab1, *lab2) == pytest.approx(expected, abs=5e-5)
    assert R.de00(*lab2, *lab1) == pytest.approx(expected, abs=5e-5)  # symmetric
    assert R.de00_sq(*lab1, 0.0, *lab2, 0.0) == pytest.approx(R.de00(*lab1, *lab2) ** 2, rel=1e-15)


def test_de00_matches_the_vectorised_delta_e00(rng):
    a = np.column_stack([rng.uniform(0, 100, 2000), rng.normal(0, 40, 2000), rng.normal(0, 40, 2000)])
    b = a + rng.normal(size=a.shape) * rng.random((2000, 1)) * 30
    a[:100, 1:] = 0.0
    b[50:150, 1:] = 0.0
    b[200:250] = a[200:250]
    got = np.array([R.de00(*a[i], *b[i]) for i in range(len(a))])
    np.testing.assert_allclose(got, delta_e00(a, b), rtol=0, atol=1e-9)
    assert (got[200:250] == 0.0).all()


def test_pairwise_de00_is_symmetric_with_infinite_diagonal(rng):
    c = np.column_stack([rng.uniform(0, 100, 7), rng.uniform(-60, 60, 7), rng.uniform(-60, 60, 7)])
    d = R.pairwise_de00(c)
    ref = delta_e00(c[:, None, :], c[None, :, :])
    np.fill_diagonal(ref, np.inf)
    np.testing.assert_allclose(d, ref, rtol=1e-9)
    np.testing.assert_array_equal(d, d.T)


def test_map_de00_with_every_colour_a_candidate_is_the_ciede2000_nearest(rng):
    cells = np.column_stack([rng.uniform(0, 100, 300), rng.uniform(-60, 60, 300), rng.uniform(-60, 60, 300)])
    pal = np.column_stack([rng.uniform(0, 100, 6), rng.uniform(-60, 60, 6), rng.uniform(-60, 60, 6)])
    de = delta_e00(cells[:, None, :], pal[None, :, :])
    np.testing.assert_array_equal(R.map_de00(cells, cells, pal, pal, np.inf), np.argmin(de, axis=1))
    # ratio 1: never two candidates, so the Euclidean nearest.
    np.testing.assert_array_equal(R.map_de00(cells, cells, pal, pal, 1.0), np.argmin(R.sqdist(cells, pal), axis=1))


def test_luma_u8_is_opencv_grey_on_every_colour():
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([v >> 16, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)
    np.testing.assert_array_equal(R.luma_u8(rgb), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def test_hue_and_chroma_u8_match_opencv_hsv(rng):
    rgb = np.vstack([rng.integers(0, 256, (20000, 3), dtype=np.uint8),
                     [[0, 0, 0], [255, 255, 255], [90, 90, 90], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 1]]])
    rgb = rgb.astype(np.uint8)
    hsv = cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hue, vs = R.hue_and_chroma_u8(rgb)
    dh = np.abs(hue - hsv[:, 0])
    np.testing.assert_array_less(np.minimum(dh, 360.0 - dh), 5e-3)  # OpenCV computes in float32
    assert ((hue >= 0.0) & (hue < 360.0)).all()
    np.testing.assert_allclose(vs, hsv[:, 1].astype(np.float64) * hsv[:, 2], atol=1e-6)
    assert hue[-7:-1].tolist() == [0.0, 0.0, 0.0, 0.0, 120.0, 240.0]
    assert vs[-7:-4].tolist() == [0.0, 0.0, 0.0]


def test_colour_conversions_match_the_package_and_round_trip(rng):
    from postprocess import color

    u8 = rng.integers(0, 256, (5000, 3), dtype=np.uint8)
    lab = R.srgb_to_lab(u8)
    np.testing.assert_allclose(lab, srgb_to_lab(u8), rtol=0, atol=1e-10)
    lin = R.lab_to_linear(lab, color._XYZN_TO_RGB, color._EPS, color._KAPPA)
    np.testing.assert_array_equal(R.linear_to_srgb(lin, True), u8)  # uint8 -> CIELAB -> uint8 is the identity
    np.testing.assert_array_equal(R.linear_to_srgb(lin, True), lab_to_srgb(lab))
    assert R.srgb_to_lab(np.array([[255, 255, 255]]))[0] == pytest.approx([100.0, 0.0, 0.0], abs=1e-4)


def test_chroma_warp_keeps_lightness_and_hue(rng):
    x = np.column_stack([rng.uniform(0, 100, 50), rng.uniform(-60, 60, 50), rng.uniform(-60, 60, 50)])
    kc = R.scaled_chroma(x, 0.045)
    np.testing.assert_allclose(kc, 0.045 * np.hypot(x[:, 1], x[:, 2]), rtol=1e-15)
    y = R.rescale_chroma(x, kc, 2.0 * kc, 1e-9)
    np.testing.assert_array_equal(y[:, 0], x[:, 0])
    np.testing.assert_allclose(y[:, 1:], 2.0 * x[:, 1:], rtol=1e-15)


def test_reduce_cells_on_a_hand_made_cell():
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, :2] = 200  # two bright pixels of four in the first 2x2 cell
    mean, hi, lo, frac, wsum = R.reduce_cells(img, 2)
    assert mean.shape == (1, 2, 3) and wsum.tolist() == [[4.0, 2.0]]
    assert mean[0, 0].tolist() == [100.0] * 3 and hi[0, 0].tolist() == [200.0] * 3 and lo[0, 0].tolist() == [0.0] * 3
    assert frac[0, 0] == 0.5
    assert mean[0, 1].tolist() == hi[0, 1].tolist() == lo[0, 1].tolist() == [0.0] * 3 and frac[0, 1] == 0.0
    # Weighted: a transparent cell is all 0; the bright pixel with weight 3 of 4.
    wt = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    mean, hi, lo, frac, wsum = R.reduce_cells(img, 2, wt)
    assert wsum.tolist() == [[2.0, 0.0]] and frac[0, 0] == 0.5 and mean[0, 1].tolist() == [0.0] * 3


def test_centre_window_is_the_central_half():
    rgb = np.arange(6 * 6 * 3, dtype=np.uint8).reshape(6, 6, 3)
    means, wsum, lo, hi = R.centre_window_means(rgb, 6)
    win = rgb[1:4, 1:4].reshape(-1, 3).astype(np.float64)  # m = 3 starting 1 in
    assert wsum[0, 0] == 9.0
    np.testing.assert_array_equal(means[0, 0], win.mean(0))
    np.testing.assert_array_equal(lo[0, 0], win.min(0))
    np.testing.assert_array_equal(hi[0, 0], win.max(0))


def test_kmeans_references_on_separated_clusters(rng):
    centres = np.array([[0.0, 0, 0], [50.0, 0, 0], [0.0, 50, 0]])
    x = np.vstack([rng.normal(m, 1.0, size=(100, 3)) for m in centres])
    w = np.ones(300)
    c, assign, dmin = R.lloyd(x, w, x[[0, 100, 200]], 10)
    np.testing.assert_array_equal(assign, np.repeat([0, 1, 2], 100))
    np.testing.assert_allclose(c, [x[i * 100 : i * 100 + 100].mean(0) for i in range(3)], rtol=1e-12)
    np.testing.assert_allclose(dmin, ((x - c[assign]) ** 2).sum(1), rtol=1e-12)
    # k-means++ with a one-hot weight picks that sample first.
    one = np.zeros(300)
    one[123] = 1.0
    assert R.kmeanspp(x, one, np.array([0.5]))[0].tolist() == x[123].tolist()


def test_bin_means_hand_made():
    colors = np.array([[0, 0, 0], [15, 15, 15], [16, 0, 0], [255, 255, 255]], np.uint8)
    mean, ws = R.bin_means(colors, np.array([1.0, 3.0, 2.0, 1.0]), 4)
    assert ws.tolist() == [4.0, 2.0, 1.0]
    np.testing.assert_allclose(mean, [[11.25] * 3, [16.0, 0.0, 0.0], [255.0] * 3])


def test_despeckle_and_halftone_hand_made():
    pal = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [50.0, 0.0, 0.0]])
    labels = np.zeros((3, 3), np.int64)
    labels[1, 1] = 1
    cells = pal[labels].reshape(-1, 3)
    assert R.despeckle_labels(labels, cells, pal, 1, 8, np.inf).tolist() == [[0] * 3] * 3
    assert R.despeckle_labels(labels, cells, pal, 1, 8, 50.0)[1, 1] == 1  # 100 worse than its own
    row = np.array([[0, 0, 2, 1, 1]], np.int64)
    cl = pal[row].reshape(-1, 3) + [[0.0, 0, 0], [0, 0, 0], [-10.0, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert R.halftone_labels(row, cl, pal, 20.0, 0.2, 0.2, 4.0).tolist() == [[0, 0, 0, 1, 1]]  # t = 0.4
