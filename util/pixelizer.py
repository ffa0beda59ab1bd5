"""The pixelize job: inputs (files, folders, videos) -> optional generator -> postprocess -> outputs + HTML.

Nothing is lost and nothing is hidden: every input is either done, skipped (its output
already exists; ``--overwrite`` redoes it) or failed with its path and reason; inputs
are never modified; every output is written atomically. Under torchrun each rank takes
a disjoint share of the inputs (``util.dist.shard``) and rank 0 writes the page.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import postprocess
from util.samples import SAMPLE_PHOTOS, SAMPLES, is_cartoon, load_sample
from postprocess.background import guide_stylised
from util.image import ImageLoadError, is_image_file, load_image, save_image, save_upscaled, to_rgb

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"})
#: Image formats every browser shows; other inputs get a PNG preview for the HTML page.
BROWSER_FORMATS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})


# --------------------------------------------------------------------------- jobs
@dataclass
class Job:
    """One input and where its outputs go. ``source`` is a path, or ``sample:<name>``."""

    source: str
    rel: Path  # output path relative to --output, without extension
    kind: str  # "image" | "video"

    @property
    def label(self) -> str:
        """How reports and the HTML page name this input."""
        if self.source.startswith("sample:"):
            name = self.source.split(":", 1)[1]
            return f"{name} (sample {'cartoon' if is_cartoon(name) else 'photo'})"
        return self.source


@dataclass
class Outcome:
    """What happened to one job."""

    job: Job
    status: str  # "done" | "skipped" | "failed"
    output: Path | None = None
    reason: str = ""
    preview_in: Path | None = None
    preview_out: Path | None = None
    colors: int | None = None
    preview_alone: Path | None = None  # --compare: the same image pixelized without the generator


@dataclass
class Summary:
    """Counts over all jobs (all ranks once gathered)."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        self.outcomes.append(outcome)

    @property
    def total(self) -> int:
        return self.done + self.skipped + self.failed

    def line(self, output: str | os.PathLike) -> str:
        return (f"pixelize: {self.done} done, {self.skipped} skipped, {self.failed} failed "
                f"(of {self.total} inputs) -> {output}")


def is_video_file(path: str | os.PathLike) -> bool:
    """True when ``path`` has a video extension (any case); GIFs count as videos."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


#: Hidden temporary files of an interrupted atomic write (``util.fileio.atomic_path``): ``.name.XXXX.tmp.png``.
_TEMP_FILE = re.compile(r"^\..+\.tmp(\.[^.]*)+$")


def is_temp_file(path: str | os.PathLike) -> bool:
    """True for the hidden temporary files an interrupted atomic write leaves (``.a.k3j1.tmp.png``)."""
    return bool(_TEMP_FILE.match(Path(path).name))


def _walk(root: Path, exclude: Path | None) -> list[Path]:
    """Every file under ``root``, following symlinked folders (each real folder once, so a link
    loop ends), without the tree at ``exclude`` and without interrupted writes' temp files."""
    files: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            logger.info("%s: folder already visited through another link; not walked again", dirpath)
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()  # deterministic: of two links to one folder, the first in name order is walked
        if exclude is not None:
            dirnames[:] = [d for d in dirnames if Path(os.path.realpath(os.path.join(dirpath, d))) != exclude]
        for name in filenames:
            path = Path(dirpath) / name
            if is_temp_file(name):
                logger.debug("%s: temporary file of an interrupted write, ignored", path)
            elif path.is_file():
                files.append(path)
    return sorted(files)


