"""postprocess.image_kind on small generated pictures: one of each kind, odd inputs, the shipped model."""
from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from postprocess import image_kind
from postprocess.image_kind import (
    FEATURE_NAMES,
    KINDS,
    MODEL_PATH,
    KindModel,
    KindResult,
    as_rgb,
    classify,
    image_features,
    load_model,
)


def smooth_noise(rng: np.random.Generator, h: int, w: int, channels: int = 3) -> np.ndarray:
    """Value noise in about [-1, 1]: random grids of 4, 8, 16, 32 cells, cubic-upscaled and summed."""
    out = np.zeros((h, w, channels), np.float32)
    for octave, cells in enumerate((4, 8, 16, 32)):
        grid = rng.standard_normal((cells, cells, channels)).astype(np.float32)
        out += 0.6 ** octave * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
    return out / 2.0


def photo_like(seed: int = 0, h: int = 176, w: int = 224) -> np.ndarray:
    """Smooth colour noise on a gradient, with Gaussian sensor noise: no flat background, no edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= h
    xx /= w
    base = np.stack([70 + 110 * xx, 60 + 120 * yy, 170 - 80 * xx * yy], axis=-1)
    img = base + 45 * smooth_noise(rng, h, w) + rng.normal(0, 4, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def drawing(seed: int = 1, h: int = 180, w: int = 220) -> np.ndarray:
    """Flat coloured shapes with black outlines on white, drawn 4x larger and area-downscaled (anti-aliased)."""
    rng = np.random.default_rng(seed)
    s = 4
    canvas = np.full((h * s, w * s, 3), 255, np.uint8)
    colours = [(230, 60, 50), (250, 200, 40), (60, 140, 220), (90, 190, 90)]
    shapes = [("ellipse", (70, 80), (45, 35)), ("rect", (150, 60), (40, 30)),
              ("poly", (120, 130), (50, 40)), ("ellipse", (180, 140), (25, 25))]
    for (kind, (cx, cy), (ax, ay)), colour in zip(shapes, colours, strict=True):
        cx, cy = (cx + int(rng.integers(-5, 6))) * s, (cy + int(rng.integers(-5, 6))) * s
        ax, ay = ax * s, ay * s
        mask = np.zeros(canvas.shape[:2], np.uint8)
        if kind == "ellipse":
            cv2.ellipse(mask, (cx, cy), (ax, ay), 0, 0, 360, 255, -1)
        elif kind == "rect":
            cv2.rectangle(mask, (cx - ax, cy - ay), (cx + ax, cy + ay), 255, -1)
        else:
            pts = np.array([[cx, cy - ay], [cx + ax, cy + ay], [cx - ax, cy + ay]], np.int32)
            cv2.fillPoly(mask, [pts], 255)
        canvas[mask > 0] = colour
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, (0, 0, 0), 3 * s)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)


def sprite(seed: int = 2, n: int = 16) -> np.ndarray:
    """A crisp RGBA sprite: a mirrored random blob of 4 palette colours with a black outline."""
    rng = np.random.default_rng(seed)
    palette = np.array([(200, 40, 40), (240, 150, 60), (250, 230, 120), (90, 40, 30)], np.uint8)
    half = n // 2
    yy, xx = np.mgrid[0:n, 0:half]
    blob = ((yy - n / 2 + 0.5) / (n / 2)) ** 2 + ((xx - half + 0.5) / half) ** 2 + 0.35 * rng.random((n, half)) < 0.85
    body = np.concatenate([blob, blob[:, ::-1]], axis=1)
    colour = palette[rng.integers(0, 4, (n, half))]
    colour = np.concatenate([colour, colour[:, ::-1]], axis=1)
    rgba = np.zeros((n, n, 4), np.uint8)
    rgba[body, :3] = colour[body]
    rgba[body, 3] = 255
    ring = cv2.dilate(body.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~body
    rgba[ring] = (0, 0, 0, 255)
    return rgba


def on_white(rgba: np.ndarray, margin: int = 3) -> np.ndarray:
    """An RGBA sprite composited on white with a margin of ``margin`` pixels."""
    rgb = as_rgb(rgba)
    return cv2.copyMakeBorder(rgb, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(255, 255, 255))


def pixel_art() -> np.ndarray:
    """The sprite on white, nearest-neighbour upscaled x6."""
    return np.repeat(np.repeat(on_white(sprite()), 6, axis=0), 6, axis=1)


def render() -> np.ndarray:
    """The same sprite bicubic-upscaled x6.5 and blurred: a smooth rendering of pixel art."""
    native = on_white(sprite())
    h, w = native.shape[:2]
    big = cv2.resize(native, (round(w * 6.5), round(h * 6.5)), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(big, (0, 0), 1.5)


MAKERS = {"photo": photo_like, "drawing": drawing, "render": render, "pixel_art": pixel_art}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_recognised(kind):
    result = classify(MAKERS[kind]())
    assert isinstance(result, KindResult)
    assert result.kind == kind, result.reason
    assert result.confidence == max(result.scores.values()) and result.confidence > 0.5
    assert result.reason.startswith(f"{kind}: ") and len(result.reason) > len(kind) + 4


@pytest.mark.parametrize("kind", KINDS)
def test_scores_are_probabilities_over_the_kinds(kind):
    result = classify(MAKERS[kind]())
    assert tuple(result.scores) == KINDS
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)
    assert all(0.0 <= p <= 1.0 for p in result.scores.values())
    assert 0.0 <= result.confidence <= 1.0


def test_pixel_evidence_is_measured_at_full_resolution():
    # 1440 px wide: a working copy of 512 px would resample the cells; the full-resolution crop does not
    art = np.repeat(np.repeat(on_white(sprite(5, 16), margin=2), 8, axis=0), 8, axis=1)
    art = np.tile(art, (3, 8, 1))
    assert max(art.shape) > 2 * image_kind.WORK_SIDE
    f = image_features(art)
    assert f["cell"] == 8 and f["grid"] > 0.9 and f["sharpness"] > 0.95 and f["equal_pairs"] > 0.8
    assert classify(art).kind == "pixel_art"


def test_features_are_named_finite_floats():
    for kind in KINDS:
        f = image_features(MAKERS[kind]())
        assert set(FEATURE_NAMES) <= set(f)
        assert all(isinstance(v, float) and math.isfinite(v) for v in f.values())
    f = image_features(pixel_art())
    assert f["background"] > 0.2 and f["background_exact"] > 0.2 and f["colours"] <= 6
    assert image_features(photo_like())["background"] < 0.05


def test_rgba_is_composited_on_white():
    rgba = sprite()
    rgb = as_rgb(rgba)
    assert rgb.shape == rgba.shape[:2] + (3,)
    assert (rgb[rgba[..., 3] == 0] == 255).all()
    big = np.repeat(np.repeat(rgba, 6, axis=0), 6, axis=1)
    assert classify(big).kind == "pixel_art"


@pytest.mark.parametrize("image", [
    np.zeros((1, 1, 3), np.uint8),
    np.full((1, 1), 7, np.uint8),
    np.arange(27, dtype=np.uint8).reshape(3, 3, 3),
    np.zeros((3, 3, 4), np.uint8),
    np.zeros((2, 9, 1), np.uint8),
    np.ones((5, 4, 2), np.uint8),
    np.eye(12, dtype=bool),
    np.linspace(0.0, 1.0, 64 * 48).reshape(64, 48),
    np.full((40, 30, 3), 300, np.int32),
], ids=["1x1", "1x1 grey", "3x3", "3x3 rgba", "2x9x1", "grey+alpha", "bool", "float grey", "int32"])
def test_odd_inputs_do_not_crash(image):
    result = classify(image)
    assert result.kind in KINDS and result.reason
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)


def test_grey_pictures_are_classified_like_their_rgb():
    grey = cv2.cvtColor(pixel_art(), cv2.COLOR_RGB2GRAY)
    assert classify(grey).kind == classify(np.repeat(grey[..., None], 3, axis=2)).kind == "pixel_art"


@pytest.mark.parametrize("shape", [(0, 4, 3), (4, 4, 5), (2, 2, 2, 3)])
def test_bad_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="image"):
        image_features(np.zeros(shape, np.uint8))


def test_shipped_model_is_json_with_the_kinds_and_loaded_once():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert tuple(data["kinds"]) == KINDS
    assert set(data["features"]) <= set(FEATURE_NAMES)
    assert set(data["weights"]) == set(KINDS)
    model = load_model()
    assert model is load_model()
    assert model.kinds == KINDS and model.weights.shape == (len(KINDS), len(model.terms))
    assert 0.95 <= model.meta["held_out_accuracy"] <= 1.0


def test_model_round_trips_through_json(tmp_path):
    model = load_model()
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    again = load_model(path)
    x = np.array([model.row(image_features(MAKERS[k]())) for k in KINDS])
    assert np.allclose(again.probabilities(x), model.probabilities(x), atol=1e-6)
    assert classify(drawing(), model=again).kind == "drawing"


def test_a_model_can_decide_by_hand():
    # one feature, one term: the kind with the largest weight on a high background wins
    w = np.zeros((4, 1))
    w[KINDS.index("drawing"), 0] = 3.0
    model = KindModel(kinds=KINDS, features=("background",), mean=[0.5], scale=[0.25], terms=("background",),
                      weights=w, bias=np.zeros(4))
    result = classify(drawing(), model=model)
    assert result.kind == "drawing" and "flat background" in result.reason
    with pytest.raises(ValueError, match="unknown features"):
        KindModel(kinds=KINDS, features=("nope",), mean=[0.0], scale=[1.0], terms=("nope",), weights=w,
                  bias=np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        KindModel(kinds=KINDS, features=("background",), mean=[0.0], scale=[1.0], terms=("background",),
                  weights=np.zeros((4, 2)), bias=np.zeros(4))
