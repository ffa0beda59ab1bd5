"""The paired smooth -> pixel-art dataset tool, on tiny generated sprite sheets (never the Crawl package)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, make_sheet, make_sprite
from datasets import make_paired_pixelart as mpp
from util.image import load_image


def test_cut_sprites_follows_the_rules(tmp_path):
    boxes = make_sheet(tmp_path / "sheet.png")
    sprites = mpp.cut_sprites(load_image(tmp_path / "sheet.png", keep_alpha=True), "sheet.png")
    assert [s.box for s in sprites] == [boxes["a"], boxes["b"], boxes["c"], boxes["d"]]
    b = sprites[1].rgba
    assert b.shape == (20, 15, 4) and np.all(b[:, 10, 3] == 0) and np.all(b[:, :10, 3] == 255)  # the gap stays clear
    # only the sprite's own pixels: the neighbour one pixel away is not copied in
    assert np.all(sprites[2].rgba[..., 3] == 255) and sprites[2].rgba.shape == (16, 16, 4)


def test_opaque_sheet_uses_the_top_left_colour_as_background():
    sheet = np.full((50, 50, 3), 200, np.uint8)
    sheet[10:30, 12:25] = 40
    (sprite,) = mpp.cut_sprites(sheet)
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
    monkeypatch.setattr(mpp, "CRAWL_TILES", tmp_path / "nowhere")
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
