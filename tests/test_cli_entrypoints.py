"""Every command-line script in the tree starts both ways users run it: by path and with -m."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def cli_scripts() -> list[Path]:
    """train.py, test.py, pixelize.py, train_demo.py and every datasets/ or benchmarks/ script with a __main__ block."""
    found = [ROOT / name for name in ("train.py", "test.py", "pixelize.py", "train_demo.py")]
    for folder in ("datasets", "benchmarks"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"):
                found.append(path)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH="")  # nothing but the script's own bootstrap
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_list_covers_the_known_scripts():
    names = {p.relative_to(ROOT).as_posix() for p in cli_scripts()}
    assert {"train.py", "test.py", "pixelize.py", "datasets/pixelart_extraction.py",
            "datasets/coco_preprocessing.py", "datasets/make_synthetic_dataset.py"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("how", ["path", "module"])
@pytest.mark.parametrize("script", cli_scripts(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_help_works_by_path_and_with_m(script, how, tmp_path):
    if how == "path":  # from another folder, as `python /somewhere/datasets/x.py --help`
        result = _run([sys.executable, str(script), "--help"], cwd=tmp_path)
    else:
        result = _run([sys.executable, "-m", _module(script), "--help"], cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout.lower(), result.stdout[-500:]
    assert "Traceback" not in result.stderr
