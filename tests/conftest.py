"""Test configuration and shared helpers: keep runs on CPU, tiny datasets, torchrun, sprite sheets.

The repository root is importable through the editable install (`make venv`) and pytest's ``pythonpath``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


import numpy as np
import pytest
from PIL import Image


def smooth_photo(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    """A smooth colourful uint8 test image with a flat red block and a little noise (the postprocess tests' photo)."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([200 * xx + 30, 180 * yy + 20, 120 + 80 * np.sin(6 * xx * yy)], axis=-1)
    img[h // 4 : h // 2, w // 4 : w // 2] = (220, 40, 40)
    img += np.random.default_rng(seed).normal(0, 3, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def assert_identical(a: dict, b: dict) -> None:
    """Two ``{net: state_dict}`` maps hold the same keys and bit-identical tensors."""
    import torch

    for name in a:
        assert a[name].keys() == b[name].keys()
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), f"{name}.{key} differs"


def assert_same_resume_state(run_a: Path, run_b: Path, prefix: str = "latest") -> None:
    """Two runs' ``<prefix>_state.pth`` hold the same Adam moments and scheduler states (exact resume)."""
    import torch

    from util.checkpoint import load_checkpoint

    sa = load_checkpoint(run_a / f"{prefix}_state.pth")
    sb = load_checkpoint(run_b / f"{prefix}_state.pth")
    for opt_a, opt_b in zip(sa["model"]["optimizers"], sb["model"]["optimizers"], strict=True):
        for k in opt_a["state"]:
            assert torch.equal(opt_a["state"][k]["exp_avg"], opt_b["state"][k]["exp_avg"])
    assert sa["model"]["schedulers"] == sb["model"]["schedulers"]


def make_unaligned_dataset(root: Path, n: int = 4, size: tuple[int, int] = (36, 40), seed: int = 0) -> Path:
    """trainA/trainB/testA/testB with ``n`` small random-but-structured PNGs each."""
    from util.image import save_image

    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    for split in ("trainA", "trainB", "testA", "testB"):
        for i in range(n):
            base = rng.integers(0, 256, 3)
            img = (base + 60 * np.sin(xx[..., None] / (3 + i) + rng.uniform(0, 6, 3))).clip(0, 255)
            if split.endswith("B"):  # blocky, few colours
                img = (np.repeat(np.repeat(img[::4, ::4], 4, 0), 4, 1)[:h, :w] // 64) * 64
            save_image(root / split / f"img{i}.png", img.astype(np.uint8))
    return root


#: Flags for a tiny, fast CPU training run.
TINY_TRAIN = ["--gpu_ids", "-1", "--netG", "resnet_6blocks", "--ngf", "4", "--ndf", "4", "--load_size", "36",
              "--crop_size", "32", "--num_threads", "0", "--display_id", "0", "--n_epochs", "1",
              "--n_epochs_decay", "1", "--print_freq", "2", "--display_freq", "2", "--pool_size", "2"]


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """A 4-image unaligned dataset in tmp_path/data."""
    return make_unaligned_dataset(tmp_path / "data")


@pytest.fixture
def interrupt_pixelize_at(monkeypatch):
    """``arm(name)``: pixelize's runner raises KeyboardInterrupt (Ctrl-C) when it reaches the input whose
    path ends with ``name``; ``arm`` returns a function that restores the runner."""
    from engine import pixelize as runner

    real_finish = runner.Pixelizer.finish_image

    def arm(name: str):
        def finish(self, job, image, *rest):
            if job.source.endswith(name):
                raise KeyboardInterrupt
            return real_finish(self, job, image, *rest)

        monkeypatch.setattr(runner.Pixelizer, "finish_image", finish)
        return lambda: monkeypatch.setattr(runner.Pixelizer, "finish_image", real_finish)

    return arm


def run_torchrun(script: Path, args: list[str], nproc: int, timeout: float = 300):
    """Run ``torchrun --nproc_per_node=nproc script args`` on CPU (gloo) on a free loopback port.

    Returns a CompletedProcess. The launcher and its workers run in their own process group,
    which is killed on timeout so no worker outlives the test.
    """
    import os
    import signal
    import socket
    import subprocess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr",
           "127.0.0.1", "--master_port", str(port), str(script), *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"torchrun timed out after {timeout} s:\n{out[-2000:]}\n{err[-2000:]}") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def make_sprite(w: int, h: int, seed: int) -> np.ndarray:
    """An opaque RGBA sprite with a dark outline and two fill colours."""
    rng = np.random.default_rng(seed)
    s = np.zeros((h, w, 4), np.uint8)
    s[..., :3] = rng.integers(60, 200, 3)
    s[h // 2:, :, :3] = rng.integers(60, 200, 3)
    s[0, :, :3] = s[-1, :, :3] = s[:, 0, :3] = s[:, -1, :3] = 20
    s[..., 3] = 255
    return s


def make_sheet(path: Path) -> dict[str, tuple[int, int, int, int]]:
    """A 120x90 RGBA sheet; returns the boxes of the sprites that must be kept."""
    sheet = np.zeros((90, 120, 4), np.uint8)
    sheet[10:24, 10:22] = make_sprite(12, 14, 1)  # 168 px = 16 % of a 32x32 cell: kept
    sheet[10:30, 30:40] = make_sprite(10, 20, 2)  # two parts one pixel apart: one sprite after dilation
    sheet[10:30, 41:45] = make_sprite(4, 20, 3)
    sheet[40:43, 10:13] = make_sprite(3, 3, 4)  # a speck: too little coverage
    sheet[40:72, 20:52] = make_sprite(32, 32, 5)  # a full tile: too much coverage
    sheet[0:20, 60:70] = make_sprite(10, 20, 6)  # touches the sheet edge
    sheet[50:60, 60:100] = make_sprite(40, 10, 7)  # wider than 32
    sheet[70:86, 60:76] = make_sprite(16, 16, 8)  # two 16x16 sprites with a one-pixel gap: split again
    sheet[70:86, 77:93] = make_sprite(16, 16, 9)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet, "RGBA").save(path)
    return {"a": (10, 10, 12, 14), "b": (30, 10, 15, 20), "c": (60, 70, 16, 16), "d": (77, 70, 16, 16)}
