"""The measures of benchmarks/bench_neural.py on hand-checkable images, and one tiny end-to-end run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import bench_neural
from benchmarks.bench_neural import FEATURE_NAMES, FeatureMMD, cells, checkpoint_epochs, image_features, white_kept


def sprite(outline=(20, 20, 20), fill=(200, 40, 40), n=16, box=(4, 12)) -> np.ndarray:
    """An n x n native image on white with a filled square and a 1-cell outline."""
    img = np.full((n, n, 3), 255, np.uint8)
    a, b = box
    img[a:b, a:b] = outline
    img[a + 1:b - 1, a + 1:b - 1] = fill
    return img


def test_cells_is_the_rounded_cell_mean():
    img = np.zeros((4, 6, 3), np.uint8)
    img[0, 0] = 255  # one of the 4 pixels of cell (0, 0): mean 63.75 -> 64
    out = cells(img, 2)
    assert out.shape == (2, 3, 3) and out[0, 0].tolist() == [64, 64, 64] and out[1, 2].tolist() == [0, 0, 0]


def test_features_outline_rate_colours_and_coverage():
    f = dict(zip(FEATURE_NAMES, image_features(sprite()), strict=True))
    assert len(FEATURE_NAMES) == len(image_features(sprite()))
    assert f["outline_rate"] == 1.0  # every border cell of the drawing is dark
    assert f["log2_colours"] == pytest.approx(np.log2(2) / 8)  # outline + fill
    assert f["coverage"] == pytest.approx(64 / 256)
    no_outline = dict(zip(FEATURE_NAMES, image_features(sprite(outline=(200, 40, 40))), strict=True))
    assert no_outline["outline_rate"] == 0.0 and no_outline["log2_colours"] == 0.0
    # histograms are normalised
    for prefix in ("L<", "C<", "step<", "hue"):
        assert sum(v for k, v in f.items() if k.startswith(prefix)) == pytest.approx(1.0)


def test_white_kept():
    src = sprite()
    assert white_kept(src, src) == 1.0
    out = src.copy()
    out[0, :] = (120, 120, 120)  # 16 of the 192 background cells turned grey
    assert white_kept(src, out) == pytest.approx(176 / 192)


def test_mmd_is_zero_for_the_reference_distribution_and_grows_with_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(200, 5))
    mmd = FeatureMMD(ref)
    same = mmd.distance(rng.normal(size=(200, 5)))
    near = mmd.distance(rng.normal(0.5, 1, size=(200, 5)))
    far = mmd.distance(rng.normal(2.0, 1, size=(200, 5)))
    assert same < 0.1 < near < far
    assert mmd.mmd2(ref) < 0  # unbiased: the reference against itself is slightly negative
    with pytest.raises(ValueError, match="at least 2"):
        FeatureMMD(ref[:1])


def test_checkpoint_epochs(tmp_path):
    for name in ("3_net_G_A.pth", "10_net_G_A.pth", "latest_net_G_A.pth", "3_net_G_B.pth", "iter_5_net_G_A.pth"):
        (tmp_path / name).write_bytes(b"")
    assert [e for e, _ in checkpoint_epochs(tmp_path)] == [3, 10]


@pytest.mark.slow
def test_end_to_end_on_a_tiny_dataset(tmp_path, capsys):
    import torch

    from models import networks
    from util.image import save_image

    root = tmp_path / "ds"
    rng = np.random.default_rng(1)
    for split in ("train", "val", "test"):
        for i in range(4):
            cartoon = np.full((32, 32, 3), 255, np.uint8)
            cartoon[6:26, 6 + i:26] = rng.integers(0, 255, 3)
            save_image(root / f"{split}A" / f"{i}.png", cartoon)
            native = sprite(fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
            save_image(root / f"{split}B" / f"{i}.png", np.repeat(np.repeat(native, 2, 0), 2, 1))
    (root / "manifest.json").write_text(json.dumps({"cell": 2}))
    run = tmp_path / "run"
    run.mkdir()
    for epoch in (1, 2):
        torch.manual_seed(epoch)
        net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
        torch.save(net.state_dict(), run / f"{epoch}_net_G_A.pth")
    ship = tmp_path / "shipped.pth"
    report = tmp_path / "r.json"
    assert bench_neural.main(["--dataroot", str(root), "--checkpoints", str(run), "--n_colors", "4",
                              "--ship", str(ship), "--json", str(report), "--gallery", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert "epoch   1:" in out and "epoch   2:" in out and "chosen on validation: epoch" in out
    assert "| quantisation alone |" in out and "| trained generator + quantisation |" in out
    data = json.loads(report.read_text())
    chosen = data["chosen_epoch"]
    assert chosen in (1, 2)
    shipped = torch.load(ship, weights_only=True)
    original = torch.load(run / f"{chosen}_net_G_A.pth", weights_only=True)
    assert shipped.keys() == original.keys() and all(torch.equal(shipped[k], original[k]) for k in shipped)
    facts = json.loads(ship.with_suffix(".json").read_text())
    assert facts["cell"] == 2 and facts["size"] == 32 and facts["epoch"] == chosen
    assert facts["architecture"]["netG"] == "resnet_6blocks" and facts["architecture"]["ngf"] == 4
    assert (tmp_path / "g" / "neural_mushroom.png").is_file() and (tmp_path / "g" / "neural_test0.png").is_file()
    assert facts["color_match"] is True and facts["keep_white"] is True
    assert facts["keep_tone"] is True and facts["despeckle"] is False
    assert bench_neural.main(["--dataroot", str(tmp_path / "none"), "--model_path", str(ship)]) == 2
