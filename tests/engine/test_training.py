"""Training that survives interruption: exact resume, safe stops, kill -9 during a save."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, TINY_TRAIN, assert_identical, assert_same_resume_state, run_torchrun
from engine.training import run_training
from options.train_options import TrainOptions
from util.checkpoint import load_checkpoint, load_state_dict_file


def train(dataset, ck, *extra, on_step=None, epoch_count_given=False):
    opt = TrainOptions().parse(["--dataroot", str(dataset), "--checkpoints_dir", str(ck), "--name", "run",
                                *TINY_TRAIN, "--seed", "3", *extra])
    return run_training(opt, on_step=on_step, epoch_count_given=epoch_count_given)


def weights(ck: Path, prefix: str = "latest") -> dict[str, dict[str, torch.Tensor]]:
    return {n: load_state_dict_file(ck / "run" / f"{prefix}_net_{n}.pth") for n in ("G_A", "G_B", "D_A", "D_B")}


def sigint_at(total_iters: int):
    def hook(progress):
        if progress.total_iters == total_iters:
            os.kill(os.getpid(), signal.SIGINT)
    return hook


@pytest.mark.slow
def test_stop_after_epoch_one_and_resume_is_bit_identical(tiny_dataset, tmp_path):
    straight = train(tiny_dataset, tmp_path / "a")
    assert straight.stopped_by is None and straight.progress.total_iters == 8

    first = train(tiny_dataset, tmp_path / "b", on_step=sigint_at(4))  # stop at the last step of epoch 1
    assert first.stopped_by == "SIGINT" and first.progress.total_iters == 4
    state = load_checkpoint(tmp_path / "b" / "run" / "latest_state.pth")
    assert (state["epoch"], state["epoch_iter"], state["total_iters"]) == (1, 4, 4)
    resumed = train(tiny_dataset, tmp_path / "b", "--continue_train")
    assert resumed.stopped_by is None and resumed.progress.total_iters == 8

    assert_identical(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert_same_resume_state(tmp_path / "a" / "run", tmp_path / "b" / "run")


@pytest.mark.slow
def test_sigint_mid_epoch_resumes_from_the_right_iteration(tiny_dataset, tmp_path):
    first = train(tiny_dataset, tmp_path, on_step=sigint_at(2))
    assert first.stopped_by == "SIGINT"
    state = load_checkpoint(tmp_path / "run" / "latest_state.pth")
    assert (state["epoch"], state["epoch_iter"], state["total_iters"]) == (1, 2, 2)
    log = tmp_path / "run" / "loss_log.jsonl"
    with open(log, "a") as fh:  # what a run killed (-9) after its last save had logged
        fh.write('{"epoch": 1, "iters": 4, "total_iters": 4}\n{"epoch": 1, "iters": 5, "tot')
    seen = []
    resumed = train(tiny_dataset, tmp_path, "--continue_train",
                    on_step=lambda p: seen.append((p.epoch, p.epoch_iter, p.total_iters)))
    assert seen == [(1, 3, 3), (1, 4, 4), (2, 1, 5), (2, 2, 6), (2, 3, 7), (2, 4, 8)]
    assert resumed.progress.total_iters == 8
    assert [json.loads(line)["total_iters"] for line in log.read_text().splitlines()] == [2, 4, 6, 8]  # no duplicates


def test_old_weights_only_checkpoint_resumes_with_warning(tiny_dataset, tmp_path, caplog):
    train(tiny_dataset, tmp_path, "--n_epochs_decay", "0")
    (tmp_path / "run" / "latest_state.pth").unlink()  # what a reference checkpoint looks like
    caplog.set_level("INFO")
    seen = []
    train(tiny_dataset, tmp_path, "--continue_train", "--epoch_count", "2", "--n_epochs_decay", "1",
          on_step=lambda p: seen.append(p.epoch), epoch_count_given=True)
    assert any("weights only" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert seen == [2, 2, 2, 2]


def _run_cli(args, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1", CUDA_VISIBLE_DEVICES="")
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


@pytest.mark.slow
def test_real_sigint_saves_and_exits_zero(tiny_dataset, tmp_path):
    ck = tmp_path / "ck"
    proc = _run_cli(["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(ck), "--name", "run", *TINY_TRAIN,
                     "--n_epochs", "50", "--print_freq", "1"])
    log = ck / "run" / "loss_log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "--continue_train" in out
    state = load_checkpoint(ck / "run" / "latest_state.pth")
    assert state["total_iters"] >= 2
    assert state["total_iters"] == len(log.read_text().splitlines())  # saved right where it stopped


@pytest.mark.slow
def test_kill_9_during_save_leaves_a_loadable_checkpoint(tiny_dataset, tmp_path):
    ck = tmp_path / "ck"
    run = ck / "run"
    proc = _run_cli(["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(ck), "--name", "run", *TINY_TRAIN,
                     "--n_epochs", "50", "--save_latest_freq", "1"])
    deadline = time.time() + 120
    caught_in_save = False
    while time.time() < deadline:
        if (run / "latest_state.pth").exists() and any(p.name.startswith(".") for p in run.glob(".*tmp*")):
            caught_in_save = True
            break
        time.sleep(0.001)
    proc.kill()  # SIGKILL, ideally while a temporary checkpoint file is being written
    proc.communicate(timeout=60)
    assert (run / "latest_state.pth").exists()
    state = load_checkpoint(run / "latest_state.pth")  # the previous complete checkpoint
    for name in ("G_A", "G_B", "D_A", "D_B"):
        load_state_dict_file(run / f"latest_net_{name}.pth")
    resumed = train(tiny_dataset, ck, "--continue_train", "--n_epochs", "50", "--n_epochs_decay", "0",
                    "--max_dataset_size", "1", on_step=sigint_at(state["total_iters"] + 1))
    assert resumed.progress.total_iters == state["total_iters"] + 1
    print(json.dumps({"caught_in_save": caught_in_save}))


@pytest.mark.slow
@pytest.mark.parametrize("nproc", [2, 1])
def test_ddp_on_cpu_with_gloo(tiny_dataset, tmp_path, nproc):
    ck = tmp_path / "ck"
    args = ["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(ck), "--name", "run", *TINY_TRAIN,
            "--norm", "batch"]
    result = run_torchrun(ROOT / "train.py", args, nproc)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert f"DDP check: weights identical on all {nproc} ranks" in out
    assert out.count("done: checkpoints in") == 1  # only rank 0 reports
    run = ck / "run"
    log = (run / "loss_log.txt").read_text()
    assert log.count("================ Training Loss") == 1  # only rank 0 writes
    records = [json.loads(line) for line in (run / "loss_log.jsonl").read_text().splitlines()]
    # 4 images per epoch in total over all ranks, 2 epochs, --print_freq 2 (counted in images over all ranks)
    assert [r["total_iters"] for r in records] == [2, 4, 6, 8]
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporary files left
    state = load_checkpoint(run / "latest_state.pth")
    assert state["world_size"] == nproc and state["total_iters"] == 8
    assert set(weights(ck)["G_A"]) and all("module." not in k for k in weights(ck)["G_A"])


def test_counters_count_real_images_with_a_partial_last_batch(tiny_dataset, tmp_path):
    seen = []
    train(tiny_dataset, tmp_path, "--batch_size", "3", "--print_freq", "4",
          on_step=lambda p: seen.append((p.epoch, p.epoch_iter, p.total_iters)))
    assert seen == [(1, 3, 3), (1, 4, 4), (2, 3, 7), (2, 4, 8)]  # 4 images: batches of 3 and 1
    records = [json.loads(line) for line in (tmp_path / "run" / "loss_log.jsonl").read_text().splitlines()]
    assert [r["total_iters"] for r in records] == [4, 8]  # printed whenever a multiple of 4 is passed


@pytest.mark.parametrize("before, after, every, expected", [
    (0, 1, 1, True), (3, 6, 4, True), (4, 7, 4, False), (7, 8, 4, True), (8, 9, 4, False), (0, 3, 400, False),
])
def test_crossed(before, after, every, expected):
    from engine.training import crossed

    assert crossed(before, after, every) is expected


@pytest.mark.parametrize("policy", ["linear", pytest.param("cosine", marks=pytest.mark.slow),
                                    pytest.param("step", marks=pytest.mark.slow)])
def test_extending_the_schedule_on_resume_is_bit_identical(tiny_dataset, tmp_path, caplog, policy):
    flags = ["--lr_policy", policy, "--lr_decay_iters", "1", "--max_dataset_size", "2", "--n_epochs_decay", "0"]
    train(tiny_dataset, tmp_path / "a", *flags, "--n_epochs", "2")
    train(tiny_dataset, tmp_path / "b", *flags, "--n_epochs", "1")
    caplog.set_level("INFO")
    caplog.clear()
    train(tiny_dataset, tmp_path / "b", *flags, "--n_epochs", "2", "--continue_train")
    assert_identical(weights(tmp_path / "a"), weights(tmp_path / "b"))
    sa = load_checkpoint(tmp_path / "a" / "run" / "latest_state.pth")
    sb = load_checkpoint(tmp_path / "b" / "run" / "latest_state.pth")
    assert sa["model"]["schedulers"] == sb["model"]["schedulers"]
    messages = [r.getMessage() for r in caplog.records]
    changed = [m for m in messages if m.startswith("LR schedule changed on resume")]
    if policy == "step":  # --n_epochs does not shape a step schedule
        assert changed == []
    else:
        assert changed == [f"LR schedule changed on resume (--n_epochs 1 -> 2): epoch 2 trains at lr "
                           f"{0.0002 if policy == 'linear' else 0.0001:.7f} (the saved schedule gave 0.0000000)"]
    lrs = [float(x) for m in messages if m.startswith("learning rate") for x in m.split()[2::2]]
    assert lrs and min(lrs) >= 0.0


def test_resuming_a_finished_run_without_more_epochs_is_a_flag_error(tiny_dataset, tmp_path, capsys):
    import train as train_cli

    args = ["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(tmp_path), "--name", "run", *TINY_TRAIN,
            "--max_dataset_size", "1", "--n_epochs_decay", "0"]
    assert train_cli.main(args) == 0
    opt_file = tmp_path / "run" / "train_opt.txt"
    before = opt_file.read_text()
    assert train_cli.main([*args, "--continue_train", "--print_freq", "7"]) == 2
    assert ("nothing to train: training would start at epoch 2" in capsys.readouterr().err)
    assert opt_file.read_text() == before  # a refused resume does not rewrite the options


def _untrained_checkpoint(dataset, ck, *extra):
    """latest_net_*.pth of an untrained model plus its training state, without training."""
    from engine.checkpoint import Progress, save_checkpoint
    from models import create_model

    opt = TrainOptions().parse(["--dataroot", str(dataset), "--checkpoints_dir", str(ck), "--name", "run",
                                *TINY_TRAIN, *extra], save=False)
    model = create_model(opt)
    model.setup(opt)
    save_checkpoint(model, opt, Progress(epoch=1, epoch_iter=2, total_iters=2), "latest")
    return ck / "run"


@pytest.mark.parametrize("content, match", [
    ({"foo": 1}, "keys epoch, epoch_iter, total_iters, networks, model, rng are missing"),
    ([1, 2], "it holds a list, not a training-state dict"),
])
def test_malformed_training_state_is_refused_naming_the_file(tiny_dataset, tmp_path, content, match):
    from util.checkpoint import CheckpointError, save_state_dict
    from util.cli import FlagError

    run = _untrained_checkpoint(tiny_dataset, tmp_path)
    save_state_dict(content, run / "latest_state.pth")
    # an unusable checkpoint is a setup problem another --epoch fixes: FlagError (exit 2), cause kept
    with pytest.raises(FlagError, match=f"training state {run / 'latest_state.pth'} cannot be resumed: {match}"):
        try:
            train(tiny_dataset, tmp_path, "--continue_train")
        except FlagError as err:
            assert isinstance(err.__cause__, CheckpointError)
            raise


def test_refused_resume_keeps_options_and_logs_and_cleans_temp_files(tiny_dataset, tmp_path, capsys):
    import train as train_cli

    run = _untrained_checkpoint(tiny_dataset, tmp_path)
    (run / "train_opt.txt").write_text("the saved run's options\n")
    (run / "loss_log.jsonl").write_text('{"total_iters": 1}\n')
    stale = [run / ".latest_net_G_A.k2x_9q.tmp.pth", run / ".latest_state.abc123.tmp.pth"]
    for path in stale:
        path.write_bytes(b"half a checkpoint")
    keep = run / ".notes.txt"
    keep.write_text("not ours")
    rc = train_cli.main(["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(tmp_path), "--name", "run",
                         *TINY_TRAIN, "--ngf", "8", "--continue_train"])  # another width than the checkpoint
    assert rc == 2
    assert "latest_net_G_A.pth" in capsys.readouterr().err
    assert (run / "train_opt.txt").read_text() == "the saved run's options\n"
    assert not (run / "train_opt.json").exists()
    assert (run / "loss_log.jsonl").read_text() == '{"total_iters": 1}\n'
    assert not (run / "loss_log.txt").exists()
    assert not any(p.exists() for p in stale) and keep.exists()


def test_discriminator_file_given_as_generator_is_named(tiny_dataset, tmp_path):
    from util.cli import FlagError

    run = _untrained_checkpoint(tiny_dataset, tmp_path)
    (run / "latest_net_G_A.pth").write_bytes((run / "latest_net_D_A.pth").read_bytes())
    with pytest.raises(FlagError, match=rf"checkpoint {run / 'latest_net_G_A.pth'} holds a discriminator "
                                              r"state dict, but netG_A is a generator"):
        train(tiny_dataset, tmp_path, "--continue_train")


def test_cpu_fallback_line_is_logged(tmp_path):
    # no --gpu_ids and no CUDA device: the CPU fallback is said (it used to be logged before logging was set up)
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "--dataroot", str(tmp_path / "nowhere")],
                            cwd=tmp_path, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "no CUDA device found: running on CPU" in result.stdout
    assert "error: dataset folder" in result.stderr and "Traceback" not in result.stderr