def collect_jobs(inputs: list[str] | None, *, output: str | os.PathLike | None = None, demo: bool = False
                 ) -> tuple[list[Job], list[str]]:
    """Expand inputs into jobs (sorted, deterministic) and list the files that were ignored.

    One folder given: its tree is mirrored directly under --output. Several inputs: each
    folder gets a sub-folder named after it, each file lands at the top. Folders are walked
    recursively, following symlinked folders (loop-safe); the ``output`` tree is left out when
    it lies inside an input folder (its files are earlier results, not inputs), and so are the
    hidden temp files of interrupted writes. Raises ValueError for an input that does not exist
    or two inputs that would write the same output.
    """
    if not inputs:
        names = SAMPLES if demo else SAMPLE_PHOTOS
        return [Job(f"sample:{name}", Path(name), "image") for name in names], []
    jobs: list[Job] = []
    ignored: list[str] = []
    exclude = Path(os.path.realpath(output)) if output is not None else None
    single_dir = len(inputs) == 1 and Path(inputs[0]).is_dir()
    for item in inputs:
        root = Path(item)
        if not root.exists():
            raise ValueError(f"--input {item}: no such file or folder")
        if root.is_file():
            files, base, prefix = [root], root.parent, Path()
        else:
            files = _walk(root, exclude)
            base, prefix = root, Path() if single_dir else Path(root.resolve().name)
        for f in files:
            if is_video_file(f):
                kind = "video"
            elif is_image_file(f):
                kind = "image"
            else:
                ignored.append(str(f))
                continue
            rel = prefix / f.relative_to(base)
            jobs.append(Job(str(f), rel.with_suffix(""), kind))
    seen: dict[Path, str] = {}
    for job in jobs:
        if job.rel in seen:
            raise ValueError(f"--input: {seen[job.rel]} and {job.source} would both write {job.rel}.*; "
                             "rename one or pass them in separate runs")
        seen[job.rel] = job.source
    return jobs, ignored


def check_output_folder(inputs: list[str] | None, output: str | os.PathLike) -> None:
    """Refuse an --output that is an existing file or one of the input folders (ValueError naming it)."""
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {output} is an existing file, not a folder; give a folder name")
    for item in inputs or []:
        if Path(item).is_dir() and os.path.realpath(item) == os.path.realpath(out):
            raise ValueError(f"--output {output} is the input folder {item}: its outputs would replace or mix "
                             "with the inputs; choose a separate folder")


def load_source(job: Job, keep_alpha: bool, max_pixels: int | None = None) -> np.ndarray:
    """uint8 (H, W, 3|4) pixels of an image job (samples come from scikit-image, no download);
    files above ``max_pixels`` (default ``util.image.MAX_PIXELS``) are refused."""
    if job.source.startswith("sample:"):
        return np.ascontiguousarray(load_sample(job.source.split(":", 1)[1]))
    return load_image(job.source, keep_alpha=keep_alpha, max_pixels=max_pixels)


def check_writable(out_dir: Path) -> None:
    """Create ``out_dir`` and write (then remove) a hidden probe file there; OSError when that fails
    (read-only folder, full disk, a file in the way), so the run stops with one message."""
    import tempfile

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".pixelize.", suffix=".tmp.probe") as fh:
        fh.write(b"probe")
        fh.flush()


