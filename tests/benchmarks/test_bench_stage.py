"""benchmarks/bench_stage.py: the per-image measures on hand-checkable images, and one tiny run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import bench_stage
from benchmarks.bench_stage import drawing_of, interior_of, speckle_rate, stage_measures


def native_drawing(fill=(200, 60, 60), outline=None) -> np.ndarray:
    """10x10 cells on white with a 6x6 square at (2..7); optional 1-cell outline ring."""
    img = np.full((10, 10, 3), 255, np.uint8)
    img[2:8, 2:8] = fill if outline is None else outline
    if outline is not None:
        img[3:7, 3:7] = fill
    return img


def test_drawing_and_interior_cells():
    drawing = drawing_of(native_drawing())
    assert int(drawing.sum()) == 36
    assert int(interior_of(drawing).sum()) == 16 and interior_of(drawing)[3:7, 3:7].all()


def test_measures_of_a_faithful_and_of_a_darkened_output():
    src = native_drawing()
    same = stage_measures(src, src)
    assert same["interior_de"] == 0.0 and same["shift"] == 0.0 and same["speckle"] == 0.0
    assert same["outline"] == 0.0
    dark = stage_measures(src, native_drawing(fill=(120, 30, 30), outline=(10, 10, 10)))
    assert dark["outline"] == 1.0  # every border cell of the output's drawing is dark
    assert dark["shift"] < -15 and dark["interior_de"] > 10


def test_speckle_rate_counts_isolated_drawing_cells():
    img = native_drawing()
    img[4, 4] = (20, 20, 20)
    assert speckle_rate(img) == pytest.approx(1 / 36)


def test_end_to_end_on_a_tiny_dataset(tmp_path, capsys):
    import torch

    from models import networks
    from util.image import load_image, save_image

    root = tmp_path / "ds"
    rng = np.random.default_rng(0)
    for i in range(3):
        cartoon = np.full((32, 32, 3), 255, np.uint8)
        cartoon[6:26, 6 + i:26] = rng.integers(0, 200, 3)
        save_image(root / "testA" / f"{i}.png", cartoon)
        sprite = np.repeat(np.repeat(native_drawing(outline=(20, 20, 20))[:8, :8], 4, 0), 4, 1)
        save_image(root / "testB" / f"{i}.png", sprite)
    manifest = {"cell": 4, "images": {"testA": [{"name": f"{i}.png", "file": f"cat/{i}.png"} for i in range(3)],
                                      "testB": [{"name": f"{i}.png", "style": "ab"[i % 2]} for i in range(4)]}}
    save_image(root / "testB" / "3.png", np.repeat(np.repeat(native_drawing(fill=(40, 200, 90))[:8, :8], 4, 0), 4, 1))
    (root / "manifest.json").write_text(json.dumps(manifest))
    trained = tmp_path / "train_manifest.json"
    trained.write_text(json.dumps({"images": {"trainA": [{"name": "x.png", "file": "cat/0.png"}]}}))
    torch.manual_seed(0)
    net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
    gen = tmp_path / "tiny_G_A.pth"
    torch.save(net.state_dict(), gen)
    gen.with_suffix(".json").write_text(json.dumps({"cell": 2, "size": 16}))
    report = tmp_path / "r.json"
    assert bench_stage.main(["--dataroot", str(root), "--pixel_size", "4", "--n_colors", "4", "--generator",
                             str(gen), "--exclude", str(trained), "--json", str(report), "--gallery",
                             str(tmp_path / "g"), "--gallery_count", "1"]) == 0
    out = capsys.readouterr().out
    assert "\n2 held-out drawings" in "\n" + out  # cat/0.png was trained on: left out
    rows = json.loads(report.read_text())
    assert set(rows) == {"quantisation alone", "quantisation, outline 0.25", "tiny_G_A, hue guidance (before)",
                         "tiny_G_A, tone guidance (default)", "tiny_G_A, tone guidance + despeckle",
                         "real pixel art (testB)"}
    assert rows["quantisation alone"]["shift"] == pytest.approx(0.0, abs=1.0)
    assert "| tiny_G_A, tone guidance + despeckle |" in out and "distance <= 0.45x" in out
    # two styles in testB (a: sprites 0 and 2, b: 1 and 3): a distance to each
    assert "distance to a (vs quantisation alone) | distance to b" in out
    assert rows["quantisation alone"]["distance a"] >= 0 and "distance b" in rows["tiny_G_A, tone guidance (default)"]
    strip = load_image(tmp_path / "g" / "heldout_1.png")  # input | quantisation | before | now
    assert strip.shape == (32, 4 * 32 + 3 * 4, 3) and sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "heldout_1.png"]
    assert bench_stage.main(["--dataroot", str(tmp_path / "none")]) == 2
    assert bench_stage.main(["--dataroot", str(root), "--generator", str(tmp_path / "missing.pth")]) == 2


def test_current_only_runs_one_pipeline_per_generator(tmp_path, capsys):
    import torch

    from models import networks
    from util.image import save_image

    root = tmp_path / "ds"
    for i in range(2):
        cartoon = np.full((16, 16, 3), 255, np.uint8)
        cartoon[4:12, 4 + i:12] = (200, 60, 60)
        save_image(root / "testA" / f"{i}.png", cartoon)
        save_image(root / "testB" / f"{i}.png", np.repeat(np.repeat(native_drawing(outline=(9, 9, 9))[:4, :4], 4, 0),
                                                          4, 1))
    (root / "manifest.json").write_text(json.dumps({"cell": 4, "images": {}}))
    net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
    gen = tmp_path / "g.pth"
    torch.save(net.state_dict(), gen)
    report = tmp_path / "r.json"
    assert bench_stage.main(["--dataroot", str(root), "--pixel_size", "4", "--n_colors", "3", "--generator", str(gen),
                             "--current_only", "--json", str(report)]) == 0
    assert set(json.loads(report.read_text())) == {"quantisation alone", "quantisation, outline 0.25",
                                                   "g, tone guidance (default)", "real pixel art (testB)"}
