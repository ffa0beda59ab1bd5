"""Tests for datasets/make_cartoon2pixel.py on tiny generated clip art and sprite sheets (never the packages)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datasets.make_cartoon2pixel import (
    cartoon_image,
    cut_sprites,
    flatten_on_white,
    main,
    make_dataset,
    split_of,
    sprite_image,
    sprite_reason,
)
from util.image import load_image, save_image

ROOT = Path(__file__).resolve().parents[2]


def rgba_blob(h: int, w: int, colour=(200, 40, 40)) -> np.ndarray:
    """An opaque ``h x w`` rectangle with a 1-px dark outline, as RGBA."""
    out = np.zeros((h, w, 4), dtype=np.uint8)
    out[..., :3] = colour
    out[..., 3] = 255
    out[0, :, :3] = out[-1, :, :3] = out[:, 0, :3] = out[:, -1, :3] = 20
    return out


def make_sheet(path: Path) -> dict[str, tuple[int, int]]:
    """A 96x64 RGBA sheet: a 20x20 sprite (kept), a 4x4 fragment, a full 32x32 texture, a sprite on the
    sheet's edge, and a two-part sprite whose parts are 2 px apart. Returns the positions (x, y) by role."""
    sheet = np.zeros((64, 96, 4), dtype=np.uint8)
    sheet[6:26, 6:26] = rgba_blob(20, 20)                   # kept: covers 400/1024 = 39 %
    sheet[40:44, 8:12] = rgba_blob(4, 4, (0, 200, 0))       # fragment: 1.6 %
    sheet[32:64, 64:96] = rgba_blob(32, 32, (90, 90, 90))   # texture (also touches the edge)
    sheet[0:12, 40:52] = rgba_blob(12, 12, (0, 0, 200))     # touches the top edge
    sheet[36:56, 30:40] = rgba_blob(20, 10, (200, 200, 0))  # two parts 2 px apart: one sprite
    sheet[36:56, 42:52] = rgba_blob(20, 10, (200, 200, 0))
    save_image(path, sheet)
    return {"kept": (6, 6), "pair": (30, 36)}


def make_sources(root: Path) -> tuple[Path, Path]:
    """Tiny clip-art categories and a tiles folder with player.png, feat.png and a reserved main.png."""
    clipart, tiles = root / "clipart", root / "tiles"
    rng = np.random.default_rng(0)
    for category in ("people", "food", "animals"):
        for i in range(6):
            img = np.zeros((90, 60, 4), dtype=np.uint8)  # transparent background
            img[10 + i:80, 12:50, :3] = rng.integers(0, 200, 3)
            img[10 + i:80, 12:50, 3] = 255
            save_image(clipart / category / f"{category}_{i}.png", img)
    photo = rng.integers(0, 256, (70, 70, 3), dtype=np.uint8)  # no background: left out
    save_image(clipart / "people" / "photo.png", photo)
    make_sheet(tiles / "player.png")
    make_sheet(tiles / "feat.png")
    make_sheet(tiles / "main.png")
    return clipart, tiles


def test_flatten_on_white_weights_alpha():
    px = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [100, 200, 50, 128]]], dtype=np.uint8)
    out = flatten_on_white(px)
    assert out.tolist() == [[[255, 255, 255], [0, 0, 0], [177, 227, 152]]]


def test_cartoon_image_crops_pads_and_resizes():
    img = np.zeros((100, 200, 4), dtype=np.uint8)
    img[20:60, 50:130] = [10, 20, 200, 255]  # an 80x40 drawing on transparency
    out, reason = cartoon_image(img, 32)
    assert reason == "" and out.shape == (32, 32, 3)
    # the drawing's long side spans the square minus a 1/16 margin on each side: 28 of 32 px
    drawn = (255 - out.astype(int)).max(axis=2) > 12
    cols = np.nonzero(drawn.any(axis=0))[0]
    assert cols.min() == 2 and cols.max() == 29
    assert out[0, 0].tolist() == [255, 255, 255]


def test_cartoon_image_refuses_photos_blanks_and_tiny():
    assert cartoon_image(np.full((64, 64, 3), 255, np.uint8), 32) == (None, "blank")
    assert cartoon_image(np.zeros((64, 64, 3), np.uint8), 32)[1] == "no background"
    tiny = np.full((64, 64, 3), 255, np.uint8)
    tiny[10:20, 10:20] = 0
    assert cartoon_image(tiny, 32)[1] == "too small"


def test_cut_sprites_groups_filters_and_keeps_positions(tmp_path):
    where = make_sheet(tmp_path / "s.png")
    sheet = load_image(tmp_path / "s.png", keep_alpha=True)
    sprites = cut_sprites(sheet)
    by_pos = {(x, y): (s, (w, h), edge) for s, (x, y, w, h), edge in sprites}
    kept = {pos for pos, (s, _, edge) in by_pos.items() if not sprite_reason(s, edge)}
    assert kept == {where["kept"], where["pair"]}
    assert by_pos[where["pair"]][1] == (22, 20)  # both parts in one group
    reasons = sorted(sprite_reason(s, e) for s, _, e in by_pos.values())
    assert reasons.count("cut off by the sheet's edge") == 2
    assert "fragment (covers under 15 % of a tile)" in reasons