# --------------------------------------------------------------------------- generator stage
class GeneratorStage:
    """A loaded generator applied to uint8 images of any size, in batches, under inference_mode."""

    def __init__(self, path: str, *, overrides: dict[str, Any], device: str, gen_size: int,
                 scale: float | None = None) -> None:
        """``scale``: resize factor applied to every input before the generator (None = none); a shipped
        generator trained at cell ``C`` gets ``C / --pixel_size``, so one output cell is ``C`` of its pixels."""
        import torch

        from models import networks
        from models.inference import load_generator

        self.torch = torch
        self.device = torch.device(device)
        self.net, self.config = load_generator(path, overrides=overrides, device=self.device)
        self.multiple = networks.required_multiple(self.config["netG"])
        self.gen_size = gen_size
        self.scale = scale
        self.lock = threading.Lock()
        logger.info("generator: %s (%s) on %s", path,
                    ", ".join(f"{k}={v}" for k, v in self.config.items()), self.device)

    def _fit(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        scale = 1.0 if self.scale is None else self.scale
        if self.gen_size and max(h, w) * scale > self.gen_size:
            scale = self.gen_size / max(h, w)
        if scale != 1.0:
            import cv2

            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            if size != (w, h):
                return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        return image

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """uint8 RGB (H, W, 3) images -> generator outputs, same sizes, uint8 RGB."""
        from models.inference import run_padded
        from util.image import to_tensor, to_uint8

        fitted = [self._fit(to_rgb(im)) for im in images]
        if self.config["input_nc"] == 1:
            fitted = [np.round(im @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None] for im in fitted]
        outputs: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(fitted):
            groups.setdefault(im.shape, []).append(i)
        with self.lock, self.torch.inference_mode():
            for idxs in groups.values():
                x = to_tensor([fitted[i] for i in idxs]).to(self.device)
                y = to_uint8(run_padded(self.net, x, self.multiple))
                for i, out in zip(idxs, y):
                    outputs[i] = out
        results = []
        for im, out in zip(images, outputs):
            out = to_rgb(out)
            if out.shape[:2] != im.shape[:2]:
                import cv2

                out = cv2.resize(out, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_CUBIC)
            results.append(out)
        return results


# --------------------------------------------------------------------------- the job runner
class Pixelizer:
    """Runs the pixelize job described by parsed pixelize options (``options.pixelize_options``)."""

    def __init__(self, opt, generator: GeneratorStage | None = None) -> None:
        self.opt = opt
        self.out_dir = Path(opt.output)
        self.generator = generator
        self.summary = Summary()
        self.palette = postprocess.load_palette(opt.palette) if opt.palette else None

    # ---------------------------------------------------------------- quantisation
    def settings(self) -> dict[str, Any]:
        """Keyword arguments for postprocess.pixelize_image / pixelize_frames."""
        opt = self.opt
        kwargs: dict[str, Any] = dict(pixel_size=opt.pixel_size, n_colors=opt.n_colors, palette=self.palette,
                                      dither=opt.dither, saturation=opt.saturation, contrast=opt.contrast,
                                      keep_alpha=opt.keep_alpha, seed=opt.seed)
        if opt.outline is not None:
            kwargs["outline"] = opt.outline
        return kwargs

    def _prepare(self, image: np.ndarray, stylised: np.ndarray | None) -> np.ndarray:
        """Input (with alpha) + generator output -> the image to quantise (alpha carried over)."""
        if stylised is None:
            return image
        stylised = guide_stylised(stylised, to_rgb(image), self.opt.pixel_size, color_match=bool(self.opt.color_match),
                                  keep_white=bool(getattr(self.opt, "keep_white", False)))
        if image.shape[2] == 4:
            return np.concatenate([stylised, image[..., 3:]], axis=2)
        return stylised

    def _cell_size(self, hw: tuple[int, int], label: str) -> int:
        smallest = min(hw)
        if smallest < self.opt.pixel_size:
            logger.warning("%s: image is %dx%d, smaller than --pixel_size %d: using one cell of %d px",
                           label, hw[1], hw[0], self.opt.pixel_size, smallest)
            return smallest
        return self.opt.pixel_size

    # ---------------------------------------------------------------- images
    def output_path(self, job: Job) -> Path:
        ext = ".png" if job.kind == "image" else f".{self.opt.video_format}"
        return self.out_dir / job.rel.with_suffix(ext)

    def alone_path(self, job: Job) -> Path:
        """Where ``--compare`` puts the image pixelized without the generator."""
        out = self.output_path(job)
        return out.with_name(f"{out.stem}_post_only.png")

    def planned_outputs(self, job: Job) -> list[Path]:
        """Every file this job may write (output, palettes, previews)."""
        out = self.output_path(job)
        paths = [out] + [out.with_suffix(f".{fmt}") for fmt in self.opt.save_palette]
        if job.kind == "image":
            paths.append(self.out_dir / "inputs" / job.rel.with_suffix(".png"))
            if getattr(self.opt, "compare", False):
                paths.append(self.alone_path(job))
        else:
            stem = job.rel.as_posix().replace("/", "__")
            paths += [self.out_dir / "previews" / f"{stem}_input.png", self.out_dir / "previews" / f"{stem}.png"]
        return paths

    def refuse_overwriting_inputs(self, jobs: list[Job], other_inputs: Iterable[str] = ()) -> None:
        """Raise ValueError when any file this run may write is one of its inputs (with or without
        --overwrite): the inputs are never modified. Paths are compared after resolving symlinks."""
        def key(path: str | os.PathLike) -> str:
            return os.path.realpath(path)

        def identity(path: str | os.PathLike) -> tuple[int, int] | None:
            try:
                st = os.stat(path)
            except OSError:
                return None
            return st.st_dev, st.st_ino

        inputs = {key(j.source): j.source for j in jobs if not j.source.startswith("sample:")}
        inputs.update({key(f): str(f) for f in other_inputs})
        if not inputs:
            return
        by_identity = {identity(path): name for path, name in inputs.items()}  # hard links too
        by_identity.pop(None, None)
        planned = [p for job in jobs for p in self.planned_outputs(job)] + [self.out_dir / "index.html"]
        for path in planned:
            hit = inputs.get(key(path))
            if hit is None and os.path.lexists(path):
                hit = by_identity.get(identity(path))
            if hit is not None:
                raise ValueError(f"--output {self.opt.output}: {path} would overwrite the input {hit}; "
                                 "inputs are never replaced, choose a separate output folder")

    def _input_preview(self, job: Job, image: np.ndarray) -> Path:
        """A file the HTML page can show for the input: the input itself when browsers read its
        format, else (samples, TIFF, PPM) a PNG copy under ``<output>/inputs/``."""
        if not job.source.startswith("sample:") and Path(job.source).suffix.lower() in BROWSER_FORMATS:
            return Path(job.source)
        path = self.out_dir / "inputs" / job.rel.with_suffix(".png")
        if not path.exists() or self.opt.overwrite:
            save_image(path, image, indexed=False)
        return path

    def finish_image(self, job: Job, image: np.ndarray, stylised: np.ndarray | None) -> Outcome:
        """Quantise one loaded image and save it (and its palette)."""
        out_path = self.output_path(job)
        settings = self.settings()
        settings["pixel_size"] = self._cell_size(image.shape[:2], job.label)
        native, palette = postprocess.pixelize_image_with_palette(self._prepare(image, stylised), **settings)
        self.save_display(out_path, native, image.shape[:2], settings["pixel_size"])
        self._save_palette(palette, out_path)
        alone = None
        if stylised is not None and getattr(self.opt, "compare", False):
            alone = self.alone_path(job)
            native_alone = postprocess.pixelize_image(image, **settings)
            self.save_display(alone, native_alone, image.shape[:2], settings["pixel_size"])
        return Outcome(job, "done", out_path, preview_in=self._input_preview(job, image), preview_out=out_path,
                       colors=int(len(palette)), preview_alone=alone)

    def display_size(self, native: np.ndarray, source_hw: tuple[int, int], cell: int) -> np.ndarray:
        """Enlarge a native result by --upscale; at the default (--upscale = --pixel_size) by the
        cell size, with the partial edge cells cut, so the output has exactly the input's size
        (images smaller than --pixel_size too)."""
        factor = cell if self.opt.upscale == self.opt.pixel_size else self.opt.upscale
        big = postprocess.upscale(native, factor)
        return big[: source_hw[0], : source_hw[1]] if factor == cell else big

    def save_display(self, path: Path, native: np.ndarray, source_hw: tuple[int, int], cell: int) -> None:
        """Save ``display_size(native, ...)`` without building the enlarged RGB picture (same bytes;
        a 100 MP output costs 1 byte per pixel instead of ~50 during the save)."""
        factor = cell if self.opt.upscale == self.opt.pixel_size else self.opt.upscale
        save_upscaled(path, native, factor, source_hw if factor == cell else None)

    def _save_palette(self, palette: np.ndarray, out_path: Path) -> None:
        for fmt in self.opt.save_palette:
            postprocess.save_palette(out_path.with_suffix(f".{fmt}"), palette)

    def run_images(self, jobs: list[Job], report: Callable[[Outcome], None]) -> None:
        """Load (threads) -> generator (batches) -> quantise + save (threads)."""
        batch = self.opt.batch_size if self.generator is not None else max(1, self.opt.workers * 2)

        def load(job: Job) -> tuple[Job, np.ndarray | None, str]:
            try:
                return job, load_source(job, self.opt.keep_alpha, getattr(self.opt, "max_pixels", None)), ""
            except ImageLoadError as err:
                return job, None, err.reason
            except Exception as err:  # noqa: BLE001 - report any decoder failure by path, keep going
                return job, None, f"{type(err).__name__}: {err}"

        def finish(job: Job, image: np.ndarray, stylised: np.ndarray | None) -> Outcome:
            try:
                return self.finish_image(job, image, stylised)
            except (ValueError, OSError) as err:
                return Outcome(job, "failed", reason=str(err))

        pool = ThreadPoolExecutor(max_workers=self.opt.workers)
        interrupted = True
        pending: list = []
        try:
            for start in range(0, len(jobs), batch):
                loaded = list(pool.map(load, jobs[start:start + batch]))
                good = [(job, im) for job, im, reason in loaded if im is not None]
                for job, im, reason in loaded:
                    if im is None:
                        report(Outcome(job, "failed", reason=reason))
                pending += [pool.submit(finish, job, im, st) for job, im, st in self._stylise(good, report)]
                # With a generator, finish this batch before the next forward pass: torch's threads
                # already use every core, and sharing them with quantisation slows both down.
                keep = 0 if self.generator is not None else 2 * batch
                while len(pending) > keep:
                    report(pending.pop(0).result())
            for fut in pending:
                report(fut.result())
            interrupted = False
        finally:
            # On Ctrl-C, drop the queued work at once; the few running tasks finish their (atomic) writes
            # and are still counted.
            pool.shutdown(wait=True, cancel_futures=interrupted)
            if interrupted:
                for fut in pending:
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        report(fut.result())

    def _stylise(self, good: list[tuple[Job, np.ndarray]], report: Callable[[Outcome], None]
                 ) -> list[tuple[Job, np.ndarray, np.ndarray | None]]:
        """Generator outputs for a batch; when the batch fails, each image is retried alone and the
        one(s) the generator cannot take are reported as failed, so the others still finish."""
        if self.generator is None or not good:
            return [(job, im, None) for job, im in good]
        try:
            return [(job, im, st) for (job, im), st in zip(good, self.generator([im for _, im in good]))]
        except (RuntimeError, ValueError) as err:
            if len(good) == 1:
                text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                report(Outcome(good[0][0], "failed", reason=f"the generator failed on this image ({text})"))
                return []
            return [item for pair in good for item in self._stylise([pair], report)]

    # ---------------------------------------------------------------- videos
    def run_video(self, job: Job) -> Outcome:
        """Stream a video through the generator and ``pixelize_frames`` into mp4 or gif.

        A video smaller than --pixel_size gets one cell of its short side, like an image; when
        the job fails, the previews it wrote are removed again.
        """
        from util import video

        out_path = self.output_path(job)
        reader = video.open_video(job.source, getattr(self.opt, "max_pixels", None))
        stem = job.rel.as_posix().replace("/", "__")
        preview_in = self.out_dir / "previews" / f"{stem}_input.png"
        preview_out = self.out_dir / "previews" / f"{stem}.png"
        fresh = [p for p in (preview_in, preview_out) if not p.exists()]
        keep_alpha = self.opt.keep_alpha and reader.has_alpha and self.opt.video_format == "gif"
        settings = self.settings()
        settings["keep_alpha"] = keep_alpha
        cell = settings["pixel_size"] = self._cell_size(reader.size[::-1], job.label)
        factor = cell if self.opt.upscale == self.opt.pixel_size else self.opt.upscale
        try:
            frames: Iterable[np.ndarray] = _save_first(reader.frames(keep_alpha), preview_in)
            if self.generator is not None:
                frames = self._stylise_stream(frames)
            native_frames = postprocess.pixelize_frames(frames, **settings)
            count = video.write_video(out_path, native_frames, fps=reader.fps, fmt=self.opt.video_format,
                                      upscale=factor, crop_to=reader.size[::-1] if factor == cell else None,
                                      audio_from=job.source if self.opt.video_format == "mp4" else None,
                                      first_frame_to=preview_out, total=reader.n_frames, desc=job.rel.name)
            if count == 0:
                raise ValueError("the video has no frames")
        except BaseException:
            for path in fresh:
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):  # only when empty
                preview_in.parent.rmdir()
            raise
        return Outcome(job, "done", out_path, preview_in=preview_in, preview_out=preview_out)

    def _stylise_stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        batch: list[np.ndarray] = []
        for frame in frames:
            batch.append(frame)
            if len(batch) == self.opt.batch_size:
                yield from (self._prepare(f, s) for f, s in zip(batch, self.generator(batch)))
                batch = []
        if batch:
            yield from (self._prepare(f, s) for f, s in zip(batch, self.generator(batch)))

    # ---------------------------------------------------------------- all together
    def run(self, jobs: list[Job], report: Callable[[Outcome], None]) -> Summary:
        """Process this rank's jobs; ``report`` is called once per job as it ends."""
        summary = self.summary = Summary()  # kept on self so that an interrupted run can report what it did

        def record(outcome: Outcome) -> None:
            summary.add(outcome)
            report(outcome)

        todo: list[Job] = []
        for job in jobs:
            out = self.output_path(job)
            if out.exists() and not self.opt.overwrite:
                record(Outcome(job, "skipped", out, reason="output exists (use --overwrite to redo)",
                               preview_out=out))
            else:
                todo.append(job)
        self.run_images([j for j in todo if j.kind == "image"], record)
        for job in (j for j in todo if j.kind == "video"):
            try:
                record(self.run_video(job))
            except (ValueError, OSError, RuntimeError) as err:
                record(Outcome(job, "failed", reason=str(err)))
        return summary


