"""Palette files: GIMP ``.gpl``, Lospec / Paint.NET ``.hex``, JASC ``.pal`` and PNG swatch strips.

Every palette in memory is a uint8 ``(K, 3)`` RGB array, ``K >= 1``, in file order.

Formats:

* ``.gpl``: first line ``GIMP Palette``; optional ``Name:`` / ``Columns:`` header lines;
  ``#`` comments; colour lines ``R G B [name]`` (0..255, whitespace-separated).
* ``.hex``: one colour per line, ``rrggbb`` (Lospec) with an optional ``#``; 8 digits are
  read as Paint.NET ``aarrggbb`` (alpha dropped); blank lines and ``;`` comments ignored.
* ``.pal``: JASC: ``JASC-PAL``, ``0100``, the colour count, then ``R G B`` lines. Binary
  RIFF ``.pal`` files are read too (``RIFF....PAL data``).
* ``.png`` (also ``.gif``/``.bmp`` for reading): the distinct opaque colours in row-major
  order of first appearance, e.g. a Lospec 1x / 8x / 32x swatch; written as a ``K x 1`` strip.

Errors are :class:`ValueError` naming the file (and the 1-based line number for text formats).
"""
from __future__ import annotations

import logging
import os
import re
import struct
from pathlib import Path

import numpy as np

from util.fileio import atomic_write_text
from util.image import ImageLoadError, load_image, save_image

logger = logging.getLogger(__name__)

__all__ = ["load_palette", "save_palette", "PALETTE_EXTENSIONS", "read_gpl", "read_hex", "read_pal", "read_png"]

