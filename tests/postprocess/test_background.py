"""Tests for postprocess/background.py on hand-checkable images."""
from __future__ import annotations

import numpy as np
import pytest

from postprocess.background import restore_white_background, white_background


def picture() -> np.ndarray:
    """12x12 white picture with a 6x6 red square at (3..8) that has a white hole at (5..6)."""
    img = np.full((12, 12, 3), 255, np.uint8)
    img[3:9, 3:9] = (200, 30, 30)
    img[5:7, 5:7] = 255
    return img


def test_white_background_is_the_white_connected_to_the_border():
    mask = white_background(picture())
    assert mask.sum() == 144 - 36  # the hole inside the drawing is not background
    assert not mask[5, 5] and mask[0, 0] and not mask[3, 3]
    assert not white_background(np.zeros((4, 4, 3), np.uint8)).any()


def test_restore_keeps_a_band_for_outlines_and_clears_specks():
    original = picture()
    stylised = np.full_like(original, 90)  # the generator painted everything grey
    out = restore_white_background(stylised, original, margin=1)
    # the band one pixel around the drawing and the drawing itself stay the generator's
    assert (out[2:10, 2:10][[0, -1]] == 90).all() and (out[2:10, 2] == 90).all()
    assert (out[3:9, 3:9] == 90).all()
    # everything further away is white again, the hole inside keeps the generator's pixels
    assert (out[:2] == 255).all() and (out[:, 10:] == 255).all()
    assert (out[5:7, 5:7] == 90).all()
    assert np.array_equal(restore_white_background(stylised, original, margin=0)[2, 2], [255, 255, 255])
    with pytest.raises(ValueError, match="differ in size"):
        restore_white_background(stylised[:5], original, 1)
    with pytest.raises(ValueError, match="margin"):
        restore_white_background(stylised, original, -1)


def test_guide_stylised_is_colour_match_then_background():
    from postprocess.background import guide_stylised
    from postprocess.color import color_match

    original = picture()
    stylised = np.full_like(original, 90)
    stylised[3:9, 3:9] = (20, 120, 20)
    assert np.array_equal(guide_stylised(stylised, original, 2, color_match=False, keep_white=False), stylised)
    assert np.array_equal(guide_stylised(stylised, original, 3, color_match=False, keep_white=True),
                          restore_white_background(stylised, original, 1))
    assert np.array_equal(guide_stylised(stylised, original, 2, color_match=True, keep_white=True),
                          restore_white_background(color_match(stylised, original), original, 1))
