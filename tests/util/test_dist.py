"""util.dist: rank helpers, --gpu_ids parsing and the one device resolver (on this CPU-only machine)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from util import dist

TORCHRUN_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

cpu_only = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answers on a machine without CUDA")


@pytest.fixture
def single_process(monkeypatch):
    for name in TORCHRUN_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def torchrun_env(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")


# --------------------------------------------------------------------------- ranks
def test_single_process_is_rank_0_of_1_and_main(single_process):
    assert not dist.launched_by_torchrun()
    assert not dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank()) == (0, 1, 0)
    assert dist.is_main()
    assert dist.init_distributed() is False  # nothing to start outside torchrun
    dist.barrier()  # no-ops without a process group
    dist.cleanup()


def test_shard_is_round_robin_and_keeps_the_order(single_process):
    items = list("abcdefg")
    assert dist.shard(items) == items  # rank 0 of 1: everything
    assert dist.shard(items, rank=0, world_size=3) == ["a", "d", "g"]
    assert dist.shard(items, rank=1, world_size=3) == ["b", "e"]
    assert dist.shard(items, rank=2, world_size=3) == ["c", "f"]
    assert dist.shard(["a"], rank=1, world_size=2) == []
    shares = [dist.shard(items, r, 3) for r in range(3)]
    assert sorted(sum(shares, [])) == items  # disjoint and complete


def test_torchrun_variables(torchrun_env, monkeypatch):
    assert dist.launched_by_torchrun()
    assert dist.get_local_rank() == 1
    # without a process group the rank helpers still answer for one process
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    monkeypatch.delenv("RANK")
    assert not dist.launched_by_torchrun()
    assert dist.get_local_rank() == 0  # LOCAL_RANK alone is not a torchrun launch


def test_local_rank_defaults_to_0_under_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert dist.launched_by_torchrun() and dist.get_local_rank() == 0


def test_is_initialized_does_not_import_torch():
    code = "import sys, util.dist; print(util.dist.is_initialized(), 'torch' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARS}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- --gpu_ids
@pytest.mark.parametrize("text, ids", [("0", [0]), ("0,1", [0, 1]), (" 0 , 2", [0, 2]), ("-1", []),
                                       ("-1,0", [0]), ("3,", [3])])
def test_parse_gpu_ids(text, ids):
    assert dist.parse_gpu_ids(text) == ids


@pytest.mark.parametrize("text, message", [
    ("a", "must be comma-separated ints like 0 or 0,1,2 (or -1 for CPU), got 'a'"),
    ("0;1", "must be comma-separated ints like 0 or 0,1,2 (or -1 for CPU), got '0;1'"),
    ("", "must name at least one id (use -1 for CPU)"),
    (" , ", "must name at least one id (use -1 for CPU)"),
])
def test_parse_gpu_ids_refuses_bad_text(text, message):
    with pytest.raises(ValueError) as info:
        dist.parse_gpu_ids(text)
    assert str(info.value) == message


# --------------------------------------------------------------------------- resolve_device
@cpu_only
def test_resolve_device_on_a_cpu_only_machine(single_process):
    assert dist.resolve_device() == (torch.device("cpu"), [])
    assert dist.resolve_device(gpu_ids="-1") == (torch.device("cpu"), [])
    assert dist.resolve_device(device="cpu") == (torch.device("cpu"), [])
    assert dist.resolve_device(device="cpu", gpu_ids="0") == (torch.device("cpu"), [])  # --device wins


@cpu_only
def test_gpu_ids_typed_without_a_gpu_is_refused(single_process):
    with pytest.raises(ValueError) as info:
        dist.resolve_device(gpu_ids="0")
    assert str(info.value) == "--gpu_ids 0: no CUDA device is available; use --gpu_ids -1 for CPU"


@cpu_only
def test_default_gpu_ids_without_a_gpu_falls_back_to_cpu_with_a_log_line(single_process, caplog):
    with caplog.at_level(logging.INFO, logger="util.dist"):
        assert dist.resolve_device(gpu_ids="0", gpu_ids_given=False) == (torch.device("cpu"), [])
    assert [r.getMessage() for r in caplog.records if r.name == "util.dist"] == [
        "no CUDA device found: running on CPU (pass --gpu_ids -1 to say so explicitly)"]


@cpu_only
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_device_without_a_gpu_is_refused_naming_the_flag(device):
    with pytest.raises(ValueError) as info:
        dist.resolve_device(device=device)
    assert str(info.value) == f"--device {device}: no CUDA device is available; use --device cpu"
    with pytest.raises(ValueError, match=f"^--gen_device {device}: .*use --gen_device cpu$"):
        dist.resolve_device(device=device, device_flag="--gen_device")


def test_bad_gpu_ids_text_reaches_the_caller():
    with pytest.raises(ValueError, match="must be comma-separated ints"):
        dist.resolve_device(gpu_ids="x")


# --------------------------------------------------------------------------- two real processes (gloo)
def _gloo_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import torch.distributed as tdist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    tdist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        share = dist.shard(list(range(7)))
        dist.barrier()
        with open(os.path.join(out_dir, f"rank{rank}.txt"), "w") as fh:
            fh.write(f"{dist.get_rank()} {dist.get_world_size()} {dist.is_main()} {share}")
    finally:
        dist.cleanup()


@pytest.mark.slow
def test_two_gloo_processes_shard_disjointly(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_gloo_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    assert (tmp_path / "rank0.txt").read_text() == "0 2 True [0, 2, 4, 6]"
    assert (tmp_path / "rank1.txt").read_text() == "1 2 False [1, 3, 5]"
