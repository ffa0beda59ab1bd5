"""The pixelize page and the per-folder record: self-contained links, two runs into one folder, changed settings."""
from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

import pixelize
from engine import pixelize as engine
from options import pixelize_options
from util.cli import FlagError
from util.image import save_image


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.headers: list[str] = []
        self._in_h3 = False

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href") and value is not None]
        self._in_h3 = tag == "h3"

    def handle_endtag(self, tag):
        self._in_h3 = False

    def handle_data(self, data):
        if self._in_h3:
            self.headers.append(data)


def page_links(folder: Path) -> _Links:
    parser = _Links()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    return parser


def assert_self_contained(folder: Path) -> list[str]:
    """Every src/href of folder/index.html is a relative path without '..' to an existing file under folder."""
    links = page_links(folder).links
    assert links
    root = folder.resolve()
    for link in links:
        rel = unquote(link)
        assert "://" not in rel and not rel.startswith("/") and not os.path.isabs(rel), link
        assert ".." not in Path(rel).parts, link
        target = (folder / rel).resolve()
        assert target.is_file(), link
        assert target.is_relative_to(root), link
    return [unquote(link) for link in links]


def test_two_runs_share_one_page_that_survives_moving_the_folder(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    save_image(first / "a.png", photo(24, 24))
    Image.fromarray(photo(16, 16, 1)).save(first.joinpath("scan.tif"))
    save_image(second / "sub" / "b b#.jpg", photo(20, 28, 2))
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(first), "--output", str(out), "--pixel_size", "4"]) == 0
    assert pixelize.main(["--input", str(second), "--output", str(out), "--pixel_size", "4"]) == 0
    capsys.readouterr()

    record = json.loads((out / engine.RECORD_FILE).read_text())["outputs"]
    assert sorted(record) == ["a.png", "scan.png", "sub/b b#.png"]
    links = assert_self_contained(out)
    # both runs' results, each with its input preview copied under inputs/
    for rel in ("a.png", "scan.png", "sub/b b#.png", "inputs/a.png", "inputs/scan.png", "inputs/sub/b b#.png"):
        assert rel in links
    headers = " ".join(page_links(out).headers)
    assert str(first / "a.png") in headers and str(second / "sub" / "b b#.jpg") in headers
    assert not (out / "images").exists()

    moved = tmp_path / "elsewhere" / "result"
    moved.parent.mkdir()
    shutil.move(str(out), str(moved))
    assert sorted(assert_self_contained(moved)) == sorted(links)


def test_input_previews_are_small(tmp_path):
    save_image(tmp_path / "in" / "big.png", photo(900, 1200))
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--pixel_size", "16"]) == 0
    with Image.open(out / "inputs" / "big.png") as im:
        assert im.size == (engine.PREVIEW_SIDE, engine.PREVIEW_SIDE * 3 // 4)


def test_two_inputs_cannot_share_a_preview_name(tmp_path):
    src = tmp_path / "in"
    save_image(src / "x.png", photo(8, 8))
    save_image(src / "inputs" / "x.png", photo(8, 8, 1))  # its output is out/inputs/x.png: x.png's preview
    opt = pixelize_options.parse(["--input", str(src), "--output", str(tmp_path / "out")])
    with pytest.raises(FlagError, match="would both write"):
        engine.plan(opt)


def test_a_preview_never_overwrites_an_input(tmp_path):
    out = tmp_path / "out"
    src = out / "inputs"  # the inputs live where the page's previews would go
    save_image(src / "x.png", photo(8, 8))
    before = (src / "x.png").read_bytes()
    opt = pixelize_options.parse(["--input", str(src), "--output", str(out), "--overwrite"])
    with pytest.raises(FlagError, match="would overwrite the input"):
        engine.plan(opt)
    assert pixelize.main(["--input", str(src), "--output", str(out), "--overwrite"]) == 2
    assert (src / "x.png").read_bytes() == before


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_an_output_made_with_other_settings_is_redone_and_the_same_settings_skip(tmp_path, capsys):
    save_image(tmp_path / "in" / "x.png", photo(24, 24))
    out = tmp_path / "out"
    common = ["--input", str(tmp_path / "in"), "--output", str(out), "--upscale", "1"]
    assert pixelize.main([*common, "--pixel_size", "4"]) == 0
    assert _size(out / "x.png") == (6, 6)
    capsys.readouterr()

    assert pixelize.main([*common, "--pixel_size", "8"]) == 0  # no --overwrite
    printed = capsys.readouterr().out
    assert "pixelize: 1 done, 0 skipped, 0 failed (of 1 inputs)" in printed
    why = [line for line in printed.splitlines() if "made with other settings" in line]
    assert len(why) == 1 and "postprocess.pixel_size 4 -> 8" in why[0] and str(out / "x.png") in why[0]
    assert _size(out / "x.png") == (3, 3)
    recorded = json.loads((out / engine.RECORD_FILE).read_text())["outputs"]["x.png"]["settings"]
    assert recorded["postprocess"]["pixel_size"] == 8

    stamp = (out / "x.png").stat().st_mtime_ns
    assert pixelize.main([*common, "--pixel_size", "8"]) == 0
    printed = capsys.readouterr().out
    assert "pixelize: 0 done, 1 skipped, 0 failed (of 1 inputs)" in printed
    assert "made with other settings" not in printed
    assert (out / "x.png").stat().st_mtime_ns == stamp


def test_after_ctrl_c_with_overwrite_the_rerun_finishes_with_the_new_settings(tmp_path, capsys,
                                                                             interrupt_pixelize_at):
    src = tmp_path / "in"
    for i in range(4):
        save_image(src / f"img{i}.png", photo(24, 24, i))
    out = tmp_path / "out"
    common = ["--input", str(src), "--output", str(out), "--upscale", "1", "--workers", "1"]
    assert pixelize.main([*common, "--pixel_size", "4"]) == 0
    restore = interrupt_pixelize_at("img2.png")
    assert pixelize.main([*common, "--pixel_size", "8", "--overwrite"]) == 130
    restore()
    capsys.readouterr()
    assert pixelize.main([*common, "--pixel_size", "8"]) == 0  # the advised re-run, without --overwrite
    printed = capsys.readouterr().out
    redone = printed.count("made with other settings")  # img2 at least; img3 unless it finished before Ctrl-C
    assert redone >= 1 and f"pixelize: {redone} done, {4 - redone} skipped, 0 failed (of 4 inputs)" in printed
    assert {_size(out / f"img{i}.png") for i in range(4)} == {(3, 3)}  # one pixel size in the folder


def test_an_output_without_a_record_is_still_skipped(tmp_path, capsys):
    save_image(tmp_path / "in" / "x.png", photo(24, 24))
    out = tmp_path / "out"
    common = ["--input", str(tmp_path / "in"), "--output", str(out), "--upscale", "1"]
    assert pixelize.main([*common, "--pixel_size", "4"]) == 0
    (out / engine.RECORD_FILE).unlink()  # e.g. a folder written by an older version
    capsys.readouterr()
    assert pixelize.main([*common, "--pixel_size", "8"]) == 0
    assert "pixelize: 0 done, 1 skipped, 0 failed (of 1 inputs)" in capsys.readouterr().out
    assert _size(out / "x.png") == (6, 6)
    assert "x.png" in assert_self_contained(out)  # shown alone on the page
