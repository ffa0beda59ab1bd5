"""Property tests (hypothesis): arbitrary shapes, sizes and palettes never crash and honour the palette."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postprocess import extract_palette, load_palette, pixelate, pixelize_image_with_palette, save_palette

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def images(draw, max_side: int = 40):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    c = draw(st.sampled_from([3, 4]))
    seed = draw(st.integers(0, 2**16))
    flat = draw(st.booleans())
    rng = np.random.default_rng(seed)
    if flat:  # few colours: exercises the exact path
        img = rng.integers(0, 256, (3, c))[rng.integers(0, 3, (h, w))].astype(np.uint8)
    else:
        img = rng.integers(0, 256, (h, w, c)).astype(np.uint8)
    if c == 4:
        img[..., 3] = np.where(rng.random((h, w)) < 0.3, 0, 255)
        img[0, 0, 3] = 255  # at least one opaque pixel
    return img


def _opaque_colours(out: np.ndarray) -> set:
    flat = out.reshape(-1, out.shape[-1])
    if out.shape[-1] == 4:
        assert set(np.unique(flat[:, 3]).tolist()) <= {0, 255}
        assert (flat[flat[:, 3] == 0] == 0).all()
        flat = flat[flat[:, 3] == 255]
    return set(map(tuple, flat[:, :3].tolist()))


@SETTINGS
@given(img=images(), data=st.data())
def test_pipeline_honours_palette_and_shape(img, data):
    h, w = img.shape[:2]
    p = data.draw(st.integers(1, min(h, w)))
    k = data.draw(st.one_of(st.none(), st.integers(1, 8)))
    dither = data.draw(st.sampled_from(["none", "ordered", "floyd-steinberg"]))
    try:
        out, pal = pixelize_image_with_palette(img, pixel_size=p, n_colors=k, dither=dither, seed=1)
    except ValueError as err:  # only a fully transparent cell grid may refuse
        assert "fully transparent" in str(err)
        return
    assert out.shape == (-(-h // p), -(-w // p), img.shape[2])
    assert out.dtype == np.uint8
    assert k is None or len(pal) <= k
    assert len(np.unique(pal, axis=0)) == len(pal)
    assert _opaque_colours(out) <= set(map(tuple, pal.tolist()))


@SETTINGS
@given(img=images(), data=st.data())
def test_pixelate_any_palette(img, data):
    h, w = img.shape[:2]
    p = data.draw(st.integers(1, min(h, w)))
    n = data.draw(st.integers(1, 6))
    pal = np.random.default_rng(n).integers(0, 256, (n, 3)).astype(np.uint8)
    out = pixelate(img, p, pal)
    assert _opaque_colours(out) <= set(map(tuple, pal.tolist()))


@SETTINGS
@given(img=images(max_side=24), k=st.integers(1, 10))
def test_extract_palette_distinct_and_bounded(img, k):
    pal = extract_palette(img, k)
    assert 1 <= len(pal) <= k
    assert len(np.unique(pal, axis=0)) == len(pal)
    np.testing.assert_array_equal(pal, extract_palette(img, k))


@SETTINGS
@given(
    colours=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)), min_size=1, max_size=40),
    ext=st.sampled_from([".gpl", ".hex", ".pal"]),
)
def test_palette_files_round_trip(tmp_path, colours, ext):
    pal = np.array(colours, np.uint8)
    path = tmp_path / f"p{ext}"
    save_palette(path, pal)
    np.testing.assert_array_equal(load_palette(path), pal)
