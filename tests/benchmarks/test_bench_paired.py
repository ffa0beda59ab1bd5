"""bench_paired: the artist-agreement measure and a smoke run on a tiny generated paired set."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from benchmarks import bench_paired
from conftest import make_sheet


def test_agreement_counts_scored_cells_within_5_de00():
    artist = np.zeros((2, 3, 3), np.uint8)
    out = artist.copy()
    out[0, 0] = 60  # far: about 25 dE00
    out[0, 1] = 1  # near: well under 5 dE00
    scored = np.array([[True, True, False], [True, False, False]])
    assert bench_paired.agreement(out, artist, scored) == pytest.approx(2 / 3)
    assert bench_paired.agreement(out, artist, ~scored) == 1.0


def test_cell_means():
    img = np.zeros((4, 4, 3), np.uint8)
    img[0, 0] = 255
    means = bench_paired.cell_means(img, 2)
    assert means.shape == (2, 2, 3) and means[0, 0, 0] == 64 and means[1, 1, 0] == 0


@pytest.mark.slow
def test_smoke_run_on_a_tiny_paired_set(tmp_path, capsys):
    from datasets import make_paired_pixelart as mpp
    from models.networks import define_G

    make_sheet(tmp_path / "s.png")
    mpp.make_dataset(tmp_path / "s.png", tmp_path / "paired", size=64, cell=2, renders=1, seed=0, test_fraction=0.5)
    torch.save(define_G(3, 3, 4, "resnet_6blocks", "batch", True).state_dict(), tmp_path / "G.pth")
    assert bench_paired.main(["--dataroot", str(tmp_path / "paired"), "--model_path", str(tmp_path / "G.pth")]) == 0
    out = capsys.readouterr().out
    assert "paired test split: 2 pairs" in out
    for method in ("quantise", "pix2pix+quantise", "render cell mean", "pix2pix cell mean"):
        assert re.search(rf"^  {re.escape(method)}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}$", out, re.M), method
    assert re.search(r"per image: \d wins, \d ties, \d losses", out)
