"""The HTML result pages in a real headless Chromium (Chrome DevTools Protocol over a websocket).

Pages: pixelize.py's ``index.html`` (the sample photos), test.py's ``results/<name>/test_latest/index.html``
and the training ``checkpoints/<name>/web/index.html``. For each page: every ``<img>`` decoded
(``naturalWidth > 0``), no console error / exception / failed resource, and in a full-page screenshot
the images of one row sit side by side and the screenshot pixels inside each image's box show that
image (compared with the file resized to the box), not a blank or another picture.

Screenshots are kept in ``results/browser/`` (CI artifacts). Needs Debian's ``chromium``; without it
the tests are skipped with the reason (``.ci/run`` installs it).
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHOT_DIR = ROOT / "results" / "browser"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--hide-scrollbars", "--force-color-profile=srgb", "--remote-debugging-port=0"]

#: JS that describes every <img> (decode state, box in page coordinates) and the row it sits in.
_IMAGES_JS = """JSON.stringify({
  w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight,
  images: Array.from(document.images).map(im => {
    const r = im.getBoundingClientRect();
    const row = im.closest('tr');
    return {src: im.src, complete: im.complete, nw: im.naturalWidth, nh: im.naturalHeight,
            left: r.left + window.scrollX, top: r.top + window.scrollY, right: r.right + window.scrollX,
            bottom: r.bottom + window.scrollY,
            row: row ? Array.from(document.querySelectorAll('tr')).indexOf(row) : -1};
  })})"""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable ($CHROMIUM first), or None."""
    env = os.environ.get("CHROMIUM")
    if env:
        return shutil.which(env)
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What the browser saw: ``images`` (dicts from ``_IMAGES_JS``), ``errors`` (console/log/exception
    texts at level error), ``shot`` (uint8 ``(H, W, 3)`` full-page screenshot) and its file."""

    url: str
    images: list[dict]
    errors: list[str]
    shot: np.ndarray
    shot_path: Path
    loads: int = 1
    messages: list[str] = field(default_factory=list)


class Chromium:
    """A headless Chromium driven over one CDP websocket (flattened target sessions)."""

    def __init__(self, exe: str, profile: Path, timeout: float = 30.0):
        import websocket

        self.proc = subprocess.Popen([exe, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{exe} exited with status {self.proc.returncode} before opening DevTools")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"{exe} did not write {port_file} within {timeout:.0f} s")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout,
                                              suppress_origin=True)
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """One CDP command; events that arrive meanwhile are queued in ``self.events``."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"CDP {method} failed: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, session: str, start: int = 0) -> None:
        """Block until ``method`` arrives for ``session`` (also among events queued from index ``start``)."""
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self.events[start:]):
            self.events.append(json.loads(self.ws.recv()))

    def visit(self, url: str, shot_name: str, attempts: int = 5) -> PageReport:
        """Load ``url`` in a fresh tab, inspect its images, and save a full-page screenshot.

        Pages with ``<meta http-equiv=refresh>`` reload themselves: a measurement that a reload
        interrupted is repeated (up to ``attempts`` times); errors of every load are kept.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        start = len(self.events)
        try:
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable", session=sid)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": 1000, "height": 800, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            self.send("Page.navigate", {"url": url}, session=sid)
            self.wait_event("Page.loadEventFired", sid, start)
            for _ in range(attempts):
                navigated = self._count(sid, start, "Page.frameNavigated")
                try:
                    info = json.loads(self.send("Runtime.evaluate", {"expression": _IMAGES_JS, "returnByValue": True},
                                                session=sid)["result"]["value"])
                    w, h = min(int(info["w"]), 4000), min(int(info["h"]), 6000)
                    self.send("Emulation.setDeviceMetricsOverride",
                              {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False}, session=sid)
                    again = json.loads(self.send("Runtime.evaluate", {"expression": _IMAGES_JS,
                                                                      "returnByValue": True},
                                                 session=sid)["result"]["value"])
                    png = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"}, session=sid)["data"])
                    self.send("Runtime.evaluate", {"expression": "1"}, session=sid)  # drain queued events
                except RuntimeError as err:  # "Execution context was destroyed" during a reload
                    if "context" not in str(err).lower():
                        raise
                    self.wait_event("Page.loadEventFired", sid, len(self.events))
                    continue
                if self._count(sid, start, "Page.frameNavigated") == navigated and all(
                        im["complete"] for im in again["images"]):
                    break
                self.wait_event("Page.loadEventFired", sid, len(self.events))
            else:
                raise RuntimeError(f"{url}: no stable measurement in {attempts} attempts (page keeps reloading)")
            SHOT_DIR.mkdir(parents=True, exist_ok=True)
            shot_path = SHOT_DIR / shot_name
            shot_path.write_bytes(png)
            with Image.open(io.BytesIO(png)) as im:
                shot = np.asarray(im.convert("RGB"))
            errors, messages = self._console(sid, start)
            return PageReport(url, again["images"], errors, shot, shot_path,
                              loads=self._count(sid, start, "Page.loadEventFired"), messages=messages)
        finally:
            self.send("Target.closeTarget", {"targetId": target})

    def _count(self, sid: str, start: int, method: str) -> int:
        return sum(e.get("method") == method and e.get("sessionId") == sid for e in self.events[start:])

    def _console(self, sid: str, start: int) -> tuple[list[str], list[str]]:
        errors, messages = [], []
        for e in self.events[start:]:
            if e.get("sessionId") != sid:
                continue
            p = e.get("params", {})
            if e.get("method") == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                kind = p.get("type")
                (errors if kind in ("error", "assert") else messages).append(f"console.{kind}: {text}")
            elif e.get("method") == "Log.entryAdded":
                entry = p.get("entry", {})
                text = f"log[{entry.get('source')}]: {entry.get('text')} {entry.get('url', '')}".strip()
                (errors if entry.get("level") == "error" else messages).append(text)
            elif e.get("method") == "Runtime.exceptionThrown":
                details = p.get("exceptionDetails", {})
                errors.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        return errors, messages

    def close(self) -> None:
        """Close the websocket and stop the browser (its own process group)."""
        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                self.send("Browser.close")
            except Exception:  # noqa: BLE001 - the browser may already be gone
                pass
            ws.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        looked = (f"$CHROMIUM={os.environ['CHROMIUM']!r} not found" if os.environ.get("CHROMIUM")
                  else f"none of {', '.join(_CHROMIUM_NAMES)} on PATH")
        pytest.skip(f"chromium not installed: {looked}; install it with `apt-get install -y chromium` (.ci/run does)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        try:
            b = Chromium(exe, Path(profile))
        except (RuntimeError, OSError) as err:
            pytest.skip(f"chromium not usable: {err}")
        try:
            yield b
        finally:
            b.close()


# ---------------------------------------------------------------------------------------------- checks


def file_of(src: str) -> Path:
    """Local path of a file:// image URL."""
    url = urlparse(src)
    assert url.scheme == "file", src
    return Path(unquote(url.path))


