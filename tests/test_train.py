"""train.py and test.py end to end on a tiny generated dataset (CPU, a few iterations)."""
from __future__ import annotations

import json
import math
import socket

import numpy as np
import pytest
import torch
from PIL import Image

import test as test_cli
import train as train_cli
from conftest import TINY_TRAIN
from models import networks
from util.checkpoint import load_state_dict_file, save_state_dict


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resnet6_instance_keys(n_blocks: int = 6) -> set[str]:
    """Reference G keys (docs/compatibility.md): convs at 1,4,7; blocks conv_block.{1,5}; upconvs; last conv."""
    keys = {f"model.{i}.{p}" for i in (1, 4, 7) for p in ("weight", "bias")}
    keys |= {f"model.{10 + b}.conv_block.{c}.{p}" for b in range(n_blocks) for c in (1, 5) for p in ("weight", "bias")}
    keys |= {f"model.{i}.{p}" for i in (10 + n_blocks, 13 + n_blocks, 17 + n_blocks) for p in ("weight", "bias")}
    return keys


@pytest.mark.slow
def test_train_writes_every_artifact_then_test_uses_it(tiny_dataset, tmp_path, capsys, caplog):
    ck = tmp_path / "ck"
    port = free_port()  # nothing listens there: visdom must warn once and training must go on
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--name", "tiny", "--checkpoints_dir", str(ck),
                         *TINY_TRAIN, "--n_epochs_decay", "0", "--display_id", "1", "--display_port", str(port)])
    assert rc == 0
    run = ck / "tiny"
    # the reference would leave nothing here: 1 epoch, save_epoch_freq 5, 4 < save_latest_freq images
    for name in ("G_A", "G_B", "D_A", "D_B"):
        assert (run / f"latest_net_{name}.pth").is_file()
    assert (run / "latest_state.pth").is_file()
    sd = load_state_dict_file(run / "latest_net_G_A.pth")
    assert set(sd) == resnet6_instance_keys()
    assert all(t.device.type == "cpu" for t in sd.values())
    for f in ("train_opt.txt", "train_opt.json", "loss_log.txt", "loss_log.jsonl", "web/index.html"):
        assert (run / f).is_file(), f
    records = [json.loads(line) for line in (run / "loss_log.jsonl").read_text().splitlines()]
    assert len(records) == 2  # 4 images, --print_freq 2
    names = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
    for rec in records:
        assert all(math.isfinite(rec[n]) for n in names)
    log_lines = (run / "loss_log.txt").read_text().splitlines()
    assert log_lines[0].startswith("================ Training Loss (")
    assert sum(line.startswith("(epoch: 1, iters:") for line in log_lines) == 2
    web_images = sorted(p.name for p in (run / "web" / "images").iterdir())
    assert "epoch001_fake_B.png" in web_images and "epoch001_idt_A.png" in web_images
    visdom_warnings = [r for r in caplog.records if "visdom" in r.getMessage().lower() and r.levelname == "WARNING"]
    assert len(visdom_warnings) == 1

    # test.py, one direction, no renaming: --model test --model_suffix _A, any input size kept
    res = tmp_path / "res"
    rc = test_cli.main(["--dataroot", str(tiny_dataset / "testA"), "--name", "tiny", "--checkpoints_dir", str(ck),
                        "--results_dir", str(res), "--model", "test", "--model_suffix", "_A", "--netG",
                        "resnet_6blocks", "--ngf", "4", "--preprocess", "none", "--num_test", "3", "--gpu_ids", "-1"])
    assert rc == 0
    out = res / "tiny" / "test_latest"
    images = sorted(p.name for p in (out / "images").iterdir())
    assert images == [f"img{i}_{v}.png" for i in range(3) for v in ("fake", "real")]
    with Image.open(out / "images" / "img0_fake.png") as im:
        assert im.size == (40, 36)  # (width, height) of the 36x40 input: padded for the net, cropped back
    page = (out / "index.html").read_text()
    assert page.count("<img") == 6 and "img2_fake.png" in page

    # cycle_gan at test time shows all six visuals
    rc = test_cli.main(["--dataroot", str(tiny_dataset), "--name", "tiny", "--checkpoints_dir", str(ck),
                        "--results_dir", str(res), "--model", "cycle_gan", "--netG", "resnet_6blocks", "--ngf", "4",
                        "--num_test", "1", "--gpu_ids", "-1", "--epoch", "latest", "--phase", "test"])
    assert rc == 0
    assert {p.name for p in (out / "images").glob("img0_*_*.png")} == {
        f"img0_{v}.png" for v in ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B")}


def test_test_py_missing_checkpoint_names_suffix(tiny_dataset, tmp_path, capsys):
    ck = tmp_path / "ck"
    g = networks.define_G(3, 3, 4, "resnet_6blocks", "instance")
    save_state_dict(g.state_dict(), ck / "run" / "latest_net_G_A.pth")
    rc = test_cli.main(["--dataroot", str(tiny_dataset / "testA"), "--name", "run", "--checkpoints_dir", str(ck),
                        "--results_dir", str(tmp_path / "r"), "--model", "test", "--gpu_ids", "-1"])
    assert rc == 2  # a flag error (--model_suffix), found at setup
    err = capsys.readouterr().err
    assert "latest_net_G.pth not found" in err and "--model_suffix _A" in err
    assert not (tmp_path / "r").exists() and not (ck / "run" / "test_opt.txt").exists()  # a failed start: no trace


def _model(tmp_path, dataset, *extra):
    from models import create_model
    from options.train_options import TrainOptions

    opt = TrainOptions().parse(["--dataroot", str(dataset), "--checkpoints_dir", str(tmp_path / "ck"), *TINY_TRAIN,
                                *extra])
    model = create_model(opt)
    model.setup(opt)
    return model


def test_fine_tuning_hook_loads_init_state_dict(tiny_dataset, tmp_path):
    sd_dir = tmp_path / "sd"
    donor = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", True)  # saved WITH dropout layout
    save_state_dict(donor.state_dict(), sd_dir / "init.pth")
    model = _model(tmp_path, tiny_dataset, "--state_dict_dir", str(sd_dir))  # trains without dropout
    got = model.netG_A.state_dict()
    want = {k.replace("conv_block.6", "conv_block.5"): v for k, v in donor.state_dict().items()}
    assert set(got) == set(want)
    assert all(torch.equal(got[k], want[k]) for k in got)
    # G_B is untouched by the hook
    assert not torch.equal(model.netG_B.state_dict()["model.1.weight"], donor.state_dict()["model.1.weight"])


def test_fine_tuning_hook_default_absent_trains_from_scratch(tiny_dataset, tmp_path, caplog):
    caplog.set_level("INFO")
    _model(tmp_path, tiny_dataset, "--state_dict_dir", str(tmp_path / "empty"))
    assert any("from scratch" in r.getMessage() for r in caplog.records)


def test_fine_tuning_hook_errors_name_file_and_flags(tiny_dataset, tmp_path):
    sd_dir = tmp_path / "sd"
    with pytest.raises(ValueError, match=r"--name_state_dict_init: .*missing\.pth does not exist"):
        _model(tmp_path, tiny_dataset, "--state_dict_dir", str(sd_dir), "--name_state_dict_init", "missing.pth")
    save_state_dict(networks.define_G(3, 3, 8, "resnet_6blocks", "instance").state_dict(), sd_dir / "wide.pth")
    with pytest.raises(ValueError, match=r"wide\.pth does not fit the generator built from --netG resnet_6blocks "
                                         r"--ngf 4 --norm instance"):
        _model(tmp_path, tiny_dataset, "--state_dict_dir", str(sd_dir), "--name_state_dict_init", "wide.pth")


def test_train_cli_reports_bad_init_without_traceback(tiny_dataset, tmp_path, capsys):
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(tmp_path / "ck"), *TINY_TRAIN,
                         "--state_dict_dir", str(tmp_path), "--name_state_dict_init", "nope.pth"])
    assert rc == 2
    assert "error: --name_state_dict_init" in capsys.readouterr().err
    assert not list((tmp_path / "ck").glob("*/train_opt.*"))  # a failed start leaves no options file
    assert not list((tmp_path / "ck").glob("*/loss_log.*"))


