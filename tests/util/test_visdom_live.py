"""The Visualizer against a REAL visdom server on a free loopback port (started and stopped here).

The server runs in a subprocess with the same interpreter. It is started through
``visdom.server.run_server.main()``, the server that ``python -m visdom.server`` runs, but without
the module's first step, which downloads the web UI's JavaScript/CSS from CDNs: offline (CI, this
sandbox) that step spends ~30 s on DNS failures and then crashes on the MathJax download, so the
server never starts. The HTTP API the training client uses is the same either way.

Everything is checked back through the visdom client API (``get_window_data``, ``get_env_list``).
"""
from __future__ import annotations

import base64
import io
import json
import logging
import socket
import subprocess
import sys
import time
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

visdom = pytest.importorskip("visdom", reason="visdom is not installed (pip install 'setuptools<81' && "
                                              "pip install --no-build-isolation visdom); live dashboard tests skipped")
requests = pytest.importorskip("requests")

from util.image import to_uint8  # noqa: E402
from util.visualizer import Visualizer  # noqa: E402

pytestmark = [pytest.mark.visdom, pytest.mark.slow]  # ~2-5 s each, mostly server start-up

ENV = "cyclegan_live"
LOSSES = ("D_A", "G_A", "cycle_A")
STARTUP_TIMEOUT_S = 20.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path):
        self.proc, self.port, self.log = proc, port, log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def visdom_server(tmp_path):
    """A running visdom server on a free port; stopped (if still alive) after the test."""
    port = _free_port()
    env_path = tmp_path / "visdom_env"
    env_path.mkdir()
    log = tmp_path / "visdom_server.log"
    cmd = [sys.executable, "-c", "from visdom.server.run_server import main; main()",
           "-port", str(port), "-env_path", str(env_path) + "/", "-logging_level", "WARNING"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = _Server(proc, port, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"visdom server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if requests.post(f"http://localhost:{port}/env_state", data="{}", timeout=0.5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"visdom server did not answer within {STARTUP_TIMEOUT_S} s:\n"
                            f"{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def _client(port: int):
    """A plain visdom client for checking the server's state (its set-up chatter silenced)."""
    lib_logger = logging.getLogger("visdom")
    old_level = lib_logger.level
    lib_logger.setLevel(logging.ERROR)  # "Setting up a new session...", "Without the incoming socket..."
    try:
        return visdom.Visdom(server="http://localhost", port=port, env=ENV, use_incoming_socket=False,
                             raise_exceptions=True)
    finally:
        lib_logger.setLevel(old_level)


def _window(client, win: str) -> dict:
    return json.loads(client.get_window_data(win, ENV))


def _opt(tmp_path, port):
    return types.SimpleNamespace(
        name="live", checkpoints_dir=str(tmp_path / "checkpoints"), isTrain=True, no_html=False, display_id=1,
        display_server="http://localhost", display_port=port, display_env=ENV, display_ncols=3,
        display_winsize=64, use_wandb=False, wandb_project_name="p")


def _visuals(seed: int) -> OrderedDict:
    gen = torch.Generator().manual_seed(seed)
    shapes = OrderedDict(real_A=3, fake_B=3, rec_A=1, idt_B=3)
    return OrderedDict((k, torch.randint(0, 256, (2, c, 16, 16), generator=gen).float() / 127.5 - 1.0)
                       for k, c in shapes.items())


def _losses(step: int) -> OrderedDict:
    return OrderedDict((name, 0.1 * (k + 1) + 0.01 * step) for k, name in enumerate(LOSSES))


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "util.visualizer" and r.levelno >= logging.WARNING]


def test_live_dashboard_holds_loss_plot_and_visuals(tmp_path, visdom_server, caplog):
    vis = Visualizer(_opt(tmp_path, visdom_server.port))
    assert vis.vis is not None
    client = _client(visdom_server.port)
    xs = []
    points_seen = []
    per_epoch = 3
    for epoch in (1, 2):
        vis.reset()
        for i in range(per_epoch):
            step = (epoch - 1) * per_epoch + i
            vis.plot_current_losses(epoch, i / per_epoch, _losses(step))
            xs.append(epoch + i / per_epoch)
            vis.display_current_results(_visuals(step), epoch, step * 2, save_result=(i == 0))
            vis.print_current_losses(epoch, i * 2, _losses(step), 0.1, 0.01, total_iters=step * 2)
            traces = _window(client, "1")["content"]["data"]
            points_seen.append({t["name"]: len(t["x"]) for t in traces})
    vis.close()
    assert _warnings(caplog) == []
    assert ENV in client.get_env_list()

    # the loss plot grew by one point per call, one trace per loss name
    assert points_seen == [{name: n for name in LOSSES} for n in range(1, 7)]
    plot = _window(client, "1")
    assert plot["type"] == "plot" and plot["title"] == "live loss over time"
    traces = plot["content"]["data"]
    assert [t["name"] for t in traces] == list(LOSSES)
    for k, trace in enumerate(traces):
        np.testing.assert_allclose(trace["x"], xs)
        np.testing.assert_allclose(trace["y"], [0.1 * (k + 1) + 0.01 * s for s in range(6)])

    # timing window: compute and data seconds per image against images seen
    timing = _window(client, "live timing")
    assert timing["title"] == "live seconds per image"
    assert [t["name"] for t in timing["content"]["data"]] == ["compute", "data"]
    np.testing.assert_allclose(timing["content"]["data"][0]["y"], [0.1] * 6)
    np.testing.assert_allclose(timing["content"]["data"][1]["x"], [2 * s for s in range(6)])

    # current visuals: one grid of the first image of each visual, 4 padded to 2 rows of 3
    win = _window(client, "2")
    assert win["type"] == "image" and win["title"] == "live images"
    src = win["content"]["src"]
    assert src.startswith("data:image/png;base64,")
    grid = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))
    tile = 64 + 2 * 2  # 16 px upscaled x4 to display_winsize, plus 2 px padding each side
    assert grid.shape == (2 * tile, 3 * tile, 3)
    last = _visuals(5)
    want = to_uint8(last["real_A"])[0].repeat(4, axis=0).repeat(4, axis=1)
    got = grid[3:3 + 64, 3:3 + 64].astype(int)  # visdom places tile (0, 0) at offset padding + 1
    assert np.abs(got - want.astype(int)).max() <= 1  # visdom's float -> uint8 truncation
    assert np.all(grid[tile + 3:tile + 3 + 64, 2 * tile + 3:2 * tile + 3 + 64] >= 254)  # white padding slot

    labels = _window(client, "3")
    assert labels["type"] == "text"
    assert all(f"<td>{name}</td>" in labels["content"] for name in last)

    # the files were written as well
    web = tmp_path / "checkpoints" / "live" / "web"
    assert (web / "images" / "epoch002_idt_B.png").is_file()
    assert len((tmp_path / "checkpoints" / "live" / "loss_log.jsonl").read_text().splitlines()) == 6


