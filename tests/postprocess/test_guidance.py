"""postprocess.guidance: the input's tone kept except on outlines; speckles removed unless the input has them."""
from __future__ import annotations

import numpy as np
import pytest

import postprocess
from postprocess.color import lab_to_srgb, srgb_to_lab
from postprocess.guidance import guide, guided_pixelize, remove_speckle, speckle_mask, transfer_tone


def _drawing(size: int = 64, fill=(70, 110, 200)) -> np.ndarray:
    """A flat blue square (rows/cols 16..47) on white."""
    img = np.full((size, size, 3), 255, np.uint8)
    img[16:48, 16:48] = fill
    return img


def _darker(rgb: np.ndarray, by: float) -> np.ndarray:
    lab = srgb_to_lab(rgb)
    lab[..., 0] = np.clip(lab[..., 0] - by, 0, 100)
    return lab_to_srgb(lab)


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return srgb_to_lab(np.ascontiguousarray(rgb))[..., 0]


def test_transfer_tone_keeps_the_interior_lightness_and_the_generator_outline():
    original = _drawing()
    # the generator: everything 20 L* darker, plus a black 3-px outline just outside the square
    stylised = _darker(original, 20.0)
    stylised[13:51, 13:51][np.pad(np.ones((32, 32), bool), 3, constant_values=False) == 0] = (10, 10, 10)
    out = transfer_tone(stylised, original, 8)
    # interior (more than half a cell from the edge): the input's colour, lightness included
    assert np.abs(out[24:40, 24:40].astype(int) - original[24:40, 24:40]).max() <= 1
    assert abs(float(_lightness(out[24:40, 24:40]).mean() - _lightness(original[24:40, 24:40]).mean())) < 0.5
    # the outline the generator drew along the drawing's border stays dark
    assert _lightness(out[14:15, 20:44]).max() < 10
    # far from any edge of the input, nothing the generator darkened survives
    assert np.array_equal(out[0:4, 0:4], original[0:4, 0:4])


def test_transfer_tone_drops_interior_texture_and_keeps_it_with_shading():
    original = _drawing()
    stylised = original.copy()
    stylised[30, 30] = (0, 0, 0)  # a texture dot in the middle of a flat region, far from any edge
    assert np.array_equal(transfer_tone(stylised, original, 8)[30, 30], original[30, 30])
    assert _lightness(transfer_tone(stylised, original, 8, shading=1.0)[30:31, 30:31])[0, 0] \
        < _lightness(original[30:31, 30:31])[0, 0] - 10


@pytest.mark.parametrize("kwargs, message", [({"shading": 1.5}, "shading"), ({"pixel_size": 0}, "pixel_size")])
def test_transfer_tone_refuses_bad_arguments(kwargs, message):
    args = {"pixel_size": 8} | kwargs
    with pytest.raises(ValueError, match=message):
        transfer_tone(_drawing(), _drawing(), args.pop("pixel_size"), **args)
    with pytest.raises(ValueError, match="differ in size"):
        transfer_tone(_drawing(32), _drawing(64), 8)


def test_speckle_mask_is_a_cell_unlike_each_4_neighbour():
    native = np.full((5, 5, 3), 200, np.uint8)
    native[2, 2] = (0, 0, 0)        # isolated
    native[0, 3:5] = (0, 0, 255)    # a pair: not a speckle
    native[4, 0] = (255, 0, 0)      # a corner, unlike its two neighbours
    mask = speckle_mask(native)
    assert sorted(zip(*np.nonzero(mask), strict=True)) == [(2, 2), (4, 0)]
    assert not speckle_mask(np.zeros((1, 1, 3), np.uint8)).any()


def _face(eye: bool, texture: bool) -> np.ndarray:
    """A 9x9 native yellow face; a 1-cell black eye at (3, 3), a 1-cell dark texture dot at (6, 5)."""
    native = np.full((9, 9, 3), (240, 200, 60), np.uint8)
    if eye:
        native[3, 3] = (20, 20, 20)
    if texture:
        native[6, 5] = (185, 145, 45)
    return native


def test_remove_speckle_keeps_the_eye_the_input_has_and_drops_texture_it_has_not():
    out = _face(eye=True, texture=True)
    reference = _face(eye=True, texture=False)  # the input: an eye, no texture
    cleaned = remove_speckle(out, reference)
    assert np.array_equal(cleaned[3, 3], (20, 20, 20))
    assert np.array_equal(cleaned[6, 5], (240, 200, 60))
    # only the texture cell changed, and to a colour the image already had
    assert int((cleaned != out).any(axis=2).sum()) == 1
    assert {tuple(c) for c in cleaned.reshape(-1, 3)} <= {tuple(c) for c in out.reshape(-1, 3)}