def test_train_cli_empty_domain_folder(tmp_path, capsys):
    root = tmp_path / "d"
    from conftest import make_unaligned_dataset

    make_unaligned_dataset(root)
    for p in (root / "trainB").iterdir():
        p.unlink()
    rc = train_cli.main(["--dataroot", str(root), "--checkpoints_dir", str(tmp_path / "ck"), *TINY_TRAIN])
    assert rc == 2  # fixed with --dataroot
    assert "trainB" in capsys.readouterr().err


def test_train_and_test_cli_return_2_for_bad_flags(tiny_dataset, tmp_path, capsys):
    assert train_cli.main(["--dataroot", str(tiny_dataset), "--n_epochs", "-1"]) == 2
    assert "--n_epochs: must be >= 0, got -1" in capsys.readouterr().err
    assert test_cli.main(["--dataroot", str(tiny_dataset), "--num_test", "0"]) == 2
    assert train_cli.main(["--help"]) == 0


def test_wgangp_applies_the_gradient_penalty(tiny_dataset, tmp_path, monkeypatch):
    calls = []
    real_gp = networks.cal_gradient_penalty

    def spy(*args, **kwargs):
        penalty, grads = real_gp(*args, **kwargs)
        calls.append(float(penalty.detach()))
        return penalty, grads

    monkeypatch.setattr(networks, "cal_gradient_penalty", spy)
    model = _model(tmp_path, tiny_dataset, "--gan_mode", "wgangp")
    batch = {"A": torch.rand(1, 3, 32, 32) * 2 - 1, "B": torch.rand(1, 3, 32, 32) * 2 - 1,
             "A_paths": ["a"], "B_paths": ["b"]}
    model.set_input(batch)
    model.optimize_parameters()
    assert len(calls) == 2 and all(c > 0 for c in calls)  # D_A and D_B
    assert all(np.isfinite(v) for v in model.get_current_losses().values())


