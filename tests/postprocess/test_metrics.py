"""Tests for postprocess.metrics and its CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from postprocess import pixelize_image, upscale
from postprocess.metrics import (
    area_reference,
    changed_cell_rate,
    color_fidelity,
    edge_f1,
    estimate_cell_size,
    evaluate,
    frame_delta_e,
    grid_cell_mean,
    grid_conformity,
    main,
    mean_chroma,
    orphan_rate,
    palette_adherence,
    palette_distinctness,
    palette_drift,
    palette_size,
    quantization_error,
)
from util.image import save_image

BW = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)


def test_fidelity_and_palette_counts():
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2] = 255
    assert color_fidelity(img, img) == {"mean": 0.0, "p95": 0.0}
    assert palette_size(img) == 2
    assert palette_adherence(img, BW) == 1.0
    assert palette_adherence(img, BW[:1]) == 0.5
    assert quantization_error(img, BW) == 0.0


def test_palette_distinctness():
    d = palette_distinctness(BW)
    assert d["min"] == pytest.approx(100.0, abs=1e-4) and d["mean_nn"] == pytest.approx(100.0, abs=1e-4)
    assert palette_distinctness(BW[:1])["min"] == float("inf")


def test_orphan_rate():
    img = np.zeros((3, 3, 3), np.uint8)
    assert orphan_rate(img) == {"delta_e": 0.0, "exact": 0.0}
    img[1, 1] = 255
    assert orphan_rate(img) == {"delta_e": pytest.approx(1 / 9), "exact": pytest.approx(1 / 9)}
    img[1, 1] = 1  # exactly different but perceptually the same
    r = orphan_rate(img)
    assert r["delta_e"] == 0.0 and r["exact"] == pytest.approx(1 / 9)


def test_edge_f1_perfect_for_an_aligned_step():
    img = np.zeros((64, 64, 3), np.uint8)
    img[:, 32:] = 255
    out = pixelize_image(img, pixel_size=8, palette=BW)
    e = edge_f1(out, img, 8)
    assert e == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert edge_f1(np.zeros((8, 8, 3), np.uint8), img, 8)["f1"] == 0.0


def test_grid_conformity_and_phase():
    cells = np.random.default_rng(0).integers(0, 256, (6, 7, 3)).astype(np.uint8)
    up = upscale(cells, 4)
    assert grid_conformity(up, 4) == {"conformity": 1.0, "phase_y": 0, "phase_x": 0, "cell_std": 0.0}
    shifted = np.pad(up, ((0, 0), (3, 0), (0, 0)), mode="edge")
    r = grid_conformity(shifted, 4)
    assert r["conformity"] == 1.0 and (r["phase_y"], r["phase_x"]) == (0, 3)
    assert grid_conformity(up, 4, tau=2.0)["conformity"] == 1.0
    with pytest.raises(ValueError, match="cell"):
        grid_conformity(up, 0)


def test_estimate_cell_size():
    cells = np.random.default_rng(1).integers(0, 256, (12, 12, 3)).astype(np.uint8)
    assert estimate_cell_size(upscale(cells, 6)) == 6


def test_temporal_measures():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 9
    assert changed_cell_rate(a, b) == 0.25
    assert frame_delta_e(a, a) == 0.0
    assert palette_drift(BW, BW) == 0.0
    assert palette_drift(BW, BW[::-1]) == 0.0
    with pytest.raises(ValueError, match="shape"):
        changed_cell_rate(a, a[:1])


def test_reference_and_chroma():
    img = np.random.default_rng(2).integers(0, 256, (10, 12, 3)).astype(np.uint8)
    ref = area_reference(img, (3, 3), 4)
    np.testing.assert_array_equal(ref[0, 0], np.rint(img[:4, :4].reshape(-1, 3).mean(0)).astype(np.uint8))
    np.testing.assert_allclose(grid_cell_mean(img, 4)[2, 2], img[8:, 8:].reshape(-1, 3).mean(0))
    assert mean_chroma(np.full((2, 2, 3), 128, np.uint8)) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="original"):
        area_reference(np.zeros((4, 4), np.uint8), (2, 2))


def test_evaluate_keys():
    img = np.random.default_rng(3).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    m = evaluate(pixelize_image(img, pixel_size=8, n_colors=4), img, 8)
    assert m["colors"] <= 4 and m["adherence"] == 1.0
    assert {"de_mean", "orphan_de", "edge_f1", "pal_min_de", "chroma_out", "chroma_original"} <= set(m)


def test_cli_native_and_upscaled(tmp_path, capsys):
    img = np.random.default_rng(4).integers(0, 256, (40, 48, 3)).astype(np.uint8)
    out = pixelize_image(img, pixel_size=8, n_colors=4)
    save_image(tmp_path / "in.png", img)
    save_image(tmp_path / "out.png", out)
    save_image(tmp_path / "up.png", upscale(out, 8))
    assert main([str(tmp_path / "out.png"), "--original", str(tmp_path / "in.png"), "--pixel_size", "8", "--json"]) == 0
    native = json.loads(capsys.readouterr().out)
    assert native["colors"] <= 4 and native["adherence"] == 1.0
    assert main([str(tmp_path / "up.png"), "--original", str(tmp_path / "in.png"), "--pixel_size", "8", "--json"]) == 0
    up = json.loads(capsys.readouterr().out)
    assert up["grid_conformity"] == 1.0 and up["de_mean"] == pytest.approx(native["de_mean"])
    assert main([str(tmp_path / "out.png"), "--original", str(tmp_path / "in.png"), "--pixel_size", "8"]) == 0
    assert "de_mean" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    img = np.zeros((40, 48, 3), np.uint8)
    save_image(tmp_path / "in.png", img)
    save_image(tmp_path / "odd.png", img[:7, :9])
    assert main([str(tmp_path / "odd.png"), "--original", str(tmp_path / "in.png"), "--pixel_size", "8"]) == 2
    assert "native size 6x5" in capsys.readouterr().err
    assert main([str(tmp_path / "nope.png"), "--original", str(tmp_path / "in.png"), "--pixel_size", "8"]) == 2
    assert "nope.png" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "in.png"), "--original", str(tmp_path / "in.png"), "--pixel_size", "0"])
    assert "--pixel_size" in capsys.readouterr().err


def test_evaluate_output_samples_an_upscale_back_to_the_cells():
    from postprocess.metrics import evaluate_output

    img = np.random.default_rng(5).integers(0, 256, (40, 48, 3)).astype(np.uint8)
    out = pixelize_image(img, pixel_size=8, n_colors=4)
    native = evaluate_output(out, img, 8)
    assert native == evaluate(out, img, 8)  # native size: evaluate() unchanged
    up = evaluate_output(upscale(out, 3), img, 8)
    assert (up["upscale_factor"], up["grid_conformity"], up["grid_phase_y"], up["grid_phase_x"]) == (3.0, 1.0, 0.0, 0.0)
    assert {k: up[k] for k in native} == native  # the same cells, so the same measures
    with pytest.raises(ValueError, match="OUTPUT is 7x5, expected the native size 6x5"):
        evaluate_output(np.concatenate([out, out[:, :1]], axis=1), img, 8)
