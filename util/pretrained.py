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
import logging
import stat
from pathlib import Path

#: The folder of shipped generators (and of the user's own fine-tuning init files).
STATE_DICT_DIR = Path(__file__).resolve().parent.parent / "stateDict"
_SUFFIXES = ("_G_A.pth", "_G.pth")
logger = logging.getLogger(__name__)


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


#: Largest sidecar read, in bytes (a shipped one is under 1 KiB).
MAX_SIDECAR_BYTES = 64 * 1024
#: Sidecar fields pixelize acts on: whole numbers with their range, and on/off switches.
INT_FIELDS = {"cell": (1, 256), "size": (1, 65536)}
BOOL_FIELDS = ("color_match", "keep_white", "keep_tone", "despeckle")


def sidecar(path: str | Path) -> dict:
    """The ``<file>.json`` facts of a generator file (``{}`` when it has none).

    Only a regular file of at most :data:`MAX_SIDECAR_BYTES` holding a JSON object is read (a FIFO, a
    device or a huge file is never opened or read to the end). A field pixelize acts on with a wrong
    type or range (``"color_match": "false"``, ``"cell": 0``) is dropped with a warning naming it, so
    it can never turn a step on by accident; an unreadable file gives one warning and ``{}``."""
    meta = Path(path).with_suffix(".json")
    try:
        info = meta.stat()
    except OSError:
        return {}
    if not stat.S_ISREG(info.st_mode):
        logger.warning("%s: not a regular file; the generator's notes are ignored", meta)
        return {}
    if info.st_size > MAX_SIDECAR_BYTES:
        logger.warning("%s: %d bytes, more than the %d a generator's notes may have; ignored", meta, info.st_size,
                       MAX_SIDECAR_BYTES)
        return {}
    try:
        with open(meta, "rb") as fh:
            data = json.loads(fh.read(MAX_SIDECAR_BYTES + 1))
    except (OSError, ValueError, RecursionError) as err:
        logger.warning("%s: not readable JSON (%s); the generator's notes are ignored", meta,
                       type(err).__name__ if isinstance(err, RecursionError) else err)
        return {}
    if not isinstance(data, dict):
        logger.warning("%s: not a JSON object; the generator's notes are ignored", meta)
        return {}
    for key, (lo, hi) in INT_FIELDS.items():
        value = data.get(key)
        if key in data and not (type(value) is int and lo <= value <= hi):
            logger.warning("%s: field %r must be a whole number in %d..%d, got %r; ignored", meta, key, lo, hi, value)
            del data[key]
    for key in BOOL_FIELDS:
        if key in data and type(data[key]) is not bool:
            logger.warning("%s: field %r must be true or false, got %r; ignored", meta, key, data[key])
            del data[key]
    return data


def training_cell(path: str | Path) -> int | None:
    """The pixel-art cell size (generator pixels) the generator was trained at, if its sidecar says."""
    cell = sidecar(path).get("cell")
    return int(cell) if isinstance(cell, int) and cell >= 1 else None


#: ``--pretrained auto``: each image gets the shipped generator that helps it, or none.
AUTO = "auto"
