"""Tests for postprocess.downsampling (Downsampling): grid, remainder, edge-aware cells, palette mapping."""
from __future__ import annotations

import numpy as np
import pytest

from postprocess import pixelate, upscale
from postprocess.downsampling import despeckle, reduce_cells

PAL = np.array([[0, 0, 0], [255, 255, 255], [200, 30, 30], [30, 30, 200]], np.uint8)


def test_cell_grid_maps_exactly():
    cells = PAL[np.array([[0, 1, 2], [3, 2, 1], [1, 0, 3], [2, 3, 0]])]
    out = pixelate(upscale(cells, 4), 4, PAL, cleanup=False)
    np.testing.assert_array_equal(out, cells)


def test_remainder_cells_use_only_their_real_pixels():
    img = np.zeros((10, 10, 3), np.uint8)
    img[:, :8] = PAL[2]
    img[:, 8:] = PAL[3]  # the partial last column of cells covers exactly these 2 columns
    out = pixelate(img, 4, PAL, cleanup=False)
    assert out.shape == (3, 3, 3)
    np.testing.assert_array_equal(out[:, :2], np.broadcast_to(PAL[2], (3, 2, 3)))
    np.testing.assert_array_equal(out[:, 2], np.broadcast_to(PAL[3], (3, 3)))


def test_reduce_cells_flat_and_mean():
    img = np.full((8, 8, 3), 90, np.uint8)
    img[0, 0] = 94  # a low-contrast cell takes its mean
    grid = reduce_cells(img, 4)
    assert grid.colors.shape == (2, 2, 3)
    np.testing.assert_allclose(grid.colors[0, 0], 90 + 4 / 16)
    np.testing.assert_allclose(grid.colors[1, 1], 90)
    np.testing.assert_array_equal(grid.coverage, 1.0)


def test_edge_aware_cell_takes_its_majority_side():
    # 5/8 black, 3/8 white: the mean (~96) would map to the mid grey, the contour cell maps to black.
    pal = np.array([[0, 0, 0], [128, 128, 128], [255, 255, 255]], np.uint8)
    img = np.zeros((8, 8, 3), np.uint8)
    img[:, 5:] = 255
    assert pixelate(img, 8, pal).tolist() == [[[0, 0, 0]]]


def test_weighted_and_fast_paths_agree():
    img = np.random.default_rng(0).integers(0, 256, (16, 24, 3)).astype(np.uint8)
    a = reduce_cells(img, 8)
    b = reduce_cells(img, 8, weight=np.ones((16, 24), np.float32))
    np.testing.assert_allclose(a.colors, b.colors, atol=1e-3)


def test_every_output_colour_is_in_the_palette():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)
    out = pixelate(img, 5, PAL)
    assert out.shape == (8, 11, 3)
    assert set(map(tuple, out.reshape(-1, 3).tolist())) <= set(map(tuple, PAL.tolist()))


def test_alpha_cells():
    img = np.zeros((8, 8, 4), np.uint8)
    img[:, :4] = (200, 30, 30, 255)
    img[:, 4:] = (0, 0, 0, 0)
    img[4:, 4:] = (30, 30, 200, 200)  # mean alpha 200 >= 128: opaque
    out = pixelate(img, 4, PAL)
    assert out.shape == (2, 2, 4)
    assert out[0, 0].tolist() == [200, 30, 30, 255]
    assert out[0, 1].tolist() == [0, 0, 0, 0]
    assert out[1, 1].tolist() == [30, 30, 200, 255]


def test_alpha_threshold():
    img = np.zeros((4, 4, 4), np.uint8)
    img[..., :3] = 255
    img[..., 3] = 100
    assert pixelate(img, 4, PAL, alpha_threshold=100)[0, 0, 3] == 255
    assert pixelate(img, 4, PAL, alpha_threshold=101)[0, 0, 3] == 0


# Three palette colours on the L* axis; cells take their label's colour unless a test says otherwise.
_PAL_LAB = np.array([[10.0, 0.0, 0.0], [50.0, 0.0, 0.0], [90.0, 0.0, 0.0]])


def _cells_like(labels: np.ndarray) -> np.ndarray:
    return _PAL_LAB[np.maximum(labels, 0)].reshape(-1, 3).copy()


def test_despeckle_removes_orphans_keeps_lines():
    labels = np.zeros((5, 7), np.int64)
    labels[2, 1] = 1  # orphan
    labels[:, 5] = 2  # one-cell-wide line
    labels[0, 0] = 1  # a corner has only 3 neighbours: kept (sprite tips, small images)
    labels[4, 3] = -1  # transparent cells are left alone
    out = despeckle(labels, _cells_like(labels), _PAL_LAB)
    assert out[2, 1] == 0
    assert out[0, 0] == 1
    assert out[4, 3] == -1
    np.testing.assert_array_equal(out[:, 5], 2)
    assert labels[2, 1] == 1  # the input is not modified


def test_despeckle_picks_the_best_fitting_neighbour():
    labels = np.array([[0, 0, 2], [0, 1, 2], [0, 0, 2]])
    cells = _cells_like(labels)
    cells[4] = [80.0, 0.0, 0.0]  # the orphan's own colour is closer to label 2 (90) than to 0 (10)
    assert despeckle(labels, cells, _PAL_LAB)[1, 1] == 2


def test_pixel_size_one_is_identity_for_palette_images():
    img = PAL[np.random.default_rng(2).integers(0, 4, (6, 5))]
    np.testing.assert_array_equal(pixelate(img, 1, PAL, cleanup=False), img)


def test_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="pixel_size"):
        pixelate(img, 0, PAL)
    with pytest.raises(ValueError, match="larger than the image"):
        pixelate(img, 9, PAL)
    with pytest.raises(TypeError, match="pixel_size"):
        pixelate(img, 2.0, PAL)
    with pytest.raises(TypeError, match="palette"):
        pixelate(img, 2, PAL.astype(float))
    with pytest.raises(ValueError, match=r"\(K, 3\)"):
        pixelate(img, 2, PAL[0])
    with pytest.raises(ValueError, match="empty"):
        pixelate(img, 2, np.zeros((0, 3), np.uint8))
    with pytest.raises(TypeError, match="palette"):
        pixelate(img, 2, [[0, 0, 0]])
    with pytest.raises(ValueError, match="alpha_threshold"):
        pixelate(img, 2, PAL, alpha_threshold=0)
    with pytest.raises(TypeError, match="uint8"):
        pixelate(img.astype(np.int32), 2, PAL)


def test_despeckle_max_shift_keeps_a_distinct_detail():
    labels = np.zeros((3, 3), np.int64)
    labels[1, 1] = 1
    pal = np.array([[50.0, 0.0, 0.0], [70.0, 0.0, 0.0]])  # label 1 is 20 CIELAB units from label 0
    cells = pal[labels].reshape(-1, 3).copy()  # the centre fits label 1 exactly
    assert despeckle(labels, cells, pal)[1, 1] == 0  # default: every orphan goes
    assert despeckle(labels, cells, pal, max_shift=10.0)[1, 1] == 1  # 20 - 0 > 10: a real detail stays
    assert despeckle(labels, cells, pal, max_shift=20.0)[1, 1] == 0  # 20 - 0 <= 20
    cells[4] = [65.0, 0.0, 0.0]  # 5 from its label, 15 from the background: 15 - 5 = 10
    assert despeckle(labels, cells, pal, max_shift=10.0)[1, 1] == 0
