"""Tests for util/samples.py: the built-in photos and drawn cartoons."""
from __future__ import annotations

import numpy as np
import pytest

from util.samples import SAMPLE_CARTOONS, SAMPLE_PHOTOS, SAMPLES, is_cartoon, load_sample


@pytest.mark.parametrize("name", SAMPLE_CARTOONS)
def test_cartoons_are_objects_with_dark_outlines_on_white(name):
    img = load_sample(name)
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8
    assert np.array_equal(img, load_sample(name))  # deterministic
    for corner in (img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]):
        assert corner.tolist() == [255, 255, 255]
    drawing = (255 - img.astype(int)).max(axis=2) > 12
    assert 0.15 < drawing.mean() < 0.75
    assert (img.max(axis=2) < 60).sum() > 500  # outline pixels
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200  # shading and anti-aliasing: not yet pixel art


def test_photos_and_names():
    assert SAMPLES == SAMPLE_PHOTOS + SAMPLE_CARTOONS
    assert is_cartoon("face") and not is_cartoon("astronaut")
    assert load_sample("coffee").shape == (400, 600, 3)
    with pytest.raises(ValueError, match="unknown sample 'nope'"):
        load_sample("nope")