def test_remove_speckle_without_reference_keeps_only_high_contrast_cells():
    out = _face(eye=True, texture=True)
    cleaned = remove_speckle(out)
    assert np.array_equal(cleaned[3, 3], (20, 20, 20))       # L* far from the face: kept
    assert np.array_equal(cleaned[6, 5], (240, 200, 60))     # a dull dot: replaced
    with pytest.raises(ValueError, match="differ in size"):
        remove_speckle(out, out[:4])


def test_guide_modes():
    original = _drawing()
    stylised = _darker(original, 20.0)
    assert np.array_equal(guide(stylised, original, 8, color_match=False, keep_white=False, keep_tone=False),
                          stylised)
    toned = guide(stylised, original, 8, keep_white=True, keep_tone=True)
    # a uniform darkening is no outline: the whole drawing keeps the input's tone
    assert np.abs(toned[16:48, 16:48].astype(int) - original[16:48, 16:48]).max() <= 1
    assert np.array_equal(toned[:8, :8], original[:8, :8])  # the white background, restored


def test_guided_pixelize_output_is_palette_strict_and_keeps_alpha():
    rng = np.random.default_rng(0)
    original = np.dstack([_drawing(), np.full((64, 64), 255, np.uint8)])
    original[:8, :8, 3] = 0
    stylised = np.clip(_darker(original[..., :3], 15.0).astype(int) + rng.integers(-30, 30, (64, 64, 3)),
                       0, 255).astype(np.uint8)
    settings = postprocess.PixelArtSettings(pixel_size=8, n_colors=4, keep_alpha=True).validate()
    native, palette = guided_pixelize(stylised, original, settings)
    assert native.shape == (8, 8, 4)
    assert native[0, 0, 3] == 0 and native[4, 4, 3] == 255
    used = {tuple(c) for c in native[..., :3][native[..., 3] > 0].reshape(-1, 3)}
    assert used <= {tuple(c) for c in palette}
    # the square keeps the input's blue, not the generator's darker, noisy one
    centre = srgb_to_lab(np.ascontiguousarray(native[3:5, 3:5, :3]))
    assert abs(float(centre[..., 0].mean()) - float(_lightness(original[30:34, 30:34, :3]).mean())) < 3.0


def test_remove_speckle_leaves_a_diagonal_outline_and_transparent_cells_alone():
    native = np.full((6, 6, 3), 230, np.uint8)
    for i in range(1, 5):
        native[i, i] = (10, 10, 10)  # a 1-cell diagonal line: each cell unlike its 4 neighbours
    reference = np.full((6, 6, 3), 230, np.uint8)  # even an input without it does not erase a line
    assert speckle_mask(native)[1:5, 1:5].diagonal().all()
    assert np.array_equal(remove_speckle(native, reference), native)
    rgba = np.dstack([np.full((3, 3, 3), 200, np.uint8), np.full((3, 3), 255, np.uint8)])
    rgba[1, 1] = (0, 0, 0, 0)  # a transparent hole is not a speckle, and no neighbour of one
    assert not speckle_mask(rgba).any()
    assert np.array_equal(remove_speckle(rgba), rgba)


@pytest.mark.parametrize("mode", [{"keep_tone": True}, {"keep_tone": True, "shading": 0.7},
                                  {"keep_tone": False, "color_match": True}])
def test_guide_in_strips_gives_the_same_picture(monkeypatch, mode):
    import postprocess.guidance as guidance

    rng = np.random.default_rng(5)
    original = np.full((150, 70, 3), 255, np.uint8)
    original[20:130, 10:60] = (60, 140, 220)
    original[60:90, 25:45] = (230, 80, 40)
    stylised = np.clip(_darker(original, 18.0).astype(int) + rng.integers(-25, 25, original.shape), 0,
                       255).astype(np.uint8)
    stylised[18:22, 8:62] = (5, 5, 5)  # an outline
    whole = guide(stylised, original, 4, **mode)
    monkeypatch.setattr(guidance, "STRIP_PIXELS", 70 * 16)  # strips of 16 rows: ten of them
    assert np.array_equal(guide(stylised, original, 4, **mode), whole)
