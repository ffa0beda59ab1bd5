"""The pixelize runner: jobs -> optional generator -> postprocess -> outputs + HTML page.

``pixelize.py`` parses its flags, then calls, in order: :func:`plan` (every check that needs no
write: output folder, inputs, outputs that would replace inputs), :func:`load_generator_stage`,
:meth:`Pixelizer.run` on this rank's share of the jobs, :func:`gather` and :func:`write_page`.
Setup problems a flag fixes raise :class:`util.cli.FlagError`.

Nothing is lost and nothing is hidden: every input is either done, skipped (its output
already exists, made with the same settings; ``--overwrite`` redoes it) or failed with its path
and reason; inputs are never modified; every output is written atomically. Each output folder
keeps a record of what this tool wrote there (:data:`RECORD_FILE`: per output, its input, the
settings it was made with and the files the page shows), so that an output made with other
settings is redone and the page lists the results of every run into the folder. Under torchrun each rank takes
a disjoint share of the inputs (``util.dist.shard``) and rank 0 writes the page.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import postprocess
from engine.generator import GeneratorStage, Guidance
from engine.jobs import Job, check_output_folder, collect_jobs, load_source
from engine.route import AutoStage, Route
from postprocess.guidance import guide, guided_pixelize
from util import dist, pretrained
from util.cli import FlagError
from util.fileio import atomic_write_text
from util.image import ImageLoadError, save_image, save_upscaled, to_rgb
from util.pretrained import AUTO

logger = logging.getLogger(__name__)

#: ``--pretrained auto`` writes the choice made for each image here, beside index.html.
ROUTES_FILE = "routes.json"
#: Per output folder: what this tool wrote there, with the settings, beside index.html (see :func:`update_record`).
RECORD_FILE = "pixelize.json"
#: Longest side of the input previews the page shows (``<output>/inputs/<rel>.png``).
PREVIEW_SIDE = 640
#: Flags that only matter with a generator: dest -> how the user typed it.
GENERATOR_FLAGS = {"color_match": "--color_match", "keep_white": "--keep_white", "keep_tone": "--keep_tone",
                   "despeckle": "--despeckle", "netG": "--netG", "ngf": "--ngf",
                   "norm": "--norm", "no_dropout": "--no_dropout", "use_dropout": "--use_dropout",
                   "input_nc": "--input_nc", "output_nc": "--output_nc", "gen_size": "--gen_size",
                   "batch_size": "--batch_size", "device": "--device", "gpu_ids": "--gpu_ids", "amp": "--amp", "epoch": "--epoch",
                   "model_suffix": "--model_suffix", "checkpoints_dir": "--checkpoints_dir"}


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
    route: Route | None = None  # --pretrained auto: what the image was taken for, the stage chosen and why
    settings: dict | None = None  # done: the settings it was made with (Pixelizer.settings_record)


@dataclass
class Summary:
    """Counts over all jobs (all ranks once gathered)."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        """Count ``outcome`` under its status and keep it."""
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        self.outcomes.append(outcome)

    @property
    def total(self) -> int:
        """Number of inputs seen: done, skipped and failed."""
        return self.done + self.skipped + self.failed

    def line(self, output: str | os.PathLike) -> str:
        """The summary line printed at the end of a run that wrote to ``output``."""
        return (f"pixelize: {self.done} done, {self.skipped} skipped, {self.failed} failed "
                f"(of {self.total} inputs) -> {output}")



# --------------------------------------------------------------------------- the job runner
class Pixelizer:
    """Runs the pixelize job described by parsed pixelize options (``options.pixelize_options``)."""

    def __init__(self, opt, settings: postprocess.PixelArtSettings | None = None,
                 generator: GeneratorStage | AutoStage | None = None) -> None:
        """``settings``: the validated post-processing record (default: :func:`settings_from_options`)."""
        self.opt = opt
        self.out_dir = Path(opt.output)
        self.generator = generator
        self.summary = Summary()
        self.settings = settings_from_options(opt) if settings is None else settings

    def _prepare(self, image: np.ndarray, stylised: np.ndarray | None, guidance: Guidance) -> np.ndarray:
        """Input (with alpha) + generator output -> the image to quantise (alpha carried over); the
        despeckle step comes after quantising and is not applied here (videos)."""
        if stylised is None:
            return image
        stylised = guide(stylised, to_rgb(image), self.opt.pixel_size, color_match=guidance.color_match,
                         keep_white=guidance.keep_white, keep_tone=guidance.keep_tone)
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
        """Where the result of ``job`` is written: its relative path under the output folder, PNG or video."""
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
            paths.append(self.preview_path(job))  # the page's preview copy of the input
            if self.opt.compare:
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
        writers: dict[str, Job] = {}
        for job in jobs:  # two jobs whose derived files (post-only copy, previews, palettes) meet
            for path in self.planned_outputs(job):
                other = writers.setdefault(key(path), job)
                if other is not job:
                    raise ValueError(f"--input: {other.source} and {job.source} would both write {path}; rename one "
                                     "or pass them in separate runs")
        planned = [p for job in jobs for p in self.planned_outputs(job)] + [self.out_dir / "index.html",
                                                                             self.out_dir / RECORD_FILE]
        if self.opt.pretrained == AUTO:
            planned.append(self.out_dir / ROUTES_FILE)
        for path in planned:
            hit = inputs.get(key(path))
            if hit is None and os.path.lexists(path):
                hit = by_identity.get(identity(path))
            if hit is not None:
                raise ValueError(f"--output {self.opt.output}: {path} would overwrite the input {hit}; "
                                 "inputs are never replaced, choose a separate output folder")

    def preview_path(self, job: Job) -> Path:
        """Where the page's preview of an image input goes: ``<output>/inputs/<rel>.png``, so that the page
        links only files inside the output folder (it can be moved or shared whole)."""
        return self.out_dir / "inputs" / job.rel.with_suffix(".png")

    def _input_preview(self, job: Job, image: np.ndarray) -> Path | None:
        """Write the page's PNG preview of the input (at most :data:`PREVIEW_SIDE` px on its long side) under
        ``<output>/inputs/`` and return its path; written with every output, so it always shows that input.
        None with --no_html: there is no page to show it."""
        if self.opt.no_html:
            return None
        path = self.preview_path(job)
        save_image(path, _shrunk(image, PREVIEW_SIDE), indexed=False)
        return path

    def settings_record(self) -> dict:
        """The settings an output is made with, as plain JSON values: the post-processing record, the
        display and size flags, and the generator (its file and guidance; ``auto`` for --pretrained auto).
        Recorded per output in :data:`RECORD_FILE`; a re-run with other settings redoes the output."""
        post = {}
        for f in dataclasses.fields(self.settings):
            value = getattr(self.settings, f.name)
            post[f.name] = np.asarray(value).tolist() if isinstance(value, np.ndarray) else value
        generator: dict | None = None
        if isinstance(self.generator, AutoStage):
            generator = {"pretrained": AUTO}
        elif self.generator is not None:
            generator = {"path": os.path.realpath(self.opt.generator_path) if self.opt.generator_path
                         else self.generator.name,
                         "guidance": _plain(getattr(self.generator, "guidance", None)),
                         "gen_size": self.opt.gen_size}
        record = {"postprocess": post, "upscale": self.opt.upscale, "max_pixels": self.opt.max_pixels,
                  "generator": generator}
        return json.loads(json.dumps(record, sort_keys=True, default=str))  # as it reads back from the file

    def finish_image(self, job: Job, image: np.ndarray, stylised: np.ndarray | None,
                     stage: GeneratorStage | None = None, route: Route | None = None) -> Outcome:
        """Quantise one loaded image (guided by it when ``stylised`` is a generator output of ``stage``,
        default: the run's generator) and save it (and its palette)."""
        out_path = self.output_path(job)
        cell = self._cell_size(image.shape[:2], job.label)
        settings = self.settings if cell == self.settings.pixel_size else self.settings.replace(pixel_size=cell)
        if stylised is None:
            native, palette = postprocess.pixelize_image_with_palette(image, settings)
        else:
            g = (stage or self.generator).guidance
            native, palette = guided_pixelize(stylised, image, settings, color_match=g.color_match,
                                              keep_white=g.keep_white, keep_tone=g.keep_tone, despeckle=g.despeckle)
        self.save_display(out_path, native, image.shape[:2], cell)
        self._save_palette(palette, out_path)
        alone = None
        if stylised is not None and self.opt.compare:
            alone = self.alone_path(job)
            native_alone = postprocess.pixelize_image(image, settings)
            self.save_display(alone, native_alone, image.shape[:2], cell)
        return Outcome(job, "done", out_path, preview_in=self._input_preview(job, image), preview_out=out_path,
                       colors=int(len(palette)), preview_alone=alone, route=route)

    def display_scale(self, cell: int, source_hw: tuple[int, int]) -> tuple[int, tuple[int, int] | None]:
        """``(factor, crop_to)`` for saving a native result: enlarged by --upscale; at the default
        (--upscale = --pixel_size) by the cell size used, with the partial edge cells cut
        (``crop_to`` = the source's ``(H, W)``), so the output has exactly the input's size (images
        smaller than --pixel_size too)."""
        factor = cell if self.opt.upscale == self.opt.pixel_size else self.opt.upscale
        return factor, (source_hw if factor == cell else None)

    def save_display(self, path: Path, native: np.ndarray, source_hw: tuple[int, int], cell: int) -> None:
        """Save ``native`` enlarged as :meth:`display_scale` says, without building the enlarged RGB
        picture (a 100 MP output costs 1 byte per pixel instead of ~50 during the save)."""
        factor, crop_to = self.display_scale(cell, source_hw)
        save_upscaled(path, native, factor, crop_to)

    def _save_palette(self, palette: np.ndarray, out_path: Path) -> None:
        for fmt in self.opt.save_palette:
            postprocess.save_palette(out_path.with_suffix(f".{fmt}"), palette)

    def run_images(self, jobs: list[Job], report: Callable[[Outcome], None]) -> None:
        """Load (threads) -> generator (batches) -> quantise + save (threads)."""
        batch = self.opt.batch_size if self.generator is not None else max(1, self.opt.workers * 2)

        def load(job: Job) -> tuple[Job, np.ndarray | None, str]:
            try:
                return job, load_source(job, self.opt.keep_alpha, self.opt.max_pixels), ""
            except ImageLoadError as err:
                return job, None, err.reason
            except Exception as err:  # noqa: BLE001 - report any decoder failure by path, keep going
                return job, None, f"{type(err).__name__}: {err}"

        def finish(job: Job, image: np.ndarray, stylised: np.ndarray | None, stage: GeneratorStage | None,
                   route: Route | None) -> Outcome:
            try:
                return self.finish_image(job, image, stylised, stage, route)
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
                pending += [pool.submit(finish, *item) for item in self._stylise(good, report)]
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
                 ) -> list[tuple[Job, np.ndarray, np.ndarray | None, GeneratorStage | None, Route | None]]:
        """``(job, image, generator output, its stage, route)`` for a batch (``--pretrained auto`` picks a
        stage, or none, per image); when the batch fails, each image is retried alone and the one(s) the
        generator cannot take are reported as failed, so the others still finish."""
        if self.generator is None or not good:
            return [(job, im, None, None, None) for job, im in good]
        try:
            if isinstance(self.generator, AutoStage):
                routed = self.generator([im for _, im in good])
                for (job, _), (_, _, route) in zip(good, routed, strict=True):
                    logger.info("%s: %s", job.label, route.describe())
                return [(job, im, st, stage, route) for (job, im), (st, stage, route) in zip(good, routed, strict=True)]
            styled = self.generator([im for _, im in good])
            return [(job, im, st, self.generator, None) for (job, im), st in zip(good, styled, strict=True)]
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
        from util import video  # imported here: opening videos is the only user of its codecs

        out_path = self.output_path(job)
        reader = video.open_video(job.source, self.opt.max_pixels)
        stem = job.rel.as_posix().replace("/", "__")
        preview_in = self.out_dir / "previews" / f"{stem}_input.png"
        preview_out = self.out_dir / "previews" / f"{stem}.png"
        fresh = [p for p in (preview_in, preview_out) if not p.exists()]
        keep_alpha = self.opt.keep_alpha and reader.has_alpha and self.opt.video_format == "gif"
        cell = self._cell_size(reader.size[::-1], job.label)
        settings = self.settings.replace(keep_alpha=keep_alpha, pixel_size=cell)
        factor, crop_to = self.display_scale(cell, reader.size[::-1])
        try:
            frames: Iterable[np.ndarray] = _save_first(reader.frames(keep_alpha), preview_in)
            if self.generator is not None:
                frames = self._stylise_stream(frames, job)
            native_frames = postprocess.pixelize_frames(frames, settings)
            count = video.write_video(out_path, native_frames, fps=reader.fps, fmt=self.opt.video_format,
                                      upscale=factor, crop_to=crop_to,
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

    def _stylise_stream(self, frames: Iterable[np.ndarray], job: Job) -> Iterator[np.ndarray]:
        """Generator outputs, guided, for a stream of frames; with ``--pretrained auto`` the first frame
        chooses the stage (or none) for the whole video."""
        stage = self.generator
        batch: list[np.ndarray] = []
        for frame in frames:
            if isinstance(stage, AutoStage):
                from engine.route import route_image

                route = route_image(frame)
                logger.info("%s: %s (chosen on the first frame)", job.label, route.describe())
                stage = None if route.stage is None else stage.stage(route.stage)
            if stage is None:
                yield frame
                continue
            batch.append(frame)
            if len(batch) == self.opt.batch_size:
                yield from (self._prepare(f, s, stage.guidance) for f, s in zip(batch, stage(batch), strict=True))
                batch = []
        if batch and stage is not None:
            yield from (self._prepare(f, s, stage.guidance) for f, s in zip(batch, stage(batch), strict=True))

    # ---------------------------------------------------------------- all together
    def run(self, jobs: list[Job], report: Callable[[Outcome], None]) -> Summary:
        """Process this rank's jobs; ``report`` is called once per job as it ends."""
        summary = self.summary = Summary()  # kept on self so that an interrupted run can report what it did
        current = self.settings_record()

        def record(outcome: Outcome) -> None:
            if outcome.status == "done":
                outcome.settings = current
            summary.add(outcome)
            report(outcome)

        made = read_record(self.out_dir)
        todo: list[Job] = []
        for job in jobs:
            out = self.output_path(job)
            if out.exists() and not self.opt.overwrite:
                before = made.get(_record_key(self.out_dir, out), {}).get("settings")
                if before is not None and before != current:  # unrecorded outputs (older runs) are kept
                    logger.info("%s: redoing %s: it was made with other settings (%s)", job.label, out,
                                _changes(before, current))
                    todo.append(job)
                    continue
                record(Outcome(job, "skipped", out, reason="output exists (use --overwrite to redo)",
                               preview_out=out))
            else:
                todo.append(job)
        try:
            self.run_images([j for j in todo if j.kind == "image"], record)
            for job in (j for j in todo if j.kind == "video"):
                try:
                    record(self.run_video(job))
                except (ValueError, OSError, RuntimeError) as err:
                    record(Outcome(job, "failed", reason=str(err)))
        finally:  # also on Ctrl-C: the outputs finished so far are recorded with their settings
            done = [o for o in summary.outcomes if o.status == "done" and o.output is not None]
            if done:
                try:
                    update_record(self.out_dir, {_record_key(self.out_dir, o.output): record_entry(self.out_dir, o)
                                                 for o in done})
                except OSError as err:
                    logger.warning("cannot write %s (%s): a re-run may not notice changed settings",
                                   self.out_dir / RECORD_FILE, err.strerror or err)
        return summary


def _plain(value: Any) -> Any:
    """A dataclass (the generator's guidance) as a dict; anything else as it is."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def _shrunk(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` made at most ``side`` px on its long side (aspect kept; smaller images unchanged)."""
    if max(image.shape[:2]) <= side:
        return image
    from PIL import Image

    grey = image.ndim == 3 and image.shape[2] == 1
    pic = Image.fromarray(image[..., 0] if grey else image)
    pic.thumbnail((side, side), Image.Resampling.LANCZOS)
    small = np.asarray(pic)
    return small[..., None] if grey else small


def _save_first(frames: Iterable[np.ndarray], path: Path) -> Iterator[np.ndarray]:
    """Pass frames through, saving the first one as a PNG (the page's input preview) on the way."""
    for i, frame in enumerate(frames):
        if i == 0:
            save_image(path, frame, indexed=False)
        yield frame


# --------------------------------------------------------------------------- the per-folder record and the page
def _record_key(out_dir: Path, path: Path) -> str:
    """How ``path`` (a file under ``out_dir``) is named in the record and the page: relative, with ``/``."""
    return Path(os.path.relpath(path, out_dir)).as_posix()


def _inside(out_dir: Path, rel: Any) -> bool:
    """True when ``rel`` is a relative path, without ``..``, to an existing file under ``out_dir``."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel:
        return False
    parts = Path(rel).parts
    return ".." not in parts and not Path(rel).is_absolute() and (out_dir / rel).is_file()


def _changes(before: dict, now: dict, prefix: str = "") -> str:
    """The settings that differ, e.g. ``postprocess.pixel_size 4 -> 8``."""
    diffs = []
    for name in sorted(set(before) | set(now)):
        old, new = before.get(name), now.get(name)
        if isinstance(old, dict) and isinstance(new, dict):
            inner = _changes(old, new, f"{prefix}{name}.")
            if inner:
                diffs.append(inner)
        elif old != new:
            diffs.append(f"{prefix}{name} {json.dumps(old)} -> {json.dumps(new)}")
    return ", ".join(diffs)


def read_record(out_dir: Path) -> dict[str, dict]:
    """The outputs :data:`RECORD_FILE` in ``out_dir`` lists (output path -> entry); empty when there is none
    (an unreadable one is warned about and treated as empty)."""
    path = Path(out_dir) / RECORD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        logger.warning("%s cannot be read (%s): ignored", path, err)
        return {}
    outputs = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(outputs, dict):
        return {}
    return {key: entry for key, entry in outputs.items() if isinstance(entry, dict)}


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (torchrun ranks update one record); none where flock is missing."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one process per folder is assumed
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def update_record(out_dir: Path, entries: dict[str, dict]) -> None:
    """Merge ``entries`` (output path -> :func:`record_entry`) into ``out_dir``'s :data:`RECORD_FILE`, dropping
    outputs no longer there; the file is replaced atomically, sorted, without timestamps (same runs give
    the same file)."""
    out_dir = Path(out_dir)
    with _folder_lock(out_dir):
        merged = read_record(out_dir)
        merged.update(entries)
        kept = {key: merged[key] for key in sorted(merged) if _inside(out_dir, key)}
        atomic_write_text(out_dir / RECORD_FILE,
                          json.dumps({"version": 1, "outputs": kept}, indent=1, sort_keys=True) + "\n")


def record_entry(out_dir: Path, o: Outcome) -> dict:
    """What the record keeps of a finished output: its input, settings, page heading and the files the page
    shows (paths relative to ``out_dir``, captions)."""
    header = o.job.label if o.colors is None else f"{o.job.label} ({o.colors} colours)"
    if o.route is not None:
        header = f"{header}; auto: {o.route.describe()}"
    if o.preview_alone is not None:
        shown = (o.preview_in, o.preview_alone, o.preview_out)
        labels = ["input", "post-processing alone", "generator + post-processing"]
    else:
        shown, labels = (o.preview_in, o.preview_out), ["input", "pixel art"]
    files = [[_record_key(out_dir, p), label] for p, label in zip(shown, labels, strict=True) if p is not None]
    return {"input": o.job.source, "header": header, "settings": o.settings, "files": files}


def write_page(out_dir: Path, outcomes: list[Outcome], title: str) -> Path:
    """index.html with input | output side by side for every output this tool wrote into ``out_dir``.

    Two runs into one folder share one page, listing both runs' results: each run records what it wrote
    in :data:`RECORD_FILE` (:func:`update_record`), and the page is built from that record and this run's
    ``outcomes``, in output order (an output without a record entry, made by an older version, is shown
    alone; one deleted since is left out). The page is self-contained within ``out_dir``: every
    ``src``/``href`` is a relative path, without ``..``, to an existing file under ``out_dir`` (the output,
    its input preview under ``inputs/``, video previews under ``previews/``), so the folder can be moved,
    zipped or shared whole.
    """
    from util import html

    entries = read_record(out_dir)
    for o in outcomes:
        if o.status == "failed" or o.output is None:
            continue
        key = _record_key(out_dir, o.output)
        if o.status == "done":
            entries[key] = record_entry(out_dir, o)
        elif key not in entries:
            entries[key] = {"header": o.job.label, "files": [[key, "pixel art"]]}
    page = html.HTML(out_dir, title, image_dir=None)
    for key in sorted(entries):
        entry = entries[key]
        files = entry.get("files")
        if not _inside(out_dir, key) or not isinstance(files, list):
            continue
        shown = [(f[0], str(f[1])) for f in files if isinstance(f, list) and len(f) == 2 and _inside(out_dir, f[0])]
        if not shown:
            continue
        page.add_header(str(entry.get("header", key)))
        links = [rel for rel, _ in shown]
        page.add_images(links, [label for _, label in shown], links, width=320)
    page.save()
    routed = [o for o in outcomes if o.route is not None and o.status == "done" and o.output is not None]
    if routed:  # --pretrained auto: what each image was taken for and the stage it got, also for scripts
        entries_ = [{"input": o.job.source, "output": os.path.relpath(o.output, out_dir), "kind": o.route.kind,
                     "stage": o.route.stage or "quantisation alone", "confidence": round(o.route.confidence, 3),
                     "reason": o.route.reason} for o in routed]
        atomic_write_text(out_dir / ROUTES_FILE, json.dumps({"routes": entries_}, indent=1) + "\n")
    return out_dir / "index.html"


# --------------------------------------------------------------------------- the steps pixelize.py calls
@dataclass
class Plan:
    """What a pixelize run will do, decided before anything is written."""

    jobs: list[Job]
    ignored: list[str]  # files under the inputs that are neither images nor videos
    pixelizer: Pixelizer


def settings_from_options(opt) -> postprocess.PixelArtSettings:
    """The validated post-processing record of parsed pixelize flags (a ``--palette`` file is read here).

    Raises :class:`FlagError` naming the flag: pixelize.py calls it right after parsing, so a bad value
    stops the run with exit status 2 before any file is written.
    """
    try:
        return postprocess.PixelArtSettings(
            pixel_size=opt.pixel_size, n_colors=opt.n_colors, palette=opt.palette, dither=opt.dither,
            saturation=opt.saturation, contrast=opt.contrast, outline=0.0 if opt.outline is None else opt.outline,
            keep_alpha=opt.keep_alpha, seed=opt.seed).validate()
    except (TypeError, ValueError) as err:
        setting = getattr(err, "setting", None)  # the field the record refused; pixelize's flag has its name
        if setting == "palette" and str(err).startswith(str(opt.palette)):  # the file: "<file>: <what is wrong>"
            raise FlagError(f"--palette {err}; give a .gpl, .hex, .pal or .png palette file") from err
        raise FlagError(f"--{setting}: {err}" if setting else str(err)) from err


def plan(opt, settings: postprocess.PixelArtSettings | None = None) -> Plan:
    """Check the output folder, expand the inputs into jobs and refuse outputs that would replace an input.

    Raises :class:`FlagError` naming ``--input``/``--output`` and the fix.
    """
    try:
        check_output_folder(opt.input, opt.output)
        jobs, ignored = collect_jobs(opt.input, output=opt.output, demo=opt.demo)
        pixelizer = Pixelizer(opt, settings)
        pixelizer.refuse_overwriting_inputs(jobs, ignored)
    except (ValueError, FileNotFoundError) as err:
        raise FlagError(str(err)) from err
    return Plan(jobs, ignored, pixelizer)


def load_generator_stage(opt) -> GeneratorStage | AutoStage | None:
    """The generator of ``opt.generator_path`` on the chosen device (None without one; an :class:`AutoStage`
    for ``--pretrained auto``); FlagError when the file is missing or does not fit the --netG/--ngf/...
    overrides, or the device is not there."""
    if opt.pretrained == AUTO:
        try:
            dist.resolve_device(opt.device, opt.gpu_ids)
        except ValueError as err:
            raise FlagError(str(err)) from err
        return AutoStage(lambda name: _stage(str(pretrained.resolve(name)), opt, name))
    if opt.generator_path is None:
        return None
    path = Path(opt.generator_path)
    if not path.is_file():
        if path.exists():
            raise FlagError(f"generator file {opt.generator_path} is not a regular file (a folder, FIFO or device); "
                            "give a .pth state dict")
        hint = "check --name/--epoch/--model_suffix/--checkpoints_dir or --model_path"
        if opt.model_path is None and opt.pretrained is None and opt.model_suffix:
            plain = path.with_name(path.name.replace(f"_net_G{opt.model_suffix}.pth", "_net_G.pth"))
            if plain != path and plain.is_file():
                hint = f"{plain.name} exists: a pix2pix run has one generator, pass --model_suffix ''"
        raise FlagError(f"generator file {opt.generator_path} not found ({hint})")
    return _stage(opt.generator_path, opt, opt.pretrained)


def _stage(path: str, opt, name: str | None) -> GeneratorStage:
    cell = pretrained.training_cell(path)
    dropout = True if opt.use_dropout else False if opt.no_dropout else None
    overrides = dict(netG=opt.netG, ngf=opt.ngf, norm=opt.norm, use_dropout=dropout, input_nc=opt.input_nc,
                     output_nc=opt.output_nc)
    notes = pretrained.sidecar(path)
    guidance = Guidance.from_notes(notes, color_match=opt.color_match, keep_white=opt.keep_white,
                                   keep_tone=opt.keep_tone, despeckle=opt.despeckle)
    try:
        device, _ = dist.resolve_device(opt.device, opt.gpu_ids)
        stage = GeneratorStage(path, overrides=overrides, device=device, gen_size=opt.gen_size,
                               scale=None if cell is None else cell / opt.pixel_size, guidance=guidance, name=name,
                               amp=opt.amp)
    except (ValueError, FileNotFoundError) as err:
        raise FlagError(str(err)) from err
    noted = notes.get("architecture")
    if isinstance(noted, dict):  # the notes' architecture against what the weights hold
        differ = [f"{k}: notes {noted[k]!r}, weights {stage.config[k]!r}" for k in sorted(noted)
                  if k in stage.config and noted[k] != stage.config[k]]
        if differ:
            logger.warning("%s: its notes describe another architecture than its weights (%s); the weights are used",
                           path, "; ".join(differ))
    return stage


def generator_flags_given(opt, defaults: dict[str, Any]) -> list[str]:
    """Generator-stage flags whose value differs from its default (they do nothing without a generator)."""
    return [flag for dest, flag in GENERATOR_FLAGS.items()
            if hasattr(opt, dest) and dest in defaults and getattr(opt, dest) != defaults[dest]]


def gather(summary: Summary) -> Summary:
    """Merge every rank's outcomes on rank 0, in input order (identity in a single process)."""
    if not dist.is_initialized():
        return summary
    import torch.distributed as tdist

    parts: list[Any] = [None] * dist.get_world_size()
    tdist.all_gather_object(parts, summary.outcomes)
    merged = Summary()
    for outcome in sorted((o for part in parts for o in part), key=lambda o: o.job.source):
        merged.add(outcome)
    return merged
