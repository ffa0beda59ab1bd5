"""Tests for postprocess.palette_io: .gpl .hex .pal .png read/write."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from postprocess import load_palette, save_palette, upscale
from util.image import save_image

PAL = np.array([[0, 0, 0], [255, 0, 77], [18, 52, 86], [255, 255, 255]], np.uint8)


@pytest.mark.parametrize("ext", [".gpl", ".hex", ".pal", ".png", ".GPL"])
def test_round_trip(tmp_path, ext):
    path = tmp_path / f"pal{ext}"
    save_palette(path, PAL)
    np.testing.assert_array_equal(load_palette(path), PAL)
    assert load_palette(str(path)).dtype == np.uint8


def test_written_formats(tmp_path):
    save_palette(tmp_path / "a.gpl", PAL[:2], name="Mine")
    assert (tmp_path / "a.gpl").read_text().splitlines()[:2] == ["GIMP Palette", "Name: Mine"]
    save_palette(tmp_path / "a.hex", PAL[:2])
    assert (tmp_path / "a.hex").read_text() == "000000\nff004d\n"
    save_palette(tmp_path / "a.pal", PAL[:2])
    assert (tmp_path / "a.pal").read_bytes() == b"JASC-PAL\r\n0100\r\n2\r\n0 0 0\r\n255 0 77\r\n"


def test_read_gpl_with_header_comments_and_names(tmp_path):
    p = tmp_path / "x.gpl"
    p.write_text("GIMP Palette\nName: Test\nColumns: 4\n# comment\n\n  0   0   0\tBlack\n255 0 77 Pink thing\n")
    np.testing.assert_array_equal(load_palette(p), PAL[:2])


def test_read_hex_variants(tmp_path):
    p = tmp_path / "x.hex"
    p.write_text("; Paint.NET palette\n#000000\n\nFFff004d\n123456\n")
    np.testing.assert_array_equal(load_palette(p), PAL[:3])


def test_read_riff_pal(tmp_path):
    body = struct.pack("<HH", 0x300, 2) + bytes([0, 0, 0, 0, 255, 0, 77, 0])
    data = b"PAL " + b"data" + struct.pack("<I", len(body)) + body
    p = tmp_path / "x.pal"
    p.write_bytes(b"RIFF" + struct.pack("<I", len(data)) + data)
    np.testing.assert_array_equal(load_palette(p), PAL[:2])


def test_read_scaled_png_swatch(tmp_path):
    p = tmp_path / "swatch.png"
    save_image(p, upscale(PAL[None], 8))
    np.testing.assert_array_equal(load_palette(p), PAL)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("a.gpl", "GIMP Palette\n", "empty"),
        ("b.gpl", "Palette\n0 0 0\n", r"b\.gpl:1:.*GIMP Palette"),
        ("c.gpl", "GIMP Palette\n0 0 0\n1 2 300\n", r"c\.gpl:3:.*300"),
        ("d.gpl", "GIMP Palette\n1 2\n", r"d\.gpl:2:.*R G B"),
        ("e.gpl", "GIMP Palette\n1 x 2\n", r"e\.gpl:2:.*'x'"),
        ("f.gpl", "GIMP Palette\nColumns: many\n", r"f\.gpl:2:.*Columns"),
        ("a.hex", "000000\nzz0000\n", r"a\.hex:2:.*zz0000"),
        ("b.hex", "\n; only a comment\n", "empty"),
        ("a.pal", "JASC-PAL\n0100\n3\n0 0 0\n", r"a\.pal:3:.*3 colours.*1"),
        ("b.pal", "JASC-PAL\n9\n", r"b\.pal:2:.*0100"),
        ("c.pal", "JASC-PAL\n0100\nmany\n", r"c\.pal:3:.*count"),
        ("d.pal", "hello\n", r"d\.pal:1:.*JASC-PAL"),
        ("e.pal", "", r"e\.pal:1:"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, name, text, match):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_palette(p)


def test_other_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown palette extension '.txt'"):
        load_palette(tmp_path / "p.txt")
    with pytest.raises(ValueError, match="not found"):
        load_palette(tmp_path / "missing.gpl")
    with pytest.raises(TypeError, match="path"):
        load_palette(3)
    with pytest.raises(ValueError, match="unknown palette extension"):
        save_palette(tmp_path / "p.act", PAL)
    with pytest.raises(TypeError, match="uint8"):
        save_palette(tmp_path / "p.gpl", PAL.astype(np.float32))
    with pytest.raises(ValueError, match="empty"):
        save_palette(tmp_path / "p.gpl", np.zeros((0, 3), np.uint8))
    rgba = np.zeros((2, 2, 4), np.uint8)
    save_image(tmp_path / "clear.png", rgba, indexed=False)
    with pytest.raises(ValueError, match="no opaque pixels"):
        load_palette(tmp_path / "clear.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"):
        load_palette(tmp_path / "bad.png")
    riff = tmp_path / "r.pal"
    riff.write_bytes(b"RIFF" + struct.pack("<I", 8) + b"PAL " + b"junk" + struct.pack("<I", 0))
    with pytest.raises(ValueError, match="no 'data' chunk"):
        load_palette(riff)
