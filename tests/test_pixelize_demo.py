"""pixelize.py --compare and --demo: post-processing alone beside generator + post-processing."""
from __future__ import annotations

import pytest
import torch

import pixelize
from models import networks
from options import pixelize_options
from util.image import load_image


@pytest.fixture
def tiny_generator(tmp_path):
    torch.manual_seed(0)
    net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
    path = tmp_path / "g.pth"
    torch.save(net.state_dict(), path)
    return path


def test_compare_needs_a_generator_and_demo_refuses_inputs(capsys):
    with pytest.raises(SystemExit) as exc:
        pixelize_options.parse(["--compare"])
    assert exc.value.code == 2 and "--compare shows generator" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        pixelize_options.parse(["--demo", "--input", "x.png"])
    assert exc.value.code == 2 and "drop --input" in capsys.readouterr().err
    opt = pixelize_options.parse(["--demo", "--model_path", "g.pth"])
    assert opt.compare and opt.generator_path == "g.pth" and opt.pretrained is None


@pytest.mark.slow
def test_demo_writes_both_versions_of_every_sample_and_a_three_column_page(tmp_path, tiny_generator, capsys):
    out = tmp_path / "demo"
    assert pixelize.main(["--demo", "--model_path", str(tiny_generator), "--output", str(out), "--n_colors", "8",
                          "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "8 done, 0 skipped, 0 failed" in printed
    for name in ("astronaut", "chelsea", "coffee", "rocket", "mushroom", "house", "face", "potion"):
        both = load_image(out / f"{name}.png"), load_image(out / f"{name}_post_only.png")
        assert both[0].shape == both[1].shape
        assert not (both[0] == both[1]).all()  # the generator changed the picture
    page = (out / "index.html").read_text()
    assert page.count("<img") == 24  # input | post-processing alone | generator + post-processing
    assert page.count("post-processing alone") == page.count("generator + post-processing") > 0
    assert "mushroom (sample cartoon)" in page and "astronaut (sample photo)" in page