def crop(shot: np.ndarray, im: dict, inset: int = 1) -> np.ndarray:
    """The screenshot pixels strictly inside an image's box (``inset`` px trimmed for antialiased edges)."""
    top, left = int(np.ceil(im["top"])) + inset, int(np.ceil(im["left"])) + inset
    bottom, right = int(np.floor(im["bottom"])) - inset, int(np.floor(im["right"])) - inset
    assert 0 <= top < bottom <= shot.shape[0] and 0 <= left < right <= shot.shape[1], (im, shot.shape)
    return shot[top:bottom, left:right].astype(np.float32)


def source_resized(path: Path, im: dict, inset: int = 1) -> np.ndarray:
    """The image file ``path`` resized to ``im``'s displayed box, then trimmed like :func:`crop`."""
    top, left = int(np.ceil(im["top"])), int(np.ceil(im["left"]))
    bottom, right = int(np.floor(im["bottom"])), int(np.floor(im["right"]))
    with Image.open(path) as f:
        # resample from the exact box (fractional edges), then cut to the whole-pixel region we crop
        box_w, box_h = im["right"] - im["left"], im["bottom"] - im["top"]
        sx, sy = f.width / box_w, f.height / box_h
        region = ((left - im["left"]) * sx, (top - im["top"]) * sy, (right - im["left"]) * sx,
                  (bottom - im["top"]) * sy)
        arr = np.asarray(f.convert("RGB").resize((right - left, bottom - top), Image.Resampling.BOX, box=region))
    return arr[inset:arr.shape[0] - inset, inset:arr.shape[1] - inset].astype(np.float32)


def check_page(report: PageReport, per_row: int, min_rows: int) -> list[dict]:
    """The shared assertions; returns per-image pixel statistics for page-specific checks."""
    assert report.errors == [], f"{report.url}: console errors {report.errors}"
    assert len(report.images) >= per_row * min_rows, report.images
    for im in report.images:
        assert im["complete"] and im["nw"] > 0 and im["nh"] > 0, f"image did not decode: {im['src']}"
        assert file_of(im["src"]).is_file(), im["src"]
    rows: dict[int, list[dict]] = {}
    for im in report.images:
        rows.setdefault(im["row"], []).append(im)
    assert len(rows) >= min_rows and -1 not in rows
    stats = []
    for row in rows.values():
        assert len(row) == per_row, row
        for a, b in pairwise(row):  # side by side: same top edge, b starts right of a's right edge
            assert abs(a["top"] - b["top"]) < 1.0, (a, b)
            assert b["left"] >= a["right"], (a, b)
        for im in row:
            got = crop(report.shot, im)
            want = source_resized(file_of(im["src"]), im)
            others = [source_resized(file_of(o["src"]), im) for o in row if file_of(o["src"]) != file_of(im["src"])]
            diff = float(np.abs(got - want).mean())
            s = {"src": im["src"], "diff": diff, "std": float(got.std()), "crop": got, "want": want,
                 "other_diffs": [float(np.abs(got - o).mean()) for o in others]}
            # the box shows its own file: close to it, and closer to it than to the row's other images
            assert diff < 8.0, f"{im['src']}: screenshot differs from the file by {diff:.1f}/255 on average"
            assert all(diff < d for d in s["other_diffs"]), (im["src"], diff, s["other_diffs"])
            stats.append(s)
    return stats


