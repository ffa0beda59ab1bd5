"""The paired smooth -> pixel-art dataset tool, on tiny generated sprite sheets (never the Crawl package)."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, make_sheet, make_sprite
from datasets import make_paired_pixelart as mpp
from util.image import load_image


def test_sheet_sprites_follows_the_rules(tmp_path):
    boxes = make_sheet(tmp_path / "sheet.png")
    sprites = mpp.sheet_sprites(load_image(tmp_path / "sheet.png", keep_alpha=True), "sheet.png")
    assert [s.box for s in sprites] == [boxes["a"], boxes["b"], boxes["c"], boxes["d"]]
    b = sprites[1].rgba
    assert b.shape == (20, 15, 4) and np.all(b[:, 10, 3] == 0) and np.all(b[:, :10, 3] == 255)  # the gap stays clear
    # only the sprite's own pixels: the neighbour one pixel away is not copied in
    assert np.all(sprites[2].rgba[..., 3] == 255) and sprites[2].rgba.shape == (16, 16, 4)


def test_opaque_sheet_uses_the_top_left_colour_as_background():
    sheet = np.full((50, 50, 3), 200, np.uint8)
    sheet[10:30, 12:25] = 40
    (sprite,) = mpp.sheet_sprites(sheet)
    assert sprite.box == (12, 10, 13, 20) and np.all(sprite.rgba[..., 3] == 255)


def test_pair_geometry_and_crisp_target():
    sprite = make_sprite(12, 14, 1)
    sprite[0, 0, 3] = 0  # a transparent corner shows the background
    smooth, crisp, params = mpp.make_pair(sprite, 64, 2, np.random.default_rng(0))
    assert smooth.shape == crisp.shape == (64, 64, 3) and smooth.dtype == crisp.dtype == np.uint8
    native = crisp[::2, ::2]
    np.testing.assert_array_equal(np.repeat(np.repeat(native, 2, 0), 2, 1), crisp)  # nearest-neighbour cells
    x, y = params["position"]
    np.testing.assert_array_equal(native[y + 1:y + 14, x + 1:x + 12], sprite[1:, 1:, :3])
    np.testing.assert_array_equal(native[y, x], params["background"])
    lo, hi = mpp.DEGRADATIONS["jpeg_quality"]
    assert lo <= params["jpeg_quality"] <= hi
    sigma_lo, sigma_hi = mpp.DEGRADATIONS["blur_sigma_cells"]
    assert sigma_lo <= params["blur_sigma_cells"] <= sigma_hi
    assert len(np.unique(smooth.reshape(-1, 3), axis=0)) > len(np.unique(crisp.reshape(-1, 3), axis=0))  # smooth
    again = mpp.make_pair(sprite, 64, 2, np.random.default_rng(0))
    assert np.array_equal(again[0], smooth) and again[2] == params


def test_dataset_files_split_manifest_and_determinism(tmp_path):
    make_sheet(tmp_path / "sheets" / "s.png")
    result = mpp.make_dataset(tmp_path / "sheets", tmp_path / "out", size=64, cell=2, renders=3, seed=4,
                              test_fraction=0.25)
    assert (result.sprites, result.train, result.test) == (4, 9, 3)
    train = sorted(p.name for p in (tmp_path / "out" / "train").iterdir())
    test = sorted(p.name for p in (tmp_path / "out" / "test").iterdir())
    assert len(train) == 9 and len(test) == 3
    assert len({n.rsplit("_r", 1)[0] for n in test}) == 1  # the split is by sprite: all renders together
    pair = load_image(tmp_path / "out" / "train" / train[0])
    assert pair.shape == (64, 128, 3)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"] == {"sprites": 4, "train": 9, "test": 3}
    assert manifest["args"] == {"size": 64, "cell": 2, "renders": 3, "seed": 4, "test_fraction": 0.25}
    assert manifest["degradations"]["noise_std"] == [0.0, 6.0]
    assert sorted(i["file"] for i in manifest["items"]) == sorted([f"train/{n}" for n in train]
                                                                  + [f"test/{n}" for n in test])
    assert {tuple(i["box"]) for i in manifest["items"]} == {(10, 10, 12, 14), (30, 10, 15, 20), (60, 70, 16, 16),
                                                            (77, 70, 16, 16)}
    mpp.make_dataset(tmp_path / "sheets", tmp_path / "again", size=64, cell=2, renders=3, seed=4, test_fraction=0.25)
    for phase, names in (("train", train), ("test", test)):
        for n in names:
            assert (tmp_path / "out" / phase / n).read_bytes() == (tmp_path / "again" / phase / n).read_bytes()
    mpp.make_dataset(tmp_path / "sheets", tmp_path / "other", size=64, cell=2, renders=3, seed=5, test_fraction=0.25)
    other = sorted((tmp_path / "other").rglob("*.png"))
    assert any(p.read_bytes() != (tmp_path / "out" / p.relative_to(tmp_path / "other")).read_bytes()
               for p in other if (tmp_path / "out" / p.relative_to(tmp_path / "other")).exists())


def test_pairs_load_in_the_aligned_dataset(tmp_path):
    from argparse import Namespace

    from data.aligned_dataset import AlignedDataset

    make_sheet(tmp_path / "s.png")
    mpp.make_dataset(tmp_path / "s.png", tmp_path / "out", size=64, cell=2, renders=1, seed=0, test_fraction=0.0)
    opt = Namespace(dataroot=str(tmp_path / "out"), phase="train", direction="AtoB", input_nc=3, output_nc=3,
                    max_dataset_size=float("inf"), preprocess="none", load_size=64, crop_size=64, no_flip=True,
                    isTrain=True, seed=0)
    item = AlignedDataset(opt)[0]
    assert item["A"].shape == item["B"].shape == (3, 64, 64)


def test_reserved_sheet_is_never_read(tmp_path, caplog):
    crawl = tmp_path / "crawl" / "tiles"
    make_sheet(crawl / "main.png")
    make_sheet(crawl / "player.png")
    assert mpp.find_sheets(crawl) == [crawl / "player.png"]
    assert "reserved for evaluation" in caplog.text
    with pytest.raises(ValueError, match="reserved for evaluation"):
        mpp.find_sheets(crawl / "main.png")


def test_cli_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mpp, "TILES_DIR", tmp_path / "nowhere")
    assert mpp.main([str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "apt-get install crawl-tiles-data" in err
    assert mpp.main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        mpp.main([str(tmp_path), str(tmp_path / "out"), "--size", "48", "--cell", "2"])
    assert exc.value.code == 2 and "--size 48 must be a multiple of --cell 2 and hold at least 32" in \
        capsys.readouterr().err
    make_sheet(tmp_path / "s.png")
    (tmp_path / "full" / "train").mkdir(parents=True)
    (tmp_path / "full" / "train" / "old.png").write_bytes(b"x")
    assert mpp.main([str(tmp_path / "s.png"), str(tmp_path / "full"), "--size", "64", "--cell", "2"]) == 2
    assert "is not empty" in capsys.readouterr().err
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((40, 40, 4), np.uint8), "RGBA").save(blank)
    assert mpp.main([str(blank), str(tmp_path / "o2"), "--size", "64", "--cell", "2"]) == 2
    assert "no sprites found" in capsys.readouterr().err


def test_runs_by_path(tmp_path):
    make_sheet(tmp_path / "s.png")
    proc = subprocess.run([sys.executable, str(ROOT / "datasets" / "make_paired_pixelart.py"), str(tmp_path / "s.png"),
                           str(tmp_path / "out"), "--size", "64", "--cell", "2", "--renders", "1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "done: 4 sprites" in proc.stdout


# --------------------------------------------------------------------------- OUT and Ctrl-C
def run(tmp_path, out, *flags):
    if not (tmp_path / "s.png").is_file():
        make_sheet(tmp_path / "s.png")
    return mpp.main([str(tmp_path / "s.png"), str(out), "--size", "64", "--cell", "2", "--renders", "2", *flags])


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("x")
    assert run(tmp_path, out) == 2
    assert one_line(capsys.readouterr().err).startswith(f"error: OUT {out} is a file, not a folder")
    assert run(tmp_path, out / "sub") == 2
    assert "is a file, not a folder" in one_line(capsys.readouterr().err)
    assert out.read_text() == "x"


def test_read_only_out_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == out else real_access(path, mode))
    assert run(tmp_path, out) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"error: OUT {out} is not writable") and "choose a folder you can write to" in err
    assert run(tmp_path, out / "new" / "deeper") == 2  # the nearest existing folder is checked
    assert "is not writable" in one_line(capsys.readouterr().err)
    monkeypatch.undo()
    # a folder os.access believes writable that refuses the write all the same (read-only file system)
    real_mkdir = Path.mkdir

    def refusing_mkdir(self, *args, **kwargs):
        if self.name.endswith(".partial"):
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refusing_mkdir)
    assert run(tmp_path, out) == 2
    assert "is not writable (Permission denied)" in one_line(capsys.readouterr().err)
    assert not any(out.iterdir())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_out_is_refused_for_real(tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert run(tmp_path, out) == 2
        assert "is not writable" in one_line(capsys.readouterr().err)
    finally:
        out.chmod(0o755)


def test_write_failure_exits_1_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    def full_disk(path, image, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(mpp, "save_image", full_disk)
    out = tmp_path / "out"
    assert run(tmp_path, out) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith("error: ") and "No space left on device" in err and str(out) in err
    assert not out.exists()


def test_non_empty_out_wording_and_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "train").mkdir(parents=True)
    (out / "train" / "old.png").write_bytes(b"stale")
    (out / "README").write_text("mine")
    assert run(tmp_path, out) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"error: OUT {out} is not empty") and "pass --overwrite" in err
    assert run(tmp_path, out, "--overwrite") == 0
    assert not (out / "train" / "old.png").exists() and (out / "README").read_text() == "mine"
    assert run(tmp_path, tmp_path / "fresh") == 0
    assert {k: v for k, v in files(out).items() if k != "README"} == files(tmp_path / "fresh")


def test_both_tools_refuse_a_non_empty_out_in_the_same_words(tmp_path, capsys):
    from datasets import make_cartoon2pixel as c2p

    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    assert run(tmp_path, out) == 2
    paired = one_line(capsys.readouterr().err)
    (tmp_path / "c").mkdir()  # a clip-art category and a sheet that exist: the OUT check is what refuses
    assert c2p.main([str(out), "--clipart", str(tmp_path), "--tiles", str(tmp_path), "--categories", "c",
                     "--sheets", "s.png"]) == 2
    cartoon = one_line(capsys.readouterr().err)
    prefix = f"error: OUT {out} is not empty (holds x); writing into it would mix stale files with the new ones: " \
             "choose a new or empty folder, or pass --overwrite to replace its "
    assert paired.startswith(prefix) and cartoon.startswith(prefix)


def test_interrupt_exits_130_and_a_rerun_accepts_the_folder(tmp_path, capsys, monkeypatch):
    real_pair = mpp.make_pair
    calls = []

    def pair_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_pair(*args, **kwargs)

    monkeypatch.setattr(mpp, "make_pair", pair_then_interrupt)
    out = tmp_path / "out"
    assert run(tmp_path, out) == 130
    err = one_line(capsys.readouterr().err)
    assert err.startswith("interrupted: ") and str(out) in err
    assert not out.exists()
    out.mkdir()
    calls.clear()
    assert run(tmp_path, out) == 130
    assert out.is_dir() and not any(out.iterdir())
    monkeypatch.setattr(mpp, "make_pair", real_pair)
    assert run(tmp_path, out) == 0  # no --overwrite needed
    assert (out / "manifest.json").is_file() and sorted(p.name for p in out.iterdir()) == ["manifest.json", "test",
                                                                                          "train"]


def test_a_killed_runs_leftover_is_cleared_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    (out / ".make_paired_pixelart.partial" / "train").mkdir(parents=True)
    (out / ".make_paired_pixelart.partial" / "train" / "half.png").write_bytes(b"half")
    assert run(tmp_path, out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test", "train"]
    assert "half.png" not in {p.name for p in out.rglob("*")}


def test_usage_line_shows_one_or_two_paths(capsys):
    from datasets import make_paired_pixelart

    make_paired_pixelart.build_parser().print_usage()
    usage = capsys.readouterr().out
    assert usage.rstrip().endswith("[--overwrite] [SRC] OUT") and "..." not in usage
