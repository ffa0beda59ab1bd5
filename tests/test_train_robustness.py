"""train.py/test.py on awkward inputs: too-thin aligned pairs, mixed sizes without a crop, resume
with other flags, grey colorization data (tiny generated images, CPU, seconds)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import test as test_cli
import train as train_cli
from conftest import TINY_TRAIN
from models import networks
from util.checkpoint import load_checkpoint, save_state_dict
from util.image import save_image


def _aligned(root, n=4, w=36, h=36, split="train"):
    """``root/<split>`` with ``n`` side-by-side pairs of ``w`` x ``h`` halves."""
    rng = np.random.default_rng(0)
    for i in range(n):
        save_image(root / split / f"pair{i}.png", rng.integers(0, 256, (h, 2 * w, 3), dtype=np.uint8))
    return root


def _thin(root, split="train", name="zz_thin.png"):
    """A 1-pixel-wide image, sorted after the pairs: it cannot hold an A and a B half."""
    path = root / split / name
    save_image(path, np.full((36, 1, 3), 90, np.uint8))
    return path


PIX2PIX = ["--model", "pix2pix", "--dataset_mode", "aligned", "--norm", "instance", "--serial_batches"]


# --------------------------------------------------------------------------- 1: too-thin aligned images
def test_thin_aligned_image_is_skipped_and_named_with_skip_bad_images(tmp_path, caplog):
    from engine.training import run_training
    from options.train_options import TrainOptions

    root = _aligned(tmp_path / "data")
    thin = _thin(root)
    caplog.set_level("WARNING")
    opt = TrainOptions().parse(["--dataroot", str(root), "--name", "run", "--checkpoints_dir", str(tmp_path / "ck"),
                                *TINY_TRAIN, *PIX2PIX, "--n_epochs_decay", "0", "--skip_bad_images"], save=False)
    result = run_training(opt)
    reason = f"{thin}: aligned images hold A and B side by side, but this one is only 1 pixel wide"
    assert result.skipped == [reason]
    assert (result.progress.epoch, result.progress.total_iters) == (2, 4)
    assert any(reason in r.getMessage() for r in caplog.records)
    assert (tmp_path / "ck" / "run" / "latest_state.pth").is_file()


def test_thin_aligned_image_stops_training_with_one_line_after_saving_latest(tmp_path, capsys):
    root = _aligned(tmp_path / "data")
    thin = _thin(root)
    ck = tmp_path / "ck"
    rc = train_cli.main(["--dataroot", str(root), "--name", "run", "--checkpoints_dir", str(ck), *TINY_TRAIN,
                         *PIX2PIX])
    err = capsys.readouterr().err
    assert rc == 1
    assert [line for line in err.splitlines() if "error" in line.lower() or "Traceback" in line] == [
        f"error: {thin}: aligned images hold A and B side by side, but this one is only 1 pixel wide"]
    state = load_checkpoint(ck / "run" / "latest_state.pth")
    assert (state["epoch"], state["total_iters"]) == (1, 4)


def test_thin_aligned_image_is_reported_by_test_py_and_the_page_is_written(tmp_path, capsys, caplog):
    root = _aligned(tmp_path / "data", n=2, split="test")
    thin = _thin(root, split="test")
    ck, res = tmp_path / "ck", tmp_path / "res"
    save_state_dict(networks.define_G(3, 3, 4, "resnet_6blocks", "instance").state_dict(),
                    ck / "run" / "latest_net_G.pth")
    rc = test_cli.main(["--dataroot", str(root), "--name", "run", "--checkpoints_dir", str(ck), "--results_dir",
                        str(res), "--model", "pix2pix", "--netG", "resnet_6blocks", "--ngf", "4", "--norm",
                        "instance", "--gpu_ids", "-1", "--load_size", "32", "--crop_size", "32"])
    out = capsys.readouterr().out
    page = res / "run" / "test_latest" / "index.html"
    assert rc == 1
    assert f"results: {page} (2 done, 1 failed" in out
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"failed: {thin}: aligned images hold A and B side by side, but this one is only 1 pixel wide"]
    assert page.read_text().count("<img") == 3 * 2  # real_A, fake_B, real_B of the two good pairs


# --------------------------------------------------------------------------- 2: mixed sizes, no crop, batches
def test_mixed_sizes_with_preprocess_none_and_batches_exit_2_before_training(tiny_dataset, tmp_path, capsys):
    odd = tiny_dataset / "trainB" / "img9.png"
    save_image(odd, np.full((20, 24, 3), 90, np.uint8))
    ck = tmp_path / "ck"
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--name", "run", "--checkpoints_dir", str(ck),
                         *TINY_TRAIN, "--preprocess", "none", "--batch_size", "2"])
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("epoch ")]
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: --batch_size 2 stacks 'B' images of one size")
    assert str(tiny_dataset / "trainB" / "img0.png") in err[0] and str(odd) in err[0]
    assert "--batch_size 1" in err[0] and "resize_and_crop" in err[0]
    assert not (ck / "run").exists()  # nothing written


# --------------------------------------------------------------------------- 3: resume with other flags
def _train_one_epoch(root, ck, *extra):
    rc = train_cli.main(["--dataroot", str(root), "--name", "run", "--checkpoints_dir", str(ck), *TINY_TRAIN,
                         "--n_epochs_decay", "0", "--max_dataset_size", "2", *extra])
    assert rc == 0


@pytest.mark.slow
def test_continue_train_refuses_flags_that_change_what_is_trained(tiny_dataset, tmp_path, capsys):
    ck = tmp_path / "ck"
    _train_one_epoch(tiny_dataset, ck)
    saved = (ck / "run" / "train_opt.json").read_text()
    capsys.readouterr()
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--name", "run", "--checkpoints_dir", str(ck),
                         *TINY_TRAIN, "--n_epochs", "2", "--n_epochs_decay", "0", "--continue_train",
                         "--direction", "BtoA", "--lambda_A", "5", "--no_flip"])
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("epoch ")]
    assert rc == 2
    assert len(err) == 1
    assert "--direction BtoA (saved: AtoB)" in err[0] and "--lambda_A 5.0 (saved: 10.0)" in err[0]
    assert "no_flip" not in err[0]  # augmentation may change on resume
    assert (ck / "run" / "train_opt.json").read_text() == saved  # a refused start writes nothing

    # flags that may change: the schedule, the batch size, the loader, the display
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--name", "run", "--checkpoints_dir", str(ck),
                         *TINY_TRAIN, "--n_epochs", "2", "--n_epochs_decay", "0", "--continue_train",
                         "--max_dataset_size", "2", "--batch_size", "2", "--print_freq", "1", "--no_flip"])
    assert rc == 0
    assert load_checkpoint(ck / "run" / "latest_state.pth")["epoch"] == 3


def _opt(root, ck, *extra):
    from options.train_options import TrainOptions

    return TrainOptions().parse(["--dataroot", str(root), "--name", "run", "--checkpoints_dir", str(ck),
                                 *TINY_TRAIN, *extra], save=False)


def test_check_resume_flags_names_each_difference_saved_vs_given(tiny_dataset, tmp_path):
    from engine.checkpoint import check_resume_flags
    from options.train_options import TrainOptions
    from util.cli import FlagError

    ck = tmp_path / "ck"
    options = TrainOptions()
    saved = options.parse(["--dataroot", str(tiny_dataset), "--name", "run", "--checkpoints_dir", str(ck),
                           *TINY_TRAIN], save=False)
    options.save_options(saved, options.parser)
    check_resume_flags(_opt(tiny_dataset, ck, "--continue_train"))  # same flags
    check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--n_epochs", "9", "--lr", "0.001",
                            "--batch_size", "3", "--num_threads", "1", "--save_epoch_freq", "1", "--seed", "4"))
    check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--n_layers_D", "5"))  # unused with --netD basic
    with pytest.raises(FlagError) as info:
        check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--ngf", "8", "--input_nc", "1",
                                "--norm", "batch", "--use_dropout", "--crop_size", "28"))
    message = str(info.value)
    assert "\n" not in message and str(ck / "run" / "train_opt.json") in message
    for part in ("--ngf 8 (saved: 4)", "--input_nc 1 (saved: 3)", "--norm batch (saved: instance)",
                 "--no_dropout False (saved: True)", "--crop_size 28 (saved: 32)"):
        assert part in message

    # a run folder with only the .txt table (e.g. the reference's) is compared as printed
    (ck / "run" / "train_opt.json").unlink()
    with pytest.raises(FlagError, match=r"--netG resnet_9blocks \(saved: resnet_6blocks\)"):
        check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--netG", "resnet_9blocks"))
    check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--lr", "0.01"))
    # no options file at all (weights copied in by hand): nothing to compare
    (ck / "run" / "train_opt.txt").unlink()
    check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--netG", "resnet_9blocks"))


def test_check_resume_flags_skips_flags_the_saved_file_lacks(tiny_dataset, tmp_path):
    from engine.checkpoint import check_resume_flags

    ck = tmp_path / "ck"
    (ck / "run").mkdir(parents=True)
    (ck / "run" / "train_opt.json").write_text(json.dumps({"model": "cycle_gan", "ngf": 4}))
    check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--ndf", "8"))


def test_check_resume_flags_ignores_test_py_options(tiny_dataset, tmp_path):
    from engine.checkpoint import check_resume_flags
    from util.cli import FlagError

    ck = tmp_path / "ck"
    (ck / "run").mkdir(parents=True)
    # test.py saves <phase>_opt.json in the run folder too: a run trained with --phase test must not read it
    (ck / "run" / "test_opt.json").write_text(json.dumps({"model": "test", "isTrain": False, "ngf": 4}))
    (ck / "run" / "train_opt.json").write_text(json.dumps({"model": "cycle_gan", "isTrain": True, "ngf": 8}))
    with pytest.raises(FlagError, match=r"train_opt\.json\): --ngf 4 \(saved: 8\);"):
        check_resume_flags(_opt(tiny_dataset, ck, "--continue_train", "--phase", "test"))
