"""Pixelize inputs: expand files, folders and videos into jobs, and the checks made before any write.

Folders are walked recursively (symlinked folders once each, so a link loop ends), the output
tree and the hidden temporary files of interrupted writes are left out, and two inputs that
would write the same output are refused. No torch here.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from util.fileio import is_temp_file
from util.image import is_image_file, load_image
from util.samples import SAMPLE_PHOTOS, SAMPLES, is_cartoon, load_sample

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"})


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



def is_video_file(path: str | os.PathLike) -> bool:
    """True when ``path`` has a video extension (any case); GIFs count as videos."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


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
    # same stem, other extension (pic.png + pic.webp): the first in name order keeps the stem, the others
    # get the extension added (pic_webp), as the dataset tools name them
    groups: dict[Path, list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(job.rel, []).append(i)
    for rel, idxs in groups.items():
        exts = [Path(jobs[i].source).suffix.lower() for i in idxs]
        if len(idxs) < 2 or len(set(exts)) < len(exts):
            continue  # alone, or the same name twice (two folders): refused below
        for i, ext in zip(idxs[1:], exts[1:], strict=True):
            jobs[i] = Job(jobs[i].source, rel.with_name(f"{rel.name}_{ext.lstrip('.')}"), jobs[i].kind)
            logger.info("%s: another input has the stem %s; its outputs are named %s.*", jobs[i].source, rel.name,
                        jobs[i].rel.name)
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
