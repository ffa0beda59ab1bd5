"""Training dashboard and result pages: visdom (optional), HTML image history, loss logs, wandb (optional).

* :func:`save_images` writes the images of a test batch and one HTML row per input (``test.py``).
* :class:`Visualizer` is used by ``train.py``:

  - visdom, when ``--display_id > 0`` and a server answers at ``--display_server:--display_port``:
    a loss plot (window ``display_id``), the current visuals (``display_id + 1`` and ``+ 2``);
    an unreachable or dying server gives ONE warning and training goes on without it;
  - ``checkpoints/<name>/web/index.html`` with ``images/epochNNN_<label>.png``, newest epoch first;
  - ``checkpoints/<name>/loss_log.txt`` (reference format) and ``loss_log.jsonl`` (one JSON object a line);
  - wandb with ``--use_wandb`` (imported only then).

Only the main process (rank 0) talks to servers and writes files; on other ranks every method is a no-op.
``visdom`` and ``wandb`` are never imported at module import time.
"""
from __future__ import annotations

import contextlib
import html as html_lib
import json
import logging
import math
import os
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np
from PIL import Image

from util import dist
from util.fileio import atomic_write_text
from util.html import HTML
from util.image import from_pil, save_image, to_pil, to_rgb, to_uint8

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)

#: Seconds to wait for a TCP connection to the visdom server before giving up.
VISDOM_CONNECT_TIMEOUT_S = 2.0
#: Seconds to wait for the visdom server's answer to one request.
VISDOM_READ_TIMEOUT_S = 10.0

#: Keys of a ``loss_log.jsonl`` record that are not loss names.
_JSONL_RESERVED = frozenset({"epoch", "iters", "total_iters", "time", "data", "timestamp"})


class MissingDependencyError(RuntimeError, ImportError):
    """An optional package needed by a flag is not installed; the message says what to install."""


# --------------------------------------------------------------------------- test.py helper
def save_images(
    webpage: HTML,
    visuals: Mapping[str, "torch.Tensor"],
    image_paths: Sequence[str | os.PathLike],
    aspect_ratio: float = 1.0,
    width: int = 256,
) -> list[Path]:
    """Save every image of a batch to ``webpage``'s image folder and add one HTML row per input.

    Args:
        webpage: the page to add to (its ``images/`` folder receives the files).
        visuals: label -> float tensor ``(N, C, H, W)`` in ``[-1, 1]`` (all with the same ``N``);
            one-channel visuals are saved as grey PNGs.
        image_paths: the ``N`` source paths of the batch; their stems name the files
            ``<stem>_<label>.png`` and the row headers.
        aspect_ratio: output width / height factor: ``> 1`` widens (width ``w * ratio``),
            ``< 1`` makes taller (height ``h / ratio``); bicubic resampling; ``1.0`` keeps the pixels.
        width: displayed width of each image on the page (CSS pixels).

    Returns:
        The written image paths, in batch order then visual order.
    """
    if not isinstance(visuals, Mapping) or not visuals:
        raise ValueError(f"`visuals` must be a non-empty mapping label -> (N, C, H, W) tensor, got {visuals!r}")
    if isinstance(image_paths, (str, bytes, os.PathLike)):
        raise TypeError("`image_paths` must be a list with one path per batch image, "
                        f"not a single path {image_paths!r}")
    if isinstance(aspect_ratio, bool) or not isinstance(aspect_ratio, (int, float)) \
            or not math.isfinite(aspect_ratio) or aspect_ratio <= 0:
        raise ValueError(f"`aspect_ratio` must be a finite number > 0 (width/height factor), got {aspect_ratio!r}")
    arrays = OrderedDict((label, to_uint8(_check_visual(label, t))) for label, t in visuals.items())
    sizes = {label: len(a) for label, a in arrays.items()}
    n = next(iter(sizes.values()))
    if any(s != n for s in sizes.values()):
        raise ValueError(f"all `visuals` must have the same batch size, got {sizes}")
    image_paths = list(image_paths)
    if len(image_paths) != n:
        raise ValueError(f"`image_paths` has {len(image_paths)} entries but the visuals hold {n} images per label; "
                         "pass one source path per batch image")

    image_dir = Path(webpage.get_image_dir())
    written: list[Path] = []
    for i in range(n):
        stem = Path(os.fspath(image_paths[i])).stem
        webpage.add_header(stem)
        ims: list[str] = []
        txts: list[str] = []
        for label, batch in arrays.items():
            name = f"{stem}_{label}.png"
            path = image_dir / name
            save_image(path, apply_aspect_ratio(batch[i], aspect_ratio))
            written.append(path)
            ims.append(name)
            txts.append(label)
        webpage.add_images(ims, txts, ims, width=width)
    return written


