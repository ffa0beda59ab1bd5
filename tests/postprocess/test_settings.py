"""Tests for postprocess.settings.PixelArtSettings and how the pixelize functions take it."""
from __future__ import annotations

import dataclasses
from typing import get_args

import numpy as np
import pytest

import postprocess.settings as settings_module
from conftest import smooth_photo
from postprocess import (
    PixelArtSettings,
    pixelize_frames,
    pixelize_image,
    pixelize_image_with_palette,
    save_palette,
)
from postprocess.color import lab_chroma, srgb_to_lab

PAL = np.array([[0, 0, 0], [255, 255, 255], [200, 40, 40], [40, 40, 200]], np.uint8)


photo = smooth_photo


# ---------------------------------------------------------------- defaults and names


def test_defaults():
    s = PixelArtSettings()
    assert dataclasses.asdict(s) == {
        "pixel_size": 8, "n_colors": None, "palette": None, "dither": "none", "saturation": 1.0,
        "contrast": 1.0, "outline": 0.0, "keep_alpha": True, "seed": 0, "cleanup": True,
        "alpha_threshold": 128, "min_delta_e": None, "vivid": True, "scene_threshold": 0.3, "hysteresis": 3.0,
    }
    assert s.validate() == s


def test_dither_names_defined_once():
    from options import pixelize_options
    from postprocess import dither

    assert dither.DITHER_MODES == get_args(dither.DitherMode) == ("none", "ordered", "floyd-steinberg")
    assert pixelize_options.DITHER_MODES is dither.DITHER_MODES  # the parser takes the owner's names
    assert settings_module.DitherMode is dither.DitherMode


def test_every_field_is_documented():
    doc = PixelArtSettings.__doc__
    for field in dataclasses.fields(PixelArtSettings):
        assert f"\n        {field.name}: " in doc, field.name


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "changes, error, fragment",
    [
        ({"pixel_size": "8"}, TypeError, "`pixel_size` must be an int"),
        ({"pixel_size": 2.0}, TypeError, "`pixel_size` must be an int"),
        ({"pixel_size": True}, TypeError, "`pixel_size` must be an int"),
        ({"pixel_size": 0}, ValueError, "`pixel_size` must be >= 1"),
        ({"n_colors": 2.5}, TypeError, "`n_colors` must be an int >= 1 or None"),
        ({"n_colors": 0}, ValueError, "`n_colors` must be >= 1"),
        ({"palette": [[0, 0, 0]]}, TypeError, "`palette` must be a uint8 numpy array"),
        ({"palette": np.zeros((2, 3), np.float32)}, TypeError, "`palette` must be uint8"),
        ({"palette": np.zeros((2, 4), np.uint8)}, ValueError, "`palette` must have shape (K, 3)"),
        ({"palette": np.zeros((0, 3), np.uint8)}, ValueError, "`palette` is empty"),
        ({"palette": PAL, "n_colors": 4}, ValueError, "give either `palette` (fixed colours) or `n_colors`"),
        ({"dither": 3}, TypeError, "`dither` must be one of"),
        ({"dither": "atkinson"}, ValueError, "`dither` must be one of none, ordered, floyd-steinberg"),
        ({"saturation": "1"}, TypeError, "`saturation` must be a number"),
        ({"saturation": -0.5}, ValueError, "`saturation` must be a finite number >= 0"),
        ({"contrast": float("nan")}, ValueError, "`contrast` must be a finite number >= 0"),
        ({"outline": None}, TypeError, "`outline` must be a number"),
        ({"outline": 1.5}, ValueError, "`outline` must be in [0, 1] (0 = off)"),
        ({"keep_alpha": "yes"}, TypeError, "`keep_alpha` must be a bool"),
        ({"seed": None}, TypeError, "`seed` must be an int"),
        ({"seed": 1.0}, TypeError, "`seed` must be an int"),
        ({"cleanup": 1}, TypeError, "`cleanup` must be a bool"),
        ({"alpha_threshold": 128.0}, TypeError, "`alpha_threshold` must be an int in [1, 255]"),
        ({"alpha_threshold": 0}, ValueError, "`alpha_threshold` must be in [1, 255]"),
        ({"alpha_threshold": 256}, ValueError, "`alpha_threshold` must be in [1, 255]"),
        ({"min_delta_e": "8"}, TypeError, "`min_delta_e` must be a number >= 0 or None"),
        ({"min_delta_e": -1.0}, ValueError, "`min_delta_e` must be a finite number >= 0"),
        ({"vivid": 1}, TypeError, "`vivid` must be a bool"),
        ({"scene_threshold": "x"}, TypeError, "`scene_threshold` must be a number"),
        ({"scene_threshold": 0.0}, ValueError, "`scene_threshold` must be in (0, 1]"),
        ({"scene_threshold": 1.5}, ValueError, "`scene_threshold` must be in (0, 1]"),
        ({"hysteresis": -1.0}, ValueError, "`hysteresis` must be a finite number >= 0"),
    ],
)
def test_validation_errors_name_the_parameter(changes, error, fragment):
    with pytest.raises(error, match=_literal(fragment)):
        PixelArtSettings(**changes).validate()
    with pytest.raises(error, match=_literal(fragment)):
        PixelArtSettings().replace(**changes)
    with pytest.raises(error, match=_literal(fragment)):
        pixelize_image(photo(), **changes)
    with pytest.raises(error, match=_literal(fragment)):
        pixelize_frames([photo()], **changes)  # at the call, before any frame is read


