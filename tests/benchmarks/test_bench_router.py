"""bench_router on a tiny generated stand-in for the installed clip art and sprite sheets."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from benchmarks import bench_router
from postprocess.image_kind import KINDS, load_model


@pytest.fixture
def stand_in(tmp_path):
    """A clip-art folder (two training categories, one held out, one reserved) and a tiles folder
    (a training sheet, a held-out sheet, the reserved ``main.png`` and a title picture)."""
    clip = tmp_path / "clipart"
    for c, category in enumerate(("people", "shapes", "food", "animals")):
        (clip / category).mkdir(parents=True)
        for i in range(3):
            rgb = bench_router.procedural_drawing(100 * c + i)
            alpha = np.where((rgb > 250).all(axis=2), 0, 255).astype(np.uint8)
            Image.fromarray(np.dstack([rgb, alpha])).save(clip / category / f"clip{i}.png")
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    for s, name in enumerate(("player", "feat", "main", "title_x")):
        rng = np.random.default_rng(s)
        sheet = np.zeros((4 * bench_router.TILE, 4 * bench_router.TILE, 4), np.uint8)
        for r in range(4):
            for c in range(4):
                t = bench_router.TILE
                sheet[r * t:(r + 1) * t, c * t:(c + 1) * t] = bench_router.procedural_sprite(rng)
        Image.fromarray(sheet).save(tiles / f"{name}.png")
    return clip, tiles


def test_reserved_sources_are_never_read(stand_in, monkeypatch):
    clip, tiles = stand_in
    read = []
    real = bench_router.load_rgba

    def spy(path):
        read.append(path)
        return real(path)

    monkeypatch.setattr(bench_router, "load_rgba", spy)
    assert set(bench_router.clipart_categories(clip)) == {"people", "shapes", "food"}
    assert bench_router.sheet_names(tiles) == ["feat", "player"]
    args = argparse.Namespace(limit=12, synthetic_only=False, skimage=False, clipart=str(clip), tiles=str(tiles),
                              seed=0)
    samples = bench_router.build_set(args, lambda _: None)
    assert read and not any(p.parent.name in ("animals", "plants") or p.stem == "main" for p in read)
    assert {s.kind for s in samples} == set(KINDS)
    # split by source: no named source (category, sheet, procedural seed) on both sides
    train = {s.source for s in samples if not s.test}
    test = {s.source for s in samples if s.test}
    assert not train & test
    assert "clipart:food" in test and "crawl:feat" in test and "crawl:player" in train


def test_main_runs_on_the_stand_in_and_writes_the_figures(stand_in, tmp_path, capsys):
    clip, tiles = stand_in
    out = tmp_path / "figures.json"
    rc = bench_router.main(["--clipart", str(clip), "--tiles", str(tiles), "--no-skimage", "--limit", "6",
                            "--json", str(out), "--target", "0"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "held-out accuracy" in text and "true / predicted" in text and "time: median" in text
    figures = json.loads(out.read_text())
    assert np.array(figures["confusion"]).shape == (4, 4) and np.sum(figures["confusion"]) == 8
    assert set(figures["per_class"]) == set(KINDS)
    assert figures["accuracy"] >= 0.75  # the shipped model on 8 held-out stand-ins


def test_fit_writes_a_model_that_loads(tmp_path):
    model_path = tmp_path / "model.json"
    rc = bench_router.main(["--synthetic-only", "--limit", "6", "--fit", "--model-out", str(model_path),
                            "--target", "0"])
    assert rc == 0
    model = load_model(model_path)
    assert model.kinds == KINDS and model.meta["training_pictures"] == 16
    assert 0.0 <= model.meta["held_out_accuracy"] <= 1.0


@pytest.mark.parametrize("argv", [["--bogus"], ["--limit", "2"], ["--seed", "100"], ["--limit", "x"]])
def test_bad_flags_exit_2(argv):
    with pytest.raises(SystemExit) as err:
        bench_router.main(argv)
    assert err.value.code == 2
