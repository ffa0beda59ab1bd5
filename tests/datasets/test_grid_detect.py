"""Tests for datasets/grid_detect.py: exact cell size and phase under JPEG noise, round trips."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from datasets.grid_detect import GridInfo, detect_grid, edge_profiles, flat_fraction, reduce_to_native, split_fraction
from datasets.synthetic_posts import make_post

#: Well-separated palette the test sprites draw from (pairwise distance >= 127 on some channel).
PALETTE = np.array([
    [255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 160, 0], [0, 0, 255], [255, 220, 0],
    [255, 0, 255], [0, 200, 255], [128, 64, 0], [128, 128, 128],
], dtype=np.uint8)


def random_sprite(rng: np.random.Generator) -> np.ndarray:
    """Palette-index map (h, w) of rectangles plus scattered single pixels."""
    h, w = rng.integers(8, 25, size=2)
    k = int(rng.integers(3, len(PALETTE) + 1))
    colours = rng.choice(len(PALETTE), size=k, replace=False)
    idx = np.full((h, w), colours[0])
    for _ in range(int(rng.integers(4, 12))):
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        idx[y0:y0 + rng.integers(1, 8), x0:x0 + rng.integers(1, 8)] = rng.choice(colours)
    dots = rng.random((h, w)) < 0.1
    idx[dots] = rng.choice(colours, size=int(dots.sum()))
    return idx


def jpeg(img: np.ndarray, quality: int, subsampling: int = 0) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def upscale_cut(idx: np.ndarray, cell: int, rng: np.random.Generator):
    """Nearest upscale with a random cut of the first/last cell on every side.

    Returns ``(image, phase_y, phase_x, expected_native_indices)`` where the expectation follows
    ``reduce_to_native``'s rule: a cut-off cell is kept when >= half of it is visible.
    """
    up = np.repeat(np.repeat(PALETTE[idx], cell, axis=0), cell, axis=1)
    top, left, bottom, right = (int(v) for v in rng.integers(0, cell, size=4))
    img = np.ascontiguousarray(up[top:up.shape[0] - bottom, left:up.shape[1] - right])

    def keep(cut: int) -> bool:
        return cut == 0 or 2 * (cell - cut) >= cell

    expected = idx[(0 if keep(top) else 1):idx.shape[0] - (0 if keep(bottom) else 1),
                   (0 if keep(left) else 1):idx.shape[1] - (0 if keep(right) else 1)]
    return img, (cell - top) % cell, (cell - left) % cell, expected


def snap(native: np.ndarray) -> np.ndarray:
    """Nearest PALETTE index of every pixel."""
    d = np.square(native[:, :, None, :].astype(np.int32) - PALETTE[None, None].astype(np.int32)).sum(axis=-1)
    return d.argmin(axis=-1)


@pytest.mark.parametrize("seed", range(30))
def test_jpeg_sprite_grid_and_round_trip(seed):
    rng = np.random.default_rng(seed)
    idx = random_sprite(rng)
    cell = int(rng.integers(2, 13))
    img, phase_y, phase_x, expected = upscale_cut(idx, cell, rng)
    noisy = jpeg(img, quality=90)
    grid = detect_grid(noisy)
    assert (grid.cell, grid.phase_y, grid.phase_x) == (cell, phase_y, phase_x)
    assert grid.confidence >= 0.6
    native = reduce_to_native(noisy, grid)
    assert native.shape == expected.shape + (3,)
    np.testing.assert_array_equal(snap(native), expected)


@pytest.mark.parametrize("seed", range(30, 40))
def test_clean_sprite_is_exact_with_full_confidence(seed):
    rng = np.random.default_rng(seed)
    idx = random_sprite(rng)
    cell = int(rng.integers(2, 13))
    img, phase_y, phase_x, expected = upscale_cut(idx, cell, rng)
    grid = detect_grid(img)
    assert (grid.cell, grid.phase_y, grid.phase_x) == (cell, phase_y, phase_x)
    assert grid.confidence == pytest.approx(1.0)
    np.testing.assert_array_equal(reduce_to_native(img, grid), PALETTE[expected])


@pytest.mark.parametrize("seed", range(40, 50))
def test_chroma_subsampled_jpeg_q85_cells_4_to_12(seed):
    """Default PIL JPEG (4:2:0 chroma) moves chroma edges by a pixel; sizes >= 4 still come out exact."""
    rng = np.random.default_rng(seed)
    idx = random_sprite(rng)
    cell = int(rng.integers(4, 13))
    img, phase_y, phase_x, _ = upscale_cut(idx, cell, rng)
    grid = detect_grid(jpeg(img, quality=85, subsampling=2))
    assert (grid.cell, grid.phase_y, grid.phase_x) == (cell, phase_y, phase_x)


def _stripes(changes: set[int], n: int = 12) -> np.ndarray:
    values, colour = np.zeros(n, dtype=int), 0
    for i in range(n):
        colour ^= int(i in changes)
        values[i] = colour
    return values


def test_multiple_of_true_size_is_refuted_by_its_split_cells():
    # Most native boundaries are even, so twice the cell size also puts most edges on its grid;
    # its cells straddling the odd boundaries are split, so the true size 3 wins.
    idx = _stripes({2, 4, 5, 6, 8, 9, 10})[None, :] + 2 * _stripes({2, 4, 6, 7, 8, 10})[:, None]
    img = np.repeat(np.repeat(PALETTE[[0, 1, 2, 4]][idx], 3, axis=0), 3, axis=1)
    assert split_fraction(img, 3, 0, 0) == 0.0
    assert split_fraction(img, 6, 0, 0) > 0.2
    grid = detect_grid(img)
    assert (grid.cell, grid.phase_y, grid.phase_x) == (3, 0, 0)
    assert grid.separation == 1.0 and grid.confidence > 0.9


def test_c_versus_2c_on_posts_whose_regions_are_two_cells_wide():
    """Regions >= 2 cells wide: 2c explains most edges too; the flat cells pick c, also in JPEG."""
    for seed, cell in ((3, 3), (7, 4), (11, 6), (20, 8)):
        post = make_post(seed, cell=cell, cut=False)
        y0, y1, x0, x1 = post.box
        grid = detect_grid(post.image[y0:y1, x0:x1])
        assert (grid.cell, grid.phase_y, grid.phase_x) == (cell, 0, 0), seed
        assert grid.confidence >= 0.6


def test_nearly_upscaled_art_is_ambiguous_and_refused():
    # Every native edge but one short one is even: 2c splits only that cell, so the grid is
    # refused (low separation) rather than guessed.
    idx = np.zeros((16, 16), dtype=int)
    idx[2:8, 4:12] = 1
    idx[10:14, 2:6] = 2
    idx[8:16, 8:16] = 3
    idx[11, 12:14] = 2  # the one odd boundary (row 11 -> 12 splits a 2x2 native block)
    img = np.repeat(np.repeat(PALETTE[idx], 5, axis=0), 5, axis=1)
    grid = detect_grid(img)
    assert grid.cell == 5
    assert grid.separation < 1.0


def test_photo_and_smooth_rescale_get_low_confidence():
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 256, size=(160, 200, 3), dtype=np.uint8), (0, 0), 3)
    photo = cv2.normalize(photo, None, 0, 255, cv2.NORM_MINMAX)
    assert detect_grid(photo).confidence < 0.6
    sprite = PALETTE[random_sprite(np.random.default_rng(1))]
    smooth = cv2.resize(sprite, (sprite.shape[1] * 9, sprite.shape[0] * 9), interpolation=cv2.INTER_CUBIC)
    assert detect_grid(smooth).confidence < 0.6


def test_known_cell_only_searches_phase():
    idx = random_sprite(np.random.default_rng(5))
    img = np.repeat(np.repeat(PALETTE[idx], 6, axis=0), 6, axis=1)[2:, 5:]
    grid = detect_grid(img, cell=6)
    assert (grid.cell, grid.phase_y, grid.phase_x) == (6, 4, 1)
    assert detect_grid(img, cell=1) == GridInfo(1, 0, 0, 1.0, 1.0, 1.0)


def test_reduce_uses_median_not_mean():
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    img[0, 0] = 255  # one outlier pixel in the top-left 2x2 cell
    img[2:, 2:] = 200
    img[3, 3] = 10
    native = reduce_to_native(img, GridInfo(2, 0, 0, 1.0))
    np.testing.assert_array_equal(native[..., 0], [[0, 0], [0, 200]])


def test_reduce_partial_cells_rule():
    img = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
    # cell 4, phase 1: head of 1 row (< half, dropped), two full cells, tail of 1 (dropped)
    assert reduce_to_native(img, GridInfo(4, 1, 1, 1.0)).shape == (2, 2, 3)
    # phase 2: head of 2 rows (= half, kept), 2 full cells, no tail
    assert reduce_to_native(img, GridInfo(4, 2, 2, 1.0)).shape == (3, 3, 3)
    assert reduce_to_native(img, GridInfo(4, 2, 2, 1.0), min_partial=1.0).shape == (2, 2, 3)


def test_edge_profiles_and_flat_fraction():
    img = np.zeros((6, 6, 3), dtype=np.uint8)
    img[:, 3:] = 10
    prof_y, prof_x = edge_profiles(img)
    np.testing.assert_array_equal(prof_y, np.zeros(6))
    np.testing.assert_array_equal(prof_x, [0, 0, 0, 10, 0, 0])  # luma of a 10-level grey step
    assert flat_fraction(img, 3, 0, 0) == 1.0
    assert flat_fraction(img, 3, 0, 1, tol=0) == 0.0  # the only full cell column straddles the edge


def test_errors_name_the_parameter():
    img = np.zeros((20, 20, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="too small to detect a grid"):
        detect_grid(np.zeros((6, 6, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="`cell` must be a positive integer"):
        detect_grid(img, cell=0)
    with pytest.raises(ValueError, match="`cell`=40 is larger than the image"):
        detect_grid(img, cell=40)
    with pytest.raises(ValueError, match="`min_cell` must be >= 2"):
        detect_grid(img, min_cell=1)
    with pytest.raises(ValueError, match=r"`img` must be a uint8 array of shape \(H, W, 1\|3\|4\)"):
        detect_grid(np.zeros((20, 20), dtype=np.uint8))
    with pytest.raises(TypeError, match="`img` must be a numpy array"):
        detect_grid([[0]])
    with pytest.raises(ValueError, match="`min_partial` must be in"):
        reduce_to_native(img, GridInfo(2, 0, 0, 1.0), min_partial=0.0)
    with pytest.raises(ValueError, match="invalid grid"):
        reduce_to_native(img, GridInfo(4, 4, 0, 1.0))


def test_frame_edge_inside_a_too_large_crop_is_left_out():
    """JPEG ringing made the content box 5 px too large: the frame-to-art edge sits inside it."""
    from datasets.pixelart_extraction import find_content_box

    post = make_post(507, subsampling=0)
    y0, y1, x0, x1 = find_content_box(post.image)
    assert post.box[0] - y0 >= 4  # the crop starts well inside the frame
    grid = detect_grid(post.image[y0:y1, x0:x1])
    assert grid.cell == post.cell
    assert (y0 + grid.phase_y - post.origin[0]) % post.cell == 0
    assert (x0 + grid.phase_x - post.origin[1]) % post.cell == 0
