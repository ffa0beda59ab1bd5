"""Tests for postprocess.downsampling (Downsampling): grid, remainder, edge-aware cells, palette mapping."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from postprocess import pixelate, upscale
from postprocess.downsampling import (
    cell_variation,
    clean_halftones,
    despeckle,
    reduce_cells,
    restore_pixel_art,
    sharpen_cells,
)

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


def test_sharpen_cells_hand_values():
    c = np.full((3, 3, 3), 40.0, np.float32)
    c[1, 1] = 100.0  # a bright dot: neighbours' mean 40 -> 100 + 0.5 * 60
    out = sharpen_cells(c, 0.5)
    np.testing.assert_allclose(out[1, 1], 130.0)
    # an edge cell next to it: neighbours (40, 40, 100) mean 60 -> 40 + 0.5 * (40 - 60)
    np.testing.assert_allclose(out[0, 1], 30.0)
    np.testing.assert_allclose(out[0, 0], 40.0)  # corner: neighbours all 40
    valid = np.ones((3, 3), bool)
    valid[1, 1] = False  # an invalid (transparent) cell neither changes nor counts
    out = sharpen_cells(c, 0.5, valid)
    np.testing.assert_allclose(out[1, 1], 100.0)
    np.testing.assert_allclose(out[0, 1], 40.0)
    np.testing.assert_allclose(sharpen_cells(np.full((2, 2, 3), 250.0), 1.0), 250.0)
    assert sharpen_cells(c * 2.5, 2.0).max() == 255.0  # clipped


def test_cell_variation_caps_each_step():
    lab = np.array([[[0.0, 0, 0], [5.0, 0, 0], [50.0, 0, 0]]])
    assert cell_variation(lab, cap=12.0) == pytest.approx((5.0 + 12.0) / 2)
    valid = np.array([[True, True, False]])
    assert cell_variation(lab, valid, cap=12.0) == pytest.approx(5.0)
    assert cell_variation(lab[:, :1]) == 0.0


def _smooth_render(art: np.ndarray, p: int = 8, sigma: float = 2.0) -> np.ndarray:
    big = cv2.resize(art, (art.shape[1] * p, art.shape[0] * p), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    return np.clip(np.rint(cv2.GaussianBlur(big, (0, 0), sigma)), 0, 255).astype(np.uint8)


def test_restore_pixel_art_recognises_a_blurred_sprite_and_leaves_a_photo():
    art = np.full((10, 10, 3), 255, np.uint8)
    art[2:8, 2:8] = (200, 80, 60)
    art[2, 2:8] = art[7, 2:8] = art[2:8, 2] = art[2:8, 7] = (30, 20, 25)  # 1-px outline
    img = _smooth_render(art)
    grid = reduce_cells(img, 8)
    restored, strength = restore_pixel_art(img, grid, 8)
    assert strength > 0
    ink = np.array([30, 20, 25], np.float64)
    before = np.abs(grid.colors[2, 4] - ink).max()
    after = np.abs(restored.colors[2, 4] - ink).max()
    assert after < before / 2  # the outline cell is much closer to the artist's ink
    # A smooth photo-like gradient with fine texture: sharpening only adds variation.
    yy, xx = np.mgrid[:80, :80]
    photo = np.stack([xx * 3, yy * 3, (xx + yy) * 1.5], -1) + np.random.default_rng(0).normal(0, 6, (80, 80, 3))
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    g2 = reduce_cells(photo, 8)
    same, s2 = restore_pixel_art(photo, g2, 8)
    assert s2 == 0.0 and same is g2


def test_clean_halftones_snaps_mixes_and_keeps_lines():
    pal_lab = np.array([[30.0, 40, 20], [60.0, -20, -30], [45.0, 10, -5], [10.0, 0, 0]])
    labels = np.array([[0, 0, 2, 1, 1], [0, 0, 3, 1, 1]])
    cells = pal_lab[labels].reshape(-1, 3).copy()
    cells[2] = 0.6 * pal_lab[0] + 0.4 * pal_lab[1]  # a half-tone nearer colour 0
    out = clean_halftones(labels, cells, pal_lab)
    assert out[0].tolist() == [0, 0, 0, 1, 1]
    assert out[1, 2] == 3  # a dark line between the two regions is not a mix: it stays
