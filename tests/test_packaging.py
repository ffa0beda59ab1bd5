"""Packaging: pins, conda env, the venv rule of the Makefile, CI entry point, fresh-clone targets.

A real install into an empty virtualenv is what ``make`` does from a fresh clone (and what CI runs);
it downloads several GB, so the suite proves the pieces instead: the pins are exact and identical in
requirements.txt and environment.yml, the installed venv matches them and ``pip check`` is clean,
the venv rule builds from nothing (no reliance on preinstalled packages), and in a fresh ``git clone``
``make -n demo test`` resolves to creating .venv, installing the pins, then running the job.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)$")


def requirement_pins(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """``name -> version`` of every non-comment line; every line must be an exact ``==`` pin."""
    pins: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = PIN.match(line)
        assert m, f"{path.name}:{n}: {line!r} is not an exact name==version pin"
        assert m[1].lower() not in pins, f"{path.name}:{n}: {m[1]} pinned twice"
        pins[m[1].lower()] = m[2]
    return pins


def conda_env(path: Path = ROOT / "environment.yml") -> dict:
    """Minimal parser for this file's shape: ``name``, ``channels``, ``dependencies`` with a ``pip:`` list."""
    env: dict = {"name": None, "channels": [], "dependencies": [], "pip": []}
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent == 0:
            key, _, value = text.partition(":")
            section = key
            if key == "name":
                env["name"] = value.strip()
            continue
        assert text.startswith("- "), f"environment.yml: unexpected line {raw!r}"
        item = text[2:].strip()
        if section == "channels":
            env["channels"].append(item)
        elif section == "dependencies" and item == "pip:":
            section = "pip"
        elif section == "dependencies":
            env["dependencies"].append(item)
        elif section == "pip":
            env["pip"].append(item)
        else:
            raise AssertionError(f"environment.yml: item {item!r} outside a known section")
    return env


def test_requirements_are_exact_pins():
    pins = requirement_pins()
    assert {"torch", "torchvision", "numpy", "visdom", "dominate", "pytest"} <= set(pins)


def test_environment_yml_matches_requirements():
    env = conda_env()
    assert env["name"] == "pixelart-cyclegan"
    assert "python=3.11" in env["dependencies"]
    assert "pip" in env["dependencies"]
    assert "setuptools<81" in env["dependencies"]  # visdom's sdist build needs pkg_resources
    pip_pins = {}
    for item in env["pip"]:
        m = PIN.match(item)
        assert m, f"environment.yml pip entry {item!r} is not an exact pin"
        pip_pins[m[1].lower()] = m[2]
    assert len(pip_pins) == len(env["pip"])  # no duplicates
    assert pip_pins == requirement_pins()


def test_python_is_311():
    assert sys.version_info[:2] == (3, 11)
    assert re.search(r"^PYTHON \?= .*command -v python3\.11", (ROOT / "Makefile").read_text(), re.M)
    assert 'target-version = "py311"' in (ROOT / "pyproject.toml").read_text()


def test_installed_venv_matches_pins_and_pip_check_is_clean():
    wrong = {}
    for name, version in requirement_pins().items():
        try:
            got = metadata.version(name)
        except metadata.PackageNotFoundError:
            got = None
        if got != version and (got or "").split("+")[0] != version:  # torch wheels may carry +cpu
            wrong[name] = (version, got)
    assert wrong == {}, f"installed versions differ from requirements.txt (pinned, installed): {wrong}"
    r = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_editable_install_exposes_the_packages_and_not_the_scripts(tmp_path):
    """From another folder and without PYTHONPATH the venv imports the first-party packages from this tree;
    the top-level CLIs are run by path and never installed (a module ``test`` would meet the stdlib's)."""
    code = ("import importlib.util as u, pathlib, sys; import postprocess, engine, benchmarks, datasets; "
            "print(pathlib.Path(postprocess.__file__).resolve().parent.parent); "
            "print([n for n in ('train', 'pixelize', 'train_demo') if u.find_spec(n)])")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    root, scripts = r.stdout.splitlines()
    assert Path(root) == ROOT.resolve() and scripts == "[]"


