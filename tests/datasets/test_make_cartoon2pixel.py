"""Tests for datasets/make_cartoon2pixel.py on tiny generated clip art and sprite sheets (never the packages)."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import datasets.make_cartoon2pixel as c2p
from datasets.crawl import (
    RESERVED_PACKAGES,
    RESERVED_SHEETS,
    TILES_DIR,
    cut_grid_tiles,
    cut_packed_atlas,
    flatten_on_white,
)
from datasets.make_cartoon2pixel import (
    SPLITS,
    STYLES,
    Sheet,
    Style,
    balanced_quota,
    cartoon_image,
    main,
    make_dataset,
    split_of,
    sprite_image,
    sprite_reason,
    with_key,
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


def test_cut_packed_atlas_groups_filters_and_keeps_positions(tmp_path):
    where = make_sheet(tmp_path / "s.png")
    sheet = load_image(tmp_path / "s.png", keep_alpha=True)
    sprites = cut_packed_atlas(sheet)
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


# --------------------------------------------------------------------------- styles (stand-in packages)
def make_grid_sheet(path: Path, kept: int, cell: int = 16, cols: int = 6, origin=(0, 0), border: int = 0,
                    key=None, seed: int = 0) -> list[tuple[int, int]]:
    """A sheet on a ``cell`` grid: ``kept`` outlined 10x8 sprites (39 % of a 16-px cell: kept), then one
    full-cell texture and one 2x2 fragment (both dropped), then empty cells. Opaque green grid lines fill
    the borders. With ``key`` the sheet is RGB on that flat colour, else RGBA on transparency. Returns the
    sheet positions (x, y) of the kept sprites."""
    rng = np.random.default_rng(seed)
    n = kept + 2
    rows = -(-n // cols)
    h, w = origin[1] + rows * (cell + border), origin[0] + cols * (cell + border)
    sheet = np.zeros((h, w, 4), dtype=np.uint8)
    sheet[..., 1] = sheet[..., 3] = 255  # green, opaque: what shows of it are the grid lines
    where = []
    for i in range(rows * cols):
        top, left = origin[1] + (i // cols) * (cell + border), origin[0] + (i % cols) * (cell + border)
        sheet[top:top + cell, left:left + cell] = 0
        if i < kept:
            sheet[top + 3:top + 13, left + 2:left + 10] = rgba_blob(10, 8, tuple(int(v) for v in rng.integers(0, 256, 3)))
            where.append((left + 2, top + 3))
        elif i == kept:
            sheet[top:top + cell, left:left + cell] = rgba_blob(cell, cell, (90, 90, 90))
        elif i == kept + 1:
            sheet[top + 5:top + 7, left + 5:left + 7] = rgba_blob(2, 2)
    if key is not None:
        rgb = sheet[..., :3].copy()
        rgb[sheet[..., 3] == 0] = key
        save_image(path, rgb)
    else:
        save_image(path, sheet)
    return where


def make_registry(root: Path) -> dict[str, Style]:
    """Stand-ins for every kind of style: the Crawl atlas (2 sprites a sheet, 4 in all), a grid style with
    two sheets (12 + 8 sprites, the second on a 1-px bordered grid starting at (1, 1)), a key-colour
    style (6 sprites) and a style whose package is not installed."""
    tiles = root / "tiles"
    for name in ("player.png", "feat.png", "main.png"):
        make_sheet(tiles / name)
    make_grid_sheet(root / "grid" / "a.png", 12)
    make_grid_sheet(root / "grid" / "b.png", 8, origin=(1, 1), border=1, seed=1)
    make_grid_sheet(root / "keyed" / "k.png", 6, key=(255, 0, 255), seed=2)
    return {
        "crawl": replace(STYLES["crawl"], folder=tiles),
        "grid": Style("grid", "grid-data", root / "grid",
                      (Sheet("a.png", grid=True), Sheet("b.png", grid=True, origin=(1, 1), border=1)), 16,
                      "CC-BY-3", "Grid Artist", "/usr/share/doc/grid-data/copyright"),
        "keyed": Style("keyed", "keyed-data", root / "keyed", (Sheet("k.png", grid=True),), 16, "GPL-2+",
                       "Key Artist", "/usr/share/doc/keyed-data/copyright", key=(255, 0, 255)),
        "absent": Style("absent", "absent-data", root / "absent", (Sheet("x.png", grid=True),), 16,
                        "public-domain", "Nobody", "/usr/share/doc/absent-data/copyright"),
    }


def b_records(manifest: dict, split: str | None = None) -> list[dict]:
    splits = SPLITS if split is None else (split,)
    return [r for s in splits for r in manifest["images"][f"{s}B"]]


def style_counts(records: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r["style"]] = out.get(r["style"], 0) + 1
    return out


def test_cut_grid_tiles_skips_grid_lines_and_crops_each_cell(tmp_path):
    where = make_grid_sheet(tmp_path / "g.png", 3, cols=3, origin=(1, 1), border=1)
    sheet = load_image(tmp_path / "g.png", keep_alpha=True)
    assert sheet.shape == (1 + 2 * 17, 1 + 3 * 17, 4)
    sprites = cut_grid_tiles(sheet, 16, origin=(1, 1), border=1)
    boxes = [box for _, box, _ in sprites]
    assert boxes[:3] == [(x, y, 8, 10) for x, y in where]
    assert boxes[3] == (1, 18, 16, 16)  # the texture cell, cropped to nothing less than the cell
    assert boxes[4] == (18 + 5, 18 + 5, 2, 2)  # the fragment
    assert len(sprites) == 5 and not any(edge for _, _, edge in sprites)
    assert [sprite_reason(s, e, 16) for s, _, e in sprites] == [
        "", "", "", "texture (covers over 75 % of a tile)", "fragment (covers under 15 % of a tile)"]
    assert (sprites[0][0][..., 3] == 255).all() and sprites[0][0].shape == (10, 8, 4)
    # read without the border, the grid lines would land inside the cells
    assert [b for _, b, _ in cut_grid_tiles(sheet, 16)][0] != boxes[0]
    with pytest.raises(ValueError, match="alpha"):
        cut_grid_tiles(sheet[..., :3], 16)


def test_with_key_makes_the_key_colour_transparent():
    rgb = np.array([[[255, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    out = with_key(rgb, (255, 0, 255))
    assert out.tolist() == [[[0, 0, 0, 0], [10, 20, 30, 255]]]
    rgba = np.array([[[255, 0, 255, 255], [1, 2, 3, 0]]], dtype=np.uint8)
    assert with_key(rgba, (255, 0, 255))[..., 3].tolist() == [[0, 0]]
    assert with_key(rgba, None) is rgba
    with pytest.raises(ValueError, match="no alpha channel"):
        with_key(rgb, None)


def test_balanced_quota_shares_evenly_and_passes_on_unused_shares():
    assert balanced_quota({"crawl": 4, "keyed": 6, "grid": 20}, 15) == {"crawl": 4, "keyed": 5, "grid": 6}
    assert balanced_quota({"a": 100, "b": 100, "c": 100, "d": 100}, 200) == {"a": 50, "b": 50, "c": 50, "d": 50}
    assert balanced_quota({"a": 10, "b": 10, "c": 10}, 10) == {"a": 3, "b": 3, "c": 4}
    assert balanced_quota({"a": 2, "b": 3}, 50) == {"a": 2, "b": 3}
    assert balanced_quota({"only": 7}, 5) == {"only": 5}


def test_registry_styles_are_licence_clean_and_not_reserved():
    assert set(STYLES) >= {"crawl", "bolt", "gervais", "trident"}
    assert len({s.package for s in STYLES.values()} - {"crawl-tiles-data"}) >= 2
    for style in STYLES.values():
        assert style.package not in RESERVED_PACKAGES and "tecnoballz" not in str(style.folder)
        assert not {Path(sh.name).name for sh in style.sheets} & set(RESERVED_SHEETS)
        assert style.licence and style.credit and style.copyright == f"/usr/share/doc/{style.package}/copyright"
        assert style.tile <= 64
    assert STYLES["crawl"].folder == TILES_DIR and [s.name for s in STYLES["crawl"].sheets] == ["player.png",
                                                                                                       "feat.png"]


def test_styles_selection_keys_and_licence_fields(tmp_path):
    registry = make_registry(tmp_path)
    clipart, _ = make_sources(tmp_path / "src")
    kw = dict(size=64, cell=2, clipart=clipart, categories=["people"], seed=1, val_fraction=0.2,
              test_fraction=0.2, registry=registry)
    m = make_dataset(tmp_path / "two", styles=["grid", "crawl"], **kw)
    records = b_records(m)
    assert style_counts(records) == {"grid": 20, "crawl": 4}
    assert list(m["styles"]) == ["grid", "crawl"] and m["holdout_style"] is None
    for r in records:
        style = registry[r["style"]]
        assert (r["package"], r["licence"]) == (style.package, style.licence)
        # the default style keeps its old split keys; the others are prefixed with their name
        key = f"{r['sheet']}:{r['x']},{r['y']}" if r["style"] == "crawl" else f"{r['style']}/{r['sheet']}:{r['x']},{r['y']}"
        split = next(s for s in SPLITS if r in m["images"][f"{s}B"])
        assert split_of(key, 1, 0.2, 0.2) == split
    assert set(m["licences"]["styles"]) == {"grid", "crawl"}
    assert m["licences"]["styles"]["grid"] == {"package": "grid-data", "licence": "CC-BY-3", "credit": "Grid Artist",
                                               "copyright": "/usr/share/doc/grid-data/copyright"}
    assert "CC0" in m["licences"]["B"] and "grid-data: CC-BY-3 (Grid Artist" in m["licences"]["B"]
    assert "public domain" in m["licences"]["A"]
    assert m["styles"]["grid"]["dropped"] == {"texture": 2, "fragment": 2}
    assert sum(m["styles"]["grid"]["images"].values()) == 20
    # the grid lines of b.png never become sprites; the key colour of keyed never shows
    only_keyed = make_dataset(tmp_path / "only_keyed", styles=["keyed"], **kw)
    assert style_counts(b_records(only_keyed)) == {"keyed": 6}
    for split in SPLITS:
        for r in only_keyed["images"][f"{split}B"]:
            img = load_image(tmp_path / "only_keyed" / f"{split}B" / r["name"])
            assert not (img == [255, 0, 255]).all(axis=2).any()
            assert img[0, 0].tolist() == [255, 255, 255]
    assert "crawl" not in only_keyed["licences"]["styles"]


def test_styles_all_takes_every_installed_style(tmp_path, caplog):
    registry = make_registry(tmp_path)
    clipart, _ = make_sources(tmp_path / "src")
    with caplog.at_level(logging.INFO, logger="datasets.make_cartoon2pixel"):
        m = make_dataset(tmp_path / "out", size=64, cell=2, clipart=clipart, categories=["people"], styles=["all"],
                         registry=registry)
    assert list(m["styles"]) == ["crawl", "grid", "keyed"]
    assert style_counts(b_records(m)) == {"crawl": 4, "grid": 20, "keyed": 6}
    assert "absent (absent-data)" in caplog.text


def test_holdout_style_goes_to_test_only(tmp_path):
    registry = make_registry(tmp_path)
    clipart, _ = make_sources(tmp_path / "src")
    m = make_dataset(tmp_path / "out", size=64, cell=2, clipart=clipart, categories=["people"],
                     styles=["crawl", "grid"], holdout_style="keyed", val_fraction=0.3, test_fraction=0.3,
                     limit=5, registry=registry)
    assert m["holdout_style"] == "keyed" and list(m["styles"]) == ["crawl", "grid", "keyed"]
    assert "keyed" not in style_counts(b_records(m, "train")) and "keyed" not in style_counts(b_records(m, "val"))
    assert style_counts(b_records(m, "test"))["keyed"] == 6  # the whole style, never limited
    assert m["styles"]["keyed"]["images"] == {"trainB": 0, "valB": 0, "testB": 6}
    assert sum(style_counts(b_records(m, "train")).values()) == 5
    # the seen styles keep their own val/test splits
    assert style_counts(b_records(m, "val")).get("grid", 0) + style_counts(b_records(m, "test")).get("grid", 0) > 0
    # holding out a style that is also in --styles works the same
    again = make_dataset(tmp_path / "again", size=64, cell=2, clipart=clipart, categories=["people"],
                         styles=["crawl", "grid", "keyed"], holdout_style="keyed", val_fraction=0.3,
                         test_fraction=0.3, limit=5, registry=registry)
    assert again["images"] == m["images"]
    with pytest.raises(ValueError, match="--holdout_style keyed: no other style"):
        make_dataset(tmp_path / "none", size=64, cell=2, clipart=clipart, categories=["people"], styles=["keyed"],
                     holdout_style="keyed", registry=registry)


def test_limit_keeps_the_same_number_per_style(tmp_path):
    registry = make_registry(tmp_path)
    clipart, _ = make_sources(tmp_path / "src")
    kw = dict(size=64, cell=2, clipart=clipart, categories=["people", "food"], styles=["crawl", "keyed", "grid"],
              val_fraction=0.0, test_fraction=0.0, registry=registry)
    m = make_dataset(tmp_path / "a", limit=15, **kw)
    assert style_counts(b_records(m, "train")) == {"crawl": 4, "keyed": 5, "grid": 6}
    assert len(m["images"]["trainA"]) == 12  # 12 cartoons, under the limit
    m = make_dataset(tmp_path / "b", limit=9, **kw)
    assert style_counts(b_records(m, "train")) == {"crawl": 3, "keyed": 3, "grid": 3}
    assert len(m["images"]["trainA"]) == 9
    assert make_dataset(tmp_path / "c", limit=9, **kw)["images"] == m["images"]  # seeded
    assert style_counts(b_records(make_dataset(tmp_path / "d", **kw), "train")) == {"crawl": 4, "keyed": 6, "grid": 20}


def test_styles_refused_when_reserved_or_missing(tmp_path):
    registry = make_registry(tmp_path)
    clipart, _ = make_sources(tmp_path / "src")
    kw = dict(size=64, cell=2, clipart=clipart, categories=["people"])
    registry["eval"] = replace(registry["grid"], name="eval", package="tecnoballz-data")
    with pytest.raises(ValueError, match="tecnoballz-data, reserved for evaluation"):
        make_dataset(tmp_path / "o", styles=["eval"], registry=registry, **kw)
    registry["eval"] = replace(registry["grid"], name="eval", folder=tmp_path / "usr" / "share" / "games" / "tecnoballz")
    with pytest.raises(ValueError, match="reserved for evaluation"):
        make_dataset(tmp_path / "o", styles=["eval"], registry=registry, **kw)
    registry["eval"] = replace(registry["crawl"], name="eval", sheets=(Sheet("player.png"), Sheet("main.png")))
    with pytest.raises(ValueError, match="--styles eval: the style uses main.png, reserved for evaluation"):
        make_dataset(tmp_path / "o", styles=["eval"], registry=registry, **kw)
    with pytest.raises(FileNotFoundError, match=r"--styles absent: no folder .*'sudo apt-get install absent-data'"):
        make_dataset(tmp_path / "o", styles=["crawl", "absent"], registry=registry, **kw)
    with pytest.raises(ValueError, match="--styles: unknown style 'nope'; valid: all, crawl, grid"):
        make_dataset(tmp_path / "o", styles=["nope"], registry=registry, **kw)
    with pytest.raises(ValueError, match=r"--size / --cell must be at least 32 \(a whole tile\), got 16"):
        make_dataset(tmp_path / "o", styles=["crawl", "grid"], registry=registry, **{**kw, "size": 32})
    # a 16-px style alone fits a 16-px canvas
    assert make_dataset(tmp_path / "small", styles=["grid"], registry=registry, **{**kw, "size": 32})["styles"]
    assert not (tmp_path / "o").exists()


def test_cli_style_flags(tmp_path, capsys, monkeypatch):
    registry = make_registry(tmp_path)
    monkeypatch.setattr(c2p, "STYLES", registry)
    clipart, _ = make_sources(tmp_path / "src")
    base = [str(tmp_path / "ds"), "--size", "64", "--cell", "2", "--clipart", str(clipart), "--tiles",
            str(tmp_path / "tiles"), "--categories", "people"]
    for flags, named in ((["--styles", "crawl,pixels"], "argument --styles: unknown style 'pixels'; "
                                                          "valid: all, crawl, grid, keyed, absent"),
                         (["--styles", ","], "argument --styles"),
                         (["--holdout_style", "all"], "argument --holdout_style: unknown style 'all'; "
                                                      "valid: crawl, grid, keyed, absent"),
                         (["--styles", "grid", "--holdout_style", "grid"], "--holdout_style: grid is the only style")):
        with pytest.raises(SystemExit) as exc:
            main(base + flags)
        assert exc.value.code == 2
        assert named in capsys.readouterr().err
    assert main(base + ["--styles", "crawl,absent"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent-data" in err and "sudo apt-get install absent-data" in err
    assert not (tmp_path / "ds").exists()
    rc = main(base + ["--styles", "all", "--holdout_style", "keyed", "--limit", "8", "--test_fraction", "0",
                      "--val_fraction", "0"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "styles (trainB/valB/testB): crawl 4/0/0, grid 4/0/0, keyed 0/0/6 (held out)" in out
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["holdout_style"] == "keyed" and set(manifest["licences"]["styles"]) == {"crawl", "grid", "keyed"}
    assert all(r["style"] == "keyed" and r["licence"] == "GPL-2+" for r in manifest["images"]["testB"])


# --------------------------------------------------------------------------- OUT, names, --limit, Ctrl-C
def cli_base(tmp_path: Path, out: Path, *flags: str) -> list[str]:
    clipart, tiles = tmp_path / "clipart", tmp_path / "tiles"
    if not clipart.is_dir():
        make_sources(tmp_path)
    return [str(out), "--size", "64", "--cell", "2", "--clipart", str(clipart), "--tiles", str(tiles),
            "--categories", "people,food", "--val_fraction", "0.2", "--test_fraction", "0.2", *flags]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_non_empty_out_is_refused_and_overwrite_replaces_only_the_tools_files(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(cli_base(tmp_path, out, "--seed", "1")) == 0
    (out / "trainA" / "99999.png").write_bytes(b"stale")
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    before = tree(out)
    assert main(cli_base(tmp_path, out, "--seed", "2")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: OUT ") and str(out) in err
    assert "is not empty" in err and "--overwrite" in err
    assert tree(out) == before  # nothing written
    assert main(cli_base(tmp_path, out, "--seed", "2", "--overwrite")) == 0
    fresh = tmp_path / "fresh"
    assert main(cli_base(tmp_path, fresh, "--seed", "2")) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert {k: v for k, v in tree(out).items() if k != "notes.txt"} == tree(fresh)  # no stale image, no mixing
    assert not list(out.glob(".*"))


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert main(cli_base(tmp_path, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"OUT {out} is a file" in err
    assert main(cli_base(tmp_path, out / "sub")) == 2
    assert "is a file" in capsys.readouterr().err


def test_name_spellings_give_the_same_dataset(tmp_path):
    clipart, tiles = make_sources(tmp_path)
    kw = dict(size=64, cell=2, clipart=clipart, tiles=tiles, seed=5, val_fraction=0.3, test_fraction=0.3)
    plain = make_dataset(tmp_path / "plain", categories=["people", "food"], sheets=["player.png", "feat.png"], **kw)
    spelled = make_dataset(tmp_path / "spelled", categories=["./people/", "food/", "people"],
                           sheets=["./player.png", f"{tiles}/feat.png", "sub/../feat.png"], **kw)
    assert spelled["images"] == plain["images"]
    assert spelled["categories"] == ["people", "food"] and spelled["sheets"] == ["player.png", "feat.png"]
    assert tree(tmp_path / "spelled") == tree(tmp_path / "plain")
    # the CLI too: ./feat.png gives the split feat.png gives
    assert main(cli_base(tmp_path, tmp_path / "c1", "--sheets", "feat.png")) == 0
    assert main(cli_base(tmp_path, tmp_path / "c2", "--sheets", "./feat.png/")) == 0
    assert tree(tmp_path / "c1") == tree(tmp_path / "c2")


@pytest.mark.parametrize("flags", [["--sheets", "./main.png"], ["--sheets", "main.png/"],
                                   ["--sheets", "player.png,x/../main.png"], ["--categories", "./animals"],
                                   ["--categories", "animals/"], ["--categories", "people,animals/sub"]])
def test_reserved_names_are_refused_in_every_spelling(tmp_path, capsys, flags):
    assert main(cli_base(tmp_path, tmp_path / "o") + flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reserved for evaluation" in err
    assert not (tmp_path / "o").exists()


def test_reserved_names_behind_a_symlink_are_refused(tmp_path, capsys):
    make_sources(tmp_path)
    (tmp_path / "tiles" / "alias.png").symlink_to(tmp_path / "tiles" / "main.png")
    (tmp_path / "clipart" / "pets").symlink_to(tmp_path / "clipart" / "animals")
    assert main(cli_base(tmp_path, tmp_path / "o", "--sheets", "alias.png")) == 2
    assert "alias.png (main.png) are reserved" in capsys.readouterr().err
    assert main(cli_base(tmp_path, tmp_path / "o", "--categories", "pets")) == 2
    assert "pets (animals) are reserved" in capsys.readouterr().err


@pytest.mark.parametrize("flags, named", [(["--sheets", "../clipart/x.png"], "--sheets: '../clipart/x.png'"),
                                          (["--sheets", "/etc/passwd"], "--sheets: '/etc/passwd'"),
                                          (["--categories", "."], "--categories: '.'"),
                                          (["--categories", "people/../.."], "--categories: 'people/../..'")])
def test_names_outside_their_folder_are_refused(tmp_path, capsys, flags, named):
    assert main(cli_base(tmp_path, tmp_path / "o") + flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "is not inside" in err
    assert not (tmp_path / "o").exists()


def many_cartoons(root: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(1)
    for i in range(n):
        img = np.zeros((80, 60, 4), dtype=np.uint8)  # a 70-px drawing: kept (MIN_A_SIDE is 48)
        img[5:75, 5 + i % 5:55, :3] = rng.integers(0, 200, 3)
        img[5:75, 5 + i % 5:55, 3] = 255
        save_image(root / ("people" if i % 2 else "food") / f"c{i:02d}.png", img)
    return root


def test_limit_bounds_every_split_reads_only_what_it_needs_and_keeps_splits(tmp_path, monkeypatch):
    clipart = many_cartoons(tmp_path / "clipart")
    registry = make_registry(tmp_path)
    kw = dict(size=64, cell=2, clipart=clipart, categories=["people", "food"], styles=["crawl", "grid"], seed=2,
              val_fraction=0.2, test_fraction=0.2, registry=registry)
    full = make_dataset(tmp_path / "full", **kw)
    assert sum(len(full["images"][f"{s}A"]) for s in SPLITS) == 40
    where = {r["file"]: s for s in SPLITS for r in full["images"][f"{s}A"]}
    where_b = {(r["style"], r["sheet"], r["x"], r["y"]): s for s in SPLITS for r in full["images"][f"{s}B"]}
    reads, totals = [], []
    real_load, real_tqdm = c2p.load_image, c2p.tqdm

    def counting_load(path, **kwargs):
        if clipart in Path(path).parents:
            reads.append(path)
        return real_load(path, **kwargs)

    def recording_tqdm(*args, **kwargs):
        bar = real_tqdm(*args, **kwargs)
        totals.append(bar)
        return bar

    monkeypatch.setattr(c2p, "load_image", counting_load)
    monkeypatch.setattr(c2p, "tqdm", recording_tqdm)
    small = make_dataset(tmp_path / "small", limit=6, **kw)
    assert c2p.split_quotas(6, 0.2, 0.2) == {"train": 6, "val": 2, "test": 2}
    assert c2p.split_quotas(1000, 0.05, 0.1) == {"train": 1000, "val": 59, "test": 118}
    assert {s: len(small["images"][f"{s}A"]) for s in SPLITS} == {"train": 6, "val": 2, "test": 2}
    assert {s: len(small["images"][f"{s}B"]) for s in SPLITS} == {
        s: min(q, len(full["images"][f"{s}B"])) for s, q in {"train": 6, "val": 2, "test": 2}.items()}
    assert len(reads) == 10 and small["limited"]["clipart_read"] == 10  # no file read beyond the quotas
    assert small["limited"]["clipart_files"] == 40
    (bar,) = totals
    assert bar.total == 10 and bar.n == 10  # the bar counts the images the quotas ask for
    # an item's split does not depend on --limit, and a smaller limit keeps a subset of a larger one
    assert all(where[r["file"]] == s for s in SPLITS for r in small["images"][f"{s}A"])
    assert all(where_b[(r["style"], r["sheet"], r["x"], r["y"])] == s for s in SPLITS for r in small["images"][f"{s}B"])
    larger = make_dataset(tmp_path / "larger", limit=12, **kw)
    for s in SPLITS:
        assert {r["file"] for r in small["images"][f"{s}A"]} <= {r["file"] for r in larger["images"][f"{s}A"]}
    assert make_dataset(tmp_path / "again", limit=6, **kw)["images"] == small["images"]
    assert tree(tmp_path / "again") == tree(tmp_path / "small")
    assert "limited" not in full and full["limit"] is None


def test_interrupt_exits_130_and_leaves_no_partial_build(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ds"
    base = cli_base(tmp_path, out)
    real_save = c2p.save_image
    calls = []

    def save_then_interrupt(path, image, **kwargs):
        calls.append(path)
        if len(calls) == 4:
            raise KeyboardInterrupt
        real_save(path, image, **kwargs)

    monkeypatch.setattr(c2p, "save_image", save_then_interrupt)
    assert main(base) == 130
    err = capsys.readouterr().err.split("\r")[-1]  # after the progress bar's last redraw
    assert err.count("\n") == 1 and err.startswith("interrupted: ") and str(out) in err
    assert not out.exists()  # this run created OUT: nothing of it is left
    out.mkdir()
    calls.clear()
    assert main(base) == 130
    assert out.is_dir() and not any(out.iterdir())  # an OUT that was there stays, empty
    monkeypatch.setattr(c2p, "save_image", real_save)
    assert main(base) == 0  # the re-run accepts it
    assert (out / "manifest.json").is_file()


def test_a_killed_runs_leftover_is_cleared_by_the_next_run(tmp_path):
    out = tmp_path / "ds"
    leftover = out / ".make_cartoon2pixel.partial" / "trainA"
    leftover.mkdir(parents=True)
    (leftover / "00000.png").write_bytes(b"half")
    assert main(cli_base(tmp_path, out)) == 0
    assert not (out / ".make_cartoon2pixel.partial").exists() and (out / "manifest.json").is_file()


def test_help_shows_list_defaults_as_the_flag_takes_them():
    text = c2p.build_parser().format_help().replace("\n", " ")
    text = " ".join(text.split())
    assert "['" not in text
    assert "(default: people,food,recreation," in text.replace(", ", ",")
    assert "(default: player.png,feat.png)" in text and "(default: crawl)" in text
    args = c2p.build_parser().parse_args(["o"])
    assert args.categories == list(c2p.DEFAULT_CATEGORIES) and args.sheets == list(c2p.DEFAULT_SHEETS)
    assert args.styles == ["crawl"]
    assert "Time and memory" in text and "--overwrite" in text