def test_sprite_reason_texture_and_spatter():
    assert sprite_reason(rgba_blob(30, 30), False) == "texture (covers over 75 % of a tile)"
    spatter = np.zeros((32, 32, 4), np.uint8)
    spatter[::2, ::2] = 255  # 256 opaque of 1024: 25 % of the tile but 25 % of its own box
    assert sprite_reason(spatter, False) == "sparse (spatter)"


def test_sprite_image_is_crisp_and_centred():
    out = sprite_image(rgba_blob(20, 20), size=128, cell=4)
    assert out.shape == (128, 128, 3)
    blocks = out.reshape(32, 4, 32, 4, 3)
    assert (blocks == blocks[:, :1, :, :1]).all()  # every 4x4 cell is flat
    native = blocks[:, 0, :, 0]
    assert native[6, 6].tolist() == [20, 20, 20] and native[7, 7].tolist() == [200, 40, 40]
    assert native[5, 5].tolist() == [255, 255, 255] and native[26, 26].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match="does not fit"):
        sprite_image(rgba_blob(20, 20), size=64, cell=4)


def test_split_is_stable_and_seeded():
    keys = [f"k{i}" for i in range(400)]
    a = [split_of(k, 0, 0.1, 0.2) for k in keys]
    assert a == [split_of(k, 0, 0.1, 0.2) for k in keys]
    assert a != [split_of(k, 1, 0.1, 0.2) for k in keys]
    assert 0.12 < a.count("test") / 400 < 0.28 and 0.04 < a.count("val") / 400 < 0.16


def test_make_dataset_layout_manifest_reserved_and_determinism(tmp_path):
    clipart, tiles = make_sources(tmp_path)
    kwargs = dict(size=64, cell=2, clipart=clipart, tiles=tiles, categories=["people", "food"],
                  sheets=["player.png", "feat.png"], seed=3, val_fraction=0.2, test_fraction=0.2)
    manifest = make_dataset(tmp_path / "out", **kwargs)
    images = manifest["images"]
    assert sum(len(images[f"{s}A"]) for s in ("train", "val", "test")) == 12
    assert sum(len(images[f"{s}B"]) for s in ("train", "val", "test")) == 4  # 2 kept sprites x 2 sheets
    assert manifest["dropped"]["A"] == {"no background": 1}
    every_a = [r["file"] for s in ("train", "val", "test") for r in images[f"{s}A"]]
    assert not any(f.startswith("animals/") for f in every_a)
    every_b = [r["sheet"] for s in ("train", "val", "test") for r in images[f"{s}B"]]
    assert set(every_b) == {"player.png", "feat.png"}
    assert "CC0" in manifest["licences"]["B"] and "public domain" in manifest["licences"]["A"]
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["images"] == images
    for split in ("train", "val", "test"):
        for domain in "AB":
            for record in images[f"{split}{domain}"]:
                img = load_image(tmp_path / "out" / f"{split}{domain}" / record["name"])
                assert img.shape == (64, 64, 3)
    again = make_dataset(tmp_path / "again", **kwargs)
    assert again["images"] == images
    first = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.png"))
    for rel in first:
        assert (tmp_path / "out" / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes()


def test_limit_keeps_a_seeded_subset(tmp_path):
    clipart, tiles = make_sources(tmp_path)
    m = make_dataset(tmp_path / "out", size=64, cell=2, clipart=clipart, tiles=tiles, categories=["people", "food"],
                     limit=3, seed=0, val_fraction=0.0, test_fraction=0.0)
    assert len(m["images"]["trainA"]) == 3 and len(m["images"]["trainB"]) == 3


def test_cli_errors_name_the_package_or_flag(tmp_path, capsys):
    clipart, tiles = make_sources(tmp_path)
    assert main([str(tmp_path / "o"), "--clipart", str(tmp_path / "none"), "--tiles", str(tiles)]) == 2
    err = capsys.readouterr().err
    assert "--clipart" in err and "apt-get install openclipart-png" in err
    assert main([str(tmp_path / "o"), "--clipart", str(clipart), "--tiles", str(tmp_path / "none")]) == 2
    assert "apt-get install crawl-tiles-data" in capsys.readouterr().err
    assert main([str(tmp_path / "o"), "--clipart", str(clipart), "--tiles", str(tiles), "--categories", "animals"]) == 2
    assert "reserved for evaluation" in capsys.readouterr().err
    assert main([str(tmp_path / "o"), "--clipart", str(clipart), "--tiles", str(tiles), "--sheets", "main.png"]) == 2
    assert "reserved for evaluation" in capsys.readouterr().err
    assert main([str(tmp_path / "o"), "--clipart", str(clipart), "--tiles", str(tiles), "--size", "60",
                 "--cell", "8"]) == 2
    assert "multiple of --cell" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "o"), "--seed", "-1"])
    assert exc.value.code == 2


def test_cli_end_to_end_and_inputs_untouched(tmp_path, capsys):
    clipart, tiles = make_sources(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.png")}
    rc = main([str(tmp_path / "ds"), "--size", "64", "--cell", "2", "--clipart", str(clipart), "--tiles", str(tiles),
               "--categories", "people,food", "--val_fraction", "0", "--test_fraction", "0.25"])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("done: trainA ") and "left out: A 1, B " in out
    assert {p: p.read_bytes() for p in before} == before


def test_runs_by_path():
    proc = subprocess.run([sys.executable, "datasets/make_cartoon2pixel.py", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--clipart" in proc.stdout
