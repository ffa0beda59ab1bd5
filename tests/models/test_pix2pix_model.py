"""pix2pix: reference defaults, names, a training step, the shared training loop (resume, SIGINT,
HTML, visdom, DDP), fine-tuning init, and reference-format checkpoints through test.py and pixelize.py.

Reference checkpoints are fabricated from the documented layouts in test_networks.py (docs/compatibility.md).
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT, assert_identical, assert_same_resume_state, run_torchrun
from engine.training import run_training
from models.networks import define_G
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util.checkpoint import load_checkpoint, load_state_dict_file
from util.image import save_image

_spec = importlib.util.spec_from_file_location("_reference_layouts", Path(__file__).with_name("test_networks.py"))
layouts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layouts)

LOSS_NAMES = ["G_GAN", "G_L1", "D_real", "D_fake"]
VISUALS = ["real_A", "fake_B", "real_B"]
#: A tiny, fast CPU pix2pix (the reference defaults unet_256/batch are kept where a test says so).
TINY = ["--model", "pix2pix", "--gpu_ids", "-1", "--netG", "resnet_6blocks", "--ngf", "4", "--ndf", "4",
        "--load_size", "32", "--crop_size", "32", "--num_threads", "0", "--display_id", "0", "--n_epochs", "1",
        "--n_epochs_decay", "1", "--print_freq", "2", "--display_freq", "2"]


def make_aligned_dataset(root: Path, n: int = 4, size: int = 32, seed: int = 0) -> Path:
    """train/ and test/ with ``n`` A|B pairs (A: smooth colour ramps, B: the same quantised)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for split in ("train", "test"):
        for i in range(n):
            base = rng.uniform(40, 215, 3)
            a = np.clip(base + 40 * np.sin(xx[..., None] / (2 + i) + rng.uniform(0, 6, 3)), 0, 255).astype(np.uint8)
            b = (a // 64 * 64 + 32).astype(np.uint8)
            save_image(root / split / f"pair{i}.png", np.concatenate([a, b], axis=1))
    return root


@pytest.fixture
def aligned(tmp_path) -> Path:
    return make_aligned_dataset(tmp_path / "data")


def parse_train(dataroot, ck, *extra):
    return TrainOptions().parse(["--dataroot", str(dataroot), "--checkpoints_dir", str(ck), "--name", "run",
                                 *TINY, "--seed", "5", *extra])


def train(dataroot, ck, *extra, on_step=None):
    return run_training(parse_train(dataroot, ck, *extra), on_step=on_step)


def weights(ck: Path, prefix: str = "latest") -> dict[str, dict[str, torch.Tensor]]:
    return {n: load_state_dict_file(ck / "run" / f"{prefix}_net_{n}.pth") for n in ("G", "D")}


def fabricate(layout, seed: int = 0, counters: bool = True) -> "OrderedDict[str, torch.Tensor]":
    """Random tensors with a documented layout's keys and shapes, like a reference checkpoint."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            if counters:
                sd[key] = torch.tensor(4321, dtype=torch.long)
        elif key.endswith("running_var"):
            sd[key] = torch.rand(shape, generator=g) + 0.5
        else:
            sd[key] = torch.randn(shape, generator=g) * 0.1
    return sd


# ----------------------------------------------------------------------------------------------
# Options and structure
# ----------------------------------------------------------------------------------------------

def test_reference_defaults_train_and_test(aligned, tmp_path):
    opt = TrainOptions().parse(["--dataroot", str(aligned), "--checkpoints_dir", str(tmp_path), "--model",
                                "pix2pix", "--gpu_ids", "-1"], save=False)
    assert (opt.netG, opt.norm, opt.dataset_mode, opt.no_dropout) == ("unet_256", "batch", "aligned", False)
    assert (opt.gan_mode, opt.pool_size, opt.lambda_L1) == ("vanilla", 0, 100.0)
    opt = TestOptions().parse(["--dataroot", str(aligned), "--checkpoints_dir", str(tmp_path), "--model",
                               "pix2pix", "--gpu_ids", "-1"], save=False)
    assert (opt.netG, opt.norm, opt.dataset_mode) == ("unet_256", "batch", "aligned")
    assert not hasattr(opt, "lambda_L1")
    # explicit flags win over the model's defaults
    opt = TrainOptions().parse(["--dataroot", str(aligned), "--model", "pix2pix", "--gpu_ids", "-1", "--gan_mode",
                                "lsgan", "--norm", "instance", "--lambda_L1", "10"], save=False)
    assert (opt.gan_mode, opt.norm, opt.lambda_L1) == ("lsgan", "instance", 10.0)


def test_negative_lambda_is_a_parse_error(aligned, capsys):
    with pytest.raises(SystemExit) as exc:
        TrainOptions().parse(["--dataroot", str(aligned), "--model", "pix2pix", "--lambda_L1", "-1"], save=False)
    assert exc.value.code == 2 and "--lambda_L1" in capsys.readouterr().err


def test_names_and_conditional_discriminator(aligned, tmp_path):
    from models import create_model

    model = create_model(parse_train(aligned, tmp_path, "--input_nc", "1", "--output_nc", "3"))
    assert model.loss_names == LOSS_NAMES and model.visual_names == VISUALS and model.model_names == ["G", "D"]
    assert model.netD.model[0].weight.shape == (4, 1 + 3, 4, 4)  # D sees cat(A, B)
    assert model.netG.model[1].weight.shape[1] == 1
    assert [type(o).__name__ for o in model.optimizers] == ["Adam", "Adam"]
    test_opt = TestOptions().parse(["--dataroot", str(aligned), "--checkpoints_dir", str(tmp_path), "--model",
                                    "pix2pix", "--gpu_ids", "-1"], save=False)
    test_model = create_model(test_opt)
    assert test_model.model_names == ["G"] and not hasattr(test_model, "netD")


# ----------------------------------------------------------------------------------------------
# One training step
# ----------------------------------------------------------------------------------------------

def _batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    return {"A": a, "B": -a, "A_paths": [f"a{i}.png" for i in range(n)], "B_paths": [f"a{i}.png" for i in range(n)]}


def test_training_step_updates_both_networks_with_finite_reference_losses(aligned, tmp_path):
    from models import create_model

    model = create_model(parse_train(aligned, tmp_path))
    model.setup(model.opt)
    before = {n: {k: v.clone() for k, v in net.state_dict().items()} for n, net in model.networks()}
    batch = _batch()
    model.set_input(batch)
    model.optimize_parameters()
    for name, net in model.networks():
        changed = [k for k, v in net.state_dict().items()
                   if k.endswith("weight") and not torch.equal(v, before[name][k])]
        assert changed, f"net{name} did not change"
    losses = model.get_current_losses()
    assert list(losses) == LOSS_NAMES and all(math.isfinite(v) for v in losses.values())
    # G_L1 is lambda_L1 x the mean absolute difference between fake_B and real_B
    expected = float(torch.nn.functional.l1_loss(model.fake_B.detach(), batch["B"]) * 100.0)
    assert losses["G_L1"] == pytest.approx(expected, rel=1e-6)
    # vanilla GAN: BCE-with-logits of an untrained D is near log 2
    assert all(0.1 < losses[k] < 3.0 for k in ("G_GAN", "D_real", "D_fake"))
    visuals = model.get_current_visuals()
    assert list(visuals) == VISUALS and all(v.shape == (2, 3, 32, 32) for v in visuals.values())


def test_direction_btoa_swaps_the_pair(aligned, tmp_path):
    from models import create_model

    model = create_model(parse_train(aligned, tmp_path, "--direction", "BtoA"))
    batch = _batch()
    model.set_input(batch)
    assert torch.equal(model.real_A, batch["B"]) and torch.equal(model.real_B, batch["A"])


def test_amp_on_cpu_uses_bf16_where_supported(aligned, tmp_path, monkeypatch):
    from models import amp, create_model

    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: True)
    model = create_model(parse_train(aligned, tmp_path, "--amp"))
    assert model.amp_dtype == torch.bfloat16 and model.scaler is None


# ----------------------------------------------------------------------------------------------
# The shared training loop
# ----------------------------------------------------------------------------------------------

def test_training_run_writes_reference_names(aligned, tmp_path):
    result = train(aligned, tmp_path, "--save_epoch_freq", "1")
    assert result.stopped_by is None and result.progress.total_iters == 8
    run = tmp_path / "run"
    for prefix in ("latest", "1", "2"):
        assert (run / f"{prefix}_net_G.pth").is_file() and (run / f"{prefix}_net_D.pth").is_file()
    assert not list(run.glob("*_net_G_A.pth"))
    images = sorted(p.name for p in (run / "web" / "images").iterdir())
    assert images == [f"epoch{e:03d}_{v}.png" for e in (1, 2) for v in sorted(VISUALS)]
    records = [json.loads(line) for line in (run / "loss_log.jsonl").read_text().splitlines()]
    assert [r["total_iters"] for r in records] == [2, 4, 6, 8]
    assert all(all(math.isfinite(r[name]) for name in LOSS_NAMES) for r in records)
    assert "G_GAN:" in (run / "loss_log.txt").read_text() and "D_fake:" in (run / "loss_log.txt").read_text()
    g = load_state_dict_file(run / "latest_net_G.pth")
    assert all(not k.startswith("module.") for k in g) and "model.2.running_mean" in g  # batch norm, reference keys


def _sigint_at(total_iters: int):
    def hook(progress):
        if progress.total_iters == total_iters:
            os.kill(os.getpid(), signal.SIGINT)
    return hook


def test_sigint_mid_epoch_then_resume_is_bit_identical(aligned, tmp_path):
    straight = train(aligned, tmp_path / "a")
    first = train(aligned, tmp_path / "b", on_step=_sigint_at(6))
    assert first.stopped_by == "SIGINT" and first.progress.total_iters == 6
    state = load_checkpoint(tmp_path / "b" / "run" / "latest_state.pth")
    assert (state["epoch"], state["epoch_iter"], state["total_iters"]) == (2, 2, 6)
    resumed = train(aligned, tmp_path / "b", "--continue_train")
    assert resumed.stopped_by is None and resumed.progress.total_iters == straight.progress.total_iters == 8
    assert_identical(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert_same_resume_state(tmp_path / "a" / "run", tmp_path / "b" / "run")


def test_visdom_dashboard_gets_pix2pix_visuals_and_losses(aligned, tmp_path, monkeypatch):
    import util.visualizer as viz_mod

    calls = []

    class Fake:  # the visdom client calls the Visualizer makes
        def images(self, *a, **k):
            calls.append(("images", a, k))

        def image(self, *a, **k):
            calls.append(("image", a, k))

        def text(self, *a, **k):
            calls.append(("text", a, k))

        def line(self, *a, **k):
            calls.append(("line", a, k))

    monkeypatch.setattr(viz_mod, "_make_visdom_client", lambda server, port, env: Fake())
    train(aligned, tmp_path, "--display_id", "1", "--n_epochs_decay", "0", "--display_winsize", "32")
    grids = [a[0] for name, a, k in calls if name == "images"]
    assert len(grids) == 2 and grids[0].shape == (3, 3, 32, 32)  # one row: real_A, fake_B, real_B
    labels = [a[0] for name, a, k in calls if name == "text"]
    assert all(f"<td>{v}</td>" in labels[0] for v in VISUALS)
    legends = [k["opts"]["legend"] for name, a, k in calls if name == "line" and "legend" in k.get("opts", {})]
    assert LOSS_NAMES in legends


def test_fine_tuning_init_loads_into_G(aligned, tmp_path):
    from models import create_model

    init = define_G(3, 3, 4, "resnet_6blocks", "batch", True)
    with torch.no_grad():
        for p in init.parameters():
            p.add_(0.5)
    init_dir = tmp_path / "sd"
    init_dir.mkdir()
    torch.save(init.state_dict(), init_dir / "mine.pth")
    opt = parse_train(aligned, tmp_path, "--state_dict_dir", str(init_dir), "--name_state_dict_init", "mine.pth")
    model = create_model(opt)
    model.setup(opt)
    for k, v in init.state_dict().items():
        assert torch.equal(model.netG.state_dict()[k], v), k
    # a generator that does not fit names the file and the flags
    bad = define_G(3, 3, 8, "resnet_6blocks", "batch", True)
    torch.save(bad.state_dict(), init_dir / "wide.pth")
    opt = parse_train(aligned, tmp_path, "--state_dict_dir", str(init_dir), "--name_state_dict_init", "wide.pth")
    model = create_model(opt)
    with pytest.raises(ValueError, match=r"wide\.pth does not fit the generator built from --netG resnet_6blocks "
                                         r"--ngf 4 --norm batch"):
        model.setup(opt)


@pytest.mark.slow
def test_ddp_two_ranks_on_cpu(aligned, tmp_path):
    ck = tmp_path / "ck"
    args = ["--dataroot", str(aligned), "--checkpoints_dir", str(ck), "--name", "run", *TINY]
    result = run_torchrun(ROOT / "train.py", args, 2)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "DDP check: weights identical on all 2 ranks" in out
    assert load_checkpoint(ck / "run" / "latest_state.pth")["world_size"] == 2
    assert set(weights(ck)) == {"G", "D"} and all("module." not in k for k in weights(ck)["G"])


# ----------------------------------------------------------------------------------------------
# Reference checkpoints
# ----------------------------------------------------------------------------------------------

def test_reference_layouts_have_the_documented_size():
    full = layouts.unet_layout(8, "batch", ngf=64)
    assert len(full) == 82
    assert full["model.model.0.weight"] == (64, 3, 4, 4) and "model.model.0.bias" not in full
    assert full["model.model.1.model.2.num_batches_tracked"] == ()
    assert full["model.model.3.weight"] == (128, 3, 4, 4) and full["model.model.3.bias"] == (3,)
    assert len(layouts.nlayer_layout(3, "batch", ndf=64, in_nc=6)) == 22


@pytest.mark.parametrize("counters", [True, False], ids=["with_num_batches_tracked", "without"])
def test_reference_pix2pix_run_resumes_and_tests(aligned, tmp_path, counters):
    """A reference run folder (weights only: latest_net_G/D.pth) continues training and runs test.py."""
    import test as test_cli

    run = tmp_path / "ck" / "run"
    run.mkdir(parents=True)
    g = fabricate(layouts.unet_layout(8, "batch", ngf=4), seed=1, counters=counters)
    d = fabricate(layouts.nlayer_layout(3, "batch", ndf=4, in_nc=6), seed=2, counters=counters)
    torch.save(g, run / "latest_net_G.pth")
    torch.save(d, run / "latest_net_D.pth")
    rc = test_cli.main(["--dataroot", str(aligned), "--checkpoints_dir", str(tmp_path / "ck"), "--name", "run",
                        "--model", "pix2pix", "--ngf", "4", "--gpu_ids", "-1", "--results_dir",
                        str(tmp_path / "res"), "--num_test", "2", "--eval"])
    assert rc == 0
    images = sorted(p.name for p in (tmp_path / "res" / "run" / "test_latest" / "images").iterdir())
    assert images == [f"pair{i}_{v}.png" for i in range(2) for v in sorted(VISUALS)]

    from models import create_model

    opt = TrainOptions().parse(["--dataroot", str(aligned), "--checkpoints_dir", str(tmp_path / "ck"), "--name",
                                "run", "--model", "pix2pix", "--ngf", "4", "--ndf", "4", "--gpu_ids", "-1",
                                "--continue_train", "--display_id", "0"], save=False)
    model = create_model(opt)
    model.setup(opt)
    for name, sd in (("G", g), ("D", d)):
        own = model.net(name).state_dict()
        for key, value in sd.items():
            assert torch.equal(own[key], value), f"{name}.{key}"


@pytest.mark.parametrize("counters", [True, False], ids=["with_num_batches_tracked", "without"])
def test_reference_generator_through_test_model_and_pixelize(aligned, tmp_path, counters):
    import pixelize
    import test as test_cli
    from models.inference import load_generator

    g = fabricate(layouts.unet_layout(8, "batch", ngf=4), seed=3, counters=counters)
    run = tmp_path / "ck" / "p2p_pretrained"
    run.mkdir(parents=True)
    torch.save(g, run / "latest_net_G.pth")
    photos = tmp_path / "photos"
    save_image(photos / "small.png", np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8))

    rc = test_cli.main(["--dataroot", str(photos), "--checkpoints_dir", str(tmp_path / "ck"), "--name",
                        "p2p_pretrained", "--model", "test", "--netG", "unet_256", "--norm", "batch", "--ngf", "4",
                        "--gpu_ids", "-1", "--results_dir", str(tmp_path / "res"), "--eval"])
    assert rc == 0
    fake = tmp_path / "res" / "p2p_pretrained" / "test_latest" / "images" / "small_fake.png"
    assert fake.is_file()

    net, config = load_generator(run / "latest_net_G.pth")
    assert config == dict(netG="unet_256", ngf=4, norm="batch", use_dropout=False, input_nc=3, output_nc=3)
    assert isinstance(net.model.model[1].model[2], torch.nn.BatchNorm2d) and not net.training
    assert torch.equal(net.state_dict()["model.model.1.model.2.running_var"],
                       g["model.model.1.model.2.running_var"])

    out = tmp_path / "pix"
    rc = pixelize.main(["--input", str(photos), "--output", str(out), "--model_path", str(run / "latest_net_G.pth"),
                        "--device", "cpu", "--pixel_size", "4", "--no_html", "--workers", "1"])
    assert rc == 0
    assert [p.name for p in out.rglob("*.png")] == ["small.png"]
