"""util.fileio: atomic writes leave either the old file or the new one, with normal permissions."""
from __future__ import annotations

import os
import stat

import pytest

from util.fileio import atomic_path, atomic_write_text


def test_atomic_write_creates_with_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a" / "x.txt", "hello")
    finally:
        os.umask(old)
    path = tmp_path / "a" / "x.txt"
    assert path.read_text() == "hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path / "a") == ["x.txt"]


def test_atomic_write_keeps_existing_mode(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")
    path.chmod(0o600)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_failure_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(path) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".png"
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["x.png"]


def test_temp_files_are_recognised_by_the_names_atomic_path_gives_them(tmp_path):
    from util.fileio import TEMP_NAME, atomic_path, is_temp_file

    seen = []
    for name, suffix in (("a.png", None), ("clip.mp4", ".mux.mp4"), ("notes", None)):
        with atomic_path(tmp_path / name, suffix=suffix) as tmp:
            seen.append(tmp.name)
            tmp.write_bytes(b"x")
    assert all(is_temp_file(name) for name in seen)
    assert [TEMP_NAME.match(name)["suffix"] for name in seen] == [".png", ".mux.mp4", ""]
    assert TEMP_NAME.match(seen[0])["stem"] == "a"
    for other in (".hidden.png", ".a.tmp", "a.k3j1.tmp.png", ".b.tmp.png", "x.png"):
        assert not is_temp_file(other), other