def test_server_killed_mid_training_warns_once_and_keeps_writing(tmp_path, visdom_server, caplog):
    vis = Visualizer(_opt(tmp_path, visdom_server.port))
    vis.plot_current_losses(1, 0.0, _losses(0))
    vis.display_current_results(_visuals(0), 1, 0, save_result=True)
    assert vis.vis is not None and _warnings(caplog) == []

    visdom_server.proc.kill()
    visdom_server.proc.wait(timeout=5)

    start = time.monotonic()
    for epoch in (1, 2, 3):
        vis.reset()
        for i in range(3):
            step = epoch * 3 + i
            vis.plot_current_losses(epoch, (i + 1) / 4, _losses(step))
            vis.display_current_results(_visuals(step), epoch, step, save_result=True)
            vis.print_current_losses(epoch, i, _losses(step), 0.1, 0.01, total_iters=step)
    vis.close()
    assert time.monotonic() - start < 10.0

    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"Lost the visdom server at http://localhost:{visdom_server.port}")
    assert f"python -m visdom.server -port {visdom_server.port}" in warnings[0] and "--display_id 0" in warnings[0]
    assert vis.vis is None
    assert len(vis.plot_data["X"]) == 10
    ckpt = tmp_path / "checkpoints" / "live"
    index = (ckpt / "web" / "index.html").read_text()
    assert index.index("epoch [3]") < index.index("epoch [2]") < index.index("epoch [1]")
    assert (ckpt / "web" / "images" / "epoch003_rec_A.png").is_file()
    assert len((ckpt / "loss_log.txt").read_text().splitlines()) == 1 + 9
    assert len((ckpt / "loss_log.jsonl").read_text().splitlines()) == 9
