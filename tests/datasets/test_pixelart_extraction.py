"""Tests for datasets/pixelart_extraction.py: content box, canvas fitting, end-to-end CLI."""
from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from datasets.coco_preprocessing import Rejected
from datasets.grid_detect import GridInfo, detect_grid, reduce_to_native
from datasets.pixelart_extraction import (
    DEFAULT_MIN_CONFIDENCE,
    MIN_PARTIAL,
    background_colour,
    extract_pixel_art,
    find_content_box,
    fit_to_canvas,
    main,
    merge_similar_colours,
    restore_bled_cells,
    snap_bled_colours,
)
from datasets.synthetic_posts import make_post, score_extraction
from util.image import load_image

INK = np.array([[20, 12, 28], [255, 0, 77], [41, 173, 255], [255, 236, 39], [0, 135, 81]], dtype=np.uint8)


def sprite(seed: int, h: int = 12, w: int = 10) -> np.ndarray:
    """A native sprite (h, w, 3) whose outer rows/columns are not white."""
    rng = np.random.default_rng(seed)
    native = INK[rng.integers(0, len(INK), size=(h, w))]
    native[0, :] = native[-1, :] = native[:, 0] = native[:, -1] = INK[0]
    return native


def post(native: np.ndarray, cell: int, margins=(30, 20, 25, 35), colour=(255, 255, 255)) -> np.ndarray:
    """Nearest-upscaled sprite in a plain margin (top, bottom, left, right)."""
    up = np.repeat(np.repeat(native, cell, axis=0), cell, axis=1)
    top, bottom, left, right = margins
    out = np.empty((up.shape[0] + top + bottom, up.shape[1] + left + right, 3), dtype=np.uint8)
    out[:] = colour
    out[top:top + up.shape[0], left:left + up.shape[1]] = up
    return out


def test_photo_with_borders_is_cropped_to_exactly_its_content():
    rng = np.random.default_rng(0)
    img = np.full((52, 42, 3), 255, dtype=np.uint8)
    img[:, :3] = (128, 128, 128)  # grey bar on the left
    img[47:] = 0  # black bar at the bottom, crossing the grey one
    img[7:47, 3:33] = rng.integers(60, 200, size=(40, 30, 3))  # the photo
    assert find_content_box(img) == (7, 47, 3, 33)
    np.testing.assert_array_equal(background_colour(img, (7, 47, 3, 33)), [255, 255, 255])


def test_content_box_without_margins_and_with_jpeg_noise():
    img = np.random.default_rng(1).integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    assert find_content_box(img) == (0, 20, 0, 30)
    noisy = post(sprite(2), 8)  # 96x80 sprite at (30, 25)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="JPEG", quality=85)
    jpeg = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    assert find_content_box(jpeg) == (30, 30 + 96, 25, 25 + 80)


def test_uniform_image_is_rejected():
    with pytest.raises(Rejected, match="one uniform colour"):
        find_content_box(np.full((10, 10, 3), 7, dtype=np.uint8))


def test_fit_to_canvas_keeps_square_uniform_cells():
    native = sprite(3, 12, 9)
    out = fit_to_canvas(native, 64, (255, 255, 255))
    assert out.shape == (64, 64, 3)
    # side 12 -> factor 5 -> 60 px centred with a 2 px margin; the 9 columns are centred in 12.
    np.testing.assert_array_equal(out[2:62, 2 + 5:2 + 5 + 45], np.repeat(np.repeat(native, 5, 0), 5, 1))
    assert (out[:2] == 255).all() and (out[:, 62:] == 255).all()
    with pytest.raises(Rejected, match="native resolution 12x9 is larger than --size 8"):
        fit_to_canvas(native, 8, (255, 255, 255))


@pytest.mark.parametrize("cell", [2, 3, 5, 8, 11])
def test_extract_round_trips_the_sprite(cell):
    native = sprite(cell)
    result = extract_pixel_art(post(native, cell), 48)
    assert (result.grid.cell, result.grid.phase_y, result.grid.phase_x) == (cell, 0, 0)
    np.testing.assert_array_equal(result.native, native)
    np.testing.assert_array_equal(reduce_to_native(result.image, detect_grid(result.image)),
                                  fit_to_canvas(native, 12, (255, 255, 255))[:, :])