# ---------------------------------------------------------------------------------------------- pages


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny training run (web/index.html) and test.py results from it (results/.../index.html)."""
    import test as test_cli
    import train as train_cli
    from conftest import TINY_TRAIN, make_unaligned_dataset

    tmp = tmp_path_factory.mktemp("browser_run")
    data = make_unaligned_dataset(tmp / "data")
    ck = tmp / "ck"
    rc = train_cli.main(["--dataroot", str(data), "--name", "tiny", "--checkpoints_dir", str(ck), *TINY_TRAIN,
                         "--n_epochs_decay", "0", "--display_winsize", "128"])
    assert rc == 0
    res = tmp / "res"
    rc = test_cli.main(["--dataroot", str(data / "testA"), "--name", "tiny", "--checkpoints_dir", str(ck),
                        "--results_dir", str(res), "--model", "test", "--model_suffix", "_A", "--netG",
                        "resnet_6blocks", "--ngf", "4", "--preprocess", "none", "--num_test", "3", "--gpu_ids", "-1",
                        "--display_winsize", "160"])
    assert rc == 0
    return {"web": ck / "tiny" / "web" / "index.html", "results": res / "tiny" / "test_latest" / "index.html"}


def test_pixelize_page(browser, tmp_path):
    import pixelize

    out = tmp_path / "px"
    assert pixelize.main(["--output", str(out)]) == 0
    report = browser.visit((out / "index.html").as_uri(), "pixelize_index.png")
    stats = check_page(report, per_row=2, min_rows=4)
    names = [Path(s["src"]).name for s in stats]
    assert names == ["astronaut.png"] * 2 + ["chelsea.png"] * 2 + ["coffee.png"] * 2 + ["rocket.png"] * 2
    for photo, art in zip(stats[0::2], stats[1::2], strict=True):
        assert "/inputs/" in photo["src"] and "/inputs/" not in art["src"]
        assert photo["std"] > 20 and art["std"] > 20  # real pictures, not blank boxes
        # the right box is pixel art drawn crisp: nearly all its screen pixels are palette colours
        with Image.open(file_of(art["src"])) as f:
            palette = {tuple(c) for c in np.asarray(f.convert("RGB")).reshape(-1, 3).tolist()}
        px = art["crop"].astype(np.uint8).reshape(-1, 3)
        in_palette = np.mean([tuple(c) in palette for c in px[:: max(1, len(px) // 5000)].tolist()])
        assert len(palette) <= 16 and in_palette > 0.97, (art["src"], len(palette), in_palette)
        photo_colours = len(np.unique(photo["crop"].astype(np.uint8).reshape(-1, 3), axis=0))
        assert photo_colours > 1000  # the left box is the photo


def test_test_py_results_page(browser, trained):
    report = browser.visit(trained["results"].as_uri(), "test_results_index.png")
    stats = check_page(report, per_row=2, min_rows=3)
    names = [Path(s["src"]).name for s in stats]
    assert names == [f"img{i}_{v}.png" for i in range(3) for v in ("real", "fake")]
    for s in stats:
        assert s["std"] > 3, s["src"]


def test_training_web_page(browser, trained):
    report = browser.visit(trained["web"].as_uri(), "train_web_index.png")
    stats = check_page(report, per_row=8, min_rows=1)
    names = [Path(s["src"]).name for s in stats]
    assert names[:8] == [f"epoch001_{v}.png" for v in ("real_A", "fake_B", "rec_A", "idt_B",
                                                        "real_B", "fake_A", "rec_B", "idt_A")]
    assert stats[0]["std"] > 3 and stats[4]["std"] > 3  # the real inputs are pictures


def test_checker_sees_broken_images_and_console_errors(browser, tmp_path):
    """The detectors themselves: a missing image, a script error and console.error are all caught."""
    Image.new("RGB", (8, 8), (200, 30, 30)).save(tmp_path / "ok.png")
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head><body><table><tr>"
        "<td><img src='ok.png' style='width:64px'></td><td><img src='missing.png' style='width:64px'></td></tr>"
        "</table><script>console.error('boom'); undefinedFunction();</script></body></html>")
    report = browser.visit((tmp_path / "index.html").as_uri(), "selftest_broken.png")
    decoded = {Path(im["src"]).name: im["nw"] for im in report.images}
    assert decoded == {"ok.png": 8, "missing.png": 0}
    text = "\n".join(report.errors)
    assert "console.error: boom" in text
    assert "undefinedFunction" in text
    assert "missing.png" in text  # the failed resource load
    with pytest.raises(AssertionError, match="console errors"):
        check_page(report, per_row=2, min_rows=1)
    ok = report.shot[30:40, 30:40]  # inside the red 64 px box near the top-left corner
    assert (np.abs(ok.astype(int) - [200, 30, 30]).max(axis=-1) <= 2).mean() > 0.9
