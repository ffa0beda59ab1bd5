"""Tests for datasets/make_synthetic_dataset.py: determinism and measurably different domains."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datasets.make_synthetic_dataset import cartoon_scene, main, make_dataset, pixel_sprite


def colour_count(img: np.ndarray) -> int:
    return len(np.unique(img.reshape(-1, img.shape[2]), axis=0))


def grid_conformity(img: np.ndarray, cell: int) -> float:
    """Fraction of exactly flat ``cell x cell`` blocks at the best phase (lossless images)."""
    best = 0.0
    for py in range(cell):
        for px in range(cell):
            ny, nx = (img.shape[0] - py) // cell, (img.shape[1] - px) // cell
            blocks = img[py:py + ny * cell, px:px + nx * cell].reshape(ny, cell, nx, cell, -1)
            flat = (blocks == blocks[:, :1, :, :1]).all(axis=(1, 3, 4))
            best = max(best, float(flat.mean()))
    return best


def file_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_layout_split_and_determinism(tmp_path, capsys):
    assert main([str(tmp_path / "a"), "--n", "10", "--size", "32", "--seed", "5", "--test_fraction", "0.2"]) == 0
    assert "done: 20 written, 0 skipped, 0 failed" in capsys.readouterr().out
    a = file_bytes(tmp_path / "a")
    for domain in "AB":
        train = sorted(k for k in a if k.startswith(f"train{domain}/"))
        test = sorted(k for k in a if k.startswith(f"test{domain}/"))
        assert len(train) == 8 and len(test) == 2
        assert {k.split("/")[1] for k in train} | {k.split("/")[1] for k in test} == {f"{i:05d}.png" for i in range(10)}
    make_dataset(tmp_path / "b", n=10, size=32, seed=5, test_fraction=0.2)
    assert file_bytes(tmp_path / "b") == a  # same seed: byte-identical
    make_dataset(tmp_path / "c", n=10, size=32, seed=6, test_fraction=0.2)
    c = file_bytes(tmp_path / "c")
    assert all(c.get(k) != v for k, v in a.items())  # another seed: every image differs
    # Image i does not depend on n.
    make_dataset(tmp_path / "d", n=3, size=32, seed=5, test_fraction=0.0)
    by_image = {(k.split("/")[0][-1], k.split("/")[1]): v for k, v in a.items()}  # (domain, file) -> bytes
    for name, data in file_bytes(tmp_path / "d").items():
        folder, file = name.split("/")
        assert by_image[(folder[-1], file)] == data


def test_domains_differ_in_colour_count_and_grid_conformity():
    rng_a = [np.random.default_rng([0, 0, i]) for i in range(12)]
    rng_b = [np.random.default_rng([0, 1, i]) for i in range(12)]
    a = [cartoon_scene(64, r) for r in rng_a]
    b = [pixel_sprite(64, r) for r in rng_b]
    assert all(img.shape == (64, 64, 3) and img.dtype == np.uint8 for img in a + b)
    colours_a, colours_b = [colour_count(x) for x in a], [colour_count(x) for x in b]
    assert max(colours_b) <= 12 and min(colours_a) >= 200
    conformity_a = [grid_conformity(x, 4) for x in a]
    conformity_b = [grid_conformity(x, 4) for x in b]
    assert min(conformity_b) == 1.0
    assert max(conformity_a) < 0.85 and np.mean(conformity_a) < 0.7
    # B is drawn on white with a dark one-cell outline around the sprite.
    for img in b:
        assert (img[0] == 255).all() and (img[-1] == 255).all()
        assert (img == [20, 12, 28]).all(axis=2).any()


def test_default_split_writes_every_image_at_the_requested_size(tmp_path):
    from util.image import load_image

    make_dataset(tmp_path, n=50, size=64, seed=0)
    counts = {folder: len(list((tmp_path / folder).glob("*.png"))) for folder in ("trainA", "testA", "trainB", "testB")}
    assert counts == {"trainA": 45, "testA": 5, "trainB": 45, "testB": 5}  # round(50 * 0.1) to test
    assert len(list(tmp_path.rglob("*.png"))) == 100
    assert {load_image(p).shape for p in tmp_path.rglob("*.png")} == {(64, 64, 3)}


def test_argument_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="--size must be a multiple of 4 and at least 32, got 30"):
        make_dataset(tmp_path, n=2, size=30)
    with pytest.raises(ValueError, match="--n must be a positive integer, got 0"):
        make_dataset(tmp_path, n=0)
    with pytest.raises(ValueError, match=r"--test_fraction must be in \[0, 1\), got 1.5"):
        make_dataset(tmp_path, n=2, test_fraction=1.5)
    assert main([str(tmp_path), "--size", "36", "--n", "1"]) == 0
    assert main([str(tmp_path), "--size", "20"]) == 2
    assert "--size must be a multiple of 4" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "--test_fraction" in capsys.readouterr().out