def test_extract_rejects_a_photo_and_pixel_size_overrides():
    rng = np.random.default_rng(4)
    photo = cv2.GaussianBlur(rng.integers(0, 256, size=(120, 150, 3), dtype=np.uint8), (0, 0), 2.5)
    photo = cv2.normalize(photo, None, 0, 255, cv2.NORM_MINMAX)
    with pytest.raises(Rejected, match=r"grid not found \(best guess: cell \d+ px, confidence 0\.\d\d < "
                                       r"--min_confidence 0\.6\); pass --pixel_size N"):
        extract_pixel_art(photo, 64)
    forced = extract_pixel_art(photo, 64, pixel_size=3)
    g = forced.grid  # cut-off cells at the edges are dropped (MIN_PARTIAL = 1)
    assert g.cell == 3 and forced.native.shape == ((120 - g.phase_y) // 3, (150 - g.phase_x) // 3, 3)
    assert forced.image.shape == (64, 64, 3)
    with pytest.raises(Rejected, match="grid not found: image is 6x6 pixels, too small"):
        extract_pixel_art(post(np.zeros((6, 6, 3), dtype=np.uint8), 1), 64)


def test_merge_similar_colours():
    native = np.array([[[10, 10, 10], [12, 9, 10], [10, 10, 10]], [[200, 0, 0], [205, 3, 0], [30, 10, 10]]],
                      dtype=np.uint8)
    merged = merge_similar_colours(native, tol=6)
    np.testing.assert_array_equal(merged, [[[10, 10, 10]] * 3, [[200, 0, 0], [200, 0, 0], [30, 10, 10]]])
    np.testing.assert_array_equal(merge_similar_colours(native, tol=0), native)
    with pytest.raises(ValueError, match="--colour_tol must be >= 0, got -1"):
        merge_similar_colours(native, tol=-1)


def _write_jpeg(path: Path, img: np.ndarray) -> None:
    Image.fromarray(img).save(path, format="JPEG", quality=90, subsampling=0)


def test_cli_end_to_end(tmp_path, capsys):
    src = tmp_path / "posts"
    (src / "insta").mkdir(parents=True)
    originals = {"s4": (sprite(10), 4), "s6": (sprite(11, 16, 16), 6), "s9": (sprite(12, 8, 14), 9)}
    backgrounds = {"s4": (255, 255, 255), "s6": (200, 230, 200), "s9": (255, 255, 255)}
    Image.fromarray(post(*originals["s4"])).save(src / "s4.PNG")
    _write_jpeg(src / "insta" / "s6.jpg", post(*originals["s6"], colour=(200, 230, 200)))
    _write_jpeg(src / "s9.jpeg", post(*originals["s9"]))
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 256, size=(120, 150, 3), dtype=np.uint8), (0, 0), 2.5)
    Image.fromarray(cv2.normalize(photo, None, 0, 255, cv2.NORM_MINMAX)).save(src / "photo.png")
    (src / "insta" / "caption.png").write_text("not an image")
    dst = tmp_path / "data"

    rc = main([str(src), str(dst), "--size", "64", "--test_fraction", "0"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "done: 3 written, 1 skipped, 1 failed" in out
    assert f"skipped: {src / 'photo.png'}: grid not found" in err
    assert f"error: {src / 'insta' / 'caption.png'}: not an image file" in err
    for name, (native, _) in originals.items():
        path = next((dst / "trainB").glob(f"*{name}.png"))
        image = load_image(path)
        assert image.shape == (64, 64, 3)
        grid = detect_grid(image)
        assert grid.cell == 64 // max(native.shape[:2]) and grid.confidence == pytest.approx(1.0)
        expected = fit_to_canvas(native, 64, backgrounds[name])
        if name == "s4":  # lossless input: exact
            np.testing.assert_array_equal(image, expected)
        else:  # JPEG input: per-cell medians stay within a few levels of the true colours
            assert np.abs(image.astype(int) - expected).max() <= 8
        assert len(np.unique(image.reshape(-1, 3), axis=0)) <= len(INK) + 1  # JPEG noise merged away

    # A clean folder exits 0; --domain A writes trainA/testA.
    clean = tmp_path / "clean"
    clean.mkdir()
    Image.fromarray(post(*originals["s4"])).save(clean / "s4.png")
    Image.fromarray(post(*originals["s9"])).save(clean / "s9.png")
    assert main([str(clean), str(tmp_path / "d2"), "--size", "32", "--domain", "A", "--test_fraction", "0.5"]) == 0
    assert "done: 2 written, 0 skipped, 0 failed" in capsys.readouterr().out
    assert len(list((tmp_path / "d2" / "trainA").glob("*.png"))) == 1
    assert len(list((tmp_path / "d2" / "testA").glob("*.png"))) == 1


def test_cli_nothing_written_and_argument_errors(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(np.full((40, 40, 3), 9, dtype=np.uint8)).save(src / "blank.png")
    assert main([str(src), str(tmp_path / "dst")]) == 1
    out, err = capsys.readouterr()
    assert "done: 0 written, 1 skipped, 0 failed" in out and "one uniform colour" in err
    assert main([str(src), str(tmp_path / "dst"), "--min_confidence", "1.5"]) == 2
    assert "--min_confidence must be in [0, 1], got 1.5" in capsys.readouterr().err
    assert main([str(src), str(tmp_path / "dst"), "--colour_tol", "-2"]) == 2
    assert "--colour_tol must be >= 0, got -2.0" in capsys.readouterr().err
    assert main([str(tmp_path / "nope"), str(tmp_path / "dst")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "--pixel_size" in capsys.readouterr().out


# --------------------------------------------------------------------------- posts made like real ones
@pytest.mark.parametrize("seed", [0, 1, 2, 5, 6, 9])
def test_synthetic_jpeg_posts_are_recovered_exactly(seed):
    """Regions >= 2 cells wide, cell 3..9 at a random phase, a 5..40 px frame, JPEG q90 4:2:0."""
    post = make_post(seed)
    result = extract_pixel_art(post.image, 512)
    g = result.grid
    assert g.cell == post.cell and g.confidence >= 0.6
    score = score_extraction(post, result.box, g.cell, g.phase_y, g.phase_x, result.native, min_partial=MIN_PARTIAL)
    assert score.grid_ok and score.exact


@pytest.mark.parametrize("seed", [507, 638])
def test_full_chroma_jpeg_posts(seed):
    """4:4:4 JPEG: ringing made the content box 5 px too large (507); a sprite whose rows differ
    almost only in chroma, so the luma leaves one axis with a single strong edge (638)."""
    post = make_post(seed, subsampling=0)
    result = extract_pixel_art(post.image, 512)
    g = result.grid
    score = score_extraction(post, result.box, g.cell, g.phase_y, g.phase_x, result.native, min_partial=MIN_PARTIAL)
    assert g.cell == post.cell and score.exact


@pytest.mark.parametrize("cell", [3, 4, 6])
def test_lossless_post_reduces_to_the_exact_sprite(cell):
    post = make_post(40 + cell, cell=cell, cut=False, jpeg_quality=None)
    result = extract_pixel_art(post.image, 512)
    assert result.box == post.box and (result.grid.cell, result.grid.phase_y, result.grid.phase_x) == (cell, 0, 0)
    np.testing.assert_array_equal(result.native, post.native)


def test_blurred_post_is_skipped_never_accepted():
    post = make_post(3, cell=6)
    blurred = cv2.GaussianBlur(post.image, (0, 0), 2.0)
    with pytest.raises(Rejected, match="grid not found .*pass --pixel_size N") as exc:
        extract_pixel_art(blurred, 512)
    assert exc.value.grid.confidence < DEFAULT_MIN_CONFIDENCE


def test_manifest_lists_every_input_with_grid_confidence_and_status(tmp_path, capsys):
    src, dst = tmp_path / "posts", tmp_path / "data"
    src.mkdir()
    good = make_post(1)
    (src / "good.jpg").write_bytes(good.jpeg_bytes)
    rng = np.random.default_rng(4)
    photo = cv2.GaussianBlur(rng.integers(0, 256, size=(120, 150, 3), dtype=np.uint8), (0, 0), 2.5)
    Image.fromarray(cv2.normalize(photo, None, 0, 255, cv2.NORM_MINMAX)).save(src / "photo.png")
    (src / "notes.png").write_text("not an image")
    assert main([str(src), str(dst), "--size", "256", "--test_fraction", "0"]) == 1
    out = capsys.readouterr().out
    assert "done: 1 written, 1 skipped, 1 failed" in out and "manifest.json" in out
    manifest = json.loads((dst / "manifest.json").read_text())
    entries = {Path(e["source"]).name: e for e in manifest["images"]}
    assert set(entries) == {"good.jpg", "photo.png", "notes.png"}
    written = entries["good.jpg"]
    assert written["status"] == "written" and Path(written["output"]) == dst / "trainB" / "good.png"
    assert written["cell"] == good.cell and written["confidence"] >= 0.6
    y0, y1, x0, x1 = written["box"]
    assert (y0 + written["phase"][0] - good.origin[0]) % good.cell == 0
    assert (x0 + written["phase"][1] - good.origin[1]) % good.cell == 0
    skipped = entries["photo.png"]
    assert skipped["status"] == "skipped" and skipped["output"] is None
    assert skipped["confidence"] < 0.6 and "--pixel_size" in skipped["reason"]
    failed = entries["notes.png"]
    assert failed["status"] == "failed" and failed["cell"] is None and "not an image" in failed["reason"]


def test_snap_bled_colours_moves_rare_colours_to_the_common_one_of_the_same_luma():
    native = np.zeros((4, 4, 3), dtype=np.uint8)
    native[:] = (200, 40, 40)  # common red, luma ~88
    native[:2, :2] = (40, 40, 200)  # 4 blue cells (common too), luma ~51
    native[3, 3] = (170, 52, 50)  # a red cell whose chroma bled: rare, same luma, chroma ~22 away
    native[3, 0] = (40, 120, 60)  # a rare green of the same luma: its chroma is far, it stays
    out = snap_bled_colours(native, tol=12)
    np.testing.assert_array_equal(out[3, 3], [200, 40, 40])
    np.testing.assert_array_equal(out[3, :3], native[3, :3])
    np.testing.assert_array_equal(out[:3], native[:3])


def test_restore_bled_cells_uses_the_middle_of_a_region():
    """A 3-px cell whose pixels all carry bleed gets the colour of its 2x2-cell region's core."""
    native = np.array([[[200, 40, 40]] * 4] * 4, dtype=np.uint8)
    native[2:, 2:] = (40, 40, 200)
    art = np.repeat(np.repeat(native, 3, axis=0), 3, axis=1)
    bled = art.copy()
    bled[6:12, 6:8] = (70, 35, 160)  # chroma bled into the blue region's left cells (luma kept)
    reduced = reduce_to_native(bled, GridInfo(3, 0, 0, 1.0), min_partial=1.0)
    assert not np.array_equal(reduced, native)
    np.testing.assert_array_equal(restore_bled_cells(bled, GridInfo(3, 0, 0, 1.0), reduced), native)


def test_synthetic_posts_are_deterministic_with_wide_regions():
    a, b = make_post(7), make_post(7)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.jpeg_bytes == b.jpeg_bytes and 3 <= a.cell <= 9 and all(5 <= m <= 40 for m in a.border)
    idx = np.unique(a.native.reshape(-1, 3), axis=0, return_inverse=True)[1].reshape(a.native.shape[:2])
    # every pixel lies in a uniform 2x2 block: no region is one cell wide
    h, w = idx.shape
    same = np.zeros((h, w), dtype=bool)
    for dy in (0, 1):
        for dx in (0, 1):
            block = np.ones((h - 1, w - 1), dtype=bool)
            for oy in (0, 1):
                for ox in (0, 1):
                    block &= idx[oy:oy + h - 1, ox:ox + w - 1] == idx[:h - 1, :w - 1]
            same[dy:dy + h - 1, dx:dx + w - 1] |= block
    assert same.all()
    np.testing.assert_array_equal(make_post(7, jpeg_quality=None).image, a.clean)