def apply_aspect_ratio(image: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Resize a uint8 ``(H, W, C)`` image for an aspect ratio (bicubic).

    ``ratio > 1``: width becomes ``round(W * ratio)``; ``ratio < 1``: height becomes ``round(H / ratio)``;
    ``1.0`` returns the image unchanged. The channel count is kept.
    """
    if aspect_ratio == 1.0:
        return image
    h, w = image.shape[:2]
    if aspect_ratio > 1.0:
        new_w, new_h = max(1, round(w * aspect_ratio)), h
    else:
        new_w, new_h = w, max(1, round(h / aspect_ratio))
    return from_pil(to_pil(image).resize((new_w, new_h), Image.Resampling.BICUBIC))


def _check_visual(label: str, tensor: Any) -> "torch.Tensor":
    if not hasattr(tensor, "dim") or tensor.dim() != 4:
        shape = tuple(tensor.shape) if hasattr(tensor, "shape") else type(tensor).__name__
        raise ValueError(f"visuals[{label!r}] must be a float tensor (N, C, H, W) in [-1, 1], got {shape}")
    return tensor


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"loss {name!r} must be a number (float or one-element tensor), got {value!r}") from err


# --------------------------------------------------------------------------- visdom client
def _make_visdom_client(server: str, port: int, env: str):
    """Connect a visdom client with timeouts and no websocket thread.

    Raises ``ImportError`` when visdom is missing and ``ConnectionError`` (or another exception)
    when the server does not answer within the timeouts.
    """
    import requests
    import visdom

    class _TimeoutVisdom(visdom.Visdom):
        """visdom client whose HTTP requests time out and fail on HTTP errors."""

        def _handle_post(self, url, data=None):  # visdom's documented override point
            sess = getattr(self, "_timeout_session", None)
            if sess is None:
                sess = self._timeout_session = requests.Session()
            resp = sess.post(url, data={} if data is None else data,
                             timeout=(VISDOM_CONNECT_TIMEOUT_S, VISDOM_READ_TIMEOUT_S))
            resp.raise_for_status()  # a requests.RequestException: visdom turns it into ConnectionError
            return resp.text

    with _quiet_logger("visdom"):
        # raise_exceptions=True: errors become ConnectionError instead of tracebacks printed to stdout;
        # use_incoming_socket=False: no websocket thread, no 5 s wait for it.
        return _TimeoutVisdom(server=server, port=port, env=env, raise_exceptions=True,
                              use_incoming_socket=False)


@contextlib.contextmanager
def _quiet_logger(name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Temporarily raise a library logger's level (visdom warns about the disabled socket)."""
    lib_logger = logging.getLogger(name)
    old = lib_logger.level
    lib_logger.setLevel(level)
    try:
        yield
    finally:
        lib_logger.setLevel(old)


def _opt_dict(opt: Any) -> dict[str, Any]:
    return dict(vars(opt)) if hasattr(opt, "__dict__") else {}


# --------------------------------------------------------------------------- Visualizer
#: A loss line of loss_log.txt: "(epoch: E, iters: I, time: ..."
_TEXT_LOSS_LINE = re.compile(r"\(epoch: (\d+), iters: (\d+),")

class Visualizer:
    """Display, save and log training progress (see the module docstring).

    Reads from ``opt``: ``name``, ``checkpoints_dir``, ``isTrain``, ``no_html``, ``display_id``,
    ``display_server``, ``display_port``, ``display_env``, ``display_ncols``, ``display_winsize``,
    ``use_wandb``, ``wandb_project_name`` (missing optional fields take the reference defaults,
    except ``display_id`` which defaults to 0 = no visdom).

    Attributes:
        plot_data: loss history ``{"X": [epoch + fraction, ...], "Y": [[loss per name], ...],
            "legend": [names]}``, kept on the main process with or without visdom.
        vis: the visdom client, or None when visdom is off or was disabled after an error.
    """

    def __init__(self, opt: Any):
        self.opt = opt
        self.name = str(opt.name)
        self.is_main = dist.is_main()
        self.display_id = _int_opt(opt, "display_id", 0)
        self.display_server = str(getattr(opt, "display_server", "http://localhost"))
        self.display_port = _int_opt(opt, "display_port", 8097)
        self.display_env = str(getattr(opt, "display_env", "main"))
        self.ncols = _int_opt(opt, "display_ncols", 4)
        self.win_size = _int_opt(opt, "display_winsize", 256)
        if self.win_size <= 0:
            raise ValueError(f"--display_winsize must be > 0 (pixels), got {self.win_size}")
        if self.display_id > 0 and not 0 < self.display_port < 65536:
            raise ValueError(f"--display_port must be a TCP port 1..65535, got {self.display_port}")
        self.use_wandb = bool(getattr(opt, "use_wandb", False))
        self.use_html = bool(getattr(opt, "isTrain", True)) and not bool(getattr(opt, "no_html", False))

        self.ckpt_dir = Path(opt.checkpoints_dir) / self.name
        self.web_dir = self.ckpt_dir / "web"
        self.img_dir = self.web_dir / "images"
        self.log_name = self.ckpt_dir / "loss_log.txt"
        self.jsonl_name = self.ckpt_dir / "loss_log.jsonl"

        self.plot_data: dict[str, list] = {"X": [], "Y": [], "legend": []}
        self.timing_data: dict[str, list] = {"X": [], "Y": []}  # compute / data seconds per image
        self.vis = None
        self.wandb_run = None
        self._wandb = None
        self._saved_epoch: int | None = None
        self._visdom_warned = False
        self._page_written = False  # web/index.html exists (its path is logged once it does)
        if not self.is_main:
            self.use_html = False
            return

        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        if self.use_html:
            self.img_dir.mkdir(parents=True, exist_ok=True)
            if (self.web_dir / "index.html").is_file():
                self._page_written = True
                logger.info("HTML image history: %s", self.web_dir / "index.html")
        with open(self.log_name, "a", encoding="utf-8") as fh:
            fh.write(f"================ Training Loss ({time.strftime('%c')}) ================\n")
        if self.display_id > 0:
            self._connect_visdom()
        if self.use_wandb:
            self._init_wandb()

    # ------------------------------------------------------------------ setup helpers
    @property
    def server_url(self) -> str:
        """``display_server:display_port`` as shown in messages."""
        return f"{self.display_server.rstrip('/')}:{self.display_port}"

    def _connect_visdom(self) -> None:
        try:
            self.vis = _make_visdom_client(self.display_server, self.display_port, self.display_env)
        except ImportError as err:
            self._warn_visdom_once(
                f"--display_id {self.display_id} asks for the visdom dashboard but visdom cannot be imported "
                f"({err}). Install it (see README: `pip install 'setuptools<81'` then "
                f"`pip install --no-build-isolation visdom`) or pass `--display_id 0` to turn the dashboard off. "
                f"Training continues without it; {self._files_note()}."
            )
        except Exception as err:  # noqa: BLE001 - any failure must leave training running
            self._warn_visdom_once(
                f"No visdom server answers at {self.server_url} ({type(err).__name__}: {err}). "
                f"To watch training live, start one in another terminal with "
                f"`python -m visdom.server -port {self.display_port}` (on a remote machine, forward the port: "
                f"`ssh -L {self.display_port}:localhost:{self.display_port} <host>`) and restart training, "
                f"or pass `--display_id 0` to turn the dashboard off. "
                f"Training continues without the dashboard; {self._files_note()}."
            )
        else:
            logger.info("visdom dashboard: %s (env %r)", self.server_url, self.display_env)

    def _files_note(self) -> str:
        where = [str(self.log_name), str(self.jsonl_name)]
        if self.use_html:
            where.append(str(self.web_dir / "index.html"))
        return "losses and images are still written to " + ", ".join(where)

    def _warn_visdom_once(self, message: str) -> None:
        self.vis = None
        if not self._visdom_warned:
            self._visdom_warned = True
            logger.warning(message)

    def _visdom_call(self, what: str, fn, *args, **kwargs) -> None:
        """Run one visdom call; on any failure warn once and switch visdom off."""
        if self.vis is None:
            return
        try:
            fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the dashboard must never stop training
            self._close_visdom()
            self._warn_visdom_once(
                f"Lost the visdom server at {self.server_url} while {what} ({type(err).__name__}: {err}). "
                f"The dashboard is off for the rest of this run; training continues and {self._files_note()}. "
                f"Restart it with `python -m visdom.server -port {self.display_port}` for the next run, "
                f"or pass `--display_id 0`."
            )

    def _close_visdom(self) -> None:
        sess = getattr(self.vis, "_timeout_session", None)
        if sess is not None:
            sess.close()
        self.vis = None

    def _init_wandb(self) -> None:
        try:
            import wandb
        except ImportError as err:
            raise MissingDependencyError(
                f"--use_wandb needs the `wandb` package, which cannot be imported ({err}): "
                "pip install wandb (then `wandb login`), or drop --use_wandb"
            ) from err
        self._wandb = wandb
        project = str(getattr(self.opt, "wandb_project_name", "CycleGAN-and-pix2pix"))
        self.wandb_run = wandb.run if wandb.run is not None else wandb.init(
            project=project, name=self.name, config=_opt_dict(self.opt))
        logger.info("wandb logging: project %r, run %r", project, self.name)

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Start of an epoch: the next :meth:`display_current_results` saves HTML images again."""
        self._saved_epoch = None

    def display_current_results(self, visuals: Mapping[str, "torch.Tensor"], epoch: int, total_iters: int,
                                save_result: bool) -> None:
        """Show the first image of each visual on visdom/wandb and save it to the HTML history.

        Args:
            visuals: label -> float tensor ``(N, C, H, W)`` in ``[-1, 1]``; only image 0 is used.
            epoch: current epoch (>= 0), names the files ``epochNNN_<label>.png``.
            total_iters: images seen so far (logged to wandb).
            save_result: write the HTML images now; they are also written once per epoch regardless.
        """
        if not self.is_main:
            return
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"`epoch` must be an int >= 0, got {epoch!r}")
        if not isinstance(visuals, Mapping) or not visuals:
            raise ValueError(f"`visuals` must be a non-empty mapping label -> (N, C, H, W) tensor, got {visuals!r}")
        firsts = OrderedDict((label, to_uint8(_check_visual(label, t)[:1])[0]) for label, t in visuals.items())
        if self.vis is not None:
            self._visdom_call("showing the current visuals", self._show_visuals, firsts)
        if self.wandb_run is not None:
            record: dict[str, Any] = {f"results/{label}": self._wandb.Image(img) for label, img in firsts.items()}
            record.update(epoch=epoch, total_iters=total_iters)
            self.wandb_run.log(record)
        if self.use_html and (save_result or self._saved_epoch != epoch):
            self._saved_epoch = epoch
            for label, img in firsts.items():
                save_image(self.img_dir / f"epoch{epoch:03d}_{label}.png", img)
            self._write_index(epoch, list(firsts))

    def plot_current_losses(self, epoch: int, counter_ratio: float, losses: Mapping[str, float]) -> None:
        """Record losses at x = ``epoch + counter_ratio`` and redraw the visdom loss plot.

        Args:
            epoch: current epoch.
            counter_ratio: fraction of the epoch done, in [0, 1].
            losses: loss name -> value (float or one-element tensor).
        """
        if not self.is_main:
            return
        values = self._loss_values(losses)
        legend = self.plot_data["legend"]
        for key in values:
            if key not in legend:  # a new loss name: earlier points get NaN for it
                legend.append(key)
                for row in self.plot_data["Y"]:
                    row.append(math.nan)
        self.plot_data["X"].append(float(epoch) + float(counter_ratio))
        self.plot_data["Y"].append([values.get(key, math.nan) for key in legend])

        if self.vis is not None:
            self._visdom_call("plotting the losses", self._plot_losses)
        if self.wandb_run is not None:
            self.wandb_run.log({**values, "epoch": float(epoch) + float(counter_ratio)})

    def print_current_losses(self, epoch: int, iters: int, losses: Mapping[str, float], t_comp: float,
                             t_data: float, total_iters: int | None = None) -> str:
        """Log one loss line and append it to ``loss_log.txt`` and ``loss_log.jsonl``.

        Args:
            epoch: current epoch.
            iters: images seen in this epoch.
            losses: loss name -> value (float or one-element tensor).
            t_comp: seconds of computation per image.
            t_data: seconds of data loading per image.
            total_iters: images seen since the start (stored in the JSONL record).

        Returns:
            The message, ``(epoch: E, iters: I, time: T.TTT, data: D.DDD) NAME: V.VVV ...``
            (space-separated, with a trailing space as in the reference's log).
        """
        values = self._loss_values(losses)
        message = f"(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) "
        message += "".join(f"{k}: {v:.3f} " for k, v in values.items())
        if not self.is_main:
            return message
        clash = _JSONL_RESERVED.intersection(values)
        if clash:
            raise ValueError(f"loss names {sorted(clash)} clash with loss_log.jsonl fields {sorted(_JSONL_RESERVED)}; "
                             "rename those losses")
        logger.info("%s", message)
        with open(self.log_name, "a", encoding="utf-8") as fh:
            fh.write(message + "\n")
        record: dict[str, Any] = {"epoch": epoch, "iters": iters, "total_iters": total_iters,
                                  "time": _finite_or_none(float(t_comp)), "data": _finite_or_none(float(t_data))}
        record.update((k, _finite_or_none(v)) for k, v in values.items())
        record["timestamp"] = time.time()
        with open(self.jsonl_name, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, allow_nan=False) + "\n")
        self.timing_data["X"].append(float(total_iters if total_iters is not None else iters))
        self.timing_data["Y"].append([float(t_comp), float(t_data)])
        if self.vis is not None:
            self._visdom_call("plotting the timing", self._plot_timing)
        return message

    def _plot_timing(self) -> None:
        """Second dashboard window: compute and data-loading seconds per image over training."""
        y = np.asarray(self.timing_data["Y"], dtype=np.float64)
        y[~np.isfinite(y)] = np.nan
        x = np.repeat(np.asarray(self.timing_data["X"], dtype=np.float64)[:, None], 2, axis=1)
        self.vis.line(X=x, Y=y, win=f"{self.name} timing",
                      opts={"title": f"{self.name} seconds per image", "legend": ["compute", "data"],
                            "xlabel": "images seen", "ylabel": "s / image"})

    def truncate_loss_log(self, total_iters: int) -> int:
        """Drop ``loss_log.jsonl`` records past ``total_iters`` (and a torn last line), e.g. the rows a
        killed run logged after its last checkpoint, before resuming from that checkpoint; the
        matching ``(epoch: E, iters: I, ...)`` lines of ``loss_log.txt`` (and a torn last line) go too.

        Rewritten atomically; returns how many JSONL lines were dropped (0: the files are untouched).
        """
        if not self.is_main or not self.jsonl_name.is_file():
            return 0
        lines = self.jsonl_name.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = []
        gone: set[tuple[int, int]] = set()  # (epoch, iters) of the dropped records
        for line in lines:
            try:
                record = json.loads(line) if line.endswith("\n") else None
            except ValueError:
                record = None
            if not isinstance(record, dict):
                continue  # a line cut short by a kill
            done = record.get("total_iters")
            if isinstance(done, int) and done > total_iters:
                gone.add((record.get("epoch"), record.get("iters")))
                continue
            kept.append(line)
        dropped = len(lines) - len(kept)
        if dropped:
            atomic_write_text(self.jsonl_name, "".join(kept))
            self._truncate_text_log(gone)
            logger.info("%s: dropped %d record(s) logged after the restored checkpoint (%d images)",
                        self.jsonl_name, dropped, total_iters)
        return dropped

    def _truncate_text_log(self, gone: set[tuple[int, int]]) -> None:
        """Remove the ``loss_log.txt`` loss lines of the dropped records and a torn last line."""
        if not self.log_name.is_file():
            return
        lines = self.log_name.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = []
        for line in lines:
            if not line.endswith("\n"):
                continue  # cut short by a kill
            m = _TEXT_LOSS_LINE.match(line)
            if m and (int(m.group(1)), int(m.group(2))) in gone:
                continue
            kept.append(line)
        if len(kept) != len(lines):
            atomic_write_text(self.log_name, "".join(kept))

    def close(self) -> None:
        """Flush and release everything (log files are flushed after every line already)."""
        if self.is_main and self.use_html and not self._page_written:
            logger.info("no training images were shown (fewer than --display_freq %s images trained in an "
                        "epoch), so %s was not written", getattr(self.opt, "display_freq", "?"),
                        self.web_dir / "index.html")
        if self.vis is not None:
            self._close_visdom()
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None

    def __enter__(self) -> "Visualizer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _loss_values(losses: Mapping[str, float]) -> "OrderedDict[str, float]":
        if not isinstance(losses, Mapping):
            raise TypeError(f"`losses` must be a mapping loss name -> number, got {type(losses).__name__}")
        return OrderedDict((str(k), _as_float(str(k), v)) for k, v in losses.items())

    def _write_index(self, epoch: int, labels: list[str]) -> None:
        """Rebuild web/index.html: one header and row per epoch whose images exist, newest first."""
        page = HTML(self.web_dir, f"Experiment name = {self.name}", refresh=1)
        for n in range(epoch, -1, -1):
            names = [f"epoch{n:03d}_{label}.png" for label in labels]
            present = [(name, label) for name, label in zip(names, labels, strict=True)
                       if (self.img_dir / name).is_file()]
            if not present:
                continue
            page.add_header(f"epoch [{n}]")
            ims = [name for name, _ in present]
            page.add_images(ims, [label for _, label in present], ims, width=self.win_size)
        page.save()
        if not self._page_written:
            self._page_written = True
            logger.info("HTML image history: %s", self.web_dir / "index.html")

    def _display_image(self, img: np.ndarray) -> np.ndarray:
        """uint8 (H, W, C) -> RGB float (3, H', W') in [0, 1], upscaled by an integer factor
        (nearest) towards ``display_winsize`` so that small pixel art stays sharp."""
        rgb = to_rgb(img)
        factor = max(1, self.win_size // max(rgb.shape[0], rgb.shape[1]))
        if factor > 1:
            rgb = rgb.repeat(factor, axis=0).repeat(factor, axis=1)
        return rgb.transpose(2, 0, 1).astype(np.float32) / 255.0

    def _show_visuals(self, firsts: "OrderedDict[str, np.ndarray]") -> None:
        labels = list(firsts)
        images = [self._display_image(img) for img in firsts.values()]
        if self.ncols > 0:
            ncols = min(self.ncols, len(images))
            height = max(im.shape[1] for im in images)
            width = max(im.shape[2] for im in images)
            grid = np.ones((len(images) + (-len(images)) % ncols, 3, height, width), dtype=np.float32)  # white
            for k, im in enumerate(images):
                grid[k, :, : im.shape[1], : im.shape[2]] = im
            self.vis.images(grid, nrow=ncols, padding=2, win=str(self.display_id + 1),
                            opts={"title": f"{self.name} images"})
            rows = []
            for start in range(0, len(labels), ncols):
                cells = "".join(f"<td>{html_lib.escape(lab)}</td>" for lab in labels[start:start + ncols])
                rows.append(f"<tr>{cells}</tr>")
            table = ('<table style="border-collapse: separate; border-spacing: 8px 2px; text-align: center">'
                     + "".join(rows) + "</table>")
            self.vis.text(table, win=str(self.display_id + 2), opts={"title": f"{self.name} labels"})
        else:
            for k, (label, im) in enumerate(zip(labels, images, strict=True)):
                self.vis.image(im, win=str(self.display_id + 1 + k), opts={"title": label})

    def _plot_losses(self) -> None:
        legend = list(self.plot_data["legend"])
        y = np.asarray(self.plot_data["Y"], dtype=np.float64)
        y[~np.isfinite(y)] = np.nan  # visdom sends NaN as a gap; inf is not valid JSON
        x = np.repeat(np.asarray(self.plot_data["X"], dtype=np.float64)[:, None], len(legend), axis=1)
        self.vis.line(X=x, Y=y, win=str(self.display_id),
                      opts={"title": f"{self.name} loss over time", "legend": legend,
                            "xlabel": "epoch", "ylabel": "loss"})


def _int_opt(opt: Any, field: str, default: int) -> int:
    value = getattr(opt, field, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"--{field} must be an int, got {value!r}")
    return int(value)
