"""Options: reference names and defaults, choices at parse time, validation naming the flags."""
from __future__ import annotations

import json

import pytest
import torch

from options.test_options import TestOptions
from options.train_options import TrainOptions


def parse_train(tmp_path, *extra):
    return TrainOptions().parse(["--dataroot", str(tmp_path), "--checkpoints_dir", str(tmp_path / "ck"), *extra])


def test_reference_defaults(tmp_path):
    opt = parse_train(tmp_path)
    expected = dict(name="experiment_name", model="cycle_gan", input_nc=3, output_nc=3, ngf=64, ndf=64,
                    netD="basic", netG="resnet_9blocks", n_layers_D=3, norm="instance", init_type="normal",
                    init_gain=0.02, no_dropout=True, dataset_mode="unaligned", direction="AtoB", num_threads=4,
                    batch_size=1, load_size=286, crop_size=256, max_dataset_size=float("inf"),
                    preprocess="resize_and_crop", display_winsize=256, epoch="latest", load_iter=0, suffix="",
                    display_freq=400, display_ncols=4, display_id=1, display_server="http://localhost",
                    display_env="main", display_port=8097, update_html_freq=1000, print_freq=100,
                    save_latest_freq=5000, save_epoch_freq=5, epoch_count=1, phase="train", n_epochs=100,
                    n_epochs_decay=100, beta1=0.5, lr=0.0002, gan_mode="lsgan", pool_size=50, lr_policy="linear",
                    lr_decay_iters=50, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5,
                    wandb_project_name="CycleGAN-and-pix2pix", seed=0, name_state_dict_init="init.pth",
                    state_dict_dir="stateDict")
    for key, value in expected.items():
        assert getattr(opt, key) == value, key
    assert opt.isTrain is True


def test_gpu_ids_cpu_and_device(tmp_path):
    opt = parse_train(tmp_path, "--gpu_ids", "-1")
    assert opt.gpu_ids == [] and opt.device == torch.device("cpu")
    if not torch.cuda.is_available():
        opt = parse_train(tmp_path)  # default '0' on a machine without CUDA -> CPU with an info line
        assert opt.gpu_ids == [] and opt.device == torch.device("cpu")
        with pytest.raises(SystemExit):
            parse_train(tmp_path, "--gpu_ids", "0")


@pytest.mark.parametrize("flag, value, valid", [
    ("--netG", "bogus", "resnet_9blocks"), ("--norm", "sync_batch", "instance"), ("--gan_mode", "hinge", "wgangp"),
    ("--lr_policy", "exp", "cosine"), ("--preprocess", "zoom", "scale_width"), ("--direction", "up", "BtoA"),
    ("--netD", "huge", "pixel"), ("--init_type", "zeros", "orthogonal"), ("--model", "pix3pix", "cycle_gan"),
    ("--dataset_mode", "paired", "unaligned"),
])
def test_bad_choice_fails_at_parse_time_naming_flag_and_choices(tmp_path, capsys, flag, value, valid):
    with pytest.raises(SystemExit) as info:
        parse_train(tmp_path, flag, value)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and value in err and valid in err


@pytest.mark.parametrize("args, message", [
    (["--crop_size", "300"], "--crop_size (300) must be <= --load_size (286)"),
    (["--norm", "syncbatch"], "--norm syncbatch"),
    (["--netG", "unet_256", "--crop_size", "200", "--load_size", "286"], "multiples of 256"),
    (["--batch_size", "0"], "must be >= 1"),
    (["--suffix", "{nope}"], "--suffix"),
])
def test_validation_errors_name_the_flags(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        parse_train(tmp_path, *args)
    assert message in capsys.readouterr().err


def test_suffix_dropout_and_saved_options(tmp_path):
    opt = parse_train(tmp_path, "--name", "run", "--suffix", "{netG}_size{load_size}", "--use_dropout",
                      "--max_dataset_size", "7")
    assert opt.name == "run_resnet_9blocks_size286"
    assert opt.no_dropout is False and opt.max_dataset_size == 7
    text = (tmp_path / "ck" / opt.name / "train_opt.txt").read_text()
    assert "use_dropout: True" in text and "[default: False]" in text
    saved = json.loads((tmp_path / "ck" / opt.name / "train_opt.json").read_text())
    assert saved["netG"] == "resnet_9blocks" and saved["device"] == "cpu" and saved["max_dataset_size"] == 7


def test_test_options_defaults(tmp_path):
    opt = TestOptions().parse(["--dataroot", str(tmp_path), "--checkpoints_dir", str(tmp_path / "ck")])
    assert opt.model == "test" and opt.dataset_mode == "single" and opt.load_size == 256
    assert (opt.num_threads, opt.batch_size, opt.serial_batches, opt.no_flip) == (0, 1, True, True)
    assert opt.no_dropout is False and opt.model_suffix == "" and opt.results_dir == "./results/"
    assert opt.num_test == 50 and opt.isTrain is False
    assert (tmp_path / "ck" / "experiment_name" / "test_opt.txt").is_file()


def test_model_test_refused_for_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_train(tmp_path, "--model", "test")
    assert "test.py only" in capsys.readouterr().err
