"""Test configuration: make the repository root importable and keep runs on CPU."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


import numpy as np
import pytest


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


def run_torchrun(script: Path, args: list[str], nproc: int, timeout: float = 300):
    """Run ``torchrun --nproc_per_node=nproc script args`` on CPU (gloo) on a free loopback port.

    Returns a CompletedProcess. The launcher and its workers run in their own process group,
    which is killed on timeout so no worker outlives the test.
    """
    import os
    import signal
    import socket
    import subprocess
    import sys

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
        raise AssertionError(f"torchrun timed out after {timeout} s:\n{out[-2000:]}\n{err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
