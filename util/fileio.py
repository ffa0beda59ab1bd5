"""Atomic file writes: a crash or Ctrl-C never leaves a half-written output."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

#: The names :func:`atomic_path` gives its temporary files: ``.<stem>.<random>.tmp<suffix>`` (the
#: suffix may hold several extensions, e.g. ``.mux.mp4``).
TEMP_NAME = re.compile(r"^\.(?P<stem>.+)\.(?P<random>[A-Za-z0-9_]+)\.tmp(?P<suffix>(\.[^.]+)*)$")


def is_temp_file(path: str | os.PathLike) -> bool:
    """True for a temporary file of :func:`atomic_path` (``.a.k3j1.tmp.png``), which an interrupted write leaves."""
    return TEMP_NAME.match(Path(path).name) is not None


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` on success.

    The temporary file lives in the destination folder (same file system, so the
    final ``os.replace`` is atomic) and keeps the destination's extension unless
    ``suffix`` is given, so writers that pick a format from the extension work.
    On any exception the temporary file is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    ext = dest.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".tmp{ext}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the usual mode (the old file's, else 0666 & ~umask)
        try:
            mode = dest.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    """The process umask (read without changing it for long)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(dest: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically (temp file + fsync + rename)."""
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(dest: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``dest`` atomically."""
    atomic_write_bytes(dest, text.encode("utf-8"))