def _recipe(makefile: str, target: str) -> list[str]:
    """The recipe lines (tab-indented) of ``target`` in ``makefile``."""
    lines = makefile.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(rf"^{re.escape(target)}\s*:", ln))
    out = []
    for ln in lines[start + 1:]:
        if not ln.startswith("\t"):
            break
        out.append(ln.strip())
    return out


def test_makefile_venv_rule_builds_from_nothing():
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^venv:\s*\$\(STAMP\)\s*$", mk, re.M)
    # reinstall when the pins or the project table change
    assert re.search(r"^\$\(STAMP\):\s*requirements\.txt\s+pyproject\.toml\s*$", mk, re.M)
    rule = _recipe(mk, "$(STAMP)")
    create = next(i for i, ln in enumerate(rule) if "-m venv $(VENV)" in ln)
    tools = next(i for i, ln in enumerate(rule) if '"setuptools<81"' in ln and "pip install" in ln)
    reqs = next(i for i, ln in enumerate(rule) if "-r requirements.txt" in ln)
    editable = next(i for i, ln in enumerate(rule) if "pip install" in ln and ln.endswith("-e ."))  # the project
    check = next(i for i, ln in enumerate(rule) if "pip check" in ln)
    warm = next(i for i, ln in enumerate(rule) if "-m postprocess.warmup" in ln)  # kernels compiled once
    assert create < tools < reqs < editable < check < warm
    assert "--no-build-isolation" in rule[reqs]
    assert "--no-build-isolation" in rule[editable] and "--no-deps" in rule[editable]
    assert rule[-1].startswith("@touch $(STAMP)")
    for target in ("demo", "test", "gallery"):
        assert re.search(rf"^{target}:\s*\$\(STAMP\)\s*$", mk, re.M), f"`make {target}` must depend on the venv"
    assert _recipe(mk, "demo") == ["$(PY) pixelize.py --demo"]  # built-in photos and cartoons, both stages
    assert _recipe(mk, "gallery") == ["$(PY) benchmarks/make_gallery.py"]
    test = _recipe(mk, "test")
    lint = next(i for i, ln in enumerate(test) if ln == "$(PY) -m ruff check .")  # a lint finding fails make test
    assert lint < next(i for i, ln in enumerate(test) if "-m pytest" in ln)
    assert _recipe(mk, "lint") == ["$(PY) -m ruff check ."]


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[0].startswith("#!")
    assert "make test" in [ln.strip() for ln in ci]
    assert any("apt-get install" in ln and "chromium" in ln for ln in ci)


def test_readme_mentions_the_two_commands():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md not written yet")
    text = readme.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


@pytest.mark.slow
def test_fresh_clone_targets_resolve(tmp_path):
    git, make = shutil.which("git"), shutil.which("make")
    if git is None or make is None:
        pytest.skip(f"needs git and make on PATH (git: {git}, make: {make})")
    if not (ROOT / ".git").exists():
        pytest.skip(f"{ROOT} is not a git checkout")
    clone = tmp_path / "clone"
    r = subprocess.run([git, "clone", "-q", "--depth", "1", ROOT.as_uri(), str(clone)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for f in ("Makefile", "requirements.txt", "environment.yml", ".ci/run", "pixelize.py", "tests/conftest.py"):
        assert (clone / f).is_file(), f"{f} is not committed"
    assert not (clone / ".venv").exists()
    r = subprocess.run([make, "-n", "demo", "test"], cwd=clone, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()

    def first(pattern: str) -> int:
        return next(i for i, ln in enumerate(lines) if re.search(pattern, ln))

    # nothing preinstalled: create .venv, install the pins, check them, then run the jobs
    assert first(r"-m venv \.venv") < first(r"pip install .*-r requirements\.txt") < first(r"pip install .*-e \.$")
    assert first(r"pip install .*-e \.$") < first(r"pip check")
    assert first(r"pip check") < first(r"\.venv/bin/python pixelize\.py --demo$") < first(r"\.venv/bin/python -m pytest")
