"""util.visualizer without a visdom server: save_images, HTML history, loss logs, rank gating,
an unreachable server, a server that fails later (fake client), wandb wiring (fake module)."""
from __future__ import annotations

import importlib.util
import json
import logging
import math
import socket
import subprocess
import sys
import time
import types
from collections import OrderedDict
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import util.dist
import util.visualizer as viz_mod
from util.html import HTML
from util.image import load_image, to_uint8
from util.visualizer import MissingDependencyError, Visualizer, apply_aspect_ratio, save_images

ROOT = Path(__file__).resolve().parents[2]
HAVE_VISDOM = importlib.util.find_spec("visdom") is not None


class _Page(HTMLParser):
    """Headers, img srcs/alts, figcaptions and metas of a written page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.headers: list[str] = []
        self.srcs: list[str] = []
        self.alts: list[str] = []
        self.captions: list[str] = []
        self.metas: list[dict] = []
        self.rows = 0
        self._tag = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a["src"])
            self.alts.append(a["alt"])
        elif tag == "meta":
            self.metas.append(a)
        elif tag == "tr":
            self.rows += 1
        self._tag = tag

    def handle_endtag(self, tag):
        self._tag = None

    def handle_data(self, data):
        if self._tag == "h3":
            self.headers.append(data)
        elif self._tag == "figcaption":
            self.captions.append(data)


def _page(path: Path) -> _Page:
    return _Page(path.read_text(encoding="utf-8"))


def _tensor(n, c, h, w, seed):
    """Deterministic (N, C, H, W) float tensor in [-1, 1] with exact uint8 levels."""
    gen = torch.Generator().manual_seed(seed)
    levels = torch.randint(0, 256, (n, c, h, w), generator=gen).float()
    return levels / 127.5 - 1.0


def _opt(tmp_path, **kw):
    base = dict(name="exp", checkpoints_dir=str(tmp_path / "checkpoints"), isTrain=True, no_html=False,
                display_id=0, display_server="http://localhost", display_port=8097, display_env="main",
                display_ncols=4, display_winsize=64, use_wandb=False, wandb_project_name="proj")
    base.update(kw)
    return types.SimpleNamespace(**base)


def _visuals(seed=0, n=2, h=8, w=8):
    return OrderedDict(real_A=_tensor(n, 3, h, w, seed), fake_B=_tensor(n, 3, h, w, seed + 1),
                       rec_A=_tensor(n, 1, h, w, seed + 2))


def _free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "util.visualizer" and r.levelno == logging.WARNING]


# --------------------------------------------------------------------------- save_images
def test_save_images_writes_every_image_of_the_batch(tmp_path):
    page = HTML(tmp_path / "results", "test")
    visuals = OrderedDict(real=_tensor(2, 3, 8, 12, 1), fake=_tensor(2, 1, 8, 12, 2))
    written = save_images(page, visuals, ["/data/testA/cat.png", Path("/other/dog.jpg")], width=100)
    img_dir = tmp_path / "results" / "images"
    assert written == [img_dir / n for n in ("cat_real.png", "cat_fake.png", "dog_real.png", "dog_fake.png")]
    expected = {"real": to_uint8(visuals["real"]), "fake": to_uint8(visuals["fake"])}
    for i, stem in enumerate(["cat", "dog"]):
        rgb = load_image(img_dir / f"{stem}_real.png")
        assert rgb.shape == (8, 12, 3)
        np.testing.assert_array_equal(rgb, expected["real"][i])
        with Image.open(img_dir / f"{stem}_fake.png") as im:
            assert im.mode == "L" and im.size == (12, 8)  # one-channel output saved as grey
            np.testing.assert_array_equal(np.asarray(im), expected["fake"][i][..., 0])
    page.save()
    doc = _page(tmp_path / "results" / "index.html")
    assert doc.headers == ["cat", "dog"]
    assert doc.srcs == ["images/cat_real.png", "images/cat_fake.png", "images/dog_real.png", "images/dog_fake.png"]
    assert doc.captions == ["real", "fake", "real", "fake"]
    assert doc.rows == 2


@pytest.mark.parametrize("ratio, size", [(2.0, (24, 8)), (0.5, (12, 16)), (1.0, (12, 8))])
def test_save_images_aspect_ratio(tmp_path, ratio, size):
    """ratio > 1 widens (w * ratio), < 1 makes taller (h / ratio); PIL sizes are (width, height)."""
    page = HTML(tmp_path / "r", "t")
    visuals = OrderedDict(fake=_tensor(1, 3, 8, 12, 5))
    save_images(page, visuals, ["x/img.png"], aspect_ratio=ratio)
    with Image.open(tmp_path / "r" / "images" / "img_fake.png") as im:
        assert im.size == size
        got = np.asarray(im.convert("RGB"))
    src = Image.fromarray(to_uint8(visuals["fake"])[0])
    want = np.asarray(src.resize(size, Image.Resampling.BICUBIC)) if ratio != 1.0 else np.asarray(src)
    np.testing.assert_array_equal(got, want)


def test_apply_aspect_ratio_keeps_channels():
    grey = np.arange(6 * 4, dtype=np.uint8).reshape(6, 4, 1)
    assert apply_aspect_ratio(grey, 1.5).shape == (6, 6, 1)
    assert apply_aspect_ratio(grey, 0.75).shape == (8, 4, 1)
    assert apply_aspect_ratio(grey, 1.0) is grey


@pytest.mark.parametrize(
    "visuals, paths, kwargs, exc, match",
    [
        (OrderedDict(a=_tensor(2, 3, 4, 4, 0)), "one.png", {}, TypeError, r"`image_paths` must be a list"),
        (OrderedDict(a=_tensor(2, 3, 4, 4, 0)), ["one.png"], {}, ValueError, r"has 1 entries but .* 2 images"),
        (OrderedDict(a=_tensor(2, 3, 4, 4, 0), b=_tensor(1, 3, 4, 4, 0)), ["1", "2"], {}, ValueError,
         r"same batch size, got \{'a': 2, 'b': 1\}"),
        (OrderedDict(a=_tensor(1, 3, 4, 4, 0)[0]), ["1"], {}, ValueError, r"visuals\['a'\] must be .*\(3, 4, 4\)"),
        (OrderedDict(), ["1"], {}, ValueError, r"`visuals` must be a non-empty mapping"),
        (OrderedDict(a=_tensor(1, 3, 4, 4, 0)), ["1"], {"aspect_ratio": 0.0}, ValueError, r"`aspect_ratio`.*0\.0"),
        (OrderedDict(a=_tensor(1, 3, 4, 4, 0)), ["1"], {"aspect_ratio": float("nan")}, ValueError, r"`aspect_ratio`"),
    ],
)
def test_save_images_errors(tmp_path, visuals, paths, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        save_images(HTML(tmp_path / "r", "t"), visuals, paths, **kwargs)


# --------------------------------------------------------------------------- loss logs
def test_loss_log_header_line_and_jsonl(tmp_path, monkeypatch, caplog):
    calls = []
    real_strftime = time.strftime

    def fake_strftime(fmt, *a):
        calls.append(fmt)
        return "Sat Nov 29 12:00:00 2025" if fmt == "%c" else real_strftime(fmt, *a)

    monkeypatch.setattr(viz_mod.time, "strftime", fake_strftime)
    caplog.set_level(logging.INFO, logger="util.visualizer")
    vis = Visualizer(_opt(tmp_path))
    assert calls.count("%c") == 1
    log = tmp_path / "checkpoints" / "exp" / "loss_log.txt"
    header = "================ Training Loss (Sat Nov 29 12:00:00 2025) ================\n"
    assert log.read_text() == header

    losses = OrderedDict(D_A=0.46, G_A=torch.tensor(1.0364), cycle_A=2.0)
    msg = vis.print_current_losses(3, 40, losses, 0.12345, 0.0456, total_iters=440)
    line = "(epoch: 3, iters: 40, time: 0.123, data: 0.046) D_A: 0.460 G_A: 1.036 cycle_A: 2.000 "
    assert msg == line
    assert log.read_text() == header + line + "\n"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO][-1] == line

    vis.print_current_losses(3, 80, {"D_A": float("nan"), "G_A": 1.0, "cycle_A": float("inf")}, 0.1, 0.0)
    records = [json.loads(s) for s in (tmp_path / "checkpoints" / "exp" / "loss_log.jsonl").read_text().splitlines()]
    assert len(records) == 2
    ts = records[0].pop("timestamp")
    assert abs(ts - time.time()) < 60
    assert records[0] == {"epoch": 3, "iters": 40, "total_iters": 440, "time": 0.12345, "data": 0.0456,
                          "D_A": 0.46, "G_A": pytest.approx(1.0364), "cycle_A": 2.0}
    assert list(records[0])[:5] == ["epoch", "iters", "total_iters", "time", "data"]
    assert records[1]["D_A"] is None and records[1]["cycle_A"] is None  # non-finite -> null (valid JSON)
    assert records[1]["total_iters"] is None
    vis.close()

    # a second run appends a new header, keeps the old lines
    Visualizer(_opt(tmp_path))
    assert log.read_text() == header + line + "\n" + "(epoch: 3, iters: 80, time: 0.100, data: 0.000) " \
        "D_A: nan G_A: 1.000 cycle_A: inf \n" + header


def test_loss_errors(tmp_path):
    vis = Visualizer(_opt(tmp_path))
    with pytest.raises(TypeError, match=r"loss 'G_A' must be a number .*'abc'"):
        vis.print_current_losses(1, 1, {"G_A": "abc"}, 0.1, 0.1)
    with pytest.raises(TypeError, match=r"`losses` must be a mapping"):
        vis.plot_current_losses(1, 0.5, [("G_A", 1.0)])
    with pytest.raises(ValueError, match=r"loss names \['time'\] clash with loss_log.jsonl fields"):
        vis.print_current_losses(1, 1, {"time": 1.0}, 0.1, 0.1)


def test_plot_data_history_without_visdom(tmp_path):
    vis = Visualizer(_opt(tmp_path))
    assert vis.vis is None
    vis.plot_current_losses(1, 0.0, OrderedDict(D_A=1.0, G_A=2.0))
    vis.plot_current_losses(1, 0.5, OrderedDict(D_A=torch.tensor(3.0), G_A=4.0))
    vis.plot_current_losses(2, 0.25, OrderedDict(G_A=5.0, idt_A=6.0))  # D_A missing, idt_A new
    assert vis.plot_data["X"] == [1.0, 1.5, 2.25]
    assert vis.plot_data["legend"] == ["D_A", "G_A", "idt_A"]
    y = vis.plot_data["Y"]
    assert y[0][:2] == [1.0, 2.0] and math.isnan(y[0][2])
    assert y[1][:2] == [3.0, 4.0] and math.isnan(y[1][2])
    assert math.isnan(y[2][0]) and y[2][1:] == [5.0, 6.0]


# --------------------------------------------------------------------------- HTML history
def test_display_writes_html_history_newest_first(tmp_path):
    vis = Visualizer(_opt(tmp_path, display_winsize=96))
    web = tmp_path / "checkpoints" / "exp" / "web"
    for epoch in (1, 2, 3):
        vis.reset()
        vis.display_current_results(_visuals(seed=epoch), epoch, epoch * 100, save_result=False)
    doc = _page(web / "index.html")
    assert {"http-equiv": "refresh", "content": "1"} in doc.metas
    assert doc.headers == ["epoch [3]", "epoch [2]", "epoch [1]"]
    assert doc.srcs == [f"images/epoch{e:03d}_{lab}.png" for e in (3, 2, 1) for lab in ("real_A", "fake_B", "rec_A")]
    assert doc.captions == ["real_A", "fake_B", "rec_A"] * 3
    assert 'style="width: 96px; height: auto;"' in (web / "index.html").read_text()
    # the saved image is the FIRST image of the batch
    np.testing.assert_array_equal(load_image(web / "images" / "epoch002_real_A.png"),
                                  to_uint8(_visuals(seed=2)["real_A"])[0])
    with Image.open(web / "images" / "epoch002_rec_A.png") as im:
        assert im.mode == "L"


def test_display_saves_once_per_epoch_unless_asked(tmp_path):
    vis = Visualizer(_opt(tmp_path))
    img = tmp_path / "checkpoints" / "exp" / "web" / "images" / "epoch001_real_A.png"
    vis.reset()
    vis.display_current_results(_visuals(seed=1), 1, 10, save_result=False)
    first = load_image(img)
    vis.display_current_results(_visuals(seed=7), 1, 20, save_result=False)  # already saved this epoch
    np.testing.assert_array_equal(load_image(img), first)
    vis.display_current_results(_visuals(seed=7), 1, 30, save_result=True)  # explicitly asked
    np.testing.assert_array_equal(load_image(img), to_uint8(_visuals(seed=7)["real_A"])[0])
    # a new epoch saves even without reset() and without save_result
    vis.display_current_results(_visuals(seed=3), 2, 40, save_result=False)
    assert (img.parent / "epoch002_fake_B.png").is_file()


def test_index_lists_only_epochs_with_images(tmp_path):
    vis = Visualizer(_opt(tmp_path))
    web = tmp_path / "checkpoints" / "exp" / "web"
    vis.display_current_results(_visuals(), 3, 1, save_result=True)  # e.g. --epoch_count 3
    assert _page(web / "index.html").headers == ["epoch [3]"]
    vis.display_current_results(_visuals(), 5, 2, save_result=True)
    (web / "images" / "epoch003_fake_B.png").unlink()
    vis.display_current_results(_visuals(), 5, 3, save_result=True)
    doc = _page(web / "index.html")
    assert doc.headers == ["epoch [5]", "epoch [3]"]
    assert doc.srcs[3:] == ["images/epoch003_real_A.png", "images/epoch003_rec_A.png"]


def test_no_html_and_test_phase_write_no_web_dir(tmp_path):
    Visualizer(_opt(tmp_path, no_html=True)).display_current_results(_visuals(), 1, 1, True)
    Visualizer(_opt(tmp_path, name="t", isTrain=False)).display_current_results(_visuals(), 1, 1, True)
    assert not (tmp_path / "checkpoints" / "exp" / "web").exists()
    assert not (tmp_path / "checkpoints" / "t" / "web").exists()
    assert (tmp_path / "checkpoints" / "exp" / "loss_log.txt").is_file()


def test_display_errors(tmp_path):
    vis = Visualizer(_opt(tmp_path))
    with pytest.raises(ValueError, match=r"`epoch` must be an int >= 0, got 1.5"):
        vis.display_current_results(_visuals(), 1.5, 1, True)
    with pytest.raises(ValueError, match=r"`visuals` must be a non-empty mapping"):
        vis.display_current_results({}, 1, 1, True)
    with pytest.raises(ValueError, match=r"visuals\['x'\] must be a float tensor \(N, C, H, W\)"):
        vis.display_current_results({"x": np.zeros((4, 4, 3))}, 1, 1, True)


@pytest.mark.parametrize("field, value, exc, match", [
    ("display_id", "1", TypeError, r"--display_id must be an int, got '1'"),
    ("display_winsize", 0, ValueError, r"--display_winsize must be > 0"),
    ("display_port", 70000, ValueError, r"--display_port must be a TCP port 1..65535, got 70000"),
])
def test_bad_options(tmp_path, field, value, exc, match):
    opt = _opt(tmp_path, **{field: value})
    if field == "display_port":
        opt.display_id = 1
    with pytest.raises(exc, match=match):
        Visualizer(opt)


# --------------------------------------------------------------------------- ranks
def test_non_main_rank_writes_nothing(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(util.dist, "get_rank", lambda: 1)
    opt = _opt(tmp_path, display_id=1, display_port=_free_closed_port(), use_wandb=True)
    vis = Visualizer(opt)  # no visdom connection attempt, no wandb import on rank 1
    vis.reset()
    vis.plot_current_losses(1, 0.5, {"G_A": 1.0})
    vis.display_current_results(_visuals(), 1, 1, save_result=True)
    msg = vis.print_current_losses(1, 2, {"G_A": 1.0}, 0.5, 0.25)
    vis.close()
    assert msg == "(epoch: 1, iters: 2, time: 0.500, data: 0.250) G_A: 1.000 "
    assert not (tmp_path / "checkpoints").exists()
    assert vis.plot_data == {"X": [], "Y": [], "legend": []}
    assert vis.vis is None and vis.wandb_run is None
    assert _warnings(caplog) == []


# --------------------------------------------------------------------------- visdom failures
def test_unreachable_server_warns_once_fast_and_training_goes_on(tmp_path, caplog):
    port = _free_closed_port()
    start = time.monotonic()
    vis = Visualizer(_opt(tmp_path, display_id=1, display_port=port))
    for epoch in (1, 2):
        vis.reset()
        for i in range(3):
            vis.plot_current_losses(epoch, i / 3, {"D_A": 0.5, "G_A": 1.0})
            vis.display_current_results(_visuals(seed=i), epoch, epoch * 3 + i, save_result=i == 0)
            vis.print_current_losses(epoch, i, {"D_A": 0.5, "G_A": 1.0}, 0.1, 0.01)
    vis.close()
    elapsed = time.monotonic() - start
    assert elapsed < 5.0, f"an unreachable visdom server cost {elapsed:.1f} s"
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    if HAVE_VISDOM:
        assert f"No visdom server answers at http://localhost:{port}" in warnings[0]
        assert f"python -m visdom.server -port {port}" in warnings[0]
    assert "--display_id 0" in warnings[0] and "Training continues" in warnings[0]
    assert vis.vis is None
    assert len(vis.plot_data["X"]) == 6
    ckpt = tmp_path / "checkpoints" / "exp"
    assert len((ckpt / "loss_log.txt").read_text().splitlines()) == 1 + 6
    assert len((ckpt / "loss_log.jsonl").read_text().splitlines()) == 6
    assert _page(ckpt / "web" / "index.html").headers == ["epoch [2]", "epoch [1]"]


@pytest.mark.skipif(not HAVE_VISDOM, reason="visdom is not installed")
def test_server_that_never_answers_times_out(tmp_path, monkeypatch, caplog):
    """A port that accepts connections but never replies (a hung server) must not hang training."""
    monkeypatch.setattr(viz_mod, "VISDOM_READ_TIMEOUT_S", 0.3)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the TCP handshake; nobody ever reads or answers
        port = listener.getsockname()[1]
        start = time.monotonic()
        vis = Visualizer(_opt(tmp_path, display_id=1, display_server="http://127.0.0.1", display_port=port))
        vis.plot_current_losses(1, 0.0, {"G_A": 1.0})
        elapsed = time.monotonic() - start
    assert elapsed < 3.0, f"a silent server blocked for {elapsed:.1f} s"
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and f"No visdom server answers at http://127.0.0.1:{port}" in warnings[0]
    assert vis.vis is None


def test_visdom_not_installed_warns_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "visdom", None)  # makes `import visdom` raise ImportError
    vis = Visualizer(_opt(tmp_path, display_id=1))
    vis.plot_current_losses(1, 0.0, {"G_A": 1.0})
    vis.display_current_results(_visuals(), 1, 1, True)
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "visdom cannot be imported" in warnings[0] and "--display_id 0" in warnings[0]
    assert vis.vis is None


class _FakeVisdom:
    """Records calls like the visdom client; raises ConnectionError once `dead` is set."""

    def __init__(self):
        self.calls: list[tuple[str, tuple, dict]] = []
        self.dead = False

    def _record(self, name, args, kwargs):
        if self.dead:
            raise ConnectionError("Error connecting to Visdom server")
        self.calls.append((name, args, kwargs))

    def line(self, *a, **k):
        self._record("line", a, k)

    def images(self, *a, **k):
        self._record("images", a, k)

    def image(self, *a, **k):
        self._record("image", a, k)

    def text(self, *a, **k):
        self._record("text", a, k)


def _with_fake_visdom(tmp_path, monkeypatch, **kw):
    fake = _FakeVisdom()
    monkeypatch.setattr(viz_mod, "_make_visdom_client", lambda server, port, env: fake)
    kw.setdefault("display_id", 1)
    return Visualizer(_opt(tmp_path, **kw)), fake


def test_visdom_grid_labels_and_loss_plot_calls(tmp_path, monkeypatch, caplog):
    vis, fake = _with_fake_visdom(tmp_path, monkeypatch, display_ncols=3, display_winsize=32)
    visuals = OrderedDict(real_A=_tensor(2, 3, 8, 8, 1), fake_B=_tensor(2, 3, 8, 8, 2),
                          rec_A=_tensor(2, 1, 8, 8, 3), idt_B=_tensor(2, 3, 8, 8, 4))
    vis.display_current_results(visuals, 1, 10, save_result=False)
    (name, args, kw), (tname, targs, tkw) = fake.calls
    assert name == "images" and tname == "text"
    grid = args[0]
    assert grid.shape == (6, 3, 32, 32) and grid.dtype == np.float32  # 4 visuals padded to 2 full rows of 3
    assert kw == {"nrow": 3, "padding": 2, "win": "2", "opts": {"title": "exp images"}}
    first = to_uint8(visuals["real_A"])[0].repeat(4, axis=0).repeat(4, axis=1)  # 8 px -> 32 px, nearest
    np.testing.assert_allclose(grid[0].transpose(1, 2, 0) * 255.0, first, atol=1e-3)
    grey = to_uint8(visuals["rec_A"])[0, ..., 0].repeat(4, axis=0).repeat(4, axis=1)
    for c in range(3):  # one-channel visual shown as grey RGB
        np.testing.assert_allclose(grid[2, c] * 255.0, grey, atol=1e-3)
    assert np.all(grid[4:] == 1.0)  # white padding
    assert targs[0].count("<tr>") == 2 and "<td>idt_B</td>" in targs[0]
    assert tkw == {"win": "3", "opts": {"title": "exp labels"}}

    fake.calls.clear()
    vis.plot_current_losses(1, 0.0, OrderedDict(D_A=1.0, G_A=float("inf")))
    vis.plot_current_losses(1, 0.5, OrderedDict(D_A=3.0, G_A=4.0))
    (name, args, kw), = fake.calls[-1:]
    assert name == "line"
    np.testing.assert_array_equal(kw["X"], [[1.0, 1.0], [1.5, 1.5]])
    np.testing.assert_array_equal(kw["Y"], [[1.0, np.nan], [3.0, 4.0]])  # inf sent as a gap
    assert kw["win"] == "1"
    assert kw["opts"]["legend"] == ["D_A", "G_A"] and kw["opts"]["title"] == "exp loss over time"
    assert _warnings(caplog) == []


def test_visdom_one_window_per_visual_without_ncols(tmp_path, monkeypatch):
    vis, fake = _with_fake_visdom(tmp_path, monkeypatch, display_ncols=0, display_id=5)
    vis.display_current_results(_visuals(), 1, 1, save_result=False)
    assert [(c[0], c[2]["win"], c[2]["opts"]["title"]) for c in fake.calls] == [
        ("image", "6", "real_A"), ("image", "7", "fake_B"), ("image", "8", "rec_A")]
    assert fake.calls[0][1][0].shape == (3, 64, 64)


def test_server_dying_later_warns_once_and_keeps_logging(tmp_path, monkeypatch, caplog):
    vis, fake = _with_fake_visdom(tmp_path, monkeypatch)
    vis.plot_current_losses(1, 0.0, {"G_A": 1.0})
    fake.dead = True
    for i in range(3):
        vis.plot_current_losses(1, (i + 1) / 4, {"G_A": 1.0})
        vis.display_current_results(_visuals(), 1, i, save_result=True)
        vis.print_current_losses(1, i, {"G_A": 1.0}, 0.1, 0.1)
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and warnings[0].startswith("Lost the visdom server at http://localhost:8097")
    assert "--display_id 0" in warnings[0]
    assert vis.vis is None and len(vis.plot_data["X"]) == 4
    assert (tmp_path / "checkpoints" / "exp" / "web" / "index.html").is_file()
    assert len((tmp_path / "checkpoints" / "exp" / "loss_log.jsonl").read_text().splitlines()) == 3


# --------------------------------------------------------------------------- wandb and imports
def test_wandb_missing_is_an_actionable_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(RuntimeError, match=r"--use_wandb needs the `wandb` package.*pip install wandb") as info:
        Visualizer(_opt(tmp_path, use_wandb=True))
    assert isinstance(info.value, ImportError) and isinstance(info.value, MissingDependencyError)


def test_wandb_is_fed_when_enabled(tmp_path, monkeypatch):
    logged, inits = [], []
    run = types.SimpleNamespace(log=logged.append, finish=lambda: logged.append("finished"))
    fake = types.ModuleType("wandb")
    fake.run = None
    fake.init = lambda **kw: inits.append(kw) or run
    fake.Image = lambda arr: ("Image", arr.shape)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    vis = Visualizer(_opt(tmp_path, use_wandb=True))
    assert inits[0]["project"] == "proj" and inits[0]["name"] == "exp" and inits[0]["config"]["display_winsize"] == 64
    vis.plot_current_losses(2, 0.5, OrderedDict(G_A=1.5))
    vis.display_current_results(_visuals(), 2, 77, save_result=False)
    vis.close()
    assert logged[0] == {"G_A": 1.5, "epoch": 2.5}
    assert logged[1] == {"results/real_A": ("Image", (8, 8, 3)), "results/fake_B": ("Image", (8, 8, 3)),
                         "results/rec_A": ("Image", (8, 8, 1)), "epoch": 2, "total_iters": 77}
    assert logged[2] == "finished"


def test_module_import_pulls_in_neither_visdom_nor_wandb():
    code = ("import sys; import util.visualizer; "
            "bad = [m for m in ('visdom', 'wandb', 'requests') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_html_page_is_announced_only_once_written(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="util.visualizer")
    page = tmp_path / "checkpoints" / "exp" / "web" / "index.html"
    vis = Visualizer(_opt(tmp_path, display_freq=400))
    vis.close()  # a short run: nothing was displayed
    messages = [r.getMessage() for r in caplog.records]
    assert not page.exists()
    assert not any(m.startswith("HTML image history") for m in messages)
    assert f"no training images were shown (fewer than --display_freq 400 images trained in an epoch), so {page} " \
           "was not written" in messages
    caplog.clear()
    vis = Visualizer(_opt(tmp_path))
    vis.display_current_results(_visuals(), 1, 1, save_result=True)
    vis.display_current_results(_visuals(), 1, 2, save_result=True)
    vis.close()
    assert page.is_file()
    assert [r.getMessage() for r in caplog.records] == [f"HTML image history: {page}"]


def test_truncate_loss_log_drops_rows_after_the_restored_iteration(tmp_path):
    vis = Visualizer(_opt(tmp_path))
    for n in (1, 2, 3, 4):
        vis.print_current_losses(1, n, {"G": 0.5}, 0.1, 0.0, total_iters=n)
    log = tmp_path / "checkpoints" / "exp" / "loss_log.jsonl"
    with open(log, "a") as fh:
        fh.write('{"epoch": 1, "iters": 5, "total_it')  # a row cut short by kill -9
    text = log.with_suffix(".txt")
    with open(text, "a") as fh:
        fh.write("(epoch: 1, iters: 5, ti")  # its text line, cut short too
    assert vis.truncate_loss_log(2) == 3
    assert [json.loads(line)["total_iters"] for line in log.read_text().splitlines()] == [1, 2]
    loss_lines = [line for line in text.read_text().splitlines() if line.startswith("(epoch")]
    assert [line.split(",")[1].strip() for line in loss_lines] == ["iters: 1", "iters: 2"]
    assert text.read_text().startswith("================ Training Loss (")  # the header stays
    assert vis.truncate_loss_log(2) == 0
    assert not [p for p in log.parent.iterdir() if p.name.startswith(".")]