def test_missing_palette_file(tmp_path):
    with pytest.raises(ValueError, match="palette file not found"):
        PixelArtSettings(palette=tmp_path / "none.gpl").validate()


def test_pixel_size_larger_than_the_image_is_checked_against_the_image():
    s = PixelArtSettings(pixel_size=100).validate()  # no image yet: fine
    with pytest.raises(ValueError, match=r"`pixel_size`=100 is larger than the image \(64x80\)"):
        pixelize_image(photo(), s)
    with pytest.raises(ValueError, match=r"`pixel_size`=100 is larger than the image"):
        list(pixelize_frames([photo()], s))


def test_validate_normalises():
    s = PixelArtSettings(
        pixel_size=np.int64(4), n_colors=np.int32(6), dither="Floyd_Steinberg", saturation=np.float32(1.5),
        contrast=2, outline=np.float64(0.5), keep_alpha=np.bool_(False), seed=np.uint8(3), cleanup=np.bool_(True),
        alpha_threshold=np.int16(100), min_delta_e=5, vivid=np.bool_(False), scene_threshold=1, hysteresis=0,
    ).validate()
    expected = {
        "pixel_size": (int, 4), "n_colors": (int, 6), "dither": (str, "floyd-steinberg"), "saturation": (float, 1.5),
        "contrast": (float, 2.0), "outline": (float, 0.5), "keep_alpha": (bool, False), "seed": (int, 3),
        "cleanup": (bool, True), "alpha_threshold": (int, 100), "min_delta_e": (float, 5.0), "vivid": (bool, False),
        "scene_threshold": (float, 1.0), "hysteresis": (float, 0.0),
    }
    for name, (kind, value) in expected.items():
        assert type(getattr(s, name)) is kind, name
        assert getattr(s, name) == value, name
    assert PixelArtSettings(dither="fs").validate().dither == "floyd-steinberg"


def test_validate_is_idempotent(tmp_path):
    save_palette(tmp_path / "p.gpl", PAL)
    for s in (PixelArtSettings(), PixelArtSettings(pixel_size=np.int64(3), dither="fs", contrast=2),
              PixelArtSettings(palette=PAL), PixelArtSettings(palette=tmp_path / "p.gpl")):
        once = s.validate()
        twice = once.validate()
        assert twice == once and hash(twice) == hash(once)
        assert twice.palette is once.palette  # a validated palette is kept, not copied again


def test_palette_is_a_private_read_only_copy():
    mine = PAL.copy()
    s = PixelArtSettings(palette=mine).validate()
    assert s.palette.dtype == np.uint8 and s.palette.shape == (4, 3) and not s.palette.flags.writeable
    mine[0] = 7
    np.testing.assert_array_equal(s.palette, PAL)
    _, used = pixelize_image_with_palette(photo(), s)
    np.testing.assert_array_equal(used, PAL)
    assert used.flags.writeable  # the caller gets its own array back


def test_palette_file_is_loaded_once(tmp_path, monkeypatch):
    path = tmp_path / "p.hex"
    save_palette(path, PAL)
    calls = []
    real = settings_module.load_palette

    def counting(p):
        calls.append(p)
        return real(p)

    monkeypatch.setattr(settings_module, "load_palette", counting)
    s = PixelArtSettings(pixel_size=8, palette=path).validate()
    assert len(calls) == 1
    assert isinstance(s.palette, np.ndarray)
    np.testing.assert_array_equal(s.palette, PAL)
    pixelize_image(photo(), s)
    s.replace(dither="ordered").validate()
    list(pixelize_frames([photo(), photo(seed=1), photo(seed=2)], s))
    assert len(calls) == 1
    list(pixelize_frames([photo(), photo(seed=1), photo(seed=2)], pixel_size=8, palette=path))
    assert len(calls) == 2  # a path given per call: loaded once for the whole clip


# ---------------------------------------------------------------- replace, frozen, equality


def test_replace_returns_a_validated_copy():
    s = PixelArtSettings(pixel_size=4)
    t = s.replace(n_colors=np.int64(6), dither="fs")
    assert (t.pixel_size, t.n_colors, t.dither) == (4, 6, "floyd-steinberg") and type(t.n_colors) is int
    assert s.n_colors is None and s.dither == "none"  # the original is unchanged
    assert s.replace() == s.validate()


