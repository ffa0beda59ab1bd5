"""Colorization: pix2pix from L to ab with RGB visuals, clear errors, checkpoints and a reference-format G."""
from __future__ import annotations

import importlib.util
import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.training import run_training
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util.checkpoint import load_checkpoint, load_state_dict_file
from util.image import save_image, to_uint8

_spec = importlib.util.spec_from_file_location("_pix2pix_tests", Path(__file__).with_name("test_pix2pix_model.py"))
p2p = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(p2p)

LOSS_NAMES = ["G_GAN", "G_L1", "D_real", "D_fake"]
VISUALS = ["real_A", "real_B_rgb", "fake_B_rgb"]
TINY = ["--model", "colorization", "--gpu_ids", "-1", "--netG", "resnet_6blocks", "--ngf", "4", "--ndf", "4",
        "--load_size", "32", "--crop_size", "32", "--num_threads", "0", "--display_id", "0", "--n_epochs", "1",
        "--n_epochs_decay", "1", "--print_freq", "2", "--display_freq", "2", "--seed", "2"]


@pytest.fixture
def colour(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for i in range(4):
            save_image(tmp_path / "data" / split / f"c{i}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    return tmp_path / "data"


def parse_train(root, ck, *extra):
    return TrainOptions().parse(["--dataroot", str(root), "--checkpoints_dir", str(ck), "--name", "run", *TINY,
                                 *extra])


def test_defaults_are_pix2pix_plus_colorization(colour, tmp_path):
    opt = TrainOptions().parse(["--dataroot", str(colour), "--model", "colorization", "--gpu_ids", "-1"], save=False)
    assert (opt.dataset_mode, opt.input_nc, opt.output_nc, opt.direction) == ("colorization", 1, 2, "AtoB")
    assert (opt.netG, opt.norm, opt.gan_mode, opt.pool_size, opt.lambda_L1) == ("unet_256", "batch", "vanilla", 0,
                                                                                  100.0)


@pytest.mark.parametrize("flags, match", [
    (["--input_nc", "3"], r"--input_nc 3 \(needs 1\)"),
    (["--output_nc", "3"], r"--output_nc 3 \(needs 2\)"),
    (["--direction", "BtoA"], r"--direction BtoA \(needs AtoB\)"),
])
def test_wrong_channels_or_direction_is_a_one_line_error(colour, tmp_path, capsys, flags, match):
    import re

    import train as train_cli
    from models import create_model

    with pytest.raises(ValueError, match=match):
        create_model(parse_train(colour, tmp_path, *flags))
    import engine.training

    rc = train_cli.main(["--dataroot", str(colour), "--checkpoints_dir", str(tmp_path), *TINY, *flags])
    err = capsys.readouterr().err.strip()
    flag_status = 2 if hasattr(engine.training, "FlagError") else 1  # setup errors a flag fixes exit 2 there
    assert rc == flag_status and len(err.splitlines()) == 1 and re.search(match, err) and "Traceback" not in err


def test_training_step_and_rgb_visuals(colour, tmp_path):
    from data import create_dataset
    from models import create_model

    opt = parse_train(colour, tmp_path, "--batch_size", "2", "--no_flip", "--serial_batches")
    model = create_model(opt)
    model.setup(opt)
    assert model.loss_names == LOSS_NAMES and model.visual_names == VISUALS and model.model_names == ["G", "D"]
    assert model.netD.model[0].weight.shape[1] == 3  # cat(L, ab)
    loader = create_dataset(opt)
    loader.set_epoch(1)
    batch = next(iter(loader))
    before = {n: {k: v.clone() for k, v in net.state_dict().items()} for n, net in model.networks()}
    model.set_input(batch)
    model.optimize_parameters()
    for name, net in model.networks():
        assert any(not torch.equal(v, before[name][k]) for k, v in net.state_dict().items()), name
    losses = model.get_current_losses()
    assert list(losses) == LOSS_NAMES and all(math.isfinite(v) for v in losses.values())
    model.compute_visuals()
    visuals = model.get_current_visuals()
    assert list(visuals) == VISUALS
    assert visuals["real_A"].shape == (2, 1, 32, 32)
    assert visuals["real_B_rgb"].shape == visuals["fake_B_rgb"].shape == (2, 3, 32, 32)
    # the ground-truth visual is the original colour image (every image of the batch)
    from util.image import load_image

    originals = np.stack([load_image(p) for p in batch["A_paths"]])
    np.testing.assert_array_equal(to_uint8(visuals["real_B_rgb"]), originals)


def test_training_run_resume_and_test_page(colour, tmp_path):
    import test as test_cli

    straight = run_training(parse_train(colour, tmp_path / "a"))
    hook = lambda p: os.kill(os.getpid(), signal.SIGINT) if p.total_iters == 3 else None  # noqa: E731
    first = run_training(parse_train(colour, tmp_path / "b"), on_step=hook)
    assert first.stopped_by == "SIGINT"
    resumed = run_training(parse_train(colour, tmp_path / "b", "--continue_train"))
    assert resumed.progress.total_iters == straight.progress.total_iters == 8
    for name in ("G", "D"):
        a = load_state_dict_file(tmp_path / "a" / "run" / f"latest_net_{name}.pth")
        b = load_state_dict_file(tmp_path / "b" / "run" / f"latest_net_{name}.pth")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert load_checkpoint(tmp_path / "b" / "run" / "latest_state.pth")["total_iters"] == 8
    images = sorted(p.name for p in (tmp_path / "a" / "run" / "web" / "images").iterdir())
    assert images == [f"epoch{e:03d}_{v}.png" for e in (1, 2) for v in sorted(VISUALS)]

    rc = test_cli.main(["--dataroot", str(colour), "--checkpoints_dir", str(tmp_path / "a"), "--name", "run",
                        "--model", "colorization", "--netG", "resnet_6blocks", "--ngf", "4", "--gpu_ids", "-1",
                        "--results_dir", str(tmp_path / "res"), "--num_test", "1"])
    assert rc == 0
    out = sorted(p.name for p in (tmp_path / "res" / "run" / "test_latest" / "images").iterdir())
    assert out == [f"c0_{v}.png" for v in sorted(VISUALS)]


@pytest.mark.parametrize("counters", [True, False], ids=["with_num_batches_tracked", "without"])
def test_reference_colorization_checkpoint_loads(colour, tmp_path, counters):
    from models import create_model

    g = p2p.fabricate(p2p.layouts.unet_layout(8, "batch", ngf=4, in_nc=1, out_nc=2), seed=4, counters=counters)
    run = tmp_path / "ck" / "run"
    run.mkdir(parents=True)
    torch.save(g, run / "latest_net_G.pth")
    opt = TestOptions().parse(["--dataroot", str(colour), "--checkpoints_dir", str(tmp_path / "ck"), "--name",
                               "run", "--model", "colorization", "--ngf", "4", "--gpu_ids", "-1"], save=False)
    model = create_model(opt)
    model.setup(opt)
    own = model.netG.state_dict()
    assert all(torch.equal(own[k], v) for k, v in g.items())
