"""Tests for train_demo.py: the offline end-to-end demo on a tiny configuration."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from train_demo import COLUMNS, MARKER, METRICS, format_table, image_measures, main, prepare_dataset, toward_b

REPO = Path(__file__).resolve().parents[1]


def tiny_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["--root", str(tmp_path / "data"), "--checkpoints_dir", str(tmp_path / "ck"),
            "--results_dir", str(tmp_path / "res"), "--n", "6", "--size", "32", "--test_fraction", "0.34",
            "--epochs", "1", "--epochs_decay", "0", "--ngf", "4", "--ndf", "4", "--seed", "3", *extra]


@pytest.mark.slow
def test_tiny_demo_writes_every_artifact(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a user's stateDict/init.pth must not leak into the demo run
    (tmp_path / "stateDict").mkdir()
    (tmp_path / "stateDict" / "init.pth").write_bytes(b"not a state dict")
    assert main(tiny_args(tmp_path)) == 0
    out = capsys.readouterr().out
    ck, res = tmp_path / "ck", tmp_path / "res"
    for net in ("G_A", "G_B", "D_A", "D_B"):
        assert (ck / "train_demo" / f"latest_net_{net}.pth").is_file()
    assert (ck / "train_demo_untrained" / "latest_net_G_A.pth").is_file()
    stems = sorted(p.stem for p in (tmp_path / "data" / "testA").glob("*.png"))
    assert len(stems) == 2  # round(6 * 0.34)
    for name in ("train_demo", "train_demo_untrained"):
        page = res / name / "test_latest"
        assert (page / "index.html").is_file()
        for stem in stems:
            for visual in ("real", "fake"):
                assert (page / "images" / f"{stem}_{visual}.png").is_file()
    pixel_dir = res / "train_demo" / "pixelize"
    assert (pixel_dir / "index.html").is_file()
    assert sorted(p.stem for p in pixel_dir.glob("*.png")) == stems

    doc = json.loads((res / "train_demo" / "metrics.json").read_text())
    assert set(doc["metrics"]) == set(METRICS)
    assert set(doc["gap_closed"]) == set(METRICS)
    for metric in METRICS:
        assert set(doc["metrics"][metric]) == set(COLUMNS)
        assert all(math.isfinite(v) for v in doc["metrics"][metric].values())
        assert math.isfinite(doc["gap_closed"][metric])
    assert doc["images"] == {"real_A": 2, "untrained_G": 2, "trained_G": 2, "real_B": 2}
    # The domains differ as generated: real B sprites sit exactly on the 4-pixel grid.
    assert doc["metrics"]["grid_conformity"]["real_B"] == 1.0
    assert doc["metrics"]["cell_std"]["real_B"] == 0.0
    assert 0.0 < doc["metrics"]["b_palette_coverage"]["real_B"] <= 1.0  # testB may use colours trainB lacks
    assert doc["metrics"]["grid_conformity"]["real_A"] < 1.0
    assert doc["seconds"]["total"] > 0
    assert doc["paths"]["pixelize_page"] == str(pixel_dir / "index.html")
    for text in ("toward domain B", "grid_conformity", str(res / "train_demo" / "metrics.json"),
                 str(pixel_dir / "index.html"), str(ck / "train_demo")):
        assert text in out
    assert (tmp_path / "data" / MARKER).is_file()


def test_prepare_dataset_reuses_regenerates_and_refuses(tmp_path):
    root = tmp_path / "data"
    assert prepare_dataset(root, 4, 32, 0, 0.25) == "generated"
    first = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    assert len(first) == 8
    assert prepare_dataset(root, 4, 32, 0, 0.25) == "reused"
    assert prepare_dataset(root, 3, 32, 0, 0.34) == "generated"  # our own dataset, other parameters: replaced
    assert len(list(root.rglob("*.png"))) == 6
    foreign = tmp_path / "mine"
    (foreign / "trainA").mkdir(parents=True)
    (foreign / "trainA" / "photo.png").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"--root .*mine already holds files that this demo did not write"):
        prepare_dataset(foreign, 4, 32, 0, 0.25)
    assert (foreign / "trainA" / "photo.png").read_bytes() == b"x"
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match=r"--root .*file is a file"):
        prepare_dataset(a_file, 4, 32, 0, 0.25)


def test_bad_flags_and_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--epochs", "0"])
    assert exc.value.code == 2
    assert "--epochs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--netG", "unet_256"])
    assert "--netG" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--lr", "nan"])
    assert "--lr" in capsys.readouterr().err
    assert main(tiny_args(tmp_path, "--size", "30")) == 2
    assert "--size must be a multiple of 4" in capsys.readouterr().err
    assert main(tiny_args(tmp_path, "--n", "2", "--test_fraction", "0.1")) == 2
    assert "leaves no test image" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
    assert main(tiny_args(tmp_path, "--n", "1", "--test_fraction", "0.9")) == 2
    assert "leaves no training image" in capsys.readouterr().err
    assert main(tiny_args(tmp_path, "--init", str(tmp_path / "missing.pth"))) == 2
    assert "--init" in capsys.readouterr().err


def test_image_measures_on_known_images():
    white = np.full((32, 32, 3), 255, np.uint8)
    palette_lab = np.array([[100.0, 0.0, 0.0]])  # white in CIELAB
    m = image_measures(white, palette_lab, tau=2.0, palette_tol=5.0)
    assert m == {"grid_conformity": 1.0, "cell_std": 0.0, "colors": 1.0, "b_palette_coverage": 1.0,
                 "chroma": pytest.approx(0.0, abs=1e-3)}
    ramp = np.repeat(np.arange(32, dtype=np.uint8)[None, :, None] * 8, 32, axis=0).repeat(3, axis=2)
    m = image_measures(ramp, palette_lab, tau=0.0, palette_tol=5.0)
    assert m["grid_conformity"] == 0.0
    assert m["colors"] == 32.0
    assert 0.0 < m["b_palette_coverage"] < 0.1


def test_gap_closed_and_table():
    table = {metric: {"real_A": 0.0, "untrained_G": 0.1, "trained_G": 0.5, "real_B": 1.0} for metric in METRICS}
    table["chroma"] = {c: 3.0 for c in COLUMNS}
    gap = toward_b(table)
    assert gap["grid_conformity"] == 0.5
    assert math.isnan(gap["chroma"])
    text = format_table(table, gap)
    assert text.splitlines()[0].split()[:5] == ["measure", *COLUMNS]
    assert "grid_conformity" in text and "0.500" in text


def test_script_help_runs_from_any_entry_point():
    for cmd in ([sys.executable, "-m", "train_demo", "--help"],
                [sys.executable, "train_demo.py", "--help"]):
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "--epochs_decay" in done.stdout
