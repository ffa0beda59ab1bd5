"""pixelize.py --compare and --demo: post-processing alone beside generator + post-processing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_demo_and_auto_flags(capsys):
    opt = pixelize_options.parse(["--demo"])
    assert opt.pretrained == "auto" and opt.generator_path is None and opt.compare
    opt = pixelize_options.parse(["--pretrained", "auto"])
    assert opt.generator_path is None and opt.keep_tone is None and opt.despeckle is None  # per generator, later
    with pytest.raises(SystemExit) as exc:
        pixelize_options.parse(["--pretrained", "auto", "--model_path", "g.pth"])
    assert exc.value.code == 2 and "drop --model_path/--name" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_routes_photos_to_quantisation_and_cartoons_to_the_generator(tmp_path, capsys):
    import json

    out = tmp_path / "demo"
    assert pixelize.main(["--demo", "--output", str(out), "--n_colors", "8", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "8 done, 0 skipped, 0 failed" in printed
    photos, cartoons = ("astronaut", "chelsea", "coffee", "rocket"), ("mushroom", "house", "face", "potion")
    for name in photos:
        assert (out / f"{name}.png").is_file() and not (out / f"{name}_post_only.png").exists()
    for name in cartoons:
        assert (out / f"{name}.png").is_file() and (out / f"{name}_post_only.png").is_file()
    page = (out / "index.html").read_text()
    assert page.count("auto: photo (") == 4 and page.count("-&gt; quantisation alone:") == 4
    assert page.count("auto: drawing (") == 4 and page.count("-&gt; cartoon2pixel:") == 4
    routes = {Path(r["output"]).stem: r for r in json.loads((out / "routes.json").read_text())["routes"]}
    assert sorted(routes) == sorted(photos + cartoons)
    assert {routes[n]["stage"] for n in photos} == {"quantisation alone"}
    assert {routes[n]["stage"] for n in cartoons} == {"cartoon2pixel"}
    assert all(r["reason"] and 0.5 <= r["confidence"] <= 1.0 for r in routes.values())
    # a cartoon keeps its colours: the house's walls stay as light as in the input (no darkening)
    from postprocess.color import srgb_to_lab
    from util.samples import load_sample

    house, art = load_sample("house"), load_image(out / "house.png")
    wall_in = srgb_to_lab(house[176:208, 168:196]).reshape(-1, 3)[:, 0]
    wall_out = srgb_to_lab(art[176:208, 168:196]).reshape(-1, 3)[:, 0]
    assert abs(float(np.median(wall_out)) - float(np.median(wall_in))) < 4.0


def test_compare_says_that_videos_get_no_post_processing_alone_copy(tmp_path, tiny_generator, capsys):
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    frames = [Image.new("RGB", (16, 16), (40 * i, 90, 200)) for i in range(3)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(src), "--output", str(out), "--model_path", str(tiny_generator),
                          "--compare", "--pixel_size", "4", "--video_format", "gif", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "--compare: 1 video(s) are written through the generator only" in printed
    assert (out / "anim.gif").is_file() and not list(out.glob("anim_post_only*"))


def test_derived_names_that_meet_are_refused_before_anything_is_written(tmp_path, tiny_generator, capsys):
    from PIL import Image

    from util.image import save_image

    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.png", np.full((16, 16, 3), 90, np.uint8))
    save_image(src / "a_post_only.png", np.full((16, 16, 3), 200, np.uint8))  # a.png's --compare copy's name
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--model_path", str(tiny_generator),
                        "--compare", "--pixel_size", "4"])
    assert rc == 2
    assert f"{src / 'a.png'} and {src / 'a_post_only.png'} would both write {out / 'a_post_only.png'}" in \
        capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
    # a folder named previews/ beside a GIF: its output would be the GIF's preview
    src2 = tmp_path / "in2"
    (src2 / "previews").mkdir(parents=True)
    frames = [Image.new("RGB", (16, 16), (40 * i, 90, 200)) for i in range(2)]
    frames[0].save(src2 / "clip.gif", save_all=True, append_images=frames[1:], duration=100)
    save_image(src2 / "previews" / "clip.png", np.full((16, 16, 3), 90, np.uint8))
    rc = pixelize.main(["--input", str(src2), "--output", str(tmp_path / "out2"), "--pixel_size", "4"])
    assert rc == 2 and "would both write" in capsys.readouterr().err
