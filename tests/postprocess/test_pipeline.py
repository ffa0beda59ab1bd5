"""Tests for postprocess.pipeline: pixelize_image, pixelize_image_with_palette, upscale."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import smooth_photo
from postprocess import load_palette, pixelize_image, pixelize_image_with_palette, save_palette, upscale
from postprocess.color import delta_e00, lab_chroma, srgb_to_lab
from postprocess.metrics import grid_conformity

photo = smooth_photo


def colours(img: np.ndarray) -> set:
    return set(map(tuple, img.reshape(-1, img.shape[-1])[:, :3].tolist()))


def test_shape_dtype_and_palette():
    out, pal = pixelize_image_with_palette(photo(), pixel_size=8, n_colors=6)
    assert out.shape == (8, 10, 3) and out.dtype == np.uint8
    assert pal.dtype == np.uint8 and 1 <= len(pal) <= 6
    assert colours(out) <= set(map(tuple, pal.tolist()))
    np.testing.assert_array_equal(pixelize_image(photo(), pixel_size=8, n_colors=6), out)


def test_remainder_shape():
    assert pixelize_image(photo(61, 75), pixel_size=8, n_colors=4).shape == (8, 10, 3)


def test_deterministic():
    a, pa = pixelize_image_with_palette(photo(), pixel_size=4, seed=7)
    b, pb = pixelize_image_with_palette(photo(), pixel_size=4, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pa, pb)


def test_fixed_palette_array_and_file(tmp_path):
    pal = np.array([[0, 0, 0], [255, 255, 255], [220, 40, 40]], np.uint8)
    out, used = pixelize_image_with_palette(photo(), pixel_size=8, palette=pal)
    np.testing.assert_array_equal(used, pal)
    assert colours(out) <= set(map(tuple, pal.tolist()))
    save_palette(tmp_path / "p.hex", pal)
    np.testing.assert_array_equal(pixelize_image(photo(), pixel_size=8, palette=tmp_path / "p.hex"), out)
    np.testing.assert_array_equal(load_palette(tmp_path / "p.hex"), pal)


def test_alpha_preserved():
    img = np.dstack([photo(), np.full((64, 80), 255, np.uint8)])
    img[:, 40:, 3] = 0
    out = pixelize_image(img, pixel_size=8, n_colors=4)
    assert out.shape == (8, 10, 4)
    assert (out[:, 5:] == 0).all()
    assert (out[:, :5, 3] == 255).all()


def test_alpha_dropped_composites_over_white():
    img = np.zeros((16, 16, 4), np.uint8)
    img[:, :8] = (10, 10, 10, 255)
    out = pixelize_image(img, pixel_size=8, keep_alpha=False)
    assert out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == [10, 10, 10] and out[0, 1].tolist() == [255, 255, 255]


def test_opaque_rgba_fast_path_keeps_four_channels():
    img = np.dstack([photo(), np.full((64, 80), 255, np.uint8)])
    out = pixelize_image(img, pixel_size=8, n_colors=4)
    np.testing.assert_array_equal(out[..., :3], pixelize_image(photo(), pixel_size=8, n_colors=4))
    assert (out[..., 3] == 255).all()


def test_saturation_and_contrast():
    grey = pixelize_image(photo(), pixel_size=8, n_colors=6, saturation=0.0)
    assert np.abs(grey.astype(int) - grey[..., :1]).max() <= 1
    base = srgb_to_lab(pixelize_image(photo(), pixel_size=8, n_colors=6))
    vivid = srgb_to_lab(pixelize_image(photo(), pixel_size=8, n_colors=6, saturation=1.6))
    assert lab_chroma(vivid).mean() > lab_chroma(base).mean()
    punchy = srgb_to_lab(pixelize_image(photo(), pixel_size=8, n_colors=6, contrast=1.8))
    assert punchy[..., 0].std() > base[..., 0].std()


def test_vivid_off_keeps_plain_cluster_centres():
    img = photo(96, 96, seed=3)
    vivid, pal_v = pixelize_image_with_palette(img, pixel_size=8, n_colors=5)
    plain, pal_p = pixelize_image_with_palette(img, pixel_size=8, n_colors=5, vivid=False)
    assert len(pal_v) == len(pal_p) == 5
    assert colours(plain) <= set(map(tuple, pal_p.tolist()))

    def usage_chroma(out):
        return float(lab_chroma(srgb_to_lab(out.reshape(-1, 3))).mean())

    assert usage_chroma(vivid) > usage_chroma(plain)  # chroma given back to the cells' averages
    with pytest.raises(TypeError, match="`vivid` must be a bool"):
        pixelize_image(img, pixel_size=8, n_colors=5, vivid=1)


def test_outline_keeps_thin_dark_lines():
    img = np.full((32, 32, 3), 255, np.uint8)
    img[:, 13] = 0  # a 1-pixel line inside the second column of cells
    assert (pixelize_image(img, pixel_size=8) == 255).all()
    out = pixelize_image(img, pixel_size=8, outline=1.0)
    assert (out[:, 1] == 0).all()
    assert (out[:, [0, 2, 3]] == 255).all()


def test_upscale():
    img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    up = upscale(img, 3)
    assert up.shape == (6, 12, 3)
    np.testing.assert_array_equal(up[::3, ::3], img)
    assert grid_conformity(up, 3)["conformity"] == 1.0
    np.testing.assert_array_equal(upscale(img, 1), img)


def test_errors(tmp_path):
    img = photo()
    with pytest.raises(ValueError, match="larger than the image"):
        pixelize_image(img, pixel_size=100)
    with pytest.raises(ValueError, match="n_colors"):
        pixelize_image(img, pixel_size=8, n_colors=0)
    with pytest.raises(ValueError, match="either"):
        pixelize_image(img, pixel_size=8, n_colors=4, palette=np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="dither"):
        pixelize_image(img, pixel_size=8, dither="atkinson")
    with pytest.raises(ValueError, match="outline"):
        pixelize_image(img, pixel_size=8, outline=2.0)
    with pytest.raises(TypeError, match="keep_alpha"):
        pixelize_image(img, pixel_size=8, keep_alpha="yes")
    with pytest.raises(TypeError, match="seed"):
        pixelize_image(img, pixel_size=8, seed=None)
    with pytest.raises(TypeError, match="uint8"):
        pixelize_image(img.astype(np.float32) / 255, pixel_size=8)
    with pytest.raises(ValueError, match="not found"):
        pixelize_image(img, pixel_size=8, palette=tmp_path / "none.gpl")
    with pytest.raises(ValueError, match="fully transparent"):
        pixelize_image(np.zeros((8, 8, 4), np.uint8), pixel_size=4)
    with pytest.raises(ValueError, match="factor"):
        upscale(img, 0)
    with pytest.raises(TypeError, match="factor"):
        upscale(img, 1.5)
    with pytest.raises(TypeError, match="uint8"):
        upscale(img.astype(np.int16), 2)
    with pytest.raises(ValueError, match="shape"):
        upscale(img[..., 0], 2)


def test_package_does_not_import_torch_and_metrics_module_runs(tmp_path):
    import subprocess
    import sys

    code = "import sys, postprocess, postprocess.metrics; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path.parent), env=_env()).returncode == 0
    res = subprocess.run([sys.executable, "-m", "postprocess.metrics", "--help"], capture_output=True, text=True, env=_env())
    assert res.returncode == 0 and "--pixel_size" in res.stdout


def _env() -> dict:
    import os
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _smooth_render(art: np.ndarray, p: int = 8, sigma: float = 2.0) -> np.ndarray:
    """A smooth render of pixel art: bicubic x p, Gaussian blur (no noise: exact expectations)."""
    big = cv2.resize(art, (art.shape[1] * p, art.shape[0] * p), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    return np.clip(np.rint(cv2.GaussianBlur(big, (0, 0), sigma)), 0, 255).astype(np.uint8)


def test_blurred_one_pixel_dark_line_becomes_one_outline_cell():
    ink = np.array([30, 25, 35], np.uint8)
    art = np.full((10, 10, 3), 255, np.uint8)
    art[:, 4] = ink  # a 1-px dark line on white
    out = pixelize_image(_smooth_render(art), pixel_size=8)
    assert out.shape == (10, 10, 3)
    de = delta_e00(srgb_to_lab(out), srgb_to_lab(art))
    assert (de <= 5.0).all()  # every cell is the artist's colour: line cells ink, the rest white
    dark = (out.astype(int).sum(-1) < 300)
    assert dark.sum(axis=1).tolist() == [1] * 10  # exactly one outline cell per row
    assert dark[:, 4].all()


def test_flat_regions_with_anti_aliased_border_stay_two_colours():
    a, b = (200, 60, 60), (60, 60, 200)
    img = np.empty((64, 64, 3), np.float32)
    img[:] = a
    img[:, 28:] = b  # the border runs through the middle of the fourth column of cells
    img = np.clip(np.rint(cv2.GaussianBlur(img, (0, 0), 1.5)), 0, 255).astype(np.uint8)  # anti-aliased
    out = pixelize_image(img, pixel_size=8, n_colors=3)  # room for a half-tone colour, which must not be used
    colours = np.unique(out.reshape(-1, 3), axis=0)
    assert len(colours) == 2
    assert (out[:, :3] == out[0, 0]).all() and (out[:, 4:] == out[0, 7]).all()


def test_min_delta_e_validated():
    img = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="min_delta_e"):
        pixelize_image(img, pixel_size=8, min_delta_e=-1.0)
    with pytest.raises(TypeError, match="min_delta_e"):
        pixelize_image(img, pixel_size=8, min_delta_e="8")
