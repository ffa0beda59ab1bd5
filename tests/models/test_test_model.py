"""models.test_model: tiny inputs are padded for the generator (edge pixels repeated)."""
from __future__ import annotations

import pytest
import torch

from models import networks
from models.test_model import MIN_SIDE, pad_tiny


@pytest.mark.parametrize("h, w", [(1, 1), (2, 2), (3, 3), (4, 4), (2, 300), (300, 2)])
def test_pad_tiny_repeats_edges_up_to_the_minimum(h, w):
    x = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w)
    padded = pad_tiny(x)
    assert padded.shape[-2:] == (max(h, MIN_SIDE), max(w, MIN_SIDE))
    assert torch.equal(padded[..., :h, :w], x)
    assert torch.equal(padded[..., h - 1, :w], padded[..., -1, :w])  # last row repeated
    assert torch.equal(padded[..., :h, w - 1], padded[..., :h, -1])  # last column repeated


def test_pad_tiny_leaves_large_inputs_alone():
    x = torch.zeros(1, 3, MIN_SIDE, 20)
    assert pad_tiny(x) is x


def test_min_side_is_enough_for_the_resnet_generators():
    net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance").eval()
    with torch.no_grad():
        assert net(torch.zeros(1, 3, MIN_SIDE, MIN_SIDE)).shape == (1, 3, MIN_SIDE, MIN_SIDE)
        with pytest.raises((RuntimeError, ValueError)):  # why the padding exists: 4 px is too small for it
            net(torch.zeros(1, 3, 4, 4))


def test_a_colorization_generator_is_refused_at_load_time_naming_the_model(tmp_path, capsys):
    import numpy as np

    import test as test_cli
    from util.image import save_image

    save_image(tmp_path / "photos" / "a.png", np.zeros((16, 16, 3), np.uint8))
    rc = test_cli.main(["--dataroot", str(tmp_path / "photos"), "--name", "col", "--checkpoints_dir",
                        str(tmp_path / "ck"), "--results_dir", str(tmp_path / "res"), "--model", "test",
                        "--input_nc", "1", "--output_nc", "2", "--gpu_ids", "-1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--output_nc 2 is a colorization generator" in err and "--model colorization" in err
    assert "Traceback" not in err and not (tmp_path / "res" / "col").exists()