def test_identity_loss_needs_equal_channels(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match=r"--lambda_identity > 0 needs --input_nc == --output_nc \(got 1 and 3\)"):
        _model(tmp_path, tiny_dataset, "--input_nc", "1")


def test_amp_on_cpu_follows_the_cpu(tiny_dataset, tmp_path, monkeypatch):
    import torch

    from models import amp

    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: False)
    assert _model(tmp_path / "a", tiny_dataset, "--amp").amp_dtype is None  # float32, with a warning
    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: True)
    assert _model(tmp_path / "b", tiny_dataset, "--amp").amp_dtype == torch.bfloat16


def test_use_dropout_builds_dropout_layout(tiny_dataset, tmp_path):
    model = _model(tmp_path, tiny_dataset, "--use_dropout")
    assert "model.10.conv_block.6.weight" in model.netG_A.state_dict()


def test_unreadable_file_mid_run_saves_latest_then_reports_it(tiny_dataset, tmp_path, capsys):
    bad = tiny_dataset / "trainA" / "zz_bad.png"  # sorted last: reached after 4 good steps
    bad.write_text("not a picture")
    ck = tmp_path / "ck"
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--name", "run", "--checkpoints_dir", str(ck),
                         *TINY_TRAIN, "--serial_batches"])
    assert rc == 1
    assert f"error: {bad}: not an image file" in capsys.readouterr().err
    from util.checkpoint import load_checkpoint

    state = load_checkpoint(ck / "run" / "latest_state.pth")
    assert (state["epoch"], state["total_iters"]) == (1, 4)


def test_skip_bad_images_drops_the_batch_and_goes_on(tiny_dataset, tmp_path, caplog):
    from engine.training import run_training
    from options.train_options import TrainOptions

    bad = tiny_dataset / "trainA" / "img1_bad.png"  # sorted third: read in the middle of the epoch
    bad.write_text("not a picture")
    caplog.set_level("WARNING")
    opt = TrainOptions().parse(["--dataroot", str(tiny_dataset), "--name", "run", "--checkpoints_dir",
                                str(tmp_path / "ck"), *TINY_TRAIN, "--serial_batches", "--n_epochs_decay", "0",
                                "--skip_bad_images"])
    seen = []
    result = run_training(opt, on_step=lambda p: seen.append((p.epoch_iter, p.total_iters)))
    assert result.skipped == [f"{bad}: not an image file (unrecognised data)"]
    assert seen == [(1, 1), (2, 2), (4, 3), (5, 4)]  # 5 files: 4 trained, the position still moves past the bad one
    assert sum(f"{bad}: not an image file" in r.getMessage() for r in caplog.records) == 2  # as it happens + summary


def test_skip_bad_images_is_refused_under_ddp(tiny_dataset, monkeypatch, capsys):
    from options.train_options import TrainOptions
    from util import dist

    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    with pytest.raises(SystemExit) as info:
        TrainOptions().parse(["--dataroot", str(tiny_dataset), *TINY_TRAIN, "--skip_bad_images"], save=False)
    assert info.value.code == 2
    assert "--skip_bad_images works in one process only" in capsys.readouterr().err


def _tiny_generator(ck, netG="resnet_6blocks"):
    save_state_dict(networks.define_G(3, 3, 4, netG, "instance").state_dict(), ck / "run" / "latest_net_G.pth")


@pytest.mark.parametrize("netG", ["resnet_6blocks", "unet_128"])
def test_test_py_keeps_tiny_images_and_reports_bad_ones(tmp_path, capsys, caplog, netG):
    from util.image import save_image

    src = tmp_path / "in"
    sizes = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 300), (300, 2), (5, 7)]
    for h, w in sizes:
        save_image(src / f"im_{h}x{w}.png", np.full((h, w, 3), 90, np.uint8))
    (src / "im_bad.png").write_text("not a picture")
    ck, res = tmp_path / "ck", tmp_path / "res"
    _tiny_generator(ck, netG)
    rc = test_cli.main(["--dataroot", str(src), "--name", "run", "--checkpoints_dir", str(ck), "--results_dir",
                        str(res), "--netG", netG, "--ngf", "4", "--preprocess", "none", "--gpu_ids", "-1"])
    out, err = capsys.readouterr()
    assert rc == 1  # one input failed
    page = res / "run" / "test_latest" / "index.html"
    assert f"results: {page} ({len(sizes)} done, 1 failed" in out
    assert page.is_file() and page.read_text().count("<img") == 2 * len(sizes)
    for h, w in sizes:
        with Image.open(res / "run" / "test_latest" / "images" / f"im_{h}x{w}_fake.png") as im:
            assert im.size == (w, h)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"failed: {src / 'im_bad.png'}: not an image file (unrecognised data)"]