PALETTE_EXTENSIONS = (".gpl", ".hex", ".pal", ".png")
_IMAGE_EXTS = (".png", ".gif", ".bmp")
_HEX_RE = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def _read_text(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read palette file ({err.strerror or err})") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.splitlines()


def _rgb_fields(path: Path, lineno: int, fields: list[str]) -> tuple[int, int, int]:
    if len(fields) < 3:
        raise ValueError(f"{path}:{lineno}: expected 'R G B' with three integers 0..255, got {' '.join(fields)!r}")
    vals = []
    for f in fields[:3]:
        try:
            v = int(f)
        except ValueError:
            raise ValueError(f"{path}:{lineno}: {f!r} is not an integer colour value (expected 0..255)") from None
        if not 0 <= v <= 255:
            raise ValueError(f"{path}:{lineno}: colour value {v} is outside 0..255")
        vals.append(v)
    return vals[0], vals[1], vals[2]


def _finish(path: Path, colors: list[tuple[int, int, int]]) -> np.ndarray:
    if not colors:
        raise ValueError(f"{path}: palette is empty (no colours found); add at least one colour")
    return np.array(colors, dtype=np.uint8).reshape(-1, 3)


def read_gpl(path: str | os.PathLike) -> np.ndarray:
    """Read a GIMP ``.gpl`` palette -> uint8 ``(K, 3)``."""
    path = Path(path)
    lines = _read_text(path)
    if not lines or lines[0].strip() != "GIMP Palette":
        got = lines[0].strip() if lines else "an empty file"
        raise ValueError(f"{path}:1: a .gpl file must start with 'GIMP Palette', got {got!r}")
    colors = []
    for lineno, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key = line.split(":", 1)[0].strip().lower()
        if ":" in line and key in ("name", "columns"):
            if key == "columns" and not line.split(":", 1)[1].strip().isdigit():
                raise ValueError(f"{path}:{lineno}: 'Columns:' needs a non-negative integer, got {line!r}")
            continue
        colors.append(_rgb_fields(path, lineno, line.split()))
    return _finish(path, colors)


def read_hex(path: str | os.PathLike) -> np.ndarray:
    """Read a Lospec / Paint.NET ``.hex`` palette -> uint8 ``(K, 3)``."""
    path = Path(path)
    colors = []
    for lineno, raw in enumerate(_read_text(path), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        m = _HEX_RE.match(line)
        if m is None:
            raise ValueError(f"{path}:{lineno}: {line!r} is not a hex colour (expected rrggbb, #rrggbb or aarrggbb)")
        digits = m.group(1)[-6:]
        colors.append((int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)))
    return _finish(path, colors)


def _read_riff_pal(path: Path, data: bytes) -> np.ndarray:
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"data":
            if size < 4:
                break
            _, count = struct.unpack("<HH", data[pos + 8 : pos + 12])
            body = data[pos + 12 : pos + 12 + 4 * count]
            if len(body) < 4 * count:
                raise ValueError(f"{path}: RIFF palette is truncated ({len(body) // 4} of {count} colours)")
            arr = np.frombuffer(body, np.uint8).reshape(-1, 4)[:, :3]
            return _finish(path, [tuple(int(v) for v in c) for c in arr])
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: RIFF palette has no 'data' chunk")


def read_pal(path: str | os.PathLike) -> np.ndarray:
    """Read a JASC (text) or RIFF (binary) ``.pal`` palette -> uint8 ``(K, 3)``."""
    path = Path(path)
    try:
        head = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read palette file ({err.strerror or err})") from err
    if head[:4] == b"RIFF" and head[8:12] == b"PAL ":
        return _read_riff_pal(path, head)
    lines = _read_text(path)
    if not lines or lines[0].strip() != "JASC-PAL":
        got = lines[0].strip() if lines else "an empty file"
        raise ValueError(f"{path}:1: a JASC .pal file must start with 'JASC-PAL', got {got!r}")
    if len(lines) < 2 or lines[1].strip() != "0100":
        raise ValueError(f"{path}:2: expected the JASC version line '0100'")
    if len(lines) < 3 or not lines[2].strip().isdigit():
        raise ValueError(f"{path}:3: expected the colour count (an integer)")
    count = int(lines[2].strip())
    colors = []
    for lineno, raw in enumerate(lines[3:], start=4):
        line = raw.strip()
        if not line:
            continue
        colors.append(_rgb_fields(path, lineno, line.split()))
    if len(colors) != count:
        raise ValueError(f"{path}:3: header declares {count} colours but the file lists {len(colors)}")
    return _finish(path, colors)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read a swatch image -> its distinct opaque colours in row-major first-appearance order."""
    path = Path(path)
    try:
        img = load_image(path, keep_alpha=True)
    except ImageLoadError as err:
        raise ValueError(str(err)) from err
    flat = img.reshape(-1, img.shape[2])
    if img.shape[2] == 4:
        flat = flat[flat[:, 3] >= 128]
    rgb = flat[:, :3]
    if len(rgb) == 0:
        raise ValueError(f"{path}: palette image has no opaque pixels")
    _, first = np.unique(rgb, axis=0, return_index=True)
    return np.ascontiguousarray(rgb[np.sort(first)])


_READERS = {".gpl": read_gpl, ".hex": read_hex, ".pal": read_pal, ".png": read_png, ".gif": read_png, ".bmp": read_png}


def load_palette(path: str | os.PathLike) -> np.ndarray:
    """Load a palette file, dispatching on the extension (any case).

    Args:
        path: ``.gpl``, ``.hex``, ``.pal`` or ``.png`` (``.gif``/``.bmp`` swatches also read).

    Returns:
        uint8 ``(K, 3)`` RGB, ``K >= 1``, in file order.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _READERS:
        raise ValueError(f"{path}: unknown palette extension {ext!r}; use one of {', '.join(PALETTE_EXTENSIONS)}")
    if not path.is_file():
        raise ValueError(f"{path}: palette file not found")
    return _READERS[ext](path)


def _check_save_palette(palette: np.ndarray) -> np.ndarray:
    from postprocess.downsampling import check_palette

    return check_palette(palette)


def save_palette(path: str | os.PathLike, palette: np.ndarray, *, name: str | None = None) -> None:
    r"""Write ``palette`` (uint8 ``(K, 3)``) atomically; the format follows the extension.

    ``.gpl`` gets ``Name: <name or file stem>`` and one ``R G B\t#rrggbb`` line per colour,
    ``.hex`` lower-case ``rrggbb`` lines, ``.pal`` JASC text, ``.png`` a ``K x 1`` strip.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    palette = _check_save_palette(palette)
    ext = path.suffix.lower()
    hexes = [f"{r:02x}{g:02x}{b:02x}" for r, g, b in palette.tolist()]
    if ext == ".gpl":
        title = (name if name is not None else path.stem).replace("\n", " ")
        lines = ["GIMP Palette", f"Name: {title}", f"Columns: {min(len(palette), 16)}", "#"]
        lines += [f"{r:3d} {g:3d} {b:3d}\t#{h}" for (r, g, b), h in zip(palette.tolist(), hexes, strict=True)]
        atomic_write_text(path, "\n".join(lines) + "\n")
    elif ext == ".hex":
        atomic_write_text(path, "\n".join(hexes) + "\n")
    elif ext == ".pal":
        lines = ["JASC-PAL", "0100", str(len(palette))] + [f"{r} {g} {b}" for r, g, b in palette.tolist()]
        atomic_write_text(path, "\r\n".join(lines) + "\r\n")
    elif ext == ".png":
        save_image(path, np.ascontiguousarray(palette[None, :, :]), indexed=False)
    else:
        raise ValueError(f"{path}: unknown palette extension {ext!r}; use one of {', '.join(PALETTE_EXTENSIONS)}")
