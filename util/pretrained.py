"""The generators shipped in ``stateDict/`` and the facts pixelize needs to use them well.

A shipped generator ``stateDict/<name>_G_A.pth`` (CycleGAN A->B) or ``stateDict/<name>_G.pth``
(pix2pix) may have a sidecar ``<file>.json`` written when it was shipped, holding
``{"cell": C, "size": S, ...}``: the pixel-art cell size of its training images in its own output
pixels, and their side. pixelize feeds such a generator the image rescaled so that one output cell
of ``--pixel_size`` input pixels is ``C`` generator pixels, the scale it was trained at.
No torch import here: option parsing uses these names.
"""
from __future__ import annotations

import json
from pathlib import Path

#: The folder of shipped generators (and of the user's own fine-tuning init files).
STATE_DICT_DIR = Path(__file__).resolve().parent.parent / "stateDict"
_SUFFIXES = ("_G_A.pth", "_G.pth")


def shipped() -> dict[str, Path]:
    """``{name: path}`` of the generators shipped in ``stateDict/``."""
    found: dict[str, Path] = {}
    if STATE_DICT_DIR.is_dir():
        for path in sorted(STATE_DICT_DIR.iterdir()):
            for suffix in _SUFFIXES:
                if path.name.endswith(suffix) and path.with_suffix(".json").is_file():
                    found.setdefault(path.name[: -len(suffix)], path)
    return found


def resolve(name: str) -> Path:
    """The file of a shipped generator; ValueError listing the names when there is none."""
    available = shipped()
    if name not in available:
        names = ", ".join(sorted(available)) or "none (stateDict/ holds no shipped generator)"
        raise ValueError(f"no shipped generator named {name!r}; available: {names}")
    return available[name]


def sidecar(path: str | Path) -> dict:
    """The ``<file>.json`` facts of a generator file (``{}`` when it has none or it is unreadable)."""
    meta = Path(path).with_suffix(".json")
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def training_cell(path: str | Path) -> int | None:
    """The pixel-art cell size (generator pixels) the generator was trained at, if its sidecar says."""
    cell = sidecar(path).get("cell")
    return int(cell) if isinstance(cell, int) and cell >= 1 else None