def _save_first(frames: Iterable[np.ndarray], path: Path) -> Iterator[np.ndarray]:
    """Pass frames through, saving the first one as a PNG (the page's input preview) on the way."""
    for i, frame in enumerate(frames):
        if i == 0:
            save_image(path, frame, indexed=False)
        yield frame


# --------------------------------------------------------------------------- HTML
def write_page(out_dir: Path, outcomes: list[Outcome], title: str) -> Path:
    """index.html with input | output side by side for every finished job."""
    from util import html

    page = html.HTML(out_dir, title)
    for o in outcomes:
        if o.status == "failed" or o.preview_out is None or not o.preview_out.exists():
            continue
        page.add_header(o.job.label if o.colors is None else f"{o.job.label} ({o.colors} colours)")
        if o.preview_alone is not None:
            shown = (o.preview_in, o.preview_alone, o.preview_out)
            labels = ["input", "post-processing alone", "generator + post-processing"]
        else:
            shown, labels = (o.preview_in, o.preview_out), ["input", "pixel art"]
        images = [os.path.relpath(p, out_dir / "images") for p in shown if p is not None]
        page.add_images(images, labels[-len(images):], images, width=320)
    page.save()
    with contextlib.suppress(OSError):  # the page links its files in place: no images/ folder of its own
        page.get_image_dir().rmdir()
    return out_dir / "index.html"

