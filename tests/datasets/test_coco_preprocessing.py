"""Tests for datasets/coco_preprocessing.py: squaring, resizing, split, CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasets.coco_preprocessing import list_images, main, output_names, parse_colour, split_paths, square_image
from util.image import load_image


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (40, 40), (7, 300), (300, 7)])
@pytest.mark.parametrize("mode", ["center", "pad"])
@pytest.mark.parametrize("size", [1, 16, 64, 256])
def test_square_image_exact_size(shape, mode, size):
    out = square_image(photo(*shape), size, mode)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8


def test_center_crop_takes_the_middle_square():
    img = photo(10, 16)
    np.testing.assert_array_equal(square_image(img, 10, "center"), img[:, 3:13])


def test_pad_centres_the_image_on_pad_colour():
    img = photo(6, 10)
    out = square_image(img, 10, "pad", pad_color=(1, 2, 3))
    np.testing.assert_array_equal(out[2:8], img)
    assert (out[:2] == [1, 2, 3]).all() and (out[8:] == [1, 2, 3]).all()


def test_resize_uses_area_when_shrinking_and_keeps_flat_colours():
    img = np.zeros((40, 40, 3), dtype=np.uint8)
    img[:, :20] = 200
    out = square_image(img, 4, "center")
    np.testing.assert_array_equal(out[..., 0], [[200, 200, 0, 0]] * 4)  # area average, no ringing
    img[:, :20] = 255
    up = square_image(img, 80, "center")
    assert up.shape == (80, 80, 3)
    assert len(np.unique(up)) > 2  # interpolated (bicubic), not nearest
    assert up[:, :36].min() == 255 and up[:, 44:].max() == 0  # overshoot saturated, never wrapped


def test_parse_colour():
    assert parse_colour("white") == (255, 255, 255)
    assert parse_colour("#FF8800") == (255, 136, 0)
    assert parse_colour("1, 2, 3") == (1, 2, 3)
    with pytest.raises(ValueError, match="--pad_color must be a colour name"):
        parse_colour("mauve")
    with pytest.raises(ValueError, match="--pad_color must be"):
        parse_colour("1,2,300")


def test_square_image_errors():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        square_image(photo(4, 4), 4, "stretch")
    with pytest.raises(ValueError, match="`size` must be a positive integer"):
        square_image(photo(4, 4), 0)
    with pytest.raises(ValueError, match="`pad_color` needs 3 values"):
        square_image(photo(4, 6), 4, "pad", pad_color=(1, 2))
    with pytest.raises(ValueError, match="`img` must be a uint8"):
        square_image(np.zeros((4, 4, 3)), 4)


def test_split_is_reproducible_disjoint_and_order_independent():
    paths = [Path(f"d/{i:03d}.jpg") for i in range(50)]
    train, test = split_paths(paths, 0.2, seed=3)
    assert len(test) == 10 and len(train) == 40
    assert not set(train) & set(test) and set(train) | set(test) == set(paths)
    assert split_paths(list(reversed(paths)), 0.2, seed=3) == (train, test)
    assert split_paths(paths, 0.2, seed=4) != (train, test)
    sub_train, sub_test = split_paths(paths, 0.2, seed=3, limit=10)
    assert len(sub_train) == 8 and len(sub_test) == 2
    assert split_paths(paths, 0.0, seed=3) == (sorted(paths, key=str), [])
    with pytest.raises(ValueError, match=r"--test_fraction must be in \[0, 1\)"):
        split_paths(paths, 1.0, seed=0)
    with pytest.raises(ValueError, match="--limit must be a positive integer"):
        split_paths(paths, 0.1, seed=0, limit=0)


def test_listing_is_recursive_case_insensitive_and_skips_outputs(tmp_path):
    for rel in ["b.JPG", "a/c.png", "a/d.Jpeg", "notes.txt", "out/trainA/x.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, exclude=tmp_path / "out")]
    assert found == ["a/c.png", "a/d.Jpeg", "b.JPG"]
    names = output_names([tmp_path / "a/c.png", tmp_path / "a/c.jpg", tmp_path / "b.JPG"], tmp_path)
    assert sorted(names.values()) == ["a__c_jpg.png", "a__c_png.png", "b.png"]


def _make_src(root: Path) -> Path:
    src = root / "src"
    (src / "nested").mkdir(parents=True)
    Image.fromarray(photo(40, 60, 1)).save(src / "a.png")
    Image.fromarray(photo(50, 30, 2)).save(src / "nested" / "b.JPG", quality=90)
    Image.fromarray(photo(20, 20, 3)).save(src / "c.bmp")
    Image.fromarray(photo(80, 100, 4)).save(src / "nested" / "d.webp")
    Image.fromarray(photo(33, 44, 5)).convert("L").save(src / "e.tiff")
    return src


def test_cli_writes_split_and_reports_bad_files(tmp_path, capsys):
    src = _make_src(tmp_path)
    good = sorted(p.read_bytes() for p in src.rglob("*.*"))
    (src / "broken.png").write_bytes((src / "a.png").read_bytes()[:60])
    (src / "readme.png").write_text("this is text, not an image")
    dst = tmp_path / "dst"
    rc = main([str(src), str(dst), "--size", "32", "--test_fraction", "0.4", "--mode", "pad"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "done: 5 written, 0 skipped, 2 failed" in out
    assert f"error: {src / 'broken.png'}: corrupt or truncated image" in err
    assert f"error: {src / 'readme.png'}: not an image file" in err
    written = sorted((dst / "trainA").glob("*.png")) + sorted((dst / "testA").glob("*.png"))
    assert len(written) == 5
    assert {p.name for p in written} == {"a.png", "nested__b.png", "c.png", "nested__d.png", "e.png"}
    assert all(load_image(p).shape == (32, 32, 3) for p in written)
    assert sorted(p.read_bytes() for p in src.rglob("*.*") if p.stem not in ("broken", "readme")) == good

    # Same seed, fresh output: same split and identical files.
    dst2 = tmp_path / "dst2"
    assert main([str(src), str(dst2), "--size", "32", "--test_fraction", "0.4", "--mode", "pad"]) == 1
    for sub in ("trainA", "testA"):
        first = {p.name: p.read_bytes() for p in (dst / sub).glob("*.png")}
        assert first == {p.name: p.read_bytes() for p in (dst2 / sub).glob("*.png")}


def test_cli_success_limit_and_argument_errors(tmp_path, capsys):
    src = _make_src(tmp_path)
    dst = tmp_path / "dst"
    assert main([str(src), str(dst), "--size", "16", "--limit", "3", "--test_fraction", "0"]) == 0
    out, _ = capsys.readouterr()
    assert "done: 3 written, 0 skipped, 0 failed" in out
    assert len(list((dst / "trainA").glob("*.png"))) == 3 and not (dst / "testA").exists()

    assert main([str(tmp_path / "missing"), str(dst)]) == 2
    assert "SRC" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), str(dst)]) == 2
    assert "no image files found" in capsys.readouterr().err
    assert main([str(src), str(dst), "--pad_color", "nope"]) == 2
    assert "--pad_color must be" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(src), str(dst), "--size", "0"])
    assert exc.value.code == 2 and "argument --size: must be >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "--test_fraction" in capsys.readouterr().out
