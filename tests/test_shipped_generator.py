"""The generator shipped in stateDict/: small, documented, usable by pixelize and as a fine-tuning start."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.inference import load_generator
from util import pretrained
from util.checkpoint import load_state_dict_file
from util.image import load_image, save_image
from util.samples import load_sample

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "stateDict" / "cartoon2pixel_G_A.pth"


def test_shipped_file_is_small_finite_documented_and_tracked():
    assert SHIPPED.is_file(), "stateDict/cartoon2pixel_G_A.pth must ship with the repository"
    assert SHIPPED.stat().st_size <= 25 * 2 ** 20
    state = load_state_dict_file(SHIPPED)
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    facts = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert facts["cell"] == 2 and facts["size"] == 64
    assert facts["architecture"] == {"netG": "resnet_6blocks", "ngf": 32, "norm": "instance", "use_dropout": False,
                                     "input_nc": 3, "output_nc": 3}
    readme = (ROOT / "stateDict" / "README.md").read_text()
    assert "cartoon2pixel_G_A.pth" in readme and "CC0" in readme and "public domain" in readme
    assert pretrained.shipped()["cartoon2pixel"] == SHIPPED
    ignored = (ROOT / ".gitignore").read_text()
    assert "!stateDict/cartoon2pixel_G_A.pth" in ignored


def test_generator_keeps_white_white_and_darkens_outlines():
    net, config = load_generator(SHIPPED)
    assert config["netG"] == "resnet_6blocks"
    cartoon = load_sample("mushroom")
    import cv2

    small = cv2.resize(cartoon, (64, 64), interpolation=cv2.INTER_AREA)
    from util.image import to_tensor, to_uint8

    with torch.no_grad():
        out = to_uint8(net(to_tensor(small)))[0]
    assert out.shape == (64, 64, 3)
    corners = np.concatenate([out[:6, :6], out[:6, -6:], out[-6:, :6], out[-6:, -6:]]).reshape(-1, 3)
    assert corners.min() >= 200  # the white background stays (near) white


def test_pixelize_pretrained_alias_runs_at_the_trained_scale(tmp_path, caplog):
    import pixelize

    src = tmp_path / "in"
    save_image(src / "face.png", load_sample("face"))
    caplog.set_level("INFO")
    rc = pixelize.main(["--input", str(src), "--output", str(tmp_path / "out"), "--pretrained", "cartoon2pixel",
                        "--n_colors", "12", "--workers", "1"])
    assert rc == 0
    out = load_image(tmp_path / "out" / "face.png")
    assert out.shape == (256, 256, 3)
    native = out[::8, ::8]
    assert np.array_equal(np.repeat(np.repeat(native, 8, 0), 8, 1), out)  # exact 8-px cells
    assert len(np.unique(native.reshape(-1, 3), axis=0)) <= 12
    assert any("cartoon2pixel_G_A.pth" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_fine_tuning_from_the_shipped_generator(tmp_path, tiny_dataset):
    import train
    from conftest import TINY_TRAIN

    flags = [f for f in TINY_TRAIN]
    flags[flags.index("--ngf") + 1] = "32"
    rc = train.main(["--dataroot", str(tiny_dataset), "--name", "ft", "--checkpoints_dir", str(tmp_path / "ck"),
                     *flags, "--n_epochs_decay", "0", "--state_dict_dir", str(ROOT / "stateDict"),
                     "--name_state_dict_init", "cartoon2pixel_G_A.pth", "--lr", "0"])
    assert rc == 0
    trained = load_state_dict_file(tmp_path / "ck" / "ft" / "latest_net_G_A.pth")
    shipped = load_state_dict_file(SHIPPED)
    assert trained.keys() == shipped.keys()
    assert all(torch.equal(trained[k], shipped[k]) for k in shipped)  # lr 0: G_A is still the shipped generator


SMOOTH = ROOT / "stateDict" / "smooth2pixel_G.pth"


def test_smooth2pixel_ships_small_finite_and_documented():
    assert SMOOTH.is_file() and SMOOTH.stat().st_size <= 25 * 2 ** 20
    state = load_state_dict_file(SMOOTH)
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    facts = json.loads(SMOOTH.with_suffix(".json").read_text())
    assert facts["cell"] == 2 and facts["architecture"]["norm"] == "batch" and facts["architecture"]["ngf"] == 16
    assert "smooth2pixel_G.pth" in (ROOT / "stateDict" / "README.md").read_text()
    assert "!stateDict/smooth2pixel_G.pth" in (ROOT / ".gitignore").read_text()
    assert pretrained.shipped()["smooth2pixel"] == SMOOTH


def test_pixelize_pretrained_smooth2pixel_on_a_smooth_render(tmp_path):
    import cv2

    import pixelize

    native = np.full((32, 32, 3), 255, np.uint8)
    native[8:24, 8:24] = (30, 20, 40)
    native[10:22, 10:22] = (220, 60, 50)
    smooth = cv2.GaussianBlur(cv2.resize(native, (256, 256), interpolation=cv2.INTER_CUBIC), (0, 0), 6)
    save_image(tmp_path / "in" / "render.png", smooth)
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                          "--pretrained", "smooth2pixel", "--n_colors", "4", "--workers", "1"]) == 0
    out = load_image(tmp_path / "out" / "render.png")
    assert out.shape == (256, 256, 3)
    cells = out[::8, ::8]
    assert np.array_equal(np.repeat(np.repeat(cells, 8, 0), 8, 1), out)
    assert len(np.unique(cells.reshape(-1, 3), axis=0)) <= 4