def test_replace_unknown_name_lists_the_valid_names():
    with pytest.raises(TypeError, match="unknown pixel-art setting.*pixel_sise.*valid names: pixel_size, n_colors"):
        PixelArtSettings().replace(pixel_sise=4)
    with pytest.raises(TypeError, match="hysteresis"):
        pixelize_image(photo(), colours=4)
    with pytest.raises(TypeError, match="unknown pixel-art setting"):
        pixelize_frames([photo()], colours=4)


def test_frozen():
    s = PixelArtSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.pixel_size = 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.validate().palette = PAL


def test_equality_and_hash():
    a = PixelArtSettings(palette=PAL).validate()
    b = PixelArtSettings(palette=PAL.copy()).validate()
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != PixelArtSettings(palette=PAL[::-1].copy()).validate()
    assert PixelArtSettings() != PixelArtSettings(pixel_size=4)
    assert PixelArtSettings() != "PixelArtSettings()"


# ---------------------------------------------------------------- the pixelize functions


def test_record_and_keywords_give_the_same_output():
    img = photo()
    s = PixelArtSettings(pixel_size=4, n_colors=6, dither="ordered", contrast=1.2)
    expected = pixelize_image(img, pixel_size=4, n_colors=6, dither="ordered", contrast=1.2)
    np.testing.assert_array_equal(pixelize_image(img, s), expected)
    np.testing.assert_array_equal(pixelize_image(img, s.validate()), expected)
    np.testing.assert_array_equal(pixelize_image_with_palette(img, s)[0], expected)
    # overrides replace fields of the record
    np.testing.assert_array_equal(pixelize_image(img, s, n_colors=3), pixelize_image(img, s.replace(n_colors=3)))
    np.testing.assert_array_equal(pixelize_image(img, None, pixel_size=4), pixelize_image(img, pixel_size=4))


def test_record_works_for_video():
    frames = [photo(seed=i) for i in range(3)]
    s = PixelArtSettings(pixel_size=8, n_colors=5, hysteresis=0.0)
    by_record = list(pixelize_frames(frames, s))
    by_keywords = list(pixelize_frames(frames, pixel_size=8, n_colors=5, hysteresis=0.0))
    for a, b in zip(by_record, by_keywords, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call", [pixelize_image, pixelize_image_with_palette, pixelize_frames])
def test_positional_pixel_size_is_refused_with_a_hint(call):
    first = [photo()] if call is pixelize_frames else photo()
    with pytest.raises(TypeError, match=r"must be a PixelArtSettings or None, got int \(4\).*pixel_size=4"):
        call(first, 4)
    with pytest.raises(TypeError, match=r"pixel_size=\.\.\."):
        call(first, {"pixel_size": 4})
    with pytest.raises(TypeError):
        call(first, PixelArtSettings(), 6)  # nothing positional after the record


def test_video_min_delta_e_none_keeps_the_photo_separation():
    """Video never restores pixel art: ``min_delta_e=None`` is the photo value, 8."""
    frames = [photo()]
    auto = list(pixelize_frames(frames, pixel_size=8, n_colors=12))
    eight = list(pixelize_frames(frames, pixel_size=8, n_colors=12, min_delta_e=8.0))
    np.testing.assert_array_equal(auto[0], eight[0])


def test_video_honours_vivid_false():
    img = photo(96, 96, seed=3)
    shots = {True: [], False: []}
    outs = {}
    for vivid in (True, False):
        outs[vivid] = list(pixelize_frames([img, img], pixel_size=8, n_colors=5, vivid=vivid,
                                           on_shot=shots[vivid].append))
    pal_v, pal_p = shots[True][0].palette, shots[False][0].palette
    assert len(pal_v) == len(pal_p) == 5
    assert not np.array_equal(pal_v, pal_p)

    def usage_chroma(out):
        return float(lab_chroma(srgb_to_lab(out.reshape(-1, 3))).mean())

    assert usage_chroma(outs[True][0]) > usage_chroma(outs[False][0])  # vivid gives chroma back; False does not
    # and it is the same plain fit as the image path's (one frame, same separation)
    _, pal_image = pixelize_image_with_palette(img, pixel_size=8, n_colors=5, vivid=False, min_delta_e=8.0)
    np.testing.assert_array_equal(pal_p, pal_image)


def _literal(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.parametrize("changes, setting", [
    ({"pixel_size": 0}, "pixel_size"), ({"dither": "halftone"}, "dither"), ({"outline": 1.5}, "outline"),
    ({"keep_alpha": 1}, "keep_alpha"), ({"scene_threshold": 0.0}, "scene_threshold"),
    ({"palette": "/nonexistent/p.gpl"}, "palette"), ({"n_colors": 4, "palette": PAL}, "palette"),
])
def test_a_refused_field_is_named_on_the_error(changes, setting):
    with pytest.raises((TypeError, ValueError)) as info:
        PixelArtSettings(**changes).validate()
    assert info.value.setting == setting
