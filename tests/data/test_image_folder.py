"""data/image_folder.py: listing, sorting, truncation and folder errors."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from data.image_folder import ImageFolder, make_dataset, parse_max_dataset_size, require_images


def _touch_images(root: Path, names: list[str], write_png) -> None:
    for name in names:
        write_png(root / name, w=4, h=4)


def test_make_dataset_recursive_sorted_case_insensitive(tmp_path, write_png):
    _touch_images(tmp_path, ["z.png", "a.JPG", "sub/m.Png", "sub/deeper/b.jpeg", "c.WebP"], write_png)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "anim.gif").write_bytes(b"GIF89a")
    _touch_images(tmp_path, [".hidden.png", "._z.png", ".ipynb_checkpoints/a.png"], write_png)
    got = make_dataset(tmp_path)
    rel = [os.path.relpath(p, tmp_path) for p in got]
    assert rel == ["a.JPG", "c.WebP", "sub/deeper/b.jpeg", "sub/m.Png", "z.png"]
    assert all(isinstance(p, str) for p in got)


def test_make_dataset_sorts_before_truncating(tmp_path, write_png):
    _touch_images(tmp_path, ["z.png", "m.png", "a.png", "q.png"], write_png)
    assert [Path(p).name for p in make_dataset(tmp_path, 2)] == ["a.png", "m.png"]
    assert [Path(p).name for p in make_dataset(tmp_path, 2.0)] == ["a.png", "m.png"]
    assert len(make_dataset(tmp_path, None)) == 4
    assert len(make_dataset(tmp_path, float("inf"))) == 4


def test_make_dataset_follows_symlink_loops_once(tmp_path, write_png):
    _touch_images(tmp_path, ["a.png"], write_png)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [Path(p).name for p in make_dataset(tmp_path)] == ["a.png"]


def test_make_dataset_missing_dir(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match=re.escape(f"dataset folder {missing} does not exist; check --dataroot")):
        make_dataset(missing)
    file = tmp_path / "f.png"
    file.write_bytes(b"x")
    with pytest.raises(ValueError, match=re.escape(f"dataset folder {file} is not a folder")):
        make_dataset(file)


def test_make_dataset_empty_dir_is_empty_list(tmp_path):
    assert make_dataset(tmp_path) == []


def test_require_images_empty_folder_message(tmp_path):
    folder = tmp_path / "trainB"
    folder.mkdir()
    with pytest.raises(ValueError) as info:
        require_images(folder, None, "domain-B training images")
    assert str(info.value) == (f"no images found in {folder} (looked for .jpg .jpeg .png .bmp .ppm .tif .tiff "
                               ".webp, any letter case); put domain-B training images there")


def test_require_images_mentions_other_files(tmp_path):
    (tmp_path / "a.gif").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match=r"it holds 1 other file\(s\) \(a.gif\), convert them to PNG or JPEG; put x"):
        require_images(tmp_path, None, "x")


def test_require_images_missing_folder_says_what_to_put(tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"dataset folder {tmp_path / 'testA'} does not exist; create it "
                                                   "and put domain-A test images there")):
        require_images(tmp_path / "testA", None, "domain-A test images")


def test_require_images_max_zero(tmp_path, write_png):
    write_png(tmp_path / "a.png", w=4, h=4)
    with pytest.raises(ValueError, match=r"--max_dataset_size 0 leaves no images from"):
        require_images(tmp_path, 0, "x")


@pytest.mark.parametrize("value, expected", [(None, None), (float("inf"), None), (5, 5), (5.0, 5), (0, 0)])
def test_parse_max_dataset_size(value, expected):
    assert parse_max_dataset_size(value) == expected


@pytest.mark.parametrize("value, exc, pattern", [
    (-1, ValueError, r"--max_dataset_size must be >= 0 \(or inf for no limit\), got -1"),
    (2.5, ValueError, r"--max_dataset_size must be a whole number or inf, got 2.5"),
    (float("-inf"), ValueError, r"--max_dataset_size must be a whole number or inf, got -inf"),
    ("10", TypeError, r"--max_dataset_size must be an integer or inf, got '10' \(str\)"),
    (True, TypeError, r"--max_dataset_size must be an integer or inf, got True"),
])
def test_parse_max_dataset_size_errors(value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        parse_max_dataset_size(value)


def test_image_folder(tmp_path, write_png):
    write_png(tmp_path / "b.png", w=5, h=3)
    write_png(tmp_path / "a.png", w=5, h=3)
    folder = ImageFolder(tmp_path, return_paths=True)
    assert len(folder) == 2
    img, path = folder[0]
    assert Path(path).name == "a.png" and img.size == (5, 3) and img.mode == "RGB"
